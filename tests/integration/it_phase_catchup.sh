# A phase that began while no collector led (a failover gap, a restart)
# is caught up by the next leader from the last phase in the shift log:
# logged with when it began, and its checklists opened when it began at
# most 30 minutes ago; older, it is logged and nothing opens; unchanged,
# nothing is logged again. The gap is made by writing the phase the
# previous leader would have logged last ("phase closed") while the
# collector is stopped: the calendar itself is real.
. "$(dirname "$0")/lib.sh"

it_setup
# calendar FROM_MINUTES_AGO: trading began that many minutes ago (UTC),
# for two hours; the rest of the day is closed.
calendar() {
  local from to
  from=$(date -u -d "-$1 minutes" +%H:%M)
  to=$(date -u -d "+120 minutes" +%H:%M)
  cp "$IT/collector.base" "$IT/collector.yaml"
  cat >>"$IT/collector.yaml" <<YAML
calendar:
  timezone: UTC
  phases: [{name: trading, days: daily, from: "$from", to: "$to"}]
  default: closed
checklists:
  - name: open-check
    kind: check
    schedule: {phase: trading}
    steps:
      - {name: notices, manual: "Read the notices"}
      # No agent runs here: the values are rows the test writes (below).
      - {name: x-up, host: host-x, verify: {series: "x.count", when: ">= 1"}}
      - {name: gone-up, host: host-gone, verify: {series: "x.count", when: ">= 1"}}
YAML
  "$WS_BUILD/watchstand-collector" -c "$IT/collector.yaml" check-config >/dev/null ||
    it_fail "the config with trading from $from was refused"
}
# Long, so the agents written below count as alive however slow the start.
sed -i 's/^collector:$/collector:\n  agent_silence: 10m/' "$IT/collector.yaml"
cp "$IT/collector.yaml" "$IT/collector.base"

runs() { ws_psql "select count(*) from watchstand.checklist_runs where checklist = 'open-check'"; }
phases() { ws_psql "select count(*) from watchstand.shift_log where kind = 'phase'"; }
last_phase() { ws_psql "select text from watchstand.shift_log where kind = 'phase' order by id desc limit 1"; }
# The entry the previous leader would have written before the gap.
logged_closed() {
  ws_psql "insert into watchstand.shift_log (kind, actor, text) values ('phase', 'calendar', 'phase closed')" >/dev/null
}
# restart: the collector stopped, then started and leading again.
leads() { curl -sf "http://127.0.0.1:$IT_HTTP/healthz" | grep -q '"role": *"leader"'; }

# A new database: the phase is logged afresh; it did not begin now, so
# nothing opens.
calendar 5
it_start_collector
ws_wait_for 20 leads || it_fail "the collector does not lead"
ws_wait_for 20 test "$(phases)" = 1 || it_fail "no phase entry at the first start"
last_phase | grep -qx "phase trading" || it_fail "first phase entry: $(last_phase)"
[ "$(runs)" = 0 ] || it_fail "a run opened at the first start"
it_ok "first start: 'phase trading' logged, nothing opened"

# The gap: the last logged phase is closed; trading began 5 minutes ago.
# The check verifies at once, and no agent has sent to the new leader yet:
# it takes the newest stored value of an agent the database counts alive
# (host-x, last seen now), not one of an agent gone an hour ago.
it_stop_collector
logged_closed
ws_psql "insert into watchstand.agents (name, role, last_seen) values
    ('host-x', 'db', now()), ('host-gone', 'db', now() - interval '1 hour');
  insert into watchstand.samples (ts, agent_id, series, value)
    select now() - interval '2 s', id, 'x.count', 3 from watchstand.agents where name = 'host-x'
    union all
    select now() - interval '1 hour', id, 'x.count', 3 from watchstand.agents where name = 'host-gone'" >/dev/null
it_start_collector
ws_wait_for 20 test "$(phases)" = 3 || it_fail "the phase that began in the gap was not logged"
last_phase | grep -q "^phase closed -> trading (began .* while no collector led)$" ||
  it_fail "catch-up entry: $(last_phase)"
ws_wait_for 20 test "$(runs)" = 1 || it_fail "the phase's checklist did not open after the gap"
[ "$(ws_psql "select opened_by from watchstand.checklist_runs where checklist = 'open-check'")" = calendar ] ||
  it_fail "the run was not opened by the calendar"
it_ok "a phase begun in the gap: logged ($(last_phase)) and its checklist opened"
run_step() { ws_psql "select state || ' ' || coalesce(value::text, '-') || ' ' || coalesce(error, '-') from watchstand.checklist_steps
  where step = '$1' and run_id = (select id from watchstand.checklist_runs where checklist = 'open-check')"; }
ws_wait_for 10 test "$(run_step x-up)" = "done 3 -" || it_fail "x-up: $(run_step x-up)"
ws_wait_for 10 eval 'run_step gone-up | grep -q "^failed "' || it_fail "gone-up: $(run_step gone-up)"
echo "gone-up: $(run_step gone-up)"
grep -q "checklists: 1 newest values read from the database" "$IT/collector.log" ||
  it_fail "the seeding is not logged"
it_ok "its check verified at once from the stored value of an agent alive (host-x), not of one gone an hour (host-gone)"

# Unchanged across a restart: nothing logged, nothing opened again.
it_stop_collector
it_start_collector
ws_wait_for 20 leads || it_fail "the collector does not lead after a restart"
sleep 2 # the phase timer ran at least once more
[ "$(phases)" = 3 ] || it_fail "an unchanged phase was logged again: $(last_phase)"
[ "$(runs)" = 1 ] || it_fail "a run opened again for an unchanged phase"
it_ok "a restart within the same phase logs and opens nothing"

# Too late: trading began 45 minutes before the collector came back.
it_stop_collector
calendar 45
logged_closed
it_start_collector
ws_wait_for 20 test "$(phases)" = 5 || it_fail "the late phase was not logged"
last_phase | grep -q "^phase closed -> trading (began over 30 minutes ago while no collector led: its checklists are not opened)$" ||
  it_fail "late entry: $(last_phase)"
sleep 2
[ "$(runs)" = 1 ] || it_fail "a run opened 45 minutes after its phase began"
it_ok "a phase begun 45 minutes before: logged, nothing opened"
