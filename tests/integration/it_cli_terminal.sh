# The CLI as a watchstander uses it through a day: times in the calendar's
# timezone (Asia/Shanghai, not UTC) with the offset; values as measured;
# clear errors (an id that is no number, a state that is none, a 409 that
# names the state); oos/ins; --help and --version of all three binaries;
# `tail` showing every entry of the log, worded as `log` words it, an ack
# through the phone link included, across a restart of the collector.
. "$(dirname "$0")/lib.sh"

it_setup host-a
cat >>"$IT/collector.yaml" <<'YAML'
calendar:
  timezone: Asia/Shanghai
rules:
  - name: decoy-down
    match: {series: decoy.count}
    levels: [{when: "< 1", severity: major}]
  - name: spare-down
    match: {series: spare.count}
    levels: [{when: "< 1", severity: minor}]
YAML
echo "carol-password" | "$WS_BUILD/watchstand-collector" -c "$IT/collector.yaml" useradd carol --role watchstander >/dev/null
# Comms no process has (unique to this run): both alarms are always raised.
it_agent_config host-a "  - {name: decoy, type: process, interval: 1s, match: {comm: wsnone$$}}
  - {name: spare, type: process, interval: 1s, match: {comm: wsspare$$}}"
export HOME="$IT/home" WATCHSTAND_URL="http://127.0.0.1:$IT_HTTP"
W="$WS_BUILD/watchstand"
API="http://127.0.0.1:$IT_HTTP/api/v1"

# --help and --version: stdout, exit 0, the one version of the tree.
VERSION=$(sed -n 's/^#define WATCHSTAND_VERSION "\(.*\)"$/\1/p' "$WS_ROOT/include/watchstand/version.h")
[ -n "$VERSION" ] || it_fail "no version in include/watchstand/version.h"
for b in watchstand watchstand-collector watchstand-agent; do
  out=$("$WS_BUILD/$b" --version) || it_fail "$b --version failed"
  [ "$out" = "$b $VERSION" ] || it_fail "$b --version: $out"
  "$WS_BUILD/$b" --help >"$IT/help.txt" || it_fail "$b --help failed"
  grep -q "^usage: $b " "$IT/help.txt" && grep -q -- "--version" "$IT/help.txt" ||
    it_fail "$b --help: $(cat "$IT/help.txt")"
done
grep -q "^  migrate " <("$WS_BUILD/watchstand-collector" --help) || it_fail "collector --help lists no commands"
"$W" ack --help | grep -q "^usage: watchstand ack ID \[-m TEXT\]" || it_fail "watchstand ack --help"
for cmd in oos ins; do
  grep -qE "^  $cmd " <("$W" help) || it_fail "help does not list $cmd"
done
it_ok "--help and --version for watchstand, watchstand-collector, watchstand-agent"

it_start_collector
echo "carol-password" | "$W" login carol >/dev/null || it_fail "login"
TOKEN=$(sed -n 's/^token: "\(.*\)"$/\1/p' "$HOME/.config/watchstand/cli.yaml")
curl -sf -H "Authorization: Bearer $TOKEN" "$API/status" |
  python3 -c 'import json,sys; s=json.load(sys.stdin); assert s["timezone"] == "Asia/Shanghai", s' ||
  it_fail "GET /status does not name the calendar's timezone"
"$W" status | grep -q "timezone: Asia/Shanghai" || it_fail "status does not say the timezone"
# No alarm yet (no agent): the words, and no table header over them.
"$W" alarms >"$IT/alarms.txt"
[ "$(cat "$IT/alarms.txt")" = "no open alarms" ] || it_fail "alarms with none open: $(cat "$IT/alarms.txt")"

# tail from here on; it says when it follows.
"$W" tail >"$IT/tail.out" 2>"$IT/tail.err" &
TAIL=$!
IT_PIDS+=($TAIL)
following() { grep -q "^watchstand: following the shift log at $WATCHSTAND_URL" "$IT/tail.err"; }
ws_wait_for 20 following || it_fail "tail did not start following: $(cat "$IT/tail.err")"
# The raw stream too: its entries against GET /log's, field by field.
curl -sN -H "Authorization: Bearer $TOKEN" "$API/events" >"$IT/sse.txt" &
IT_PIDS+=($!)
opened() { grep -q "^: watchstand events" "$IT/sse.txt"; }
ws_wait_for 20 opened || it_fail "the event stream did not open"

it_start_agent host-a
raised() { [ "$(ws_psql "select count(*) from watchstand.alarms where rule in ('decoy-down', 'spare-down')")" = 2 ]; }
ws_wait_for 20 raised || it_fail "no alarms"
ID=$(ws_psql "select id from watchstand.alarms where rule = 'decoy-down'")
ID2=$(ws_psql "select id from watchstand.alarms where rule = 'spare-down'")

# Times: what the database has, in Asia/Shanghai, with +08:00.
RAISED=$(ws_psql "select to_char(raised_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS') from watchstand.alarms where id = $ID")
"$W" alarms >"$IT/alarms.txt"
grep -qE "^$ID +major +active-unacknowledged +host-a +decoy-down +decoy.count +0  $RAISED \+08:00\$" "$IT/alarms.txt" ||
  it_fail "alarms: not raised at $RAISED +08:00: $(cat "$IT/alarms.txt")"
# A value as the probe measured it, not as arithmetic left it.
ws_psql "update watchstand.alarms set value = 51.039999999999964 where id = $ID2" >/dev/null
"$W" alarms >"$IT/alarms.txt"
grep -qE "^$ID2 .* spare.count +51.04  " "$IT/alarms.txt" || it_fail "value not 51.04: $(cat "$IT/alarms.txt")"
grep -q "51.0399" "$IT/alarms.txt" && it_fail "value printed with arithmetic noise: $(cat "$IT/alarms.txt")"
it_ok "times in Asia/Shanghai with +08:00, values as measured, no header over no alarms"

# Errors a watchstander makes, named.
set +e
"$W" ack abc >/dev/null 2>"$IT/err"; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "ack: 'abc' is not an alarm id" "$IT/err" || it_fail "ack abc: rc $rc, $(cat "$IT/err")"
set +e
"$W" alarms --state bogus >"$IT/out" 2>"$IT/err"; rc=$?
set -e
[ $rc -eq 1 ] && [ ! -s "$IT/out" ] || it_fail "alarms --state bogus: rc $rc, $(cat "$IT/out")"
grep -q "'bogus' is not a state" "$IT/err" || it_fail "alarms --state bogus: $(cat "$IT/err")"
for s in active-unacknowledged active-acknowledged cleared-unacknowledged suppressed shelved out-of-service closed; do
  grep -q "$s" "$IT/err" || it_fail "alarms --state bogus does not list $s: $(cat "$IT/err")"
done
"$W" alarms --state shelved >"$IT/out"
[ "$(cat "$IT/out")" = "no alarms shelved" ] || it_fail "alarms --state shelved: $(cat "$IT/out")"
"$W" ack "$ID" -m "looking at it" | grep -q "now active-acknowledged" || it_fail "ack"
set +e
"$W" ack "$ID" 2>"$IT/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "409 the alarm is active-acknowledged" "$IT/err" || it_fail "a second ack: rc $rc, $(cat "$IT/err")"
"$W" shelve "$ID" --for 30m --reason "vendor on it" >"$IT/out" || it_fail "shelve"
UNTIL=$(ws_psql "select to_char(shelved_until at time zone 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS') from watchstand.alarms where id = $ID")
grep -q "now shelved until $UNTIL +08:00" "$IT/out" || it_fail "shelve: not until $UNTIL +08:00: $(cat "$IT/out")"
set +e
"$W" shelve "$ID" --for 30m --reason again 2>"$IT/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "409 the alarm is shelved" "$IT/err" || it_fail "shelving twice: rc $rc, $(cat "$IT/err")"
"$W" unshelve "$ID" | grep -q "now active-acknowledged" || it_fail "unshelve"
it_ok "ack abc, alarms --state bogus (the states listed), a 409 names the state"

# The phone link's ack (what a page carries), signed with the collector's key.
LINK=$(python3 - "$IT/state/ack.key" "$ID2" "$WATCHSTAND_URL" <<'PY'
import base64, hashlib, hmac, sys, time
key = open(sys.argv[1], "rb").read()
b64 = lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")
payload = "%s.%d.%s" % (sys.argv[2], time.time() + 3600, b64(b"carol"))
mac = b64(hmac.new(key, payload.encode(), hashlib.sha256).digest()[:16])
print("%s/ack/%s.%s" % (sys.argv[3], payload, mac))
PY
)
[ "$(curl -s -o "$IT/page" -w '%{http_code}' -X POST "$LINK")" = 200 ] || it_fail "the phone link: $(cat "$IT/page")"
linked() { grep -q "alarm  carol        ACK spare-down on host-a: spare.count -- via phone link \[alarm $ID2, now active-acknowledged\]" "$IT/tail.out"; }
ws_wait_for 20 linked || it_fail "the phone link's ack is not in tail: $(cat "$IT/tail.out")"
acked() { grep -q "alarm  carol        ACK decoy-down on host-a: decoy.count -- looking at it \[alarm $ID, now active-acknowledged\]" "$IT/tail.out"; }
acked || it_fail "tail lost the ack's rule or comment: $(cat "$IT/tail.out")"
it_ok "an ack through the phone link reaches tail, with the rule and the comment"

# Out of service and back, with the time in the calendar's zone.
"$W" oos host-a --for 2h --reason "kernel patch" >"$IT/out" || it_fail "oos"
OOS=$(ws_psql "select to_char(until at time zone 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS') from watchstand.hosts_out_of_service where host = 'host-a'")
grep -q "^host host-a out of service until $OOS +08:00 (2 alarm(s) held back)" "$IT/out" || it_fail "oos: $(cat "$IT/out")"
set +e
"$W" oos host-a --for 2h 2>"$IT/err"; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "oos HOST --for 4h --reason TEXT" "$IT/err" || it_fail "oos without a reason: rc $rc"
set +e
"$W" oos no-such-host --for 1h --reason x 2>"$IT/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "404 no such host" "$IT/err" || it_fail "oos of an unknown host: rc $rc, $(cat "$IT/err")"
"$W" ins host-a | grep -q "^host host-a back in service" || it_fail "ins"
[ "$(ws_psql "select count(*) from watchstand.hosts_out_of_service")" = 0 ] || it_fail "ins left the host out of service"
it_ok "oos HOST --for --reason, ins HOST"

# The collector restarts under tail: it says so, and reads what it missed.
it_stop_collector
away() { grep -q "^watchstand: collector went away, reconnecting" "$IT/tail.err"; }
ws_wait_for 20 away || it_fail "tail did not say the collector went away: $(cat "$IT/tail.err")"
kill -0 $TAIL 2>/dev/null || it_fail "tail exited when the collector stopped: $(cat "$IT/tail.err")"
ws_psql "insert into watchstand.shift_log (kind, actor, text) values ('note', 'desk', 'written while the collector was away')" >/dev/null
it_start_collector
back() { grep -q "^watchstand: reconnected" "$IT/tail.err"; }
ws_wait_for 30 back || it_fail "tail did not reconnect: $(cat "$IT/tail.err")"
missed() { grep -q "note   desk         written while the collector was away" "$IT/tail.out"; }
ws_wait_for 20 missed || it_fail "tail did not read what it missed: $(cat "$IT/tail.out")"
grep -q "system collector    collector stopping" "$IT/tail.out" || it_fail "tail missed 'collector stopping'"
"$W" log "tail check: desk quiet" >/dev/null
last() { grep -q "note   carol        tail check: desk quiet" "$IT/tail.out"; }
ws_wait_for 20 last || it_fail "tail did not show a note after the restart: $(cat "$IT/tail.out")"
# Its own words on stderr, and nothing of libcurl's.
printf 'watchstand: following the shift log at %s\nwatchstand: collector went away, reconnecting...\nwatchstand: reconnected\n' \
  "$WATCHSTAND_URL" | diff - "$IT/tail.err" || it_fail "tail's messages"
it_ok "tail across a restart: says so, reconnects, reads what it missed"

# Every entry tail printed is the log's, worded the same, none left out:
# tail's lines are one unbroken run of `log`'s lines.
"$W" log --since 1h >"$IT/log.txt"
python3 - "$IT/tail.out" "$IT/log.txt" <<'PY' || it_fail "tail and log disagree"
import sys
tail = open(sys.argv[1]).read().splitlines()
log = open(sys.argv[2]).read().splitlines()
assert tail, "tail printed nothing"
end = max(i for i, l in enumerate(tail) if "tail check: desk quiet" in l) + 1
tail = tail[:end]
start = log.index(tail[0])
assert log[start:start + len(tail)] == tail, "\n".join(
    "%s | %s" % p for p in zip(log[start:], tail))
for l in tail:
    assert l[19:26] == " +08:00", l
PY
# The stream carries each entry with the fields GET /log has.
FIRST=$(sed -n 's/^id: \([0-9]*\)$/\1/p' "$IT/sse.txt" | head -1)
[ -n "$FIRST" ] || it_fail "the stream has no ids: $(head -5 "$IT/sse.txt")"
curl -sf -H "Authorization: Bearer $TOKEN" "$API/log?after=$((FIRST - 1))" >"$IT/after.json" || it_fail "GET /log?after="
[ "$(curl -s -o "$IT/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$API/log?after=abc")" = 400 ] &&
  grep -q '"after=:' "$IT/body" || it_fail "GET /log?after=abc: $(cat "$IT/body")"
python3 - "$IT/sse.txt" "$IT/after.json" <<'PY' || it_fail "the stream's entries differ from GET /log's"
import json, sys
stream = [json.loads(l[6:]) for l in open(sys.argv[1]) if l.startswith("data: ")]
log = {e["id"]: e for e in json.load(open(sys.argv[2]))}
assert stream, "nothing streamed"
for e in stream:
    assert log.get(e["id"]) == e, (e, log.get(e["id"]))
assert any("-- via phone link [alarm" in e["text"] for e in stream), stream
PY
it_ok "tail prints every entry as log words it; the stream's entries are GET /log's"
