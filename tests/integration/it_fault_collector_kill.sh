# The collector is killed with SIGKILL three times under ~3000 samples/s
# from the numbered load generator (an agent that keeps and replays its
# unacknowledged batches), and restarted each time: every number sent is
# stored exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

COUNT=${IT_FAULT_COUNT:-90000}
RATE=${IT_FAULT_RATE:-3000}

it_setup bench
it_start_collector
it_loadgen_start bench "$COUNT" "$RATE"

# Kill when a quarter, a half and three quarters of the load are stored,
# so each kill lands in the middle of the traffic.
for k in 1 2 3; do
  mark=$((COUNT * k / 4))
  ws_wait_for 120 it_lg_stored_over "$mark" ||
    it_fail "stored count stuck at $(it_lg_stored) before kill $k"
  kill -9 "$IT_COLLECTOR_PID"
  wait "$IT_COLLECTOR_PID" 2>/dev/null || true
  IT_COLLECTOR_PID=
  it_ok "collector killed (kill $k) with $(it_lg_stored) samples stored"
  it_start_collector
done

it_loadgen_wait "$COUNT"
lost=$(it_lg_field lost_links)
[ "$lost" -ge 3 ] || it_fail "the generator lost its link only $lost times (3 kills)"
it_lg_exactly_once
it_ok "3 kills: all $IT_LG_SENT numbers stored exactly once"
it_stop_collector
