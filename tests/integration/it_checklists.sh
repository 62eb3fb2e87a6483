# Checklist runs end to end: a real collector, two real agents whose
# actions start and stop decoy processes (copies of sleep with names of
# this test's own), PostgreSQL. Runs in order, every 409, refusals,
# timeouts, verification, two-person, skips, the reverse shutdown, a
# drill, a scheduled check and the order watch.
. "$(dirname "$0")/lib.sh"

it_setup host-db host-q
W=$IT/work
mkdir -p "$W"
DB=wsqd$$
Q=wsqq$$
HANG=wsqh$$
for n in $DB $Q $HANG; do cp "$(command -v sleep)" "$W/$n"; done
cat >"$W/start.sh" <<SH
#!/bin/sh
setsid -f "$W/\$1" 600 >/dev/null 2>&1 </dev/null
# Its name shows after setsid's exec: then it is out of this group, which
# the agent kills when this script exits.
while ! pgrep -x "\$1" >/dev/null; do sleep 0.05; done
SH
cat >"$W/stop.sh" <<SH
#!/bin/sh
pkill -x "\$1"
exit 0
SH
chmod +x "$W"/*.sh
C="$WS_BUILD/watchstand-collector -c $IT/collector.yaml"
for u in alice bob; do echo "$u-password" | $C useradd $u --role watchstander >/dev/null; done
echo "lea-password" | $C useradd lea --role lead >/dev/null

# The calendar: pre-open begins at the next whole minute (UTC) that is at
# least 8 s away; the check run opens then.
start=$(( ($(date +%s) + 8 + 59) / 60 * 60 ))
FROM=$(date -u -d "@$start" +%H:%M)
TO=$(date -u -d "@$((start + 120))" +%H:%M)
cat >>"$IT/collector.yaml" <<YAML
  agent_silence: 3s
calendar:
  timezone: UTC
  phases: [{name: pre-open, days: daily, from: "$FROM", to: "$TO"}]
  default: closed
rules:
  - name: q-down
    match: {host: host-q, series: q.count}
    levels: [{when: "< 1", severity: warning}]
    runbook: misc
checklists:
  - name: sod
    kind: startup
    steps:
      - name: db
        host: host-db
        action: start-db
        verify: {series: "db.count", when: ">= 1", within: 10s}
        stop: {action: stop-db, verify: {series: "db.count", when: "== 0", within: 10s}}
      - name: quote
        host: host-q
        after: [db]
        action: start-q
        verify: {series: "q.count", when: ">= 1", within: 10s}
        stop: {action: stop-q, verify: {series: "q.count", when: "== 0", within: 10s}}
        two_person: true
      - name: link
        after: [quote]
        manual: "Confirm the exchange link"
  - name: eod
    kind: shutdown
    reverse_of: sod
  - name: misc
    kind: procedure
    steps:
      - {name: refused, host: host-q, action: nope, verify: {series: "q.count", when: ">= 0", within: 5s}}
      - {name: hang, host: host-db, action: hang, verify: {series: "db.count", when: ">= 0", within: 5s}}
      - {name: late, host: host-db, action: noop, verify: {series: "db.count", when: ">= 1", within: 2s}}
  - name: chg
    kind: change
    hosts: [host-db]
    baseline: [db.count]
    steps:
      - {name: inst, host: host-db, action: noop, verify: {series: "db.count", when: ">= 1", within: 5s}}
      - {name: post, host: host-db, after: [inst], verify: {series: "db.count", vs_baseline: "within 0%", within: 5s}}
  - name: slow
    kind: procedure
    steps:
      - {name: wait, host: host-db, action: slow, verify: {series: "db.count", when: ">= 0", within: 30s}}
  - name: chk
    kind: check
    schedule: {phase: pre-open}
    steps:
      # within: the phase may begin in the second after the collector's
      # restart above, before host-db is back with a sample.
      - {name: db-up, host: host-db, verify: {series: "db.count", when: ">= 0", within: 15s}}
      - {name: notices, manual: "Read the notices"}
YAML
agent() {
  local name=$1 probe=$2 comm=$3 actions=$4
  it_agent_config "$name" "  - {name: $probe, type: process, interval: 1s, match: {comm: $comm}}"
  printf 'actions:\n%s\n' "$actions" >>"$IT/$name.yaml"
}
agent host-db db $DB "  start-db: {run: [\"$W/start.sh\", \"$DB\"]}
  stop-db: {run: [\"$W/stop.sh\", \"$DB\"]}
  noop: {run: [\"/bin/true\"]}
  slow: {run: [\"$W/$HANG\", \"4\"]}
  hang: {run: [\"$W/$HANG\", \"600\"], timeout: 1s}"
agent host-q q $Q "  start-q: {run: [\"$W/start.sh\", \"$Q\"]}
  stop-q: {run: [\"$W/stop.sh\", \"$Q\"], drill: true}"
it_on_exit "pkill -x $DB; pkill -x $Q; pkill -x $HANG"
it_start_collector
it_start_agent host-db
DB_AGENT=$IT_AGENT_PID
it_start_agent host-q
ws_wait_for 20 it_has host-db db.count || it_fail "no samples from host-db"
ws_wait_for 20 it_has host-q q.count || it_fail "no samples from host-q"

API="http://127.0.0.1:$IT_HTTP/api/v1"
code() { curl -s -o "$IT/body" -w '%{http_code}' "$@"; }
expect() {
  local want=$1; shift; local got
  got=$(code "$@")
  [ "$got" = "$want" ] || it_fail "$* -> $got (want $want): $(cat "$IT/body")"
}
field() { python3 -c "import json,sys; print(json.load(open('$IT/body'))$1)"; }
login() {
  expect 200 -X POST -d "{\"login\":\"$1\",\"password\":\"$1-password\"}" "$API/login"
  field "['token']"
}
A=(-H "Authorization: Bearer $(login alice)")
B=(-H "Authorization: Bearer $(login bob)")
L=(-H "Authorization: Bearer $(login lea)")
step_state() { ws_psql "select state from watchstand.v_checklist_steps where run_id = $1 and step = '$2'"; }
step_is() { [ "$(step_state "$1" "$2")" = "$3" ]; }
run_is() { [ "$(ws_psql "select state from watchstand.v_checklist_runs where id = $1")" = "$2" ]; }

# check-config: a step's action the agent did not report.
$C check-config | grep -q "step refused: action 'nope' is not in agent host-q's" ||
  it_fail "check-config: $($C check-config)"
# A rule whose runbook names a procedure offers it.
proc() {
  code "${A[@]}" "$API/alarms" >/dev/null
  grep -q '"procedure": *"misc"' "$IT/body"
}
ws_wait_for 10 proc || it_fail "GET /alarms offers no procedure: $(cat "$IT/body")"
it_ok "check-config warns of an unknown action; an alarm offers its procedure"

expect 200 "${A[@]}" "$API/checklists"
grep -q '"eod"' "$IT/body" || it_fail "GET /checklists: $(cat "$IT/body")"
expect 201 "${A[@]}" -X POST "$API/checklists/sod/runs"
RUN=$(field "['id']")
expect 409 "${A[@]}" -X POST "$API/checklists/sod/runs"
grep -q "open run" "$IT/body" || it_fail "second open run: $(cat "$IT/body")"
expect 409 "${A[@]}" -X POST "$API/runs/$RUN/steps/quote/execute"
grep -q "db" "$IT/body" || it_fail "out of order does not name db: $(cat "$IT/body")"
it_ok "a second open run and a step out of order answer 409 ($(cat "$IT/body"))"

# A procedure: a refused action, a timeout, a failed verification.
expect 201 "${A[@]}" -X POST "$API/checklists/misc/runs"
MISC=$(field "['id']")
expect 200 "${A[@]}" -X POST "$API/runs/$MISC/steps/refused/execute"
ws_wait_for 10 step_is "$MISC" refused failed || it_fail "refused: $(step_state "$MISC" refused)"
ws_psql "select error from watchstand.v_checklist_steps where run_id = $MISC and step = 'refused'" | grep -q "nope" ||
  it_fail "the refusal does not name the action"
expect 200 "${A[@]}" -X POST "$API/runs/$MISC/steps/hang/execute"
ws_wait_for 10 step_is "$MISC" hang failed || it_fail "hang: $(step_state "$MISC" hang)"
[ -z "$(pgrep -x "$HANG" || true)" ] || it_fail "the timed-out action's process is left"
expect 200 "${A[@]}" -X POST "$API/runs/$MISC/steps/late/execute"
ws_wait_for 10 step_is "$MISC" late failed || it_fail "late: $(step_state "$MISC" late)"
it_ok "a refused action, a timeout (process group killed) and a failed verification fail their steps"

# The startup, in order, with a two-person step.
expect 200 "${A[@]}" -X POST "$API/runs/$RUN/steps/db/execute"
ws_wait_for 15 step_is "$RUN" db done || it_fail "db: $(ws_psql "select state, error, value from watchstand.checklist_steps where run_id = $RUN")"
expect 200 "${A[@]}" -X POST "$API/runs/$RUN/steps/quote/execute"
ws_wait_for 15 step_is "$RUN" quote awaiting-confirmation || it_fail "quote: $(step_state "$RUN" quote)"
expect 409 "${A[@]}" -X POST "$API/runs/$RUN/steps/quote/confirm"
expect 200 "${B[@]}" -X POST "$API/runs/$RUN/steps/quote/confirm"
step_is "$RUN" quote done || it_fail "quote not done after bob confirmed"
expect 403 "${B[@]}" -X POST -d '{"reason":"x"}' "$API/runs/$RUN/steps/link/skip"
expect 200 "${L[@]}" -X POST -d '{"reason":"link checked by phone"}' "$API/runs/$RUN/steps/link/skip"
ws_wait_for 10 run_is "$RUN" done || it_fail "run not done"
expect 200 "${A[@]}" "$API/runs/$RUN"
python3 - "$IT/body" <<'PY' || it_fail "GET /runs/$RUN: $(cat "$IT/body")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["state"] == "done" and r["report"], r
s = {x["name"]: x for x in r["steps"]}
assert s["quote"]["executed_by"] == "alice" and s["quote"]["confirmed_by"] == "bob", s
assert s["db"]["value"] >= 1 and s["link"]["state"] == "skipped", s
PY
ws_wait_for 10 test "$(ws_psql "select count(*) from watchstand.shift_log where kind = 'report' and text like '%sod%'")" -ge 1 ||
  it_fail "no report in the shift log"
it_ok "startup in order: two-person confirmed by another, self-confirm 409, skip by a lead, report"

# Re-execute the failed step now that it holds; a lead skips the rest.
expect 200 "${A[@]}" -X POST "$API/runs/$MISC/steps/late/execute"
ws_wait_for 10 step_is "$MISC" late done || it_fail "late re-executed: $(step_state "$MISC" late)"
expect 200 "${L[@]}" -X POST -d '{"reason":"no such action"}' "$API/runs/$MISC/steps/refused/skip"
expect 200 "${L[@]}" -X POST -d '{"reason":"hangs"}' "$API/runs/$MISC/steps/hang/skip"
ws_wait_for 10 run_is "$MISC" done || it_fail "misc not done"
it_ok "a failed step executed again is done"

# A change window: baseline, its host out of service while open, a
# post-check against the baseline, back in service at the end.
expect 201 "${A[@]}" -X POST "$API/checklists/chg/runs"
CHG=$(field "['id']")
oos() { [ "$(ws_psql "select count(*) from watchstand.hosts_out_of_service where host = 'host-db'")" = "$1" ]; }
ws_wait_for 10 oos 1 || it_fail "host-db not out of service during the change"
ws_psql "select value from watchstand.checklist_baselines where run_id = $CHG" | grep -q 1 || it_fail "no baseline"
expect 200 "${A[@]}" -X POST "$API/runs/$CHG/steps/inst/execute"
ws_wait_for 10 step_is "$CHG" inst awaiting-confirmation || it_fail "inst: $(step_state "$CHG" inst)"
expect 200 "${B[@]}" -X POST "$API/runs/$CHG/steps/inst/confirm"
expect 200 "${A[@]}" -X POST "$API/runs/$CHG/steps/post/execute"
ws_wait_for 10 run_is "$CHG" done || it_fail "change: post $(step_state "$CHG" post)"
ws_wait_for 10 oos 0 || it_fail "host-db not back in service after the change"
ws_psql "select report from watchstand.checklist_runs where id = $CHG" | grep -q "before: 1" ||
  it_fail "the change's report does not show the baseline: $(ws_psql "select report from watchstand.checklist_runs where id = $CHG")"
it_ok "a change run: baseline, out of service while open, vs_baseline, back in service"

# The order watch: no violation when the predecessor's agent restarts.
kill -9 "$DB_AGENT"
wait "$DB_AGENT" 2>/dev/null || true
before=$(it_count host-db db.count)
it_start_agent host-db
DB_AGENT=$IT_AGENT_PID
more() { [ "$(it_count host-db db.count)" -gt $((before + 2)) ]; }
ws_wait_for 20 more || it_fail "host-db did not come back"
violations() { ws_psql "select count(*) from watchstand.alarms where rule = 'order-violation' and state <> 'closed' and cleared_at is null"; }
[ "$(violations)" = 0 ] || it_fail "an agent restart raised an order violation"
it_ok "no order violation when the predecessor's agent restarts"

# The reverse shutdown.
expect 201 "${A[@]}" -X POST "$API/checklists/eod/runs"
EOD=$(field "['id']")
expect 409 "${A[@]}" -X POST "$API/runs/$EOD/steps/db/execute"
expect 200 "${A[@]}" -X POST "$API/runs/$EOD/steps/quote/execute"
ws_wait_for 15 step_is "$EOD" quote awaiting-confirmation || it_fail "eod quote: $(step_state "$EOD" quote)"
expect 200 "${B[@]}" -X POST "$API/runs/$EOD/steps/quote/confirm"
expect 200 "${A[@]}" -X POST "$API/runs/$EOD/steps/db/execute"
ws_wait_for 15 run_is "$EOD" done || it_fail "eod: db $(step_state "$EOD" db)"
it_ok "the shutdown runs in reverse"

# Out of order: quote starts while db is down, then stops.
"$W/start.sh" "$Q"
raised() { [ "$(violations)" -ge 1 ]; }
ws_wait_for 15 raised || it_fail "no order violation"
ws_psql "select host from watchstand.alarms where rule = 'order-violation'" | grep -q host-q || it_fail "not on host-q"
pkill -x "$Q"
cleared() { [ "$(violations)" = 0 ]; }
ws_wait_for 15 cleared || it_fail "the order violation did not clear"
it_ok "the order watch raises and clears"

# A drill: the action without drill: true does not run; DRILL in the log.
expect 201 "${A[@]}" -X POST -d '{"drill": true}' "$API/checklists/sod/runs"
DR=$(field "['id']")
expect 200 "${A[@]}" -X POST "$API/runs/$DR/steps/db/execute"
drilled() { ws_psql "select result from watchstand.checklist_steps where run_id = $DR and step = 'db'" | grep -q DRILL; }
ws_wait_for 10 drilled || it_fail "drill result: $(ws_psql "select state, result from watchstand.checklist_steps where run_id = $DR")"
[ -z "$(pgrep -x "$DB" || true)" ] || it_fail "a drill ran start-db"
ws_psql "select text from watchstand.shift_log where kind = 'checklist' and text like 'DRILL run $DR %'" | grep -q . ||
  it_fail "the drill is not marked DRILL in the shift log"
it_ok "a drill runs no action that is not drill: true, and says DRILL"

# A reload while the drill is open: its run still answers.
kill -HUP "$IT_COLLECTOR_PID"
reloaded() { ws_psql "select count(*) from watchstand.shift_log where text like 'config reloaded%'" | grep -qv '^0$'; }
ws_wait_for 10 reloaded || it_fail "no reload"
expect 409 "${A[@]}" -X POST "$API/runs/$DR/steps/quote/execute"
it_ok "a run open across a reload still answers"

# A result that arrives after a collector restart is matched by its
# request id and recorded.
expect 201 "${A[@]}" -X POST "$API/checklists/slow/runs"
SLOW=$(field "['id']")
expect 200 "${A[@]}" -X POST "$API/runs/$SLOW/steps/wait/execute"
sent() { [ -n "$(ws_psql "select request_id from watchstand.checklist_steps where run_id = $SLOW")" ]; }
ws_wait_for 10 sent || it_fail "no request id stored"
it_stop_collector
it_start_collector
late() { [ -n "$(ws_psql "select result from watchstand.checklist_steps where run_id = $SLOW")" ]; }
ws_wait_for 30 late || it_fail "the late result was not recorded"
ws_psql "select text from watchstand.shift_log where text like '%after a restart%'" | grep -q "run $SLOW" ||
  it_fail "the late result is not in the shift log"
run_is "$SLOW" failed || it_fail "the run open at the restart was not closed"
expect 201 "${A[@]}" -X POST "$API/checklists/slow/runs"
it_ok "an action result after a collector restart is recorded by request id; the run open then is closed"

# The scheduled check opens when pre-open begins.
chk() { [ -n "$(ws_psql "select id from watchstand.v_checklist_runs where checklist = 'chk'")" ]; }
ws_wait_for 90 chk || it_fail "no check run at $FROM"
CHK=$(ws_psql "select id from watchstand.v_checklist_runs where checklist = 'chk'")
ws_wait_for 30 step_is "$CHK" db-up done || it_fail "db-up: $(step_state "$CHK" db-up)"
it_ok "the scheduled check opened when its phase began"
