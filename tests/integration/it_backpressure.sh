# The collector's ingest promises (collector.md, "Ingest"):
# 1. samples older than the retention or more than a day ahead of the
#    collector's clock are acknowledged but not stored, and counted in
#    watchstand_samples_out_of_range_total;
# 2. back-pressure: while the database is stuck (a psql session the test
#    drives through a fifo holds LOCK TABLE watchstand.samples), the
#    numbered load generator keeps sending until more than 64 MiB of
#    batches wait; the collector logs "write queue full, pausing agents",
#    stops reading, and after the lock goes it drains ("reading agents
#    again") and every number is stored exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

LG="$WS_BUILD/bench/ws-loadgen"
it_setup bench
it_start_collector

# 1. Out of range: 40 days old (retention 30d), then two days ahead.
oor() { # NAME OFFSET_S COUNT
  "$LG" -T "$IT/tls" -c "127.0.0.1:$IT_LISTEN" --numbered --count "$3" --rate 2000 \
    --name bench --limit 60 --ts-offset "$2" >"$IT/oor-$1.out" 2>>"$IT/loadgen.log" ||
    it_fail "load generator ($1) failed: $(cat "$IT/oor-$1.out"; tail -3 "$IT/loadgen.log")"
  grep -q "sent=$3 acked=$3 " "$IT/oor-$1.out" || it_fail "$1: not all acknowledged: $(cat "$IT/oor-$1.out")"
}
oor old $((-40 * 86400)) 700
oor ahead $((2 * 86400)) 300
got=$(it_metric watchstand_samples_out_of_range_total)
[ "$got" = 1000 ] || it_fail "watchstand_samples_out_of_range_total = $got, expected 1000"
n=$(ws_psql "select count(*) from watchstand.samples")
[ "$n" = 0 ] || it_fail "$n out-of-range samples were stored"
# Within the window (23 h ahead, 29 days back) they are stored.
oor near-ahead $((23 * 3600)) 200
oor near-old $((-29 * 86400)) 200
n=$(ws_psql "select count(*) from watchstand.v_samples where host = 'bench'")
[ "$n" = 400 ] || it_fail "$n of 400 samples inside the window stored"
got=$(it_metric watchstand_samples_out_of_range_total)
[ "$got" = 1000 ] || it_fail "out-of-range counter moved to $got for samples inside the window"
it_ok "1000 samples outside the window acknowledged, not stored, counted; 400 inside stored"
ws_psql "delete from watchstand.samples" >/dev/null

# 2. Back-pressure. The lock blocks the ingest transaction's COPY.
mkfifo "$IT/lock.in"
psql "$WS_DSN" -X -q -v ON_ERROR_STOP=1 <"$IT/lock.in" >"$IT/lock.out" 2>&1 &
IT_PIDS+=($!)
exec 7>"$IT/lock.in"
echo "BEGIN; LOCK TABLE watchstand.samples IN SHARE MODE; SELECT 'locked';" >&7
ws_wait_for 30 grep -q locked "$IT/lock.out" || it_fail "could not take the lock: $(cat "$IT/lock.out")"

COUNT=${IT_BP_COUNT:-4000000}
IT_LG_LIMIT=150
"$LG" -T "$IT/tls" -c "127.0.0.1:$IT_LISTEN" --numbered --count "$COUNT" --rate "${IT_BP_RATE:-400000}" \
  --name bench --limit "$IT_LG_LIMIT" -b 5000 --status "$IT/loadgen.status" >"$IT/loadgen.out" 2>>"$IT/loadgen.log" &
IT_LG_PID=$!
IT_LG_NAME=bench
IT_PIDS+=("$IT_LG_PID")
ws_wait_for 90 grep -q "write queue full, pausing agents" "$IT/collector.log" ||
  it_fail "no pause; queue at $(it_metric watchstand_write_queue_bytes) bytes"
q=$(it_metric watchstand_write_queue_bytes)
echo "queue when paused: $q bytes; the generator had made $(it_lg_status made) numbers"
[ "$q" -gt $((64 << 20)) ] || it_fail "paused with $q bytes queued, not over 64 MiB"
n=$(ws_psql "select count(*) from watchstand.v_samples where host = 'bench'")
[ "$n" = 0 ] || it_fail "$n samples stored through the lock"
it_ok "database stuck: the collector paused reading agents over 64 MiB queued"

echo "COMMIT;" >&7
exec 7>&-
ws_wait_for 60 grep -q "write queue drained, reading agents again" "$IT/collector.log" ||
  it_fail "the collector did not resume reading agents"
it_loadgen_wait "$COUNT"
it_lg_exactly_once
it_ok "lock released: reading resumed, all $COUNT numbers stored exactly once"
