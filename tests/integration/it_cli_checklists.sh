# The watchstand CLI's checklist commands against a live collector: a
# procedure with a two-person manual step and a manual step after it. A run
# is opened, the second step refused before the first (409), the first
# executed by carol, her own confirmation refused (409, the server's text
# printed), confirmed by dave, the second executed, and the steps table
# shows both done with who executed and who confirmed.
# Then a drill: a watchstander's skip is refused (403), a lead's with a
# reason is taken.
. "$(dirname "$0")/lib.sh"

it_setup
cat >>"$IT/collector.yaml" <<'YAML'
checklists:
  - name: open-exchange-link
    kind: procedure
    steps:
      - {name: call-exchange, manual: "Call the exchange: is the front end up?", two_person: true}
      - {name: log-in, after: [call-exchange], manual: "Log the front end in"}
YAML
for u in carol dave; do
  echo "$u-password" | "$WS_BUILD/watchstand-collector" -c "$IT/collector.yaml" useradd $u --role watchstander >/dev/null
done
echo "lena-password" | "$WS_BUILD/watchstand-collector" -c "$IT/collector.yaml" useradd lena --role lead >/dev/null
it_start_collector

export WATCHSTAND_URL="http://127.0.0.1:$IT_HTTP"
W="$WS_BUILD/watchstand"
# Each watchstander with a terminal (a HOME) of their own.
as() {
  local who=$1
  shift
  HOME="$IT/home-$who" "$W" "$@"
}
for u in carol dave lena; do
  echo "$u-password" | as $u login $u | grep -q "logged in as $u" || it_fail "login $u"
done

as carol checklists | tee "$IT/checklists.txt"
grep -qE "^open-exchange-link +procedure +2 " "$IT/checklists.txt" || it_fail "checklists table"
as carol --json checklists | python3 -c "
import json, sys
a = json.load(sys.stdin)
a = a if isinstance(a, list) else a['checklists']
assert [c for c in a if c['name'] == 'open-exchange-link'], a" || it_fail "checklists --json"

as carol run open-exchange-link | tee "$IT/run.txt"
RUN=$(awk '/^run [^ ]+ opened: open-exchange-link$/ { print $2 }' "$IT/run.txt")
[ -n "$RUN" ] || it_fail "run did not print the run id: $(cat "$IT/run.txt")"
as carol runs | grep -qE "^$RUN +open-exchange-link +procedure +open " || it_fail "runs does not list run $RUN"

# Out of order: 409 naming the predecessor.
set +e
as carol exec "$RUN" log-in >/dev/null 2>"$IT/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "409 predecessors not done: call-exchange" "$IT/err" || it_fail "exec out of order: rc $rc, $(cat "$IT/err")"

as carol exec "$RUN" call-exchange | grep -q "run $RUN step call-exchange executed" || it_fail "exec call-exchange"
awaiting() { as carol steps "$RUN" | grep -qE "^call-exchange +- +awaiting-confirmation +carol "; }
ws_wait_for 10 awaiting || it_fail "call-exchange not awaiting confirmation: $(as carol steps "$RUN")"

# Two-person: carol executed it, so carol cannot confirm it.
set +e
as carol confirm "$RUN" call-exchange >/dev/null 2>"$IT/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "409 the person who executed a step cannot confirm it" "$IT/err" || it_fail "self-confirm: rc $rc, $(cat "$IT/err")"

as dave confirm "$RUN" call-exchange | grep -q "run $RUN step call-exchange confirmed" || it_fail "confirm by dave"
as carol exec "$RUN" log-in | grep -q "run $RUN step log-in executed" || it_fail "exec log-in"
finished() { as carol steps "$RUN" >"$IT/steps.txt" && grep -qE "^run $RUN: open-exchange-link \(procedure\) done$" "$IT/steps.txt"; }
ws_wait_for 10 finished || it_fail "the run is not done: $(cat "$IT/steps.txt")"
cat "$IT/steps.txt"
grep -qE "^STEP +HOST +STATE +EXECUTED BY +CONFIRMED BY +VALUE +ERROR$" "$IT/steps.txt" || it_fail "steps header"
grep -qE "^call-exchange +- +done +carol +dave " "$IT/steps.txt" || it_fail "call-exchange not done by carol and dave"
grep -qE "^log-in +- +done +carol +- " "$IT/steps.txt" || it_fail "log-in not done by carol"
as carol --json steps "$RUN" | python3 -c "
import json, sys
r = json.load(sys.stdin)
s = {x['name']: x for x in r['steps']}
assert r['state'] == 'done' and s['call-exchange']['confirmed_by'] == 'dave', r" || it_fail "steps --json"

# A done run refuses more, with the server's reason; skip wants a reason first.
set +e
as carol exec "$RUN" log-in >/dev/null 2>"$IT/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q ": 409 " "$IT/err" || it_fail "exec on a done run: rc $rc, $(cat "$IT/err")"
set +e
as carol skip "$RUN" log-in >/dev/null 2>"$IT/err"; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "reason" "$IT/err" || it_fail "skip without a reason: rc $rc"
it_ok "watchstand CLI checklists: checklists, run, runs, exec (409 out of order), confirm (409 self, then a second person), steps"

# A drill, marked as such; skipping needs a lead and a reason.
as carol run open-exchange-link --drill | tee "$IT/drill.txt"
DRILL=$(awk '/^run [^ ]+ opened: open-exchange-link/ { print $2 }' "$IT/drill.txt")
grep -q "DRILL" "$IT/drill.txt" || it_fail "a drill run is not marked DRILL: $(cat "$IT/drill.txt")"
as carol steps "$DRILL" | grep -q "DRILL" || it_fail "steps does not mark the drill"
set +e
as carol skip "$DRILL" call-exchange --reason "rehearsal" >/dev/null 2>"$IT/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "403" "$IT/err" || it_fail "skip by a watchstander: rc $rc, $(cat "$IT/err")"
as lena skip "$DRILL" call-exchange --reason "rehearsal: no call" >/dev/null || it_fail "skip by a lead"
skipped() { as carol steps "$DRILL" | grep -qE "^call-exchange +- +skipped "; }
ws_wait_for 10 skipped || it_fail "the step is not skipped: $(as carol steps "$DRILL")"
it_ok "a drill marked DRILL; skip refused to a watchstander (403), taken from a lead"
