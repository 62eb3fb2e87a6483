# HTTPS on the HTTP listener (collector.http_tls): login over TLS, the
# session cookie Secure, HSTS on every kind of answer, the event stream
# through TLS, a silent TCP client closed; plain HTTP refused by
# check-config and run on an address other than loopback unless
# collector.allow_plain_http.
. "$(dirname "$0")/lib.sh"

it_setup
(cd "$IT/tls" && ws_cert_sign web "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth")
C="$WS_BUILD/watchstand-collector -c $IT/collector.yaml"
echo "alice-password" | $C useradd alice --role watchstander >/dev/null
cp "$IT/collector.yaml" "$IT/plain.yaml"
cat >>"$IT/collector.yaml" <<'YAML'
  http_tls: {cert: tls/web.pem, key: tls/web.key}
  http_request_timeout: 2s
YAML

# ---- check-config: loopback, TLS, or allow_plain_http ----
# check FILE: check-config's status; its output in $IT/check.txt.
check() { "$WS_BUILD/watchstand-collector" -c "$1" check-config >"$IT/check.txt" 2>&1 && echo 0 || echo $?; }
# with_http ADDR EXTRA: plain.yaml with collector.http ADDR and EXTRA lines.
with_http() {
  sed "s/^  http: .*/  http: '$1'/" "$IT/plain.yaml" >"$IT/try.yaml"
  [ -z "$2" ] || printf '%s\n' "$2" >>"$IT/try.yaml"
  echo "$IT/try.yaml"
}
for addr in 127.0.0.1:8080 127.0.0.2:8080 '[::1]:8080' localhost:8080; do
  [ "$(check "$(with_http "$addr" "")")" = 0 ] || it_fail "loopback $addr refused: $(cat "$IT/check.txt")"
done
for addr in 0.0.0.0:8080 '[::]:8080' 10.1.2.3:8080 duty.example:8080; do
  [ "$(check "$(with_http "$addr" "")")" = 1 ] || it_fail "plain HTTP on $addr accepted: $(cat "$IT/check.txt")"
  grep -qF "try.yaml:3:9: collector.http: ${addr} is not a loopback address and collector.http_tls is not set" "$IT/check.txt" ||
    it_fail "the refusal of $addr does not say where and why: $(cat "$IT/check.txt")"
  grep -qF "collector.allow_plain_http: true" "$IT/check.txt" || it_fail "the refusal does not name allow_plain_http"
done
[ "$(check "$(with_http 0.0.0.0:8080 "  allow_plain_http: true")")" = 0 ] ||
  it_fail "allow_plain_http: true still refused: $(cat "$IT/check.txt")"
[ "$(check "$(with_http 0.0.0.0:8080 "  http_tls: {cert: tls/web.pem, key: tls/web.key}")")" = 0 ] ||
  it_fail "0.0.0.0 with http_tls refused: $(cat "$IT/check.txt")"
grep -q "links in pages use https://0.0.0.0:8080" "$IT/check.txt" || it_fail "the default public_url is not https: $(cat "$IT/check.txt")"
# run refuses the same file before it listens on anything.
set +e
"$WS_BUILD/watchstand-collector" -c "$(with_http 0.0.0.0:8080 "")" run >"$IT/run.txt" 2>&1; rc=$?
set -e
[ $rc = 1 ] && grep -qF "collector.http: 0.0.0.0:8080 is not a loopback address" "$IT/run.txt" ||
  it_fail "run accepted plain HTTP on 0.0.0.0 (rc $rc): $(cat "$IT/run.txt")"
# Files that do not load or match are named.
[ "$(check "$(with_http 127.0.0.1:8080 "  http_tls: {cert: tls/web.pem, key: tls/collector.key}")")" = 1 ] &&
  grep -q "^error: collector.http_tls.key $IT/tls/collector.key: .*key values mismatch" "$IT/check.txt" ||
  it_fail "a key that does not match: $(cat "$IT/check.txt")"
[ "$(check "$(with_http 127.0.0.1:8080 "  http_tls: {cert: tls/nothere.pem, key: tls/web.key}")")" = 1 ] &&
  grep -qF "collector.http_tls.cert $IT/tls/nothere.pem" "$IT/check.txt" ||
  it_fail "a missing certificate: $(cat "$IT/check.txt")"
[ "$(check "$(with_http 127.0.0.1:8080 "  http_tls: {cert: tls/web.pem}")")" = 1 ] &&
  grep -qF "collector.http_tls.key: required key is missing" "$IT/check.txt" ||
  it_fail "http_tls without key: $(cat "$IT/check.txt")"
it_ok "plain HTTP refused off loopback (0.0.0.0, [::], 10.1.2.3, a name) naming the keys, allowed by allow_plain_http or with http_tls; bad http_tls files named"

# ---- HTTPS ----
BASE="https://localhost:$IT_HTTP"
CURL=(curl -s --cacert "$IT/tls/ca.pem")
"$WS_BUILD/watchstand-collector" -c "$IT/collector.yaml" run 2>>"$IT/collector.log" &
IT_COLLECTOR_PID=$!
ws_wait_for 20 "${CURL[@]}" -f "$BASE/healthz" || it_fail "collector did not answer over HTTPS"
grep -q "HTTPS on 127.0.0.1:$IT_HTTP" "$IT/collector.log" || it_fail "the start line does not say HTTPS"
code() { rm -f "$IT/body"; "${CURL[@]}" -D "$IT/headers" -o "$IT/body" -w '%{http_code}' "$@"; }
expect() {
  local want=$1 got
  shift
  got=$(code "$@")
  [ "$got" = "$want" ] || it_fail "$* -> $got (want $want): $(head -c 300 "$IT/body")"
}
header() { tr -d '\r' <"$IT/headers" | awk -v h="$1" 'index(tolower($0), tolower(h) ": ") == 1 { sub(/^[^:]*: /, ""); print }'; }
hsts() {
  [ "$(header Strict-Transport-Security)" = "max-age=31536000" ] ||
    it_fail "$1: no HSTS: $(cat "$IT/headers")"
}
expect 200 "$BASE/healthz"; hsts /healthz
expect 200 "$BASE/metrics"; hsts /metrics
expect 200 "$BASE/"; hsts "/ (console)"
expect 404 "$BASE/nothing.js"; hsts "a 404"
expect 401 "$BASE/api/v1/status"; hsts "a 401"
expect 200 -c "$IT/jar" -d '{"login":"alice","password":"alice-password"}' "$BASE/api/v1/login"
hsts /api/v1/login
COOKIE=$(header Set-Cookie)
case "$COOKIE" in ws_session=*"; HttpOnly; SameSite=Strict; Path=/; Secure") ;; *) it_fail "session cookie: '$COOKIE'" ;; esac
CSRF=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrf"])' "$IT/body")
# curl's jar sends a Secure cookie over HTTPS only: the session works.
expect 200 -b "$IT/jar" "$BASE/api/v1/status"
expect 201 -b "$IT/jar" -H "X-CSRF-Token: $CSRF" -d '{"text":"over https"}' "$BASE/api/v1/log"
it_ok "HTTPS: healthz, metrics, console, 404, 401 and login carry HSTS; the session cookie is Secure and works"

# The event stream through TLS.
"${CURL[@]}" -N -D "$IT/sse.headers" -b "$IT/jar" "$BASE/api/v1/events" >"$IT/sse.txt" & IT_PIDS+=($!)
ws_wait_for 20 grep -q "^HTTP/1.1 200" "$IT/sse.headers" || it_fail "the event stream did not open: $(cat "$IT/sse.headers")"
grep -qi "^Strict-Transport-Security: max-age=31536000" "$IT/sse.headers" || it_fail "the event stream has no HSTS"
expect 201 -b "$IT/jar" -H "X-CSRF-Token: $CSRF" -d '{"text":"streamed over tls"}' "$BASE/api/v1/log"
sse() { grep -q '"text":"streamed over tls"' "$IT/sse.txt"; }
ws_wait_for 20 sse || it_fail "the note did not reach /events over TLS: $(cat "$IT/sse.txt")"
expect 200 -b "$IT/jar" -c "$IT/jar" -X POST -H "X-CSRF-Token: $CSRF" "$BASE/api/v1/logout"
[ "$(header Set-Cookie)" = "ws_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure" ] ||
  it_fail "logout cookie: '$(header Set-Cookie)'"
it_ok "the event stream works over TLS; logout clears the cookie with Secure"

# Plain HTTP on the TLS port gets no answer; a client that never starts
# the handshake is closed after http_request_timeout (2s here).
got=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$IT_HTTP/healthz" || true)
[ "$got" = 000 ] || it_fail "plain HTTP on the HTTPS port answered $got"
python3 - "$IT_HTTP" <<'PY' || it_fail "a silent TCP client was not closed"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(120)
assert s.recv(1) == b""
PY
expect 200 "$BASE/healthz"
[ "$(curl -s --cacert "$IT/tls/ca.pem" "$BASE/metrics" | awk '$1 == "watchstand_http_connections_timed_out_total" { print $2 }')" -ge 1 ] ||
  it_fail "the silent client was not counted as timed out"
kill -0 "$IT_COLLECTOR_PID" || it_fail "collector exited"
it_ok "plain HTTP to the HTTPS port gets no answer; a client silent before the handshake is closed and counted"
