# The postgres probe against a real server: db_bytes = pg_database_size,
# fill_pct against a quota, connections_pct, a long transaction; and a
# server that hangs, which must not slow a 1 s process probe next to it.
. "$(dirname "$0")/lib.sh"

it_setup host-db
psql "$WS_DSN" -Atqc "create database trading" 
TRADING="host=127.0.0.1 port=$WS_PGPORT user=postgres dbname=trading"
psql "$TRADING" -Atqc "create table fills as select g, md5(g::text) from generate_series(1, 20000) g"
hang_port=$(ws_free_port)
python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $hang_port)); s.listen(16)
held = []
while True:
    c, _ = s.accept(); held.append(c)   # never answers
" & IT_PIDS+=($!)
cp /bin/sleep "$IT/wsd$$"
"$IT/wsd$$" 600 & IT_PIDS+=($!)
it_agent_config host-db "  - {name: pg, type: postgres, interval: 1s, conninfo: '$TRADING', databases: [trading], quota: 100MiB}
  - {name: pghung, type: postgres, interval: 1s, timeout: 2s, conninfo: 'host=127.0.0.1 port=$hang_port user=x dbname=x connect_timeout=60'}
  - {name: decoy, type: process, interval: 1s, match: {comm: wsd$$}}"
it_start_collector
it_start_agent host-db

ws_wait_for 20 it_latest_is host-db pg.up 1 || it_fail "pg.up never 1"
ws_wait_for 5 it_has host-db pg.trading.db_bytes || it_fail "no pg.trading.db_bytes"
size=$(ws_psql "select pg_database_size('trading')")
got=$(it_latest host-db pg.trading.db_bytes)
[ "${got%.*}" = "$size" ] || it_fail "db_bytes $got != pg_database_size $size"
fill=$(it_latest host-db pg.fill_pct)
python3 -c "import sys; sys.exit(0 if abs(float('$fill') - 100.0 * $size / (100 * 1048576)) < 1e-6 else 1)" ||
  it_fail "fill_pct $fill is not db_bytes / 100MiB"
it_ok "db_bytes = pg_database_size ($size), fill_pct against the quota ($fill)"

# Five clients, each holding a transaction open.
for i in 1 2 3 4 5; do psql "$TRADING" -Atqc "begin; select pg_sleep(20); commit" >/dev/null & IT_PIDS+=($!); done
sleep 4
expect=$(ws_psql "select count(*) * 100.0 / current_setting('max_connections')::int from pg_stat_activity where backend_type = 'client backend'")
got=$(it_latest host-db pg.connections_pct)
echo "connections_pct: probe $got, server now $expect"
python3 -c "import sys; sys.exit(0 if abs(float('$got') - float('$expect')) <= 2.0 and float('$got') >= 5 else 1)" ||
  it_fail "connections_pct $got vs $expect"
long=$(it_latest host-db pg.longest_xact_s)
python3 -c "import sys; sys.exit(0 if 2 <= float('$long') <= 10 else 1)" || it_fail "longest_xact_s $long"
xid=$(it_latest host-db pg.xid_age_pct)
python3 -c "import sys; sys.exit(0 if 0 < float('$xid') < 1 else 1)" || it_fail "xid_age_pct $xid"
it_ok "connections_pct, longest_xact_s ($long s), xid_age_pct"

ws_wait_for 10 it_latest_is host-db pghung.up 0 || it_fail "hung server not reported down"
[ "$(grep -c "probe pghung:" "$IT/host-db.log")" -eq 1 ] || it_fail "hung server logged more than once"
gap=$(ws_psql "select max(d) from (select extract(epoch from ts - lag(ts) over (order by ts)) d
  from watchstand.v_samples where host = 'host-db' and series = 'decoy.count') x")
echo "largest gap of the 1 s process probe next to the hung server: ${gap}s"
python3 -c "import sys; sys.exit(0 if float('$gap') < 1.5 else 1)" || it_fail "process probe delayed: gap ${gap}s"
it_ok "a hung server is given up on at its timeout; the process probe kept its pace"

# A streaming standby: lag is reported on the primary and on the standby.
bin=$(ws_pg_bin)
mkdir -p "$IT/pg2" && chown postgres: "$IT/pg2" && chmod 700 "$IT/pg2"
ws_as_pg "$bin/pg_basebackup" -h 127.0.0.1 -p "$WS_PGPORT" -U postgres -D "$IT/pg2/data" -R -X stream --checkpoint=fast
STANDBY_PORT=$(ws_free_port)
ws_as_pg "$bin/pg_ctl" -D "$IT/pg2/data" -l "$IT/pg2/postgres.log" -w \
  -o "-p $STANDBY_PORT -k $IT/pg2 -c listen_addresses=127.0.0.1" start >/dev/null
kill "$IT_AGENT_PID"; wait "$IT_AGENT_PID" 2>/dev/null || true
it_agent_config host-db "  - {name: primary, type: postgres, interval: 1s, conninfo: '$TRADING'}
  - {name: standby, type: postgres, interval: 1s, conninfo: 'host=127.0.0.1 port=$STANDBY_PORT user=postgres dbname=trading'}"
it_start_agent host-db
# Writes go on until both lags are reported: the primary's replay_lag is
# NULL again soon after the standby caught up with an idle primary, so a
# fixed burst of writes may end before a busy machine's probe looks.
write_until() {
  psql "$TRADING" -Atqc "insert into fills select g, 'x' from generate_series(1, 100) g" >/dev/null
  it_has host-db "$1"
}
ws_wait_for 30 write_until standby.replication_lag_s || it_fail "no lag reported on the standby"
ws_wait_for 30 write_until primary.replication_lag_s || it_fail "no lag reported on the primary"
lag=$(ws_psql "select max(value) from watchstand.v_samples where host = 'host-db' and series = 'primary.replication_lag_s'")
python3 -c "import sys; sys.exit(0 if 0 <= float('$lag') < 5 else 1)" || it_fail "primary lag $lag"
it_ok "replication lag on the primary ($lag s) and on the standby"
