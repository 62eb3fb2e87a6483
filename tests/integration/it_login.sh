# Logins: throttled per login and per client address (429, Retry-After,
# one shift log entry per episode), unknown logins go through the same
# hashing as known ones, /healthz answers while passwords are hashed,
# sessions outlive a collector restart, logout ends a session.
. "$(dirname "$0")/lib.sh"

it_setup
# Short backoffs so the test waits seconds, not minutes.
cat >>"$IT/collector.yaml" <<'YAML'
  login: {max_failures: 3, max_failures_per_address: 5, window: 1m, backoff: 2s, max_backoff: 4s}
YAML
C="$WS_BUILD/watchstand-collector -c $IT/collector.yaml"
echo "alice-password" | $C useradd alice --role watchstander >/dev/null
echo "carol-password" | $C useradd carol --role watchstander >/dev/null
it_start_collector

API="http://127.0.0.1:$IT_HTTP/api/v1"
# Requests come from different loopback addresses: the throttle keys on them.
code() { curl -s -D "$IT/headers" -o "$IT/body" -w '%{http_code}' "$@"; }
expect() {
  local want=$1 got
  shift
  got=$(code "$@")
  [ "$got" = "$want" ] || it_fail "$* -> $got (want $want): $(cat "$IT/body")"
}
# login FROM LOGIN PASSWORD: the status code (body in $IT/body).
login() { code --interface "$1" -X POST -d "{\"login\":\"$2\",\"password\":\"$3\"}" "$API/login"; }
login_is() { [ "$(login "$2" "$3" "$4")" = "$1" ]; }
shiftlog_count() {
  local q="'"
  ws_psql "select count(*) from watchstand.v_shift_log where kind = 'note' and actor = 'system' and text like '${1//$q/$q$q}'"
}
retry_after() { tr -d '\r' <"$IT/headers" | awk -F': ' 'tolower($1) == "retry-after" { print $2 }'; }

# ---- bad requests stay 400 ----
expect 400 -X POST -d 'not json' "$API/login"
expect 400 -X POST -d '{"login":"alice"}' "$API/login"
expect 400 -X POST -d '{"login":"alice","password":7}' "$API/login"
expect 405 "$API/login"
it_ok "bad JSON or missing fields: 400"

# ---- unknown and known logins: same answer, same hashing path ----
h0=$(it_metric watchstand_login_hashes_total)
[ "$(login 127.0.0.9 alice wrong-password)" = 401 ] || it_fail "wrong password: $(cat "$IT/body")"
cp "$IT/body" "$IT/known.json"
h1=$(it_metric watchstand_login_hashes_total)
[ "$(login 127.0.0.10 nobody-here wrong-password)" = 401 ] || it_fail "unknown login: $(cat "$IT/body")"
cmp -s "$IT/known.json" "$IT/body" || it_fail "unknown login answered differently: $(cat "$IT/known.json") vs $(cat "$IT/body")"
h2=$(it_metric watchstand_login_hashes_total)
[ "$h1" = $((h0 + 1)) ] && [ "$h2" = $((h1 + 1)) ] ||
  it_fail "a password check must hash once, known or unknown: $h0 $h1 $h2"
it_ok "an unknown login answers 401 like a wrong password, after hashing a dummy ($h0 -> $h1 -> $h2)"

# ---- per login: 3 failures, then 429 even for the right password ----
for i in 1 2 3; do
  [ "$(login 127.0.0.2 carol "wrong-$i")" = 401 ] || it_fail "failure $i for carol: $(cat "$IT/body")"
done
[ "$(login 127.0.0.2 carol carol-password)" = 429 ] || it_fail "right password while throttled: $(cat "$IT/body")"
ra=$(retry_after)
[ -n "$ra" ] && [ "$ra" -ge 1 ] && [ "$ra" -le 2 ] || it_fail "Retry-After: '$ra'"
python3 - "$IT/body" <<'PY' || it_fail "429 body: $(cat "$IT/body")"
import json, sys
b = json.load(open(sys.argv[1]))
assert "try again" in b["error"] and 1 <= b["retry_after"] <= 2, b
PY
# The same login from another address: still refused.
[ "$(login 127.0.0.3 carol carol-password)" = 429 ] || it_fail "throttle is not per login: $(cat "$IT/body")"
h3=$(it_metric watchstand_login_hashes_total)
[ "$(login 127.0.0.2 carol wrong-again)" = 429 ] || it_fail "wrong password while throttled"
[ "$(it_metric watchstand_login_hashes_total)" = "$h3" ] || it_fail "a refused attempt was hashed"
[ "$(shiftlog_count "login: 3 failed attempts for 'carol' from 127.0.0.2; throttled for 2 s")" = 1 ] ||
  it_fail "episode not in the shift log: $(ws_psql "select text from watchstand.v_shift_log")"
# Refusal over: the right password works, and resets the count.
ws_wait_for 15 login_is 200 127.0.0.3 carol carol-password || it_fail "carol still refused: $(cat "$IT/body")"
grep -q '"login":"carol"' "$IT/body" || it_fail "login body: $(cat "$IT/body")"
[ "$(login 127.0.0.3 carol wrong-after)" = 401 ] || it_fail "count not reset by the success"
[ "$(login 127.0.0.3 carol carol-password)" = 200 ] || it_fail "one failure after a success throttled"
[ "$(shiftlog_count "login: % failed attempts for 'carol'%")" = 1 ] || it_fail "more than one shift log entry for one episode"
it_ok "3 failures for carol: 429 with Retry-After ($ra s) for the right password from any address, one shift log entry, then 200"

# ---- per address: 5 failures across logins, then the address waits ----
for u in u1 u2 u3 u4 u5; do
  [ "$(login 127.0.0.4 "$u" wrong)" = 401 ] || it_fail "failure for $u: $(cat "$IT/body")"
done
[ "$(login 127.0.0.4 alice alice-password)" = 429 ] || it_fail "address not throttled: $(cat "$IT/body")"
[ -n "$(retry_after)" ] || it_fail "no Retry-After"
[ "$(login 127.0.0.5 alice alice-password)" = 200 ] || it_fail "another address refused: $(cat "$IT/body")"
[ "$(shiftlog_count "login: 5 failed attempts from 127.0.0.4 (the last for 'u5'); throttled for 2 s")" = 1 ] ||
  it_fail "address episode not in the shift log: $(ws_psql "select text from watchstand.v_shift_log")"
ws_wait_for 15 login_is 200 127.0.0.4 alice alice-password || it_fail "address still refused"
it_ok "5 failures from one address across logins: that address gets 429, others do not; logged once"

# ---- hashing is off the loop: /healthz answers while 8 logins hash ----
h4=$(it_metric watchstand_login_hashes_total)
pids=()
for i in 1 2 3 4 5 6 7 8; do
  curl -s -o "$IT/par$i" -w '%{http_code}' --interface 127.0.0.6 -X POST \
    -d '{"login":"alice","password":"alice-password"}' "$API/login" >"$IT/par$i.code" &
  pids+=($!)
done
curl -sf -o "$IT/health.json" "http://127.0.0.1:$IT_HTTP/healthz" || it_fail "/healthz did not answer during logins"
grep -q '"status":"ok"' "$IT/health.json" || it_fail "healthz: $(cat "$IT/health.json")"
wait "${pids[@]}"
for i in 1 2 3 4 5 6 7 8; do
  [ "$(cat "$IT/par$i.code")" = 200 ] || it_fail "parallel login $i: $(cat "$IT/par$i.code") $(cat "$IT/par$i")"
done
[ "$(it_metric watchstand_login_hashes_total)" -ge $((h4 + 8)) ] || it_fail "8 logins, fewer hashes"
it_ok "8 parallel logins all 200; /healthz answered meanwhile"

# ---- clients that leave while their password is checked ----
f0=$(curl -s "http://127.0.0.1:$IT_HTTP/metrics" | awk '$1 == "watchstand_logins_total{result=\"failed\"}" { print $2 }')
pids=()
for i in $(seq 1 12); do
  curl -s -o /dev/null -m 0.02 --interface 127.0.0.8 -X POST \
    -d "{\"login\":\"ghost$i\",\"password\":\"wrong\"}" "$API/login" &
  pids+=($!)
done
wait "${pids[@]}" || true
it_healthy || it_fail "collector unhealthy after clients left mid-login"
ws_wait_for 10 login_is 200 127.0.0.9 alice alice-password || it_fail "login after clients left: $(cat "$IT/body")"
f1=$(curl -s "http://127.0.0.1:$IT_HTTP/metrics" | awk '$1 == "watchstand_logins_total{result=\"failed\"}" { print $2 }')
it_ok "12 clients left mid-login; still healthy; $((f1 - f0)) of their failures were counted"

# ---- sessions outlive a restart; stored hashed ----
[ "$(login 127.0.0.7 alice alice-password)" = 200 ] || it_fail "login"
TOKEN=$(python3 -c "import json; print(json.load(open('$IT/body'))['token'])")
CSRF=$(python3 -c "import json; print(json.load(open('$IT/body'))['csrf'])")
[ "$(ws_psql "select count(*) from watchstand.sessions where token_hash = encode(sha256('$TOKEN'), 'hex') and login = 'alice' and expires_at > now() + interval '11 hours'")" = 1 ] ||
  it_fail "session not stored hashed"
[ "$(ws_psql "select count(*) from watchstand.sessions where token_hash = '$TOKEN' or csrf_hash = '$CSRF'")" = 0 ] ||
  it_fail "a token is stored in clear"
A=(-H "Authorization: Bearer $TOKEN")
expect 200 "${A[@]}" "$API/status"
it_stop_collector
it_start_collector
status_is() { [ "$(code "${A[@]}" "$API/status")" = "$1" ]; }
# Until the sessions are loaded a request may get 503, never 401.
ws_wait_for 15 status_is 200 || it_fail "session lost in the restart: $(cat "$IT/body")"
grep -q '"user":"alice"' "$IT/body" || it_fail "status: $(cat "$IT/body")"
expect 201 -X POST -H "Cookie: ws_session=$TOKEN" -H "X-CSRF-Token: $CSRF" -d '{"text":"after the restart"}' "$API/log"
expect 401 -X POST -H "Cookie: ws_session=$TOKEN" -H "X-CSRF-Token: wrong" -d '{"text":"bad csrf"}' "$API/log"
grep -q "sessions\? restored from the database" "$IT/collector.log" || it_fail "no restore in the log"
it_ok "a collector restart keeps the desk logged in (bearer and cookie + CSRF)"

# ---- logout ends the session, here and in the database ----
expect 405 "${A[@]}" "$API/logout"
expect 401 -X POST "$API/logout"
expect 200 -X POST "${A[@]}" "$API/logout"
grep -q '"logged_out":"alice"' "$IT/body" || it_fail "logout: $(cat "$IT/body")"
grep -qi '^set-cookie: ws_session=;.*Max-Age=0' "$IT/headers" || it_fail "logout does not clear the cookie"
expect 401 "${A[@]}" "$API/status"
[ "$(ws_psql "select count(*) from watchstand.sessions where token_hash = encode(sha256('$TOKEN'), 'hex')")" = 0 ] ||
  it_fail "session row left after logout"
it_stop_collector
it_start_collector
status_not_503() { [ "$(code "${A[@]}" "$API/status")" != 503 ]; }
ws_wait_for 15 status_not_503 || it_fail "sessions never loaded"
[ "$(code "${A[@]}" "$API/status")" = 401 ] || it_fail "a logged-out session came back after a restart"
# Expired sessions are not restored.
[ "$(login 127.0.0.7 alice alice-password)" = 200 ] || it_fail "login"
OLD=$(python3 -c "import json; print(json.load(open('$IT/body'))['token'])")
ws_psql "update watchstand.sessions set expires_at = now() - interval '1 second' where token_hash = encode(sha256('$OLD'), 'hex')" >/dev/null
it_stop_collector
it_start_collector
B=(-H "Authorization: Bearer $OLD")
old_status() { [ "$(code "${B[@]}" "$API/status")" != 503 ]; }
ws_wait_for 15 old_status || it_fail "sessions never loaded"
[ "$(code "${B[@]}" "$API/status")" = 401 ] || it_fail "an expired session was restored"
it_ok "logout: 200, the token is refused, the row is gone, a restart does not bring it back; expired sessions stay out"

# ---- two collectors on one database share the sessions ----
HTTP2=$(ws_free_port)
LISTEN2=$(ws_free_port)
sed -e "s/127.0.0.1:$IT_HTTP\$/127.0.0.1:$HTTP2/" -e "s/127.0.0.1:$IT_LISTEN\$/127.0.0.1:$LISTEN2/" \
  "$IT/collector.yaml" >"$IT/collector2.yaml"
"$WS_BUILD/watchstand-collector" -c "$IT/collector2.yaml" run 2>>"$IT/collector2.log" &
IT_PIDS+=($!)
API2="http://127.0.0.1:$HTTP2/api/v1"
[ "$(login 127.0.0.7 carol carol-password)" = 200 ] || it_fail "login"
T2=$(python3 -c "import json; print(json.load(open('$IT/body'))['token'])")
D=(-H "Authorization: Bearer $T2")
on2_is() { [ "$(code "${D[@]}" "$API2/status")" = "$1" ]; }
on1_is() { [ "$(code "${D[@]}" "$API/status")" = "$1" ]; }
ws_wait_for 30 on2_is 200 || it_fail "the second collector does not honour the session: $(cat "$IT/body")"
expect 201 -X POST "${D[@]}" -d '{"text":"from the second collector"}' "$API2/log"
# A role changed with useradd applies to the open session.
echo "carol-password" | $C useradd carol --role viewer >/dev/null
viewer_now() { [ "$(code -X POST "${D[@]}" -d '{"text":"x"}' "$API/log")" = 403 ]; }
ws_wait_for 30 viewer_now || it_fail "role change not applied to the session"
expect 200 -X POST "${D[@]}" "$API2/logout"
ws_wait_for 30 on1_is 401 || it_fail "a logout on the second collector did not end the session on the first"
"$WS_BUILD/watchstand-collector" -c "$IT/collector.yaml" verify-log | grep -q "chain intact" || it_fail "chain"
it_ok "a second collector honours the sessions; role changes and logouts reach both"
