/* watchstand-collector: subcommands run (default), migrate, check-config. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <libpq-fe.h>

#include "watchstand/log.h"
#include "watchstand/proto.h"
#include "watchstand/tls.h"
#include "watchstand/xalloc.h"
#include "collector.h"
#include "events.h"
#include "lead.h"
#include "ingest/relay.h"
#include "reload.h"
#include "alarm/alarm.h"
#include "web/api.h"
#include "web/console.h"
#include "ingest/ingest.h"
#include "duty/shiftlog.h"
#include "duty/shiftlog_feed.h"
#include "ingest/migrate.h"
#include "ingest/store.h"
#include "duty/users.h"
#include "duty/checklists.h"
#include "duty/dayreport.h"
#include "duty/shiftclock.h"

static void
usage_print(FILE *fp)
{
	fprintf(fp, "usage: watchstand-collector [-v] [-c collector.yaml] "
	            "[--database CONNINFO] [COMMAND]\n"
	            "  run [--console DIR]      receive, store, raise alarms, "
	            "serve HTTP and the console (the default; --console: "
	            "serve the console from DIR)\n"
	            "  migrate                  create or update the database "
	            "schema\n"
	            "  check-config             read and check the config, "
	            "then exit\n"
	            "  verify-log               check the shift log's hash "
	            "chain and its anchor\n"
	            "  calendar [--at \"YYYY-MM-DD HH:MM\"]\n"
	            "                           the phase then (or now)\n"
	            "  useradd LOGIN --role ROLE [--name N --phone P --email "
	            "E] < password\n"
	            "                           add or update a user\n"
	            "  notify-test CHANNEL [--to RECIPIENT]\n"
	            "                           send a test message through a "
	            "channel\n"
	            "options:\n"
	            "  -c, --config FILE        the config (default "
	            "/etc/watchstand/collector.yaml)\n"
	            "  --database CONNINFO      connect with this instead of "
	            "collector.database\n"
	            "  -v, --verbose            debug messages in the log\n"
	            "  -h, --help               this text\n"
	            "  -V, --version            the version\n");
}

static void
usage(void)
{
	usage_print(stderr);
	exit(2);
}

/* check-config, second part: rules that match no series the database has
 * seen in the last hour (a typo, or a host not deployed yet). Warnings. */
static void
collector_check_rules(const struct collector_conf *cc)
{
	const char *keys[] = {"dbname", "connect_timeout", NULL};
	const char *vals[] = {cc->cc_database, "3", NULL};
	PGconn *db = PQconnectdbParams(keys, vals, 1);
	PGresult *r;
	size_t i;
	int row;

	if (cc->cc_rules.rc_n == 0)
		goto done;
	if (PQstatus(db) != CONNECTION_OK) {
		printf("rules: not checked against known series (the database "
		       "is not reachable)\n");
		goto done;
	}
	r = PQexec(db, "SELECT DISTINCT a.name, a.role, s.series FROM "
	               "watchstand.samples s JOIN watchstand.agents a ON a.id "
	               "= s.agent_id WHERE s.ts > now() - interval '1 hour'");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		printf("rules: not checked against known series (%s)\n",
		       PQresultErrorMessage(r));
		PQclear(r);
		goto done;
	}
	for (i = 0; i < cc->cc_rules.rc_n; i++) {
		const struct rule *ru = &cc->cc_rules.rc_rules[i];
		int hit = 0;
		for (row = 0; row < PQntuples(r) && !hit; row++)
			hit = rule_matches(ru, PQgetvalue(r, row, 0),
			                   PQgetvalue(r, row, 1),
			                   PQgetvalue(r, row, 2));
		if (!hit)
			printf("warning: rules[%zu] (%s): matches no series "
			       "seen in the last hour\n",
			       i, ru->r_name);
	}
	PQclear(r);
done:
	PQfinish(db);
}

/* check-config, third part: a step's action that its agent did not list
 * in its last hello (watchstand.agents.actions). Warnings. */
static void
collector_check_actions(const struct collector_conf *cc)
{
	const char *keys[] = {"dbname", "connect_timeout", NULL};
	const char *vals[] = {cc->cc_database, "3", NULL};
	const struct checklists_conf *ck = &cc->cc_checklists;
	PGconn *db;
	PGresult *r;
	size_t i, j;
	int row;

	if (ck->ck_n == 0)
		return;
	db = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(db) != CONNECTION_OK) {
		printf("checklists: actions not checked against the agents "
		       "(the database is not reachable)\n");
		goto done;
	}
	r = PQexec(db, "SELECT name, a FROM watchstand.agents LEFT JOIN "
	               "unnest(actions) a ON true WHERE actions IS NOT NULL");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		printf("checklists: actions not checked against the agents "
		       "(%s)\n",
		       PQresultErrorMessage(r));
		PQclear(r);
		goto done;
	}
	for (i = 0; i < ck->ck_n; i++) {
		const struct checklist *cl = &ck->ck_lists[i];
		for (j = 0; j < cl->cl_nsteps; j++) {
			const struct checklist_step *s = &cl->cl_steps[j];
			int known = 0, hit = 0;
			if (s->cs_action == NULL || s->cs_host == NULL)
				continue;
			for (row = 0; row < PQntuples(r); row++) {
				if (strcmp(PQgetvalue(r, row, 0), s->cs_host) !=
				    0)
					continue;
				known = 1;
				if (!PQgetisnull(r, row, 1) &&
				    strcmp(PQgetvalue(r, row, 1),
				           s->cs_action) == 0)
					hit = 1;
			}
			if (known && !hit)
				printf(
				    "warning: checklists %s, step %s: action "
				    "'%s' is not in agent %s's last reported "
				    "actions\n",
				    cl->cl_name, s->cs_name, s->cs_action,
				    s->cs_host);
		}
	}
	PQclear(r);
done:
	PQfinish(db);
}

/* check-config, fourth part: the roster's logins must be users when the
 * database is reachable. Refuses (returns -1) and says which. */
static int
collector_check_logins(const struct collector_conf *cc)
{
	const char *keys[] = {"dbname", "connect_timeout", NULL};
	const char *vals[] = {cc->cc_database, "3", NULL};
	const struct roster *ro = &cc->cc_shifts.sc_roster;
	PGconn *db;
	PGresult *r;
	size_t i, j;
	int rc = 0;

	if (ro->ro_n == 0)
		return 0;
	db = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(db) != CONNECTION_OK) {
		printf("roster: logins not checked against the users (the "
		       "database is not reachable)\n");
		PQfinish(db);
		return 0;
	}
	for (i = 0; i < ro->ro_n; i++) {
		const struct roster_entry *e = &ro->ro_entries[i];
		for (j = 0; j <= e->re_n; j++) {
			const char *login =
			    j < e->re_n ? e->re_on_duty[j] : e->re_lead;
			const char *p[1] = {login};
			if (login == NULL)
				continue;
			r = PQexecParams(db,
			                 "SELECT 1 FROM watchstand.users WHERE "
			                 "login = $1",
			                 1, NULL, p, NULL, NULL, 0);
			if (PQresultStatus(r) == PGRES_TUPLES_OK &&
			    PQntuples(r) == 0) {
				printf("error: roster[%zu] (shift %s): unknown "
				       "login '%s'\n",
				       i, e->re_shift, login);
				rc = -1;
			}
			PQclear(r);
		}
	}
	PQfinish(db);
	return rc;
}

/* check-config, fifth part: collector.http_tls's files load and match,
 * as run will need them. */
static int
collector_check_http_tls(const struct collector_conf *cc)
{
	SSL_CTX *ctx;
	char err[512];

	if (cc->cc_http_tls_cert == NULL)
		return 0;
	if ((ctx = tls_web_ctx_new(cc->cc_http_tls_cert, cc->cc_http_tls_key,
	                           err, sizeof(err))) == NULL) {
		printf("error: %s\n", err);
		return -1;
	}
	SSL_CTX_free(ctx);
	return 0;
}

/* calendar [--at "YYYY-MM-DD HH:MM"]: the phase then (or now). */
static int
collector_calendar(const struct calendar *cal, const char *at)
{
	time_t t = time(NULL);
	char when[40];

	if (at != NULL && calendar_local_parse(cal, at, &t) == -1) {
		fprintf(
		    stderr,
		    "calendar: --at expects \"YYYY-MM-DD HH:MM\", got '%s'\n",
		    at);
		return 2;
	}
	calendar_local_format(cal, t, when, sizeof(when));
	printf("%s\t%s\n", calendar_phase_at(cal, t), when);
	return 0;
}

static void
collector_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct collector *c = arg;
	char msg[1024];

	(void)what;
	if (sig == SIGHUP) {
		/* collector_reload logs and writes the shift log. */
		log_info("SIGHUP: reloading %s", c->c_file);
		collector_reload(c, c->c_file, "SIGHUP", msg, sizeof(msg));
		return;
	}
	log_info("signal %d: stopping", (int)sig);
	event_base_loopexit(c->c_base, NULL);
}

static void collector_role_check_async(struct collector *c);

/* Follows the calendar; every phase change is logged. */
static void
collector_phase_cb(evutil_socket_t fd, short what, void *arg)
{
	struct collector *c = arg;
	const char *now = calendar_phase_at(&c->c_conf.cc_calendar, time(NULL));

	(void)fd;
	(void)what;
	collector_role_check_async(c);
	if (!lead_leading(c->c_lead) || c->c_phase_resuming) {
		/* The leader logs phases and runs what they start. */
		c->c_phase = now;
		return;
	}
	if (c->c_phase == NULL || strcmp(c->c_phase, now) != 0) {
		char text[128];
		snprintf(text, sizeof(text), "phase %s%s%s",
		         c->c_phase ? c->c_phase : "", c->c_phase ? " -> " : "",
		         now);
		log_info("calendar: %s", text);
		if (c->c_store != NULL)
			shiftlog_add(c->c_store, c->c_events, "phase",
			             "calendar", text);
		if (c->c_checklists != NULL) {
			const char *old = c->c_phase;
			c->c_phase = now;
			checklists_phase(c->c_checklists, old, now);
		}
	}
	c->c_phase = now;
	if (lead_lease_valid(c->c_lead))
		shiftclock_tick(c->c_shiftclock, time(NULL));
}

static struct event *collector_expire_timer; /* alarms_expire, every 5 s */

/* The next multiple of 5 s of the wall clock, as the expiry always ran. */
static void
collector_expire_next(void)
{
	struct timeval tv;

	evutil_gettimeofday(&tv, NULL);
	tv.tv_sec = 4 - tv.tv_sec % 5;
	tv.tv_usec = 1000000 - tv.tv_usec;
	if (tv.tv_usec >= 1000000) {
		tv.tv_sec++;
		tv.tv_usec -= 1000000;
	}
	event_add(collector_expire_timer, &tv);
}

/* Shelving and out of service end by themselves (every few seconds is
 * soon enough). */
static void
collector_expire_cb(evutil_socket_t fd, short what, void *arg)
{
	struct collector *c = arg;

	(void)fd;
	(void)what;
	if (lead_lease_valid(c->c_lead))
		alarms_expire(c->c_alarms);
	collector_expire_next();
}

/* Time passes for the rules: `for` runs out, data goes stale. */
static void
collector_rules_cb(evutil_socket_t fd, short what, void *arg)
{
	struct collector *c = arg;
	struct timeval tv;

	(void)fd;
	(void)what;
	if (!lead_lease_valid(c->c_lead))
		return;
	evutil_gettimeofday(&tv, NULL);
	rules_engine_tick(c->c_rules,
	                  (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000,
	                  c->c_phase, alarms_outcome, c->c_alarms);
}

/* The shift log's anchor follows the chain's head while running. */
static struct shiftlog_anchor *collector_anchor;
/* Set when the database user was checked (at start, or on the store's
 * connection when the database was down at start). */
static int collector_role_checked, collector_role_inflight;
static int collector_rc;

/* The state directory holds the anchor and the ack-link key: created if
 * missing (its parent must exist), and it must be writable. */
static void
collector_state_dir(const struct collector_conf *cc)
{
	const char *dir = cc->cc_state_dir;
	struct stat sb;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		fatalx("collector.state_dir %s: cannot create: %s", dir,
		       strerror(errno));
	if (stat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode))
		fatalx("collector.state_dir %s: not a directory", dir);
	if (access(dir, W_OK | X_OK) == -1)
		fatalx("collector.state_dir %s: not writable by this user: %s",
		       dir, strerror(errno));
}

/* Who the collector is in the database, and whether it could rewrite the
 * shift log: a superuser, or the owner (or a member of the owner role). */
#define COLLECTOR_ROLE_SQL                                                     \
	"SELECT current_user, r.rolsuper, coalesce(pg_has_role(c.relowner, "   \
	"'MEMBER'), false), coalesce((SELECT max(id) FROM "                    \
	"watchstand.shift_log)::text, 'none'), c.relowner = r.oid FROM "       \
	"pg_roles r LEFT JOIN "                                                \
	"pg_class c ON c.oid = to_regclass('watchstand.shift_log') WHERE "     \
	"r.rolname = current_user"

/* 0 when the user may run (or allow_owner says so), -1 refused (logged),
 * 1 not known yet (the schema is not migrated: asked again later). last
 * gets the newest shift log entry's id. */
static int
collector_role_ok(const struct collector_conf *cc, PGresult *r, char *last,
                  size_t lastlen)
{
	const char *user, *why;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		return 1;
	user = PQgetvalue(r, 0, 0);
	snprintf(last, lastlen, "%s", PQgetvalue(r, 0, 3));
	why = strcmp(PQgetvalue(r, 0, 1), "t") == 0   ? "is a superuser"
	      : strcmp(PQgetvalue(r, 0, 4), "t") == 0 ? "owns the shift_log "
	                                                "table"
	      : strcmp(PQgetvalue(r, 0, 2), "t") == 0
	          ? "is a member of the role that owns the shift_log table"
	          : NULL;
	if (why == NULL)
		return 0;
	if (cc->cc_allow_owner) {
		log_warnx("collector: database user '%s' %s: it could rewrite "
		          "the shift log (allowed by collector.allow_owner)",
		          user, why);
		return 0;
	}
	log_warnx("collector: refusing to run as database user '%s': it %s, "
	          "so it could alter or delete shift log entries. Run as "
	          "the role watchstand_collector (created by migrate): put "
	          "user=watchstand_collector in collector.database and keep "
	          "the owner for migrate, or set collector.allow_owner: true "
	          "to accept the risk",
	          user, why);
	return -1;
}

static void
collector_started_text(char *text, size_t len, const char *last)
{
	snprintf(text, len, "collector %s started (last entry %s)",
	         COLLECTOR_VERSION, last);
}

/* The database was down at start: the same check on the store's
 * connection once it is up; refused, the collector stops. */
static void
collector_role_cb(void *arg, PGresult *r)
{
	struct collector *c = arg;
	char last[32], text[128];

	collector_role_inflight = 0;
	if (r == NULL)
		return; /* asked again by the phase timer */
	switch (collector_role_ok(&c->c_conf, r, last, sizeof(last))) {
	case 1:
		return; /* not migrated yet: asked again */
	case -1:
		collector_role_checked = 1;
		collector_rc = 1;
		event_base_loopexit(c->c_base, NULL);
		return;
	}
	collector_role_checked = 1;
	collector_started_text(text, sizeof(text), last);
	shiftlog_add(c->c_store, c->c_events, "system", "collector", text);
}

static void
collector_role_check_async(struct collector *c)
{
	if (collector_role_checked || collector_role_inflight ||
	    c->c_store == NULL)
		return;
	collector_role_inflight = 1;
	store_query(c->c_store, COLLECTOR_ROLE_SQL, 0, NULL, collector_role_cb,
	            c);
}

static PGconn *
collector_connect_now(const struct collector_conf *cc)
{
	const char *keys[] = {"dbname", "connect_timeout", NULL};
	const char *vals[] = {cc->cc_database, "2", NULL};

	return PQconnectdbParams(keys, vals, 1);
}

/* Before anything listens: the database user is checked and the start is
 * written to the shift log, on a short blocking connection. -1 refused. */
static int
collector_db_start(struct collector *c)
{
	PGconn *db = collector_connect_now(&c->c_conf);
	PGresult *r;
	char last[32], text[128];
	int ok;

	if (PQstatus(db) != CONNECTION_OK) {
		char why[512];
		snprintf(why, sizeof(why), "%s", PQerrorMessage(db));
		why[strcspn(why, "\n")] = '\0';
		log_warnx("collector: the database is not reachable at start "
		          "(%s): its user is checked once it is",
		          why);
		PQfinish(db);
		return 0;
	}
	r = PQexec(db, COLLECTOR_ROLE_SQL);
	ok = collector_role_ok(&c->c_conf, r, last, sizeof(last));
	if (ok == 1) {
		char why[512];
		snprintf(why, sizeof(why), "%s", PQresultErrorMessage(r));
		why[strcspn(why, "\n")] = '\0';
		log_warnx("collector: cannot check the database user at start "
		          "(%s): it is checked once it can be",
		          why);
	}
	PQclear(r);
	if (ok != 0) {
		PQfinish(db);
		return ok == -1 ? -1 : 0;
	}
	collector_role_checked = 1;
	collector_started_text(text, sizeof(text), last);
	shiftlog_add_now(db, c->c_conf.cc_state_dir, "system", "collector",
	                 text);
	PQfinish(db);
	return 0;
}

/* The stop is in the shift log before the process exits (downtime is
 * visible between this entry and the next start). */
static void
collector_db_stop(struct collector *c)
{
	PGconn *db = collector_connect_now(&c->c_conf);

	if (PQstatus(db) != CONNECTION_OK) {
		char why[512];
		snprintf(why, sizeof(why), "%s", PQerrorMessage(db));
		why[strcspn(why, "\n")] = '\0';
		log_warnx("collector: cannot write 'collector stopping' to the "
		          "shift log: %s",
		          why);
	} else if (shiftlog_add_now(db, c->c_conf.cc_state_dir, "system",
	                            "collector", "collector stopping") == 0)
		log_info("shift log: collector stopping");
	PQfinish(db);
}

/* A committed batch's samples through the leader's rules and runs, from
 * this collector's agents or from the follower's (lead.h's feed). */
static void
collector_rules_batch(struct collector *c, const char *host, const char *role,
                      const uint8_t *payload, size_t len)
{
	struct proto_batch b;
	struct proto_sample s;
	struct timeval tv;
	const char *why;
	int64_t now_ms;

	evutil_gettimeofday(&tv, NULL);
	now_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	if (proto_batch_open(&b, payload, len, &why) == -1)
		return;
	while (proto_batch_next(&b, &s, &why) == 1) {
		rules_engine_sample(c->c_rules, host, role, s.s_series,
		                    s.s_series_len, s.s_value, now_ms,
		                    c->c_phase, alarms_outcome, c->c_alarms);
		if (c->c_checklists != NULL)
			checklists_sample(c->c_checklists, host, s.s_series,
			                  s.s_series_len, s.s_value, now_ms);
	}
}

/* The action relay's notifications, heard on the lead connection. */
static void
collector_on_notified(void *arg, const char *channel)
{
	struct collector *c = arg;

	relay_notified(c->c_relay, channel);
}

/* A batch from the follower, read by the leader. */
static void
collector_on_fed_batch(void *arg, const char *host, const char *role,
                       const uint8_t *payload, size_t len)
{
	struct collector *c = arg;

	ingest_note_batch(c->c_ingest, host, role, 0);
	collector_rules_batch(c, host, role, payload, len);
}

/* A committed batch: its samples through the rules (the leader's, here
 * or through the feed), its key events (matched log lines, plugin
 * summaries) into the shift log, where the desk reads what happened. */
static void
collector_on_batch(void *arg, const char *host, const char *role,
                   const uint8_t *payload, size_t len)
{
	struct collector *c = arg;
	struct proto_batch b;
	struct proto_sample s;
	struct proto_event e;
	const char *why;
	char text[PROTO_EVENT_MAX + PROTO_NAME_MAX + 8];

	/* A follower's batches reach the leader through the feed, written
	 * by the store (store_set_feed); a leader skips its own feed rows (a
	 * transaction begun while it followed): their samples go through its
	 * rules here. */
	if (lead_leading(c->c_lead))
		collector_rules_batch(c, host, role, payload, len);
	if (proto_batch_open(&b, payload, len, &why) == -1)
		return;
	/* The events follow the samples: the reader must pass them first. */
	while (proto_batch_next(&b, &s, &why) == 1)
		continue;
	while (proto_batch_next_event(&b, &e, &why) == 1) {
		snprintf(text, sizeof(text), "%.*s: %.*s", (int)e.e_probe_len,
		         e.e_probe, (int)e.e_text_len, e.e_text);
		shiftlog_add(c->c_store, c->c_events, "event", host, text);
	}
}

static void
collector_on_silent(void *arg, const char *host, int silent, const char *why)
{
	struct collector *c = arg;

	if (!lead_leading(c->c_lead))
		return; /* the leader judges silence */
	alarms_host_silent(c->c_alarms, host, silent, why);
	if (c->c_checklists != NULL)
		checklists_host_silent(c->c_checklists, host, silent);
}

/* An action result for a request sent before a restart. */
static void
collector_on_action_result(void *arg, const struct action_result *r)
{
	struct collector *c = arg;

	if (c->c_checklists != NULL)
		checklists_action_late(c->c_checklists, r);
}

/* Checklist engines of earlier leaderships: stopped, freed after the
 * store (its callbacks may still reach their runs). */
static struct checklists **collector_retired;
static size_t collector_nretired;

/* Agents alive when the leadership changed hands (agents.last_seen within
 * agent_silence): their silence is judged here from now on. */
static void
collector_seed_agents(void *arg, PGresult *r)
{
	struct collector *c = arg;
	int i;

	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK ||
	    !lead_leading(c->c_lead))
		return;
	for (i = 0; i < PQntuples(r); i++)
		ingest_note_batch(c->c_ingest, PQgetvalue(r, i, 0),
		                  PQgetvalue(r, i, 1),
		                  atof(PQgetvalue(r, i, 2)));
}

/* Alarms open and holding when this collector took the lead: its fresh
 * rules start from them (rules_engine_adopt), its silent hosts too. */
static void
collector_adopt_alarms(void *arg, PGresult *r)
{
	struct collector *c = arg;
	struct timeval tv;
	int i;

	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK ||
	    !lead_leading(c->c_lead))
		return;
	evutil_gettimeofday(&tv, NULL);
	for (i = 0; i < PQntuples(r); i++) {
		/* A silent host: its return clears the alarm, as if this
		 * collector had raised it. */
		if (alarms_is_host_rule(PQgetvalue(r, i, 0))) {
			alarms_adopt_silent(c->c_alarms, PQgetvalue(r, i, 1));
			ingest_note_silent(c->c_ingest, PQgetvalue(r, i, 1));
			continue;
		}
		rules_engine_adopt(
		    c->c_rules, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
		    PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
		    severity_parse(PQgetvalue(r, i, 4)), c->c_phase,
		    (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000);
	}
	if (PQntuples(r) > 0)
		log_info("lead: %d open alarms adopted", PQntuples(r));
}

/* A phase that began while no collector led opens its checklists when
 * the new leader finds it at most this old. */
#define COLLECTOR_PHASE_CATCHUP_S (30 * 60)

/* The calendar's own name for a phase logged as text ("phase a -> b",
 * "phase b"), NULL when the calendar has it no more. */
static const char *
collector_logged_phase(const struct calendar *cal, const char *text)
{
	const char *p, *name = strncmp(text, "phase ", 6) == 0 ? text + 6 : NULL;
	size_t i, len;

	while (name != NULL && (p = strstr(name, " -> ")) != NULL)
		name = p + 4;
	if (name == NULL)
		return NULL;
	/* A caught-up entry goes on: "b (began ...)". */
	len = (p = strstr(name, " (")) != NULL ? (size_t)(p - name) : strlen(name);
	for (i = 0; i < cal->cal_nphases; i++)
		if (strlen(cal->cal_phases[i].cp_name) == len &&
		    strncmp(cal->cal_phases[i].cp_name, name, len) == 0)
			return cal->cal_phases[i].cp_name;
	if (cal->cal_default != NULL && strlen(cal->cal_default) == len &&
	    strncmp(cal->cal_default, name, len) == 0)
		return cal->cal_default;
	return NULL;
}

/*
 * A new leader (a takeover, or a start) goes on from the last phase in the
 * shift log. When the calendar has moved on since, the phase began while
 * no collector led: it is logged now, and its checklists are opened if it
 * began within COLLECTOR_PHASE_CATCHUP_S (a startup checklist half an hour
 * late is still the desk's; hours late it is noise, and the entry says
 * so). Without an entry (a new database) the phase is logged afresh.
 */
static void
collector_phase_resume(void *arg, PGresult *r)
{
	struct collector *c = arg;
	const struct calendar *cal = &c->c_conf.cc_calendar;
	time_t t = time(NULL), began;
	const char *old = NULL, *now = calendar_phase_at(cal, t);
	char text[300], when[64];

	c->c_phase_resuming = 0;
	if (!lead_leading(c->c_lead))
		return;
	if (r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK &&
	    PQntuples(r) == 1)
		old = collector_logged_phase(cal, PQgetvalue(r, 0, 0));
	if (old == NULL || now == NULL) {
		c->c_phase = NULL; /* logged afresh */
		collector_phase_cb(-1, 0, c);
		return;
	}
	c->c_phase = now;
	if (strcmp(old, now) == 0) {
		collector_phase_cb(-1, 0, c);
		return;
	}
	if (calendar_phase_began(cal, t, COLLECTOR_PHASE_CATCHUP_S, &began) ==
	    0) {
		calendar_local_format(cal, began, when, sizeof(when));
		snprintf(text, sizeof(text),
		         "phase %s -> %s (began %s while no collector led)", old,
		         now, when);
	} else {
		snprintf(text, sizeof(text),
		         "phase %s -> %s (began over %d minutes ago while no "
		         "collector led: its checklists are not opened)",
		         old, now, COLLECTOR_PHASE_CATCHUP_S / 60);
		old = NULL; /* nothing opens */
	}
	log_info("calendar: %s", text);
	shiftlog_add(c->c_store, c->c_events, "phase", "calendar", text);
	if (c->c_checklists != NULL)
		checklists_phase(c->c_checklists, old, now);
	collector_phase_cb(-1, 0, c);
}

static void
collector_lead_start(struct collector *c, int64_t epoch)
{
	char ms[32];
	const char *params[1] = {ms};

	store_set_epoch(c->c_store, epoch);
	rules_engine_forget(c->c_rules);
	alarms_forget(c->c_alarms);
	snprintf(ms, sizeof(ms), "%llu",
	         (unsigned long long)c->c_conf.cc_agent_silence_ms);
	store_query(c->c_store,
	            "SELECT name, role, extract(epoch FROM now() - "
	            "last_seen)::float8 FROM watchstand.agents WHERE last_seen "
	            "> now() - $1::bigint * interval '1 millisecond'",
	            1, params, collector_seed_agents, c);
	store_query(c->c_store,
	            "SELECT a.rule, a.host, coalesce(g.role, ''), a.series, "
	            "a.severity FROM watchstand.alarms a LEFT JOIN "
	            "watchstand.agents g ON g.name = a.host WHERE a.state <> "
	            "'closed' AND a.cleared_at IS NULL",
	            0, NULL, collector_adopt_alarms, c);
	c->c_checklists = checklists_new(&(struct checklists_deps){
	    .cd_base = c->c_base,
	    .cd_store = c->c_store,
	    .cd_events = c->c_events,
	    .cd_ingest = c->c_ingest,
	    .cd_alarms = c->c_alarms,
	    .cd_conf = &c->c_conf.cc_checklists,
	    .cd_cal = &c->c_conf.cc_calendar,
	    .cd_phase = &c->c_phase,
	    .cd_may_act = lead_may_act,
	    .cd_may_act_arg = c->c_lead,
	    .cd_agent_silence_ms = (int64_t)c->c_conf.cc_agent_silence_ms,
	});
	if (c->c_notifier != NULL)
		notifier_takeover(c->c_notifier);
	else
		c->c_notifier = collector_notifier_new(c);
	shiftclock_takeover(c->c_shiftclock);
	/* The phase goes on from the last one logged (a change during the
	 * failover or a restart is caught up). */
	c->c_phase_resuming = 1;
	store_query(c->c_store,
	            "SELECT text FROM watchstand.shift_log WHERE kind = 'phase' "
	            "ORDER BY id DESC LIMIT 1",
	            0, NULL, collector_phase_resume, c);
}

static void
collector_lead_stop(struct collector *c)
{
	rules_engine_forget(c->c_rules);
	alarms_forget(c->c_alarms);
	if (c->c_checklists != NULL) {
		checklists_stop(c->c_checklists);
		collector_retired =
		    xrealloc(collector_retired, (collector_nretired + 1) *
		                                    sizeof(*collector_retired));
		collector_retired[collector_nretired++] = c->c_checklists;
		c->c_checklists = NULL;
	}
	/* The notifier stays, held back by collector_may_page: what it has
	 * in hand is in the tables for the next leader. */
}

/* Leadership changed hands (lead.h): what only the leader does starts or
 * stops, and the shift log says why. */
static void
collector_lead_changed(void *arg, int leading, int64_t epoch,
                       const char *reason)
{
	struct collector *c = arg;
	char text[600];

	store_set_feed(c->c_store, leading ? NULL : c->c_holder);
	relay_set_leading(c->c_relay, leading);
	if (leading) {
		collector_lead_start(c, epoch);
		snprintf(text, sizeof(text), "TAKEOVER: %s", reason);
	} else {
		collector_lead_stop(c);
		snprintf(text, sizeof(text),
		         "STEP DOWN: %s stops leading epoch %lld: %s",
		         c->c_holder, (long long)epoch, reason);
	}
	shiftlog_add(c->c_store, c->c_events, "lead", "collector", text);
}

static int
collector_run(struct collector *c, const char *file)
{
	struct event *sigs[3];
	char err[512];
	int i;

	signal(SIGPIPE, SIG_IGN);
	if ((c->c_ctx = tls_ctx_new(c->c_conf.cc_tls_ca, c->c_conf.cc_tls_cert,
	                            c->c_conf.cc_tls_key, 1, err,
	                            sizeof(err))) == NULL)
		fatalx("%s: %s", file, err);
	if ((c->c_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	c->c_events = events_new();
	collector_state_dir(&c->c_conf);
	if (collector_db_start(c) == -1) {
		events_free(c->c_events);
		c->c_events = NULL;
		SSL_CTX_free(c->c_ctx);
		event_base_free(c->c_base);
		return 1;
	}
	c->c_store = store_new(c->c_base, &c->c_stats, c->c_conf.cc_database,
	                       c->c_conf.cc_retention_ms);
	/* Before any writer: what they write is the feed's. */
	c->c_log_feed = shiftlog_feed_new(c->c_base, c->c_store, c->c_events);
	kpi_targets_store(c->c_store, c->c_conf.cc_ack_target_ms);
	c->c_rules = rules_engine_new(&c->c_conf.cc_rules);
	c->c_alarms = alarms_new(c->c_store, c->c_events, c->c_rules);
	if ((c->c_ingest = ingest_new(&(struct ingest_deps){
	         .id_base = c->c_base,
	         .id_ctx = c->c_ctx,
	         .id_store = c->c_store,
	         .id_events = c->c_events,
	         .id_stats = &c->c_stats,
	         .id_listen = c->c_conf.cc_listen,
	         .id_silence_ms = c->c_conf.cc_agent_silence_ms,
	         .id_hooks = {collector_on_batch, collector_on_silent, c,
	                      collector_on_action_result},
	     })) == NULL)
		fatalx("cannot listen for agents on %s", c->c_conf.cc_listen);
	collector_anchor =
	    shiftlog_anchor_new(c->c_base, c->c_store, c->c_conf.cc_state_dir);
	if (c->c_conf.cc_notify.nc_secret_file != NULL &&
	    acklink_key_load(c->c_conf.cc_notify.nc_secret_file, c->c_ack_key,
	                     &c->c_ack_keylen, err, sizeof(err)) == -1)
		fatalx("notify.secret_file %s", err);
	if (c->c_conf.cc_shifts.sc_n > 0)
		c->c_shiftclock =
		    shiftclock_new(c->c_store, c->c_events, &c->c_conf.cc_shifts,
		                   &c->c_conf.cc_calendar, c->c_alarms,
		                   c->c_conf.cc_handover_timeout_ms);
	{
		char host[256];
		if (gethostname(host, sizeof(host)) == -1)
			snprintf(host, sizeof(host), "collector");
		host[sizeof(host) - 1] = '\0';
		snprintf(c->c_holder, sizeof(c->c_holder), "%s/%ld", host,
		         (long)getpid());
	}
	store_set_feed(c->c_store, c->c_holder); /* following, until it leads */
	c->c_relay = relay_new(c->c_base, c->c_store, c->c_ingest, c->c_holder);
	c->c_lead = lead_new(&(struct lead_deps){
	    .ld_base = c->c_base,
	    .ld_conninfo = c->c_conf.cc_database,
	    .ld_holder = c->c_holder,
	    .ld_url = c->c_conf.cc_public_url,
	    .ld_changed = collector_lead_changed,
	    .ld_batch = collector_on_fed_batch,
	    .ld_arg = c,
	    .ld_notified = collector_on_notified,
	});
	if (http_start(c) == -1)
		fatalx("cannot serve HTTP on %s", c->c_conf.cc_http);
	if (c->c_console_dir != NULL)
		log_info("console: the files of %s, read at each request",
		         c->c_console_dir);
	collector_phase_cb(-1, 0, c);
	c->c_phase_timer =
	    event_new(c->c_base, -1, EV_PERSIST, collector_phase_cb, c);
	event_add(c->c_phase_timer, &(struct timeval){1, 0});
	c->c_rules_timer =
	    event_new(c->c_base, -1, EV_PERSIST, collector_rules_cb, c);
	event_add(c->c_rules_timer, &(struct timeval){0, 250000});
	collector_expire_timer =
	    event_new(c->c_base, -1, 0, collector_expire_cb, c);
	collector_expire_next();
	c->c_file = file;
	c->c_reload = collector_reload;
	sigs[0] = evsignal_new(c->c_base, SIGTERM, collector_signal_cb, c);
	sigs[1] = evsignal_new(c->c_base, SIGINT, collector_signal_cb, c);
	sigs[2] = evsignal_new(c->c_base, SIGHUP, collector_signal_cb, c);
	for (i = 0; i < 3; i++)
		evsignal_add(sigs[i], NULL);
	log_info("collector %s: agents on %s (TLS), HTTP%s on %s",
	         COLLECTOR_VERSION, c->c_conf.cc_listen,
	         c->c_conf.cc_http_tls_cert ? "S" : "", c->c_conf.cc_http);
	event_base_dispatch(c->c_base);
	for (i = 0; i < 3; i++)
		event_free(sigs[i]);
	checklists_stop(c->c_checklists);
	http_stop(c);
	lead_free(c->c_lead);
	c->c_lead = NULL;
	notifier_free(c->c_notifier);
	c->c_notifier = NULL;
	event_free(c->c_phase_timer);
	event_free(c->c_rules_timer);
	event_free(collector_expire_timer);
	collector_expire_timer = NULL;
	shiftlog_anchor_free(collector_anchor);
	collector_anchor = NULL;
	shiftlog_feed_free(c->c_log_feed);
	c->c_log_feed = NULL;
	ingest_free(c->c_ingest);
	alarms_free(c->c_alarms);
	store_free(c->c_store);
	c->c_store = NULL;
	relay_free(c->c_relay); /* after the store: its queries' callbacks */
	c->c_relay = NULL;
	checklists_free(c->c_checklists);
	c->c_checklists = NULL;
	while (collector_nretired > 0)
		checklists_free(collector_retired[--collector_nretired]);
	free(collector_retired);
	collector_retired = NULL;
	shiftclock_free(c->c_shiftclock);
	c->c_shiftclock = NULL;
	rules_engine_free(c->c_rules);
	SSL_CTX_free(c->c_ctx);
	events_free(c->c_events);
	c->c_events = NULL;
	event_base_free(c->c_base);
	if (collector_rc == 0)
		collector_db_stop(c);
	return collector_rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"at", required_argument, NULL, 'a'},
	    {"role", required_argument, NULL, 'r'},
	    {"name", required_argument, NULL, 'N'},
	    {"phone", required_argument, NULL, 'P'},
	    {"email", required_argument, NULL, 'E'},
	    {"to", required_argument, NULL, 'T'},
	    {"database", required_argument, NULL, 'D'},
	    {"console", required_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0}};
	const char *at = NULL, *role = NULL, *name = NULL, *phone = NULL,
	           *email = NULL, *login = NULL, *to = NULL, *database = NULL,
	           *console = NULL;
	const char *file = "/etc/watchstand/collector.yaml", *cmd = "run";
	struct collector c;
	char err[PATH_MAX + 64];
	int ch, verbose = 0, rc;

	while ((ch = getopt_long(argc, argv, "c:vhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage_print(stdout);
			return 0;
		case 'V':
			printf("watchstand-collector %s\n", COLLECTOR_VERSION);
			return 0;
		case 'a':
			at = optarg;
			break;
		case 'r':
			role = optarg;
			break;
		case 'N':
			name = optarg;
			break;
		case 'P':
			phone = optarg;
			break;
		case 'E':
			email = optarg;
			break;
		case 'T':
			to = optarg;
			break;
		case 'D':
			database = optarg;
			break;
		case 'C':
			console = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind < argc)
		cmd = argv[optind++];
	if ((strcmp(cmd, "useradd") == 0 || strcmp(cmd, "notify-test") == 0) &&
	    optind < argc)
		login = argv[optind++];
	if (optind != argc || (console != NULL && strcmp(cmd, "run") != 0))
		usage();
	log_init("watchstand-collector", verbose);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	memset(&c, 0, sizeof(c));
	if (strcmp(cmd, "run") != 0 && strcmp(cmd, "migrate") != 0 &&
	    strcmp(cmd, "check-config") != 0 && strcmp(cmd, "calendar") != 0 &&
	    strcmp(cmd, "verify-log") != 0 && strcmp(cmd, "useradd") != 0 &&
	    strcmp(cmd, "notify-test") != 0) {
		fprintf(stderr, "watchstand-collector: unknown command '%s'\n",
		        cmd);
		usage();
	}
	if (collector_conf_load(file, &c.c_conf) == -1)
		return 1;
	/* migrate runs as the schema owner, run as watchstand_collector:
	 * one config, the owner's connection given here. */
	if (database != NULL) {
		free(c.c_conf.cc_database);
		c.c_conf.cc_database = xstrdup(database);
		c.c_database_arg = database;
	}
	if (strcmp(cmd, "check-config") == 0) {
		printf("%s: configuration OK\n", file);
		if (c.c_conf.cc_public_url_default &&
		    strcmp(c.c_conf.cc_link_url, c.c_conf.cc_public_url) == 0)
			printf(
			    "warning: collector.public_url is not set: links "
			    "in pages use %s, which phones cannot open unless "
			    "they reach this listener; set "
			    "collector.public_url to an address they reach\n",
			    c.c_conf.cc_public_url);
		collector_check_rules(&c.c_conf);
		collector_check_actions(&c.c_conf);
		rc = collector_check_logins(&c.c_conf) == -1 ? 1 : 0;
		if (collector_check_http_tls(&c.c_conf) == -1)
			rc = 1;
	} else if (strcmp(cmd, "useradd") == 0) {
		if (login == NULL || role == NULL) {
			fprintf(stderr,
			        "usage: watchstand-collector useradd LOGIN "
			        "--role viewer|watchstander|lead|admin "
			        "[--name N --phone P --email E] < password\n");
			rc = 2;
		} else
			rc = users_add(c.c_conf.cc_database, login, role, name,
			               phone, email) == 0
			         ? 0
			         : 1;
	} else if (strcmp(cmd, "notify-test") == 0) {
		if (login == NULL) {
			fprintf(stderr,
			        "usage: watchstand-collector "
			        "notify-test CHANNEL [--to RECIPIENT]\n");
			rc = 2;
		} else
			rc = notify_test(file, &c.c_conf.cc_notify,
			                 c.c_conf.cc_database, login, to);
	} else if (strcmp(cmd, "verify-log") == 0) {
		rc = shiftlog_verify(c.c_conf.cc_database,
		                     c.c_conf.cc_state_dir);
		rc = rc < 0 ? 2 : rc;
	} else if (strcmp(cmd, "calendar") == 0) {
		rc = collector_calendar(&c.c_conf.cc_calendar, at);
	} else if (strcmp(cmd, "migrate") == 0)
		rc = migrate_run(c.c_conf.cc_database) == 0 ? 0 : 1;
	else if (console != NULL && (c.c_console_dir = console_dir_open(
	                                 console, err, sizeof(err))) == NULL) {
		fprintf(stderr, "watchstand-collector: %s\n", err);
		rc = 1;
	} else
		rc = collector_run(&c, file);
	free(c.c_console_dir);
	collector_conf_free(&c.c_conf);
	curl_global_cleanup();
	return rc;
}
