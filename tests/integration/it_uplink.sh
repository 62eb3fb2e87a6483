# The agent's uplink with two collectors on one database (protocol.md,
# "Failover and backoff"; agent.md): it connects to the first, fails over
# to the second when the first goes, backs off while both are down (each
# round's wait at least 3/4 of 1 s, 2 s, 4 s: the timer never fires early,
# so the lower bounds cannot race), stays on the second when the first
# comes back and returns to the first (preferred) once it loses that link;
# that loss is the silent link: the second collector is frozen (SIGSTOP,
# the TCP connection stays open but nothing is answered) and the agent
# drops it after 6 s without a frame (the collector beats every second). Numbered log lines written before,
# during and after (a logfile probe makes each an event) are stored
# exactly once, and no (host, series, ts) is stored twice.
. "$(dirname "$0")/lib.sh"

H=up-$$
it_setup "$H"
A_PORT=$IT_LISTEN
B_PORT=$(ws_free_port)
B_HTTP=$(ws_free_port)
sed -e "s/127.0.0.1:$IT_LISTEN/127.0.0.1:$B_PORT/" -e "s/127.0.0.1:$IT_HTTP/127.0.0.1:$B_HTTP/" \
  -e "s#state_dir: .*#state_dir: $IT/state-b#" "$IT/collector.yaml" >"$IT/collector-b.yaml"
B_PID=
start_b() {
  "$WS_BUILD/watchstand-collector" -c "$IT/collector-b.yaml" run 2>>"$IT/collector-b.log" &
  B_PID=$!
  IT_PIDS+=("$B_PID")
  ws_wait_for 20 curl -sf "http://127.0.0.1:$B_HTTP/healthz" || it_fail "collector B did not become healthy"
}
stop_b() {
  kill "$B_PID"
  wait "$B_PID" 2>/dev/null || true
}
# A frozen collector would never take the cleanup's SIGTERM.
it_on_exit 'kill -CONT $B_PID 2>/dev/null'
b_fail() {
  kill -CONT "$B_PID" 2>/dev/null
  it_fail "$@"
}

it_agent_config "$H" "  - {name: marks, type: logfile, interval: 500ms, path: $IT/marks.log, pattern: 'mark [0-9]+', max_events: 100}
  - {name: fs, type: filesystem, interval: 500ms, path: $IT}"
sed -i "s/collectors: .*/collectors: [\"127.0.0.1:$A_PORT\", \"127.0.0.1:$B_PORT\"]/" "$IT/$H.yaml"
: >"$IT/marks.log"
LOG=$IT/$H.log

# lines_after N PATTERN: how many lines after line N of the agent's log match.
lines_after() { tail -n +$(($1 + 1)) "$LOG" | grep -c -- "$2" || true; }
nlines() { wc -l <"$LOG"; }
has_after() { [ "$(lines_after "$1" "$2")" -gt 0 ]; }
count_after_ge() { [ "$(lines_after "$1" "$2")" -ge "$3" ]; }
MARK=0
mark() { # writes N numbered lines
  local i
  for ((i = 0; i < $1; i++)); do MARK=$((MARK + 1)) && echo "mark $MARK" >>"$IT/marks.log"; done
}
marks_stored() {
  [ "$(ws_psql "select count(distinct text) from watchstand.v_events where host = '$H' and probe = 'marks'")" -ge "$MARK" ]
}

it_start_collector
start_b
it_start_agent "$H"
ws_wait_for 30 has_after 0 "connected to collector 127.0.0.1:$A_PORT," || it_fail "agent did not connect to the first collector"
it_ok "agent connected to the preferred collector A"
# The logfile probe starts at the end of the file: once a run is stored,
# later lines are read.
ws_wait_for 30 it_has "$H" marks.matches || it_fail "the logfile probe reported nothing"
mark 3
ws_wait_for 30 marks_stored || it_fail "marks not stored via A"

# 1. A goes: the agent fails over to B at once (A refuses, B is next).
n=$(nlines)
it_stop_collector
ws_wait_for 30 has_after "$n" "connected to collector 127.0.0.1:$B_PORT," || it_fail "agent did not fail over to B"
has_after "$n" "lost collector 127.0.0.1:$A_PORT" || it_fail "agent did not log the loss of A"
it_ok "A stopped: agent failed over to B"
mark 3
ws_wait_for 30 marks_stored || it_fail "marks not stored via B"

# 2. B goes too: rounds A, B, wait; the waits double from 1 s.
n=$(nlines)
stop_b
ws_wait_for 40 count_after_ge "$n" "uplink: collector 127.0.0.1:$B_PORT: " 4 ||
  it_fail "fewer than 4 failed rounds: $(tail -n +$((n + 1)) "$LOG")"
mark 3 # spooled while both are down
tail -n +$((n + 1)) "$LOG" | grep "uplink: \(lost \)\?collector 127.0.0.1:" >"$IT/rounds.txt"
python3 - "$IT/rounds.txt" "$A_PORT" "$B_PORT" <<'PY' || it_fail "reconnect attempts did not back off"
import sys, datetime
path, a, b = sys.argv[1:]
ev = []
for line in open(path):
    ts = datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ")
    ev.append((ts, "A" if "127.0.0.1:%s" % a in line else "B"))
# The wait after each failed round (B refused) until the next try of A.
gaps = [(ev[i + 1][0] - ev[i][0]).total_seconds() for i in range(1, len(ev) - 1)
        if ev[i][1] == "B" and ev[i + 1][1] == "A"]
print("waits after failed rounds:", ["%.2f" % g for g in gaps])
ok = len(gaps) >= 3
for k, g in enumerate(gaps[:3]):
    need = 0.75 * 2 ** k
    if g < need:
        print("wait %d was %.3f s, at least %.2f s expected" % (k + 1, g, need))
        ok = False
sys.exit(0 if ok else 1)
PY
it_ok "both down: the waits between rounds back off (>= 0.75, 1.5, 3 s)"

# 3. B comes back first: the agent takes it on its next round.
n=$(nlines)
start_b
ws_wait_for 40 has_after "$n" "connected to collector 127.0.0.1:$B_PORT," || it_fail "agent did not reconnect to B"
mark 3
ws_wait_for 30 marks_stored || it_fail "marks spooled while both were down not stored via B"
it_ok "B back: agent reconnected to B and replayed its spool"

# 4. A comes back: the agent stays on B (it returns to the preferred
# collector only when it loses a link). Then B freezes: the agent drops
# the silent link after 6 s and goes back to A.
n=$(nlines)
it_start_collector
mark 3
ws_wait_for 30 marks_stored || it_fail "marks not stored while A came back"
# The link to B is in its fast mode (B beats every second) before B freezes.
fast_b() {
  local c
  c=$(grep -n "connected to collector 127.0.0.1:$B_PORT," "$LOG" | tail -1 | cut -d: -f1)
  tail -n +"$c" "$LOG" | grep -q "collector 127.0.0.1:$B_PORT beats every second"
}
ws_wait_for 20 fast_b || it_fail "the agent did not see B beat every second"
kill -STOP "$B_PID"
mark 3 # sent to the frozen B, never acknowledged by it
ws_wait_for 60 has_after "$n" "connected to collector 127.0.0.1:$A_PORT," || b_fail "agent did not return to A after B froze"
drop=$(tail -n +$((n + 1)) "$LOG" | grep -n "lost collector 127.0.0.1:$B_PORT: no frame for 6 s" | head -1 | cut -d: -f1)
back=$(tail -n +$((n + 1)) "$LOG" | grep -n "connected to collector 127.0.0.1:$A_PORT," | head -1 | cut -d: -f1)
[ -n "$drop" ] || b_fail "agent did not log dropping the silent link to B: $(tail -n +$((n + 1)) "$LOG")"
[ "$drop" -lt "$back" ] || b_fail "agent went back to A (log line $back) before losing B (line $drop): it left a working link"
# The first try after the loss is the preferred A, not B again.
next=$(tail -n +$((n + drop + 1)) "$LOG" | grep -m1 "collector 127.0.0.1:")
case $next in
*"connected to collector 127.0.0.1:$A_PORT,"*) ;;
*) b_fail "after losing B the agent did not go to the preferred A first: $next" ;;
esac
kill -CONT "$B_PID"
it_ok "B frozen: agent logged the silent link, dropped it and returned to the preferred A"
mark 3
ws_wait_for 30 marks_stored || it_fail "marks not all stored after the return to A"

# Nothing lost, nothing twice.
dup=$(ws_psql "select count(*) from (select text from watchstand.v_events where host = '$H' and probe = 'marks'
  group by text having count(*) > 1) x")
[ "$dup" -eq 0 ] || it_fail "$dup mark lines stored more than once"
n=$(ws_psql "select count(*) from watchstand.v_events where host = '$H' and probe = 'marks'")
[ "$n" -eq "$MARK" ] || it_fail "$n mark events stored for $MARK lines written"
sum=$(ws_psql "select coalesce(sum(value), 0)::bigint from watchstand.v_samples where host = '$H' and series = 'marks.matches'")
[ "$sum" -eq "$MARK" ] || it_fail "marks.matches adds up to $sum, not $MARK"
dup=$(ws_psql "select count(*) from (select 1 from watchstand.v_samples where host = '$H'
  group by series, ts having count(*) > 1) x")
[ "$dup" -eq 0 ] || it_fail "$dup (host, series, ts) stored more than once"
it_ok "all $MARK numbered lines stored exactly once; no sample stored twice"
