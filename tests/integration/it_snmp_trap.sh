# The snmp_trap probe against net-snmp's own snmptrap command: v2c traps
# with the right community and a wrong one, a v2c inform (answered), and v3
# traps of a USM user (authPriv) with the right passwords, a wrong one, and
# below the user's level. Each accepted trap is a key event with its
# varbinds (numeric OIDs); a configured trap OID becomes a sample with the
# ifIndex as instance; rejected traps are only counted.
. "$(dirname "$0")/lib.sh"

H=trap-$$
it_setup "$H"
TRAP_PORT=$(ws_free_port)
ENGINE=0x8000000001020304$(printf '%04x' $(($$ % 65536)))
it_agent_config "$H" "  - name: sw
    type: snmp_trap
    interval: 1s
    listen: 127.0.0.1:$TRAP_PORT
    community: trapsecret
    users:
      - {user: trapper, engine_id: '$ENGINE', auth: {protocol: SHA, password: authpass1}, priv: {protocol: AES, password: privpass1}}
    samples:
      - {trap: 1.3.6.1.6.3.1.1.5.3, series: link_down, value: 1, instance: 1.3.6.1.2.1.2.2.1.1}
      - {trap: 1.3.6.1.6.3.1.1.5.4, series: link_down, value: 0, instance: 1.3.6.1.2.1.2.2.1.1}"
it_start_collector
it_start_agent "$H"
ws_wait_for 20 it_latest_is "$H" sw.listening 1 || it_fail "the trap probe is not listening"

# linkDown (IF-MIB) with ifIndex 5, ifAdminStatus up, ifOperStatus down, and
# a string with a quote and a byte outside ASCII.
T=127.0.0.1:$TRAP_PORT
link() { # VERSION_ARGS... -- TRAP_OID IFINDEX
  snmptrap -Ln "$@"
}
link -v 2c -c trapsecret "$T" 42 1.3.6.1.6.3.1.1.5.3 \
  1.3.6.1.2.1.2.2.1.1.5 i 5 1.3.6.1.2.1.2.2.1.7.5 i 1 1.3.6.1.2.1.2.2.1.8.5 i 2 \
  1.3.6.1.2.1.31.1.1.1.18.5 x 22476f2022c3a9 || it_fail "snmptrap v2c failed"
events() { ws_psql "select count(*) from watchstand.v_events where host = '$H' and probe = 'sw'"; }
events_are() { [ "$(events)" -eq "$1" ]; }
ws_wait_for 20 events_are 1 || it_fail "the v2c trap is not an event ($(events) events)"
ws_wait_for 10 it_latest_is "$H" sw.5.link_down 1 || it_fail "no sw.5.link_down = 1"
text=$(ws_psql "select text from watchstand.v_events where host = '$H' and probe = 'sw'")
echo "event: $text"
want="trap 1.3.6.1.6.3.1.1.5.3 from 127.0.0.1 (v2c): 1.3.6.1.2.1.1.3.0 = 42; 1.3.6.1.6.3.1.1.4.1.0 = 1.3.6.1.6.3.1.1.5.3; 1.3.6.1.2.1.2.2.1.1.5 = 5; 1.3.6.1.2.1.2.2.1.7.5 = 1; 1.3.6.1.2.1.2.2.1.8.5 = 2; 1.3.6.1.2.1.31.1.1.1.18.5 = \"\\x22Go \\x22\\xc3\\xa9\""
[ "$text" = "$want" ] || it_fail "event text differs: want $want"
it_ok "v2c linkDown: a key event with numeric OIDs, sw.5.link_down = 1"

# A wrong community: counted, nothing else.
link -v 2c -c public "$T" 43 1.3.6.1.6.3.1.1.5.3 1.3.6.1.2.1.2.2.1.1.5 i 5 || true
ws_wait_for 10 it_latest_is "$H" sw.rejected 1 || it_fail "the wrong community was not rejected"

# An inform (snmpinform waits for the answer: it fails if none comes).
snmpinform -Ln -v 2c -c trapsecret -t 5 -r 1 "$T" 44 1.3.6.1.6.3.1.1.5.4 1.3.6.1.2.1.2.2.1.1.7 i 7 ||
  it_fail "the inform was not answered"
ws_wait_for 10 it_latest_is "$H" sw.7.link_down 0 || it_fail "the linkUp inform made no sw.7.link_down = 0"
it_ok "a wrong community is rejected; an inform is answered and counted"

# v3 authPriv from the configured user and engine ID.
v3() { snmptrap -Ln -v 3 -e "$ENGINE" -u trapper "$@"; }
v3 -l authPriv -a SHA -A authpass1 -x AES -X privpass1 "$T" 45 1.3.6.1.6.3.1.1.5.3 \
  1.3.6.1.2.1.2.2.1.1.9 i 9 || it_fail "snmptrap v3 failed"
ws_wait_for 20 it_latest_is "$H" sw.9.link_down 1 || it_fail "the v3 trap made no sw.9.link_down"
ws_psql "select text from watchstand.v_events where host = '$H' and text like '%(v3)%'" | grep -q "1.3.6.1.2.1.2.2.1.1.9 = 9" ||
  it_fail "the v3 trap is not an event"
# A wrong auth password, then the right user below its level (authNoPriv):
# neither is an event.
v3 -l authPriv -a SHA -A wrongpass1 -x AES -X privpass1 "$T" 46 1.3.6.1.6.3.1.1.5.3 1.3.6.1.2.1.2.2.1.1.10 i 10 || true
v3 -l authNoPriv -a SHA -A authpass1 "$T" 47 1.3.6.1.6.3.1.1.5.3 1.3.6.1.2.1.2.2.1.1.11 i 11 || true
# (net-snmp drops the first before us, or hands it over unauthenticated.)
rejected_over() { [ "$(it_latest "$H" sw.rejected)" -ge "$1" ]; }
ws_wait_for 10 rejected_over 2 || it_fail "the trap below the user's level was not rejected ($(it_latest "$H" sw.rejected))"
# A marker trap after both: once it is in, the two before it are not.
link -v 2c -c trapsecret "$T" 48 1.3.6.1.6.3.1.1.5.3 1.3.6.1.2.1.2.2.1.1.12 i 12
ws_wait_for 10 it_has "$H" sw.12.link_down || it_fail "the marker trap did not arrive"
for i in 10 11; do
  ! it_has "$H" "sw.$i.link_down" || it_fail "a v3 trap that should be refused made sw.$i.link_down"
done
ws_wait_for 10 it_latest_is "$H" sw.traps 4 || it_fail "sw.traps is $(it_latest "$H" sw.traps), expected 4"
it_ok "v3 authPriv from the configured user: an event and a sample; a wrong password and a lower level: none"
