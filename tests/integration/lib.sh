# Integration test harness: a private PostgreSQL cluster, a demo CA, the
# real collector and agents. Everything is stopped on exit, pass or fail.
# shellcheck shell=bash
set -euo pipefail

WS_ROOT=${WS_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
WS_BUILD=${WS_BUILD:-$WS_ROOT/build}
. "$WS_ROOT/scripts/lib.sh"

IT=$(mktemp -d /tmp/ws-it-XXXXXX)
chmod 755 "$IT"
IT_PIDS=()
IT_COLLECTOR_PID=
IT_NAME=$(basename "$0" .sh)
IT_ON_EXIT=()

# it_on_exit CMD: one more shell command for it_cleanup to run, after the
# daemons are stopped and before $IT is removed; the last added runs first.
it_on_exit() {
  IT_ON_EXIT+=("$1")
}

it_cleanup() {
  local rc=$?
  set +e
  for p in "${IT_PIDS[@]}" $IT_COLLECTOR_PID; do kill "$p" 2>/dev/null; done
  for p in "${IT_PIDS[@]}" $IT_COLLECTOR_PID; do wait "$p" 2>/dev/null; done
  for d in "$IT"/pg*; do [ -d "$d" ] && ws_pg_stop "$d"; done
  for ((i = ${#IT_ON_EXIT[@]} - 1; i >= 0; i--)); do eval "${IT_ON_EXIT[$i]}"; done
  # A sanitizer report in any daemon's log fails the test.
  if grep -lE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$IT"/*.log 2>/dev/null; then
    echo "FAIL: sanitizer report in the logs above" >&2
    rc=1
  fi
  if [ $rc -ne 0 ]; then
    echo "---- $IT_NAME failed; logs follow" >&2
    for f in "$IT"/*.log; do echo "== $f" >&2; tail -40 "$f" >&2; done
  fi
  rm -rf "$IT"
  exit $rc
}
trap it_cleanup EXIT
# Ctrl-C or a TERM still cleans up (bash skips the EXIT trap on a signal).
trap 'exit 130' INT
trap 'exit 143' TERM

it_fail() {
  echo "FAIL: $*" >&2
  exit 1
}

it_ok() {
  echo "ok: $*"
}

# it_setup AGENT...: cluster, schema, certificates, collector config.
it_setup() {
  ws_pg_start "$IT/pg"
  ws_certs "$IT/tls" "$@"
  it_collector_config
  "$WS_BUILD/watchstand-collector" -c "$IT/collector.yaml" migrate >/dev/null
}

# it_collector_config: ports and $IT/collector.yaml for $WS_DSN.
it_collector_config() {
  IT_LISTEN=$(ws_free_port)
  IT_HTTP=$(ws_free_port)
  cat >"$IT/collector.yaml" <<YAML
collector:
  listen: 127.0.0.1:$IT_LISTEN
  http: 127.0.0.1:$IT_HTTP
  database: "$WS_DSN"
  tls: {ca: tls/ca.pem, cert: tls/collector.pem, key: tls/collector.key}
  state_dir: $IT/state
  allow_owner: true        # the tests connect as the superuser postgres
YAML
}

it_start_collector() {
  "$WS_BUILD/watchstand-collector" -c "$IT/collector.yaml" run 2>>"$IT/collector.log" &
  IT_COLLECTOR_PID=$!
  ws_wait_for 20 it_healthy || it_fail "collector did not become healthy"
}

it_stop_collector() {
  kill "$IT_COLLECTOR_PID"
  wait "$IT_COLLECTOR_PID" 2>/dev/null || true
  IT_COLLECTOR_PID=
}

it_healthy() {
  curl -sf "http://127.0.0.1:$IT_HTTP/healthz" >/dev/null
}

it_metric() {
  curl -sf "http://127.0.0.1:$IT_HTTP/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}

# it_agent_config NAME PROBES_YAML: writes $IT/NAME.yaml.
it_agent_config() {
  local name=$1 probes=$2
  cat >"$IT/$name.yaml" <<YAML
agent:
  name: $name
  role: quote
  collectors: ["127.0.0.1:$IT_LISTEN"]
  tls: {ca: tls/ca.pem, cert: tls/$name.pem, key: tls/$name.key}
  spool: {dir: spool-$name, max_size: 16MiB, max_age: 1h}
probes:
$probes
YAML
}

# it_start_agent NAME: runs the agent; its pid is in IT_AGENT_PID.
it_start_agent() {
  "$WS_BUILD/watchstand-agent" -c "$IT/$1.yaml" 2>>"$IT/$1.log" &
  IT_AGENT_PID=$!
  IT_PIDS+=("$IT_AGENT_PID")
}

# it_latest HOST SERIES: the newest value of a series.
it_latest() {
  ws_psql "select value from watchstand.v_samples where host = '$1' and series = '$2' order by ts desc limit 1"
}

it_latest_is() {
  [ "$(it_latest "$1" "$2")" = "$3" ]
}

it_has() {
  [ "$(it_count "$1" "$2")" -gt 0 ]
}

it_count() {
  ws_psql "select count(*) from watchstand.v_samples where host = '$1' and series = '$2'"
}

# it_veth_pair: a network namespace and a veth pair of the test's own, with
# names from $$ (NS, HOST_IF in this namespace, PEER_IF in NS) on a private
# /30 (HOST_IP, PEER_IP) that no route here covers; both are removed on
# exit. Needs root.
it_veth_pair() {
  local n cand base last try
  NS=wsns$$
  HOST_IF=wsh$$
  PEER_IF=wsp$$
  # A private /30 for the pair, derived from $$, that no route here covers yet.
  subnet=
  for try in 0 1 2 3 4 5 6 7; do
    n=$(($$ + try * 7919))
    cand=10.$((200 + (n >> 14) % 50)).$(((n >> 6) & 255)).$(((n & 63) * 4))
    base=${cand%.*}
    last=${cand##*.}
    if [ -z "$(ip -4 route show to match "$base.$((last + 1))" | grep -v '^default')" ] &&
      ! ip -4 -o addr show | grep -q " $base\.\($last\|$((last + 1))\|$((last + 2))\|$((last + 3))\)/"; then
      subnet=$cand
      break
    fi
  done
  [ -n "$subnet" ] || it_fail "no free private /30 for the veth pair"
  HOST_IP=$base.$((last + 1))
  PEER_IP=$base.$((last + 2))

  # Deleted on exit, pass or fail (deleting one end removes the pair); each
  # only once made here, so a name that was taken is never deleted.
  ip netns add "$NS" || it_fail "cannot add network namespace $NS"
  it_on_exit "ip netns delete $NS 2>/dev/null"
  ip link add "$HOST_IF" type veth peer name "$PEER_IF" netns "$NS" ||
    it_fail "cannot add veth pair $HOST_IF/$PEER_IF"
  it_on_exit "ip link delete $HOST_IF 2>/dev/null"
  # No IPv6 link-local address: no router solicitations on an idle line.
  ip link set dev "$HOST_IF" addrgenmode none
  ip -n "$NS" link set dev "$PEER_IF" addrgenmode none
  ip addr add "$HOST_IP/30" dev "$HOST_IF"
  ip -n "$NS" addr add "$PEER_IP/30" dev "$PEER_IF"
  ip link set dev "$HOST_IF" up
  ip -n "$NS" link set dev "$PEER_IF" up
}
