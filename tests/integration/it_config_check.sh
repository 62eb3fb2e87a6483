# --check / check-config print every error, exit non-zero, start nothing.
. "$(dirname "$0")/lib.sh"

cd "$WS_ROOT/tests/fixtures/config"
for f in agent-bad-units agent-bad-keys agent-syntax; do
  set +e
  out=$("$WS_BUILD/watchstand-agent" --check -c $f.yaml 2>&1)
  rc=$?
  set -e
  [ $rc -eq 1 ] || it_fail "$f: exit $rc"
  diff <(echo "$out") $f.expected || it_fail "$f: messages differ"
done
set +e
out=$("$WS_BUILD/watchstand-collector" -c collector-bad.yaml check-config 2>&1)
rc=$?
set -e
[ $rc -eq 1 ] || it_fail "collector-bad: exit $rc"
diff <(echo "$out") collector-bad.expected || it_fail "collector-bad: messages differ"
set +e
out=$("$WS_BUILD/watchstand-collector" -c collector-checklists-bad.yaml check-config 2>&1)
rc=$?
set -e
[ $rc -eq 1 ] || it_fail "collector-checklists-bad: exit $rc"
diff <(echo "$out") collector-checklists-bad.expected ||
  it_fail "collector-checklists-bad: messages differ"
set +e
out=$("$WS_BUILD/watchstand-agent" --check -c agent-good.yaml 2>"$IT/good.err")
rc=$?
set -e
[ $rc -eq 0 ] || it_fail "agent-good: exit $rc: $(cat "$IT/good.err")"
[ "$out" = "agent-good.yaml: configuration OK (3 probes, 1 actions)" ] ||
  it_fail "agent-good: printed '$out'"
[ ! -s "$IT/good.err" ] || it_fail "agent-good: stderr: $(cat "$IT/good.err")"
it_ok "config checks print every error with file:line:column"

# The calendar command: sessions, midnight, holidays, skip before holiday.
# Each call exits 0 with nothing on stderr (a sanitizer report would be there).
cal() {
  local out rc
  set +e
  out=$("$WS_BUILD/watchstand-collector" -c collector-calendar.yaml calendar --at "$1" 2>"$IT/cal.err")
  rc=$?
  set -e
  [ $rc -eq 0 ] && [ ! -s "$IT/cal.err" ] ||
    it_fail "calendar --at '$1': exit $rc: $(cat "$IT/cal.err")"
  echo "$out" | cut -f1
}
[ "$(cal '2026-05-26 08:45')" = pre-open ] || it_fail "pre-open"
[ "$(cal '2026-09-29 21:30')" = trading ] || it_fail "Tuesday night session"
[ "$(cal '2026-09-30 01:00')" = trading ] || it_fail "session across midnight"
[ "$(cal '2026-09-30 21:30')" = closed ] || it_fail "night before a Thursday holiday"
[ "$(cal '2026-05-29 21:30')" = closed ] || it_fail "Friday night before a Monday holiday"
[ "$(cal '2026-10-01 10:00')" = closed ] || it_fail "holiday"
set +e
out=$("$WS_BUILD/watchstand-collector" -c collector-calendar.yaml calendar --at "tomorrow" 2>&1)
rc=$?
set -e
[ $rc -eq 2 ] || it_fail "a malformed --at exits $rc: $out"
[ "$out" = "calendar: --at expects \"YYYY-MM-DD HH:MM\", got 'tomorrow'" ] ||
  it_fail "a malformed --at printed '$out'"
it_ok "calendar --at prints the phase"
