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

# expect MODE REFUSED LOG_PATTERN ANSWER: the bad client gets ANSWER (an
# extended regex for its whole output: the collector's error frame where TLS
# is up), the collector logs exactly one new line matching LOG_PATTERN, the
# refused counter grows by REFUSED, and the collector is alive, healthy and
# without a sanitizer report: a crash must not pass for a refusal.
expect() {
  local mode=$1 refused=$2 pattern=$3 answer=$4 out lines0 lines r0 r1
  lines0=$(grep -cE "$pattern" "$IT/collector.log" || true)
  r0=$(it_metric watchstand_connections_refused_total)
  out=$(python3 "$(dirname "$0")/badclient.py" "$mode" 127.0.0.1 "$IT_LISTEN" "$IT/tls")
  echo "$mode -> $out"
  grep -qxE "$answer" <<<"$out" || it_fail "$mode: the client got '$out', not /$answer/"
  more_lines() { [ "$(grep -cE "$pattern" "$IT/collector.log")" -gt "$lines0" ]; }
  ws_wait_for 5 more_lines || it_fail "$mode: no log line matching '$pattern'"
  lines=$(grep -cE "$pattern" "$IT/collector.log")
  [ "$lines" -eq $((lines0 + 1)) ] || it_fail "$mode: $((lines - lines0)) log lines matching '$pattern'"
  kill -0 "$IT_COLLECTOR_PID" 2>/dev/null || it_fail "collector died on $mode"
  ! grep -E "runtime error:|Sanitizer" "$IT/collector.log" || it_fail "sanitizer report after $mode"
  it_healthy || it_fail "collector unhealthy after $mode"
  r1=$(it_metric watchstand_connections_refused_total)
  [ "$r1" -eq $((r0 + refused)) ] || it_fail "$mode: refused counter $r0 -> $r1"
}

A="agent connection from 127\.0\.0\.1:[0-9]+"
expect plaintext 1 "$A: refused: TLS handshake failed" "closed: .*"
expect rogue-cert 1 "$A: refused: TLS handshake failed: .*certificate" "closed: .*"
expect garbage 1 "$A: refused: unknown frame type" "error: unknown frame type"
expect oversized 1 "$A: refused: frame larger than the 4 MiB limit" \
  "error: frame larger than the 4 MiB limit"
expect bad-version 1 "agent host-good from 127\.0\.0\.1:[0-9]+: refused: unsupported protocol version 99" \
  "error: unsupported protocol version 99 \(this collector speaks 1 to 2\)"
expect wrong-name 1 "refused: certificate \(CN=host-good\) does not name agent 'host-other'" \
  "error: certificate \(CN=host-good\) does not name agent 'host-other'"
expect batch-before-hello 1 "$A: refused: batch before the hello was accepted" \
  "error: batch before the hello was accepted"
# Past the hello the agent is not refused but disconnected.
expect bad-series 0 "agent host-other from 127\.0\.0\.1:[0-9]+: disconnected: batch 1000000000: series name empty, too long or with bad characters" \
  "error: batch 1000000000: series name empty, too long or with bad characters"

# A bare port check (connect, close) is not a refused agent. One more bad
# client after it is the barrier: once its refusal is logged, the collector
# has seen the port check's close too.
python3 -c "import socket; socket.create_connection(('127.0.0.1', $IT_LISTEN)).close()"
expect garbage 1 "$A: refused: unknown frame type" "error: unknown frame type"

# Each bad client gave exactly one line, the port check none.
lines=$(grep -c "refused:" "$IT/collector.log")
[ "$lines" -eq 8 ] || it_fail "expected 8 refusal lines, found $lines"
refused=$(it_metric watchstand_connections_refused_total)
[ "$refused" = "8" ] || it_fail "refused counter is $refused"

# The good agent was never disturbed.
kill -0 "$IT_AGENT_PID" || it_fail "good agent died"
grep -q "lost collector" "$IT/host-good.log" && it_fail "good agent lost its link"
mid=$(it_count host-good fs.fill_pct)
flowing() { [ "$(it_count host-good fs.fill_pct)" -gt "$mid" ]; }
ws_wait_for 10 flowing || it_fail "good agent stopped flowing (still $mid samples)"
after=$(it_count host-good fs.fill_pct)
it_ok "8 bad clients refused, 1 disconnected, good agent kept flowing ($before -> $after samples)"
