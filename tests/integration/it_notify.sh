# Notifications against real receivers: a loopback HTTP receiver (200,
# 500-then-200, 400, hangs, DingTalk and Feishu signature checks) and an SMTP
# server (aiosmtpd, STARTTLS). Escalation while unacknowledged and not after
# an ack; the ack link (valid, tampered, expired, reused); retries recorded
# and delivered once; grouping and the rate limit; a restart with a retry
# pending; clear notices; notify-test for every channel type.
. "$(dirname "$0")/lib.sh"

it_setup host-n
C="$WS_BUILD/watchstand-collector"
PY=/usr/bin/python3 # Debian's, which has aiosmtpd
RX_PORT=$(ws_free_port)
SMTP_PORT=$(ws_free_port)
SECRET=robot-secret-1
$PY "$WS_ROOT/tests/integration/receiver.py" "$RX_PORT" "$IT/rx.jsonl" --secret "$SECRET" 2>>"$IT/receiver.log" &
IT_PIDS+=($!)
mkdir -p "$IT/mail/tmp" "$IT/mail/new" "$IT/mail/cur"
$PY -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Mailbox "$IT/mail" \
  --tlscert "$IT/tls/collector.pem" --tlskey "$IT/tls/collector.key" 2>>"$IT/smtp.log" &
IT_PIDS+=($!)
RX="http://127.0.0.1:$RX_PORT"

for u in "alice watchstander +8613800000001 alice@example.test" \
  "bob lead +8613800000002 bob@example.test" "carol watchstander '' ''"; do
  set -- $u
  echo "$1-password" | $C -c "$IT/collector.yaml" useradd "$1" --role "$2" \
    ${3:+--phone "$3"} ${4:+--email "$4"} >/dev/null
done
ws_psql "update watchstand.users set phone = null, email = null where login = 'carol'" >/dev/null

rule() { echo "  - {name: $1, match: {series: \"$2\"}, levels: [{when: \"> 0\", severity: $3}]}"; }
{
  echo "  public_url: http://127.0.0.1:$IT_HTTP/"
  cat <<'YAML'
calendar:
  timezone: UTC
  phases: [{name: trading, days: daily, from: "00:00", to: "24:00"}]
  default: closed
rules:
YAML
  rule esc lvl.esc critical
  rule acked lvl.acked critical
  rule flaky lvl.flaky major
  rule bad lvl.bad major
  rule hang lvl.hang major
  rule quiet lvl.quiet warning
  rule restart lvl.restart major
  rule rep lvl.rep critical
  rule shelf lvl.shelf critical
  rule flood "flood.[a-h]" minor
  cat <<YAML
notify:
  secret_file: notify.secret
  retry: {first: 3s, max: 4s, deadline: 15s}
  channels:
    - {name: hook, type: webhook, url: "$RX/ok/hook", group_wait: 0s}
    - name: lead-hook
      type: webhook
      url: "$RX/ok/lead"
      body: '{"who": "{{recipient}}", "text": "{{summary}}", "ack": "{{ack_url}}", "n": {{count}}}'
    - name: sms
      type: sms
      url: "$RX/ok/sms"
      headers: {Content-Type: application/x-www-form-urlencoded}
      body: "to={{phone}}&msg={{text}}"
      max_length: 160
    - {name: flaky, type: webhook, url: "$RX/fail2/flaky"}
    - {name: restart, type: webhook, url: "$RX/fail2/restart"}
    - {name: bad, type: webhook, url: "$RX/bad/x"}
    - {name: hang, type: webhook, url: "$RX/hang/x", timeout: 1s}
    - {name: grp, type: webhook, url: "$RX/ok/grp", group_wait: 5s, rate_limit: {count: 2, per: 25s}}
    - {name: mail, type: smtp, url: "smtp://localhost:$SMTP_PORT", starttls: true, ca: tls/ca.pem, from: "watchstand@example.test"}
    - {name: ding, type: dingtalk, url: "$RX/dingtalk/robot?access_token=t", secret: $SECRET}
    - {name: ding-wrong, type: dingtalk, url: "$RX/dingtalk/robot?access_token=t", secret: not-the-secret}
    - {name: feishu, type: feishu, url: "$RX/feishu/hook", secret: $SECRET}
    - {name: wecom, type: wecom, url: "$RX/ok/wecom"}
    - {name: slack, type: slack, url: "$RX/ok/slack"}
  routes:
    - name: esc
      match: {rule: esc}
      send_clear: true
      escalation:
        - {after: 0s, channels: [sms, mail], to: [alice]}
        - {after: 4s, channels: [lead-hook], to: ["role:lead"], unacked: true}
    - name: acked
      match: {rule: acked}
      escalation:
        - {after: 0s, channels: [hook], to: [alice]}
        - {after: 4s, channels: [lead-hook], to: [bob]}
    - {name: flaky, match: {rule: flaky}, escalation: [{channels: [flaky]}]}
    - {name: restart, match: {rule: restart}, escalation: [{channels: [restart]}]}
    - {name: rep, match: {rule: rep}, repeat: 3s, escalation: [{channels: [hook], to: [alice]}]}
    - name: shelf
      match: {rule: shelf}
      escalation:
        - {after: 0s, channels: [hook], to: [alice]}
        - {after: 4s, channels: [lead-hook], to: [bob]}
    - {name: bad, match: {rule: bad}, escalation: [{channels: [bad]}]}
    - {name: hang, match: {rule: hang}, escalation: [{channels: [hang]}]}
    - {name: flood, match: {rule: flood}, escalation: [{channels: [grp]}]}
    - {name: major-up, match: {severity: ">= major", phase: [trading]}, escalation: [{channels: [hook]}]}
YAML
} >>"$IT/collector.yaml"
$C -c "$IT/collector.yaml" check-config >/dev/null || it_fail "config refused"

for f in esc acked flaky bad hang quiet restart rep shelf; do echo 0 >"$IT/v-$f"; done
for f in a b c d e f g h; do echo 0 >"$IT/f-$f"; done
cat >"$IT/check_level" <<EOF
#!/bin/sh
echo "OK | esc=\$(cat $IT/v-esc) acked=\$(cat $IT/v-acked) flaky=\$(cat $IT/v-flaky) bad=\$(cat $IT/v-bad) hang=\$(cat $IT/v-hang) quiet=\$(cat $IT/v-quiet) restart=\$(cat $IT/v-restart) rep=\$(cat $IT/v-rep) shelf=\$(cat $IT/v-shelf)"
EOF
cat >"$IT/check_flood" <<EOF
#!/bin/sh
echo "OK | a=\$(cat $IT/f-a) b=\$(cat $IT/f-b) c=\$(cat $IT/f-c) d=\$(cat $IT/f-d) e=\$(cat $IT/f-e) f=\$(cat $IT/f-f) g=\$(cat $IT/f-g) h=\$(cat $IT/f-h)"
EOF
chmod +x "$IT/check_level" "$IT/check_flood"
it_agent_config host-n "  - {name: lvl, type: exec, interval: 500ms, command: ['$IT/check_level']}
  - {name: flood, type: exec, interval: 500ms, command: ['$IT/check_flood']}"
it_start_collector
it_start_agent host-n
ws_wait_for 20 it_latest_is host-n flood.h 0 || it_fail "no samples"
[ "$(stat -c %a "$IT/notify.secret")" = 600 ] || it_fail "the link key was not created 0600"

# rx PATH [PYTHON-EXPR]: requests the receiver logged whose path starts with
# PATH, as JSON lines (optionally filtered by EXPR over r, b = parsed body).
rx() {
  python3 - "$IT/rx.jsonl" "$1" "${2:-True}" <<'PY'
import json, sys
log, prefix, expr = sys.argv[1:4]
try:
    lines = open(log).read().splitlines()
except FileNotFoundError:
    lines = []
def alarms(b):  # the pages a message carried (a message may group several)
    return b.get("alarms", []) if isinstance(b, dict) else []
def has(b, rule, kind=None):
    return any(a["rule"] == rule and kind in (None, a["kind"]) for a in alarms(b))
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
alarm_id() { ws_psql "select id from watchstand.alarms where rule = '$1' order by id desc limit 1"; }
notes() { ws_psql "select attempt || ' ' || status from watchstand.v_notifications where alarm_id = $1 order by attempt"; }

for f in esc acked flaky bad hang quiet rep shelf; do echo 1 >"$IT/v-$f"; done

# An acknowledgement within the first step stops the second.
ws_wait_for 15 rx_has /ok/hook "has(b, 'acked')" || it_fail "no page for 'acked'"
ACKED=$(alarm_id acked)
TOKEN=$(curl -sf -X POST -d '{"login":"alice","password":"alice-password"}' "http://127.0.0.1:$IT_HTTP/api/v1/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
curl -sf -X POST -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$IT_HTTP/api/v1/alarms/$ACKED/ack" >/dev/null ||
  it_fail "ack refused"
# Shelving before the second step stops it (unshelving re-arms it, below).
ws_wait_for 15 rx_has /ok/hook "has(b, 'shelf')" || it_fail "no page for 'shelf'"
SHELF=$(alarm_id shelf)
curl -sf -X POST -H "Authorization: Bearer $TOKEN" -d '{"minutes": 30, "reason": "known, vendor on it"}' \
  "http://127.0.0.1:$IT_HTTP/api/v1/alarms/$SHELF/shelve" >/dev/null || it_fail "shelve refused"
hook=$(rx /ok/hook "has(b, 'acked')" | head -1)
for k in severity host role series value phase state summary ack_url alarm_id time alarms; do
  echo "$hook" | python3 -c "import json,sys; b=json.loads(json.load(sys.stdin)['body']); sys.exit(0 if '$k' in b else 1)" ||
    it_fail "the default webhook body has no '$k'"
done

# Escalation: alice by SMS and mail at once, the lead after 4 s unacknowledged.
ws_wait_for 15 rx_has /ok/sms "r['query'] == {} and 'esc' in r['body']" || it_fail "no SMS for 'esc'"
sms=$(rx /ok/sms "'esc' in r['body']" | head -1)
echo "$sms" | python3 -c '
import json, sys, urllib.parse
r = json.load(sys.stdin)
assert r["headers"]["content-type"] == "application/x-www-form-urlencoded", r["headers"]
f = urllib.parse.parse_qs(r["body"])
assert f["to"] == ["+8613800000001"], f
msg = f["msg"][0]
assert len(msg) <= 160, len(msg)
assert "/ack/" in msg and msg.startswith("CRITICAL esc on host-n"), msg
' || it_fail "SMS body not form-encoded, too long, or without its link: $sms"
ws_wait_for 15 rx_has /ok/lead "b and b['who'] == 'bob' and 'esc on' in b['text']" ||
  it_fail "no escalation to the lead while unacknowledged"
ESC=$(alarm_id esc)
[ "$(ws_psql "select count(*) from watchstand.v_notifications where alarm_id = $ESC and recipient = 'bob' and status = 'sent'")" = 1 ] ||
  it_fail "the escalation is not in v_notifications"
sleep 2 # the acknowledged alarm's second step was due 4 s after its first
[ "$(rx_count /ok/lead "b and 'acked on' in b['text']")" -eq 0 ] || it_fail "escalated an acknowledged alarm"
[ "$(ws_psql "select state from watchstand.notify_steps where alarm_id = $ACKED and step = 1")" = cancelled ] ||
  it_fail "the acknowledged alarm's second step is not cancelled"
it_ok "escalation to the lead while unacknowledged, none after an ack; SMS within 160 characters"

# The ack link: a page first, a POST acknowledges once, as the recipient.
LINK=$(rx /ok/lead "b and 'esc on' in b['text']" | head -1 | python3 -c 'import json,sys; print(json.loads(json.load(sys.stdin)["body"])["ack"])')
case "$LINK" in "http://127.0.0.1:$IT_HTTP/ack/"*) ;; *) it_fail "ack link not under public_url: $LINK" ;; esac
code() { curl -s -o "$IT/page" -w '%{http_code}' "$@"; }
[ "$(code "$LINK")" = 200 ] && grep -q '<form method="post">' "$IT/page" || it_fail "GET on the link: no confirmation page"
[ "$(ws_psql "select state from watchstand.alarms where id = $ESC")" = active-unacknowledged ] ||
  it_fail "opening the link changed the alarm"
TAMPERED=$(echo "$LINK" | python3 -c 'import sys; s=sys.stdin.read().strip(); i=s.rindex("/")+1; print(s[:i] + str(int(s[i:].split(".")[0]) + 1) + s[i + len(s[i:].split(".")[0]):])')
[ "$(code -X POST "$TAMPERED")" = 403 ] || it_fail "a tampered link (other alarm) was not refused"
[ "$(code -X POST "${LINK%?}x")" = 403 ] || it_fail "a tampered signature was not refused"
EXPIRED=$(python3 - "$IT/notify.secret" "$ESC" "http://127.0.0.1:$IT_HTTP" <<'PY'
import base64, hashlib, hmac, sys, time
key = open(sys.argv[1], "rb").read()
b64 = lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")
payload = "%s.%d.%s" % (sys.argv[2], time.time() - 60, b64(b"bob"))
mac = b64(hmac.new(key, payload.encode(), hashlib.sha256).digest()[:16])
print("%s/ack/%s.%s" % (sys.argv[3], payload, mac))
PY
)
[ "$(code -X POST "$EXPIRED")" = 403 ] && grep -q expired "$IT/page" || it_fail "an expired link was not refused"
[ "$(ws_psql "select state from watchstand.alarms where id = $ESC")" = active-unacknowledged ] ||
  it_fail "a refused link changed the alarm"
# A link refused for the alarm's state (shelved: 409) is not spent.
curl -sf -X POST -H "Authorization: Bearer $TOKEN" -d '{"minutes":5,"reason":"checking the link"}' \
  "http://127.0.0.1:$IT_HTTP/api/v1/alarms/$ESC/shelve" >/dev/null || it_fail "shelve refused"
[ "$(code -X POST "$LINK")" = 409 ] || it_fail "POST on the link of a shelved alarm: $(cat "$IT/page")"
curl -sf -X POST -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$IT_HTTP/api/v1/alarms/$ESC/unshelve" >/dev/null ||
  it_fail "unshelve refused"
[ "$(code "$LINK")" = 200 ] || it_fail "a link refused with 409 was spent: $(cat "$IT/page")"
[ "$(code -X POST "$LINK")" = 200 ] || it_fail "POST on the link: $(cat "$IT/page")"
[ "$(ws_psql "select state || ' ' || acked_by from watchstand.alarms where id = $ESC")" = "active-acknowledged bob" ] ||
  it_fail "the link did not acknowledge as bob"
ws_psql "select actor || ': ' || text from watchstand.v_shift_log where text like 'ACK esc on host-n%'" |
  grep -q "^bob: .*via phone link" || it_fail "the shift log does not say 'via phone link'"
[ "$(code -X POST "$LINK")" = 403 ] || it_fail "a used link was accepted again"
[ "$(code "$LINK")" = 403 ] || it_fail "a used link still shows its page"
it_ok "ack link: page, then acknowledged once as bob; tampered, expired, reused -> 403"

# The shelved alarm's second step was cancelled; unshelving re-arms it.
[ "$(rx_count /ok/lead "b and 'shelf on' in b['text']")" -eq 0 ] || it_fail "escalated a shelved alarm"
[ "$(ws_psql "select state from watchstand.notify_steps where alarm_id = $SHELF and step = 1")" = cancelled ] ||
  it_fail "the shelved alarm's second step is not cancelled"
curl -sf -X POST -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$IT_HTTP/api/v1/alarms/$SHELF/unshelve" >/dev/null ||
  it_fail "unshelve refused"
ws_wait_for 15 rx_has /ok/lead "b and 'shelf on' in b['text']" || it_fail "unshelving did not resume the escalation"
[ "$(rx_count /ok/hook "has(b, 'shelf')")" -eq 1 ] || it_fail "unshelving paged the first step again"
it_ok "shelving stops the escalation; unshelving resumes it without repeating the first step"

# Clear notices go to whoever was paged.
echo 0 >"$IT/v-esc"
ws_wait_for 15 rx_has /ok/sms "'CLEARED%20esc%20on%20host-n' in r['body']" || it_fail "no clear notice by SMS"
it_ok "clear notice to the paged recipient"

# 500, 500, 200: three attempts, delivered once, every attempt recorded.
FLAKY=$(alarm_id flaky)
sent() { [ "$(notes "$1" | tail -1)" = "3 sent" ]; }
ws_wait_for 30 sent "$FLAKY" || it_fail "flaky: $(notes "$FLAKY")"
[ "$(notes "$FLAKY" | tr '\n' ',')" = "1 retry,2 retry,3 sent," ] || it_fail "flaky attempts: $(notes "$FLAKY")"
sleep 4
[ "$(rx_count /fail2/flaky)" -eq 3 ] || it_fail "flaky: the receiver saw $(rx_count /fail2/flaky) requests, not 3"
[ "$(rx_count /fail2/flaky "r['code'] == 200")" -eq 1 ] || it_fail "flaky: delivered more than once"
it_ok "500, 500, 200: three attempts recorded, delivered exactly once"

# 400 is final; a receiver that hangs is retried until the deadline.
BAD=$(alarm_id bad)
failed() { notes "$1" | tail -1 | grep -q failed; }
ws_wait_for 10 failed "$BAD" || it_fail "bad: $(notes "$BAD")"
[ "$(notes "$BAD")" = "1 failed" ] || it_fail "a 400 was retried: $(notes "$BAD")"
ws_psql "select error from watchstand.v_notifications where alarm_id = $BAD" | grep -q "HTTP 400" || it_fail "no HTTP 400 in the error"
ws_psql "select text from watchstand.v_shift_log where kind = 'notify'" | grep -q "PAGE FAILED to bad by bad" ||
  it_fail "the failed page is not in the shift log"
HANG=$(alarm_id hang)
ws_wait_for 40 failed "$HANG" || it_fail "hang: $(notes "$HANG")"
[ "$(notes "$HANG" | wc -l)" -ge 2 ] || it_fail "a hanging receiver was not retried"
ws_psql "select error from watchstand.v_notifications where alarm_id = $HANG order by attempt limit 1" |
  grep -qi "timeout\|timed out" || it_fail "hang: no timeout in the error"
it_ok "400 final at once; a hanging receiver retried until the deadline"

QUIET=$(alarm_id quiet)
[ -n "$QUIET" ] || it_fail "no warning alarm"
[ "$(ws_psql "select count(*) from watchstand.notify_pages where alarm_id = $QUIET")" = 0 ] ||
  it_fail "a warning matched a '>= major' route"
[ "$(rx_count / "'quiet' in r['body']")" -eq 0 ] || it_fail "a warning was paged"
it_ok "routes: a warning is not paged by a '>= major' route"

# repeat: the last step again every 3 s while unacknowledged, then none.
reps() { rx_count /ok/hook "has(b, 'rep')"; }
[ "$(rx_count /ok/hook "has(b, 'rep', 'repeat')")" -ge 2 ] ||
  it_fail "repeat: $(reps) pages for 'rep'"
REP=$(alarm_id rep)
curl -sf -X POST -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$IT_HTTP/api/v1/alarms/$REP/ack" >/dev/null ||
  it_fail "ack refused"
sleep 4 # a repeat on the wire at the ack may still land
n=$(reps)
sleep 7
[ "$(reps)" -eq "$n" ] || it_fail "repeat: pages went on after the ack ($n, then $(reps))"
ws_psql "select state from watchstand.notify_steps where alarm_id = $REP order by step desc limit 1" | grep -qx cancelled ||
  it_fail "repeat: the next repeat is not cancelled"
it_ok "repeat while unacknowledged ($n pages), none after the ack"

# A restart with a retry pending: the retry happens after it, once.
echo 1 >"$IT/v-restart"
first_try() { [ "$(rx_count /fail2/restart)" -ge 1 ]; }
ws_wait_for 15 first_try || it_fail "restart: no first attempt"
RESTART=$(alarm_id restart)
recorded() { [ "$(notes "$RESTART")" = "1 retry" ]; }
ws_wait_for 5 recorded || it_fail "restart: first attempt not recorded: $(notes "$RESTART")"
it_stop_collector
[ "$(rx_count /fail2/restart)" -eq 1 ] || it_fail "restart: retried before the restart"
it_start_collector
ws_wait_for 30 sent "$RESTART" || it_fail "restart: $(notes "$RESTART")"
sleep 4
[ "$(rx_count /fail2/restart "r['code'] == 200")" -eq 1 ] && [ "$(rx_count /fail2/restart)" -eq 3 ] ||
  it_fail "restart: $(rx_count /fail2/restart) requests"
grep -q "resumes" "$IT/collector.log" || it_fail "restart: the pending message was not resumed"
[ "$(ws_psql "select count(*) from watchstand.notify_pages where alarm_id = $RESTART")" = 1 ] ||
  it_fail "restart: the alarm was paged again after the restart"
it_ok "a retry pending across a collector restart is delivered once"

# Floods: the first page goes at once, the next within group_wait go as one
# message, over the rate limit (2 per 25 s) they wait for a digest.
echo 1 >"$IT/f-a"
ws_wait_for 15 rx_has /ok/grp || it_fail "flood: no first page"
for f in b c d e; do echo 1 >"$IT/f-$f"; done
two() { [ "$(rx_count /ok/grp)" -ge 2 ]; }
ws_wait_for 20 two || it_fail "flood: no grouped message"
rx /ok/grp | python3 -c '
import json, sys
m = [json.loads(json.loads(l)["body"]) for l in sys.stdin]
assert [x["count"] for x in m] == [1, 4], [x["count"] for x in m]
assert sorted(a["series"] for a in m[1]["alarms"]) == ["flood.b", "flood.c", "flood.d", "flood.e"]
' || it_fail "flood: not one page then one group of four"
for f in f g h; do echo 1 >"$IT/f-$f"; done
sleep 8
[ "$(rx_count /ok/grp)" -eq 2 ] || it_fail "flood: the rate limit let a third message through"
three() { [ "$(rx_count /ok/grp)" -ge 3 ]; }
ws_wait_for 30 three || it_fail "flood: the digest never came"
rx /ok/grp | python3 -c '
import json, sys
r = [json.loads(l) for l in sys.stdin]
m = [json.loads(x["body"]) for x in r]
assert m[2]["count"] == 3, m[2]["count"]
assert r[2]["t"] - r[0]["t"] >= 24, r[2]["t"] - r[0]["t"]
assert sum(x["count"] for x in m) == 8
' || it_fail "flood: the digest is not the three held alarms after the window"
it_ok "flood: one page, one group of four, then a digest of three after the rate window; nothing dropped"

# Mail: STARTTLS, proper headers, UTF-8 subject.
mailcheck() {
  $PY - "$IT/mail" <<'PY'
import mailbox, sys, email.header
msgs = list(mailbox.Maildir(sys.argv[1], create=False))
esc = [m for m in msgs if "esc on host-n" in str(email.header.make_header(email.header.decode_header(m["Subject"])))]
assert len(esc) == 2, [m["Subject"] for m in msgs]  # the page and the clear notice
page = [m for m in esc if "CLEARED" not in str(email.header.make_header(email.header.decode_header(m["Subject"])))]
assert len(page) == 1, [m["Subject"] for m in esc]
m = page[0]
assert m["To"] == "alice@example.test" and m["Date"] and m["Message-ID"].endswith("@watchstand>"), dict(m)
assert m["Subject"].startswith("=?UTF-8?B?"), m["Subject"]
text = "".join(p.get_payload(decode=True).decode() for p in m.walk() if p.get_content_type() == "text/plain")
assert "/ack/" in text, text
PY
}
ws_wait_for 10 mailcheck || { mailcheck; it_fail "mail"; }
it_ok "mail over STARTTLS with Date, Message-ID and an encoded subject; page and clear notice"

# notify-test: each channel type, and failures that say why.
for ch in ding feishu wecom slack hook; do
  $C -c "$IT/collector.yaml" notify-test $ch >"$IT/nt.txt" 2>&1 || it_fail "notify-test $ch: $(cat "$IT/nt.txt")"
  grep -q "sent" "$IT/nt.txt" || it_fail "notify-test $ch: $(cat "$IT/nt.txt")"
done
rx /dingtalk/robot "b['msgtype'] == 'markdown' and 'TEST' in b['markdown']['text']" | grep -q . || it_fail "dingtalk body"
rx /feishu/hook "b['msg_type'] == 'interactive'" | grep -q . || it_fail "feishu body"
rx /ok/wecom "b['msgtype'] == 'markdown'" | grep -q . || it_fail "wecom body"
rx /ok/slack "'text' in b" | grep -q . || it_fail "slack body"
$C -c "$IT/collector.yaml" notify-test ding-wrong >"$IT/nt.txt" 2>&1 && it_fail "a wrong DingTalk secret passed"
grep -q "310000" "$IT/nt.txt" || it_fail "notify-test ding-wrong: $(cat "$IT/nt.txt")"
$C -c "$IT/collector.yaml" notify-test sms --to alice >"$IT/nt.txt" 2>&1 || it_fail "notify-test sms: $(cat "$IT/nt.txt")"
rx /ok/sms "'to=%2B8613800000001' in r['body'] and 'test%20message' in r['body']" |
  grep -q . || it_fail "notify-test sms did not reach alice's number"
$C -c "$IT/collector.yaml" notify-test sms --to carol >"$IT/nt.txt" 2>&1 && it_fail "an SMS to carol (no phone) passed"
grep -q "no phone" "$IT/nt.txt" || it_fail "notify-test sms carol: $(cat "$IT/nt.txt")"
$C -c "$IT/collector.yaml" notify-test bad >"$IT/nt.txt" 2>&1 && it_fail "notify-test bad passed"
grep -q "HTTP 400" "$IT/nt.txt" || it_fail "notify-test bad: $(cat "$IT/nt.txt")"
$C -c "$IT/collector.yaml" notify-test mail --to bob >"$IT/nt.txt" 2>&1 || it_fail "notify-test mail: $(cat "$IT/nt.txt")"
it_ok "notify-test: dingtalk and feishu (signed), wecom, slack, webhook, sms, smtp; failures say why"

# Counters start again with the process (the restart above).
[ "$(it_metric watchstand_notifications_sent_total)" -ge 4 ] || it_fail "metrics: sent"
[ -n "$(it_metric watchstand_notifications_failed_total)" ] || it_fail "metrics: failed"
[ "$(it_metric watchstand_notifications_retried_total)" -ge 1 ] || it_fail "metrics: retried"
[ -n "$(it_metric watchstand_notifications_pending)" ] || it_fail "metrics: pending"
it_ok "/metrics counts sent, failed, retried, pending"
