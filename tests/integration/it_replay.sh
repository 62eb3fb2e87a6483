# The collector is away for 20 s (and the agent restarts meanwhile): after
# it returns, the window has no gap and no duplicate.
. "$(dirname "$0")/lib.sh"

it_setup host-r
cp /bin/sleep "$IT/wsd$$"
"$IT/wsd$$" 600 & IT_PIDS+=($!)
it_agent_config host-r "  - {name: decoy, type: process, interval: 1s, match: {comm: wsd$$}}"
it_start_collector
it_start_agent host-r
ws_wait_for 20 it_latest_is host-r decoy.count 1 || it_fail "no samples"
sleep 3

t0=$(date -u +%FT%T.%3NZ)
it_stop_collector
it_ok "collector stopped at $t0"
sleep 10
# The agent restarts while cut off: what it spooled must survive.
kill "$IT_AGENT_PID"; wait "$IT_AGENT_PID" 2>/dev/null || true
it_start_agent host-r
sleep 10
t1=$(date -u +%FT%T.%3NZ)
grep -q "batches pending from before the restart" "$IT/host-r.log" ||
  it_fail "the restarted agent did not find its spool"
it_start_collector
it_ok "collector back at $t1"

newer() {
  [ "$(ws_psql "select count(*) from watchstand.v_samples where host = 'host-r'
    and series = 'decoy.count' and ts > '$t1'::timestamptz + interval '3 s'")" -gt 0 ]
}
ws_wait_for 30 newer || it_fail "live samples did not resume"

window="host = 'host-r' and series = 'decoy.count'
  and ts between '$t0'::timestamptz - interval '3 s' and '$t1'::timestamptz + interval '2 s'"
n=$(ws_psql "select count(*) from watchstand.v_samples where $window")
dups=$(ws_psql "select count(*) - count(distinct ts) from watchstand.v_samples where $window")
gap=$(ws_psql "select coalesce(max(d), 0) from (select extract(epoch from ts - lag(ts) over (order by ts)) d
  from watchstand.v_samples where $window) x")
echo "outage window: $n samples, $dups duplicates, largest gap ${gap}s"
[ "$n" -ge 20 ] || it_fail "only $n samples in the outage window"
[ "$dups" -eq 0 ] || it_fail "$dups duplicate samples"
python3 -c "import sys; sys.exit(0 if float('$gap') < 2.6 else 1)" || it_fail "gap of ${gap}s"
alldups=$(ws_psql "select count(*) from (select 1 from watchstand.v_samples
  group by host, series, ts having count(*) > 1) x")
[ "$alldups" -eq 0 ] || it_fail "$alldups duplicated (host, series, ts) overall"
it_ok "no gap and no duplicate across the outage and the agent restart"
