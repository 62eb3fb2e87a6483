#!/usr/bin/env bash
# Every query of the Grafana dashboards (dashboards/grafana/*.json: panels,
# template variables, annotations), with Grafana's macros and variables
# expanded as Grafana does (grafana_sql.py), runs against a real database
# filled through the real pipeline, as a role that may read the v_* views
# and nothing else: a query that reads a table, fails, or comes back empty
# where the data says it should not, fails the test.
#
# The data: two agents (host-a, host-b) with lines on a veth pair of the
# test's own under generated traffic, a filling tmpfs, the private
# PostgreSQL (database size against a quota) and a log file; alarms raised
# by the collector's rules, acknowledged through the API, paged to a
# receiver that answers 200 on one channel and 400 on another; checklist
# runs done and failed through the API; a handover signed and accepted.
# What the pipeline cannot make in a minute (yesterday's two shifts with an
# alarm flood, acknowledgement times, a drill) is seeded by SQL.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || it_fail "needs root (ip netns, veth, mount) for an interface of its own"
GRAFANA=$WS_ROOT/dashboards/grafana
C="$WS_BUILD/watchstand-collector -c $IT/collector.yaml"

it_veth_pair
ip netns exec "$NS" python3 "$(dirname "$0")/traffic.py" --sink "$PEER_IP" 5001 \
  2>>"$IT/sink.log" &
IT_PIDS+=($!)
sink_up() { ip netns exec "$NS" ss -Hltn "sport = :5001" | grep -q .; }
ws_wait_for 10 sink_up || it_fail "traffic sink in $NS not listening"

# A small tmpfs that the test fills while the agent watches it.
mkdir "$IT/fs"
mount -t tmpfs -o size=4m "ws-it-$$" "$IT/fs" || it_fail "cannot mount a tmpfs on $IT/fs"
it_on_exit "umount '$IT/fs' 2>/dev/null"
head -c 1048576 /dev/zero >"$IT/fs/ballast"
: >"$IT/app.log"

it_setup host-a host-b
for u in "alice watchstander" "bob lead"; do
  set -- $u
  echo "$1-password" | $C useradd "$1" --role "$2" >/dev/null
done
RX_PORT=$(ws_free_port)
python3 "$WS_ROOT/tests/integration/receiver.py" "$RX_PORT" "$IT/rx.jsonl" 2>>"$IT/receiver.log" &
IT_PIDS+=($!)
cat >>"$IT/collector.yaml" <<YAML
calendar:
  timezone: UTC
  phases: [{name: trading, days: daily, from: "00:00", to: "24:00"}]
  default: closed
shifts:
  - {name: day, from: "00:00", to: "12:00"}
  - {name: night, from: "12:00", to: "00:00"}
roster:
  - {shift: day, on_duty: [alice], lead: bob}
  - {shift: night, on_duty: [alice], lead: bob}
rules:
  - {name: line-busy, match: {series: "*.util_pct"}, levels: [{when: "> 5", severity: major}]}
  - {name: fs-fill, match: {series: "fs.fill_pct"}, levels: [{when: "> 40", severity: minor}]}
notify:
  secret_file: notify.secret
  retry: {first: 1s, max: 1s, deadline: 3s}
  channels:
    - {name: hook, type: webhook, url: "http://127.0.0.1:$RX_PORT/ok/hook", group_wait: 0s}
    - {name: pager, type: webhook, url: "http://127.0.0.1:$RX_PORT/bad/pager", group_wait: 0s}
  routes:
    - {name: desk, match: {severity: ">= minor"}, escalation: [{channels: [hook, pager], to: [alice]}]}
checklists:
  - name: line-check
    kind: check
    steps:
      - {name: fs-ok, host: host-a, verify: {series: "fs.fill_pct", when: "< 99"}}
      - {name: notices, manual: "Read the exchange's notices"}
  - name: line-idle
    kind: check
    steps:
      - {name: idle, host: host-a, verify: {series: "line.util_pct", when: "< 0"}}
YAML
$C check-config >/dev/null || it_fail "config refused: $($C check-config 2>&1)"

# Yesterday, before the collector opens today's shift: two closed shifts,
# a flood of 14 alarms in 6 minutes from a full hour (so within one
# 10-minute interval on the clock) in the first, acknowledged criticals,
# a chattering rule in the second, an alarm left standing; a drill and a
# failed run.
ws_psql "
INSERT INTO watchstand.ack_targets VALUES ('critical', '5 minutes'), ('major', '15 minutes'), ('minor', '1 hour')
  ON CONFLICT DO NOTHING;
INSERT INTO watchstand.shifts (name, started_at, ended_at, lead, on_duty) VALUES
  ('day', now() - interval '40 hours', now() - interval '28 hours', 'bob', '{alice}'),
  ('night', now() - interval '28 hours', now() - interval '16 hours', 'bob', '{alice}');
INSERT INTO watchstand.alarms (rule, host, series, severity, state, chattering, raised_at, cleared_at, closed_at)
  SELECT 'feed-gap', 'host-a', 'feed' || i || '.gap_s', 'minor', 'closed', false,
    t, t + interval '1 min', t + interval '1 min'
  FROM (SELECT i, date_trunc('hour', now() - interval '38 hours') + i * interval '25 s' AS t
        FROM generate_series(0, 13) i) f;
INSERT INTO watchstand.alarms (rule, host, series, severity, state, raised_at, acked_by, acked_at, cleared_at, closed_at)
  SELECT 'quote-down', 'host-b', 'quoted.count', 'critical', 'closed', t, 'alice', t + a, t + a + interval '5 min', t + a + interval '5 min'
  FROM (VALUES (now() - interval '36 hours', interval '2 min'), (now() - interval '34 hours', interval '4 min'),
               (now() - interval '32 hours', interval '9 min')) v(t, a);
INSERT INTO watchstand.alarms (rule, host, series, severity, state, chattering, raised_at, cleared_at, closed_at)
  SELECT 'db-conns', 'host-b', 'pg.connections_pct', 'warning', 'closed', i > 0, t, t + interval '20 s', t + interval '20 s'
  FROM (SELECT i, now() - interval '20 hours' + i * interval '30 s' AS t FROM generate_series(0, 3) i) s;
INSERT INTO watchstand.alarms (rule, host, series, severity, state, raised_at, acked_by, acked_at) VALUES
  ('disk-slow', 'host-b', 'io.await_ms', 'major', 'active-acknowledged', now() - interval '26 hours', 'bob', now() - interval '25 hours');
INSERT INTO watchstand.checklist_runs (checklist, kind, drill, state, opened_by, started_at, finished_at) VALUES
  ('failover', 'procedure', true, 'done', 'bob', now() - interval '35 hours', now() - interval '35 hours' + interval '750 s'),
  ('start-of-day', 'startup', false, 'failed', 'alice', now() - interval '27 hours', now() - interval '27 hours' + interval '2 min');
INSERT INTO watchstand.checklist_steps (run_id, step, ord, host, state, executed_by, executed_at, error)
  SELECT id, 'switch', 0, 'host-b', 'done', 'bob', started_at, NULL FROM watchstand.checklist_runs WHERE checklist = 'failover';
INSERT INTO watchstand.checklist_steps (run_id, step, ord, host, state, executed_by, executed_at, error)
  SELECT id, 'db', 0, 'host-b', 'failed', 'alice', started_at, 'pg.count did not hold within 60s (last value 0)'
  FROM watchstand.checklist_runs WHERE checklist = 'start-of-day';
" >/dev/null

# host-a: the exchange line (100 Mbit), a filesystem, a log; host-b: the
# same wire seen as a 1 Gbit uplink, and the database against a 1 GiB quota.
it_agent_config host-a "  - {name: line, type: netif, interval: 500ms, interface: $HOST_IF, capacity: 100Mbit}
  - {name: fs, type: filesystem, interval: 500ms, path: $IT/fs}
  - {name: app, type: logfile, interval: 500ms, path: $IT/app.log, pattern: ERROR}"
it_agent_config host-b "  - {name: uplink, type: netif, interval: 500ms, interface: $HOST_IF, capacity: 1Gbit}
  - {name: pg, type: postgres, interval: 1s, conninfo: \"$WS_DSN\", quota: 1GiB}"
it_start_collector
it_start_agent host-a
it_start_agent host-b
ws_wait_for 20 it_has host-a line.util_pct || it_fail "no samples from host-a"
ws_wait_for 20 it_has host-b pg.db_bytes || it_fail "no samples from host-b"

# The filesystem grows by 128 KiB every 0.4 s (from 25 % towards 70 %) while
# the line carries 20 Mbit/s for 4 s.
(for i in $(seq 1 20); do head -c 131072 /dev/zero >>"$IT/fs/ballast"; sleep 0.4; done) &
FILLER=$!
IT_PIDS+=($FILLER)
echo "$(date -u +%FT%T) ERROR feed handler lost its session" >>"$IT/app.log"
python3 "$(dirname "$0")/traffic.py" 2500000 4 "$PEER_IP:5001" || it_fail "traffic across the pair failed"
wait "$FILLER" || true
echo "$(date -u +%FT%T) ERROR feed handler reconnected late" >>"$IT/app.log"

alarm_id() { ws_psql "select id from watchstand.alarms where rule = '$1' order by id desc limit 1"; }
alarm_raised() { [ -n "$(alarm_id "$1")" ]; }
ws_wait_for 15 alarm_raised line-busy || it_fail "the busy line raised no alarm"
ws_wait_for 15 alarm_raised fs-fill || it_fail "the filling filesystem raised no alarm"

API="http://127.0.0.1:$IT_HTTP/api/v1"
code() { curl -s -o "$IT/body" -w '%{http_code}' "$@"; }
expect() {
  local want=$1 got
  shift
  got=$(code "$@")
  [ "$got" = "$want" ] || it_fail "$* -> $got (want $want): $(cat "$IT/body")"
}
field() { python3 -c "import json,sys; print(json.load(open('$IT/body'))$1)"; }
login() {
  expect 200 -X POST -d "{\"login\":\"$1\",\"password\":\"$1-password\"}" "$API/login"
  field "['token']"
}
A=(-H "Authorization: Bearer $(login alice)")
B=(-H "Authorization: Bearer $(login bob)")
expect 200 "${A[@]}" -X POST -d '{"comment": "traffic test, expected"}' "$API/alarms/$(alarm_id line-busy)/ack"
expect 200 "${A[@]}" -X POST "$API/alarms/$(alarm_id fs-fill)/ack"

# One check run done, one failed (a verification-only step is checked when
# the run opens).
expect 201 "${A[@]}" -X POST -d '{}' "$API/checklists/line-check/runs"
RUN=$(field "['id']")
expect 200 "${A[@]}" -X POST "$API/runs/$RUN/steps/notices/execute"
expect 201 "${A[@]}" -X POST -d '{}' "$API/checklists/line-idle/runs"
IDLE=$(field "['id']")
run_is() { [ "$(ws_psql "select state from watchstand.v_checklist_runs where id = $1")" = "$2" ]; }
ws_wait_for 15 run_is "$RUN" done || it_fail "run $RUN is not done"
ws_wait_for 15 run_is "$IDLE" failed || it_fail "run $IDLE did not fail"

# The handover of the shift in force, accepted by the lead.
expect 201 "${A[@]}" -X POST -d '{"notes": "line tested at 20 Mbit/s"}' "$API/shifts/handover"
SHIFT=$(field "['shift_id']")
expect 200 "${B[@]}" -X POST -d '{"notes": "ok"}' "$API/shifts/$SHIFT/accept"

# Pages: delivered on one channel, refused (failed) on the other.
outcome() { [ "$(ws_psql "select count(*) from watchstand.v_notify_messages where status = '$1'")" -gt 0 ]; }
ws_wait_for 20 outcome sent || it_fail "no page delivered"
ws_wait_for 20 outcome failed || it_fail "no page failed"
events() { [ "$(ws_psql "select count(*) from watchstand.v_events where probe = 'app'")" -ge 2 ]; }
ws_wait_for 10 events || it_fail "the log's lines are not events"

# The role Grafana reads as: the script docs/dashboards.md gives, no more.
ws_psql "CREATE ROLE ws_grafana_it LOGIN; ALTER ROLE ws_grafana_it SET default_transaction_read_only = on" >/dev/null
psql "$WS_DSN" -X -q -v ON_ERROR_STOP=1 -v role=ws_grafana_it -f "$GRAFANA/grant-reader.sql" >/dev/null ||
  it_fail "grant-reader.sql failed"
READER=${WS_DSN/user=postgres/user=ws_grafana_it}
# The role reads the views and not their tables.
psql "$READER" -X -At -c "select count(*) from watchstand.v_samples" >/dev/null ||
  it_fail "the reader cannot read v_samples"
if psql "$READER" -X -At -c "select count(*) from watchstand.alarms" >"$IT/denied" 2>&1; then
  it_fail "the reader can read watchstand.alarms"
fi
grep -q "permission denied" "$IT/denied" || it_fail "reading a table: $(cat "$IT/denied")"
it_ok "the reader role reads v_* views only"

# The expander itself, on Grafana's documented expansions.
python3 "$(dirname "$0")/grafana_sql.py" selftest || it_fail "grafana_sql.py selftest"

# Every query of every dashboard over the last two days, once with every
# variable at All (each must return rows), once with the first value of each;
# and the provisioning examples against the dashboards.
python3 "$(dirname "$0")/grafana_sql.py" check --dsn "$READER" --range 2d \
  --provisioning "$GRAFANA/provisioning" \
  "$GRAFANA"/*.json | tee "$IT/check.out" || it_fail "a dashboard query failed (above)"
grep -Eq '^checked [0-9]+ panels' "$IT/check.out" || it_fail "no summary from grafana_sql.py"
it_ok "$(grep -E '^checked' "$IT/check.out")"
