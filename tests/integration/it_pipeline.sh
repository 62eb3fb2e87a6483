# End to end through v_samples: process count and restarts as decoys die,
# netif util_pct on a veth pair of the test's own (idle, then under generated
# traffic), filesystem fill_pct = statvfs on a tmpfs of the test's own.
# Nothing here depends on what else runs on the machine.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || it_fail "needs root (ip netns, veth, mount) for an interface of its own"

# Names unique to this run: a decoy comm (at most 15 characters), a network
# namespace and the two ends of a veth pair; the agent watches the host end.
DECOY=wsd$$

it_veth_pair
ip netns exec "$NS" python3 "$(dirname "$0")/traffic.py" --sink "$PEER_IP" 5001 \
  2>>"$IT/sink.log" &
IT_PIDS+=($!)
sink_up() { ip netns exec "$NS" ss -Hltn "sport = :5001" | grep -q .; }
ws_wait_for 10 sink_up || it_fail "traffic sink in $NS not listening"
it_ok "veth pair $HOST_IF <-> $NS/$PEER_IF on $subnet/30"

# A small tmpfs, so fill_pct is not moved by other writers on /tmp.
mkdir "$IT/fs"
mount -t tmpfs -o size=4m "ws-it-$$" "$IT/fs" || it_fail "cannot mount a tmpfs on $IT/fs"
it_on_exit "umount '$IT/fs' 2>/dev/null"
head -c 1048576 /dev/zero >"$IT/fs/ballast"

it_setup host-a
cp /bin/sleep "$IT/$DECOY"
DECOYS=()
for i in 1 2 3; do "$IT/$DECOY" 600 & IT_PIDS+=($!); DECOYS+=($!); done
it_agent_config host-a "  - {name: decoy, type: process, interval: 1s, match: {comm: $DECOY}}
  - {name: line, type: netif, interval: 1s, interface: $HOST_IF, capacity: 100Mbit}
  - {name: fs, type: filesystem, interval: 1s, path: $IT/fs}"
it_start_collector
it_start_agent host-a

ws_wait_for 20 it_latest_is host-a decoy.count 3 || it_fail "decoy.count never reached 3"
it_ok "three decoys counted"
# A younger one dies and another starts: the count follows, and it is no
# restart (agent.md: a restart is the oldest, the main process, replaced).
victim=${DECOYS[1]}
kill "$victim"; wait "$victim" 2>/dev/null || true
ws_wait_for 10 it_latest_is host-a decoy.count 2 || it_fail "decoy.count did not drop to 2 after a kill"
it_ok "count follows a dying decoy"
"$IT/$DECOY" 600 & IT_PIDS+=($!)
ws_wait_for 10 it_latest_is host-a decoy.count 3 || it_fail "count did not return to 3"
it_latest_is host-a decoy.restarts 0 || it_fail "a younger process replaced counted as a restart"
# The oldest goes: the main process replaced, one restart.
kill "${DECOYS[0]}"; wait "${DECOYS[0]}" 2>/dev/null || true
ws_wait_for 10 it_latest_is host-a decoy.restarts 1 || it_fail "the oldest replaced was not counted as a restart"
it_ok "a younger pid replaced is no restart, the oldest replaced is one"

# The idle line: nothing but this test sends on it.
three_idle() { [ "$(it_count host-a line.util_pct)" -ge 3 ]; }
ws_wait_for 15 three_idle || it_fail "fewer than 3 idle util samples"
start=$(ws_psql "select now()")
idle=$(ws_psql "select max(value) from watchstand.v_samples where host = 'host-a'
  and series = 'line.util_pct' and ts < '$start'")
echo "line.util_pct idle: max $idle over $(it_count host-a line.util_pct) samples"
python3 -c "import sys; sys.exit(0 if float('$idle') < 0.5 else 1)" || it_fail "idle util $idle too high"
it_ok "idle line reads about 0 %"

# 2.5 MB/s over the pair = 20 Mbit/s = 20 % of the configured 100 Mbit line
# (a little more with TCP/IP and Ethernet headers).
python3 "$(dirname "$0")/traffic.py" 2500000 8 "$PEER_IP:5001" || it_fail "traffic across the pair failed"
end=$(ws_psql "select now()")
# Wait for the first sample after the window instead of sleeping.
past_end() {
  [ "$(ws_psql "select count(*) from watchstand.v_samples where host = 'host-a'
    and series = 'line.util_pct' and ts > '$end'::timestamptz + interval '1 s'")" -gt 0 ]
}
ws_wait_for 10 past_end || it_fail "no util sample after the traffic"
window="host = 'host-a' and series = 'line.util_pct'
  and ts between '$start'::timestamptz + interval '2 s' and '$end'::timestamptz - interval '1 s'"
avg=$(ws_psql "select round(avg(value)::numeric, 2) from watchstand.v_samples where $window")
n=$(ws_psql "select count(*) from watchstand.v_samples where $window")
echo "line.util_pct under 20 Mbit/s of traffic: avg $avg over $n samples"
[ "$n" -ge 3 ] || it_fail "too few util samples ($n)"
python3 -c "import sys; v=float('$avg'); sys.exit(0 if 16 <= v <= 25 else 1)" ||
  it_fail "line.util_pct average $avg is not about 20"
it_ok "netif util_pct against the configured capacity"

# The ballast never changes, so the newest sample must equal statvfs.
fill_known() { [ -n "$(it_latest host-a fs.fill_pct)" ]; }
ws_wait_for 10 fill_known || it_fail "no fs.fill_pct"
fill=$(it_latest host-a fs.fill_pct)
python3 - "$IT/fs" "$fill" <<'PY' || it_fail "fs.fill_pct $fill differs from statvfs"
import os, sys
s = os.statvfs(sys.argv[1])
used = s.f_blocks - s.f_bfree
want = 100.0 * used / (used + s.f_bavail)
got = float(sys.argv[2])
print("fill_pct: agent %.4f, statvfs %.4f" % (got, want))
sys.exit(0 if abs(got - want) < 0.05 and want > 20 else 1)
PY
it_ok "filesystem fill_pct equals statvfs"
