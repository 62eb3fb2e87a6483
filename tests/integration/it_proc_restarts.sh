# The process probe's restarts on a server that forks workers: workers coming
# and going are not restarts; the main process killed and started again is
# one; the count going to zero and back is one more.
. "$(dirname "$0")/lib.sh"

it_setup host-r
# A decoy server under a name only this test uses: like a daemon it leads its
# own session; it forks a worker every 0.2 s that lives 0.6 s, and counts the
# workers it forked in a file.
decoy=$IT/wsdecoy$$.py
cat >"$decoy" <<'PY'
import os, signal, sys, time
os.setsid()
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the workers
n = 0
while True:
    if os.fork() == 0:
        time.sleep(0.6)
        os._exit(0)
    n += 1
    with open(sys.argv[1] + '.tmp', 'w') as f:
        f.write(str(n))
    os.rename(sys.argv[1] + '.tmp', sys.argv[1])
    time.sleep(0.2)
PY
start_decoy() {
  rm -f "$IT/forked"
  python3 "$decoy" "$IT/forked" & DECOY=$!
  IT_PIDS+=("$DECOY")
}
forked_at_least() { [ "$(cat "$IT/forked" 2>/dev/null || echo 0)" -ge "$1" ]; }
latest() { it_latest host-r "decoy.$1"; }
latest_is() { it_latest_is host-r "decoy.$1" "$2"; }
# Seen by the probe: at least N samples of decoy.count with workers in them.
busy_scans() {
  [ "$(ws_psql "select count(*) from watchstand.v_samples where host = 'host-r'
    and series = 'decoy.count' and value >= 3 and ts > to_timestamp($1)")" -ge "$2" ]
}

it_agent_config host-r "  - {name: decoy, type: process, interval: 250ms, match: {cmdline: 'wsdecoy$$\\.py'}}"
it_start_collector
start_decoy
it_start_agent host-r

t0=$(date +%s)
ws_wait_for 30 forked_at_least 30 || it_fail "the decoy did not fork its workers"
ws_wait_for 30 busy_scans "$t0" 10 || it_fail "the probe never saw the workers"
ws_wait_for 10 latest_is restarts 0 || it_fail "restarts $(latest restarts) with only workers coming and going"
it_ok "30 workers forked and reaped: restarts stays 0"

# The main process dies (its workers linger as orphans) and is started again.
kill -9 "$DECOY"
wait "$DECOY" 2>/dev/null || true
start_decoy
t1=$(date +%s)
ws_wait_for 30 latest_is restarts 1 || it_fail "restarts $(latest restarts) after the main was replaced, expected 1"
ws_wait_for 30 forked_at_least 30 || it_fail "the new decoy did not fork its workers"
ws_wait_for 30 busy_scans "$t1" 10 || it_fail "the probe never saw the new workers"
latest_is restarts 1 || it_fail "restarts $(latest restarts) after workers of the new main, expected 1"
it_ok "the main killed and started again: restarts 1, its workers still no more"

# Stopped until the probe sees none, then started: zero and back is one more.
kill "$DECOY"
wait "$DECOY" 2>/dev/null || true
ws_wait_for 30 latest_is count 0 || it_fail "count never 0 with the decoy stopped"
start_decoy
ws_wait_for 30 latest_is restarts 2 || it_fail "restarts $(latest restarts) after zero and back, expected 2"
it_ok "the count to zero and back: restarts 2"
