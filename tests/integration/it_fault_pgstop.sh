# PostgreSQL stops under load, first with pg_ctl stop -m fast, then with
# -m immediate (a crash), stays down a few seconds and starts again on the
# same port: the collector stays up, /healthz says 503 while the database is
# down and 200 after, the outage is logged as readable text naming the
# cause, and every number the load generator sent is stored exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault_lib.sh"

COUNT=${IT_FAULT_COUNT:-120000}
RATE=${IT_FAULT_RATE:-3000}
DOWN_S=${IT_FAULT_DOWN_S:-5}

# Same port on every start, so the collector's DSN stays valid.
WS_PGPORT_WANT=$(ws_free_port)
export WS_PGPORT_WANT
it_setup bench
it_start_collector
it_loadgen_start bench "$COUNT" "$RATE"

healthz() {
  curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$IT_HTTP/healthz"
}
healthz_is() {
  [ "$(healthz)" = "$1" ]
}
collector_up() {
  kill -0 "$IT_COLLECTOR_PID" 2>/dev/null || it_fail "the collector exited"
}

for mode in fast immediate; do
  case $mode in
  fast) mark=$((COUNT / 5)) ;;
  immediate) mark=$((COUNT * 11 / 20)) ;;
  esac
  ws_wait_for 60 it_lg_stored_over "$mark" ||
    it_fail "stored count stuck at $(it_lg_stored) before the $mode stop"
  log_from=$(($(wc -c <"$IT/collector.log") + 1))
  ws_as_pg "$(ws_pg_bin)/pg_ctl" -D "$IT/pg/data" -m "$mode" -w stop >/dev/null ||
    it_fail "pg_ctl stop -m $mode failed"
  it_ok "PostgreSQL stopped (-m $mode) under load"
  ws_wait_for 30 healthz_is 503 || { collector_up; it_fail "healthz answered $(healthz), not 503, with the database down"; }
  sleep "$DOWN_S" # the database stays away a while; the load goes on
  collector_up
  code=$(healthz)
  [ "$code" = 503 ] || it_fail "healthz answered $code, database still down"
  it_ok "database down ($mode): collector up, healthz 503"

  # The outage is logged readably and names the cause (before the fix in
  # store_disconnect this was freed memory: garbage, or an ASan abort).
  # -a: a line of garbage must not make grep call the log binary and skip it.
  tail -c "+$log_from" "$IT/collector.log" | grep -a "warn: database: " >"$IT/outage-$mode.txt" || true
  echo "logged during the $mode stop:"
  LC_ALL=C cat -v "$IT/outage-$mode.txt" | sed 's/^/  | /'
  # The first line is the lost connection itself (then come the retries).
  head -1 "$IT/outage-$mode.txt" | grep -qaE "database: .*(terminat|server closed|connection|could not)" ||
    it_fail "the first log line of the $mode outage does not name its cause"
  if LC_ALL=C grep -qa '[^[:print:]]' "$IT/outage-$mode.txt"; then
    it_fail "the $mode outage was logged with unprintable bytes"
  fi

  ws_pg_start "$IT/pg"
  ws_wait_for 60 healthz_is 200 || { collector_up; it_fail "healthz answered $(healthz), not 200, once the database is back"; }
  collector_up
  it_ok "database back ($mode): healthz 200"
done

it_loadgen_wait "$COUNT"
collector_up
it_lg_exactly_once
echo "replayed batches found stored: $(it_dup_batches)"
it_ok "fast and immediate stops: all $IT_LG_SENT numbers stored exactly once"
it_stop_collector
