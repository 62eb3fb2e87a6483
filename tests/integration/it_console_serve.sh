# The console at /: the built-in files with their headers (CSP, ETag and
# 304, Cache-Control), index.html for client routes, JSON 404 under
# /api/, traversal refused; --console DIR serves a folder's files as they
# are now, without a restart, and nothing outside it.
. "$(dirname "$0")/lib.sh"

it_setup
C="$WS_BUILD/watchstand-collector -c $IT/collector.yaml"
echo "alice-password" | $C useradd alice --role watchstander >/dev/null
it_start_collector
BASE="http://127.0.0.1:$IT_HTTP"
SRC="$WS_ROOT/dashboards/console"

# code ARGS...: the status; headers in $IT/headers, body in $IT/body.
code() { rm -f "$IT/body"; curl -s --path-as-is -D "$IT/headers" -o "$IT/body" -w '%{http_code}' "$@"; }
expect() {
  local want=$1 got
  shift
  got=$(code "$@")
  [ "$got" = "$want" ] || it_fail "$* -> $got (want $want): $(head -c 300 "$IT/body")"
}
header() { tr -d '\r' <"$IT/headers" | awk -v h="$1" 'BEGIN { IGNORECASE = 1 } index(tolower($0), tolower(h) ": ") == 1 { sub(/^[^:]*: /, ""); print }'; }
header_is() {
  [ "$(header "$1")" = "$2" ] || it_fail "$1: '$(header "$1")', want '$2' ($3)"
}
is_json_error() {
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "error" in d, d' "$IT/body" ||
    it_fail "$1: not a JSON error: $(head -c 300 "$IT/body")"
}
CSP="default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

# ---- / is index.html, byte for byte, with the headers ----
expect 200 "$BASE/"
cmp -s "$IT/body" "$SRC/index.html" || it_fail "/ is not dashboards/console/index.html"
header_is Content-Type "text/html; charset=utf-8" /
header_is Content-Security-Policy "$CSP" /
header_is X-Content-Type-Options nosniff /
header_is Referrer-Policy no-referrer /
header_is Cache-Control no-cache /
ETAG=$(header ETag)
[[ "$ETAG" =~ ^\"[0-9a-f]{32}\"$ ]] || it_fail "ETag: '$ETAG'"
# The ETag is the content's hash, as built.
[ "\"$(sha256sum "$SRC/index.html" | cut -c1-32)\"" = "$ETAG" ] || it_fail "ETag $ETAG is not the sha256 of index.html"
expect 200 "$BASE/index.html"
header_is ETag "$ETAG" /index.html
expect 304 -H "If-None-Match: $ETAG" "$BASE/"
[ ! -s "$IT/body" ] || it_fail "a 304 with a body"
header_is ETag "$ETAG" "304"
expect 304 -H "If-None-Match: \"0000\", W/$ETAG" "$BASE/"
expect 200 -H 'If-None-Match: "00000000000000000000000000000000"' "$BASE/"
expect 200 -I "$BASE/"
header_is Content-Type "text/html; charset=utf-8" HEAD
# HEAD: the headers of GET, no body on the wire.
python3 - "$IT_HTTP" "$(wc -c <"$SRC/index.html")" <<'PY' || it_fail "HEAD / answered with a body or a wrong length"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(30)
s.sendall(b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
head, _, body = data.partition(b"\r\n\r\n")
assert body == b"", body
assert b"\r\ncontent-length: " + sys.argv[2].encode() + b"\r\n" in head.lower() + b"\r\n", head
PY
it_ok "/: index.html with Content-Type, CSP, nosniff, no-referrer, no-cache and its sha256 as ETag; If-None-Match gives 304"

# ---- the other files, by extension ----
expect 200 "$BASE/app.js"
cmp -s "$IT/body" "$SRC/app.js" || it_fail "/app.js differs from the source"
header_is Content-Type "text/javascript; charset=utf-8" /app.js
header_is Content-Security-Policy "$CSP" /app.js
expect 200 "$BASE/style.css"
header_is Content-Type "text/css; charset=utf-8" /style.css
[ "$(header ETag)" != "$ETAG" ] || it_fail "style.css has index.html's ETag"
expect 404 "$BASE/nothing-here.js"
is_json_error /nothing-here.js
it_ok "/app.js and /style.css with their types and ETags; a missing file with an extension is 404"

# ---- client routes answer index.html; the API keeps its JSON 404 ----
for p in /some/client/route /hosts/q1 /runs/7 /hosts/; do
  expect 200 "$BASE$p"
  cmp -s "$IT/body" "$SRC/index.html" || it_fail "$p is not index.html"
  header_is Content-Security-Policy "$CSP" "$p"
done
TOKEN=$(curl -sf -d '{"login":"alice","password":"alice-password"}' "$BASE/api/v1/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
expect 404 -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/nope"
is_json_error /api/v1/nope
header_is Content-Type application/json /api/v1/nope
for p in /api /api/ /api/v2/x /%61pi/v1/nope; do
  expect 404 "$BASE$p"
  is_json_error "$p"
done
expect 405 -X POST -d x "$BASE/some/route"
is_json_error "POST /some/route"
it_ok "client routes (/hosts/q1, /runs/7, ...) answer index.html; /api/... unknowns stay JSON 404"

# ---- no way out ----
for p in '/../../../etc/passwd' '/%2e%2e/%2e%2e/etc/passwd' '/..%2f..%2fetc%2fpasswd' \
  '/vendor/%2E%2E/%2E%2E/CMakeLists.txt' '/a/..' '/.gitkeep' '/..%5c..%5cetc%5cpasswd' '/index.html%00.js'; do
  expect 400 "$BASE$p"
  is_json_error "$p"
done
it_ok "traversal (.., %2e%2e, %2f, %5c, %00, dot-files) refused with 400"

# ---- --console DIR: read at each request, nothing outside it ----
it_stop_collector
DEV="$IT/console"
mkdir -p "$DEV/vendor"
cp "$SRC/index.html" "$DEV/"
echo 'console.log("v1");' >"$DEV/app.js"
echo 'secret' >"$IT/outside.txt"
ln -s "$IT/outside.txt" "$DEV/leak.txt"
ln -s "$IT" "$DEV/up"
set +e
$C run --console "$IT/no-such-dir" 2>"$IT/err.txt"; rc=$?
set -e
[ $rc -ne 0 ] && grep -q -- "--console $IT/no-such-dir: No such file or directory" "$IT/err.txt" ||
  it_fail "a missing --console folder: rc $rc, $(cat "$IT/err.txt")"
"$WS_BUILD/watchstand-collector" -c "$IT/collector.yaml" run --console "$DEV" 2>>"$IT/collector.log" &
IT_COLLECTOR_PID=$!
ws_wait_for 20 it_healthy || it_fail "collector with --console did not become healthy"
expect 200 "$BASE/app.js"
grep -q v1 "$IT/body" || it_fail "--console: app.js v1 not served: $(cat "$IT/body")"
header_is Content-Type "text/javascript; charset=utf-8" "--console app.js"
header_is Content-Security-Policy "$CSP" "--console app.js"
E1=$(header ETag)
[ "\"$(sha256sum "$DEV/app.js" | cut -c1-32)\"" = "$E1" ] || it_fail "--console ETag $E1"
expect 304 -H "If-None-Match: $E1" "$BASE/app.js"
echo 'console.log("v2");' >"$DEV/app.js"
expect 200 -H "If-None-Match: $E1" "$BASE/app.js"
grep -q v2 "$IT/body" || it_fail "--console: the changed app.js was not served: $(cat "$IT/body")"
[ "$(header ETag)" != "$E1" ] || it_fail "--console: the ETag did not change with the file"
echo 'body{}' >"$DEV/vendor/new.css"
expect 200 "$BASE/vendor/new.css"
header_is Content-Type "text/css; charset=utf-8" "--console vendor/new.css"
expect 200 "$BASE/hosts/q1"
cmp -s "$IT/body" "$DEV/index.html" || it_fail "--console: a client route is not index.html"
expect 404 "$BASE/leak.txt"
expect 404 "$BASE/up/outside.txt"
! grep -q secret "$IT/body" || it_fail "--console served a file outside its folder"
expect 400 "$BASE/%2e%2e/outside.txt"
it_ok "--console DIR: a changed file served at once with a new ETag, a new file too; symlinks out of DIR 404; a missing DIR refused"
