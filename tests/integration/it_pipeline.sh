# End to end through v_samples: process count follows a decoy dying,
# netif util_pct on lo under generated traffic, filesystem fill_pct = statvfs.
. "$(dirname "$0")/lib.sh"

it_setup host-a
cp /bin/sleep "$IT/wsdecoy"
for i in 1 2 3; do "$IT/wsdecoy" 600 & IT_PIDS+=($!); done
it_agent_config host-a "  - {name: decoy, type: process, interval: 1s, match: {comm: wsdecoy}}
  - {name: lo, type: netif, interval: 1s, interface: lo, capacity: 100Mbit}
  - {name: fs, type: filesystem, interval: 1s, path: $IT}"
it_start_collector
it_start_agent host-a

ws_wait_for 20 it_latest_is host-a decoy.count 3 || it_fail "decoy.count never reached 3"
it_ok "three decoys counted"
victim=${IT_PIDS[1]}
kill "$victim"; wait "$victim" 2>/dev/null || true
ws_wait_for 10 it_latest_is host-a decoy.count 2 || it_fail "decoy.count did not drop to 2 after a kill"
it_ok "count follows a dying decoy"
"$IT/wsdecoy" 600 & IT_PIDS+=($!)
ws_wait_for 10 it_latest_is host-a decoy.restarts 1 || it_fail "a new decoy pid was not counted as a restart"
ws_wait_for 10 it_latest_is host-a decoy.count 3 || it_fail "count did not return to 3"
it_ok "a new pid counts as a restart"

# 2.5 MB/s over lo = 20 Mbit/s = 20 % of the configured 100 Mbit line.
start=$(ws_psql "select now()")
python3 "$(dirname "$0")/traffic.py" 2500000 8
end=$(ws_psql "select now()")
sleep 2
avg=$(ws_psql "select round(avg(value)::numeric, 2) from watchstand.v_samples
  where host = 'host-a' and series = 'lo.util_pct'
    and ts between '$start'::timestamptz + interval '2 s' and '$end'::timestamptz - interval '1 s'")
n=$(ws_psql "select count(*) from watchstand.v_samples
  where host = 'host-a' and series = 'lo.util_pct'
    and ts between '$start'::timestamptz + interval '2 s' and '$end'::timestamptz - interval '1 s'")
echo "lo.util_pct under 20 Mbit/s of traffic: avg $avg over $n samples"
[ "$n" -ge 3 ] || it_fail "too few util samples ($n)"
python3 -c "import sys; v=float('$avg'); sys.exit(0 if 15 <= v <= 26 else 1)" ||
  it_fail "lo.util_pct average $avg is not about 20"
idle=$(ws_psql "select max(value) from watchstand.v_samples where host = 'host-a'
  and series = 'lo.util_pct' and ts < '$start'")
python3 -c "import sys; sys.exit(0 if float('$idle') < 5 else 1)" || it_fail "idle util $idle too high"
it_ok "netif util_pct against the configured capacity"

sleep 1.5
fill=$(it_latest host-a fs.fill_pct)
python3 - "$IT" "$fill" <<'PY' || it_fail "fs.fill_pct $fill differs from statvfs"
import os, sys
s = os.statvfs(sys.argv[1])
used = s.f_blocks - s.f_bfree
want = 100.0 * used / (used + s.f_bavail)
got = float(sys.argv[2])
print("fill_pct: agent %.4f, statvfs %.4f" % (got, want))
sys.exit(0 if abs(got - want) < 0.05 else 1)
PY
it_ok "filesystem fill_pct equals statvfs"
