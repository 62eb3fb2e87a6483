# The SNMP, PostgreSQL and HTTP probe families are modules loaded on first
# use (agent.md, "Modules"): an agent with only built-in probes maps none of
# libcurl, libpq, libnetsnmp; a reload that adds an http probe loads its
# module and the probe works; a missing module is a config error naming it.
. "$(dirname "$0")/lib.sh"

H=mods-$$
it_setup "$H"
it_agent_config "$H" "  - {name: fs, type: filesystem, interval: 500ms, path: $IT}"
it_start_collector
it_start_agent "$H"
ws_wait_for 20 it_has "$H" fs.free_bytes || it_fail "no samples from the agent"
maps() { awk '{print $6}' "/proc/$IT_AGENT_PID/maps" | sort -u; }
maps >"$IT/maps-before"
grep -E "libcurl|libpq|libnetsnmp|watchstand-agent-" "$IT/maps-before" &&
  it_fail "an agent with built-in probes only maps the libraries above"
grep -q "libcrypto" "$IT/maps-before" || it_fail "no libcrypto in the agent's maps: is /proc/PID/maps read right?"
it_ok "built-in probes only: no libcurl, libpq, libnetsnmp mapped"

mkdir -p "$IT/www" && echo ok >"$IT/www/health"
http_port=$(ws_free_port)
(cd "$IT/www" && exec python3 -m http.server --bind 127.0.0.1 "$http_port" >/dev/null 2>&1) & IT_PIDS+=($!)
ws_wait_for 10 curl -sf "http://127.0.0.1:$http_port/health" || it_fail "test HTTP server did not start"
cat >>"$IT/$H.yaml" <<YAML
  - {name: web, type: http, interval: 500ms, url: 'http://127.0.0.1:$http_port/health'}
YAML
kill -HUP "$IT_AGENT_PID"
ws_wait_for 20 it_latest_is "$H" web.up 1 || it_fail "the http probe added by a reload does not work"
maps >"$IT/maps-after"
grep -q "/watchstand-agent-http.so$" "$IT/maps-after" || it_fail "the http module is not mapped"
grep -q "libcurl" "$IT/maps-after" || it_fail "libcurl is not mapped with the http module"
grep -E "libpq|libnetsnmp" "$IT/maps-after" && it_fail "the http probe mapped the libraries above"
it_ok "a reload adding an http probe loads the http module (and libcurl) only"

# Modules come from beside the binary, or WATCHSTAND_MODULE_DIR.
set +e
out=$(WATCHSTAND_MODULE_DIR=$IT/nowhere "$WS_BUILD/watchstand-agent" --check -c "$IT/$H.yaml" 2>&1)
rc=$?
set -e
echo "$out"
[ $rc -eq 1 ] || it_fail "a missing module: exit $rc"
echo "$out" | grep -q "probes\[1\].type: cannot load the http module: $IT/nowhere/watchstand-agent-http.so: " ||
  it_fail "a missing module is not named"
out=$("$WS_BUILD/watchstand-agent" --check -c "$IT/$H.yaml" 2>&1) || it_fail "check with the module beside the binary: $out"
it_ok "a missing module is a config error naming its path"
