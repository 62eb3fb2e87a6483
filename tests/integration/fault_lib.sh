# Helpers for the fault tests (it_fault_*.sh): the numbered load generator
# (bench/loadgen.c --numbered) and the exactly-once check on what it sent.
# shellcheck shell=bash

# it_loadgen_start NAME COUNT RATE: one numbered agent NAME (its certificate
# must be $IT/tls/bench.pem naming NAME) sending COUNT samples at RATE/s.
it_loadgen_start() {
  IT_LG_NAME=$1
  "$WS_BUILD/bench/ws-loadgen" -T "$IT/tls" -c "127.0.0.1:$IT_LISTEN" \
    --numbered --count "$2" --rate "$3" --name "$1" --limit "${IT_LG_LIMIT:-150}" \
    --status "$IT/loadgen.status" --drop-acks-while "$IT/loadgen.drop-acks" \
    >"$IT/loadgen.out" 2>>"$IT/loadgen.log" &
  IT_LG_PID=$!
  IT_PIDS+=("$IT_LG_PID")
}

# it_lg_status KEY: a key=value of the generator's status file, rewritten
# every 100 ms tick: tick, made, written (batch writes), acked (samples),
# acked_seq, ready. While $IT/loadgen.drop-acks exists the generator ignores
# acks, as if they were lost on the way.
it_lg_status() {
  sed -n "s/.*\<$1=\([0-9]*\).*/\1/p" "$IT/loadgen.status" 2>/dev/null
}

it_lg_status_over() {
  local v
  v=$(it_lg_status "$1")
  [ -n "$v" ] && [ "$v" -gt "$2" ]
}

# it_lg_written_after_freeze: waits until the generator has written a batch
# after the moment this is called (the caller has just frozen the collector,
# so that batch is not and cannot be acknowledged).
it_lg_written_after_freeze() {
  local tick written
  tick=$(it_lg_status tick)
  # A status written after this call, so after the freeze ...
  ws_wait_for 60 it_lg_status_over tick "${tick:-0}" || return 1
  written=$(it_lg_status written)
  # ... and a write after that status.
  ws_wait_for 60 it_lg_status_over written "$written"
}

# it_lg_stored: how many of the generator's samples are stored.
it_lg_stored() {
  ws_psql "select count(*) from watchstand.v_samples
    where host = '$IT_LG_NAME' and series = 'lg.seq'"
}

it_lg_stored_over() {
  [ "$(it_lg_stored)" -gt "$1" ]
}

it_lg_done() {
  ! kill -0 "$IT_LG_PID" 2>/dev/null
}

# it_loadgen_wait COUNT: waits for the generator to end; it must have sent
# COUNT numbers and had all of them acknowledged. Sets IT_LG_SENT.
it_loadgen_wait() {
  local rc=0 acked
  ws_wait_for $((${IT_LG_LIMIT:-150} + 15)) it_lg_done || it_fail "load generator still running"
  wait "$IT_LG_PID" || rc=$?
  echo "loadgen: $(cat "$IT/loadgen.out")"
  [ "$rc" -eq 0 ] || it_fail "load generator exited $rc: $(tail -5 "$IT/loadgen.log")"
  IT_LG_SENT=$(it_lg_field sent)
  acked=$(it_lg_field acked)
  [ "$IT_LG_SENT" = "$1" ] || it_fail "generator sent $IT_LG_SENT numbers, not $1"
  [ "$acked" = "$IT_LG_SENT" ] || it_fail "generator: $acked of $IT_LG_SENT acknowledged"
}

# it_lg_field KEY: a key=value of the generator's final line.
it_lg_field() {
  sed -n "s/.*\<$1=\([0-9]*\).*/\1/p" "$IT/loadgen.out"
}

# it_lg_exactly_once: the stored numbers are exactly 1..IT_LG_SENT, each once.
it_lg_exactly_once() {
  local n distinct lo hi frac dups
  read -r n distinct lo hi frac < <(ws_psql "select count(*), count(distinct value),
    coalesce(min(value), 0)::bigint, coalesce(max(value), 0)::bigint,
    count(*) filter (where value <> trunc(value))
    from watchstand.v_samples where host = '$IT_LG_NAME' and series = 'lg.seq'" | tr '|' ' ')
  echo "stored: $n rows, $distinct distinct numbers in $lo..$hi ($frac not whole)"
  dups=$(ws_psql "select count(*) from (select value from watchstand.v_samples
    where host = '$IT_LG_NAME' and series = 'lg.seq' group by value having count(*) > 1) x")
  [ "$dups" -eq 0 ] || it_fail "$dups numbers stored more than once"
  [ "$n" -eq "$IT_LG_SENT" ] || it_fail "$n rows stored for $IT_LG_SENT numbers sent"
  [ "$distinct" -eq "$IT_LG_SENT" ] || it_fail "$distinct distinct numbers stored for $IT_LG_SENT sent"
  [ "$lo" -eq 1 ] && [ "$hi" -eq "$IT_LG_SENT" ] && [ "$frac" -eq 0 ] ||
    it_fail "stored numbers are not exactly 1..$IT_LG_SENT"
}

# it_dup_batches: replayed batches the running collector found already
# stored (acknowledged, not stored again); for the record, not asserted.
it_dup_batches() {
  it_metric watchstand_batches_duplicate_total || echo "?"
}
