/*
 * Versioned schema migrations. Each runs once, in its own transaction,
 * under an advisory lock so two collectors cannot migrate at once.
 */
#include <stdio.h>
#include <stdlib.h>

#include <libpq-fe.h>

#include "ingest/migrate.h"

struct migration {
	int m_version;
	const char *m_what;
	const char *m_sql;
};

static const struct migration migrations[] = {
    {1, "agents, day-partitioned samples, v_samples",
     "CREATE TABLE watchstand.agents ("
     "  id serial PRIMARY KEY,"
     "  name text NOT NULL UNIQUE,"
     "  role text NOT NULL,"
     "  address text,"
     "  version text,"
     "  stream_id bigint NOT NULL DEFAULT 0,"
     "  last_seq bigint NOT NULL DEFAULT 0,"
     "  first_seen timestamptz NOT NULL DEFAULT now(),"
     "  last_seen timestamptz NOT NULL DEFAULT now());"
     "CREATE TABLE watchstand.samples ("
     "  ts timestamptz NOT NULL,"
     "  agent_id integer NOT NULL,"
     "  series text NOT NULL,"
     "  value double precision NOT NULL"
     ") PARTITION BY RANGE (ts);"
     "CREATE INDEX samples_series_ts ON watchstand.samples"
     "  (agent_id, series, ts);"
     /* Partitions are whole UTC days named samples_YYYYMMDD. */
     "CREATE FUNCTION watchstand.ensure_partition(day date)"
     " RETURNS void LANGUAGE plpgsql AS $$"
     "BEGIN"
     "  EXECUTE format('CREATE TABLE IF NOT EXISTS watchstand.%I"
     "    PARTITION OF watchstand.samples FOR VALUES FROM (%L) TO (%L)',"
     "    'samples_' || to_char(day, 'YYYYMMDD'),"
     "    (day::timestamp AT TIME ZONE 'UTC'),"
     "    ((day + 1)::timestamp AT TIME ZONE 'UTC'));"
     "END $$;"
     "CREATE FUNCTION watchstand.maintain_partitions(retention interval)"
     " RETURNS integer LANGUAGE plpgsql AS $$"
     "DECLARE p record; dropped integer := 0;"
     "BEGIN"
     "  PERFORM watchstand.ensure_partition((now() AT TIME ZONE 'UTC')::date);"
     "  PERFORM watchstand.ensure_partition((now() AT TIME ZONE 'UTC')::date + "
     "1);"
     "  FOR p IN SELECT c.relname FROM pg_inherits i"
     "    JOIN pg_class c ON c.oid = i.inhrelid"
     "    JOIN pg_class parent ON parent.oid = i.inhparent"
     "    JOIN pg_namespace n ON n.oid = parent.relnamespace"
     "    WHERE n.nspname = 'watchstand' AND parent.relname = 'samples'"
     "      AND c.relname ~ '^samples_[0-9]{8}$'"
     "  LOOP"
     "    IF ((to_date(substr(p.relname, 9), 'YYYYMMDD') + 1)::timestamp"
     "        AT TIME ZONE 'UTC') <= now() - retention THEN"
     "      EXECUTE format('DROP TABLE watchstand.%I', p.relname);"
     "      dropped := dropped + 1;"
     "    END IF;"
     "  END LOOP;"
     "  RETURN dropped;"
     "END $$;"
     "CREATE VIEW watchstand.v_samples AS"
     "  SELECT s.ts, a.name AS host, a.role, s.series, s.value"
     "  FROM watchstand.samples s JOIN watchstand.agents a"
     "    ON a.id = s.agent_id;"},
    {2, "events and v_events; maintain() for retention",
     "CREATE TABLE watchstand.events ("
     "  ts timestamptz NOT NULL,"
     "  agent_id integer NOT NULL,"
     "  probe text NOT NULL,"
     "  text text NOT NULL);"
     "CREATE INDEX events_ts ON watchstand.events (ts);"
     "CREATE INDEX events_agent_ts ON watchstand.events (agent_id, ts);"
     "CREATE VIEW watchstand.v_events AS"
     "  SELECT e.ts, a.name AS host, e.probe, e.text"
     "  FROM watchstand.events e JOIN watchstand.agents a"
     "    ON a.id = e.agent_id;"
     "CREATE FUNCTION watchstand.maintain(retention interval)"
     " RETURNS integer LANGUAGE plpgsql AS $$"
     "BEGIN"
     "  DELETE FROM watchstand.events WHERE ts < now() - retention;"
     "  RETURN watchstand.maintain_partitions(retention);"
     "END $$;"},
    {3, "alarms, the hash-chained shift log, v_alarms, v_shift_log",
     "CREATE TABLE watchstand.alarms ("
     "  id bigserial PRIMARY KEY,"
     "  rule text NOT NULL,"
     "  host text NOT NULL,"
     "  series text NOT NULL,"
     "  severity text NOT NULL,"
     "  state text NOT NULL,"
     "  value double precision,"
     "  suppressed boolean NOT NULL DEFAULT false,"
     "  chattering boolean NOT NULL DEFAULT false,"
     "  description text,"
     "  runbook text,"
     "  raised_at timestamptz NOT NULL DEFAULT now(),"
     "  acked_by text,"
     "  acked_at timestamptz,"
     "  cleared_at timestamptz,"
     "  closed_at timestamptz,"
     "  updated_at timestamptz NOT NULL DEFAULT now());"
     /* At most one open alarm per rule, host and series. */
     "CREATE UNIQUE INDEX alarms_open ON watchstand.alarms (rule, host, "
     "series) WHERE state <> 'closed';"
     "CREATE VIEW watchstand.v_alarms AS"
     "  SELECT id, raised_at, host, rule, severity, state, acked_by,"
     "    acked_at, cleared_at FROM watchstand.alarms;"
     "CREATE TABLE watchstand.shift_log ("
     "  id bigserial PRIMARY KEY,"
     "  ts timestamptz NOT NULL DEFAULT now(),"
     "  shift_id bigint,"
     "  kind text NOT NULL,"
     "  actor text NOT NULL,"
     "  text text NOT NULL,"
     "  prev_hash bytea,"
     "  hash bytea NOT NULL);"
     /* The text every entry's hash covers (verify-log builds the same). */
     "CREATE FUNCTION watchstand.shift_log_payload(e watchstand.shift_log)"
     " RETURNS bytea LANGUAGE sql IMMUTABLE AS $$"
     "  SELECT convert_to(e.id || '|' ||"
     "    to_char(e.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') "
     "|| '|' ||"
     "    coalesce(e.shift_id::text, '') || '|' || e.kind || '|' || "
     "e.actor || '|' ||"
     "    e.text, 'UTF8') $$;"
     /* Each entry carries the hash of the one before: one writer at a
      * time, whatever the client. */
     "CREATE FUNCTION watchstand.shift_log_chain() RETURNS trigger"
     " LANGUAGE plpgsql AS $$"
     "BEGIN"
     "  PERFORM pg_advisory_xact_lock(7730002);"
     "  SELECT hash INTO NEW.prev_hash FROM watchstand.shift_log"
     "    ORDER BY id DESC LIMIT 1;"
     "  NEW.ts := clock_timestamp();"
     "  NEW.hash := sha256(coalesce(NEW.prev_hash, ''::bytea) ||"
     "    watchstand.shift_log_payload(NEW));"
     "  RETURN NEW;"
     "END $$;"
     "CREATE TRIGGER shift_log_chain BEFORE INSERT ON watchstand.shift_log"
     "  FOR EACH ROW EXECUTE FUNCTION watchstand.shift_log_chain();"
     /* Append-only for everyone who goes through the table's triggers;
      * verify-log catches anyone who does not. */
     "CREATE FUNCTION watchstand.shift_log_refuse() RETURNS trigger"
     " LANGUAGE plpgsql AS $$"
     "BEGIN"
     "  RAISE EXCEPTION 'the shift log is append-only';"
     "END $$;"
     "CREATE TRIGGER shift_log_append_only BEFORE UPDATE OR DELETE ON"
     "  watchstand.shift_log FOR EACH ROW EXECUTE FUNCTION"
     "  watchstand.shift_log_refuse();"
     "CREATE TRIGGER shift_log_no_truncate BEFORE TRUNCATE ON"
     "  watchstand.shift_log FOR EACH STATEMENT EXECUTE FUNCTION"
     "  watchstand.shift_log_refuse();"
     "REVOKE UPDATE, DELETE, TRUNCATE ON watchstand.shift_log FROM PUBLIC;"
     "CREATE VIEW watchstand.v_shift_log AS"
     "  SELECT id, ts, shift_id, kind, actor, text FROM watchstand.shift_log;"},
    {4, "users",
     "CREATE TABLE watchstand.users ("
     "  id serial PRIMARY KEY,"
     "  login text NOT NULL UNIQUE,"
     "  role text NOT NULL CHECK (role IN ('viewer', 'watchstander', "
     "'lead', 'admin')),"
     "  name text,"
     "  phone text,"
     "  email text,"
     "  password_hash text NOT NULL,"
     "  created_at timestamptz NOT NULL DEFAULT now());"},
    {5, "shelving",
     "ALTER TABLE watchstand.alarms ADD COLUMN shelved_until timestamptz,"
     "  ADD COLUMN shelved_by text, ADD COLUMN shelve_reason text,"
     "  ADD COLUMN shelved_from text;"},
    {6, "hosts out of service",
     "CREATE TABLE watchstand.hosts_out_of_service ("
     "  host text PRIMARY KEY,"
     "  reason text NOT NULL,"
     "  since timestamptz NOT NULL DEFAULT now(),"
     "  until timestamptz NOT NULL,"
     "  by_user text NOT NULL);"},
    {7, "notifications",
     /* An escalation step of a route for an alarm: one row, so a step is
      * taken once even across restarts. */
     "CREATE TABLE watchstand.notify_steps ("
     "  alarm_id bigint NOT NULL REFERENCES watchstand.alarms (id),"
     "  route text NOT NULL,"
     "  step integer NOT NULL,"
     "  due_at timestamptz NOT NULL,"
     "  state text NOT NULL DEFAULT 'waiting' CHECK (state IN "
     "('waiting', 'fired', 'cancelled')),"
     "  fired_at timestamptz,"
     "  PRIMARY KEY (alarm_id, route, step));"
     "CREATE INDEX notify_steps_waiting ON watchstand.notify_steps "
     "(due_at) WHERE state = 'waiting';"
     /* A message as sent: one or more pages to one recipient. */
     "CREATE TABLE watchstand.notify_messages ("
     "  id bigserial PRIMARY KEY,"
     "  channel text NOT NULL,"
     "  recipient text NOT NULL,"
     "  status text NOT NULL DEFAULT 'pending' CHECK (status IN "
     "('pending', 'sent', 'failed')),"
     "  attempts integer NOT NULL DEFAULT 0,"
     "  next_at timestamptz NOT NULL DEFAULT now(),"
     "  deadline timestamptz NOT NULL,"
     "  created_at timestamptz NOT NULL DEFAULT now(),"
     "  sent_at timestamptz,"
     "  last_error text);"
     "CREATE INDEX notify_messages_pending ON watchstand.notify_messages "
     "(next_at) WHERE status = 'pending';"
     /* A page: one alarm, one step, one recipient, one channel. The key
      * makes a second page for the same is impossible. */
     "CREATE TABLE watchstand.notify_pages ("
     "  key text PRIMARY KEY,"
     "  alarm_id bigint REFERENCES watchstand.alarms (id),"
     "  channel text NOT NULL,"
     "  recipient text NOT NULL,"
     "  kind text NOT NULL,"
     "  info jsonb NOT NULL,"
     "  message_id bigint REFERENCES watchstand.notify_messages (id),"
     "  created_at timestamptz NOT NULL DEFAULT now());"
     "CREATE INDEX notify_pages_unsent ON watchstand.notify_pages "
     "(created_at) WHERE message_id IS NULL;"
     "CREATE INDEX notify_pages_message ON watchstand.notify_pages "
     "(message_id);"
     "CREATE TABLE watchstand.notify_attempts ("
     "  id bigserial PRIMARY KEY,"
     "  message_id bigint NOT NULL REFERENCES watchstand.notify_messages "
     "(id),"
     "  attempt integer NOT NULL,"
     "  status text NOT NULL CHECK (status IN ('sent', 'retry', "
     "'failed')),"
     "  error text,"
     "  at timestamptz NOT NULL DEFAULT now());"
     /* Acknowledgement links are good for one use. */
     "CREATE TABLE watchstand.notify_links_used ("
     "  signature text PRIMARY KEY,"
     "  alarm_id bigint NOT NULL,"
     "  recipient text NOT NULL,"
     "  used_at timestamptz NOT NULL DEFAULT now());"
     "CREATE VIEW watchstand.v_notifications AS"
     "  SELECT t.id, p.alarm_id, m.channel, m.recipient, t.attempt,"
     "    t.status, t.error, t.at AS sent_at"
     "  FROM watchstand.notify_attempts t"
     "  JOIN watchstand.notify_messages m ON m.id = t.message_id"
     "  JOIN watchstand.notify_pages p ON p.message_id = m.id;"},
    {8, "the collector's own role, watchstand_collector",
     /* The daemon runs as this role; the owner only migrates. Created
      * here when the owner may create roles (else by an administrator
      * beforehand); no password: docs/deploy.md says how it logs in. */
     "DO $$ BEGIN"
     "  IF NOT EXISTS (SELECT 1 FROM pg_roles"
     "      WHERE rolname = 'watchstand_collector') THEN"
     "    CREATE ROLE watchstand_collector LOGIN;"
     "  END IF;"
     "EXCEPTION WHEN insufficient_privilege THEN"
     "  RAISE EXCEPTION 'the role watchstand_collector does not exist and "
     "% may not create it', current_user USING HINT = 'create it as a "
     "superuser (createuser watchstand_collector), then run migrate "
     "again';"
     "END $$;"
     "GRANT USAGE ON SCHEMA watchstand TO watchstand_collector;"
     /* What the daemon reads and writes; never TRUNCATE, never owner. */
     "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA"
     "  watchstand TO watchstand_collector;"
     "REVOKE ALL ON watchstand.schema_migrations FROM watchstand_collector;"
     "GRANT SELECT ON watchstand.schema_migrations TO watchstand_collector;"
     /* The shift log: read and append, nothing else. */
     "REVOKE ALL ON watchstand.shift_log FROM watchstand_collector;"
     "GRANT SELECT, INSERT ON watchstand.shift_log TO watchstand_collector;"
     "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA watchstand"
     "  TO watchstand_collector;"
     "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA watchstand"
     "  TO watchstand_collector;"
     /* Day partitions are created and dropped as the owner, whoever asks;
      * a fixed search_path so no one can slip in their own functions. */
     "ALTER FUNCTION watchstand.ensure_partition(date) SECURITY DEFINER"
     "  SET search_path = pg_catalog, pg_temp;"
     "ALTER FUNCTION watchstand.maintain_partitions(interval) SECURITY"
     "  DEFINER SET search_path = pg_catalog, pg_temp;"
     "ALTER FUNCTION watchstand.maintain(interval) SECURITY DEFINER"
     "  SET search_path = pg_catalog, pg_temp;"
     "REVOKE EXECUTE ON FUNCTION watchstand.ensure_partition(date),"
     "  watchstand.maintain_partitions(interval),"
     "  watchstand.maintain(interval) FROM PUBLIC;"
     "GRANT EXECUTE ON FUNCTION watchstand.ensure_partition(date),"
     "  watchstand.maintain_partitions(interval),"
     "  watchstand.maintain(interval) TO watchstand_collector;"
     /* Tables, sequences and functions of later migrations (by the same
      * owner) are covered too. The shift log is not re-created by any
      * of them; one that did would have to revoke again. */
     "ALTER DEFAULT PRIVILEGES IN SCHEMA watchstand GRANT SELECT, INSERT,"
     "  UPDATE, DELETE ON TABLES TO watchstand_collector;"
     "ALTER DEFAULT PRIVILEGES IN SCHEMA watchstand GRANT USAGE, SELECT"
     "  ON SEQUENCES TO watchstand_collector;"
     "ALTER DEFAULT PRIVILEGES IN SCHEMA watchstand GRANT EXECUTE"
     "  ON FUNCTIONS TO watchstand_collector;"},
    {9, "sessions stored hashed, so they outlive a restart",
     "CREATE TABLE watchstand.sessions ("
     "  token_hash text PRIMARY KEY," /* SHA-256 of the token, hex */
     "  login text NOT NULL REFERENCES watchstand.users (login)"
     "    ON DELETE CASCADE,"
     "  role text NOT NULL,"
     "  csrf_hash text NOT NULL,"
     "  created_at timestamptz NOT NULL DEFAULT now(),"
     "  expires_at timestamptz NOT NULL);"
     "CREATE INDEX sessions_expires ON watchstand.sessions (expires_at);"
     /* The collector's own role, where there is one, may use them. */
     "DO $$ BEGIN"
     "  IF EXISTS (SELECT 1 FROM pg_roles"
     "      WHERE rolname = 'watchstand_collector') THEN"
     "    GRANT SELECT, INSERT, DELETE ON watchstand.sessions"
     "      TO watchstand_collector;"
     "  END IF;"
     "END $$;"},
    /* Protocol 2: the agent's action names from its hello (NULL from a
     * version 1 agent: it does not say), for check-config's warnings. */
    {10, "agents' protocol version and action names",
     "ALTER TABLE watchstand.agents"
     "  ADD COLUMN protocol smallint,"
     "  ADD COLUMN actions text[];"},
};

#define MIGRATIONS_N ((int)(sizeof(migrations) / sizeof(migrations[0])))

int
migrate_latest(void)
{
	return migrations[MIGRATIONS_N - 1].m_version;
}

static int
exec_ok(PGconn *db, const char *sql, const char *what)
{
	PGresult *r = PQexec(db, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
	         PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok)
		fprintf(stderr, "migrate: %s: %s", what, PQerrorMessage(db));
	PQclear(r);
	return ok ? 0 : -1;
}

int
migrate_run(const char *conninfo)
{
	PGconn *db = PQconnectdb(conninfo);
	PGresult *r;
	int current, i, rc = -1, applied = 0;

	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "migrate: cannot connect to the database: %s",
		        PQerrorMessage(db));
		PQfinish(db);
		return -1;
	}
	PQclear(PQexec(db, "SET client_min_messages = warning"));
	if (exec_ok(db, "SELECT pg_advisory_lock(7730001)", "lock") == -1 ||
	    exec_ok(db,
	            "CREATE SCHEMA IF NOT EXISTS watchstand;"
	            "CREATE TABLE IF NOT EXISTS watchstand.schema_migrations ("
	            "  version integer PRIMARY KEY,"
	            "  what text NOT NULL,"
	            "  applied_at timestamptz NOT NULL DEFAULT now())",
	            "bootstrap") == -1)
		goto done;
	r = PQexec(db, "SELECT coalesce(max(version), 0)"
	               " FROM watchstand.schema_migrations");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "migrate: %s", PQerrorMessage(db));
		PQclear(r);
		goto done;
	}
	current = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	for (i = 0; i < MIGRATIONS_N; i++) {
		const struct migration *m = &migrations[i];
		char ver[16];
		const char *params[2] = {ver, m->m_what};

		if (m->m_version <= current)
			continue;
		snprintf(ver, sizeof(ver), "%d", m->m_version);
		if (exec_ok(db, "BEGIN", "begin") == -1)
			goto done;
		if (exec_ok(db, m->m_sql, m->m_what) == -1) {
			PQclear(PQexec(db, "ROLLBACK"));
			goto done;
		}
		r = PQexecParams(
		    db,
		    "INSERT INTO watchstand.schema_migrations (version, what)"
		    " VALUES ($1, $2)",
		    2, NULL, params, NULL, NULL, 0);
		PQclear(r);
		if (exec_ok(db, "COMMIT", "commit") == -1)
			goto done;
		printf("migrate: applied %d: %s\n", m->m_version, m->m_what);
		applied++;
	}
	/* Today's and tomorrow's partitions exist before the first sample. */
	if (exec_ok(db,
	            "SELECT watchstand.ensure_partition(current_date);"
	            "SELECT watchstand.ensure_partition(current_date + 1)",
	            "partitions") == -1)
		goto done;
	if (applied == 0)
		printf("migrate: schema is up to date (version %d)\n",
		       migrate_latest());
	rc = 0;
done:
	PQfinish(db);
	return rc;
}
