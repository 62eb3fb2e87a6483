# Agent actions over the link: the real agent against a scripted collector
# stand-in (actstand.py) that sends action frames and checks each result;
# then protocol 2 and protocol 1 hellos against the real collector.
. "$(dirname "$0")/lib.sh"

it_setup host-act host-other
W=$IT/work
mkdir -p "$W"
# A copy of sleep under a path unique to this test: /proc shows whether
# any process of it is left behind.
cp "$(command -v sleep)" "$W/ws-grandchild"

cat >"$W/args.sh" <<'SH'
#!/bin/sh
echo "first line"
i=0
while [ $i -lt 200 ]; do echo "filler line $i ..........................."; i=$((i + 1)); done
for a in "$@"; do echo "arg:$a"; done
echo "to stderr" >&2
echo "last line"
exit 3
SH
cat >"$W/hold.sh" <<SH
#!/bin/sh
touch "$W/\$1.started"
while [ ! -e "$W/\$1.release" ]; do sleep 0.05; done
echo released
SH
cat >"$W/hang.sh" <<SH
#!/bin/sh
# Deaf to SIGTERM, with a grandchild: only the group's SIGKILL ends them.
trap '' TERM
"$W/ws-grandchild" 1000 &
wait
SH
chmod +x "$W"/*.sh

STAND=$(ws_free_port)
cat >"$IT/host-act.yaml" <<YAML
agent:
  name: host-act
  role: quote
  collectors: ["127.0.0.1:$STAND"]
  tls: {ca: tls/ca.pem, cert: tls/host-act.pem, key: tls/host-act.key}
  spool: {dir: spool-host-act, max_size: 16MiB, max_age: 1h}
actions:
  args: {run: ["$W/args.sh", "one", "two words", "\$HOME;*"]}
  hold: {run: ["$W/hold.sh", "hold"]}
  later: {run: ["$W/hold.sh", "later"], drill: true}
  envdump: {run: ["/usr/bin/env"]}
  hang: {run: ["$W/hang.sh"], timeout: 1s}
YAML
"$WS_BUILD/watchstand-agent" --check -c "$IT/host-act.yaml" | grep -q "5 actions" ||
  it_fail "agent --check does not count 5 actions"

python3 "$(dirname "$0")/actstand.py" "$STAND" "$IT/tls" host-act "$W" "$IT/host-act.log" \
  >"$IT/stand.out" 2>&1 &
STAND_PID=$!
IT_PIDS+=("$STAND_PID")
ws_wait_for 20 test -e "$W/stand.ready" || it_fail "stand-in did not start"
# Variables the action must not see.
WS_SECRET=hunter2 FOO=bar it_start_agent host-act
rc=0
wait "$STAND_PID" || rc=$?
cat "$IT/stand.out"
[ $rc -eq 0 ] || it_fail "the stand-in's checks failed"
[ -z "$(pgrep -f "$W/ws-grandchild" || true)" ] || it_fail "a grandchild is left"
kill "$IT_AGENT_PID"
wait "$IT_AGENT_PID" 2>/dev/null || true

# The real collector: a protocol 2 hello is stored with its actions, and a
# protocol 1 agent is still welcomed (with version 1) and stored without.
sed -i "s/127.0.0.1:$STAND/127.0.0.1:$IT_LISTEN/" "$IT/host-act.yaml"
it_start_collector
it_start_agent host-act
stored() {
  [ "$(ws_psql "select protocol || ' ' || array_to_string(actions, ',') from watchstand.agents where name = 'host-act'")" = "2 args,hold,later,envdump,hang" ]
}
ws_wait_for 20 stored || it_fail "host-act's protocol and actions not stored: $(ws_psql "select protocol, actions from watchstand.agents")"
it_ok "the collector stored protocol 2 and the action names"
out=$(python3 "$(dirname "$0")/badclient.py" v1-welcome 127.0.0.1 "$IT_LISTEN" "$IT/tls")
[ "$out" = "welcome version 1" ] || it_fail "v1 agent got '$out'"
v1() { [ "$(ws_psql "select coalesce(protocol::text, '-') || ' ' || coalesce(actions::text, 'null') from watchstand.agents where name = 'host-other'")" = "1 null" ]; }
ws_wait_for 20 v1 || it_fail "v1 agent row: $(ws_psql "select protocol, actions from watchstand.agents where name = 'host-other'")"
it_ok "a protocol 1 agent is welcomed with version 1 and has no action list"
