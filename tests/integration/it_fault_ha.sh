# Two collectors on one database (docs/ha.md): one leads, both ingest.
# host-a prefers collector 1, host-b collector 2. An alarm of host-b (whose
# samples reach the follower) pages once, through the leader, with its ack
# link under link_url; the follower's batch and its feed row commit
# together; a checklist action for host-b is relayed to the follower, run
# once, and fails (never runs late) when nobody takes it. kill -9 of the
# leader with a page failing at its gateway: the follower takes over
# (shift log TAKEOVER), retries that page until delivered, an alarm raised
# after pages once, and the alarm it adopted clears; the old leader
# restarted follows, and an ack made there is forwarded. Then the new
# leader is frozen (SIGSTOP) with an escalation step coming due: the other
# takes over and sends that step once; thawed, the frozen one steps down
# and changes nothing. No alarm is raised or paged twice.
. "$(dirname "$0")/lib.sh"

it_setup host-a host-b
C="$WS_BUILD/watchstand-collector"
RX_PORT=$(ws_free_port)
python3 "$WS_ROOT/tests/integration/receiver.py" "$RX_PORT" "$IT/rx.jsonl" 2>>"$IT/receiver.log" &
IT_PIDS+=($!)
RX="http://127.0.0.1:$RX_PORT"
echo "alice-password" | $C -c "$IT/collector.yaml" useradd alice --role watchstander >/dev/null

rule() { echo "  - {name: $1, match: {series: \"$2\"}, levels: [{when: \"> 0\", severity: critical}]}"; }
{
  # host-b may wait on the frozen leader for a while: not silent for that.
  cat <<'YAML'
  agent_silence: 60s
calendar:
  timezone: UTC
  phases: [{name: trading, days: daily, from: "00:00", to: "24:00"}]
  default: closed
rules:
YAML
  rule one lvl.one
  rule two lvl.two
  rule three lvl.three
  rule four lvl.four
  rule five lvl.five
  rule six lvl.six
  cat <<YAML
notify:
  secret_file: notify.secret
  retry: {first: 3s, max: 3s, deadline: 2m}
  channels:
    - {name: hook, type: webhook, url: "$RX/ok/hook", group_wait: 0s}
    - {name: late, type: webhook, url: "$RX/ok/late", group_wait: 0s}
    - {name: flaky, type: webhook, url: "$RX/fail2/six", group_wait: 0s}
  routes:
    - name: esc
      match: {rule: four}
      escalation:
        - {after: 0s, channels: [hook], to: [alice]}
        - {after: 8s, channels: [late], to: [alice], unacked: true}
    - {name: all, match: {rule: "one"}, escalation: [{channels: [hook], to: [alice]}]}
    - {name: all2, match: {rule: "two"}, escalation: [{channels: [hook], to: [alice]}]}
    - {name: all3, match: {rule: "three"}, escalation: [{channels: [hook], to: [alice]}]}
    - {name: all5, match: {rule: "five"}, escalation: [{channels: [hook], to: [alice]}]}
    - {name: all6, match: {rule: "six"}, escalation: [{channels: [flaky], to: [alice]}]}
checklists:
  - name: remote
    kind: procedure
    steps:
      - {name: mark, host: host-b, action: mark, verify: {series: "lvl.one", when: ">= 0", within: 20s}}
YAML
} >>"$IT/collector.yaml"

# Links in pages under one name that follows the leader (link_url); each
# collector's public_url stays its own (the API forwards to it).
sed -i "s|^collector:|collector:\n  link_url: http://duty-link.example.test/|" "$IT/collector.yaml"
# Collector 2: the same config on its own ports and state directory.
L1=$IT_LISTEN H1=$IT_HTTP
L2=$(ws_free_port) H2=$(ws_free_port)
sed -e "s/127.0.0.1:$L1/127.0.0.1:$L2/" -e "s/127.0.0.1:$H1/127.0.0.1:$H2/" \
  -e "s|state_dir: $IT/state|state_dir: $IT/state2|" "$IT/collector.yaml" >"$IT/collector2.yaml"
$C -c "$IT/collector.yaml" check-config >/dev/null || it_fail "config 1 refused"
$C -c "$IT/collector2.yaml" check-config >/dev/null || it_fail "config 2 refused"

P1= P2=
start1() {
  "$C" -c "$IT/collector.yaml" run 2>>"$IT/collector1.log" &
  P1=$!
  IT_PIDS+=("$P1")
}
start2() {
  "$C" -c "$IT/collector2.yaml" run 2>>"$IT/collector2.log" &
  P2=$!
  IT_PIDS+=("$P2")
}
# role PORT: leader or follower, as /healthz says.
role() {
  curl -sf "http://127.0.0.1:$1/healthz" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["lead"]["role"])' 2>/dev/null
}
is_role() { [ "$(role "$1")" = "$2" ]; }
epoch() {
  curl -sf "http://127.0.0.1:$1/healthz" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["lead"]["epoch"])'
}

start1
ws_wait_for 20 is_role "$H1" leader || it_fail "collector 1 did not lead"
start2
ws_wait_for 20 is_role "$H2" follower || it_fail "collector 2 is not a follower"
sleep 2 # collector 2 tried for the lock twice at least
is_role "$H1" leader && is_role "$H2" follower || it_fail "two leaders"
[ "$(ws_psql "select epoch from watchstand.leader")" = "$(epoch "$H1")" ] ||
  it_fail "the leader's epoch is not the database's"
it_metric watchstand_leader | grep -qx 1 || it_fail "/metrics of collector 1: not watchstand_leader 1"
IT_HTTP=$H2 it_metric watchstand_leader | grep -qx 0 || it_fail "/metrics of collector 2: not watchstand_leader 0"
it_ok "collector 1 leads (epoch $(epoch "$H1")), collector 2 follows"

for h in a b; do
  for r in one two three four five six; do echo 0 >"$IT/$h-$r"; done
  cat >"$IT/check-$h" <<EOF
#!/bin/sh
echo "OK | one=\$(cat $IT/$h-one) two=\$(cat $IT/$h-two) three=\$(cat $IT/$h-three) four=\$(cat $IT/$h-four) five=\$(cat $IT/$h-five) six=\$(cat $IT/$h-six)"
EOF
  chmod +x "$IT/check-$h"
done
it_agent_config host-a "  - {name: lvl, type: exec, interval: 500ms, command: ['$IT/check-a']}"
sed -i "s/collectors: .*/collectors: [\"127.0.0.1:$L1\", \"127.0.0.1:$L2\"]/" "$IT/host-a.yaml"
it_agent_config host-b "  - {name: lvl, type: exec, interval: 500ms, command: ['$IT/check-b']}"
sed -i "s/collectors: .*/collectors: [\"127.0.0.1:$L2\", \"127.0.0.1:$L1\"]/" "$IT/host-b.yaml"
printf 'actions:\n  mark: {run: ["/bin/sh", "-c", "echo marked >>%s/marks"]}\n' "$IT" >>"$IT/host-b.yaml"
it_start_agent host-a
it_start_agent host-b
ws_wait_for 20 it_latest_is host-a lvl.one 0 || it_fail "no samples of host-a"
ws_wait_for 20 it_latest_is host-b lvl.one 0 || it_fail "no samples of host-b"
connected() { [ "$(curl -sf "http://127.0.0.1:$1/healthz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["agents_connected"])')" = 1 ]; }
ws_wait_for 20 connected "$H1" || it_fail "host-a is not on collector 1"
ws_wait_for 20 connected "$H2" || it_fail "host-b is not on collector 2"

# rx_count RULE [PATH]: messages the receiver got for an alarm of RULE.
rx_count() {
  python3 - "$IT/rx.jsonl" "$1" "${2:-/ok/hook}" <<'PY'
import json, sys
log, rule, prefix = sys.argv[1:4]
try:
    lines = open(log).read().splitlines()
except FileNotFoundError:
    lines = []
n = 0
for line in lines:
    r = json.loads(line)
    try:
        b = json.loads(r["body"])
    except ValueError:
        continue
    if r["path"].startswith(prefix) and any(
            a.get("rule") == rule and a.get("kind") == "page"
            for a in b.get("alarms", [])):
        n += 1
print(n)
PY
}
paged() { [ "$(rx_count "$1" "${2:-/ok/hook}")" -ge 1 ]; }
raises() { ws_psql "select count(*) from watchstand.shift_log where kind = 'alarm' and text like 'RAISE critical $1 on %'"; }

# 1. host-b's samples reach only the follower; the leader raises and pages.
echo 1 >"$IT/b-one"
ws_wait_for 30 paged one || it_fail "an alarm of host-b (on the follower) was not paged"
[ "$(ws_psql "select count(*) from watchstand.alarms where rule = 'one' and host = 'host-b'")" = 1 ] ||
  it_fail "alarm one is not in the database once"
grep -q 'http://duty-link.example.test/ack/' "$IT/rx.jsonl" || it_fail "the page's ack link is not under link_url: $(head -c 600 "$IT/rx.jsonl")"
it_ok "an alarm of the follower's agent was raised and paged by the leader (ack link under link_url)"

# 1b. The follower stores a batch and its feed row together: while the
# feed is refused, none of host-b's batches is stored (the agent keeps
# them); allowed again, they are stored and the leader's rules see them.
ws_psql "create function watchstand.it_feed_refused() returns trigger language plpgsql as \$\$begin raise exception 'feed refused by the test'; end\$\$;
  create trigger it_feed_refused before insert on watchstand.batch_feed for each statement execute function watchstand.it_feed_refused()" >/dev/null
bsamples() { ws_psql "select count(*) from watchstand.v_samples where host = 'host-b' and series = 'lvl.five'"; }
errors() { IT_HTTP=$H2 it_metric watchstand_database_errors_total; }
refused_since() { [ "$(errors)" -ge "$1" ]; }
ws_wait_for 30 grep -q "feed refused by the test" "$IT/collector2.log" ||
  it_fail "the follower did not write the feed in its ingest transaction"
before=$(bsamples)
echo 1 >"$IT/b-five"
# Two more refused transactions: host-b's batches with five=1 among them.
e1=$(errors)
ws_wait_for 30 refused_since $((e1 + 2)) || it_fail "the follower stopped retrying its refused transaction"
[ "$(bsamples)" = "$before" ] || it_fail "host-b's samples were stored without their feed rows"
[ "$(rx_count five)" = 0 ] || it_fail "alarm five was paged while its samples were not stored"
ws_psql "drop trigger it_feed_refused on watchstand.batch_feed; drop function watchstand.it_feed_refused()" >/dev/null
ws_wait_for 30 paged five || it_fail "the follower's held-back batches did not reach the leader's rules"
[ "$(bsamples)" -gt "$before" ] || it_fail "host-b's held-back samples were not stored"
it_ok "a follower's batch and its feed row commit together (refused feed: nothing stored; allowed: stored and alarmed)"

# 1c. A checklist step on the leader with an action for host-b, whose
# agent is connected to the follower: relayed through the database, run
# once, its result back on the leader's step.
token=$(curl -sf -X POST -d '{"login":"alice","password":"alice-password"}' \
  "http://127.0.0.1:$H1/api/v1/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
AUTH=(-H "Authorization: Bearer $token")
run=$(curl -sf "${AUTH[@]}" -X POST -d '{}' "http://127.0.0.1:$H1/api/v1/checklists/remote/runs" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') || it_fail "opening the run on the leader"
code=$(curl -s -o "$IT/exec.json" -w '%{http_code}' "${AUTH[@]}" -X POST -d '{}' \
  "http://127.0.0.1:$H1/api/v1/runs/$run/steps/mark/execute")
[ "$code" = 200 ] || it_fail "executing the step on the leader answered $code: $(cat "$IT/exec.json")"
mark_done() { [ "$(ws_psql "select state from watchstand.checklist_steps where run_id = $run and step = 'mark'")" = done ]; }
ws_wait_for 30 mark_done || it_fail "the relayed step is not done: $(ws_psql "select state, error, result from watchstand.checklist_steps where run_id = $run")"
[ "$(wc -l <"$IT/marks")" = 1 ] || it_fail "the relayed action ran $(wc -l <"$IT/marks") times"
grep -q "relayed to the other collector" "$IT/collector1.log" || it_fail "the leader did not relay the action"
grep -q "claimed for the leader" "$IT/collector2.log" || it_fail "the follower did not claim the action"
[ "$(ws_psql "select count(*) from watchstand.action_relay")" = 0 ] || it_fail "the relay table keeps a finished request"
it_ok "an action for the follower's agent was relayed, run once, and its step done on the leader"
# 1d. Nobody takes a relayed request (the follower frozen): the step fails
# after 5 s, and the thawed follower never runs it late.
run=$(curl -sf "${AUTH[@]}" -X POST -d '{}' "http://127.0.0.1:$H1/api/v1/checklists/remote/runs" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') || it_fail "opening the second run"
kill -STOP "$P2"
code=$(curl -s -o "$IT/exec.json" -w '%{http_code}' "${AUTH[@]}" -X POST -d '{}' \
  "http://127.0.0.1:$H1/api/v1/runs/$run/steps/mark/execute")
mark_failed() { ws_psql "select error from watchstand.checklist_steps where run_id = $run and step = 'mark' and state = 'failed'" | grep -q "not connected to any collector"; }
ws_wait_for 30 mark_failed || { kill -CONT "$P2"; it_fail "an unclaimed relayed step did not fail: $code $(cat "$IT/exec.json") $(ws_psql "select state, error from watchstand.checklist_steps where run_id = $run")"; }
kill -CONT "$P2"
ws_wait_for 30 curl -sf "http://127.0.0.1:$H2/healthz" -o /dev/null || it_fail "the thawed follower does not answer"
sleep 3 # a few of the follower's relay ticks
[ "$(wc -l <"$IT/marks")" = 1 ] || it_fail "the expired request ran late on the thawed follower"
it_ok "a relayed request nobody took failed its step and never ran late"

# 2. kill -9 of the leader: collector 2 takes over. Just before, alarm six
# (host-a, on the leader) is paged to a gateway that fails twice: the
# leader's first attempt fails, and the retry is the new leader's.
flaky() { python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["path"].startswith("/fail2/six")))' "$IT/rx.jsonl"; }
flaky_at_least() { [ "$(flaky)" -ge "$1" ]; }
echo 1 >"$IT/a-six"
ws_wait_for 30 flaky_at_least 1 || it_fail "alarm six was not paged"
kill -9 "$P1"
wait "$P1" 2>/dev/null || true
ws_wait_for 30 is_role "$H2" leader || it_fail "collector 2 did not take over"
ws_psql "select text from watchstand.shift_log where kind = 'lead' and text like 'TAKEOVER:%' order by id desc limit 1" |
  grep -q "the lock was free" || it_fail "the takeover's reason is not in the shift log"
echo 1 >"$IT/a-two"
ws_wait_for 60 paged two || it_fail "an alarm raised after the takeover was not paged"
it_ok "collector 2 took over (epoch $(epoch "$H2")); an alarm raised after it paged"
# The failing page of six: retried by the new leader until delivered, once.
ws_wait_for 60 flaky_at_least 3 || it_fail "the page of six pending on the dead leader was not retried: $(flaky) attempts"
six_sent() { [ "$(ws_psql "select string_agg(status, ',') from watchstand.notify_messages m join watchstand.notify_pages p on p.message_id = m.id join watchstand.alarms a on a.id = p.alarm_id where a.rule = 'six'")" = sent ]; }
ws_wait_for 30 six_sent || it_fail "the message of six is not sent: $(ws_psql "select status, attempts from watchstand.notify_messages")"
sleep 4 # one more retry interval: nothing more goes out
[ "$(flaky)" = 3 ] || it_fail "the page of six went out $(flaky) times (500, 500, 200 expected)"
# The attempts go on from the dead leader's count: the message was resumed.
attempts=$(python3 -c 'import json,sys; print(" ".join(json.loads(l)["headers"].get("x-watchstand-message", "?-?").rsplit("-", 1)[1] for l in open(sys.argv[1]) if json.loads(l)["path"].startswith("/fail2/six")))' "$IT/rx.jsonl")
[ "$attempts" = "1 2 3" ] || it_fail "attempts of six as the gateway saw them: $attempts"
it_ok "a page failing on the dead leader was retried by the new one until delivered (3 attempts, no more)"
# An alarm adopted from the old leader clears when its condition ends.
echo 0 >"$IT/b-one"
one_cleared() { [ "$(ws_psql "select cleared_at is not null from watchstand.alarms where rule = 'one'")" = t ]; }
ws_wait_for 30 one_cleared || it_fail "the adopted alarm one did not clear on the new leader"
it_ok "an alarm adopted from the old leader cleared on the new one"

# 3. The old leader restarted follows.
start1
ws_wait_for 20 is_role "$H1" follower || it_fail "the restarted collector 1 does not follow"
sleep 2
is_role "$H2" leader || it_fail "collector 2 lost the lead to the restarted collector 1"
it_ok "the restarted collector 1 follows"

# The follower's API: a leader-only write asked there (an ack) is
# forwarded to the leader, which knows the session made on the follower a
# moment ago (it_fault_ha_forward.sh tests the rest).
token=$(curl -sf -X POST -d '{"login":"alice","password":"alice-password"}' \
  "http://127.0.0.1:$H1/api/v1/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
two=$(ws_psql "select id from watchstand.alarms where rule = 'two'")
code=$(curl -s -o "$IT/ack.json" -D "$IT/ack.headers" -w '%{http_code}' -X POST -H "Authorization: Bearer $token" -d '{}' \
  "http://127.0.0.1:$H1/api/v1/alarms/$two/ack")
[ "$code" = 200 ] || it_fail "an ack on the follower answered $code: $(cat "$IT/ack.json")"
grep -qi "^X-Watchstand-Leader: http://127.0.0.1:$H2" "$IT/ack.headers" ||
  it_fail "the follower's answer does not name the leader: $(cat "$IT/ack.headers")"
[ "$(ws_psql "select acked_by from watchstand.alarms where id = $two")" = alice ] ||
  it_fail "alarm two is not acknowledged by alice"
it_ok "an ack on the follower is forwarded to the leader and done"

# 4. The leader frozen with a step coming due: collector 1 takes over and
# sends it; collector 2 thawed steps down and sends nothing.
echo 1 >"$IT/b-four"
ws_wait_for 30 paged four || it_fail "alarm four was not paged"
kill -STOP "$P2"
frozen=$SECONDS
ws_wait_for 30 is_role "$H1" leader || { kill -CONT "$P2"; it_fail "collector 1 did not take over from the frozen leader"; }
ws_wait_for 30 paged four /ok/late || { kill -CONT "$P2"; it_fail "the escalation step due during the freeze was not sent"; }
# Frozen for 10 s at least, as the issue asks: long past its lease.
[ $((SECONDS - frozen)) -ge 10 ] || sleep $((10 - (SECONDS - frozen)))
kill -CONT "$P2"
ws_wait_for 30 is_role "$H2" follower || it_fail "the thawed collector 2 did not step down"
grep -q "stepping down" "$IT/collector2.log" || it_fail "collector 2 did not log its step down"
it_ok "a frozen leader was replaced; thawed, it stepped down"

# The fence itself: a session that says an older epoch is refused, the
# current one passes, one that says none (psql, migrate) passes.
cur=$(ws_psql "select epoch from watchstand.leader")
fence() { psql "$WS_DSN" -X -At -v ON_ERROR_STOP=1 -c "$1" -c "update watchstand.alarms set value = value where false" 2>&1; }
out=$(fence "set watchstand.epoch = $((cur - 1))" || true)
grep -q "does not lead" <<<"$out" || it_fail "the fence let epoch $((cur - 1)) write: $out"
fence "set watchstand.epoch = $cur" >/dev/null || it_fail "the fence refused the current epoch $cur"
fence "select 1" >/dev/null || it_fail "the fence refused a session without an epoch"
it_ok "the database refuses leader-only writes from epoch $((cur - 1)), takes them from $cur"

# 5. After all this, one more alarm through the current leader, then no
# alarm was raised or paged twice.
echo 1 >"$IT/a-three"
ws_wait_for 30 paged three || it_fail "alarm three was not paged by the new leader"
for r in one two three four five; do
  [ "$(raises "$r")" = 1 ] || it_fail "alarm $r was raised $(raises "$r") times in the shift log"
  [ "$(rx_count "$r")" = 1 ] || it_fail "alarm $r was paged $(rx_count "$r") times"
done
[ "$(rx_count four /ok/late)" = 1 ] || it_fail "the late step was sent $(rx_count four /ok/late) times"
fenced=$(grep -c "does not lead" "$IT/collector2.log" || true)
it_ok "every alarm raised once and paged once ($fenced fenced statements of the thawed leader)"
