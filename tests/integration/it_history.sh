#!/usr/bin/env bash
# What the desk learned last time, end to end through the real path: an
# alarm raised by an agent's sample, paged, acknowledged with a note from
# the CLI, a shift log note written while it was open, cleared; raised
# again: the new page carries the runbook and the latest note of the last
# occurrence, and GET /alarms/{id} lists that occurrence in `history`
# (who acked, the ack's comment, the note, how long it was active).
. "$(dirname "$0")/lib.sh"

it_setup host-h
C="$WS_BUILD/watchstand-collector -c $IT/collector.yaml"
RX_PORT=$(ws_free_port)
python3 "$WS_ROOT/tests/integration/receiver.py" "$RX_PORT" "$IT/rx.jsonl" 2>>"$IT/receiver.log" &
IT_PIDS+=($!)
echo "alice-password" | $C useradd alice --role watchstander --phone "+41790000001" >/dev/null
echo 0 >"$IT/v"
cat >>"$IT/collector.yaml" <<YAML
rules:
  - name: feed-lag
    match: {series: feed.lag}
    levels: [{when: "> 0", severity: major}]
    runbook: "restart the feed handler: systemctl restart feedh"
notify:
  channels:
    - name: hook
      type: webhook
      url: "http://127.0.0.1:$RX_PORT/ok/hook"
      body: '{"who": "{{recipient}}", "kind": "{{kind}}", "id": "{{alarm_id}}", "runbook": "{{runbook}}", "last": "{{last_note}}"}'
      group_wait: 0s
  routes:
    - {name: all, match: {severity: ">= major"}, escalation: [{channels: [hook], to: [alice]}]}
YAML
cat >"$IT/probe" <<SH
#!/bin/sh
echo "OK | lag=\$(cat $IT/v)"
SH
chmod +x "$IT/probe"
it_agent_config host-h "  - {name: feed, type: exec, interval: 500ms, command: ['$IT/probe']}"
it_start_collector
it_start_agent host-h
ws_wait_for 20 it_latest_is host-h feed.lag 0 || it_fail "no samples"

# page N: the Nth page's body as JSON (1-based), or nothing yet.
page() {
  python3 - "$IT/rx.jsonl" "$1" <<'PY'
import json, sys
try:
    pages = [json.loads(json.loads(l)["body"]) for l in open(sys.argv[1]) if l.strip()]
except FileNotFoundError:
    pages = []
pages = [p for p in pages if p["kind"] == "page"]
n = int(sys.argv[2])
if len(pages) >= n:
    print(json.dumps(pages[n - 1]))
PY
}
has_page() { [ -n "$(page "$1")" ]; }
open_alarm() { ws_psql "select id from watchstand.alarms where rule = 'feed-lag' and state <> 'closed'"; }
has_open() { [ -n "$(open_alarm)" ]; }

# The first occurrence: paged with the runbook, nothing learned yet.
echo 1 >"$IT/v"
ws_wait_for 20 has_page 1 || it_fail "the first occurrence was not paged"
P1=$(page 1)
FIRST=$(open_alarm)
[ "$(echo "$P1" | python3 -c 'import json,sys; p=json.load(sys.stdin); print(p["runbook"] + "|" + p["last"] + "|" + p["id"])')" = \
  "restart the feed handler: systemctl restart feedh||$FIRST" ] || it_fail "first page: $P1"

# Acknowledged from the CLI with a comment; a note while it is open.
export HOME="$IT/home" WATCHSTAND_URL="http://127.0.0.1:$IT_HTTP"
mkdir -p "$HOME"
echo "alice-password" | "$WS_BUILD/watchstand" login alice >/dev/null || it_fail "cli login"
"$WS_BUILD/watchstand" ack "$FIRST" -m "restarted the feed handler" >"$IT/ack.out" || it_fail "watchstand ack: $(cat "$IT/ack.out")"
"$WS_BUILD/watchstand" log "vendor says the line to SZSE flapped twice" >/dev/null || it_fail "watchstand log"
echo 0 >"$IT/v"
closed() { [ "$(ws_psql "select state from watchstand.alarms where id = $FIRST")" = closed ]; }
ws_wait_for 20 closed || it_fail "the first occurrence did not close: $(ws_psql "select state from watchstand.alarms where id = $FIRST")"

# The second occurrence: the page carries the latest note of the first.
echo 1 >"$IT/v"
ws_wait_for 20 has_page 2 || it_fail "the second occurrence was not paged"
P2=$(page 2)
SECOND=$(open_alarm)
[ "$SECOND" != "$FIRST" ] || it_fail "no new alarm"
[ "$(echo "$P2" | python3 -c 'import json,sys; p=json.load(sys.stdin); print(p["runbook"] + "|" + p["last"])')" = \
  "restart the feed handler: systemctl restart feedh|vendor says the line to SZSE flapped twice" ] ||
  it_fail "the second page does not carry what was learned: $P2"

# GET /alarms/{id}: the history of the same rule on the same host.
API="http://127.0.0.1:$IT_HTTP/api/v1"
TOKEN=$(curl -s -X POST -d '{"login":"alice","password":"alice-password"}' "$API/login" |
  python3 -c "import json,sys; print(json.load(sys.stdin)['token'])")
curl -sf -H "Authorization: Bearer $TOKEN" "$API/alarms/$SECOND" >"$IT/alarm.json" || it_fail "GET /alarms/$SECOND"
python3 - "$IT/alarm.json" "$FIRST" <<'PY' || it_fail "history: $(cat "$IT/alarm.json")"
import json, sys
a = json.load(open(sys.argv[1]))
h = a["history"]
assert len(h) == 1, h
h = h[0]
assert h["id"] == int(sys.argv[2]), h
assert h["acked_by"] == "alice", h
assert h["ack_comment"] == "restarted the feed handler", h
assert [n["text"] for n in h["notes"]] == ["vendor says the line to SZSE flapped twice"], h
assert h["notes"][0]["actor"] == "alice", h
assert h["active_s"] > 0, h
assert a["runbook"] == "restart the feed handler: systemctl restart feedh", a
PY
it_ok
