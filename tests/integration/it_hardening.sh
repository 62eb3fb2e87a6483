# Bad input gets a clear answer and the collector keeps going: samples
# that are not numbers, a malformed heartbeat, HTTP errors in JSON, bad
# query parameters named, slow clients and too many connections bounded.
. "$(dirname "$0")/lib.sh"

it_setup host-other
cat >>"$IT/collector.yaml" <<'YAML'
  http_max_connections: 6
  http_request_timeout: 1h
YAML
C="$WS_BUILD/watchstand-collector -c $IT/collector.yaml"
$C check-config >/dev/null || it_fail "check-config refused the config: $($C check-config 2>&1)"
echo "alice-password" | $C useradd alice --role watchstander >/dev/null
it_start_collector
API="http://127.0.0.1:$IT_HTTP/api/v1"

# Samples that are not numbers: the batch is refused naming the series,
# nothing of it is stored, the collector stays up.
bad() {
  local mode=$1 pattern=$2 out
  out=$(python3 "$(dirname "$0")/badclient.py" "$mode" 127.0.0.1 "$IT_LISTEN" "$IT/tls")
  echo "$mode -> $out"
  case "$out" in "error: "*) ;; *) it_fail "$mode: no error frame, got: $out" ;; esac
  echo "$out" | grep -qE "$pattern" || it_fail "$mode: error frame does not say '$pattern': $out"
  ws_wait_for 10 grep -qE "(disconnected|refused): .*$pattern" "$IT/collector.log" ||
    it_fail "$mode: no log line matching '$pattern'"
  it_healthy || it_fail "collector unhealthy after $mode"
}
bad nan-sample "series 'broken\.pv': value is not a finite number"
bad inf-sample "series 'broken\.pv': value is not a finite number"
[ "$(ws_psql "select count(*) from watchstand.samples")" = 0 ] ||
  it_fail "a batch with a NaN or infinite value was stored (in part)"
bad bad-heartbeat "malformed heartbeat: expected 8 bytes"
it_ok "NaN and infinite samples refuse their batch naming the series; a malformed heartbeat ends the link"

# HTTP errors are JSON, with the status the problem deserves.
json_error() { # STATUS PATTERN CURL-ARGS...
  local want=$1 pat=$2 got
  shift 2
  got=$(curl -s -o "$IT/body" -w '%{http_code}' "$@")
  [ "$got" = "$want" ] || it_fail "$* -> $got, expected $want: $(head -c 300 "$IT/body")"
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "error" in d, d' "$IT/body" ||
    it_fail "$* -> not a JSON error: $(head -c 300 "$IT/body")"
  grep -qE "$pat" "$IT/body" || it_fail "$* -> error does not say '$pat': $(cat "$IT/body")"
}
TOKEN=$(curl -sf -d '{"login":"alice","password":"alice-password"}' "$API/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
A=(-H "Authorization: Bearer $TOKEN")
head -c 100000 /dev/zero | tr '\0' x >"$IT/big"
json_error 413 "over 64 KiB" -X POST "${A[@]}" --data-binary @"$IT/big" "$API/log"
json_error 501 "not implemented" -X TRACE "$API/status"
json_error 405 "GET or HEAD only" -X POST "http://127.0.0.1:$IT_HTTP/healthz"
json_error 400 "^\{\"error\":\"since=: invalid input syntax for type interval" "${A[@]}" "$API/log?since=yesterday-ish"
json_error 400 "from=: invalid input syntax for type timestamp" "${A[@]}" "$API/samples?series=fs.fill_pct&from=notadate"
json_error 400 "to=: date/time field value out of range" "${A[@]}" "$API/samples?series=fs.fill_pct&to=13:99"
json_error 400 "reason: a reason is required" -X POST "${A[@]}" -d '{"minutes":30}' "$API/alarms/1/shelve"
json_error 400 "reason: a reason is required" -X POST "${A[@]}" -d '{"minutes":30,"reason":""}' "$API/alarms/1/shelve"
json_error 400 "minutes: missing" -X POST "${A[@]}" -d '{"reason":"vendor"}' "$API/alarms/1/shelve"
json_error 400 "minutes: expected a whole number above 0" -X POST "${A[@]}" -d '{"minutes":"ten","reason":"vendor"}' "$API/alarms/1/shelve"
json_error 400 "minutes: at most 480 \(collector.max_shelve\)" -X POST "${A[@]}" -d '{"minutes":100000,"reason":"vendor"}' "$API/alarms/1/shelve"
json_error 400 "minutes: at most 10080" -X POST "${A[@]}" -d '{"minutes":100000,"reason":"patch"}' "$API/hosts/host-other/out-of-service"
it_ok "413, 501, 405 in JSON; bad since=/from=/to= are 400 naming the parameter; shelve errors name the field"

# Over the connection limit, new connections are closed at once; once
# the idle ones leave, the collector serves again.
python3 - "$IT_HTTP" "$IT/idle.go" >"$IT/idle.out" 2>&1 <<'PY' &
import os, socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for i in range(6)]
print("open", len(socks), flush=True)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.1)
PY
IDLE=$!
IT_PIDS+=("$IDLE")
ws_wait_for 20 grep -q "^open 6" "$IT/idle.out" || it_fail "idle clients did not connect: $(cat "$IT/idle.out")"
answer() { python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(30)
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
print("closed" if s.recv(100) == b"" else "answered")' "$IT_HTTP"; }
[ "$(answer)" = closed ] || it_fail "a connection over http_max_connections was served"
touch "$IT/idle.go"
wait "$IDLE" || true
ws_wait_for 20 it_healthy || it_fail "healthz does not answer once the idle clients left"
[ "$(it_metric watchstand_http_connections_refused_total)" -ge 1 ] ||
  it_fail "refused connections not counted"
it_ok "connections over http_max_connections closed at once and counted; served again after"

# Slow clients: each sends a header byte now and then and never finishes.
# They are closed once a whole request has not arrived in time.
it_stop_collector
sed -i 's/http_request_timeout: 1h/http_request_timeout: 2s/' "$IT/collector.yaml"
it_start_collector
python3 - "$IT_HTTP" >"$IT/slow.out" 2>&1 <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
socks = []
for i in range(4):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /healthz HTTP/1.1\r\n")
    socks.append(s)
print("open", len(socks), flush=True)
# Trickle until the collector closes each of them (or a generous limit).
closed = set()
deadline = time.time() + 120
while len(closed) < len(socks) and time.time() < deadline:
    for i, s in enumerate(socks):
        if i in closed:
            continue
        try:
            s.sendall(b"X")
            s.settimeout(0.01)
            if s.recv(1) == b"":
                closed.add(i)
        except socket.timeout:
            pass
        except OSError:
            closed.add(i)
    time.sleep(0.5)
print("closed", len(closed), flush=True)
PY
SLOW=$!
IT_PIDS+=("$SLOW")
wait "$SLOW" || true
grep -q "^closed 4" "$IT/slow.out" || it_fail "slow clients were not all closed: $(cat "$IT/slow.out")"
it_healthy || it_fail "healthz does not answer after the slow clients"
[ "$(it_metric watchstand_http_connections_timed_out_total)" -ge 4 ] ||
  it_fail "timed-out connections not counted: $(it_metric watchstand_http_connections_timed_out_total)"
kill -0 "$IT_COLLECTOR_PID" || it_fail "collector exited"
it_ok "slow header senders closed after http_request_timeout and counted"
