/*
 * Versioned schema migrations. Each runs once, in its own transaction,
 * under an advisory lock so two collectors cannot migrate at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "watchstand/xalloc.h"
#include "ingest/migrate.h"

/* Files are NNN_name.sql; the version is NNN, at least 1. */
int
migrate_parse(const struct migrate_file *f, struct migration *m, char *err,
              size_t errlen)
{
	const char *p = f->mf_text, *end = f->mf_text + f->mf_len;
	const char *name = f->mf_name, *u;
	char *q;
	long v;

	v = strtol(name, &q, 10);
	if (q == name || *q != '_' || v < 1 || v > 1000000) {
		snprintf(err, errlen, "%s: the name is not NNN_name.sql", name);
		return -1;
	}
	m->m_version = (int)v;
	/* Without a header comment the description is the name's words. */
	u = q + 1;
	snprintf(m->m_what, sizeof(m->m_what), "%.*s", (int)(strcspn(u, ".")),
	         u);
	for (q = m->m_what; *q; q++)
		if (*q == '_')
			*q = ' ';
	/* The header: every "--" line at the top; the first is the what. */
	for (int first = 1; end - p >= 2 && p[0] == '-' && p[1] == '-';
	     first = 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;

		if (first) {
			const char *t = p + 2;

			while (t < eol && *t == ' ')
				t++;
			if (t < eol)
				snprintf(m->m_what, sizeof(m->m_what), "%.*s",
				         (int)(eol - t), t);
		}
		p = nl ? nl + 1 : end;
	}
	if (end > p && end[-1] == '\n')
		end--;
	m->m_sql = p;
	m->m_sqllen = (size_t)(end - p);
	return 0;
}

/* Parses every embedded file; versions must rise strictly. */
static struct migration *
migrations_load(int *n)
{
	struct migration *ms;
	char err[256];
	int i;

	ms = xcalloc((size_t)migrate_files_n + 1, sizeof(*ms));
	if (ms == NULL)
		return NULL;
	for (i = 0; i < migrate_files_n; i++) {
		if (migrate_parse(&migrate_files[i], &ms[i], err,
		                  sizeof(err)) == -1) {
			fprintf(stderr, "migrate: %s\n", err);
			goto fail;
		}
		if (i > 0 && ms[i].m_version <= ms[i - 1].m_version) {
			fprintf(stderr, "migrate: %s: version %d twice\n",
			        migrate_files[i].mf_name, ms[i].m_version);
			goto fail;
		}
	}
	*n = i;
	return ms;
fail:
	free(ms);
	return NULL;
}

int
migrate_latest(void)
{
	struct migration m;
	char err[256];
	int i, v = 0;

	for (i = 0; i < migrate_files_n; i++)
		if (migrate_parse(&migrate_files[i], &m, err, sizeof(err)) ==
		        0 &&
		    m.m_version > v)
			v = m.m_version;
	return v;
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

/* Whether version v is among the applied ones (ascending). */
static int
applied_has(PGresult *r, int v)
{
	int i;

	for (i = 0; i < PQntuples(r); i++)
		if (atoi(PQgetvalue(r, i, 0)) == v)
			return 1;
	return 0;
}

/* Applies one migration and records it, in one transaction. */
static int
apply_one(PGconn *db, const struct migration *m)
{
	char ver[16];
	const char *params[2] = {ver, m->m_what};
	char *sql;
	int rc;

	sql = xstrndup(m->m_sql, m->m_sqllen);
	if (sql == NULL) {
		fprintf(stderr, "migrate: out of memory\n");
		return -1;
	}
	snprintf(ver, sizeof(ver), "%d", m->m_version);
	if (exec_ok(db, "BEGIN", "begin") == -1) {
		free(sql);
		return -1;
	}
	rc = exec_ok(db, sql, m->m_what);
	free(sql);
	if (rc == 0) {
		PGresult *r = PQexecParams(
		    db,
		    "INSERT INTO watchstand.schema_migrations (version, what)"
		    " VALUES ($1, $2)",
		    2, NULL, params, NULL, NULL, 0);

		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			fprintf(stderr, "migrate: recording %d: %s",
			        m->m_version, PQerrorMessage(db));
			rc = -1;
		}
		PQclear(r);
	}
	if (rc == -1) {
		PQclear(PQexec(db, "ROLLBACK"));
		return -1;
	}
	return exec_ok(db, "COMMIT", "commit");
}

/*
 * Applies, in version order, every migration not yet recorded in
 * watchstand.schema_migrations (also one below the highest recorded).
 */
int
migrate_run(const char *conninfo)
{
	PGconn *db = PQconnectdb(conninfo);
	PGresult *done_r = NULL;
	struct migration *ms = NULL;
	int n = 0, i, rc = -1, applied = 0;

	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "migrate: cannot connect to the database: %s",
		        PQerrorMessage(db));
		PQfinish(db);
		return -1;
	}
	if ((ms = migrations_load(&n)) == NULL)
		goto done;
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
	done_r = PQexec(db, "SELECT version FROM watchstand.schema_migrations"
	                    " ORDER BY version");
	if (PQresultStatus(done_r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "migrate: %s", PQerrorMessage(db));
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (applied_has(done_r, ms[i].m_version))
			continue;
		if (apply_one(db, &ms[i]) == -1)
			goto done;
		printf("migrate: applied %d: %s\n", ms[i].m_version,
		       ms[i].m_what);
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
	PQclear(done_r);
	free(ms);
	PQfinish(db);
	return rc;
}
