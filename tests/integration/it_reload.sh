# Reload without a restart: SIGHUP and POST /api/v1/reload swap rules,
# calendar and notification config at once, keep agent connections and
# the state of unchanged rules; a bad config (or a key only a restart can
# change) is refused with its error and the running config keeps working.
# The agent reloads its probes on SIGHUP and keeps its link.
# (The carry-over of a pending `for` is unit-tested in test_rules.)
. "$(dirname "$0")/lib.sh"

it_setup host-a
C="$WS_BUILD/watchstand-collector -c $IT/collector.yaml"
cp "$IT/collector.yaml" "$IT/collector.base"
RX_PORT=$(ws_free_port)
python3 "$WS_ROOT/tests/integration/receiver.py" "$RX_PORT" "$IT/rx.jsonl" 2>>"$IT/receiver.log" &
IT_PIDS+=($!)
RX="http://127.0.0.1:$RX_PORT"
# rules_yaml EXTRA: the config with the base rules and EXTRA after them.
write_config() {
  cp "$IT/collector.base" "$IT/collector.yaml"
  cat >>"$IT/collector.yaml" <<YAML
calendar:
  timezone: UTC
  phases: [{name: trading, days: daily, from: "00:00", to: "24:00"}]
  default: closed
rules:
  - name: decoy-down
    match: {host: host-a, series: decoy.count}
    levels: [{when: "< 1", severity: critical}]
    for: 1s
  - name: disk-watch
    match: {series: fs.fill_pct}
    levels: [{when: ">= 0", severity: warning}]
$1
notify:
  channels:
    - {name: hook, type: webhook, url: "$RX/ok/hook", group_wait: 0s}
    - {name: late, type: webhook, url: "$RX/ok/late", group_wait: 0s}
  routes:
    - name: decoy
      match: {rule: decoy-down}
      escalation:
        - {after: 0s, channels: [hook], to: [alice]}
        - {after: 6s, channels: [late], to: [alice]}
YAML
}
write_config ""
$C check-config >/dev/null || it_fail "config refused"
echo "admin-password" | $C useradd root --role admin >/dev/null
echo "alice-password" | $C useradd alice --role watchstander >/dev/null

DECOY_COMM=wsr$$
cp /bin/sleep "$IT/$DECOY_COMM"
"$IT/$DECOY_COMM" 600 & DECOY=$!; IT_PIDS+=($DECOY)
it_agent_config host-a "  - {name: decoy, type: process, interval: 1s, match: {comm: $DECOY_COMM}}
  - {name: fs, type: filesystem, interval: 1s, path: /}"
it_start_collector
it_start_agent host-a
ws_wait_for 20 it_latest_is host-a decoy.count 1 || it_fail "no samples"
state() { ws_psql "select state from watchstand.v_alarms where rule = '$1' and host = 'host-a' order by id desc limit 1"; }
is_state() { [ "$(state "$1")" = "$2" ]; }
ws_wait_for 10 is_state disk-watch active-unacknowledged || it_fail "disk-watch: '$(state disk-watch)'"
connects() { ws_psql "select count(*) from watchstand.v_shift_log where kind = 'agent' and actor = 'host-a'"; }
[ "$(connects)" = 1 ] || it_fail "agent log entries before any reload: $(connects)"
log_has() { ws_psql "select count(*) from watchstand.v_shift_log where kind = 'system' and actor = '$1' and text like '$2'" | grep -qv '^0$'; }

# SIGHUP with a rule added: it takes effect; the unchanged rule keeps its
# alarm (no clear, no second raise); the agent stays connected.
write_config "  - name: fs-free
    match: {series: fs.free_bytes}
    levels: [{when: '>= 0', severity: info}]"
kill -HUP "$IT_COLLECTOR_PID"
ws_wait_for 10 log_has SIGHUP 'config reloaded: rules +1, calendar unchanged%' ||
  it_fail "no reload entry in the shift log: $(ws_psql "select text from watchstand.v_shift_log where kind = 'system'")"
ws_wait_for 10 is_state fs-free active-unacknowledged || it_fail "the added rule raised nothing: '$(state fs-free)'"
[ "$(ws_psql "select count(*) from watchstand.v_alarms where rule = 'disk-watch'")" = 1 ] &&
  is_state disk-watch active-unacknowledged || it_fail "the unchanged rule's alarm did not carry on"
it_ok "SIGHUP: a rule added takes effect, the unchanged rule's alarm carries on, shift log entry"

# A broken config over SIGHUP: refused, logged, the running rules work.
write_config "  - name: broken
    match: {series: fs.free_bytes}
    levels: [{when: '>= 0', severity: dire}]"
kill -HUP "$IT_COLLECTOR_PID"
refused() { grep -q "config reload refused: .*collector.yaml:[0-9]*:[0-9]*: rules\[2\].levels\[0\].severity: expected info" "$IT/collector.log"; }
ws_wait_for 10 refused || it_fail "the refused reload is not in the collector's log"
ws_wait_for 10 log_has SIGHUP 'config reload refused: %' || it_fail "the refused reload is not in the shift log"
kill "$DECOY"; wait "$DECOY" 2>/dev/null || true
ws_wait_for 15 is_state decoy-down active-unacknowledged || it_fail "the running rules stopped after a refused reload"
is_state fs-free active-unacknowledged || it_fail "the running config lost the added rule"
it_ok "SIGHUP with a broken config: refused with file:line:column, the running rules keep working"

# The API: admin only; errors answered with their text.
API="http://127.0.0.1:$IT_HTTP/api/v1"
code() { curl -s -o "$IT/body" -w '%{http_code}' "$@"; }
expect() { local want=$1; shift; local got; got=$(code "$@"); [ "$got" = "$want" ] || it_fail "$* -> $got (want $want): $(cat "$IT/body")"; }
token() {
  expect 200 -X POST -d "{\"login\":\"$1\",\"password\":\"$2\"}" "$API/login"
  python3 -c "import json; print(json.load(open('$IT/body'))['token'])"
}
ADMIN=(-H "Authorization: Bearer $(token root admin-password)")
ALICE=(-H "Authorization: Bearer $(token alice alice-password)")
expect 400 -X POST "${ADMIN[@]}" "$API/reload"
grep -q 'severity: expected info, warning, minor, major or critical' "$IT/body" || it_fail "400 without the error: $(cat "$IT/body")"
expect 403 -X POST "${ALICE[@]}" "$API/reload"
# Without fs-free: its alarm clears by the normal path, named as a reload's.
write_config ""
expect 200 -X POST "${ADMIN[@]}" "$API/reload"
python3 - "$IT/body" <<'PY' || it_fail "reload answer: $(cat "$IT/body")"
import json, sys
b = json.load(open(sys.argv[1]))
assert b["reloaded"] is True and b["summary"].startswith("rules -1, calendar unchanged"), b
PY
log_has root 'config reloaded: rules -1%' || it_fail "the API's reload is not in the shift log under the admin's login"
ws_wait_for 10 is_state fs-free cleared-unacknowledged || it_fail "the removed rule's alarm: '$(state fs-free)'"
ws_psql "select count(*) from watchstand.v_shift_log where text like 'CLEAR fs-free on host-a%removed or changed by a config reload%'" |
  grep -qx 1 || it_fail "the removed rule's clear is not in the shift log"
# A key only a restart applies: refused by name.
sed -i "s/^  http: .*/  http: 127.0.0.1:1/" "$IT/collector.yaml"
expect 400 -X POST "${ADMIN[@]}" "$API/reload"
grep -q 'collector.http cannot change without a restart' "$IT/body" || it_fail "restart-only key: $(cat "$IT/body")"
it_healthy || it_fail "the HTTP listener moved"
it_ok "POST /reload: admin 200 with a summary, watchstander 403, errors 400 with their text; a removed rule's alarm clears"
# decoy-down's second escalation step was waiting through these reloads.
paged() { grep -q '"path": *"/ok/late".*decoy-down' "$IT/rx.jsonl"; }
ws_wait_for 20 paged || it_fail "the step waiting across the reloads never paged: $(cat "$IT/rx.jsonl" 2>/dev/null)"
it_ok "an escalation step waiting across reloads pages when due"
# A channel and a step removed: the channel's outbox goes, the notifier
# carries on with what is left.
write_config ""
python3 - "$IT/collector.yaml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace('    - {name: hook, type: webhook, url: "', '    - {name: gone, type: webhook, url: "', 1)
s = s.replace("        - {after: 0s, channels: [hook], to: [alice]}\n", "")
open(p, "w").write(s)
PY
expect 200 -X POST "${ADMIN[@]}" "$API/reload"
grep -q '"summary": *"rules unchanged, calendar unchanged, notify routes ~1, channels +1 -1"' "$IT/body" ||
  it_fail "summary of a notify change: $(cat "$IT/body")"
it_healthy || it_fail "the collector is not healthy after a channel was removed"
it_ok "a channel removed and a route changed by a reload"

# The agent: SIGHUP with a probe added; its series appears over the same link.
it_agent_config host-a "  - {name: fs, type: filesystem, interval: 1s, path: /}
  - {name: tmpfs, type: filesystem, interval: 1s, path: /tmp}"
kill -HUP "$IT_AGENT_PID"
ws_wait_for 15 it_has host-a tmpfs.fill_pct || it_fail "the added probe sends nothing"
grep -q "config reloaded: probes 2 (+1 -1), actions 0 (+0 -0)" "$IT/host-a.log" || it_fail "no reload summary in the agent's log"
n=$(it_count host-a fs.fill_pct)
ws_wait_for 10 eval '[ "$(it_count host-a fs.fill_pct)" -gt "$n" ]' || it_fail "the kept probe stopped"
# A broken agent config and a restart-only change: refused, logged, the
# running probes carry on.
cp "$IT/host-a.yaml" "$IT/host-a.good"
it_agent_config host-a "  - {name: fs, type: filesystem, interval: soon, path: /}"
kill -HUP "$IT_AGENT_PID"
ws_wait_for 10 grep -q "config reload refused, the running config stays: .*host-a.yaml:[0-9]*:[0-9]*: probes\[0\].interval" "$IT/host-a.log" ||
  it_fail "the broken agent config is not refused in the log"
sed "s/127.0.0.1:$IT_LISTEN/127.0.0.1:1/" "$IT/host-a.good" >"$IT/host-a.yaml"
kill -HUP "$IT_AGENT_PID"
ws_wait_for 10 grep -q "agent.collectors cannot change without a restart" "$IT/host-a.log" ||
  it_fail "a collectors change is not refused"
n=$(it_count host-a tmpfs.fill_pct)
ws_wait_for 10 eval '[ "$(it_count host-a tmpfs.fill_pct)" -gt "$n" ]' || it_fail "the running probes stopped after a refused reload"
it_ok "agent SIGHUP: a probe added sends; broken and restart-only configs refused, the probes carry on"

# Through all of it, one connection: no reconnect, no disconnect.
[ "$(connects)" = 1 ] || it_fail "the agent reconnected: $(ws_psql "select text from watchstand.v_shift_log where kind = 'agent'")"
[ "$(it_metric watchstand_agents_connected)" = 1 ] || it_fail "agents_connected: $(it_metric watchstand_agents_connected)"
kill -0 "$IT_COLLECTOR_PID" || it_fail "the collector died"
it_ok "the agent's connection was kept through every reload"
