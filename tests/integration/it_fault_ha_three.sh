# Three collectors on one database (docs/ha.md speaks of a pair; nothing
# in the lock, the feed queue or the relay claim counts to two): one leads,
# two follow, each with an agent of its own. Alarms of both followers'
# agents are raised and paged once by the leader (two followers feed the
# same queue). kill -9 of the leader: exactly one of the two followers
# takes over, the other follows it and knows its URL; an alarm of the
# remaining follower's agent pages once through the new leader; an ack
# made on that follower is forwarded to the new leader. The old leader
# restarted follows. No alarm is raised or paged twice.
. "$(dirname "$0")/lib.sh"

it_setup host-a host-b host-c
C="$WS_BUILD/watchstand-collector"
RX_PORT=$(ws_free_port)
python3 "$WS_ROOT/tests/integration/receiver.py" "$RX_PORT" "$IT/rx.jsonl" 2>>"$IT/receiver.log" &
IT_PIDS+=($!)
echo "alice-password" | $C -c "$IT/collector.yaml" useradd alice --role watchstander >/dev/null

{
  cat <<YAML
  agent_silence: 60s
calendar:
  timezone: UTC
  phases: [{name: trading, days: daily, from: "00:00", to: "24:00"}]
  default: closed
rules:
YAML
  for r in a1 b1 c1 b2 c2; do
    echo "  - {name: $r, match: {series: \"lvl.$r\"}, levels: [{when: \"> 0\", severity: critical}]}"
  done
  cat <<YAML
notify:
  secret_file: notify.secret
  channels:
    - {name: hook, type: webhook, url: "http://127.0.0.1:$RX_PORT/ok/hook", group_wait: 0s}
  routes:
    - {name: all, match: {}, escalation: [{channels: [hook], to: [alice]}]}
YAML
} >>"$IT/collector.yaml"

# Collectors 2 and 3: the same config on their own ports and state dirs.
# LISTEN[n], HTTP[n]: collector n's agent and HTTP ports.
declare -A LISTEN=([1]=$IT_LISTEN) HTTP=([1]=$IT_HTTP) PID
for n in 2 3; do
  LISTEN[$n]=$(ws_free_port) HTTP[$n]=$(ws_free_port)
  sed -e "s/127.0.0.1:$IT_LISTEN/127.0.0.1:${LISTEN[$n]}/" -e "s/127.0.0.1:$IT_HTTP/127.0.0.1:${HTTP[$n]}/" \
    -e "s|state_dir: $IT/state|state_dir: $IT/state$n|" "$IT/collector.yaml" >"$IT/collector$n.yaml"
done
cp "$IT/collector.yaml" "$IT/collector1.yaml"
for n in 1 2 3; do $C -c "$IT/collector$n.yaml" check-config >/dev/null || it_fail "config $n refused"; done

start() {
  "$C" -c "$IT/collector$1.yaml" run 2>>"$IT/collector$1.log" &
  PID[$1]=$!
  IT_PIDS+=("${PID[$1]}")
}
lead_field() {
  curl -sf "http://127.0.0.1:${HTTP[$1]}/healthz" |
    python3 -c "import json,sys; print(json.load(sys.stdin)['lead'].get('$2') or '')" 2>/dev/null
}
is_role() { [ "$(lead_field "$1" role)" = "$2" ]; }
knows() { [ "$(lead_field "$1" leader_url)" = "http://127.0.0.1:${HTTP[$2]}" ]; }

start 1
ws_wait_for 20 is_role 1 leader || it_fail "collector 1 did not lead"
start 2
start 3
ws_wait_for 20 is_role 2 follower || it_fail "collector 2 is not a follower"
ws_wait_for 20 is_role 3 follower || it_fail "collector 3 is not a follower"
ws_wait_for 20 knows 2 1 || it_fail "collector 2 does not know the leader"
ws_wait_for 20 knows 3 1 || it_fail "collector 3 does not know the leader"
is_role 1 leader || it_fail "collector 1 lost the lead"
it_ok "collector 1 leads, 2 and 3 follow and know its URL"

# host-x prefers collector x (a=1, b=2, c=3), then the others in order.
for h in a b c; do
  for r in 1 2; do echo 0 >"$IT/$h$r"; done
  printf '#!/bin/sh\necho "OK | %s1=$(cat %s/%s1) %s2=$(cat %s/%s2)"\n' "$h" "$IT" "$h" "$h" "$IT" "$h" >"$IT/check-$h"
  chmod +x "$IT/check-$h"
  it_agent_config host-$h "  - {name: lvl, type: exec, interval: 500ms, command: ['$IT/check-$h']}"
done
# collectors N...: an agent's collectors list, in that order.
collectors() { local n out=; for n; do out+="${out:+, }\"127.0.0.1:${LISTEN[$n]}\""; done; echo "$out"; }
sed -i "s/collectors: .*/collectors: [$(collectors 1 2 3)]/" "$IT/host-a.yaml"
sed -i "s/collectors: .*/collectors: [$(collectors 2 3 1)]/" "$IT/host-b.yaml"
sed -i "s/collectors: .*/collectors: [$(collectors 3 2 1)]/" "$IT/host-c.yaml"
for h in a b c; do it_start_agent host-$h; done
for h in a b c; do ws_wait_for 20 it_latest_is host-$h lvl.${h}1 0 || it_fail "no samples of host-$h"; done
connected() { [ "$(curl -sf "http://127.0.0.1:${HTTP[$1]}/healthz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["agents_connected"])')" = 1 ]; }
for n in 1 2 3; do ws_wait_for 20 connected $n || it_fail "collector $n does not have its one agent"; done

# pages RULE: messages the receiver got paging an alarm of RULE.
pages() {
  python3 - "$IT/rx.jsonl" "$1" <<'PY'
import json, sys
try:
    lines = open(sys.argv[1]).read().splitlines()
except FileNotFoundError:
    lines = []
n = 0
for line in lines:
    try:
        b = json.loads(json.loads(line)["body"])
    except ValueError:
        continue
    n += sum(1 for a in b.get("alarms", []) if a.get("rule") == sys.argv[2] and a.get("kind") == "page")
print(n)
PY
}
paged() { [ "$(pages "$1")" -ge 1 ]; }
raises() { ws_psql "select count(*) from watchstand.shift_log where kind = 'alarm' and text like 'RAISE critical $1 on %'"; }

# Both followers feed the one queue; the leader raises and pages.
echo 1 >"$IT/b1"
echo 1 >"$IT/c1"
echo 1 >"$IT/a1"
for r in a1 b1 c1; do ws_wait_for 30 paged $r || it_fail "alarm $r was not paged"; done
it_ok "alarms of the leader's and both followers' agents paged by the leader"

# kill -9 of the leader: one of the two takes over, the other follows it.
kill -9 "${PID[1]}"
wait "${PID[1]}" 2>/dev/null || true
one_leader() {
  local l2 l3
  l2=$(lead_field 2 role) l3=$(lead_field 3 role)
  { [ "$l2" = leader ] && [ "$l3" = follower ]; } || { [ "$l2" = follower ] && [ "$l3" = leader ]; }
}
ws_wait_for 30 one_leader || it_fail "no single leader after the kill: 2 is $(lead_field 2 role), 3 is $(lead_field 3 role)"
if is_role 2 leader; then NEW=2 OTHER=3 OTHER_HOST=c; else NEW=3 OTHER=2 OTHER_HOST=b; fi
ws_wait_for 20 knows $OTHER $NEW || it_fail "collector $OTHER does not know the new leader $NEW: $(lead_field $OTHER leader_url)"
[ "$(lead_field $NEW epoch)" = 2 ] || it_fail "the new leader's epoch is $(lead_field $NEW epoch), not 2"
sleep 2 # the follower tried for the lock twice at least
one_leader || it_fail "two leaders"
it_ok "collector $NEW took over (epoch 2); collector $OTHER follows it"

# An alarm of the remaining follower's agent, after the takeover.
echo 1 >"$IT/${OTHER_HOST}2"
ws_wait_for 30 paged ${OTHER_HOST}2 || it_fail "alarm ${OTHER_HOST}2 (agent on follower $OTHER) was not paged"
it_ok "an alarm of the remaining follower's agent paged through the new leader"

# An ack on the remaining follower is forwarded to the new leader.
ID=$(ws_psql "select id from watchstand.alarms where rule = '${OTHER_HOST}2'")
F="http://127.0.0.1:${HTTP[$OTHER]}/api/v1"
token=$(curl -sf -X POST -d '{"login":"alice","password":"alice-password"}' "$F/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])') || it_fail "login on collector $OTHER"
code=$(curl -s -o "$IT/ack.json" -D "$IT/ack.headers" -w '%{http_code}' -H "Authorization: Bearer $token" \
  -X POST -d '{}' "$F/alarms/$ID/ack")
[ "$code" = 200 ] || it_fail "ack on follower $OTHER answered $code: $(cat "$IT/ack.json")"
grep -qi "^X-Watchstand-Leader: http://127.0.0.1:${HTTP[$NEW]}" "$IT/ack.headers" ||
  it_fail "the ack was not answered by the new leader: $(cat "$IT/ack.headers")"
[ "$(ws_psql "select acked_by from watchstand.alarms where id = $ID")" = alice ] || it_fail "the alarm is not acked by alice"
it_ok "an ack on follower $OTHER was forwarded to leader $NEW"

# The old leader restarted follows the new one.
start 1
ws_wait_for 20 is_role 1 follower || it_fail "the restarted collector 1 does not follow"
ws_wait_for 20 knows 1 $NEW || it_fail "collector 1 does not know leader $NEW"
is_role $NEW leader || it_fail "collector $NEW lost the lead"
it_ok "the restarted collector 1 follows collector $NEW"

for r in a1 b1 c1 ${OTHER_HOST}2; do
  [ "$(raises $r)" = 1 ] || it_fail "alarm $r raised $(raises $r) times in the shift log"
  [ "$(pages $r)" = 1 ] || it_fail "alarm $r paged $(pages $r) times"
done
[ "$(ws_psql "select count(*) from watchstand.shift_log where kind = 'lead' and text like 'TAKEOVER:%'")" = 2 ] ||
  it_fail "no takeover in the shift log"
it_ok "each alarm raised once and paged once across three collectors and a takeover"
