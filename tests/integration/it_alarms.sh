# Rules raise graded alarms from live samples: a decoy dies -> a critical
# alarm within seconds -> restored -> cleared (awaiting acknowledgement),
# every transition in the hash-chained shift log; an agent killed -> one
# host alarm, its other alarms suppressed; verify-log catches tampering.
. "$(dirname "$0")/lib.sh"

it_setup host-a
cat >>"$IT/collector.yaml" <<'YAML'
  agent_silence: 3s
calendar:
  timezone: UTC
  phases: [{name: trading, days: daily, from: "00:00", to: "24:00"}]
  default: closed
rules:
  - name: decoy-down
    match: {host: host-a, series: decoy.count}
    levels: [{when: "< 1", severity: critical}]
    for: 2s
    severity_by_phase: {closed: minor}
    runbook: "systemctl start decoy"
  - name: disk-watch
    match: {series: fs.fill_pct}
    levels: [{when: ">= 0", severity: warning}]
  - name: ghost
    match: {host: "quote-*", series: quoted.count}
    levels: [{when: "< 1", severity: critical}]
YAML
"$WS_BUILD/watchstand-collector" -c "$IT/collector.yaml" check-config >/dev/null || it_fail "config refused"
# A comm of this run's own (at most 15 characters): nothing else counts.
DECOY_COMM=wsd$$
cp /bin/sleep "$IT/$DECOY_COMM"
"$IT/$DECOY_COMM" 600 & DECOY=$!; IT_PIDS+=($DECOY)
it_agent_config host-a "  - {name: decoy, type: process, interval: 1s, match: {comm: $DECOY_COMM}}
  - {name: fs, type: filesystem, interval: 1s, path: /}"
it_start_collector
it_start_agent host-a
ws_wait_for 20 it_latest_is host-a decoy.count 1 || it_fail "no samples"
state() { ws_psql "select state || ' ' || severity from watchstand.v_alarms where rule = '$1' and host = 'host-a' order by id desc limit 1"; }
disk_active() { [ "$(state disk-watch)" = "active-unacknowledged warning" ]; }
ws_wait_for 10 disk_active || it_fail "disk-watch: '$(state disk-watch)'"

kill "$DECOY"; wait "$DECOY" 2>/dev/null || true
t_kill=$(date +%s.%N)
raised() { [ "$(state decoy-down)" = "active-unacknowledged critical" ]; }
ws_wait_for 15 raised || it_fail "no critical alarm after the decoy died: '$(state decoy-down)'"
took=$(python3 -c "import time; print(round(time.time() - $t_kill, 1))")
echo "decoy-down raised $took s after the kill (for: 2s, 1 s samples)"
ws_psql "select text from watchstand.v_shift_log where kind = 'alarm' and text like 'RAISE critical decoy-down%'" |
  grep -q "runbook: systemctl start decoy" || it_fail "raise not in the shift log with its runbook"
it_ok "decoy dies -> critical alarm, logged with its runbook"
"$WS_BUILD/watchstand-collector" -c "$IT/collector.yaml" check-config | tee "$IT/check.txt"
grep -q "warning: rules\[2\] (ghost): matches no series seen in the last hour" "$IT/check.txt" ||
  it_fail "check-config did not name the rule that matches nothing"
grep -q "decoy-down" "$IT/check.txt" && it_fail "check-config warned about a rule that matches"
it_ok "check-config names a rule that matches no known series"

"$IT/$DECOY_COMM" 600 & IT_PIDS+=($!)
cleared() { [ "$(state decoy-down)" = "cleared-unacknowledged critical" ]; }
ws_wait_for 10 cleared || it_fail "not cleared after restore: '$(state decoy-down)'"
ws_psql "select count(*) from watchstand.v_shift_log where text like 'CLEAR decoy-down on host-a%'" | grep -qx 1 ||
  it_fail "clear not in the shift log"
n=$(ws_psql "select count(*) from watchstand.v_alarms where rule = 'decoy-down'")
[ "$n" -eq 1 ] || it_fail "$n alarms for one fault"
it_ok "restored -> cleared-unacknowledged, one alarm, both transitions logged"

kill "$IT_AGENT_PID"; wait "$IT_AGENT_PID" 2>/dev/null || true
host_alarm() { [ "$(state agent-silent)" = "active-unacknowledged critical" ]; }
ws_wait_for 15 host_alarm || it_fail "no host alarm for a killed agent"
suppressed() { [ "$(state disk-watch)" = "suppressed warning" ]; }
ws_wait_for 5 suppressed || it_fail "the host's alarm was not suppressed: '$(state disk-watch)'"
sleep 3
n=$(ws_psql "select count(*) from watchstand.v_alarms where host = 'host-a' and state like 'active%'")
[ "$n" -eq 1 ] || it_fail "$n active alarms for a dead host (expected only the host alarm)"
it_ok "agent killed -> one host alarm, its other alarms suppressed"

it_start_agent host-a
back() { [ "$(state agent-silent)" = "cleared-unacknowledged critical" ]; }
ws_wait_for 15 back || it_fail "host alarm not cleared when the agent came back"
fresh() { [ "$(state disk-watch)" = "active-unacknowledged warning" ]; }
ws_wait_for 10 fresh || it_fail "the host's alarms were not evaluated afresh: '$(state disk-watch)'"
it_ok "agent back -> host alarm cleared, alarms evaluated afresh"

ws_psql "select count(*) from watchstand.v_shift_log where kind = 'agent'" | grep -qv '^0$' || it_fail "no agent entries in the log"
ws_psql "select count(*) from watchstand.v_shift_log where kind = 'phase'" | grep -qv '^0$' || it_fail "no phase entry in the log"
out=$("$WS_BUILD/watchstand-collector" -c "$IT/collector.yaml" verify-log)
echo "$out"
echo "$out" | grep -q "chain intact" || it_fail "verify-log on an untouched log"
if ws_psql "update watchstand.shift_log set text = 'x' where id = 2" 2>/dev/null; then
  it_fail "the shift log accepted an UPDATE"
fi
ws_psql "set session_replication_role = replica; update watchstand.shift_log set text = 'nothing happened' where id = 3" >/dev/null
set +e
out=$("$WS_BUILD/watchstand-collector" -c "$IT/collector.yaml" verify-log)
rc=$?
set -e
echo "$out"
[ $rc -eq 1 ] || it_fail "verify-log exit $rc after tampering"
echo "$out" | grep -q "entry 3 was altered" || it_fail "verify-log did not name entry 3"
it_ok "the log refuses UPDATE; verify-log names a row altered behind the collector's back"
