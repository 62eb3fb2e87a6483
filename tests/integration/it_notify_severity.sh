# Paging promises of notify.md not covered elsewhere, against a real
# collector, agents and the webhook receiver:
# - an alarm raised at minor is paged by the route that takes minor, and
#   when the same alarm grows to critical it is paged again by the route
#   that takes critical (a change of severity is routed again);
# - an alarm suppressed by the calendar (the rule's suppress_in holds the
#   phase now) pages nobody;
# - an alarm of a host out of service (POST /hosts/{name}/out-of-service)
#   pages nobody.
# "Nothing arrived" is checked only after a marker alarm raised later was
# paged: the notifier had moved past the suppressed ones by then.
. "$(dirname "$0")/lib.sh"

HN=ns-$$
HO=no-$$
it_setup "$HN" "$HO"
C="$WS_BUILD/watchstand-collector"
RX_PORT=$(ws_free_port)
python3 "$WS_ROOT/tests/integration/receiver.py" "$RX_PORT" "$IT/rx.jsonl" 2>>"$IT/receiver.log" &
IT_PIDS+=($!)
RX="http://127.0.0.1:$RX_PORT"
echo "alice-password" | $C -c "$IT/collector.yaml" useradd alice --role watchstander >/dev/null

cat >>"$IT/collector.yaml" <<YAML
calendar:
  timezone: UTC
  phases: [{name: trading, days: daily, from: "00:00", to: "24:00"}]
  default: closed
rules:
  - name: sev
    match: {series: "lvl.sev"}
    levels: [{when: ">= 1", severity: minor}, {when: ">= 2", severity: critical}]
  - {name: supp, match: {series: "lvl.supp"}, levels: [{when: "> 0", severity: critical}], suppress_in: [trading]}
  - {name: oos, match: {series: "lvl.oos"}, levels: [{when: "> 0", severity: critical}]}
  - {name: mark, match: {series: "lvl.mark"}, levels: [{when: "> 0", severity: critical}]}
notify:
  secret_file: notify.secret
  channels:
    - {name: minor, type: webhook, url: "$RX/ok/minor", group_wait: 0s}
    - {name: crit, type: webhook, url: "$RX/ok/crit", group_wait: 0s}
    - {name: all, type: webhook, url: "$RX/ok/all", group_wait: 0s}
  routes:
    - {name: sev-minor, match: {rule: sev, severity: minor}, escalation: [{channels: [minor]}]}
    - {name: sev-crit, match: {rule: sev, severity: critical}, escalation: [{channels: [crit]}]}
    - {name: everything, match: {}, escalation: [{channels: [all]}]}
YAML
$C -c "$IT/collector.yaml" check-config >/dev/null || it_fail "config refused: $($C -c "$IT/collector.yaml" check-config 2>&1)"

for f in sev supp mark oos; do echo 0 >"$IT/v-$f"; done
cat >"$IT/check_level" <<EOF
#!/bin/sh
echo "OK | sev=\$(cat $IT/v-sev) supp=\$(cat $IT/v-supp) mark=\$(cat $IT/v-mark)"
EOF
cat >"$IT/check_oos" <<EOF
#!/bin/sh
echo "OK | oos=\$(cat $IT/v-oos)"
EOF
chmod +x "$IT/check_level" "$IT/check_oos"
it_agent_config "$HN" "  - {name: lvl, type: exec, interval: 500ms, command: ['$IT/check_level']}"
it_agent_config "$HO" "  - {name: lvl, type: exec, interval: 500ms, command: ['$IT/check_oos']}"
it_start_collector
it_start_agent "$HN"
it_start_agent "$HO"
ws_wait_for 30 it_latest_is "$HN" lvl.mark 0 || it_fail "no samples from $HN"
ws_wait_for 30 it_latest_is "$HO" lvl.oos 0 || it_fail "no samples from $HO"

# rx PATH [PYTHON-EXPR]: requests logged whose path starts with PATH (JSON
# lines), filtered by EXPR over r and b (the parsed body); has(b, rule,
# severity) looks at the alarms a message carries.
rx() {
  python3 - "$IT/rx.jsonl" "$1" "${2:-True}" <<'PY'
import json, sys
log, prefix, expr = sys.argv[1:4]
try:
    lines = open(log).read().splitlines()
except FileNotFoundError:
    lines = []
def has(b, rule, severity=None):
    al = b.get("alarms", []) if isinstance(b, dict) else []
    return any(a.get("rule") == rule and severity in (None, a.get("severity", b.get("severity"))) for a in al)
for line in lines:
    r = json.loads(line)
    try:
        b = json.loads(r["body"])
    except ValueError:
        b = None
    if r["path"].startswith(prefix) and eval(expr):
        print(json.dumps(r))
PY
}
rx_count() { rx "$@" | wc -l; }
rx_has() { [ "$(rx_count "$@")" -ge 1 ]; }
alarm_state_is() { # RULE HOST STATE
  [ "$(ws_psql "select state from watchstand.v_alarms where rule = '$1' and host = '$2' order by id desc limit 1")" = "$3" ]
}

# 1. minor, then critical: paged by each level's route.
echo 1 >"$IT/v-sev"
ws_wait_for 30 rx_has /ok/minor "has(b, 'sev')" || it_fail "no page at minor"
rx /ok/minor "has(b, 'sev')" | head -1 | python3 -c '
import json, sys
b = json.loads(json.load(sys.stdin)["body"])
assert b["severity"] == "minor", b
' || it_fail "the minor page does not say minor: $(rx /ok/minor | head -1)"
it_ok "alarm raised at minor: paged by the minor route"
echo 2 >"$IT/v-sev"
ws_wait_for 30 rx_has /ok/crit "has(b, 'sev')" || it_fail "no page when the alarm grew to critical (BUG?)"
rx /ok/crit "has(b, 'sev')" | head -1 | python3 -c '
import json, sys
b = json.loads(json.load(sys.stdin)["body"])
assert b["severity"] == "critical", b
' || it_fail "the critical page does not say critical: $(rx /ok/crit | head -1)"
n=$(ws_psql "select count(*) from watchstand.v_alarms where rule = 'sev' and host = '$HN'")
[ "$n" = 1 ] || it_fail "$n alarms for 'sev': the level change should update one alarm"
sev=$(ws_psql "select severity from watchstand.v_alarms where rule = 'sev' and host = '$HN'")
[ "$sev" = critical ] || it_fail "the alarm's severity is $sev"
it_ok "the same alarm grew to critical: paged again by the critical route"

# 2. Suppressed by the calendar, and out of service: no page.
echo 1 >"$IT/v-supp"
ws_wait_for 30 alarm_state_is supp "$HN" suppressed || it_fail "no suppressed alarm for 'supp'"
API="http://127.0.0.1:$IT_HTTP/api/v1"
TOKEN=$(curl -sf -d '{"login":"alice","password":"alice-password"}' "$API/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
code=$(curl -s -o "$IT/oos.body" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
  -d '{"minutes":60,"reason":"kernel patch"}' "$API/hosts/$HO/out-of-service")
[ "$code" = 200 ] || it_fail "out-of-service: $code $(cat "$IT/oos.body")"
echo 1 >"$IT/v-oos"
ws_wait_for 30 alarm_state_is oos "$HO" out-of-service || it_fail "no out-of-service alarm for 'oos'"
# The marker: raised after both, it must be paged.
echo 1 >"$IT/v-mark"
ws_wait_for 30 rx_has /ok/all "has(b, 'mark')" || it_fail "the marker alarm was not paged"
n=$(rx_count / "has(b, 'supp')")
[ "$n" -eq 0 ] || it_fail "a suppressed alarm was paged $n times: $(rx / "has(b, 'supp')")"
n=$(rx_count / "has(b, 'oos')")
[ "$n" -eq 0 ] || it_fail "an alarm of a host out of service was paged $n times: $(rx / "has(b, 'oos')")"
n=$(ws_psql "select count(*) from watchstand.v_notifications v join watchstand.v_alarms a on a.id = v.alarm_id
  where a.rule in ('supp', 'oos')")
[ "$n" -eq 0 ] || it_fail "$n notifications recorded for the suppressed and out-of-service alarms"
it_ok "suppressed and out-of-service alarms paged nobody (a later marker alarm was paged)"
