# SNMP probes against a real net-snmp snmpd on 127.0.0.1: interface rates
# on lo (v2c and v3 authPriv) under generated traffic, hrStorage "/" against
# statvfs, snmp_get gauges and counters, and a dead target next to a 1 s
# process probe that keeps its pace.
. "$(dirname "$0")/lib.sh"

it_setup host-s
SNMP_PORT=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DEAD_PORT=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$IT/snmp"
cat >"$IT/snmp/snmpd.conf" <<CONF
agentAddress udp:127.0.0.1:$SNMP_PORT
rocommunity wstest 127.0.0.1
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
SNMP_PERSISTENT_DIR="$IT/snmp" /usr/sbin/snmpd -f -Lf "$IT/snmpd.log" -C -c "$IT/snmp/snmpd.conf" -p "$IT/snmp/pid" &
IT_PIDS+=($!)
ws_wait_for 10 snmpget -v2c -c wstest -t 1 -r 0 "127.0.0.1:$SNMP_PORT" 1.3.6.1.2.1.1.3.0 || it_fail "snmpd did not start"
cp /bin/sleep "$IT/wsd$$"
"$IT/wsd$$" 600 & IT_PIDS+=($!)
V3="version: 3, user: wsuser, auth: {protocol: SHA, password: authpass123}, priv: {protocol: AES, password: privpass123}"
it_agent_config host-s "  - {name: sw, type: snmp_if, interval: 1s, target: '127.0.0.1:$SNMP_PORT', community: wstest, interfaces: [lo], capacity: 100Mbit}
  - {name: sw3, type: snmp_if, interval: 1s, target: '127.0.0.1:$SNMP_PORT', $V3, interfaces: [lo]}
  - {name: hr, type: snmp_storage, interval: 1s, target: '127.0.0.1:$SNMP_PORT', community: wstest, storage: ['/']}
  - {name: sys, type: snmp_get, interval: 1s, target: '127.0.0.1:$SNMP_PORT', community: wstest, oids: {uptime: 1.3.6.1.2.1.1.3.0}}
  - {name: rate, type: snmp_get, interval: 1s, kind: counter, target: '127.0.0.1:$SNMP_PORT', $V3, oids: {lo_in: 1.3.6.1.2.1.31.1.1.1.6.1}}
  - {name: v512, type: snmp_get, interval: 1s, target: '127.0.0.1:$SNMP_PORT', version: 3, user: u512, auth: {protocol: SHA-512, password: authpass512}, oids: {up: 1.3.6.1.2.1.1.3.0}}
  - {name: v256, type: snmp_get, interval: 1s, target: '127.0.0.1:$SNMP_PORT', version: 3, user: u256, auth: {protocol: SHA-256, password: authpass256}, priv: {protocol: AES-256, password: privpass256}, oids: {up: 1.3.6.1.2.1.1.3.0}}
  - {name: vmd5, type: snmp_get, interval: 1s, target: '127.0.0.1:$SNMP_PORT', version: 3, user: umd5, auth: {protocol: MD5, password: authpassmd5}, priv: {protocol: DES, password: privpassdes}, oids: {up: 1.3.6.1.2.1.1.3.0}}
  - {name: vbad, type: snmp_get, interval: 1s, target: '127.0.0.1:$SNMP_PORT', version: 3, user: ubad, auth: {protocol: SHA, password: wrongpassword}, oids: {up: 1.3.6.1.2.1.1.3.0}}
  - {name: dead, type: snmp_if, interval: 1s, timeout: 1s, retries: 1, target: '127.0.0.1:$DEAD_PORT'}
  - {name: decoy, type: process, interval: 1s, match: {comm: wsd$$}}"
it_start_collector
it_start_agent host-s

ws_wait_for 20 it_latest_is host-s sw.up 1 || it_fail "sw.up never 1"
ws_wait_for 10 it_latest_is host-s sw.lo.oper_up 1 || it_fail "lo not oper_up over v2c"
ws_wait_for 10 it_latest_is host-s sw3.up 1 || it_fail "v3 authPriv never up"
ws_wait_for 10 it_has host-s sw3.lo.in_bps || it_fail "no v3 rates"
it_ok "snmp_if over v2c and v3 authPriv (SHA/AES)"
for v in v512 v256 vmd5; do
  ws_wait_for 10 it_latest_is host-s $v.up 1 || it_fail "$v (SNMPv3) never up"
done
ws_wait_for 10 it_latest_is host-s vbad.up 0 || it_fail "a wrong v3 password was not reported down"
grep "probe vbad:" "$IT/host-s.log" || it_fail "wrong v3 password not logged"
it_ok "SNMPv3 authNoPriv SHA-512, authPriv SHA-256/AES-256 and MD5/DES; a wrong password is down"

start=$(ws_psql "select now()")
python3 "$(dirname "$0")/traffic.py" 2500000 10
end=$(ws_psql "select now()")
sleep 2
avg=$(ws_psql "select round(avg(value)::numeric, 2) from watchstand.v_samples
  where host = 'host-s' and series = 'sw.lo.util_pct'
    and ts between '$start'::timestamptz + interval '3 s' and '$end'::timestamptz - interval '1 s'")
echo "sw.lo.util_pct over SNMP under 20 Mbit/s: avg $avg"
python3 -c "import sys; v=float('$avg' or 0); sys.exit(0 if 12 <= v <= 30 else 1)" ||
  it_fail "snmp util_pct average $avg is not about 20"
spikes=$(ws_psql "select count(*) from watchstand.v_samples where host = 'host-s'
  and series in ('sw.lo.util_pct') and value > 100")
[ "$spikes" -eq 0 ] || it_fail "$spikes util samples over 100 %"
it_ok "interface utilisation on lo against the configured capacity"

fill=$(it_latest host-s hr.fill_pct)
size=$(it_latest host-s hr.size_bytes)
python3 - "$fill" "$size" <<'PY' || it_fail "hrStorage / differs from statvfs"
import os, sys
s = os.statvfs("/")
got, size = float(sys.argv[1]), float(sys.argv[2])
want = 100.0 * (s.f_blocks - s.f_bfree) / s.f_blocks
print("hrStorage /: fill %.4f %% (statvfs %.4f %%), size %d (statvfs %d)" % (got, want, size, s.f_blocks * s.f_frsize))
sys.exit(0 if abs(got - want) < 0.1 and abs(size - s.f_blocks * s.f_frsize) / size < 0.001 else 1)
PY
it_ok "snmp_storage / matches statvfs"

ws_wait_for 10 it_has host-s sys.uptime || it_fail "no sys.uptime gauge"
ws_wait_for 10 it_has host-s rate.lo_in || it_fail "no counter rate over v3"
neg=$(ws_psql "select count(*) from watchstand.v_samples where host = 'host-s' and series = 'rate.lo_in' and value < 0")
[ "$neg" -eq 0 ] || it_fail "negative counter rates"
it_ok "snmp_get gauge and counter rate"

ws_wait_for 10 it_latest_is host-s dead.up 0 || it_fail "dead target not reported down"
[ "$(grep -c "probe dead:" "$IT/host-s.log")" -eq 1 ] || it_fail "the dead target was logged more than once"
gap=$(ws_psql "select max(d) from (select extract(epoch from ts - lag(ts) over (order by ts)) d
  from watchstand.v_samples where host = 'host-s' and series = 'decoy.count') x")
echo "largest gap of the 1 s process probe next to the dead SNMP target: ${gap}s"
python3 -c "import sys; sys.exit(0 if float('$gap') < 1.5 else 1)" || it_fail "process probe delayed: gap ${gap}s"
it_ok "a dead SNMP target is down, logged once, and delays nothing"
