# SNMP probes against a real net-snmp snmpd in a network namespace of the
# test's own: interface rates on the namespace's end of a veth pair (v2c and
# v3 authPriv), idle and then under generated traffic, hrStorage of a tmpfs
# only this test's snmpd sees, against statvfs, snmp_get gauges and
# counters, and a dead target next to a 1 s process probe that keeps its
# pace. No shared interface or filesystem is read: nothing but this test
# sends on the pair or writes to the tmpfs, so the figures do not depend on
# what else runs on the machine.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || it_fail "needs root (ip netns, veth) for an snmpd with interfaces of its own"

# Names unique to this run: a decoy comm (at most 15 characters), a network
# namespace and the two ends of a veth pair; snmpd in the namespace reports
# the namespace's end (and its own lo), the agent stays on the host side.
DECOY=wsd$$

it_veth_pair
ip -n "$NS" link set dev lo up
ip netns exec "$NS" python3 "$(dirname "$0")/traffic.py" --sink "$PEER_IP" 5001 \
  2>>"$IT/sink.log" &
IT_PIDS+=($!)
sink_up() { ip netns exec "$NS" ss -Hltn "sport = :5001" | grep -q .; }
ws_wait_for 10 sink_up || it_fail "traffic sink in $NS not listening"
it_ok "veth pair $HOST_IF <-> $NS/$PEER_IF on $subnet/30"

it_setup host-s
# The namespace is new and only this test's: any port in it is free, and
# nothing there listens on DEAD_PORT.
SNMP_PORT=161
DEAD_PORT=162
mkdir -p "$IT/snmp"
cat >"$IT/snmp/snmpd.conf" <<CONF
agentAddress udp:$PEER_IP:$SNMP_PORT
rocommunity wstest $HOST_IP
createUser wsuser SHA "authpass123" AES "privpass123"
createUser u512 SHA-512 "authpass512"
createUser u256 SHA-256 "authpass256" AES-256 "privpass256"
createUser umd5 MD5 "authpassmd5" DES "privpassdes"
createUser ubad SHA "rightpassword"
rouser ubad auth
rouser wsuser priv
rouser u512 auth
rouser u256 priv
rouser umd5 priv
CONF
# snmpd gets a mount namespace of its own with an 8 MiB tmpfs holding 3 MiB:
# a filesystem nothing else writes to, so its fill is known exactly (the
# machine's "/" changes while the rest of the suite runs). ip netns exec,
# unshare and sh all exec in place: $! is snmpd's pid.
FS=$IT/fs
mkdir -p "$FS"
SNMP_PERSISTENT_DIR="$IT/snmp" ip netns exec "$NS" unshare -m --propagation private sh -c '
  mount -t tmpfs -o size=8m wsfill "$1" && head -c 3145728 /dev/zero >"$1/ballast" &&
  exec /usr/sbin/snmpd -f -Lf "$2/snmpd.log" -C -c "$2/snmp/snmpd.conf" -p "$2/snmp/pid"' \
  sh "$FS" "$IT" &
SNMPD_PID=$!
IT_PIDS+=($SNMPD_PID)
TARGET=$PEER_IP:$SNMP_PORT
# snmp snmpget|snmpwalk OID: over v2c from the host side, numeric output.
snmp() { "$1" -v2c -c wstest -t 1 -r 0 -On -Oq "$TARGET" "$2"; }
ws_wait_for 10 snmp snmpget 1.3.6.1.2.1.1.3.0 || it_fail "snmpd in $NS did not start"
# The veth end's ifIndex, from ifName (numeric OIDs: no MIB files needed).
IFX=$(snmp snmpwalk 1.3.6.1.2.1.31.1.1.1.1 | tr -d '"' |
  awk -v n="$PEER_IF" '$2 == n { k = split($1, o, "."); print o[k] }')
[ -n "$IFX" ] || it_fail "snmpd in $NS does not report $PEER_IF in ifName"
echo "snmpd in $NS on $TARGET: ifName $(snmp snmpwalk 1.3.6.1.2.1.31.1.1.1.1 | tr -d '"' | awk '{ k = split($1, o, "."); printf "%s=%s ", o[k], $2 }')"
it_ok "snmpd in $NS reports $PEER_IF as ifIndex $IFX"

cp /bin/sleep "$IT/$DECOY"
"$IT/$DECOY" 600 & IT_PIDS+=($!)
V3="version: 3, user: wsuser, auth: {protocol: SHA, password: authpass123}, priv: {protocol: AES, password: privpass123}"
it_agent_config host-s "  - {name: sw, type: snmp_if, interval: 1s, target: '$TARGET', community: wstest, interfaces: [$PEER_IF], capacity: 100Mbit}
  - {name: sw3, type: snmp_if, interval: 1s, target: '$TARGET', $V3, interfaces: [$PEER_IF]}
  - {name: hr, type: snmp_storage, interval: 1s, target: '$TARGET', community: wstest, storage: ['$FS']}
  - {name: sys, type: snmp_get, interval: 1s, target: '$TARGET', community: wstest, oids: {uptime: 1.3.6.1.2.1.1.3.0}}
  - {name: rate, type: snmp_get, interval: 1s, kind: counter, target: '$TARGET', $V3, oids: {veth_in: 1.3.6.1.2.1.31.1.1.1.6.$IFX}}
  - {name: v512, type: snmp_get, interval: 1s, target: '$TARGET', version: 3, user: u512, auth: {protocol: SHA-512, password: authpass512}, oids: {up: 1.3.6.1.2.1.1.3.0}}
  - {name: v256, type: snmp_get, interval: 1s, target: '$TARGET', version: 3, user: u256, auth: {protocol: SHA-256, password: authpass256}, priv: {protocol: AES-256, password: privpass256}, oids: {up: 1.3.6.1.2.1.1.3.0}}
  - {name: vmd5, type: snmp_get, interval: 1s, target: '$TARGET', version: 3, user: umd5, auth: {protocol: MD5, password: authpassmd5}, priv: {protocol: DES, password: privpassdes}, oids: {up: 1.3.6.1.2.1.1.3.0}}
  - {name: vbad, type: snmp_get, interval: 1s, target: '$TARGET', version: 3, user: ubad, auth: {protocol: SHA, password: wrongpassword}, oids: {up: 1.3.6.1.2.1.1.3.0}}
  - {name: dead, type: snmp_if, interval: 1s, timeout: 1s, retries: 1, target: '$PEER_IP:$DEAD_PORT'}
  - {name: decoy, type: process, interval: 1s, match: {comm: $DECOY}}"
it_start_collector
it_start_agent host-s

SW=sw.$PEER_IF
SW3=sw3.$PEER_IF
ws_wait_for 20 it_latest_is host-s sw.up 1 || it_fail "sw.up never 1"
ws_wait_for 10 it_latest_is host-s "$SW.oper_up" 1 || it_fail "$PEER_IF not oper_up over v2c"
ws_wait_for 10 it_latest_is host-s sw3.up 1 || it_fail "v3 authPriv never up"
ws_wait_for 10 it_has host-s "$SW3.in_bps" || it_fail "no v3 rates"
it_ok "snmp_if over v2c and v3 authPriv (SHA/AES)"
for v in v512 v256 vmd5; do
  ws_wait_for 10 it_latest_is host-s $v.up 1 || it_fail "$v (SNMPv3) never up"
done
ws_wait_for 10 it_latest_is host-s vbad.up 0 || it_fail "a wrong v3 password was not reported down"
grep "probe vbad:" "$IT/host-s.log" || it_fail "wrong v3 password not logged"
it_ok "SNMPv3 authNoPriv SHA-512, authPriv SHA-256/AES-256 and MD5/DES; a wrong password is down"

# The idle line: nothing but this test (and its own SNMP polls) sends on it.
three_idle() {
  [ "$(it_count host-s "$SW.util_pct")" -ge 3 ] && [ "$(it_count host-s "$SW3.in_bps")" -ge 3 ]
}
ws_wait_for 15 three_idle || it_fail "fewer than 3 idle util samples"
start=$(ws_psql "select now()")
idle=$(ws_psql "select max(value) from watchstand.v_samples where host = 'host-s'
  and series = '$SW.util_pct' and ts < '$start'")
idle3=$(ws_psql "select max(value) / 1e6 from watchstand.v_samples where host = 'host-s'
  and series in ('$SW3.in_bps', '$SW3.out_bps') and ts < '$start'")
echo "$SW.util_pct idle: max $idle over $(it_count host-s "$SW.util_pct") samples; v3 max ${idle3} Mbit/s"
python3 -c "import sys; sys.exit(0 if float('$idle') < 0.5 and float('$idle3') < 0.5 else 1)" ||
  it_fail "idle line reads too high: util $idle %, v3 ${idle3} Mbit/s"
it_ok "idle line reads about 0 % over v2c and v3"

# 2.5 MB/s from the host side into the namespace = 20 Mbit/s = 20 % of the
# configured 100 Mbit line (a little more with TCP/IP and Ethernet headers).
python3 "$(dirname "$0")/traffic.py" 2500000 10 "$PEER_IP:5001" || it_fail "traffic across the pair failed"
end=$(ws_psql "select now()")
# Wait for the first samples after the window instead of sleeping.
past_end() {
  local s
  for s in "$SW.util_pct" "$SW3.in_bps" rate.veth_in; do
    [ "$(ws_psql "select count(*) from watchstand.v_samples where host = 'host-s'
      and series = '$s' and ts > '$end'::timestamptz + interval '1 s'")" -gt 0 ] || return 1
  done
}
ws_wait_for 15 past_end || it_fail "no samples after the traffic"
window="host = 'host-s' and ts between '$start'::timestamptz + interval '3 s'
  and '$end'::timestamptz - interval '1 s'"
avg=$(ws_psql "select round(avg(value)::numeric, 2) from watchstand.v_samples
  where $window and series = '$SW.util_pct'")
n=$(ws_psql "select count(*) from watchstand.v_samples where $window and series = '$SW.util_pct'")
avg3=$(ws_psql "select round(avg(value)::numeric / 1e6, 2) from watchstand.v_samples
  where $window and series = '$SW3.in_bps'")
echo "$SW.util_pct over SNMP under 20 Mbit/s: avg $avg over $n samples; v3 in ${avg3} Mbit/s"
[ "$n" -ge 3 ] || it_fail "too few util samples ($n)"
python3 -c "import sys; v=float('$avg' or 0); sys.exit(0 if 12 <= v <= 30 else 1)" ||
  it_fail "snmp util_pct average $avg is not about 20"
python3 -c "import sys; v=float('$avg3' or 0); sys.exit(0 if 12 <= v <= 30 else 1)" ||
  it_fail "snmp v3 in_bps average ${avg3} Mbit/s is not about 20"
spikes=$(ws_psql "select count(*) from watchstand.v_samples where host = 'host-s'
  and series like 'sw%.util_pct' and value > 100")
[ "$spikes" -eq 0 ] || it_fail "$spikes util samples over 100 %"
it_ok "interface utilisation on $PEER_IF against the configured capacity, over v2c and v3"

fill=$(it_latest host-s hr.fill_pct)
size=$(it_latest host-s hr.size_bytes)
# statvfs in snmpd's own mount namespace, where the tmpfs is.
nsenter -t "$SNMPD_PID" -m python3 - "$fill" "$size" "$FS" <<'PY' || it_fail "hrStorage $FS differs from statvfs"
import os, sys
s = os.statvfs(sys.argv[3])
got, size = float(sys.argv[1]), float(sys.argv[2])
want = 100.0 * (s.f_blocks - s.f_bfree) / s.f_blocks
print("hrStorage tmpfs: fill %.4f %% (statvfs %.4f %%), size %d (statvfs %d)" % (got, want, size, s.f_blocks * s.f_frsize))
sys.exit(0 if abs(got - want) < 0.01 and size == s.f_blocks * s.f_frsize and size == 8 << 20 else 1)
PY
it_ok "snmp_storage of a tmpfs matches statvfs (3 of 8 MiB)"

ws_wait_for 10 it_has host-s sys.uptime || it_fail "no sys.uptime gauge"
ws_wait_for 10 it_has host-s rate.veth_in || it_fail "no counter rate over v3"
neg=$(ws_psql "select count(*) from watchstand.v_samples where host = 'host-s' and series = 'rate.veth_in' and value < 0")
[ "$neg" -eq 0 ] || it_fail "negative counter rates"
# ifHCInOctets of the veth end under the traffic: 2.5 MB/s, the same band.
rate=$(ws_psql "select round(avg(value)::numeric) from watchstand.v_samples
  where $window and series = 'rate.veth_in'")
echo "rate.veth_in (ifHCInOctets.$IFX) under the traffic: avg $rate bytes/s"
python3 -c "import sys; v=float('$rate' or 0); sys.exit(0 if 1.5e6 <= v <= 3.75e6 else 1)" ||
  it_fail "counter rate $rate bytes/s is not about 2.5 MB/s"
it_ok "snmp_get gauge and counter rate"

ws_wait_for 10 it_latest_is host-s dead.up 0 || it_fail "dead target not reported down"
[ "$(grep -c "probe dead:" "$IT/host-s.log")" -eq 1 ] || it_fail "the dead target was logged more than once"
gap=$(ws_psql "select max(d) from (select extract(epoch from ts - lag(ts) over (order by ts)) d
  from watchstand.v_samples where host = 'host-s' and series = 'decoy.count') x")
echo "largest gap of the 1 s process probe next to the dead SNMP target: ${gap}s"
python3 -c "import sys; sys.exit(0 if float('$gap') < 1.5 else 1)" || it_fail "process probe delayed: gap ${gap}s"
it_ok "a dead SNMP target is down, logged once, and delays nothing"
