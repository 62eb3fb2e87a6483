# The watchstand CLI against a live collector: login (password on stdin),
# status, alarms as a table and as JSON, ack with a comment, the log.
. "$(dirname "$0")/lib.sh"

it_setup host-a
cat >>"$IT/collector.yaml" <<'YAML'
rules:
  - name: decoy-down
    match: {series: decoy.count}
    levels: [{when: "< 1", severity: major}]
YAML
echo "carol-password" | "$WS_BUILD/watchstand-collector" -c "$IT/collector.yaml" useradd carol --role watchstander >/dev/null
# A comm no process has (unique to this run), so the decoy is always down.
it_agent_config host-a "  - {name: decoy, type: process, interval: 1s, match: {comm: wsnone$$}}"
it_start_collector
it_start_agent host-a
raised() { [ -n "$(ws_psql "select id from watchstand.alarms where rule = 'decoy-down'")" ]; }
ws_wait_for 20 raised || it_fail "no alarm"
ID=$(ws_psql "select id from watchstand.alarms where rule = 'decoy-down'")

export HOME="$IT/home" WATCHSTAND_URL="http://127.0.0.1:$IT_HTTP"
W="$WS_BUILD/watchstand"
echo "carol-password" | "$W" login carol | grep -q "logged in as carol (watchstander)" || it_fail "login"
[ "$(stat -c %a "$HOME/.config/watchstand/cli.yaml")" = 600 ] || it_fail "token file not private"
"$W" status | tee "$IT/status.txt"
grep -q "active-unacknowledged *1" "$IT/status.txt" || it_fail "status"
"$W" alarms | tee "$IT/alarms.txt"
grep -qE "^$ID +major +active-unacknowledged +host-a +decoy-down +decoy.count" "$IT/alarms.txt" || it_fail "alarms table"
"$W" --json alarms | python3 -c "import json,sys; a=json.load(sys.stdin); assert a[0]['rule']=='decoy-down', a" || it_fail "alarms --json"
"$W" ack "$ID" -m "looking at it" | grep -q "now active-acknowledged" || it_fail "ack"
set +e
"$W" ack "$ID" 2>"$IT/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "409" "$IT/err" || it_fail "a second ack did not fail with 409"
"$W" shelve "$ID" --for 30m 2>/dev/null && it_fail "shelve without a reason accepted"
"$W" shelve "$ID" --for 30m --reason "vendor on it" | grep -q "now shelved until" || it_fail "cli shelve"
"$W" unshelve "$ID" | grep -q "now active-acknowledged" || it_fail "cli unshelve"
"$W" log "handover: decoy-down acknowledged, vendor ticket 42" | grep -q "logged" || it_fail "log note"
"$W" tail >"$IT/tail.txt" 2>&1 & TAIL=$!; IT_PIDS+=($TAIL)
following() { grep -q "^watchstand: following the shift log" "$IT/tail.txt"; }
ws_wait_for 20 following || it_fail "tail did not start: $(cat "$IT/tail.txt")"
"$W" log "tail check: desk quiet" >/dev/null

tailed() { grep -q "note   carol        tail check: desk quiet" "$IT/tail.txt"; }
ws_wait_for 5 tailed || it_fail "tail did not show the note: $(cat "$IT/tail.txt")"
"$W" log --since 1h | tee "$IT/log.txt" | tail -3
grep -q "note   carol        handover: decoy-down acknowledged" "$IT/log.txt" || it_fail "note not in the log"
grep -q "carol        ACK decoy-down on host-a" "$IT/log.txt" || it_fail "ack not in the log"
out=$(WATCHSTAND_TOKEN=bogus "$W" status 2>&1 || true)
echo "$out" | grep -q "401" || it_fail "a bad token did not give 401: $out"
# help and a bad command print the command table's usage lines.
"$W" help >"$IT/help.txt" || it_fail "help failed"
for cmd in login logout status alarms ack shelve unshelve log tail checklists run runs steps exec confirm skip; do
  grep -qE "^  $cmd( |\$)" "$IT/help.txt" || it_fail "help does not list $cmd: $(cat "$IT/help.txt")"
done
set +e
"$W" frobnicate >/dev/null 2>"$IT/err"; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "unknown command 'frobnicate'" "$IT/err" && grep -q "^  ack ID \[-m TEXT\]" "$IT/err" || it_fail "a bad command: rc $rc, $(cat "$IT/err")"
set +e
"$W" ack >/dev/null 2>"$IT/err"; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "usage: watchstand ack ID" "$IT/err" || it_fail "ack without an id: rc $rc, $(cat "$IT/err")"
# logout ends the session on the server, not just in the file.
TOKEN=$(sed -n 's/^token: "\(.*\)"$/\1/p' "$HOME/.config/watchstand/cli.yaml")
[ -n "$TOKEN" ] || it_fail "no token in the file"
"$W" logout | grep -q "logged out (carol)" || it_fail "logout"
grep -q "^token:" "$HOME/.config/watchstand/cli.yaml" && it_fail "logout left the token in the file"
grep -q "^url: \"$WATCHSTAND_URL\"" "$HOME/.config/watchstand/cli.yaml" || it_fail "logout lost the url"
out=$(WATCHSTAND_TOKEN=$TOKEN "$W" status 2>&1 || true)
echo "$out" | grep -q "401" || it_fail "the token still works after logout: $out"
"$W" logout 2>/dev/null && it_fail "a second logout succeeded"
it_ok "watchstand CLI: login, status, alarms (table, JSON), ack, shelve, unshelve, log, help, logout"
