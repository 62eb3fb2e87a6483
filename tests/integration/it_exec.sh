# Nagios plugins: perfdata into series, Debian's check_dummy, a plugin that
# hangs past its timeout (killed with its children), garbage output.
. "$(dirname "$0")/lib.sh"

it_setup host-x
cp "$WS_ROOT"/tests/fixtures/plugins/* "$IT/"
dummy=/usr/lib/nagios/plugins/check_dummy
[ -x $dummy ] || it_fail "check_dummy missing (monitoring-plugins-basic)"
user_line=""
if [ "$(id -u)" -eq 0 ]; then user_line=", user: nobody"; fi
it_agent_config host-x "  - {name: queue, type: exec, interval: 1s, command: ['$IT/check_fixture']$user_line}
  - {name: halt, type: exec, interval: 1s, command: ['$dummy', '2', 'trading halted']}
  - {name: hang, type: exec, interval: 2s, timeout: 1s, command: ['$IT/check_hang']}
  - {name: junk, type: exec, interval: 1s, command: ['$IT/check_garbage']}"
it_start_collector
it_start_agent host-x

ws_wait_for 20 it_latest_is host-x queue.status 1 || it_fail "queue.status not 1 (warning)"
ws_wait_for 5 it_latest_is host-x queue.depth 42 || it_fail "queue.depth not 42"
ws_wait_for 5 it_latest_is host-x "queue.db_size" 1610612736 || it_fail "'db size'=1.5GB not 1610612736 bytes"
ws_wait_for 5 it_latest_is host-x queue.latency 0.012 || it_fail "latency=12ms not 0.012 s"
ev=$(ws_psql "select text from watchstand.v_events where host = 'host-x' and probe = 'queue'")
echo "queue event: $ev"
echo "$ev" | grep -q "^QUEUE WARNING - depth 42" || it_fail "summary event missing"
if [ -n "$user_line" ]; then
  echo "$ev" | grep -q "uid $(id -u nobody)" || it_fail "plugin did not run as nobody"
fi
it_ok "perfdata: labels, quoted labels, GB and ms normalised; summary as an event"

ws_wait_for 10 it_latest_is host-x halt.status 2 || it_fail "check_dummy 2 not critical"
ws_psql "select text from watchstand.v_events where host = 'host-x' and probe = 'halt'" | grep -q "trading halted" ||
  it_fail "check_dummy summary missing"
n=$(ws_psql "select count(*) from watchstand.v_events where host = 'host-x' and probe = 'halt'")
sleep 2
[ "$(ws_psql "select count(*) from watchstand.v_events where host = 'host-x' and probe = 'halt'")" -eq "$n" ] ||
  it_fail "an unchanged status produced more events"
it_ok "check_dummy: critical, one event while the status holds"

ws_wait_for 15 it_latest_is host-x hang.status 3 || it_fail "hung plugin not unknown"
ws_psql "select text from watchstand.v_events where host = 'host-x' and probe = 'hang'" | grep -q "timed out" ||
  it_fail "timeout event missing"
sleep 1
left=$( (pgrep -f "sleep 300.417" || true) | wc -l)
[ "$left" -le 2 ] || it_fail "$left sleeps left: the plugin's group was not killed"
it_ok "a hanging plugin is killed with its children at its timeout: unknown"

ws_wait_for 10 it_latest_is host-x junk.status 3 || it_fail "garbage output not unknown"
errs=$(it_latest host-x junk.errors)
[ "${errs%.*}" -ge 1 ] || it_fail "garbage not counted as an error"
[ "$(grep -c "probe junk:" "$IT/host-x.log")" -eq 1 ] || it_fail "garbage logged more than once"
kill -0 "$IT_AGENT_PID" || it_fail "agent died"
it_ok "garbage output: unknown, counted, logged once, agent fine"

# Stopping the agent kills a plugin still running, with its children.
kill "$IT_AGENT_PID"; wait "$IT_AGENT_PID" 2>/dev/null || true
sleep 0.5
left=$( (pgrep -f "sleep 300.417" || true) | wc -l)
[ "$left" -eq 0 ] || it_fail "$left plugin processes outlived the agent"
it_ok "no plugin process outlives the agent"
