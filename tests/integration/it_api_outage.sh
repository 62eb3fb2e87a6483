# The API while PostgreSQL is down or stuck: calls answer 503 in JSON at
# once, reads the collector can serve from memory answer 200 marked
# stale, and nothing the API gave up on is applied later.
. "$(dirname "$0")/lib.sh"

it_setup
C="$WS_BUILD/watchstand-collector -c $IT/collector.yaml"
echo "alice-password" | $C useradd alice --role watchstander >/dev/null
it_start_collector
API="http://127.0.0.1:$IT_HTTP/api/v1"
TOKEN=$(curl -sf -d '{"login":"alice","password":"alice-password"}' "$API/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
A=(-H "Authorization: Bearer $TOKEN")

# call EXPECTED-STATUS CURL-ARGS...: the answer's body is in $IT/body. A
# call that hangs is cut after a minute and fails (no timing is asserted).
call() {
  local want=$1 got
  shift
  got=$(curl -s --max-time 60 -o "$IT/body" -w '%{http_code}' "$@") || true
  [ "$got" = "$want" ] || it_fail "$* -> $got, expected $want: $(head -c 300 "$IT/body" 2>/dev/null)"
}

# 1. The database stops (fast shutdown: connections are terminated).
ws_pg_stop "$IT/pg"
ws_wait_for 30 grep -q "database: .*retrying" "$IT/collector.log" || it_fail "collector did not notice the outage"
call 503 -X POST "${A[@]}" -d '{"text":"written during the outage"}' "$API/log"
grep -q '"error":"the database is unreachable"' "$IT/body" || it_fail "503 body: $(cat "$IT/body")"
call 503 -d '{"login":"alice","password":"alice-password"}' "$API/login"
grep -q '"error":"the database is unreachable"' "$IT/body" || it_fail "login 503 body: $(cat "$IT/body")"
call 503 -X POST "${A[@]}" "$API/alarms/1/ack"
call 503 "${A[@]}" "$API/log"
call 200 "${A[@]}" "$API/status"
python3 - "$IT/body" <<'PY' || it_fail "status while down: $(cat "$IT/body")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["stale"] is True and d["database"] == "down" and d["alarms"] is None, d
assert "phase" in d and d["user"] == "alice", d
PY
kill -0 "$IT_COLLECTOR_PID" || it_fail "collector exited"
it_ok "database down: writes and reads answer 503 in JSON, status 200 marked stale"

# The database returns: what was refused was never applied.
WS_PGPORT_WANT=$WS_PGPORT ws_pg_start "$IT/pg"
ws_wait_for 30 it_healthy || it_fail "collector did not reconnect"
call 201 -X POST "${A[@]}" -d '{"text":"written after the outage"}' "$API/log"
[ "$(ws_psql "select count(*) from watchstand.shift_log where text = 'written during the outage'")" = 0 ] ||
  it_fail "a note refused with 503 was written later"
[ "$(ws_psql "select count(*) from watchstand.shift_log where text = 'written after the outage'")" = 1 ] ||
  it_fail "the note after the outage is not in the log once"
call 200 "${A[@]}" "$API/status"
grep -q '"stale":false' "$IT/body" || it_fail "status after the outage: $(cat "$IT/body")"
it_ok "after the outage: nothing refused was applied; writes work again"

# 2. The database is up but stuck: a lock holds the shift log against
# writes (SHARE: the collector's own reads of the log go on). The first
# note waits on the lock, or behind another statement of the collector
# that does (the 5 s expiry writes the log too); a call queued behind a
# stuck statement is given up on with 503 and never applied; a call
# that was sent completes when the lock goes.
mkfifo "$IT/lock.in"
psql "$WS_DSN" -X -q -v ON_ERROR_STOP=1 <"$IT/lock.in" >"$IT/lock.out" 2>&1 &
LOCKER=$!
IT_PIDS+=("$LOCKER")
exec 7>"$IT/lock.in"
echo "BEGIN; LOCK TABLE watchstand.shift_log IN SHARE MODE; SELECT 'locked';" >&7
ws_wait_for 30 grep -q locked "$IT/lock.out" || it_fail "could not take the lock: $(cat "$IT/lock.out")"
curl -s --max-time 120 -o "$IT/first" -w '%{http_code}' -X POST "${A[@]}" \
  -d '{"text":"first, waits on the lock"}' "$API/log" >"$IT/first.code" &
FIRST=$!
IT_PIDS+=("$FIRST")
waiting() {
  [ "$(ws_psql "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and query like '%shift_log%'")" -ge 1 ]
}
ws_wait_for 30 waiting || it_fail "nothing of the collector's waits on the lock"
# A client that goes away while its call waits: evhttp leaves the request
# to the collector, which must free it (the ASan pass reports a leak).
python3 - "$IT_HTTP" "$TOKEN" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
body = b'{"text":"a ghost: its client left"}'
s.sendall(b"POST /api/v1/log HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
          sys.argv[2].encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
s.close()
PY
call 503 -X POST "${A[@]}" -d '{"text":"second, given up on"}' "$API/log"
grep -q "nothing was applied" "$IT/body" || it_fail "busy 503 body: $(cat "$IT/body")"
echo "COMMIT;" >&7
exec 7>&-
wait "$FIRST" || true
first=$(cat "$IT/first.code")
case "$first" in
  201) want_first=1 ;;
  503) want_first=0 ;;
  *) it_fail "the first note: $first $(cat "$IT/first")" ;;
esac
# Statements go in order: once a later note is written, nothing queued
# before it can still come.
call 201 -X POST "${A[@]}" -d '{"text":"third, after the lock"}' "$API/log"
[ "$(ws_psql "select count(*) from watchstand.shift_log where text = 'second, given up on'")" = 0 ] ||
  it_fail "a note given up on with 503 was written later"
[ "$(ws_psql "select count(*) from watchstand.shift_log where text like 'a ghost%'")" = 0 ] ||
  it_fail "the note of a client that left was written"
[ "$(ws_psql "select count(*) from watchstand.shift_log where text = 'first, waits on the lock'")" = "$want_first" ] ||
  it_fail "the first note (answered $first) is in the log a different number of times than $want_first"
it_ok "a stuck database: a queued call answers 503 and is never applied; the one on the wire completes"
