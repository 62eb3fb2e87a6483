# The collector is killed with SIGKILL three times under ~3000 samples/s
# from the numbered load generator (an agent that keeps and replays its
# unacknowledged batches), and restarted each time: every number sent is
# stored exactly once.
. "$(dirname "$0")/lib.sh"

COUNT=${IT_FAULT_COUNT:-90000}
RATE=${IT_FAULT_RATE:-3000}

it_setup bench
it_start_collector
"$WS_BUILD/bench/ws-loadgen" -T "$IT/tls" -c "127.0.0.1:$IT_LISTEN" \
  --numbered --count "$COUNT" --rate "$RATE" --name bench --limit 240 \
  >"$IT/loadgen.out" 2>>"$IT/loadgen.log" &
LG_PID=$!
IT_PIDS+=("$LG_PID")

stored() {
  ws_psql "select count(*) from watchstand.v_samples where host = 'bench' and series = 'lg.seq'"
}
stored_over() {
  [ "$(stored)" -gt "$1" ]
}

# Kill when a quarter, a half and three quarters of the load are stored,
# so each kill lands in the middle of the traffic.
for k in 1 2 3; do
  mark=$((COUNT * k / 4))
  ws_wait_for 120 stored_over "$mark" || it_fail "stored count stuck at $(stored) before kill $k"
  kill -9 "$IT_COLLECTOR_PID"
  wait "$IT_COLLECTOR_PID" 2>/dev/null || true
  IT_COLLECTOR_PID=
  it_ok "collector killed (kill $k) with $(stored) samples stored"
  it_start_collector
done

lg_done() { ! kill -0 "$LG_PID" 2>/dev/null; }
ws_wait_for 240 lg_done || it_fail "load generator still running"
rc=0
wait "$LG_PID" || rc=$?
cat "$IT/loadgen.out"
[ "$rc" -eq 0 ] || it_fail "load generator exited $rc: $(cat "$IT/loadgen.out")"

field() { sed -n "s/.*\<$1=\([0-9]*\).*/\1/p" "$IT/loadgen.out"; }
sent=$(field sent)
acked=$(field acked)
lost=$(field lost_links)
[ "$sent" = "$COUNT" ] || it_fail "generator sent $sent numbers, not $COUNT"
[ "$acked" = "$sent" ] || it_fail "generator: $acked of $sent acknowledged"
[ "$lost" -ge 3 ] || it_fail "the generator lost its link only $lost times (3 kills)"

read -r n distinct lo hi frac < <(ws_psql "select count(*), count(distinct value),
  min(value)::bigint, max(value)::bigint, count(*) filter (where value <> trunc(value))
  from watchstand.v_samples where host = 'bench' and series = 'lg.seq'" | tr '|' ' ')
echo "stored: $n rows, $distinct distinct numbers in $lo..$hi ($frac not whole)"
[ "$n" -eq "$sent" ] || it_fail "$n rows stored for $sent numbers sent"
[ "$distinct" -eq "$sent" ] || it_fail "$distinct distinct numbers stored for $sent sent"
[ "$lo" -eq 1 ] && [ "$hi" -eq "$sent" ] && [ "$frac" -eq 0 ] ||
  it_fail "stored numbers are not exactly 1..$sent"
dups=$(ws_psql "select count(*) from (select value from watchstand.v_samples
  where host = 'bench' and series = 'lg.seq' group by value having count(*) > 1) x")
[ "$dups" -eq 0 ] || it_fail "$dups numbers stored more than once"
it_ok "3 kills: all $sent numbers stored exactly once"

it_stop_collector
