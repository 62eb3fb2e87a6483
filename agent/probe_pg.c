/*
 * postgres probe: how full the databases are, before trading stops.
 * Non-blocking libpq on the agent's loop; the connection is kept between
 * runs. A server that hangs is given up on at the probe's timeout and the
 * probe reports up = 0; nothing else waits for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <libpq-fe.h>

#include "watchstand/log.h"
#include "watchstand/proto.h"
#include "watchstand/xalloc.h"
#include "agent.h"

enum pg_phase { PG_DOWN, PG_CONNECTING, PG_IDLE, PG_BUSY };

struct pg_state {
	char *pg_conninfo;
	char **pg_databases;
	uint64_t pg_quota;
	uint64_t pg_timeout_ms;
	PGconn *pg_conn;
	enum pg_phase pg_phase;
	struct event *pg_ev;
	struct event *pg_timer;
	int64_t pg_started_us;
	int pg_result_no;
	int pg_failing;
	double pg_total_bytes;
	char pg_datadir[512];
	char pg_error[256];
};

static const char *const probe_pg_keys[] = {"conninfo", "databases", "quota",
                                            "timeout", NULL};

/* Everything but the sizes in one round trip; data_directory last, as it
 * needs privileges a monitoring role may not have. */
static const char pg_stats_sql[] =
    "SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
    "'client backend')::float8 * 100 / "
    "current_setting('max_connections')::float8,"
    " (SELECT max(age(datfrozenxid)) FROM pg_database)::float8 * 100 / "
    "2147483648,"
    " coalesce((SELECT extract(epoch FROM max(now() - xact_start)) FROM "
    "pg_stat_activity WHERE xact_start IS NOT NULL AND pid <> "
    "pg_backend_pid()), 0),"
    " CASE WHEN pg_is_in_recovery() THEN extract(epoch FROM now() - "
    "pg_last_xact_replay_timestamp()) ELSE (SELECT extract(epoch FROM "
    "max(replay_lag)) FROM pg_stat_replication) END;"
    "SELECT datname, pg_database_size(oid)::float8 FROM pg_database WHERE "
    "datallowconn AND NOT datistemplate ORDER BY datname;"
    "SELECT current_setting('data_directory')";

static int
probe_pg_configure(struct probe *p, struct yconf *yc, yaml_node_t *node,
                   const char *path)
{
	struct pg_state *st = xcalloc(1, sizeof(*st));

	p->pr_state = st;
	st->pg_timeout_ms = 10000;
	yconf_str(yc, node, path, "conninfo", 1, &st->pg_conninfo);
	yconf_strlist(yc, node, path, "databases", 0, &st->pg_databases, NULL);
	yconf_size(yc, node, path, "quota", 0, &st->pg_quota);
	yconf_duration(yc, node, path, "timeout", 0, &st->pg_timeout_ms);
	if (st->pg_conninfo != NULL) {
		char *err = NULL;
		PQconninfoOption *o = PQconninfoParse(st->pg_conninfo, &err);
		if (o == NULL) {
			yconf_error(yc, yconf_get(yc, node, "conninfo"),
			            "%s.conninfo: %s", path,
			            err ? err : "cannot parse");
			PQfreemem(err);
		} else
			PQconninfoFree(o);
	}
	return 0;
}

static void
probe_pg_drop(struct pg_state *st)
{
	if (st->pg_ev != NULL) {
		event_free(st->pg_ev);
		st->pg_ev = NULL;
	}
	if (st->pg_conn != NULL) {
		PQfinish(st->pg_conn);
		st->pg_conn = NULL;
	}
	st->pg_phase = PG_DOWN;
}

/* A run ends: up or not. */
static void
probe_pg_finish(struct probe *p, int up)
{
	struct pg_state *st = p->pr_state;
	int64_t now_us = p->pr_now_us;

	evtimer_del(st->pg_timer);
	p->pr_now_us = st->pg_started_us;
	probe_sample(p, NULL, "up", up);
	p->pr_now_us = now_us;
	if (up) {
		if (st->pg_failing)
			log_info("probe %s: database reachable again",
			         p->pr_name);
		st->pg_failing = 0;
		st->pg_phase = PG_IDLE;
		return;
	}
	if (!st->pg_failing++)
		log_warnx("probe %s: %s", p->pr_name, st->pg_error);
	probe_pg_drop(st);
}

static int
probe_pg_wanted(struct pg_state *st, const char *db)
{
	char **d;

	if (st->pg_databases == NULL)
		return 1;
	for (d = st->pg_databases; *d != NULL; d++)
		if (strcmp(*d, db) == 0)
			return 1;
	return 0;
}

static void
probe_pg_result(struct probe *p, PGresult *r)
{
	struct pg_state *st = p->pr_state;
	int i, no = st->pg_result_no++;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		/* Only data_directory may fail: the rest still counts. */
		if (no < 2)
			snprintf(st->pg_error, sizeof(st->pg_error), "%s",
			         PQresultErrorMessage(r));
		return;
	}
	if (no == 0 && PQntuples(r) == 1) {
		probe_sample(p, NULL, "connections_pct",
		             atof(PQgetvalue(r, 0, 0)));
		probe_sample(p, NULL, "xid_age_pct", atof(PQgetvalue(r, 0, 1)));
		probe_sample(p, NULL, "longest_xact_s",
		             atof(PQgetvalue(r, 0, 2)));
		if (!PQgetisnull(r, 0, 3))
			probe_sample(p, NULL, "replication_lag_s",
			             atof(PQgetvalue(r, 0, 3)));
	} else if (no == 1) {
		st->pg_total_bytes = 0;
		for (i = 0; i < PQntuples(r); i++) {
			const char *db = PQgetvalue(r, i, 0);
			double bytes = atof(PQgetvalue(r, i, 1));
			if (!probe_pg_wanted(st, db) ||
			    !proto_series_valid(db, strlen(db)))
				continue;
			probe_sample(p, db, "db_bytes", bytes);
			st->pg_total_bytes += bytes;
		}
		probe_sample(p, NULL, "db_bytes", st->pg_total_bytes);
	} else if (no == 2 && PQntuples(r) == 1)
		snprintf(st->pg_datadir, sizeof(st->pg_datadir), "%s",
		         PQgetvalue(r, 0, 0));
}

/* Fill against the quota, or the filesystem holding the data directory
 * when the server runs here and tells us where. */
static void
probe_pg_fill(struct probe *p)
{
	struct pg_state *st = p->pr_state;
	struct statvfs sv;

	if (st->pg_quota > 0)
		probe_sample(p, NULL, "fill_pct",
		             100.0 * st->pg_total_bytes / st->pg_quota);
	else if (st->pg_datadir[0] != '\0' &&
	         statvfs(st->pg_datadir, &sv) == 0) {
		double used = (double)(sv.f_blocks - sv.f_bfree);
		double avail = (double)sv.f_bavail;
		if (used + avail > 0)
			probe_sample(p, NULL, "fill_pct",
			             100.0 * used / (used + avail));
	}
}

static void probe_pg_io(struct probe *p);

static void
probe_pg_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	probe_pg_io(arg);
}

static void
probe_pg_watch(struct probe *p, short what)
{
	struct pg_state *st = p->pr_state;

	if (st->pg_ev != NULL)
		event_free(st->pg_ev);
	st->pg_ev = event_new(p->pr_base, PQsocket(st->pg_conn), what,
	                      probe_pg_ev_cb, p);
	event_add(st->pg_ev, NULL);
}

static void
probe_pg_send(struct probe *p)
{
	struct pg_state *st = p->pr_state;
	int rc;

	st->pg_result_no = 0;
	st->pg_datadir[0] = '\0';
	st->pg_error[0] = '\0';
	if (!PQsendQuery(st->pg_conn, pg_stats_sql)) {
		snprintf(st->pg_error, sizeof(st->pg_error), "%s",
		         PQerrorMessage(st->pg_conn));
		probe_pg_finish(p, 0);
		return;
	}
	st->pg_phase = PG_BUSY;
	rc = PQflush(st->pg_conn);
	probe_pg_watch(p, rc == 1 ? EV_READ | EV_WRITE : EV_READ | EV_PERSIST);
}

static void
probe_pg_io(struct probe *p)
{
	struct pg_state *st = p->pr_state;
	PGresult *r;

	if (st->pg_phase == PG_CONNECTING) {
		switch (PQconnectPoll(st->pg_conn)) {
		case PGRES_POLLING_READING:
			probe_pg_watch(p, EV_READ);
			return;
		case PGRES_POLLING_WRITING:
			probe_pg_watch(p, EV_WRITE);
			return;
		case PGRES_POLLING_OK:
			PQsetnonblocking(st->pg_conn, 1);
			probe_pg_send(p);
			return;
		default:
			snprintf(st->pg_error, sizeof(st->pg_error), "%s",
			         PQerrorMessage(st->pg_conn));
			probe_pg_finish(p, 0);
			return;
		}
	}
	if (st->pg_phase == PG_IDLE) {
		/* Between runs: the server went away, or sent a notice. */
		if (!PQconsumeInput(st->pg_conn) ||
		    PQstatus(st->pg_conn) != CONNECTION_OK)
			probe_pg_drop(st);
		return;
	}
	if (st->pg_phase != PG_BUSY)
		return;
	if (PQflush(st->pg_conn) == 1) {
		probe_pg_watch(p, EV_READ | EV_WRITE);
		return;
	}
	if (!PQconsumeInput(st->pg_conn)) {
		snprintf(st->pg_error, sizeof(st->pg_error), "%s",
		         PQerrorMessage(st->pg_conn));
		probe_pg_finish(p, 0);
		return;
	}
	while (!PQisBusy(st->pg_conn)) {
		if ((r = PQgetResult(st->pg_conn)) == NULL) {
			int64_t now_us = p->pr_now_us;
			int ok =
			    st->pg_result_no >= 2 && (st->pg_error[0] == '\0');
			if (ok) {
				p->pr_now_us = st->pg_started_us;
				probe_pg_fill(p);
				p->pr_now_us = now_us;
			}
			probe_pg_finish(p, ok);
			if (ok)
				probe_pg_watch(p, EV_READ | EV_PERSIST);
			return;
		}
		p->pr_now_us = st->pg_started_us;
		probe_pg_result(p, r);
		PQclear(r);
	}
}

static void
probe_pg_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;
	struct pg_state *st = p->pr_state;

	(void)fd;
	(void)what;
	snprintf(st->pg_error, sizeof(st->pg_error),
	         "no answer within %.1f s, giving up on this connection",
	         st->pg_timeout_ms / 1000.0);
	probe_pg_finish(p, 0);
}

static void
probe_pg_run(struct probe *p)
{
	struct pg_state *st = p->pr_state;
	struct timeval tv = {st->pg_timeout_ms / 1000,
	                     (st->pg_timeout_ms % 1000) * 1000};

	if (st->pg_phase == PG_BUSY || st->pg_phase == PG_CONNECTING)
		return; /* the timeout ends a run that hangs */
	if (st->pg_timer == NULL)
		st->pg_timer = evtimer_new(p->pr_base, probe_pg_timeout_cb, p);
	st->pg_started_us = p->pr_now_us;
	evtimer_add(st->pg_timer, &tv);
	if (st->pg_phase == PG_IDLE && PQstatus(st->pg_conn) == CONNECTION_OK) {
		probe_pg_send(p);
		return;
	}
	probe_pg_drop(st);
	st->pg_conn = PQconnectStart(st->pg_conninfo);
	if (st->pg_conn == NULL || PQstatus(st->pg_conn) == CONNECTION_BAD) {
		snprintf(st->pg_error, sizeof(st->pg_error), "%s",
		         st->pg_conn ? PQerrorMessage(st->pg_conn)
		                     : "out of memory");
		probe_pg_finish(p, 0);
		return;
	}
	st->pg_phase = PG_CONNECTING;
	probe_pg_io(p);
}

static void
probe_pg_free(struct probe *p)
{
	struct pg_state *st = p->pr_state;

	if (st == NULL)
		return;
	probe_pg_drop(st);
	if (st->pg_timer != NULL)
		event_free(st->pg_timer);
	free(st->pg_conninfo);
	yconf_strlist_free(st->pg_databases);
	free(st);
}

const struct probe_type probe_type_postgres = {
    .pt_name = "postgres",
    .pt_keys = probe_pg_keys,
    .pt_configure = probe_pg_configure,
    .pt_run = probe_pg_run,
    .pt_free = probe_pg_free,
};
