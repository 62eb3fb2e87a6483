# Misbehaving clients are each refused with one log line naming them,
# while a good agent keeps flowing and the collector stays up.
. "$(dirname "$0")/lib.sh"

it_setup host-good host-other
# A certificate from a CA the collector does not trust.
(
  cd "$IT/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout rogue.key -out rogue.pem -days 1 -subj "/CN=host-good" 2>/dev/null
)
it_agent_config host-good "  - {name: fs, type: filesystem, interval: 1s, path: /}"
it_start_collector
it_start_agent host-good
has_samples() { [ "$(it_count host-good fs.fill_pct)" -gt 0 ]; }
ws_wait_for 20 has_samples || it_fail "good agent not flowing"
before=$(it_count host-good fs.fill_pct)

expect() {
  local mode=$1 pattern=$2 out
  out=$(python3 "$(dirname "$0")/badclient.py" "$mode" 127.0.0.1 "$IT_LISTEN" "$IT/tls")
  echo "$mode -> $out"
  ws_wait_for 5 grep -qE "$pattern" "$IT/collector.log" ||
    it_fail "$mode: no log line matching '$pattern'"
  it_healthy || it_fail "collector unhealthy after $mode"
}

expect plaintext "agent connection from 127\.0\.0\.1:[0-9]+: refused: TLS handshake failed"
expect rogue-cert "refused: TLS handshake failed: .*certificate"
expect garbage "agent connection from 127\.0\.0\.1:[0-9]+: refused: unknown frame type"
expect oversized "refused: frame larger than the 4 MiB limit"
expect bad-version "agent host-good from 127\.0\.0\.1:[0-9]+: refused: unsupported protocol version 99"
expect wrong-name "refused: certificate \(CN=host-good\) does not name agent 'host-other'"
expect batch-before-hello "refused: batch before the hello was accepted"
expect bad-series "agent host-other from 127\.0\.0\.1:[0-9]+: disconnected: batch 1000000000: series name empty, too long or with bad characters"

# A bare port check (connect, close) is not a refused agent.
python3 -c "import socket; socket.create_connection(('127.0.0.1', $IT_LISTEN)).close()"
sleep 0.5

# Each bad client gave exactly one line.
lines=$(grep -c "refused:" "$IT/collector.log")
[ "$lines" -eq 7 ] || it_fail "expected 7 refusal lines, found $lines"
refused=$(it_metric watchstand_connections_refused_total)
[ "$refused" = "7" ] || it_fail "refused counter is $refused"

# The good agent was never disturbed.
kill -0 "$IT_AGENT_PID" || it_fail "good agent died"
grep -q "lost collector" "$IT/host-good.log" && it_fail "good agent lost its link"
sleep 3
after=$(it_count host-good fs.fill_pct)
[ "$after" -gt "$before" ] || it_fail "good agent stopped flowing ($before -> $after)"
it_ok "7 bad clients refused, good agent kept flowing ($before -> $after samples)"
