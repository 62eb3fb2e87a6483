# PostgreSQL is down when the collector starts: it says so, keeps serving,
# the agent spools; once the database is up and migrated, all arrives.
. "$(dirname "$0")/lib.sh"

export WS_PGPORT_WANT=$(ws_free_port)
ws_certs "$IT/tls" host-d
WS_DSN="host=127.0.0.1 port=$WS_PGPORT_WANT user=postgres dbname=watchstand connect_timeout=3"
it_collector_config
"$WS_BUILD/watchstand-collector" -c "$IT/collector.yaml" run 2>>"$IT/collector.log" &
IT_COLLECTOR_PID=$!
ws_wait_for 10 grep -q "database: cannot connect" "$IT/collector.log" ||
  it_fail "collector did not say the database is unreachable"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$IT_HTTP/healthz")
[ "$code" = 503 ] || it_fail "healthz answered $code with the database down"
it_ok "database down: logged, healthz 503"

it_agent_config host-d "  - {name: fs, type: filesystem, interval: 1s, path: /}"
it_start_agent host-d
sleep 4
kill -0 "$IT_COLLECTOR_PID" || it_fail "collector exited"
t_agent=$(date -u +%FT%T.%3NZ)

ws_pg_start "$IT/pg"
ws_wait_for 15 grep -q "schema_migrations.*run 'watchstand-collector migrate'" "$IT/collector.log" ||
  it_fail "collector did not ask for a migration"
"$WS_BUILD/watchstand-collector" -c "$IT/collector.yaml" migrate >/dev/null
ws_wait_for 20 it_healthy || it_fail "collector did not recover"
early() {
  [ "$(ws_psql "select count(*) from watchstand.v_samples where host = 'host-d' and ts < '$t_agent'")" -gt 0 ]
}
ws_wait_for 20 early || it_fail "samples spooled while the database was down never arrived"
# Retried every 2 s, but each distinct fault is logged once (a server
# that is starting up is a different fault from one that refuses).
n=$(grep "database: cannot connect" "$IT/collector.log" | sed 's/^[^ ]* //' | sort | uniq -d | wc -l)
[ "$n" -eq 0 ] || it_fail "the same outage was logged more than once"
[ "$(grep -c "database: cannot connect.*Connection refused" "$IT/collector.log")" -eq 1 ] ||
  it_fail "the refused connection was not logged exactly once"
it_ok "database came back: spooled samples stored, outage logged once"
