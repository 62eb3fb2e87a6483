#!/usr/bin/env bash
# The KPIs of docs/kpis.md on a fixed, seeded set of alarms, pages and
# checklist runs, every figure against a hand-computed answer.
. "$(dirname "$0")/lib.sh"

it_setup
# The collector writes collector.ack_target to watchstand.ack_targets at
# start (the seed below sets the same before it runs).
echo "  ack_target: {critical: 5m, major: 15m}" >>"$IT/collector.yaml"

# Window: 2026-01-05 08:00 to 12:00 UTC, 4 h = 24 buckets of 10 min.
ws_psql "
INSERT INTO watchstand.ack_targets VALUES ('critical', '5 minutes'), ('major', '15 minutes');
-- 12 minor 'flap' alarms, one every 30 s from 08:00: a flood in the first bucket; 2 chattering.
INSERT INTO watchstand.alarms (rule, host, series, severity, state, chattering, raised_at, cleared_at, closed_at)
  SELECT 'flap', 'h1', 's' || i, 'minor', 'closed', i < 2,
    '2026-01-05 08:00Z'::timestamptz + i * interval '30 s',
    '2026-01-05 08:01Z'::timestamptz + i * interval '30 s',
    '2026-01-05 08:01Z'::timestamptz + i * interval '30 s'
  FROM generate_series(0, 11) i;
-- 3 critical 'cpu': acked after 60, 240, 600 s; cleared after 300, 600, 1200 s.
INSERT INTO watchstand.alarms (rule, host, series, severity, state, raised_at, acked_by, acked_at, cleared_at, closed_at) VALUES
  ('cpu', 'h2', 'a', 'critical', 'closed', '2026-01-05 09:00Z', 'alice', '2026-01-05 09:01Z', '2026-01-05 09:05Z', '2026-01-05 09:05Z'),
  ('cpu', 'h2', 'b', 'critical', 'closed', '2026-01-05 09:20Z', 'alice', '2026-01-05 09:24Z', '2026-01-05 09:30Z', '2026-01-05 09:30Z'),
  ('cpu', 'h2', 'c', 'critical', 'closed', '2026-01-05 09:40Z', 'bob', '2026-01-05 09:50Z', '2026-01-05 10:00Z', '2026-01-05 10:00Z');
-- 1 major 'disk' raised at 10:00, never acked, still active: standing.
INSERT INTO watchstand.alarms (rule, host, series, severity, state, raised_at) VALUES
  ('disk', 'h3', 'x', 'major', 'active', '2026-01-05 10:00Z');
-- Before the window: 'old' still active (standing and stale), 'gone' cleared in it.
INSERT INTO watchstand.alarms (rule, host, series, severity, state, raised_at) VALUES
  ('old', 'h4', 'x', 'major', 'active', '2026-01-03 08:00Z');
INSERT INTO watchstand.alarms (rule, host, series, severity, state, raised_at, cleared_at, closed_at) VALUES
  ('gone', 'h4', 'y', 'major', 'closed', '2026-01-04 08:00Z', '2026-01-05 08:30Z', '2026-01-05 08:30Z');
-- Pages: alice 2 sent, bob 1 sent after a retry; one failed page to carol.
INSERT INTO watchstand.notify_messages (id, channel, recipient, deadline) VALUES
  (1, 'webhook', 'alice', '2026-01-06Z'), (2, 'webhook', 'alice', '2026-01-06Z'),
  (3, 'webhook', 'bob', '2026-01-06Z'), (4, 'webhook', 'carol', '2026-01-06Z');
INSERT INTO watchstand.notify_pages (key, channel, recipient, kind, info, message_id)
  SELECT 'k' || id, 'webhook', recipient, 'raise', '{}', id FROM watchstand.notify_messages;
INSERT INTO watchstand.notify_attempts (message_id, attempt, status, at) VALUES
  (1, 1, 'sent', '2026-01-05 09:01Z'), (2, 1, 'sent', '2026-01-05 09:21Z'),
  (3, 1, 'retry', '2026-01-05 09:41Z'), (3, 2, 'sent', '2026-01-05 09:42Z'),
  (4, 1, 'failed', '2026-01-05 09:41Z');
-- Checklist runs: one done, one failed, a drill of 12.5 min; one outside the window.
INSERT INTO watchstand.checklist_runs (checklist, kind, drill, state, opened_by, started_at, finished_at) VALUES
  ('sod', 'manual', false, 'done', 'alice', '2026-01-05 08:30Z', '2026-01-05 08:40Z'),
  ('sod2', 'manual', false, 'failed', 'alice', '2026-01-05 08:45Z', '2026-01-05 08:50Z'),
  ('failover', 'manual', true, 'done', 'bob', '2026-01-05 09:00Z', '2026-01-05 09:12:30Z'),
  ('sod', 'manual', false, 'done', 'alice', '2026-01-06 08:30Z', '2026-01-06 08:40Z');
INSERT INTO watchstand.shifts (name, started_at, ended_at, lead) VALUES
  ('morning', '2026-01-05 08:00Z', '2026-01-05 12:00Z', 'alice');
" >/dev/null

q="metric || '|' || coalesce(label, '') || '|' || round(value::numeric, 6)"
ws_psql "select $q from watchstand.kpis('2026-01-05 08:00Z', '2026-01-05 12:00Z') order by 1" >"$IT/got"
# failover drill id is 3.
cat >"$IT/want" <<'W'
ack_time_p50|critical|240.000000
ack_time_p90|critical|528.000000
ack_within_target|critical|0.666667
ack_within_target|major|0.000000
alarms_per_10min||0.666667
alarms_raised||16.000000
alarms_raised|critical|3.000000
alarms_raised|major|1.000000
alarms_raised|minor|12.000000
chattering||2.000000
checklist_runs|done|1.000000
checklist_runs|failed|1.000000
clear_time_p50|critical|600.000000
clear_time_p50|minor|60.000000
clear_time_p90|critical|1080.000000
clear_time_p90|minor|60.000000
drill_duration|failover#3|750.000000
drills|done|1.000000
flood_time_share||0.041667
floods||1.000000
noisiest_rule|cpu|3.000000
noisiest_rule|disk|1.000000
noisiest_rule|flap|12.000000
noisiest_share|cpu|0.187500
noisiest_share|disk|0.062500
noisiest_share|flap|0.750000
pages|alice|2.000000
pages|bob|1.000000
peak_10min||12.000000
stale||1.000000
standing||2.000000
W
LC_ALL=C sort -o "$IT/want" "$IT/want"
LC_ALL=C sort -o "$IT/got" "$IT/got"
diff "$IT/want" "$IT/got" || it_fail "kpis differ from the hand-computed figures (diff want got above)"
it_ok "every KPI matches the hand-computed figure"

ws_psql "select $q from watchstand.v_shift_kpis where name = 'morning'" | LC_ALL=C sort >"$IT/shift"
diff "$IT/want" "$IT/shift" || it_fail "v_shift_kpis differs from kpis() over the shift's window"
it_ok "v_shift_kpis joins the shift's window"

# An empty window: counts are zero, no division by zero.
[ "$(ws_psql "select value from watchstand.kpis('2030-01-01Z', '2030-01-02Z') where metric = 'alarms_raised' and label is null")" = 0 ] ||
  it_fail "an empty window does not count zero alarms"
it_ok "an empty window gives zero"

# The API: a shift's report, a window, a day; 404 for an unknown shift.
echo "victor-password" | "$WS_BUILD/watchstand-collector" -c "$IT/collector.yaml" useradd victor --role viewer >/dev/null
it_start_collector
API="http://127.0.0.1:$IT_HTTP/api/v1"
ws_wait_for 20 curl -sf -o /dev/null -X POST -d '{"login":"victor","password":"victor-password"}' "$API/login" ||
  it_fail "no login"
TOKEN=$(curl -s -X POST -d '{"login":"victor","password":"victor-password"}' "$API/login" |
  python3 -c "import json,sys; print(json.load(sys.stdin)['token'])")
V=(-H "Authorization: Bearer $TOKEN")
code() { curl -s -o "$IT/body" -w '%{http_code}' "$@"; }
SID=$(ws_psql "select id from watchstand.shifts where name = 'morning'")
[ "$(code "${V[@]}" "$API/shifts/$SID/report")" = 200 ] || it_fail "shift report: $(cat "$IT/body")"
check() {
  python3 - "$IT/body" "$IT/want" <<'PY'
import json, sys
got = sorted("%s|%s|%.6f" % (k["metric"], k["label"] or "", k["value"]) for k in json.load(open(sys.argv[1]))["kpis"])
want = sorted(l.strip() for l in open(sys.argv[2]) if l.strip())
if got != want:
    sys.exit("got %s" % got)
PY
}
check || it_fail "the shift report's KPIs differ"
# The console's chart: alarms raised per 10 minutes from the shift's start,
# 24 buckets; the flood (12 flaps) in the first.
python3 - "$IT/body" <<'PY' || it_fail "per_10min: $(cat "$IT/body")"
import json, sys
b = json.load(open(sys.argv[1]))["per_10min"]
assert len(b) == 24, len(b)
assert b[0]["at"].startswith("2026-01-05T08:00:00"), b[0]
got = {i: x["raised"] for i, x in enumerate(b) if x["raised"]}
assert got == {0: 12, 6: 1, 8: 1, 10: 1, 12: 1}, got
PY
[ "$(code "${V[@]}" "$API/shifts/999999/report")" = 404 ] || it_fail "an unknown shift is not 404"
[ "$(code "${V[@]}" "$API/report?from=2026-01-05T08:00:00Z&to=2026-01-05T12:00:00Z")" = 200 ] || it_fail "report: $(cat "$IT/body")"
check || it_fail "the window's KPIs differ"
[ "$(code "${V[@]}" "$API/report")" = 400 ] || it_fail "a report without a window is not 400"
[ "$(code "${V[@]}" "$API/report?day=2026-01-05")" = 200 ] || it_fail "day report: $(cat "$IT/body")"
it_ok "GET /shifts/{id}/report, /report?from=&to=, ?day=, 404 and 400"

# The CLI prints a readable report of a shift and of a day.
export HOME="$IT/home" WATCHSTAND_URL="http://127.0.0.1:$IT_HTTP" WATCHSTAND_TOKEN="$TOKEN"
mkdir -p "$HOME"
"$WS_BUILD/watchstand" report --shift "$SID" >"$IT/cli.out" || it_fail "watchstand report --shift: $(cat "$IT/cli.out")"
grep -Eq '^  alarms_raised +critical +3$' "$IT/cli.out" || it_fail "report --shift: $(cat "$IT/cli.out")"
grep -Eq '^  peak_10min +12$' "$IT/cli.out" || it_fail "report --shift peak: $(cat "$IT/cli.out")"
"$WS_BUILD/watchstand" report --day 2026-01-06 >"$IT/cli.out" || it_fail "watchstand report --day: $(cat "$IT/cli.out")"
grep -Eq '^  checklist_runs +done +1$' "$IT/cli.out" || it_fail "report --day: $(cat "$IT/cli.out")"
set +e
"$WS_BUILD/watchstand" report --shift 999999 >/dev/null 2>&1; rc=$?
set -e
[ $rc -ne 0 ] || it_fail "report of an unknown shift exited 0"
it_ok "watchstand report --shift, --day"

# What the desk learned last time: GET /alarms/{id} carries the earlier
# occurrences of its rule on its host, with the ack comment and the notes
# written while each was open. (The shift log stamps its own times, so
# these occurrences are around now; the ack entry is the text alarm.c writes.)
# (WITH ... SELECT prints the id alone: a "| head -1" could end psql with
# SIGPIPE before its last line, which pipefail turns into a silent exit.)
A1=$(ws_psql "WITH a AS (INSERT INTO watchstand.alarms (rule, host, series, severity, state, raised_at, acked_by, acked_at)
  VALUES ('hist', 'h9', 'x', 'major', 'active-acknowledged', now() - interval '1 min', 'alice', now()) RETURNING id) SELECT id FROM a")
ws_psql "INSERT INTO watchstand.shift_log (kind, actor, text) VALUES
  ('alarm', 'alice', 'ACK hist on h9: x -- restarted the feed [alarm $A1, now active-acknowledged]'),
  ('note', 'alice', 'vendor says line 2 is flapping')" >/dev/null
ws_psql "UPDATE watchstand.alarms SET state = 'closed', cleared_at = clock_timestamp(), closed_at = clock_timestamp() WHERE id = $A1" >/dev/null
ws_psql "INSERT INTO watchstand.shift_log (kind, actor, text) VALUES ('note', 'bob', 'after it cleared')" >/dev/null
A2=$(ws_psql "WITH a AS (INSERT INTO watchstand.alarms (rule, host, series, severity, state) VALUES ('hist', 'h9', 'x', 'major', 'active') RETURNING id) SELECT id FROM a")
[ "$(code "${V[@]}" "$API/alarms/$A2")" = 200 ] || it_fail "GET /alarms/$A2: $(cat "$IT/body")"
python3 - "$IT/body" "$A1" "$A2" <<'PY' || it_fail "history: $(cat "$IT/body")"
import json, sys
a = json.load(open(sys.argv[1]))
assert a["id"] == int(sys.argv[3]) and a["rule"] == "hist", a
h = a["history"]
assert len(h) == 1 and h[0]["id"] == int(sys.argv[2]), h
assert h[0]["acked_by"] == "alice" and h[0]["ack_comment"] == "restarted the feed", h
assert [n["text"] for n in h[0]["notes"]] == ["vendor says line 2 is flapping"], h
assert h[0]["active_s"] >= 60, h
PY
[ "$(code "${V[@]}" "$API/alarms/999999")" = 404 ] || it_fail "an unknown alarm is not 404"
it_ok "GET /alarms/{id}: history with the earlier occurrence, its ack comment and its note"
