# The collector is killed with SIGKILL three times under ~3000 samples/s
# from the numbered load generator (an agent that keeps and replays its
# unacknowledged batches), and restarted each time. Before the first kill
# the generator ignores acks (lost on the way), so the restarted collector's
# welcome must cover batches it committed; the second and third kill hit a
# collector frozen (SIGSTOP) with batches in flight, so replays surely
# happen. Every number sent is stored exactly once.
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
  ws_wait_for 60 it_lg_stored_over "$mark" ||
    it_fail "stored count stuck at $(it_lg_stored) before kill $k"
  how=anywhere
  if [ "$k" -eq 1 ]; then
    # Acks lost on the way: the collector has committed batches the
    # generator still holds; after the restart the welcome must say so.
    touch "$IT/loadgen.drop-acks"
    tick=$(it_lg_status tick)
    # A status written after the touch has the last acked count.
    ws_wait_for 60 it_lg_status_over tick "$tick" || it_fail "the generator's status is stale"
    acked=$(it_lg_status acked)
    ws_wait_for 60 it_lg_stored_over "$acked" ||
      it_fail "nothing committed while the acks were dropped"
    how="acks lost"
  else
    # Freeze it first until the generator has written to it: then the kill
    # surely lands with batches sent and not acknowledged.
    kill -STOP "$IT_COLLECTOR_PID"
    if ! it_lg_written_after_freeze; then
      kill -CONT "$IT_COLLECTOR_PID" # or the cleanup's SIGTERM would wait forever
      it_fail "the generator wrote nothing to the frozen collector"
    fi
    how="frozen, with batches unacknowledged"
  fi
  kill -9 "$IT_COLLECTOR_PID"
  wait "$IT_COLLECTOR_PID" 2>/dev/null || true
  IT_COLLECTOR_PID=
  rm -f "$IT/loadgen.drop-acks"
  it_ok "collector killed (kill $k, $how) with $(it_lg_stored) samples stored"
  it_start_collector
done

it_loadgen_wait "$COUNT"
lost=$(it_lg_field lost_links)
[ "$lost" -ge 3 ] || it_fail "the generator lost its link only $lost times (3 kills)"
welcome_acked=$(it_lg_field welcome_acked)
[ "$welcome_acked" -ge 1 ] ||
  it_fail "no batch was acknowledged by a welcome after the acks were lost"
resent=$(it_lg_field resent)
[ "$resent" -ge 2 ] || it_fail "the generator replayed $resent batches, not at least 2 (frozen kills)"
it_lg_exactly_once
echo "replayed batches the last collector found stored: $(it_dup_batches)"
it_ok "3 kills: all $IT_LG_SENT numbers stored exactly once"
it_stop_collector
