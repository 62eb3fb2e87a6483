# Users and the HTTP API: login, roles, alarms and acknowledgement with the
# right status codes, the shift log (notes), cookie sessions with CSRF.
. "$(dirname "$0")/lib.sh"

it_setup host-a
cat >>"$IT/collector.yaml" <<'YAML'
rules:
  - name: decoy-down
    match: {series: decoy.count}
    levels: [{when: "< 1", severity: critical}]
    runbook: "start the decoy again"
  - name: disk-high
    match: {series: fs.fill_pct}
    levels: [{when: ">= 0", severity: minor}]
YAML
C="$WS_BUILD/watchstand-collector -c $IT/collector.yaml"
echo "alice-password" | $C useradd alice --role watchstander --name "Alice" --phone "+8613800000000" >/dev/null
echo "victor-password" | $C useradd victor --role viewer >/dev/null
set +e
echo "short" | $C useradd bob --role watchstander 2>/dev/null; rc1=$?
echo "long-enough" | $C useradd bob --role boss 2>/dev/null; rc2=$?
set -e
[ $rc1 -ne 0 ] && [ $rc2 -ne 0 ] || it_fail "useradd accepted a short password or a bad role"
hash=$(ws_psql "select password_hash from watchstand.users where login = 'alice'")
case "$hash" in '$y$'*) ;; *) it_fail "password not hashed with yescrypt: $hash" ;; esac

# A comm of this run's own (at most 15 characters): nothing else counts.
DECOY_COMM=wsd$$
cp /bin/sleep "$IT/$DECOY_COMM"
"$IT/$DECOY_COMM" 600 & DECOY=$!; IT_PIDS+=($DECOY)
it_agent_config host-a "  - {name: decoy, type: process, interval: 1s, match: {comm: $DECOY_COMM}}
  - {name: fs, type: filesystem, interval: 1s, path: /}"
it_start_collector
it_start_agent host-a
ws_wait_for 20 it_latest_is host-a decoy.count 1 || it_fail "no samples"
kill "$DECOY"; wait "$DECOY" 2>/dev/null || true
raised() { [ -n "$(ws_psql "select id from watchstand.alarms where rule = 'decoy-down'")" ]; }
ws_wait_for 10 raised || it_fail "no alarm"
ID=$(ws_psql "select id from watchstand.alarms where rule = 'decoy-down'")
disk() { [ -n "$(ws_psql "select id from watchstand.alarms where rule = 'disk-high'")" ]; }
ws_wait_for 10 disk || it_fail "no disk-high alarm"
ID2=$(ws_psql "select id from watchstand.alarms where rule = 'disk-high'")

API="http://127.0.0.1:$IT_HTTP/api/v1"
code() { curl -s -o "$IT/body" -w '%{http_code}' "$@"; }
expect() { local want=$1; shift; local got; got=$(code "$@"); [ "$got" = "$want" ] || it_fail "$* -> $got (want $want): $(cat "$IT/body")"; }

expect 401 "$API/alarms"
expect 400 -X POST -d 'not json' "$API/login"
expect 401 -X POST -d '{"login":"alice","password":"wrong"}' "$API/login"
expect 200 -X POST -c "$IT/cookies" -d '{"login":"alice","password":"alice-password"}' "$API/login"
TOKEN=$(python3 -c "import json,sys; print(json.load(open('$IT/body'))['token'])")
CSRF=$(python3 -c "import json,sys; print(json.load(open('$IT/body'))['csrf'])")
expect 200 -X POST -d '{"login":"victor","password":"victor-password"}' "$API/login"
VTOKEN=$(python3 -c "import json,sys; print(json.load(open('$IT/body'))['token'])")
A=(-H "Authorization: Bearer $TOKEN")
V=(-H "Authorization: Bearer $VTOKEN")

expect 200 "${A[@]}" "$API/alarms"
python3 - "$IT/body" "$ID" <<'PY' || it_fail "alarm list"
import json, sys
rows = json.load(open(sys.argv[1]))
a = [r for r in rows if r["id"] == sys.argv[2]][0]
assert a["severity"] == "critical" and a["state"] == "active-unacknowledged", a
assert a["runbook"] == "start the decoy again", a
PY
expect 200 "${A[@]}" "$API/status"
grep -q '"active-unacknowledged":2' "$IT/body" || it_fail "status counts: $(cat "$IT/body")"
expect 403 -X POST "${V[@]}" "$API/alarms/$ID/ack"
expect 400 -X POST "${A[@]}" -d 'nope' "$API/alarms/$ID/ack"
expect 404 -X POST "${A[@]}" "$API/alarms/999999/ack"
expect 200 -X POST "${A[@]}" -d '{"comment":"restarting it"}' "$API/alarms/$ID/ack"
grep -q '"state":"active-acknowledged"' "$IT/body" || it_fail "ack: $(cat "$IT/body")"
expect 409 -X POST "${A[@]}" "$API/alarms/$ID/ack"
it_ok "login, roles and ack: 401, 400, 403, 404, 200, 409"

"$IT/$DECOY_COMM" 600 & IT_PIDS+=($!)
closed() { [ "$(ws_psql "select state from watchstand.alarms where id = $ID")" = closed ]; }
ws_wait_for 10 closed || it_fail "acknowledged alarm not closed when it cleared"
ws_psql "select actor || ': ' || text from watchstand.v_shift_log where text like 'ACK%'" | tee "$IT/ack.txt"
grep -q "^alice: ACK decoy-down on host-a: decoy.count -- restarting it" "$IT/ack.txt" || it_fail "ack not logged under alice"
expect 409 -X POST "${A[@]}" "$API/alarms/$ID/ack"
it_ok "acknowledged then restored -> closed; the ack is in the log under its actor"

# Shelving: a reason is required, bounded by max_shelve, ends by itself.
expect 400 -X POST "${A[@]}" -d '{"minutes":30}' "$API/alarms/$ID2/shelve"
expect 400 -X POST "${A[@]}" -d '{"minutes":30,"reason":""}' "$API/alarms/$ID2/shelve"
expect 400 -X POST "${A[@]}" -d '{"minutes":100000,"reason":"too long"}' "$API/alarms/$ID2/shelve"
expect 403 -X POST "${V[@]}" -d '{"minutes":30,"reason":"x"}' "$API/alarms/$ID2/shelve"
expect 409 -X POST "${A[@]}" "$API/alarms/$ID2/unshelve"
expect 200 -X POST "${A[@]}" -d '{"minutes":30,"reason":"vendor working on the feed"}' "$API/alarms/$ID2/shelve"
grep -q '"state":"shelved"' "$IT/body" || it_fail "shelve: $(cat "$IT/body")"
expect 409 -X POST "${A[@]}" -d '{"minutes":30,"reason":"again"}' "$API/alarms/$ID2/shelve"
expect 200 -X POST "${A[@]}" "$API/alarms/$ID2/unshelve"
grep -q '"state":"active-unacknowledged"' "$IT/body" || it_fail "unshelve: $(cat "$IT/body")"
expect 200 -X POST "${A[@]}" -d '{"minutes":1,"reason":"short"}' "$API/alarms/$ID2/shelve"
ws_psql "update watchstand.alarms set shelved_until = now() - interval '1 second' where id = $ID2" >/dev/null
unshelved() { [ "$(ws_psql "select state from watchstand.alarms where id = $ID2")" = active-unacknowledged ]; }
ws_wait_for 15 unshelved || it_fail "shelving did not end by itself"
ws_psql "select actor || ': ' || text from watchstand.v_shift_log where text like '%SHELVE%' order by id" | tee "$IT/shelve.txt"
grep -q "^alice: SHELVE disk-high on host-a: fs.fill_pct for 30 min -- vendor working on the feed" "$IT/shelve.txt" || it_fail "shelve not logged"
grep -q "^system: UNSHELVE (shelving time over)" "$IT/shelve.txt" || it_fail "auto-unshelve not logged"
it_ok "shelve needs a reason and a bounded time, unshelves by hand and by itself, all logged"

# Out of service: the host's alarms are held back, then looked at afresh.
expect 403 -X POST "${V[@]}" -d '{"minutes":60,"reason":"patch"}' "$API/hosts/host-a/out-of-service"
expect 400 -X POST "${A[@]}" -d '{"minutes":60}' "$API/hosts/host-a/out-of-service"
expect 404 -X POST "${A[@]}" -d '{"minutes":60,"reason":"patch"}' "$API/hosts/nohost/out-of-service"
expect 200 -X POST "${A[@]}" -d '{"minutes":60,"reason":"kernel patch"}' "$API/hosts/host-a/out-of-service"
[ "$(ws_psql "select state from watchstand.alarms where id = $ID2")" = out-of-service ] || it_fail "alarm not out of service"
expect 200 -X POST "${A[@]}" "$API/hosts/host-a/in-service"
[ "$(ws_psql "select state from watchstand.alarms where id = $ID2")" = closed ] || it_fail "held-back alarm not closed"
fresh() { [ "$(ws_psql "select count(*) from watchstand.alarms where rule = 'disk-high' and state = 'active-unacknowledged'")" = 1 ]; }
ws_wait_for 10 fresh || it_fail "not evaluated afresh after in-service"
expect 200 -X POST "${A[@]}" -d '{"minutes":1,"reason":"short patch"}' "$API/hosts/host-a/out-of-service"
ws_psql "update watchstand.hosts_out_of_service set until = now() - interval '1 second'" >/dev/null
over() { [ "$(ws_psql "select count(*) from watchstand.hosts_out_of_service")" = 0 ] && fresh; }
ws_wait_for 15 over || it_fail "out of service did not end by itself"
ws_psql "select text from watchstand.v_shift_log where text like '%SERVICE%' order by id" | tee "$IT/oos.txt"
grep -q "OUT OF SERVICE host-a for 60 min -- kernel patch" "$IT/oos.txt" || it_fail "oos not logged"
grep -q "IN SERVICE host-a (time over)" "$IT/oos.txt" || it_fail "oos end not logged"
it_ok "out of service holds a host's alarms back, ends by hand or by itself, logged"

expect 401 "$API/events"
curl -sN "${V[@]}" "$API/events" >"$IT/sse.txt" & IT_PIDS+=($!)
sleep 0.5
expect 201 -X POST "${A[@]}" -d '{"text":"line 2 to CFFEX flapping, vendor called"}' "$API/log"
sse() { grep -q '"text":"line 2 to CFFEX flapping, vendor called"' "$IT/sse.txt"; }
ws_wait_for 5 sse || it_fail "the note did not reach /events: $(cat "$IT/sse.txt")"
grep -q "^event: note$" "$IT/sse.txt" || it_fail "SSE event type"
expect 403 -X POST "${V[@]}" -d '{"text":"viewer note"}' "$API/log"
expect 400 -X POST "${A[@]}" -d '{"txt":"x"}' "$API/log"
expect 200 "${V[@]}" "$API/log?kind=note"
grep -q "vendor called" "$IT/body" || it_fail "note not in GET /log"
# The console's way: cookie plus CSRF header for writes.
expect 401 -X POST -b "$IT/cookies" -d '{"text":"no csrf"}' "$API/log"
expect 201 -X POST -b "$IT/cookies" -H "X-CSRF-Token: $CSRF" -d '{"text":"with csrf"}' "$API/log"
expect 200 "${V[@]}" "$API/series?host=host-a"
grep -q '"series":"fs.fill_pct"' "$IT/body" || it_fail "series: $(head -c 300 "$IT/body")"
expect 400 "${V[@]}" "$API/samples"
expect 200 "${V[@]}" "$API/samples?series=decoy.count&host=host-a"
python3 -c "import json; r=json.load(open('$IT/body')); assert len(r) > 3 and r[0]['series'] == 'decoy.count', r[:2]" || it_fail "samples"
expect 200 -b "$IT/cookies" "$API/agents"
grep -q '"name":"host-a"' "$IT/body" || it_fail "agents"
grep -q '"silent":"f"' "$IT/body" || it_fail "agents: host-a is sampling, not silent: $(cat "$IT/body")"
# What the console reads: the role, the calendar's zone, the next change
# of phase (none without a calendar); a day as buckets of step= seconds.
expect 200 "${A[@]}" "$API/status"
python3 -c "import json; s=json.load(open('$IT/body')); assert (s['user'], s['role'], s['timezone'], s['next_phase']) == ('alice', 'watchstander', 'UTC', None), s" ||
  it_fail "status: $(cat "$IT/body")"
expect 400 "${V[@]}" "$API/samples?series=decoy.count&step=0"
grep -q 'step=: expected whole seconds' "$IT/body" || it_fail "step=0: $(cat "$IT/body")"
expect 400 "${V[@]}" "$API/samples?series=decoy.count&step=1m"
expect 200 "${V[@]}" "$API/samples?series=decoy.count&host=host-a&step=3600"
python3 - "$IT/body" <<'PY' || it_fail "samples by the hour: $(cat "$IT/body")"
import json, sys
rows = json.load(open(sys.argv[1]))
assert 1 <= len(rows) <= 2, rows  # the last hour: one or two whole hours
for r in rows:
    assert r["ts"].endswith(":00:00+00"), r  # a bucket starts on the hour
    assert 0 <= float(r["value"]) <= 1, r    # the average of 1s and 0s
PY
"$WS_BUILD/watchstand-collector" -c "$IT/collector.yaml" verify-log | grep -q "chain intact" || it_fail "chain"
it_ok "notes (pushed to /events), cookie sessions need their CSRF token for writes, the chain stays intact"
