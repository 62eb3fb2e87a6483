# The collector's /metrics passes `promtool check metrics` (format and
# lint; any complaint fails) with an agent connected and its batches
# stored, so every family, the per-agent ones too, has samples; and it has
# every family that docs/collector.md lists, and no other.
. "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null ||
  it_fail "promtool not found (scripts/install-deps installs Debian's prometheus)"

it_setup host-m
# One channel, never used, so the notifier and its families exist.
cat >>"$IT/collector.yaml" <<YAML
notify:
  secret_file: notify.secret
  channels:
    - {name: hook, type: webhook, url: "http://127.0.0.1:$(ws_free_port)/unused"}
YAML
it_agent_config host-m "  - {name: fs, type: filesystem, interval: 1s, path: /}"
it_start_collector
it_start_agent host-m

metrics() { curl -sf "http://127.0.0.1:$IT_HTTP/metrics" >"$IT/metrics.txt"; }
connected() { [ "$(it_metric 'watchstand_agent_connected{agent="host-m",role="quote"}')" = 1 ]; }
stored() { [ "$(it_metric watchstand_batches_total)" -gt 0 ] 2>/dev/null; }
ws_wait_for 20 connected || it_fail "agent host-m not connected"
ws_wait_for 20 stored || it_fail "no batch committed"
metrics || it_fail "GET /metrics failed"

set +e
lint=$(promtool check metrics <"$IT/metrics.txt" 2>&1)
rc=$?
set -e
if [ $rc -ne 0 ] || [ -n "$lint" ]; then
  echo "$lint" >&2
  it_fail "promtool check metrics: exit $rc, $(echo "$lint" | grep -c .) complaint(s)"
fi
families=$(grep -c '^# TYPE ' "$IT/metrics.txt")
it_ok "promtool check metrics: no complaint about $families families"

# Each family in the docs' table is served, with a TYPE line and a sample.
documented=$(grep -oE '^\| `watchstand_[a-z_]+' "$WS_ROOT/docs/collector.md" | sed 's/^| `//' | sort -u)
[ -n "$documented" ] || it_fail "no metric table in docs/collector.md"
for m in $documented; do
  grep -q "^# TYPE $m " "$IT/metrics.txt" || it_fail "$m is documented but not served"
  grep -qE "^${m}(_bucket|_sum|_count)?(\{| )" "$IT/metrics.txt" || it_fail "$m has no sample"
done
for m in $(awk '$1 == "#" && $2 == "TYPE" { print $3 }' "$IT/metrics.txt"); do
  grep -qx "$m" <<<"$documented" || it_fail "$m is served but not in docs/collector.md"
done
it_ok "every documented family is served with a sample, and nothing undocumented"
