#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <uthash.h>

#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include "alarm/alarm.h"
#include "events.h"
#include "ingest/store.h"

#define ALARM_HOST_RULE "agent-silent"

struct open_alarm {
	UT_hash_handle hh;
	enum severity oa_severity;
	int oa_cleared;
	int oa_suppressed;
	char oa_key[]; /* rule \1 host \1 series */
};

struct silent_host {
	UT_hash_handle hh;
	char sh_host[];
};

struct alarms {
	struct store *a_store;
	struct events *a_events;
	struct rules_engine *a_rules;
	struct open_alarm *a_open;
	struct silent_host *a_silent;
	/* Built from alarm_state_next's table by alarms_new. */
	char *a_ack_sql;
	char *a_ack_link_sql;
	char *a_shelve_sql;
	char *a_unshelve_sql;
	char *a_silent_sql;
	char *a_back_sql;
};

/* The quoted names of the states e changes: "'a', 'b'". */
static void
alarm_sql_from(enum alarm_event e, char *buf, size_t len)
{
	enum alarm_state s, to;
	size_t o = 0;

	buf[0] = '\0';
	for (s = 0; s < ALARM_STATES; s++) {
		to = alarm_state_next(s, e, NULL);
		if (to == ALARM_ST_REFUSED || to == s || s == ALARM_ST_CLOSED)
			continue;
		o += (size_t)snprintf(buf + o, len - o, "%s'%s'", o ? ", " : "",
		                      alarm_state_name(s));
		if (o >= len)
			fatalx("alarm: SQL buffer too small");
	}
}

/* CASE col WHEN 'from' THEN 'to' ... END for the states e changes. */
static void
alarm_sql_case(enum alarm_event e, const char *col, char *buf, size_t len)
{
	enum alarm_state s, to;
	size_t o;

	o = (size_t)snprintf(buf, len, "CASE %s", col);
	for (s = 0; s < ALARM_STATES; s++) {
		to = alarm_state_next(s, e, NULL);
		if (to == ALARM_ST_REFUSED || to == s || s == ALARM_ST_CLOSED)
			continue;
		o +=
		    (size_t)snprintf(buf + o, len - o, " WHEN '%s' THEN '%s'",
		                     alarm_state_name(s), alarm_state_name(to));
		if (o >= len)
			fatalx("alarm: SQL buffer too small");
	}
	if ((size_t)snprintf(buf + o, len - o, " END") >= len - o)
		fatalx("alarm: SQL buffer too small");
}

static char *alarm_sql_dup(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *
alarm_sql_dup(const char *fmt, ...)
{
	va_list ap;
	char *sql;

	va_start(ap, fmt);
	if (vasprintf(&sql, fmt, ap) == -1)
		fatalx("alarm: out of memory");
	va_end(ap);
	return sql;
}

/*
 * Acknowledges alarm $1 as $2 with comment $3 (may be NULL), with its
 * shift log entry; returns (state before, state after or NULL). Through
 * a phone's ack link ($4: its signature), the link is spent only when it
 * acknowledged: a link refused for the alarm's state (409) still works
 * once the alarm can be acknowledged. Third column then: when the link
 * was used before (then nothing is changed).
 */
static void
alarm_sql_build(struct alarms *a)
{
	char ack_from[256], ack_to[512], shelve_from[256], unshelve_from[256];
	char silent_from[256], back_from[256];

	alarm_sql_from(ALARM_EV_ACK, ack_from, sizeof(ack_from));
	alarm_sql_case(ALARM_EV_ACK, "t.state", ack_to, sizeof(ack_to));
	alarm_sql_from(ALARM_EV_SHELVE, shelve_from, sizeof(shelve_from));
	alarm_sql_from(ALARM_EV_UNSHELVE, unshelve_from, sizeof(unshelve_from));
	alarm_sql_from(ALARM_EV_HOST_SILENT, silent_from, sizeof(silent_from));
	alarm_sql_from(ALARM_EV_HOST_BACK, back_from, sizeof(back_from));
	a->a_ack_sql = alarm_sql_dup(
	    "WITH t AS (SELECT id, state, rule, host, series FROM "
	    "watchstand.alarms WHERE id = $1::bigint), u AS (UPDATE "
	    "watchstand.alarms a SET acked_by = $2, acked_at = now(), "
	    "updated_at = now(), state = %s, closed_at = CASE WHEN %s = "
	    "'closed' THEN now() END FROM t WHERE a.id = t.id AND t.state IN "
	    "(%s) RETURNING a.id, a.state, t.rule, t.host, t.series), l AS "
	    "(INSERT INTO watchstand.shift_log (kind, actor, text) SELECT "
	    "'alarm', $2, 'ACK ' || rule || ' on ' || host || ': ' || series "
	    "|| coalesce(' -- ' || $3, '') || ' [alarm ' || id || ', now ' "
	    "|| state || ']' FROM u) SELECT (SELECT state FROM t), (SELECT "
	    "state FROM u)",
	    ack_to, ack_to, ack_from);
	a->a_ack_link_sql = alarm_sql_dup(
	    "WITH prior AS (SELECT used_at FROM watchstand.notify_links_used "
	    "WHERE signature = $4), t AS (SELECT id, state, rule, host, "
	    "series FROM watchstand.alarms WHERE id = $1::bigint), u AS "
	    "(UPDATE watchstand.alarms a SET acked_by = $2, acked_at = now(), "
	    "updated_at = now(), state = %s, closed_at = CASE WHEN %s = "
	    "'closed' THEN now() END FROM t WHERE a.id = t.id AND t.state IN "
	    "(%s) AND NOT EXISTS (SELECT 1 FROM prior) RETURNING a.id, "
	    "a.state, t.rule, t.host, t.series), l AS (INSERT INTO "
	    "watchstand.shift_log (kind, actor, text) SELECT 'alarm', $2, "
	    "'ACK ' || rule || ' on ' || host || ': ' || series || "
	    "coalesce(' -- ' || $3, '') || ' [alarm ' || id || ', now ' || "
	    "state || ']' FROM u), k AS (INSERT INTO "
	    "watchstand.notify_links_used (signature, alarm_id, recipient) "
	    "SELECT $4, id, $2 FROM u ON CONFLICT DO NOTHING) SELECT (SELECT "
	    "state FROM t), (SELECT state FROM u), (SELECT to_char(used_at, "
	    "'YYYY-MM-DD HH24:MI:SS TZ') FROM prior)",
	    ack_to, ack_to, ack_from);
	a->a_shelve_sql = alarm_sql_dup(
	    "WITH t AS (SELECT id, state, rule, host, series FROM "
	    "watchstand.alarms WHERE id = $1::bigint), u AS (UPDATE "
	    "watchstand.alarms a SET state = 'shelved', shelved_from = "
	    "t.state, shelved_until = now() + $4::int * interval '1 minute', "
	    "shelved_by = $2, shelve_reason = $3, updated_at = now() FROM t "
	    "WHERE a.id = t.id AND t.state IN (%s) RETURNING a.id, a.state, "
	    "a.shelved_until, t.rule, t.host, t.series), l AS (INSERT INTO "
	    "watchstand.shift_log (kind, actor, text) SELECT 'alarm', $2, "
	    "'SHELVE ' || rule || ' on ' || host || ': ' || series || ' for ' "
	    "|| $4 || ' min -- ' || $3 || ' [alarm ' || id || ']' FROM u) "
	    "SELECT (SELECT state FROM t), (SELECT state FROM u), (SELECT "
	    "shelved_until FROM u)",
	    shelve_from);
	a->a_unshelve_sql = alarm_sql_dup(
	    "WITH t AS (SELECT id, state, rule, host, series FROM "
	    "watchstand.alarms WHERE id = $1::bigint), u AS (UPDATE "
	    "watchstand.alarms a SET state = a.shelved_from, shelved_until = "
	    "NULL, updated_at = now() FROM t WHERE a.id = t.id AND t.state IN "
	    "(%s) RETURNING a.id, a.state, t.rule, t.host, t.series), l AS "
	    "(INSERT INTO watchstand.shift_log (kind, actor, text) SELECT "
	    "'alarm', $2, 'UNSHELVE ' || rule || ' on ' || host || ': ' || "
	    "series || ' [alarm ' || id || ', now ' || state || ']' FROM u) "
	    "SELECT (SELECT state FROM t), (SELECT state FROM u), NULL",
	    unshelve_from);
	/* A silent host's other alarms are suppressed; when it is back,
	 * what was suppressed is closed. */
	a->a_silent_sql = alarm_sql_dup(
	    "UPDATE watchstand.alarms SET state = 'suppressed', suppressed = "
	    "true, updated_at = now() WHERE host = $1 AND rule <> "
	    "'" ALARM_HOST_RULE "' AND state IN (%s)",
	    silent_from);
	a->a_back_sql = alarm_sql_dup(
	    "UPDATE watchstand.alarms SET state = 'closed', closed_at = now(), "
	    "updated_at = now() WHERE host = $1 AND state IN (%s) AND rule <> "
	    "'" ALARM_HOST_RULE "'",
	    back_from);
}

struct alarms *
alarms_new(struct store *st, struct events *ev, struct rules_engine *rules)
{
	struct alarms *a = xcalloc(1, sizeof(*a));

	if (a == NULL)
		fatalx("alarm: out of memory");
	a->a_store = st;
	a->a_events = ev;
	a->a_rules = rules;
	alarm_sql_build(a);
	return a;
}

void
alarms_free(struct alarms *a)
{
	struct open_alarm *oa, *tmp;
	struct silent_host *sh, *stmp;

	if (a == NULL)
		return;
	HASH_ITER(hh, a->a_open, oa, tmp)
	{
		HASH_DEL(a->a_open, oa);
		free(oa);
	}
	HASH_ITER(hh, a->a_silent, sh, stmp)
	{
		HASH_DEL(a->a_silent, sh);
		free(sh);
	}
	free(a->a_ack_sql);
	free(a->a_ack_link_sql);
	free(a->a_shelve_sql);
	free(a->a_unshelve_sql);
	free(a->a_silent_sql);
	free(a->a_back_sql);
	free(a);
}

void
alarms_forget(struct alarms *a)
{
	struct open_alarm *oa, *tmp;
	struct silent_host *sh, *stmp;

	HASH_ITER(hh, a->a_open, oa, tmp)
	{
		HASH_DEL(a->a_open, oa);
		free(oa);
	}
	HASH_ITER(hh, a->a_silent, sh, stmp)
	{
		HASH_DEL(a->a_silent, sh);
		free(sh);
	}
}

void
alarms_adopt_silent(struct alarms *a, const char *host)
{
	struct silent_host *sh;
	size_t n = strlen(host);

	HASH_FIND_STR(a->a_silent, host, sh);
	if (sh != NULL)
		return;
	sh = xcalloc(1, sizeof(*sh) + n + 1);
	memcpy(sh->sh_host, host, n + 1);
	HASH_ADD(hh, a->a_silent, sh_host[0], n, sh);
}

int
alarms_is_host_rule(const char *rule)
{
	return strcmp(rule, ALARM_HOST_RULE) == 0;
}

int
alarms_open(struct alarms *a)
{
	return (int)HASH_COUNT(a->a_open);
}

static struct open_alarm *
alarm_find(struct alarms *a, const char *rule, const char *host,
           const char *series, int create)
{
	char key[512];
	struct open_alarm *oa;
	size_t n;

	n = (size_t)snprintf(key, sizeof(key), "%s\1%s\1%s", rule, host,
	                     series);
	if (n >= sizeof(key))
		n = sizeof(key) - 1;
	HASH_FIND(hh, a->a_open, key, n, oa);
	if (oa == NULL && create) {
		oa = xcalloc(1, sizeof(*oa) + n + 1);
		memcpy(oa->oa_key, key, n + 1);
		HASH_ADD(hh, a->a_open, oa_key[0], n, oa);
	}
	return oa;
}

static int
host_silent(struct alarms *a, const char *host)
{
	struct silent_host *sh;

	HASH_FIND_STR(a->a_silent, host, sh);
	return sh != NULL;
}

/* What the notifier hears once the row is written (it needs the id). */
struct alarm_note {
	struct alarms *an_a;
	int an_clear;
	int an_severity;
	double an_value;
	char *an_rule;
	char *an_host;
};

static void
alarm_noted(void *arg, PGresult *r)
{
	struct alarm_note *an = arg;
	struct events *ev = an->an_a->a_events;

	if (r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK &&
	    PQntuples(r) == 1) {
		struct event_msg m = {
		    .em_alarm_id = atoll(PQgetvalue(r, 0, 0)),
		    .em_rule = an->an_rule,
		    .em_host = an->an_host,
		    .em_role = PQgetvalue(r, 0, 2),
		    .em_severity = an->an_severity,
		    .em_value = an->an_value,
		};
		if (an->an_clear) {
			m.em_kind = EVENT_ALARM_CLEARED;
			events_publish(ev, &m);
		} else if (strcmp(PQgetvalue(r, 0, 1),
		                  "active-unacknowledged") == 0) {
			m.em_kind = EVENT_ALARM_RAISED;
			events_publish(ev, &m);
		}
	}
	free(an->an_rule);
	free(an->an_host);
	free(an);
}

static void
alarm_query(struct alarms *a, const char *sql, int nparams,
            const char *const *params, int clear, const char *rule,
            const char *host, const char *severity, double value)
{
	struct alarm_note *an = xcalloc(1, sizeof(*an));

	an->an_a = a;
	an->an_clear = clear;
	an->an_severity = severity ? severity_parse(severity) : 0;
	an->an_value = value;
	an->an_rule = xstrdup(rule);
	an->an_host = xstrdup(host);
	store_query(a->a_store, sql, nparams, params, alarm_noted, an);
	events_log_written(a->a_events);
}

/* Writes the alarm row and its shift log entry in one statement. */
static void
alarm_write(struct alarms *a, const char *sql, const char *rule,
            const char *host, const char *series, const char *severity,
            const char *state, double value, int suppressed, int chattering,
            const char *desc, const char *runbook, const char *text)
{
	char v[32];
	const char *params[11] = {rule,
	                          host,
	                          series,
	                          severity,
	                          state,
	                          v,
	                          suppressed ? "t" : "f",
	                          chattering ? "t" : "f",
	                          desc,
	                          runbook,
	                          text};

	snprintf(v, sizeof(v), "%.17g", value);
	alarm_query(a, sql, 11, params, 0, rule, host, severity, value);
}

/* RAISE: a new alarm, or the open one (cleared, not yet acknowledged)
 * coming back: ISA-18.2 keeps it the same alarm. An open alarm that
 * still holds as it is (a new leader's fresh rules, a restart) is
 * adopted: no row comes back, so nothing is logged or paged again. */
static const char alarm_raise_sql[] =
    "WITH a AS (INSERT INTO watchstand.alarms (rule, host, series, "
    "severity, state, value, suppressed, chattering, description, runbook) "
    "VALUES ($1, $2, $3, $4, CASE WHEN EXISTS (SELECT 1 FROM "
    "watchstand.hosts_out_of_service o WHERE o.host = $2 AND o.until > "
    "now()) THEN 'out-of-service' ELSE $5 END, $6, $7, $8, $9, $10) ON "
    "CONFLICT (rule, "
    "host, series) WHERE state <> 'closed' DO UPDATE SET severity = "
    "EXCLUDED.severity, state = CASE WHEN watchstand.alarms.state IN "
    "('active-acknowledged', 'shelved', 'out-of-service') THEN "
    "watchstand.alarms.state ELSE EXCLUDED.state END, value = "
    "EXCLUDED.value, "
    "suppressed = EXCLUDED.suppressed, chattering = EXCLUDED.chattering, "
    "cleared_at = NULL, updated_at = now() WHERE NOT "
    "(watchstand.alarms.cleared_at IS NULL AND watchstand.alarms.severity "
    "= EXCLUDED.severity AND watchstand.alarms.suppressed = "
    "EXCLUDED.suppressed AND watchstand.alarms.chattering = "
    "EXCLUDED.chattering) RETURNING id, state), "
    "l AS (INSERT INTO watchstand.shift_log (kind, actor, text) SELECT "
    "'alarm', 'system', $11 || ' [alarm ' || id || ']' FROM a) "
    "SELECT id, state, (SELECT role FROM watchstand.agents WHERE name = "
    "$2) FROM a";

static const char alarm_change_sql[] =
    "WITH a AS (UPDATE watchstand.alarms SET severity = $4, value = $5, "
    "chattering = $6, updated_at = now() WHERE rule = $1 AND host = $2 AND "
    "series = $3 AND state <> 'closed' RETURNING id, state), l AS "
    "(INSERT INTO watchstand.shift_log (kind, actor, text) SELECT 'alarm', "
    "'system', $7 || ' [alarm ' || id || ']' FROM a) SELECT id, state, "
    "(SELECT role FROM watchstand.agents WHERE name = $2) FROM a";

/* CLEAR: closed if it was acknowledged, else waiting for the ack. */
static const char alarm_clear_sql[] =
    "WITH a AS (UPDATE watchstand.alarms SET state = CASE WHEN acked_at IS "
    "NOT NULL THEN 'closed' ELSE 'cleared-unacknowledged' END, "
    "cleared_at = now(), closed_at = CASE WHEN acked_at IS NOT NULL THEN "
    "now() END, value = $4, updated_at = now() WHERE rule = $1 AND host = "
    "$2 AND series = $3 AND state <> 'closed' RETURNING id, state), l AS "
    "(INSERT INTO watchstand.shift_log (kind, actor, text) SELECT 'alarm', "
    "'system', $5 || ' [alarm ' || id || ', now ' || state || ']' FROM a) "
    "SELECT id, state FROM a";

static void
alarm_change(struct alarms *a, const char *rule, const char *host,
             const char *series, const char *severity, double value,
             int chattering, const char *text)
{
	char v[32];
	const char *params[7] = {
	    rule, host, series, severity, v, chattering ? "t" : "f", text};

	snprintf(v, sizeof(v), "%.17g", value);
	alarm_query(a, alarm_change_sql, 7, params, 0, rule, host, severity,
	            value);
}

static void
alarm_clear(struct alarms *a, const char *rule, const char *host,
            const char *series, double value, const char *text)
{
	char v[32];
	const char *params[5] = {rule, host, series, v, text};

	snprintf(v, sizeof(v), "%.17g", value);
	alarm_query(a, alarm_clear_sql, 5, params, 1, rule, host, NULL, value);
}

static const char *
level_text(const struct rule *r, int level, char *buf, size_t len)
{
	static const char *const ops[] = {"<", "<=", ">", ">=", "==", "!="};

	if (level == RULE_STALE)
		snprintf(buf, len, "no data");
	else if (level >= 0)
		snprintf(buf, len, "%s %g", ops[r->r_levels[level].rl_op],
		         r->r_levels[level].rl_threshold);
	else
		snprintf(buf, len, "normal");
	return buf;
}

void
alarms_raise_external(struct alarms *a, const char *rule, const char *host,
                      const char *series, enum severity sev,
                      const char *description, const char *what)
{
	struct open_alarm *oa;
	char text[1024];
	int suppressed = host_silent(a, host);
	struct alarm_facts facts = {.af_suppressed = suppressed};
	const char *state = alarm_state_name(
	    alarm_state_next(ALARM_ST_CLOSED, ALARM_EV_RAISE, &facts));

	oa = alarm_find(a, rule, host, series, 0);
	if (oa != NULL && !oa->oa_cleared && oa->oa_severity == sev)
		return;
	oa = alarm_find(a, rule, host, series, 1);
	oa->oa_severity = sev;
	oa->oa_cleared = 0;
	oa->oa_suppressed = suppressed;
	snprintf(text, sizeof(text), "RAISE %s %s on %s: %s%s",
	         severity_names[sev], rule, host, what,
	         suppressed ? ", suppressed" : "");
	alarm_write(a, alarm_raise_sql, rule, host, series, severity_names[sev],
	            state, 1, suppressed, 0, description, NULL, text);
	if (!suppressed)
		log_info("alarm: %s", text);
}

void
alarms_clear_external(struct alarms *a, const char *rule, const char *host,
                      const char *series, const char *what)
{
	struct open_alarm *oa;
	char text[1024];

	oa = alarm_find(a, rule, host, series, 0);
	if (oa != NULL) {
		HASH_DEL(a->a_open, oa);
		free(oa);
	}
	snprintf(text, sizeof(text), "CLEAR %s on %s: %s", rule, host, what);
	alarm_clear(a, rule, host, series, 0, text);
	log_info("alarm: %s", text);
}

void
alarms_outcome(void *arg, const struct rule *r, const char *host,
               const char *series, const struct rule_outcome *o)
{
	struct alarms *a = arg;
	struct open_alarm *oa;
	char text[1024], cond[64];
	const char *sev = severity_names[o->ro_severity];
	int suppressed = o->ro_suppressed || host_silent(a, host);
	struct alarm_facts facts = {.af_suppressed = suppressed};
	/* A new alarm's state; the row's own (if open) decides in SQL. */
	const char *state = alarm_state_name(
	    alarm_state_next(ALARM_ST_CLOSED, ALARM_EV_RAISE, &facts));

	level_text(r, o->ro_level, cond, sizeof(cond));
	switch (o->ro_what) {
	case RT_RAISE:
		oa = alarm_find(a, r->r_name, host, series, 1);
		oa->oa_severity = o->ro_severity;
		oa->oa_cleared = 0;
		oa->oa_suppressed = suppressed;
		snprintf(text, sizeof(text),
		         "RAISE %s %s on %s: %s = %g (%s)%s%s%s%s", sev,
		         r->r_name, host, series, o->ro_value, cond,
		         suppressed ? ", suppressed" : "",
		         o->ro_chattering ? ", chattering" : "",
		         r->r_runbook ? "; runbook: " : "",
		         r->r_runbook ? r->r_runbook : "");
		alarm_write(a, alarm_raise_sql, r->r_name, host, series, sev,
		            state, o->ro_value, suppressed, o->ro_chattering,
		            r->r_description, r->r_runbook, text);
		if (!suppressed)
			log_info("alarm: %s", text);
		break;
	case RT_CHANGE:
		oa = alarm_find(a, r->r_name, host, series, 1);
		snprintf(text, sizeof(text),
		         "SEVERITY %s -> %s %s on %s: %s = "
		         "%g (%s)",
		         severity_names[oa->oa_severity], sev, r->r_name, host,
		         series, o->ro_value, cond);
		oa->oa_severity = o->ro_severity;
		alarm_change(a, r->r_name, host, series, sev, o->ro_value,
		             o->ro_chattering, text);
		break;
	case RT_CLEAR:
		oa = alarm_find(a, r->r_name, host, series, 0);
		snprintf(text, sizeof(text), "CLEAR %s on %s: %s = %g%s",
		         r->r_name, host, series, o->ro_value,
		         o->ro_reload ? " (the rule was removed or changed by "
		                        "a config reload)"
		                      : "");
		if (oa != NULL) {
			HASH_DEL(a->a_open, oa);
			free(oa);
		}
		alarm_clear(a, r->r_name, host, series, o->ro_value, text);
		log_info("alarm: %s", text);
		break;
	case RT_NONE:
		break;
	}
}

void
alarms_host_silent(struct alarms *a, const char *host, int silent,
                   const char *why)
{
	struct silent_host *sh;
	struct open_alarm *oa, *tmp;
	char text[512], prefix[256];
	const char *params[1] = {host};

	HASH_FIND_STR(a->a_silent, host, sh);
	if (silent == (sh != NULL))
		return;
	snprintf(prefix, sizeof(prefix), "\1%s\1", host);
	if (silent) {
		size_t n = strlen(host);
		sh = xcalloc(1, sizeof(*sh) + n + 1);
		memcpy(sh->sh_host, host, n + 1);
		HASH_ADD(hh, a->a_silent, sh_host[0], n, sh);
		snprintf(text, sizeof(text),
		         "RAISE critical %s on %s: %s; its other alarms are "
		         "suppressed until it is back",
		         ALARM_HOST_RULE, host, why);
		alarm_write(a, alarm_raise_sql, ALARM_HOST_RULE, host, "agent",
		            "critical", "active-unacknowledged", 0, 0, 0,
		            "the host's agent sends nothing", NULL, text);
		store_sql(a->a_store, a->a_silent_sql, 1, params);
		log_warnx("alarm: %s", text);
		return;
	}
	HASH_DEL(a->a_silent, sh);
	free(sh);
	snprintf(text, sizeof(text),
	         "CLEAR %s on %s: its agent is back; its "
	         "alarms are evaluated afresh",
	         ALARM_HOST_RULE, host);
	alarm_clear(a, ALARM_HOST_RULE, host, "agent", 0, text);
	/* What was suppressed is closed; fresh samples raise again what
	 * still holds. */
	store_sql(a->a_store, a->a_back_sql, 1, params);
	HASH_ITER(hh, a->a_open, oa, tmp)
	{
		if (strstr(oa->oa_key, prefix) != NULL &&
		    strncmp(oa->oa_key, ALARM_HOST_RULE "\1",
		            sizeof(ALARM_HOST_RULE)) != 0) {
			HASH_DEL(a->a_open, oa);
			free(oa);
		}
	}
	rules_engine_forget_host(a->a_rules, host);
	log_info("alarm: %s", text);
}

/* ---- changes asked for by someone ---- */

/* A change on its way to the database, for whoever asked. */
struct alarm_call {
	struct alarms *ac_a;
	enum alarm_event ac_ev;
	int ac_link; /* ALARM_EV_ACK through a link */
	alarm_done_fn ac_cb;
	void *ac_arg;
	int64_t ac_id;
	char ac_who[128];
	char ac_host[128];
};

/* The state the database reports against the table's. */
static void
alarm_check(const struct alarm_call *ac, const char *from, const char *to)
{
	enum alarm_state want =
	    alarm_state_next(alarm_state_parse(from), ac->ac_ev, NULL);

	if (ac->ac_ev != ALARM_EV_UNSHELVE && want != alarm_state_parse(to))
		log_warnx("alarm: %lld went from %s to %s, not %s",
		          (long long)ac->ac_id, from, to,
		          alarm_state_name(want) ? alarm_state_name(want)
		                                 : "(refused)");
}

static void
alarm_call_done(void *arg, PGresult *r)
{
	struct alarm_call *ac = arg;
	struct alarms *a = ac->ac_a;
	struct alarm_result res;
	char fenced[600];

	memset(&res, 0, sizeof(res));
	res.ar_id = ac->ac_id;
	res.ar_host = ac->ac_host;
	res.ar_state = ALARM_ST_REFUSED;
	if (r == NULL)
		res.ar_status = ALARM_NO_RESULT;
	else if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		const char *hint = PQresultErrorField(r, PG_DIAG_MESSAGE_HINT);

		res.ar_status = ALARM_DB_ERROR;
		res.ar_error = PQresultErrorMessage(r);
		/* The fence (docs/ha.md): said plainly, with the leader. */
		if (code != NULL && strcmp(code, "WSHA1") == 0) {
			snprintf(fenced, sizeof(fenced), "%s; %s",
			         PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY),
			         hint ? hint : "ask the leader");
			res.ar_error = fenced;
		}
	} else if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0))
		res.ar_status = ALARM_NOT_FOUND;
	else if (ac->ac_ev == ALARM_EV_OUT_OF_SERVICE ||
	         ac->ac_ev == ALARM_EV_IN_SERVICE) {
		int out = ac->ac_ev == ALARM_EV_OUT_OF_SERVICE;

		res.ar_status = ALARM_DONE;
		res.ar_state = out ? ALARM_ST_OUT_OF_SERVICE : ALARM_ST_CLOSED;
		res.ar_state_name = alarm_state_name(res.ar_state);
		res.ar_until =
		    PQgetisnull(r, 0, 1) ? NULL : PQgetvalue(r, 0, 1);
		res.ar_count = atoi(PQgetvalue(r, 0, 2));
		/* Back in service: what was held back is looked at
		 * afresh. */
		if (!out)
			rules_engine_forget_host(a->a_rules, ac->ac_host);
		events_log_written(a->a_events);
	} else if (ac->ac_link && !PQgetisnull(r, 0, 2)) {
		res.ar_status = ALARM_LINK_USED;
		res.ar_used_at = PQgetvalue(r, 0, 2);
	} else if (PQgetisnull(r, 0, 1)) {
		res.ar_status = ALARM_REFUSED;
		res.ar_state_name = PQgetvalue(r, 0, 0);
		res.ar_state = alarm_state_parse(res.ar_state_name);
	} else {
		res.ar_status = ALARM_DONE;
		res.ar_state_name = PQgetvalue(r, 0, 1);
		res.ar_state = alarm_state_parse(res.ar_state_name);
		alarm_check(ac, PQgetvalue(r, 0, 0), res.ar_state_name);
		if (ac->ac_ev == ALARM_EV_SHELVE)
			res.ar_until =
			    PQgetisnull(r, 0, 2) ? NULL : PQgetvalue(r, 0, 2);
		/* Its entry, as the statement wrote it (with the rule,
		 * the comment, "via phone link"), comes from the feed. */
		events_log_written(a->a_events);
		if (ac->ac_ev == ALARM_EV_UNSHELVE)
			events_publish(
			    a->a_events,
			    &(struct event_msg){.em_kind = EVENT_ALARM_RETURNED,
			                        .em_alarm_id = ac->ac_id});
	}
	ac->ac_cb(ac->ac_arg, &res);
	free(ac);
}

static struct alarm_call *
alarm_call_new(struct alarms *a, enum alarm_event ev, int64_t id,
               const char *host, const char *who, alarm_done_fn cb, void *arg)
{
	struct alarm_call *ac = xcalloc(1, sizeof(*ac));

	if (ac == NULL)
		fatalx("alarm: out of memory");
	ac->ac_a = a;
	ac->ac_ev = ev;
	ac->ac_id = id;
	ac->ac_cb = cb;
	ac->ac_arg = arg;
	snprintf(ac->ac_who, sizeof(ac->ac_who), "%s", who ? who : "");
	snprintf(ac->ac_host, sizeof(ac->ac_host), "%s", host ? host : "");
	return ac;
}

/* Queued, or sent by the deadline for a caller who waits. */
static int
alarm_call_send(struct alarm_call *ac, const char *sql, int n,
                const char *const *params, int deadline_ms)
{
	struct store *st = ac->ac_a->a_store;

	if (deadline_ms <= 0) {
		store_query(st, sql, n, params, alarm_call_done, ac);
		return 0;
	}
	if (store_query_by(st, sql, n, params, alarm_call_done, ac,
	                   deadline_ms) == 0)
		return 0;
	free(ac);
	return -1;
}

int
alarm_ack(struct alarms *a, int64_t id, const char *who, const char *comment,
          int deadline_ms, alarm_done_fn cb, void *arg)
{
	char idbuf[32];
	const char *params[3] = {idbuf, who, comment};

	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
	return alarm_call_send(
	    alarm_call_new(a, ALARM_EV_ACK, id, NULL, who, cb, arg),
	    a->a_ack_sql, 3, params, deadline_ms);
}

int
alarm_ack_link(struct alarms *a, int64_t id, const char *who, const char *sig,
               int deadline_ms, alarm_done_fn cb, void *arg)
{
	char idbuf[32];
	const char *params[4] = {idbuf, who, "via phone link", sig};
	struct alarm_call *ac =
	    alarm_call_new(a, ALARM_EV_ACK, id, NULL, who, cb, arg);

	ac->ac_link = 1;
	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
	return alarm_call_send(ac, a->a_ack_link_sql, 4, params, deadline_ms);
}

int
alarm_shelve(struct alarms *a, int64_t id, const char *who, int64_t minutes,
             const char *reason, int deadline_ms, alarm_done_fn cb, void *arg)
{
	char idbuf[32], mbuf[32];
	const char *params[4] = {idbuf, who, reason, mbuf};

	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
	snprintf(mbuf, sizeof(mbuf), "%lld", (long long)minutes);
	return alarm_call_send(
	    alarm_call_new(a, ALARM_EV_SHELVE, id, NULL, who, cb, arg),
	    a->a_shelve_sql, 4, params, deadline_ms);
}

int
alarm_unshelve(struct alarms *a, int64_t id, const char *who, int deadline_ms,
               alarm_done_fn cb, void *arg)
{
	char idbuf[32];
	const char *params[2] = {idbuf, who};

	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
	return alarm_call_send(
	    alarm_call_new(a, ALARM_EV_UNSHELVE, id, NULL, who, cb, arg),
	    a->a_unshelve_sql, 2, params, deadline_ms);
}

int
alarms_host_out_of_service(struct alarms *a, const char *host, const char *who,
                           int64_t minutes, const char *reason, int deadline_ms,
                           alarm_done_fn cb, void *arg)
{
	char mbuf[32];
	const char *params[4] = {host, who, reason, mbuf};

	snprintf(mbuf, sizeof(mbuf), "%lld", (long long)minutes);
	return alarm_call_send(
	    alarm_call_new(a, ALARM_EV_OUT_OF_SERVICE, 0, host, who, cb, arg),
	    "WITH h AS (SELECT name FROM watchstand.agents WHERE name = $1), "
	    "o AS (INSERT INTO watchstand.hosts_out_of_service (host, "
	    "reason, until, by_user) SELECT name, $3, now() + $4::int * "
	    "interval '1 minute', $2 FROM h ON CONFLICT (host) DO UPDATE SET "
	    "reason = EXCLUDED.reason, until = EXCLUDED.until, by_user = "
	    "EXCLUDED.by_user RETURNING host, until), a AS (UPDATE "
	    "watchstand.alarms SET state = 'out-of-service', updated_at = "
	    "now() WHERE host IN (SELECT host FROM o) AND state <> 'closed' "
	    "RETURNING id), l AS (INSERT INTO watchstand.shift_log (kind, "
	    "actor, text) SELECT 'alarm', $2, 'OUT OF SERVICE ' || host || ' "
	    "for ' || $4 || ' min -- ' || $3 FROM o) SELECT (SELECT host "
	    "FROM o), (SELECT until FROM o), (SELECT count(*) FROM a)",
	    4, params, deadline_ms);
}

int
alarms_host_in_service(struct alarms *a, const char *host, const char *who,
                       int deadline_ms, alarm_done_fn cb, void *arg)
{
	const char *params[2] = {host, who};

	return alarm_call_send(
	    alarm_call_new(a, ALARM_EV_IN_SERVICE, 0, host, who, cb, arg),
	    "WITH h AS (SELECT name FROM watchstand.agents WHERE name = $1), "
	    "d AS (DELETE FROM watchstand.hosts_out_of_service WHERE host IN "
	    "(SELECT name FROM h) RETURNING host), a AS (UPDATE "
	    "watchstand.alarms SET state = 'closed', closed_at = now(), "
	    "updated_at = now() WHERE host IN (SELECT name FROM h) AND state "
	    "= 'out-of-service' RETURNING id), l AS (INSERT INTO "
	    "watchstand.shift_log (kind, actor, text) SELECT 'alarm', $2, 'IN "
	    "SERVICE ' || name || ': its alarms are evaluated afresh' FROM h) "
	    "SELECT (SELECT name FROM h), NULL, (SELECT count(*) FROM a)",
	    2, params, deadline_ms);
}

/* ---- the ends of shelving and out of service ---- */

/* Hosts whose out-of-service time is over are looked at afresh. */
static void
alarms_oos_over(void *arg, PGresult *r)
{
	struct alarms *a = arg;
	int i;

	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK)
		return;
	for (i = 0; i < PQntuples(r); i++) {
		char text[200];
		rules_engine_forget_host(a->a_rules, PQgetvalue(r, i, 0));
		snprintf(text, sizeof(text), "IN SERVICE %s (time over)",
		         PQgetvalue(r, i, 0));
		log_info("alarm: %s", text);
	}
	if (PQntuples(r) > 0)
		events_log_written(a->a_events);
}

/* Alarms whose shelving time is over may page again. */
static void
alarms_unshelved(void *arg, PGresult *r)
{
	struct alarms *a = arg;
	int i;

	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK)
		return;
	if (PQntuples(r) > 0)
		events_log_written(a->a_events);
	for (i = 0; i < PQntuples(r); i++)
		events_publish(a->a_events,
		               &(struct event_msg){
		                   .em_kind = EVENT_ALARM_RETURNED,
		                   .em_alarm_id = atoll(PQgetvalue(r, i, 0))});
}

void
alarms_expire(struct alarms *a)
{
	/* Nothing to do while the database is away: the next round after
	 * it is back does what is due (not one queued statement per 5 s). */
	if (!store_up(a->a_store))
		return;
	store_query(
	    a->a_store,
	    "WITH u AS (UPDATE watchstand.alarms SET state = shelved_from, "
	    "shelved_until = NULL, updated_at = now() WHERE state = 'shelved' "
	    "AND shelved_until <= now() RETURNING id, rule, host, series, "
	    "state), l AS (INSERT INTO watchstand.shift_log (kind, actor, "
	    "text) SELECT 'alarm', 'system', 'UNSHELVE (shelving time over) ' "
	    "|| rule || ' on ' || host || ': ' || series || ' [alarm ' || id "
	    "|| ', now ' || state || ']' FROM u) SELECT id FROM u",
	    0, NULL, alarms_unshelved, a);
	store_query(
	    a->a_store,
	    "WITH d AS (DELETE FROM watchstand.hosts_out_of_service WHERE "
	    "until <= now() RETURNING host), a AS (UPDATE watchstand.alarms "
	    "SET state = 'closed', closed_at = now(), updated_at = now() WHERE "
	    "host IN (SELECT host FROM d) AND state = 'out-of-service' "
	    "RETURNING id), l AS (INSERT INTO watchstand.shift_log (kind, "
	    "actor, text) SELECT 'alarm', 'system', 'IN SERVICE ' || host || "
	    "' (time over): its alarms are evaluated afresh' FROM d) SELECT "
	    "host FROM d",
	    0, NULL, alarms_oos_over, a);
}
