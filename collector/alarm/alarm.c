#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <uthash.h>

#include "watchstand/log.h"
#include "alarm/alarm.h"
#include "collector.h"
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
	struct collector *a_c;
	struct open_alarm *a_open;
	struct silent_host *a_silent;
};

struct alarms *
alarms_new(struct collector *c)
{
	struct alarms *a = calloc(1, sizeof(*a));

	a->a_c = c;
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
	free(a);
}

int
alarms_open(struct alarms *a)
{
	return (int)HASH_COUNT(a->a_open);
}

const char alarm_ack_sql[] =
    "WITH t AS (SELECT id, state, rule, host, series FROM "
    "watchstand.alarms WHERE id = $1::bigint), u AS (UPDATE "
    "watchstand.alarms a SET acked_by = $2, acked_at = now(), updated_at = "
    "now(), state = CASE WHEN t.state = 'cleared-unacknowledged' THEN "
    "'closed' ELSE 'active-acknowledged' END, closed_at = CASE WHEN "
    "t.state = 'cleared-unacknowledged' THEN now() END FROM t WHERE a.id = "
    "t.id AND t.state IN ('active-unacknowledged', "
    "'cleared-unacknowledged') RETURNING a.id, a.state, t.rule, t.host, "
    "t.series), l AS (INSERT INTO watchstand.shift_log (kind, actor, text) "
    "SELECT 'alarm', $2, 'ACK ' || rule || ' on ' || host || ': ' || "
    "series || coalesce(' -- ' || $3, '') || ' [alarm ' || id || ', now ' "
    "|| state || ']' FROM u) SELECT (SELECT state FROM t), (SELECT state "
    "FROM u)";

/*
 * The same through a phone's ack link ($4: its signature), which is spent
 * only when it acknowledged: a link refused for the alarm's state (409)
 * still works once the alarm can be acknowledged. Third column: when the
 * link was used before (then nothing is changed).
 */
const char alarm_ack_link_sql[] =
    "WITH prior AS (SELECT used_at FROM watchstand.notify_links_used WHERE "
    "signature = $4), t AS (SELECT id, state, rule, host, series FROM "
    "watchstand.alarms WHERE id = $1::bigint), u AS (UPDATE "
    "watchstand.alarms a SET acked_by = $2, acked_at = now(), updated_at = "
    "now(), state = CASE WHEN t.state = 'cleared-unacknowledged' THEN "
    "'closed' ELSE 'active-acknowledged' END, closed_at = CASE WHEN "
    "t.state = 'cleared-unacknowledged' THEN now() END FROM t WHERE a.id = "
    "t.id AND t.state IN ('active-unacknowledged', "
    "'cleared-unacknowledged') AND NOT EXISTS (SELECT 1 FROM prior) "
    "RETURNING a.id, a.state, t.rule, t.host, t.series), l AS (INSERT INTO "
    "watchstand.shift_log (kind, actor, text) SELECT 'alarm', $2, 'ACK ' "
    "|| rule || ' on ' || host || ': ' || series || coalesce(' -- ' || $3, "
    "'') || ' [alarm ' || id || ', now ' || state || ']' FROM u), k AS "
    "(INSERT INTO watchstand.notify_links_used (signature, alarm_id, "
    "recipient) SELECT $4, id, $2 FROM u ON CONFLICT DO NOTHING) SELECT "
    "(SELECT state FROM t), (SELECT state FROM u), (SELECT "
    "to_char(used_at, 'YYYY-MM-DD HH24:MI:SS TZ') FROM prior)";

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
		oa = calloc(1, sizeof(*oa) + n + 1);
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
	struct events *ev = an->an_a->a_c->c_events;

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
            const char *host, const char *severity, double value,
            const char *text)
{
	struct alarm_note *an = calloc(1, sizeof(*an));

	an->an_a = a;
	an->an_clear = clear;
	an->an_severity = severity ? severity_parse(severity) : 0;
	an->an_value = value;
	an->an_rule = strdup(rule);
	an->an_host = strdup(host);
	store_query(a->a_c->c_store, sql, nparams, params, alarm_noted, an);
	events_log(a->a_c->c_events, "alarm", "system", text);
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
	alarm_query(a, sql, 11, params, 0, rule, host, severity, value, text);
}

/* RAISE: a new alarm, or the open one (cleared, not yet acknowledged)
 * coming back: ISA-18.2 keeps it the same alarm. */
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
    "cleared_at = NULL, updated_at = now() RETURNING id, state), "
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
	            value, text);
}

static void
alarm_clear(struct alarms *a, const char *rule, const char *host,
            const char *series, double value, const char *text)
{
	char v[32];
	const char *params[5] = {rule, host, series, v, text};

	snprintf(v, sizeof(v), "%.17g", value);
	alarm_query(a, alarm_clear_sql, 5, params, 1, rule, host, NULL, value,
	            text);
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
alarms_outcome(void *arg, const struct rule *r, const char *host,
               const char *series, const struct rule_outcome *o)
{
	struct alarms *a = arg;
	struct open_alarm *oa;
	char text[1024], cond[64];
	const char *sev = severity_names[o->ro_severity];
	int suppressed = o->ro_suppressed || host_silent(a, host);
	const char *state = suppressed ? "suppressed" : "active-unacknowledged";

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
		sh = calloc(1, sizeof(*sh) + n + 1);
		memcpy(sh->sh_host, host, n + 1);
		HASH_ADD(hh, a->a_silent, sh_host[0], n, sh);
		snprintf(text, sizeof(text),
		         "RAISE critical %s on %s: %s; its other alarms are "
		         "suppressed until it is back",
		         ALARM_HOST_RULE, host, why);
		alarm_write(a, alarm_raise_sql, ALARM_HOST_RULE, host, "agent",
		            "critical", "active-unacknowledged", 0, 0, 0,
		            "the host's agent sends nothing", NULL, text);
		store_sql(
		    a->a_c->c_store,
		    "UPDATE watchstand.alarms SET state = 'suppressed', "
		    "suppressed = true, updated_at = now() WHERE host = $1 "
		    "AND rule <> 'agent-silent' AND state IN "
		    "('active-unacknowledged', 'active-acknowledged')",
		    1, params);
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
	store_sql(a->a_c->c_store,
	          "UPDATE watchstand.alarms SET state = 'closed', closed_at = "
	          "now(), updated_at = now() WHERE host = $1 AND state = "
	          "'suppressed' AND rule <> 'agent-silent'",
	          1, params);
	HASH_ITER(hh, a->a_open, oa, tmp)
	{
		if (strstr(oa->oa_key, prefix) != NULL &&
		    strncmp(oa->oa_key, ALARM_HOST_RULE "\1",
		            sizeof(ALARM_HOST_RULE)) != 0) {
			HASH_DEL(a->a_open, oa);
			free(oa);
		}
	}
	rules_engine_forget_host(a->a_c->c_rules, host);
	log_info("alarm: %s", text);
}
