# The duty console in headless Chromium (Debian's chromium, driven by
# playwright-core): a real collector serving the embedded console, a real
# agent, PostgreSQL. Sets the stage (users, a shift in force and the next,
# a trading phase, rules an agent's probes trip, a two-person procedure),
# then console.test.mjs drives the browsers. Screenshots of the main
# screens land in $WS_BUILD/browser/.
. "$(dirname "$0")/../integration/lib.sh"

BROWSER_DIR="$WS_ROOT/tests/browser"
CHROMIUM=${WS_CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || it_fail "no $CHROMIUM: run scripts/install-deps (Debian package chromium)"
command -v node >/dev/null || it_fail "no node: run scripts/install-deps (Debian package nodejs)"
if [ ! -d "$BROWSER_DIR/node_modules/playwright-core" ]; then
  npm ci --prefix "$BROWSER_DIR" --no-audit --no-fund >"$IT/npm.log" 2>&1 ||
    it_fail "npm ci --prefix tests/browser failed: $(tail -5 "$IT/npm.log")"
fi

it_setup host-b
C="$WS_BUILD/watchstand-collector -c $IT/collector.yaml"
for u in "alice watchstander" "bob watchstander" "lea lead" "vic viewer"; do
  set -- $u
  echo "$1-password" | $C useradd "$1" --role "$2" --name "$1" >/dev/null
done

# A shift in force (alice, led by lea) and the next one (bob), a trading
# phase that ends with it: whole minutes, an hour either side of now.
NOW=$(date +%s)
FROM=$(date -u -d "@$((NOW / 60 * 60 - 3600))" +%H:%M)
TO=$(date -u -d "@$((NOW / 60 * 60 + 3600))" +%H:%M)
DECOY=wsbd$$
W=$IT/work
mkdir -p "$W"
cp "$(command -v sleep)" "$W/$DECOY"
echo 0 >"$IT/level"
cat >>"$IT/collector.yaml" <<YAML
  agent_silence: 5s
calendar:
  timezone: UTC
  phases: [{name: trading, days: daily, from: "$FROM", to: "$TO"}]
  default: closed
shifts:
  - {name: day, from: "$FROM", to: "$TO"}
  - {name: night, from: "$TO", to: "$FROM"}
roster:
  - {shift: day, days: daily, on_duty: [alice], lead: lea}
  - {shift: night, days: daily, on_duty: [bob], lead: lea}
rules:
  - name: decoy-down
    match: {host: host-b, series: decoy.count}
    levels: [{when: "< 1", severity: critical}]
    runbook: decoy-restart
  - name: level-high
    match: {host: host-b, series: lvl.level}
    levels: [{when: "> 0", severity: major}]
checklists:
  - name: decoy-restart
    kind: procedure
    description: "Bring the decoy back"
    steps:
      - {name: notices, manual: "Read the exchange's notices"}
      - {name: link, after: [notices], manual: "Confirm the exchange link", two_person: true}
YAML
$C check-config >"$IT/check.out" 2>&1 || it_fail "config refused: $(cat "$IT/check.out")"

cat >"$W/level" <<SH
#!/bin/sh
echo "OK | level=\$(cat $IT/level)"
SH
# A line at 40 % of 100 Mbit/s, and a spool filling by 0.001 % a second
# (86 % a day) since two hours ago: the host page's line and fill level.
T0=$((NOW - 7200))
cat >"$W/feed" <<SH
#!/bin/sh
echo "OK | in_bps=40000000 out_bps=20000000 util_pct=40"
SH
cat >"$W/spool" <<SH
#!/bin/sh
awk -v t="\$(date +%s)" 'BEGIN { printf "OK | fill_pct=%.4f\\n", 10 + (t - $T0) * 0.001 }'
SH
chmod +x "$W/level" "$W/feed" "$W/spool"
it_agent_config host-b "  - {name: decoy, type: process, interval: 500ms, match: {comm: $DECOY}}
  - {name: lvl, type: exec, interval: 500ms, command: ['$W/level']}
  - {name: feed, type: exec, interval: 1s, command: ['$W/feed']}
  - {name: spool, type: exec, interval: 1s, command: ['$W/spool']}"
"$W/$DECOY" 600 &
DECOY_PID=$!
IT_PIDS+=("$DECOY_PID")
it_start_collector
it_start_agent host-b
ws_wait_for 20 it_latest_is host-b decoy.count 1 || it_fail "no samples of the decoy"
ws_wait_for 20 it_has host-b spool.fill_pct || it_fail "no samples of the spool"
# The spool's first two hours, a sample a minute, as the agent would have
# sent them: the trend needs an hour.
ws_psql "select watchstand.ensure_partition(d::date) from generate_series(to_timestamp($T0) at time zone 'UTC', now() at time zone 'UTC', interval '1 day') d" >/dev/null
ws_psql "insert into watchstand.samples (ts, agent_id, series, value) select to_timestamp(t), a.id, 'spool.fill_pct', 10 + (t - $T0) * 0.001 from generate_series($T0, $NOW - 60, 60) t, watchstand.agents a where a.name = 'host-b'" >/dev/null
day_open() { [ -n "$(ws_psql "select id from watchstand.shifts where name = 'day' and ended_at is null")" ]; }
ws_wait_for 20 day_open || it_fail "the day shift did not open"

# The follower of a pair on the same database: its console's writes are
# forwarded to this collector, the leader.
HF=$(ws_free_port)
LF=$(ws_free_port)
sed -e "s/127.0.0.1:$IT_LISTEN/127.0.0.1:$LF/" -e "s/127.0.0.1:$IT_HTTP/127.0.0.1:$HF/" \
  -e "s|state_dir: $IT/state|state_dir: $IT/state-f|" "$IT/collector.yaml" >"$IT/collector-f.yaml"
"$WS_BUILD/watchstand-collector" -c "$IT/collector-f.yaml" run 2>>"$IT/collector-f.log" &
FOLLOWER_PID=$!
IT_PIDS+=("$FOLLOWER_PID")
follows() { curl -sf "http://127.0.0.1:$HF/healthz" | grep -q '"role": *"follower"'; }
ws_wait_for 20 follows || it_fail "the second collector does not follow"

# The collector the test starts again after stopping this one.
it_on_exit "[ -s $IT/collector2.pid ] && kill \$(cat $IT/collector2.pid) 2>/dev/null"
SHOTS="$WS_BUILD/browser"
mkdir -p "$SHOTS"
rm -f "$SHOTS"/*.png
WS_BASE="http://127.0.0.1:$IT_HTTP" WS_DSN="$WS_DSN" WS_CHROMIUM="$CHROMIUM" \
  WS_DECOY_PID="$DECOY_PID" WS_LEVEL_FILE="$IT/level" WS_SHOTS="$SHOTS" \
  WS_FOLLOWER="http://127.0.0.1:$HF" WS_FOLLOWER_PID="$FOLLOWER_PID" \
  WS_COLLECTOR_PID="$IT_COLLECTOR_PID" WS_COLLECTOR="$WS_BUILD/watchstand-collector" \
  WS_COLLECTOR_CONF="$IT/collector.yaml" WS_COLLECTOR_LOG="$IT/collector.log" WS_COLLECTOR_PIDFILE="$IT/collector2.pid" \
  node "$BROWSER_DIR/console.test.mjs" || it_fail "console.test.mjs"
# The test restarted the collector (the offline banner) and stopped its own.
IT_COLLECTOR_PID=
ls "$SHOTS"/*.png >/dev/null 2>&1 || it_fail "no screenshots in $SHOTS"
it_ok "the console in Chromium; screenshots in $SHOTS"
