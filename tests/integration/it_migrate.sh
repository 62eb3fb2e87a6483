#!/usr/bin/env bash
# migrate: a fresh schema, a second run that changes nothing, and a
# database at an older version (with a gap) brought up to the latest.
. "$(dirname "$0")/lib.sh"

SQL=$WS_ROOT/collector/ingest/sql
ws_pg_start "$IT/pg"
ws_certs "$IT/tls"
it_collector_config
migrate() { "$WS_BUILD/watchstand-collector" -c "$IT/collector.yaml" "$@" migrate; }
# The versions of the files, ascending; a number may be missing (reserved
# by a branch not merged yet).
versions=$(find "$SQL" -name '[0-9]*.sql' -printf '%f\n' | sort | sed 's/^0*//; s/_.*//')
latest=$(echo "$versions" | tail -1)
count=$(echo "$versions" | wc -l)

migrate >"$IT/m1.out" || it_fail "first migrate: $(cat "$IT/m1.out")"
n=$(grep -c '^migrate: applied ' "$IT/m1.out")
[ "$n" = "$count" ] || it_fail "first migrate applied $n, not $count: $(cat "$IT/m1.out")"
grep -q '^migrate: applied 1: agents, day-partitioned samples, v_samples$' "$IT/m1.out" ||
  it_fail "the description of 1 is not the file's first comment: $(cat "$IT/m1.out")"
it_ok "a fresh database gets versions 1..$latest"

state() { ws_psql "select string_agg(version || '@' || applied_at, ',' order by version) from watchstand.schema_migrations"; }
before=$(state)
migrate >"$IT/m2.out" || it_fail "second migrate: $(cat "$IT/m2.out")"
grep -q "^migrate: schema is up to date (version $latest)$" "$IT/m2.out" ||
  it_fail "second migrate: $(cat "$IT/m2.out")"
! grep -q 'applied' "$IT/m2.out" || it_fail "second migrate applied something: $(cat "$IT/m2.out")"
[ "$(state)" = "$before" ] || it_fail "schema_migrations changed on a second run"
it_ok "a second migrate is a no-op"

# An older database, set up by hand from the same files: 1..5 and 7
# (7 needs only the alarms), so 6 is missing below the highest.
ws_psql "create database ws_old" >/dev/null
OLD=${WS_DSN/dbname=watchstand/dbname=ws_old}
psql "$OLD" -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || it_fail "bootstrap of ws_old"
SET client_min_messages = warning;
CREATE SCHEMA watchstand;
CREATE TABLE watchstand.schema_migrations (
  version integer PRIMARY KEY, what text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now());
SQL
for f in "$SQL"/00[1-5]_*.sql "$SQL"/007_*.sql; do
  v=$(basename "$f" | sed 's/^0*//; s/_.*//')
  what=$(head -1 "$f" | sed 's/^-- //')
  { cat "$f"; echo "INSERT INTO watchstand.schema_migrations (version, what) VALUES ($v, \$w\$$what\$w\$);"; } |
    psql "$OLD" -X -q -1 -v ON_ERROR_STOP=1 >/dev/null || it_fail "applying $f by hand"
done
migrate --database "$OLD" >"$IT/m3.out" || it_fail "upgrade: $(cat "$IT/m3.out")"
got=$(sed -n 's/^migrate: applied \([0-9]*\):.*/\1/p' "$IT/m3.out" | tr '\n' ' ')
want=$(echo "$versions" | awk '$1 >= 6 && $1 != 7' | tr '\n' ' ')
[ "$got" = "$want" ] || it_fail "upgrade applied '$got', not '$want'"
[ "$(psql "$OLD" -X -At -c 'select count(*) from watchstand.schema_migrations')" = "$count" ] ||
  it_fail "ws_old does not record $count versions"
migrate --database "$OLD" | grep -q "up to date (version $latest)" || it_fail "ws_old: second migrate"
it_ok "a database at 1..5 and 7 gets 6 and 8..$latest, then nothing"

# Both roads lead to the same schema.
dump() { pg_dump "$1" --schema-only --no-owner -n watchstand | grep -Ev '^(--|\\(un)?restrict |$)'; }
dump "$WS_DSN" >"$IT/fresh.sql"
dump "$OLD" >"$IT/old.sql"
diff "$IT/fresh.sql" "$IT/old.sql" >"$IT/dump.diff" || it_fail "schemas differ: $(head -40 "$IT/dump.diff")"
it_ok "the upgraded schema is the fresh one"
