# The API on the follower of a pair (docs/ha.md): a user logs in there and
# the leader-only writes (ack, shelve, a checklist run and its step) are
# forwarded to the leader, done once, by that user; the follower's event
# stream sees them. A request already forwarded once is answered 503
# naming the leader, and nothing is done. Once the leader is killed, the
# survivor leads and serves the same writes itself. Collector 2 speaks
# HTTPS with a certificate of the test's own CA: a follower forwards to it
# only when collector.peer_ca names that CA, else answers 503 saying why.
. "$(dirname "$0")/lib.sh"

it_setup host-a
(cd "$IT/tls" && ws_cert_sign web "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth")
C="$WS_BUILD/watchstand-collector"
for u in alice bob; do echo "$u-password" | $C -c "$IT/collector.yaml" useradd $u --role watchstander >/dev/null; done
cat >>"$IT/collector.yaml" <<'YAML'
calendar:
  timezone: UTC
  phases: [{name: trading, days: daily, from: "00:00", to: "24:00"}]
  default: closed
rules:
  - {name: one, match: {series: "lvl.one"}, levels: [{when: "> 0", severity: critical}]}
checklists:
  - name: proc
    kind: procedure
    steps:
      - {name: look, manual: "Look at the screen", two_person: true}
YAML

# Collector 2: the same config on its own ports and state directory.
L1=$IT_LISTEN H1=$IT_HTTP
L2=$(ws_free_port) H2=$(ws_free_port)
sed -e "s/127.0.0.1:$L1/127.0.0.1:$L2/" -e "s/127.0.0.1:$H1/127.0.0.1:$H2/" \
  -e "s|state_dir: $IT/state|state_dir: $IT/state2|" "$IT/collector.yaml" >"$IT/collector2.yaml"
sed -i "s|^collector:|collector:\n  http_tls: {cert: tls/web.pem, key: tls/web.key}|" "$IT/collector2.yaml"
cp "$IT/collector.yaml" "$IT/collector1-nopeer.yaml"
$C -c "$IT/collector2.yaml" check-config >/dev/null || it_fail "config 2 refused"

# collector.peer_ca: a file that is not there is named by check-config.
cp "$IT/collector.yaml" "$IT/bad.yaml"
sed -i "s|^collector:|collector:\n  peer_ca: $IT/no-such-ca.pem|" "$IT/bad.yaml"
out=$($C -c "$IT/bad.yaml" check-config 2>&1 || true)
grep -q "collector.peer_ca: cannot read $IT/no-such-ca.pem" <<<"$out" ||
  it_fail "check-config of a missing peer_ca: $out"
sed -i "s|^collector:|collector:\n  peer_ca: tls/ca.pem|" "$IT/collector.yaml"
$C -c "$IT/collector.yaml" check-config >/dev/null || it_fail "config 1 (peer_ca: tls/ca.pem) refused"
it_ok "check-config names a peer_ca it cannot read, takes a CA file"

P1=
"$C" -c "$IT/collector.yaml" run 2>>"$IT/collector1.log" &
P1=$!
IT_PIDS+=("$P1")
# url PORT: collector 2 ($H2) speaks HTTPS.
url() { if [ "$1" = "$H2" ]; then echo "https://127.0.0.1:$1"; else echo "http://127.0.0.1:$1"; fi; }
CURL=(curl --cacert "$IT/tls/ca.pem")
lead_field() {
  "${CURL[@]}" -sf "$(url "$1")/healthz" |
    python3 -c "import json,sys; print(json.load(sys.stdin)['lead'].get('$2') or '')" 2>/dev/null
}
is_role() { [ "$(lead_field "$1" role)" = "$2" ]; }
ws_wait_for 20 is_role "$H1" leader || it_fail "collector 1 did not lead"
"$C" -c "$IT/collector2.yaml" run 2>>"$IT/collector2.log" &
IT_PIDS+=($!)
ws_wait_for 20 is_role "$H2" follower || it_fail "collector 2 is not a follower"
knows_leader() { [ "$(lead_field "$H2" leader_url)" = "http://127.0.0.1:$H1" ]; }
ws_wait_for 20 knows_leader || it_fail "the follower does not know the leader's URL: $(lead_field "$H2" leader_url)"
it_ok "collector 1 leads, collector 2 follows and knows the leader's URL"

echo 0 >"$IT/one"
printf '#!/bin/sh\necho "OK | one=$(cat %s/one)"\n' "$IT" >"$IT/check"
chmod +x "$IT/check"
it_agent_config host-a "  - {name: lvl, type: exec, interval: 500ms, command: ['$IT/check']}"
it_start_agent host-a
echo 1 >"$IT/one"
raised() { [ "$(ws_psql "select count(*) from watchstand.alarms where rule = 'one' and cleared_at is null")" = 1 ]; }
ws_wait_for 30 raised || it_fail "alarm one was not raised"
ID=$(ws_psql "select id from watchstand.alarms where rule = 'one'")

F=$(url "$H2")/api/v1
# A login on the follower: cookie and CSRF token, as the console has them.
"${CURL[@]}" -sf -c "$IT/jar" -X POST -d '{"login":"alice","password":"alice-password"}' "$F/login" >"$IT/login.json" ||
  it_fail "login on the follower failed"
CSRF=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrf"])' "$IT/login.json")
TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$IT/login.json")
# The follower's event stream, as the console follows it.
"${CURL[@]}" -sN -H "Authorization: Bearer $TOKEN" "$F/events" >"$IT/events.txt" 2>/dev/null &
IT_PIDS+=($!)
# call METHOD PATH [BODY] [CURL ARGS...]: the code; body in $IT/body,
# headers in $IT/headers.
call() {
  local m=$1 p=$2 b=${3:-}
  shift 3 || shift $#
  "${CURL[@]}" -s -o "$IT/body" -D "$IT/headers" -w '%{http_code}' -X "$m" -b "$IT/jar" \
    -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' ${b:+-d "$b"} "$@" "$F$p"
}
expect() {
  local want=$1 got
  shift
  got=$(call "$@")
  [ "$got" = "$want" ] || it_fail "$1 $2 on the follower -> $got (want $want): $(cat "$IT/body")"
}
from_leader() { grep -qi "^X-Watchstand-Leader: http://127.0.0.1:$H1" "$IT/headers"; }

# No CSRF token: refused by the follower itself, nothing forwarded.
code=$("${CURL[@]}" -s -o "$IT/body" -w '%{http_code}' -X POST -b "$IT/jar" -d '{}' "$F/alarms/$ID/ack")
[ "$code" = 401 ] || it_fail "an ack without the CSRF token answered $code: $(cat "$IT/body")"

# The session made on the follower a moment ago: the leader knows it now
# (looked up in the database at the miss, not at its next sync).
code=$(curl -s -o "$IT/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$H1/api/v1/status")
[ "$code" = 200 ] || it_fail "the leader refused a session made on the follower: $code $(cat "$IT/body")"

expect 200 POST "/alarms/$ID/ack" '{}'
from_leader || it_fail "the ack's answer did not come from the leader: $(cat "$IT/headers")"
[ "$(ws_psql "select acked_by from watchstand.alarms where id = $ID")" = alice ] ||
  it_fail "alarm $ID is not acknowledged by alice"
[ "$(ws_psql "select count(*) from watchstand.shift_log where kind = 'alarm' and actor = 'alice' and text like 'ACK one on %'")" = 1 ] ||
  it_fail "the ack is not in the shift log once"
[ "$(ws_psql "select count(*) from watchstand.shift_log where kind = 'alarm' and text like 'RAISE critical one on %'")" = 1 ] ||
  it_fail "alarm one was raised more than once"
streamed() { grep -q "ACK one on host-a" "$IT/events.txt"; }
ws_wait_for 30 streamed || it_fail "the follower's event stream did not carry the ack: $(cat "$IT/events.txt")"
it_ok "an ack through the follower: done once by alice on the leader, streamed by the follower"

expect 200 POST "/alarms/$ID/shelve" '{"minutes": 30, "reason": "forwarded"}'
from_leader || it_fail "the shelve's answer did not come from the leader"
[ "$(ws_psql "select shelved_until is not null from watchstand.alarms where id = $ID")" = t ] ||
  it_fail "alarm $ID is not shelved"
it_ok "a shelve through the follower is done"

expect 201 POST /checklists/proc/runs '{}'
RUN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$IT/body")
step_state() { ws_psql "select state from watchstand.v_checklist_steps where run_id = $RUN and step = 'look'"; }
expect 200 POST "/runs/$RUN/steps/look/execute" '{}'
awaiting() { [ "$(step_state)" = awaiting-confirmation ]; }
ws_wait_for 20 awaiting || it_fail "step look of run $RUN: $(step_state)"
# bob, logged in on the follower too, confirms with his bearer token.
BOB=$("${CURL[@]}" -sf -X POST -d '{"login":"bob","password":"bob-password"}' "$F/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
code=$("${CURL[@]}" -s -o "$IT/body" -D "$IT/headers" -w '%{http_code}' -X POST -H "Authorization: Bearer $BOB" \
  "$F/runs/$RUN/steps/look/confirm")
[ "$code" = 200 ] || it_fail "bob's confirmation through the follower answered $code: $(cat "$IT/body")"
from_leader || it_fail "the confirmation's answer did not come from the leader"
done_() { [ "$(step_state)" = done ]; }
ws_wait_for 20 done_ || it_fail "step look of run $RUN is $(step_state) after its confirmation"
[ "$(ws_psql "select opened_by from watchstand.checklist_runs where id = $RUN")" = alice ] ||
  it_fail "run $RUN was not opened by alice"
[ "$(ws_psql "select confirmed_by from watchstand.v_checklist_steps where run_id = $RUN and step = 'look'")" = bob ] ||
  it_fail "step look was not confirmed by bob"
it_ok "a checklist run opened, its step executed and confirmed through the follower"

# Never a second hop: already forwarded, the follower refuses and names
# the leader; the alarm stays shelved.
expect 503 POST "/alarms/$ID/unshelve" '{}' -H "X-Watchstand-Forwarded: elsewhere/1"
grep -q "forwarded once already.*the leader is http://127.0.0.1:$H1" "$IT/body" ||
  it_fail "the 503 does not name the leader: $(cat "$IT/body")"
[ "$(ws_psql "select shelved_until is not null from watchstand.alarms where id = $ID")" = t ] ||
  it_fail "a request forwarded twice was done"
it_ok "a request already forwarded is answered 503 naming the leader"

# The leader killed: the survivor leads and does the write itself.
kill -9 "$P1"
wait "$P1" 2>/dev/null || true
ws_wait_for 30 is_role "$H2" leader || it_fail "collector 2 did not take over"
expect 200 POST "/alarms/$ID/unshelve" '{}'
from_leader && it_fail "the new leader forwarded a write"
[ "$(ws_psql "select shelved_until is null from watchstand.alarms where id = $ID")" = t ] ||
  it_fail "alarm $ID is still shelved"
it_ok "the surviving collector leads and serves the writes itself"

# Collector 1 back as a follower, without peer_ca: the leader's HTTPS
# certificate is not one the system's CAs vouch for, so the write is
# refused with the reason, naming the leader, and not done.
start1() {
  "$C" -c "$IT/$1" run 2>>"$IT/collector1.log" &
  P1=$!
  IT_PIDS+=("$P1")
  ws_wait_for 20 is_role "$H1" follower || it_fail "the restarted collector 1 does not follow"
  knows() { [ "$(lead_field "$H1" leader_url)" = "https://127.0.0.1:$H2" ]; }
  ws_wait_for 20 knows || it_fail "collector 1 does not know the leader's URL: $(lead_field "$H1" leader_url)"
}
start1 collector1-nopeer.yaml
F=http://127.0.0.1:$H1/api/v1
TOKEN=$(curl -sf -X POST -d '{"login":"alice","password":"alice-password"}' "$F/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
code=$(curl -s -o "$IT/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
  -d '{"minutes": 30, "reason": "over TLS"}' "$F/alarms/$ID/shelve")
[ "$code" = 503 ] || it_fail "a forward to an unverified leader answered $code: $(cat "$IT/body")"
grep -q "forwarding to the leader failed: .*certificate.*the leader is https://127.0.0.1:$H2" "$IT/body" ||
  it_fail "the 503 does not say why and name the leader: $(cat "$IT/body")"
[ "$(ws_psql "select shelved_until is null from watchstand.alarms where id = $ID")" = t ] ||
  it_fail "a write refused by the follower was done"
it_ok "a leader whose certificate is not trusted: 503 with the reason, naming the leader"

# With collector.peer_ca: forwarded over HTTPS and done.
kill "$P1"
wait "$P1" 2>/dev/null || true
start1 collector.yaml
code=$(curl -s -o "$IT/body" -D "$IT/headers" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
  -d '{"minutes": 30, "reason": "over TLS"}' "$F/alarms/$ID/shelve")
[ "$code" = 200 ] || it_fail "a forward over HTTPS with peer_ca answered $code: $(cat "$IT/body")"
grep -qi "^X-Watchstand-Leader: https://127.0.0.1:$H2" "$IT/headers" || it_fail "not answered by the leader: $(cat "$IT/headers")"
[ "$(ws_psql "select shelved_by from watchstand.alarms where id = $ID")" = alice ] ||
  it_fail "the shelve forwarded over HTTPS was not done"
it_ok "forwarded over HTTPS to a leader signed by collector.peer_ca"
