# The real agent spools while it cannot deliver (first the collector is
# down, then the collector is up but its database is down), is killed with
# SIGKILL while spooling, and restarted; then the collector (the database)
# comes back. The spool writes every sealed batch before it sends it and
# forgets a record only when acknowledged (agent/spool.c); it fdatasyncs only
# on its `sync` timer, set to 60 s here so that no sync happens in the test:
# a kill -9 leaves the writes in the page cache, and what the spool files hold
# is exactly what the agent promises to deliver: the open batch (under
# `flush` old) may be lost, nothing sealed; a record torn by the crash is cut
# off at start-up; the acknowledged position, saved only at a sync, goes back,
# and the replay is acknowledged without storing twice. Asserted: every sample in the spool
# files as the kill left them is stored exactly once, the spool covers the
# outage up to the kill, everything the spool finally calls acknowledged is
# stored exactly once, and no (host, series, ts) is stored twice.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

A=host-k
SPOOL=$IT/spool-$A
WS_PGPORT_WANT=$(ws_free_port)
export WS_PGPORT_WANT
it_setup "$A"
touch "$IT/watched"
it_agent_config "$A" "  - {name: fage, type: file_age, interval: 200ms, path: $IT/watched}"
sed -i 's/max_age: 1h}/max_age: 1h, sync: 60s}/; s/^  spool: .*/&\n  flush: 500ms/' "$IT/$A.yaml"
grep -q "sync: 60s" "$IT/$A.yaml" || it_fail "the spool's sync is not set"
it_start_collector
it_start_agent "$A"
ws_wait_for 30 it_has "$A" fage.age_s || it_fail "no samples from the agent"

ws_psql "create table public.fault_expect (phase text, series text, ts_us bigint, value float8)" >/dev/null
spool_maxts() { python3 "$WS_ROOT/tests/integration/spoolread.py" "$SPOOL" maxts; }
spool_newer() { [ "$(spool_maxts)" -gt "$1" ]; }
now_us() { date +%s%6N; }

# kill_while_spooling PHASE: waits until the spool holds samples measured
# 3 s after now, kills the agent with SIGKILL and keeps what its spool
# files hold at that moment in $IT/spool-PHASE.tsv.
kill_while_spooling() {
  local phase=$1 mark
  mark=$(($(now_us) + 3000000))
  ws_wait_for 60 spool_newer "$mark" || it_fail "$phase: the agent spooled nothing new"
  kill -9 "$IT_AGENT_PID"
  wait "$IT_AGENT_PID" 2>/dev/null || true
  python3 "$WS_ROOT/tests/integration/spoolread.py" "$SPOOL" samples |
    sed "s/^/$phase\t/" >"$IT/spool-$phase.tsv"
  echo "$phase: killed the agent; its spool: $(python3 "$WS_ROOT/tests/integration/spoolread.py" "$SPOOL" summary)"
  IT_SPOOL_MARK=$mark
}

# check PHASE T_OUT: every sample the killed agent had spooled is stored
# once, and the spool covered the outage from T_OUT to the kill mark.
check() {
  local phase=$1 t_out=$2 n ok before after
  psql "$WS_DSN" -X -q -v ON_ERROR_STOP=1 \
    -c "\\copy public.fault_expect from '$IT/spool-$phase.tsv'" ||
    it_fail "$phase: cannot load the spool's samples"
  n=$(ws_psql "select count(*) from public.fault_expect where phase = '$phase'")
  ok=$(ws_psql "select count(*) from public.fault_expect e where phase = '$phase' and
    (select count(*) from watchstand.v_samples s where s.host = '$A' and s.series = e.series
      and s.ts = 'epoch'::timestamptz + e.ts_us * interval '1 microsecond'
      and s.value = e.value) = 1")
  before=$(ws_psql "select count(*) from public.fault_expect where phase = '$phase'
    and ts_us between $t_out and $IT_SPOOL_MARK")
  after=$(ws_psql "select count(*) from public.fault_expect where phase = '$phase'
    and ts_us > $IT_SPOOL_MARK")
  echo "$phase: $n samples in the spool at the kill, $ok stored exactly once" \
    "(replayed batches found stored: $(it_dup_batches))"
  [ "$n" -gt 0 ] || it_fail "$phase: the spool was empty at the kill"
  [ "$ok" -eq "$n" ] || it_fail "$phase: only $ok of the $n spooled samples are stored exactly once"
  # Spooling began with the outage and went on up to the kill.
  [ "$before" -gt 0 ] || it_fail "$phase: nothing spooled from the start of the outage"
  [ "$after" -gt 0 ] || it_fail "$phase: nothing spooled from just before the kill"
}

samples_since() {
  [ "$(ws_psql "select count(*) from watchstand.v_samples where host = '$A'
    and series = 'fage.age_s' and ts > 'epoch'::timestamptz + $1 * interval '1 microsecond'")" -gt 0 ]
}

# 1. The collector is down: the agent spools, is killed, restarts, spools on.
t_out=$(now_us)
it_stop_collector
# The agent names the real cause (it used to say "closed by the collector"
# for a refused connect: libevent reports that as a dirty TLS shutdown).
ws_wait_for 30 grep -q "uplink: collector 127.0.0.1:$IT_LISTEN: Connection refused" "$IT/$A.log" ||
  it_fail "the agent does not say the collector refuses connections"
kill_while_spooling collector-down
# As if the kill had cut the next write short: the restarted agent must cut
# the torn record off, keep all before it and append after it.
python3 "$WS_ROOT/tests/integration/spoolread.py" "$SPOOL" tear
it_start_agent "$A"
mark=$(($(now_us) + 1000000))
ws_wait_for 60 spool_newer "$mark" || it_fail "the restarted agent does not spool"
grep -q "batches pending from before the restart" "$IT/$A.log" ||
  it_fail "the restarted agent did not find its spool"
grep -q "spool: .*: damaged record at offset" "$IT/$A.log" ||
  it_fail "the restarted agent did not cut the torn record off"
it_start_collector
ws_wait_for 60 samples_since "$mark" || it_fail "the agent's spool did not drain"
check collector-down "$t_out"
it_ok "collector down: everything the killed agent had spooled arrived once"

# 2. The collector is up but PostgreSQL is down: batches reach the
# collector and are never acknowledged; the agent is killed with them in
# flight and replays them to a collector that may store them meanwhile.
ws_wait_for 60 samples_since "$(now_us)" || it_fail "no live samples"
t_out=$(now_us)
ws_pg_stop "$IT/pg"
kill_while_spooling database-down
it_start_agent "$A"
mark=$(($(now_us) + 1000000))
ws_wait_for 60 spool_newer "$mark" || it_fail "the restarted agent does not spool"
ws_pg_start "$IT/pg"
ws_wait_for 60 it_healthy || it_fail "the collector did not see the database again"
ws_wait_for 60 samples_since "$mark" || it_fail "the agent's spool did not drain"
check database-down "$t_out"
it_ok "database down: everything the killed agent had spooled arrived once"

# 3. Everything the spool holds and calls acknowledged, from before and
# after both kills, is stored exactly once: a sequence number reused after
# a kill (a batch sent but not durable) would lose the later batch.
kill "$IT_AGENT_PID"
wait "$IT_AGENT_PID" 2>/dev/null || true
python3 "$WS_ROOT/tests/integration/spoolread.py" "$SPOOL" acked |
  sed "s/^/acked\t/" >"$IT/spool-acked.tsv"
psql "$WS_DSN" -X -q -v ON_ERROR_STOP=1 -c "\\copy public.fault_expect from '$IT/spool-acked.tsv'" ||
  it_fail "cannot load the acknowledged samples"
read -r n ok < <(ws_psql "select count(*), count(*) filter (where
    (select count(*) from watchstand.v_samples s where s.host = '$A' and s.series = e.series
      and s.ts = 'epoch'::timestamptz + e.ts_us * interval '1 microsecond'
      and s.value = e.value) = 1)
  from public.fault_expect e where phase = 'acked'" | tr '|' ' ')
echo "acknowledged in the spool at the end: $n samples, $ok stored exactly once"
[ "$n" -gt 0 ] && [ "$ok" -eq "$n" ] ||
  it_fail "only $ok of the $n samples the spool calls acknowledged are stored exactly once"

dups=$(ws_psql "select count(*) from (select 1 from watchstand.v_samples where host = '$A'
  group by series, ts having count(*) > 1) x")
[ "$dups" -eq 0 ] || it_fail "$dups (host, series, ts) stored more than once"
it_ok "no (host, series, ts) stored twice"
it_stop_collector
