# The tcp, file_age and logfile probes end to end: a listening port and a
# closed one, a file with a known mtime, log lines arriving in v_events.
. "$(dirname "$0")/lib.sh"

it_setup host-p
open_port=$(ws_free_port)
closed_port=$(ws_free_port)
python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $open_port)); s.listen(16)
while True:
    c, _ = s.accept(); c.close()
" & IT_PIDS+=($!)
http_port=$(ws_free_port)
mkdir -p "$IT/www" && echo ok >"$IT/www/health"
(cd "$IT/www" && exec python3 -m http.server --bind 127.0.0.1 "$http_port" >/dev/null 2>&1) & IT_PIDS+=($!)
ws_wait_for 10 curl -sf "http://127.0.0.1:$http_port/health" || it_fail "test HTTP server did not start"
touch -d '-3600 seconds' "$IT/backup.dump"
: >"$IT/app.log"
it_agent_config host-p "  - {name: gw, type: tcp, interval: 1s, address: '127.0.0.1:$open_port'}
  - {name: gw-down, type: tcp, interval: 1s, address: '127.0.0.1:$closed_port', timeout: 2s}
  - {name: backup, type: file_age, interval: 1s, path: '$IT/backup.*'}
  - {name: web, type: http, interval: 1s, url: 'http://127.0.0.1:$http_port/health'}
  - {name: web404, type: http, interval: 1s, url: 'http://127.0.0.1:$http_port/missing'}
  - {name: web404ok, type: http, interval: 1s, url: 'http://127.0.0.1:$http_port/missing', expect_status: 404}
  - {name: webdown, type: http, interval: 1s, url: 'http://127.0.0.1:$closed_port/', timeout: 2s}
  - {name: applog, type: logfile, interval: 1s, path: '$IT/app.log', pattern: 'ORDER (REJECTED|TIMEOUT)'}"
it_start_collector
it_start_agent host-p

ws_wait_for 20 it_latest_is host-p gw.up 1 || it_fail "gw.up never 1"
ws_wait_for 10 it_latest_is host-p gw-down.up 0 || it_fail "gw-down.up never 0"
ms=$(it_latest host-p gw.connect_ms)
python3 -c "import sys; sys.exit(0 if 0 <= float('$ms') < 1000 else 1)" || it_fail "connect_ms $ms"
grep -q "probe gw-down: 127.0.0.1:$closed_port: Connection refused" "$IT/host-p.log" ||
  it_fail "the closed port was not logged"
[ "$(grep -c "probe gw-down" "$IT/host-p.log")" -eq 1 ] || it_fail "the closed port was logged more than once"
it_ok "tcp: up with connect_ms on an open port, down (logged once) on a closed one"

ws_wait_for 10 it_latest_is host-p web.up 1 || it_fail "web.up never 1"
ws_wait_for 5 it_latest_is host-p web.status 200 || it_fail "web.status not 200"
it_has host-p web.latency_ms || it_fail "no web.latency_ms"
ws_wait_for 5 it_latest_is host-p web404.up 0 || it_fail "a 404 counted as up"
ws_wait_for 5 it_latest_is host-p web404.status 404 || it_fail "web404.status not 404"
ws_wait_for 5 it_latest_is host-p web404ok.up 1 || it_fail "expect_status 404 not honoured"
ws_wait_for 10 it_latest_is host-p webdown.up 0 || it_fail "webdown.up not 0"
ws_wait_for 5 it_latest_is host-p webdown.status 0 || it_fail "webdown.status not 0"
grep -q "probe webdown: http://127.0.0.1:$closed_port/: " "$IT/host-p.log" || it_fail "refused HTTP not logged"
it_ok "http: 200 up, 404 down (or up when expected), closed port down"

ws_wait_for 10 it_has host-p backup.age_s || it_fail "no backup.age_s"
age=$(ws_psql "select value - extract(epoch from now() - ts) from watchstand.v_samples
  where host = 'host-p' and series = 'backup.age_s' order by ts desc limit 1")
python3 -c "import sys; sys.exit(0 if abs(float('$age') - 3600) < 3 else 1)" || it_fail "age_s off: $age"
it_ok "file_age: age of a file touched an hour ago"

sleep 1.5
printf 'ORDER REJECTED id=1\nheartbeat\nORDER TIMEOUT id=2\n' >>"$IT/app.log"
mv "$IT/app.log" "$IT/app.log.1"
printf 'ORDER REJECTED id=3\n' >>"$IT/app.log.1"
printf 'ORDER REJECTED id=4\n' >"$IT/app.log"
events() { ws_psql "select count(*) from watchstand.v_events where host = 'host-p' and probe = 'applog'"; }
four() { [ "$(events)" -eq 4 ]; }
ws_wait_for 15 four || it_fail "expected 4 events, got $(events)"
sleep 2
[ "$(events)" -eq 4 ] || it_fail "events counted twice: $(events)"
matches=$(ws_psql "select sum(value) from watchstand.v_samples where host = 'host-p' and series = 'applog.matches'")
[ "$matches" = 4 ] || it_fail "applog.matches sums to $matches"
ws_psql "select text from watchstand.v_events where host = 'host-p' order by ts, text" | tee "$IT/events.txt"
grep -q "^ORDER TIMEOUT id=2$" "$IT/events.txt" || it_fail "event text missing"
logged=$(ws_psql "select count(*) from watchstand.v_shift_log where kind = 'event' and actor = 'host-p' and text like 'applog: ORDER %'")
[ "$logged" -eq 4 ] || it_fail "$logged key events in the shift log, expected 4"
it_ok "logfile: 4 matched lines across a rotation, in v_events and the shift log, none twice"
