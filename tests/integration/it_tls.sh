# TLS promises: the agent refuses a collector whose certificate (from the
# right CA) does not name the address it dialled, and takes it once the
# certificate does; the collector refuses a TLS 1.1 client, and the agent a
# TLS 1.1 collector.
. "$(dirname "$0")/lib.sh"

it_setup host-t
TLS=$IT/tls
# Signed by the same CA, but for other names than 127.0.0.1.
(cd "$TLS" && ws_cert_sign collector-other "subjectAltName=DNS:other.invalid,IP:127.0.0.2
extendedKeyUsage=serverAuth")
cp "$TLS/collector.pem" "$TLS/collector-good.pem"
cp "$TLS/collector.key" "$TLS/collector-good.key"
cp "$TLS/collector-other.pem" "$TLS/collector.pem"
cp "$TLS/collector-other.key" "$TLS/collector.key"

it_agent_config host-t "  - {name: fs, type: filesystem, interval: 1s, path: /}"
it_start_collector
it_start_agent host-t
AGENT_PID=$IT_AGENT_PID
L="127\\.0\\.0\\.1:$IT_LISTEN"
mismatch() { grep -qE "uplink: collector $L: TLS: .*certificate verify failed" "$IT/host-t.log"; }
ws_wait_for 15 mismatch || it_fail "agent did not refuse a collector certificate without 127.0.0.1"
grep -E "uplink: collector $L: TLS" "$IT/host-t.log" | head -1
collector_saw() { grep -qE "agent connection from 127\\.0\\.0\\.1:[0-9]+: refused: TLS handshake failed" "$IT/collector.log"; }
ws_wait_for 5 collector_saw || it_fail "collector did not log the aborted handshake"
grep -q "uplink: connected" "$IT/host-t.log" && it_fail "agent connected to a collector with the wrong name"
[ "$(it_count host-t fs.fill_pct)" -eq 0 ] || it_fail "samples stored through a wrongly named collector"
it_ok "agent refuses a collector certificate that does not name 127.0.0.1"

# The same collector with a certificate naming 127.0.0.1: the agent comes in.
it_stop_collector
cp "$TLS/collector-good.pem" "$TLS/collector.pem"
cp "$TLS/collector-good.key" "$TLS/collector.key"
it_start_collector
ws_wait_for 40 it_has host-t fs.fill_pct || it_fail "agent did not connect once the certificate was right"
it_ok "and connects once the certificate names the address"

# A TLS 1.1 client is refused by the collector. SECLEVEL=0 lets this
# OpenSSL offer TLS 1.1 at all; the server's protocol_version alert shows
# the ClientHello reached it.
s_client() {
  openssl s_client -connect "127.0.0.1:$IT_LISTEN" -CAfile "$TLS/ca.pem" \
    -cert "$TLS/host-t.pem" -key "$TLS/host-t.key" "$@" </dev/null 2>&1
}
set +e
out11=$(s_client -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0')
rc11=$?
out12=$(s_client -tls1_2)
rc12=$?
set -e
[ $rc11 -ne 0 ] || it_fail "TLS 1.1 handshake accepted: $out11"
grep -q "alert protocol version" <<<"$out11" || it_fail "no protocol_version alert for TLS 1.1: $out11"
tls11_logged() { grep -qE "agent connection from 127\\.0\\.0\\.1:[0-9]+: refused: TLS handshake failed: .*(unsupported protocol|version too low)" "$IT/collector.log"; }
ws_wait_for 5 tls11_logged || it_fail "collector did not log the TLS 1.1 refusal"
# The control: the same client on TLS 1.2 completes the handshake.
[ $rc12 -eq 0 ] && grep -qE "Protocol *: TLSv1\\.2" <<<"$out12" || it_fail "TLS 1.2 handshake failed: $out12"
kill -0 "$IT_COLLECTOR_PID" || it_fail "collector died"
it_healthy || it_fail "collector unhealthy"
it_ok "collector refuses TLS 1.1 (protocol_version alert), takes TLS 1.2"

# An agent dialling a TLS 1.1-only server refuses it.
P11=$(ws_free_port)
openssl s_server -accept "127.0.0.1:$P11" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' \
  -cert "$TLS/collector-good.pem" -key "$TLS/collector-good.key" -CAfile "$TLS/ca.pem" \
  -quiet </dev/null >"$IT/s_server.txt" 2>&1 &
IT_PIDS+=($!)
s_server_up() { python3 -c "import socket; socket.create_connection(('127.0.0.1', $P11)).close()"; }
ws_wait_for 10 s_server_up || it_fail "openssl s_server did not start"
it_agent_config host-t11 "  - {name: fs, type: filesystem, interval: 1s, path: /}"
sed -i "s/127\\.0\\.0\\.1:$IT_LISTEN/127.0.0.1:$P11/" "$IT/host-t11.yaml"
cp "$TLS/host-t.pem" "$TLS/host-t11.pem"
cp "$TLS/host-t.key" "$TLS/host-t11.key"
it_start_agent host-t11
old_server() { grep -qE "uplink: collector 127\\.0\\.0\\.1:$P11: TLS: .*(unsupported protocol|protocol version|no protocols available)" "$IT/host-t11.log"; }
ws_wait_for 15 old_server || it_fail "agent did not refuse a TLS 1.1 collector"
grep -E "uplink: collector 127\\.0\\.0\\.1:$P11: TLS" "$IT/host-t11.log" | head -1
grep -q "uplink: connected" "$IT/host-t11.log" && it_fail "agent connected over TLS 1.1"
kill -0 "$AGENT_PID" || it_fail "agent host-t died"
it_ok "agent refuses a TLS 1.1 collector"
