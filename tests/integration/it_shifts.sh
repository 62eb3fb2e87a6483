# Shifts end to end: a real collector and PostgreSQL. The current shift,
# a boundary crossed during the test (the shift row closed and the next
# opened, a boundary entry in the log), on-duty paging only to the people
# on duty before and after the boundary, PUT /roster changing who is
# paged and outliving a restart, shift_id in every log entry, alarm and
# page, the end-of-day report at the trading day's last boundary (in the
# calendar's timezone, not UTC), the empty-roster fallback to role:lead,
# and verify-log intact.
. "$(dirname "$0")/lib.sh"

it_setup host-s
C="$WS_BUILD/watchstand-collector -c $IT/collector.yaml"
RX_PORT=$(ws_free_port)
python3 "$WS_ROOT/tests/integration/receiver.py" "$RX_PORT" "$IT/rx.jsonl" 2>>"$IT/receiver.log" &
IT_PIDS+=($!)
for u in "alice watchstander" "carol watchstander" "dave watchstander" "bob lead"; do
  set -- $u
  echo "$1-password" | $C useradd "$1" --role "$2" --phone "+41790000$RANDOM" --email "$1@example.test" >/dev/null
done

# The boundary: the next whole minute at least 30 s away (the early shift
# must open before it, for its day to have a report). The calendar's
# timezone puts it near local noon (Etc/GMT-N is UTC+N), so the boundary
# is the first shift's start of a local day whatever the hour in UTC: the
# trading day before ends there and its end-of-day report is written.
B=$(( ($(date +%s) + 30 + 59) / 60 * 60 ))
OFF=$(( 12 - 10#$(date -u -d "@$B" +%H) ))
if [ $OFF -gt 0 ]; then TZNAME="Etc/GMT-$OFF"; elif [ $OFF -lt 0 ]; then TZNAME="Etc/GMT+$(( -OFF ))"; else TZNAME=UTC; fi
AT=$(TZ=$TZNAME date -d "@$B" +%H:%M)
BEFORE=$(TZ=$TZNAME date -d "@$((B - 3600))" +%H:%M)
AFTER=$(TZ=$TZNAME date -d "@$((B + 3600))" +%H:%M)
YESTERDAY=$(TZ=$TZNAME date -d "@$((B - 86400))" +%F)
val() { echo "$2" >"$IT/v-$1"; }
for f in a b c d; do val $f 0; done
cat >>"$IT/collector.yaml" <<YAML
  handover_timeout: 3s
  ack_target: {critical: 5m, major: 15m}
calendar:
  timezone: $TZNAME
shifts:
  - {name: early, from: "$AFTER", to: "$AT"}
  - {name: late, from: "$AT", to: "$AFTER"}
roster:
  - {shift: early, days: daily, on_duty: [alice], lead: bob}
  - {shift: late, days: daily, on_duty: [carol], lead: bob}
rules:
  - {name: ra, match: {series: lvl.a}, levels: [{when: "> 0", severity: major}]}
  - {name: rb, match: {series: lvl.b}, levels: [{when: "> 0", severity: major}]}
  - {name: rc, match: {series: lvl.c}, levels: [{when: "> 0", severity: major}]}
  - {name: rd, match: {series: lvl.d}, levels: [{when: "> 0", severity: major}]}
notify:
  channels:
    - name: hook
      type: webhook
      url: "http://127.0.0.1:$RX_PORT/ok/hook"
      body: '{"who": "{{recipient}}", "text": "{{summary}}"}'
      group_wait: 0s
  routes:
    - {name: handover, match: {rule: handover-unaccepted}, escalation: [{channels: [hook], to: [lead]}]}
    - {name: duty, match: {severity: ">= major"}, escalation: [{channels: [hook], to: [on-duty]}]}
YAML
$C check-config >"$IT/check.out" || it_fail "config refused: $(cat "$IT/check.out")"

# check-config refuses an unknown login, a gap, an unknown shift.
bad() {
  sed "$1" "$IT/collector.yaml" >"$IT/bad.yaml"
  ! "$WS_BUILD/watchstand-collector" -c "$IT/bad.yaml" check-config >"$IT/bad.out" 2>&1 &&
    grep -q "$2" "$IT/bad.out" || it_fail "check-config did not refuse ($2): $(cat "$IT/bad.out")"
}
bad "s/on_duty: \[carol\]/on_duty: [mallory]/" "unknown login 'mallory'"
bad "s/- {name: late, from: \"$AT\"/- {name: late, from: \"$BEFORE\"/" "overlap"
bad "s/{shift: late, days/{shift: lunch, days/" "unknown shift 'lunch'"

cat >"$IT/check_level" <<SH
#!/bin/sh
echo "OK | a=\$(cat $IT/v-a) b=\$(cat $IT/v-b) c=\$(cat $IT/v-c) d=\$(cat $IT/v-d)"
SH
chmod +x "$IT/check_level"
it_agent_config host-s "  - {name: lvl, type: exec, interval: 500ms, command: ['$IT/check_level']}"
it_start_collector
it_start_agent host-s
ws_wait_for 20 it_latest_is host-s lvl.a 0 || it_fail "no samples"

API="http://127.0.0.1:$IT_HTTP/api/v1"
code() { curl -s -o "$IT/body" -w '%{http_code}' "$@"; }
field() { python3 -c "import json,sys; print(json.load(open('$IT/body'))$1)"; }
login() {
  [ "$(code -X POST -d "{\"login\":\"$1\",\"password\":\"$1-password\"}" "$API/login")" = 200 ] || it_fail "login $1"
  field "['token']"
}
A=(-H "Authorization: Bearer $(login alice)")
L=(-H "Authorization: Bearer $(login bob)")
paged() { # paged RULE WHO: a page for RULE went to WHO
  python3 - "$IT/rx.jsonl" "$1" "$2" <<'PY'
import json, sys
log, rule, who = sys.argv[1:4]
try:
    lines = open(log).read().splitlines()
except FileNotFoundError:
    lines = []
n = 0
for line in lines:
    b = json.loads(json.loads(line)["body"])
    if b.get("who") == who and rule in b.get("text", ""):
        n += 1
print(n)
PY
}
is_paged() { [ "$(paged "$1" "$2")" -ge 1 ]; }

# The current shift, before the boundary (unless this host was slow).
[ "$(code "${A[@]}" "$API/shifts/current")" = 200 ] || it_fail "GET /shifts/current: $(cat "$IT/body")"
if [ "$(date +%s)" -lt $((B - 3)) ]; then
  [ "$(field "['name']")" = early ] || it_fail "current shift: $(cat "$IT/body")"
  [ "$(field "['on_duty']")" = "['alice']" ] && [ "$(field "['lead']")" = bob ] || it_fail "on duty: $(cat "$IT/body")"
  ws_wait_for 10 test -n "$(ws_psql "select id from watchstand.shifts where name = 'early' and ended_at is null")" ||
    it_fail "no open row for the early shift"
  val a 1
  ws_wait_for 20 is_paged ra alice || it_fail "alice (on duty) was not paged"
  [ "$(paged ra carol)" = 0 ] || it_fail "carol (off duty) was paged"
fi

# The boundary: late opens, early closes, the log says so.
late_open() { [ -n "$(ws_psql "select id from watchstand.shifts where name = 'late' and ended_at is null")" ]; }
ws_wait_for 90 late_open || it_fail "the late shift did not open"
early_closed() { [ -z "$(ws_psql "select id from watchstand.shifts where name = 'early' and ended_at is null")" ]; }
ws_wait_for 10 early_closed ||
  it_fail "the early shift was not closed"
ws_psql "select text from watchstand.v_shift_log where kind = 'shift'" | grep -q "shift late started: on duty carol; lead bob" ||
  it_fail "no boundary entry: $(ws_psql "select text from watchstand.v_shift_log where kind = 'shift'")"
[ "$(code "${A[@]}" "$API/shifts/current")" = 200 ] && [ "$(field "['name']")" = late ] || it_fail "current after the boundary: $(cat "$IT/body")"
SID=$(field "['id']")
[ "$(code "${A[@]}" "$API/shifts/$SID")" = 200 ] && [ "$(field "['name']")" = late ] || it_fail "GET /shifts/$SID"
[ "$(code "${A[@]}" "$API/shifts")" = 200 ] || it_fail "GET /shifts"
EARLY=$(ws_psql "select id from watchstand.shifts where name = 'early'")

# collector.ack_target reached the table the KPIs read.
[ "$(ws_psql "select string_agg(severity || '=' || extract(epoch from target)::int, ',' order by severity) from watchstand.ack_targets")" = "critical=300,major=900" ] ||
  it_fail "ack_targets: $(ws_psql "select * from watchstand.ack_targets")"

# The boundary began the local day's first shift: yesterday's end-of-day
# report is written once, to the table and to the log, with a real chain
# head, over yesterday's trading day in the calendar's timezone.
reported() { [ -n "$(ws_psql "select day from watchstand.day_reports where day = '$YESTERDAY'")" ]; }
ws_wait_for 20 reported || it_fail "no end-of-day report for $YESTERDAY: $(ws_psql "select day, from_ts, to_ts from watchstand.day_reports")"
[ "$(ws_psql "select extract(epoch from from_ts)::bigint || ' ' || extract(epoch from to_ts)::bigint from watchstand.day_reports")" = "$((B - 86400)) $B" ] ||
  it_fail "the report's window is not $YESTERDAY $AT to today $AT ($TZNAME): $(ws_psql "select from_ts, to_ts from watchstand.day_reports")"
report_entry() { ws_psql "select text from watchstand.v_shift_log where kind = 'report'"; }
has_report_entry() { [ -n "$(report_entry)" ]; }
ws_wait_for 10 has_report_entry || it_fail "no report entry in the shift log"
report_entry | grep -q "^end-of-day report $YESTERDAY (" || it_fail "report entry: $(report_entry)"
HEAD=$(report_entry | sed -n 's/.*chain head \([0-9]*\):\([0-9a-f]*\)$/\1 \2/p')
[ -n "$HEAD" ] && [ "$(ws_psql "select encode(hash, 'hex') from watchstand.shift_log where id = ${HEAD% *}")" = "${HEAD#* }" ] ||
  it_fail "the report's chain head is not an entry of the chain: $(report_entry)"
[ "$(ws_psql "select report_sha256 = encode(sha256(convert_to(report::text, 'UTF8')), 'hex') from watchstand.day_reports")" = t ] ||
  it_fail "the stored SHA-256 is not the report's"
report_entry | grep -q "report sha256 $(ws_psql "select report_sha256 from watchstand.day_reports")" || it_fail "the entry does not name the report's hash"
[ "$(code "${A[@]}" "$API/report?day=$YESTERDAY")" = 200 ] || it_fail "GET /report?day=: $(cat "$IT/body")"
[ "$(ws_psql "select extract(epoch from '$(field "['from']")'::timestamptz)::bigint || ' ' || extract(epoch from '$(field "['to']")'::timestamptz)::bigint")" = "$((B - 86400)) $B" ] ||
  it_fail "GET /report?day=$YESTERDAY is not the trading day in $TZNAME: $(cat "$IT/body")"
[ "$(code "${A[@]}" "$API/report?day=yesterday")" = 400 ] || it_fail "a bad day is not 400"

# Nobody handed the early shift over: after handover_timeout an alarm
# pages the lead (bob).
unaccepted() { [ -n "$(ws_psql "select id from watchstand.alarms where rule = 'handover-unaccepted' and state <> 'closed'")" ]; }
ws_wait_for 30 unaccepted || it_fail "no unaccepted-handover alarm"
ws_wait_for 20 is_paged "" bob || it_fail "the lead was not paged for the unaccepted handover"

val b 1
ws_wait_for 20 is_paged rb carol || it_fail "carol (on duty after the boundary) was not paged"
[ "$(paged rb alice)" = 0 ] || it_fail "alice (off duty now) was paged"
# Alarms and pages know the shift they fell in.
[ "$(ws_psql "select shift_id from watchstand.v_alarms where rule = 'rb'")" = "$SID" ] || it_fail "rb's alarm is not in the late shift"
if [ -n "$(ws_psql "select id from watchstand.alarms where rule = 'ra'")" ]; then
  [ "$(ws_psql "select shift_id from watchstand.v_alarms where rule = 'ra'")" = "$EARLY" ] || it_fail "ra's alarm is not in the early shift"
fi
[ "$(ws_psql "select count(*) from watchstand.v_notifications n join watchstand.alarms a on a.id = n.alarm_id where a.rule = 'rb' and n.shift_id = $SID")" -ge 1 ] ||
  it_fail "rb's page does not carry the late shift"

# PUT /roster: a watchstander may not; the lead puts dave on the late shift.
[ "$(code "${A[@]}" -X PUT -d '[]' "$API/roster")" = 403 ] || it_fail "a watchstander changed the roster"
[ "$(code "${L[@]}" -X PUT -d '[{"shift": "nope", "on_duty": ["x"]}]' "$API/roster")" = 400 ] || it_fail "unknown shift accepted"
[ "$(code "${L[@]}" -X PUT -d '[{"shift": "late", "on_duty": ["dave", "mallory"], "lead": "bob"}]' "$API/roster")" = 400 ] &&
  grep -q "unknown login 'mallory'" "$IT/body" || it_fail "a roster with an unknown login: $(cat "$IT/body")"
R='[{"shift": "early", "days": "daily", "on_duty": ["alice"], "lead": "bob"}, {"shift": "late", "days": "daily", "on_duty": ["dave"], "lead": "bob"}]'
[ "$(code "${L[@]}" -X PUT -d "$R" "$API/roster")" = 200 ] || it_fail "PUT /roster: $(cat "$IT/body")"
ws_psql "select actor, text from watchstand.v_shift_log" | grep -q "roster replaced" || it_fail "PUT /roster not logged"
val c 1
ws_wait_for 20 is_paged rc dave || it_fail "dave (rostered by PUT) was not paged"
[ "$(paged rc carol)" = 0 ] || it_fail "carol was paged after the roster change"
# The roster put through the API outlives a restart; the report is not
# written twice.
it_stop_collector
it_start_collector
[ "$(code "${A[@]}" "$API/roster")" = 200 ] && [ "$(field "['source']")" = api ] && [ "$(field "['by']")" = bob ] ||
  it_fail "GET /roster after a restart: $(cat "$IT/body")"
[ "$(code "${A[@]}" "$API/shifts/current")" = 200 ] && [ "$(field "['on_duty']")" = "['dave']" ] ||
  it_fail "the put roster is not in force after a restart: $(cat "$IT/body")"
[ "$(ws_psql "select count(*) from watchstand.day_reports")" = 1 ] && [ "$(report_entry | wc -l)" = 1 ] ||
  it_fail "the end-of-day report was written again at the restart"
# The unaccepted-handover alarm of the early shift outlived the restart
# and is watched again: the early shift's handover (written as if alice had
# signed it before the boundary) accepted now by dave clears it.
ws_psql "insert into watchstand.handovers (shift_id, by_user, report, report_sha256) values ($EARLY, 'alice', '{}', 'test')" >/dev/null
unaccepted || it_fail "the unaccepted-handover alarm did not outlive the restart"
DV=(-H "Authorization: Bearer $(login dave)")
[ "$(code "${DV[@]}" -X POST -d '{"notes": "late, but read"}' "$API/shifts/$EARLY/accept")" = 200 ] ||
  it_fail "dave accepting the early handover: $(cat "$IT/body")"
handover_cleared() { ws_psql "select text from watchstand.v_shift_log where kind = 'alarm'" | grep -q "CLEAR.*handover-unaccepted.*handover accepted"; }
ws_wait_for 30 handover_cleared || it_fail "the re-watched handover alarm did not clear on acceptance: $(ws_psql "select text from watchstand.v_shift_log where kind = 'alarm'")"

# Handover with an open alarm (rc) and a carried item, by dave (late);
# alice (not on the late shift) may not hand it over, dave may not accept
# his own, alice (the incoming early shift) accepts.
D=(-H "Authorization: Bearer $(login dave)")
[ "$(code "${D[@]}" -X POST -d '{"text": "call the vendor back", "carry": true}' "$API/log")" = 201 ] || it_fail "carry note: $(cat "$IT/body")"
CARRY=$(field "['id']")
[ "$(code "${D[@]}" -X POST -d '{"text": "gone", "carry": true}' "$API/log")" = 201 ] || it_fail "carry note 2"
GONE=$(field "['id']")
# The CLI: the current shift and a carried note.
export WATCHSTAND_URL="http://127.0.0.1:$IT_HTTP"
W="$WS_BUILD/watchstand"
echo "dave-password" | HOME="$IT/home-dave" "$W" login dave >/dev/null || it_fail "cli login"
HOME="$IT/home-dave" "$W" shift >"$IT/shift.out" || it_fail "watchstand shift"
grep -q "^shift late" "$IT/shift.out" && grep -q "^on duty: dave" "$IT/shift.out" || it_fail "watchstand shift: $(cat "$IT/shift.out")"
HOME="$IT/home-dave" "$W" log --carry "page the network team" | grep -q logged || it_fail "watchstand log --carry"
[ "$(code "${D[@]}" -X POST "$API/log/$GONE/clear")" = 200 ] || it_fail "clear: $(cat "$IT/body")"
[ "$(code "${D[@]}" -X POST "$API/log/$GONE/clear")" = 404 ] || it_fail "cleared twice"
[ "$(code "${A[@]}" -X POST -d '{"notes": "x"}' "$API/shifts/handover")" = 403 ] || it_fail "handover by someone off shift: $(cat "$IT/body")"
[ "$(code "${D[@]}" -X POST -d '{"notes": "quiet night"}' "$API/shifts/handover")" = 201 ] || it_fail "handover: $(cat "$IT/body")"
SHA=$(field "['report_sha256']")
report=$(ws_psql "select report::text from watchstand.handovers where shift_id = $SID")
echo "$report" | grep -q '"rule": "rc"' || it_fail "the open alarm is not in the report: $report"
echo "$report" | grep -q 'call the vendor back' || it_fail "the carried item is not in the report: $report"
echo "$report" | grep -q 'page the network team' || it_fail "the CLI's carried item is not in the report"
echo "$report" | grep -q '"gone"' && it_fail "a cleared item is in the report: $report"
[ "$(ws_psql "select encode(sha256(convert_to(report::text, 'UTF8')), 'hex') from watchstand.handovers where shift_id = $SID")" = "$SHA" ] ||
  it_fail "the stored SHA-256 is not the report's"
[ "$(code "${D[@]}" -X POST -d '{"notes": "me"}' "$API/shifts/$SID/accept")" = 409 ] || it_fail "self-accept: $(cat "$IT/body")"
echo "alice-password" | HOME="$IT/home-alice" "$W" login alice >/dev/null || it_fail "cli login alice"
HOME="$IT/home-alice" "$W" accept "$SID" -m "got it" | grep -q "accepted the handover of shift $SID" || it_fail "watchstand accept"
[ "$(code "${A[@]}" -X POST -d '{}' "$API/shifts/$SID/accept")" = 409 ] || it_fail "accepted twice"
signed() { ws_psql "select actor, text from watchstand.v_shift_log where kind = 'handover'" | grep -q "$1"; }
ws_wait_for 10 signed "signed by dave: report sha256 $SHA" || it_fail "no handover signature in the log"
ws_wait_for 10 signed "accepted by alice: report sha256 $SHA" || it_fail "no acceptance in the log"
[ "$(code "${A[@]}" "$API/shifts/current")" = 200 ] && [ "$(field "['state']")" = accepted ] || it_fail "state: $(cat "$IT/body")"

# Nobody rostered for the late shift: the page goes to role:lead (bob)
# and the log says why. DELETE /roster brings the config's back.
[ "$(code "${L[@]}" -X PUT -d '[{"shift": "early", "days": "daily", "on_duty": ["alice"], "lead": "bob"}]' "$API/roster")" = 200 ] ||
  it_fail "PUT /roster without late: $(cat "$IT/body")"
val d 1
ws_wait_for 20 is_paged rd bob || it_fail "with nobody rostered, role:lead (bob) was not paged"
ws_psql "select text from watchstand.v_shift_log where kind = 'notify'" | grep -q "nobody is rostered for 'on-duty' now; paging role:lead instead" ||
  it_fail "the fallback is not in the shift log"
[ "$(code "${L[@]}" -X DELETE "$API/roster")" = 200 ] && [ "$(field "['source']")" = config ] || it_fail "DELETE /roster: $(cat "$IT/body")"
[ "$(code "${A[@]}" "$API/shifts/current")" = 200 ] && [ "$(field "['on_duty']")" = "['carol']" ] ||
  it_fail "the config's roster is not back: $(cat "$IT/body")"

# Every entry since the first shift opened carries its shift; the chain holds.
[ "$(ws_psql "select count(*) from watchstand.v_shift_log where shift_id is null and id > (select min(id) from watchstand.shift_log where kind = 'shift')")" = 0 ] ||
  it_fail "entries without shift_id"
$C verify-log | grep -q intact || it_fail "verify-log: $($C verify-log)"
it_ok
