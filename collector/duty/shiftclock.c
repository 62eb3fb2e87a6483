#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include <libpq-fe.h>

#include "alarm/alarm.h"
#include "duty/dayreport.h"
#include "duty/shiftclock.h"
#include "duty/shiftlog.h"
#include "events.h"
#include "ingest/store.h"

struct shiftclock {
	struct store *k_store;
	struct events *k_events;
	const struct shifts_conf *k_conf;
	const struct calendar *k_cal;
	struct roster *k_roster; /* NULL: the config's */
	char *k_roster_by;       /* who put k_roster, and when */
	time_t k_roster_at;
	int k_loaded;  /* a roster kept in the database was looked for */
	int k_loading;
	char *k_name;            /* the shift last opened */
	time_t k_start;
	struct alarms *k_alarms;
	uint64_t k_timeout_ms;
	int k_crossed; /* a boundary passed while running: watch its handover */
	int k_raised;  /* the unaccepted-handover alarm is up */
	int k_asking;  /* a query is out */
	time_t k_asked; /* when it was sent */
	char k_outgoing[64];
};

struct shiftclock *
shiftclock_new(struct store *st, struct events *ev,
               const struct shifts_conf *sc, const struct calendar *cal,
               struct alarms *alarms, uint64_t timeout_ms)
{
	struct shiftclock *k = xcalloc(1, sizeof(*k));

	k->k_alarms = alarms;
	k->k_timeout_ms = timeout_ms;
	k->k_store = st;
	k->k_events = ev;
	k->k_conf = sc;
	k->k_cal = cal;
	return k;
}

void
shiftclock_free(struct shiftclock *k)
{
	if (k == NULL)
		return;
	if (k->k_roster != NULL) {
		roster_free(k->k_roster);
		free(k->k_roster);
	}
	free(k->k_roster_by);
	free(k->k_name);
	free(k);
}

int
shiftclock_now(const struct shiftclock *k, time_t now, struct shift_now *out)
{
	return shifts_at(k->k_conf, k->k_roster, k->k_cal, now, out);
}

static void
shiftclock_set_roster(struct shiftclock *k, struct roster *ro, const char *by,
                      time_t at)
{
	if (k->k_roster != NULL) {
		roster_free(k->k_roster);
		free(k->k_roster);
	}
	k->k_roster = ro;
	free(k->k_roster_by);
	k->k_roster_by = ro != NULL && by != NULL ? xstrdup(by) : NULL;
	k->k_roster_at = at;
}

void
shiftclock_put_roster(struct shiftclock *k, struct roster *ro, const char *by)
{
	json_t *j;
	char *doc;
	const char *params[2];

	shiftclock_set_roster(k, ro, by, time(NULL));
	if (ro == NULL) {
		store_sql(k->k_store, "DELETE FROM watchstand.roster_override",
		          0, NULL);
		return;
	}
	j = roster_to_json(ro);
	doc = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	params[0] = doc;
	params[1] = by;
	store_sql(k->k_store,
	          "INSERT INTO watchstand.roster_override (roster, by_user) "
	          "VALUES ($1::jsonb, $2) ON CONFLICT (id) DO UPDATE SET "
	          "roster = EXCLUDED.roster, by_user = EXCLUDED.by_user, at = "
	          "now()",
	          2, params);
	free(doc);
}

void
shiftclock_takeover(struct shiftclock *k)
{
	if (k != NULL)
		k->k_loaded = 0; /* the roster may have changed meanwhile */
}

json_t *
shiftclock_roster_json(const struct shiftclock *k)
{
	json_t *o;

	if (k->k_roster == NULL)
		return json_pack("{s:s, s:o}", "source", "config", "roster",
		                 roster_to_json(&k->k_conf->sc_roster));
	o = json_pack("{s:s, s:s, s:I, s:o}", "source", "api", "by",
	              k->k_roster_by ? k->k_roster_by : "",
	              "at", (json_int_t)k->k_roster_at, "roster",
	              roster_to_json(k->k_roster));
	return o;
}

/* The roster kept by an earlier PUT /roster, if any, unless it no longer
 * fits the config (a shift renamed or removed): then the config's. */
static void
roster_loaded(void *arg, PGresult *r)
{
	struct shiftclock *k = arg;
	struct roster *ro;
	json_error_t jerr;
	json_t *j;
	char msg[200], text[400];

	k->k_loading = 0;
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK ||
	    PQntuples(r) != 1)
		return; /* asked again at the next tick */
	k->k_loaded = 1;
	/* An unaccepted-handover alarm raised before a restart or by the
	 * previous leader: watched again, so the acceptance or the next
	 * boundary clears it. */
	if (strcmp(PQgetvalue(r, 0, 3), "t") == 0) {
		k->k_raised = 1;
		k->k_crossed = 1;
	}
	if (PQgetisnull(r, 0, 0)) {
		shiftclock_set_roster(k, NULL, NULL, 0); /* the config's */
		return;
	}
	ro = xcalloc(1, sizeof(*ro));
	j = json_loads(PQgetvalue(r, 0, 0), 0, &jerr);
	if (j == NULL || roster_from_json(j, ro, msg, sizeof(msg)) == -1 ||
	    roster_check(k->k_conf, ro, msg, sizeof(msg)) == -1) {
		if (j == NULL)
			snprintf(msg, sizeof(msg), "%s", jerr.text);
		roster_free(ro);
		free(ro);
		snprintf(text, sizeof(text),
		         "the roster put by %s no longer fits the config (%s): "
		         "the config's roster is in force",
		         PQgetvalue(r, 0, 1), msg);
		log_warnx("shifts: %s", text);
		shiftlog_add(k->k_store, k->k_events, "shift", "collector",
		             text);
	} else {
		shiftclock_set_roster(k, ro, PQgetvalue(r, 0, 1),
		                      (time_t)strtoll(PQgetvalue(r, 0, 2), NULL,
		                                      10));
		log_info("shifts: the roster put by %s is in force",
		         PQgetvalue(r, 0, 1));
	}
	json_decref(j);
}

void
shiftclock_roster(void *arg, int lead, json_t *out)
{
	struct shiftclock *k = arg;
	struct shift_now sn;
	size_t i;

	if (k == NULL || shiftclock_now(k, time(NULL), &sn) == -1 ||
	    sn.sn_entry == NULL)
		return;
	if (lead) {
		if (sn.sn_entry->re_lead != NULL)
			json_array_append_new(
			    out, json_string(sn.sn_entry->re_lead));
		return;
	}
	for (i = 0; i < sn.sn_entry->re_n; i++)
		json_array_append_new(out,
		                      json_string(sn.sn_entry->re_on_duty[i]));
}

/* "alice, bob" or "nobody" */
static void
names(const struct roster_entry *e, char *buf, size_t len)
{
	size_t i, o = 0;

	snprintf(buf, len, "nobody");
	for (i = 0; e != NULL && i < e->re_n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "",
		                      e->re_on_duty[i]);
}

/* Whether the outgoing shift's handover was accepted. */
static void
handover_answer(void *arg, PGresult *r)
{
	struct shiftclock *k = arg;
	char desc[200];
	int accepted;

	k->k_asking = 0;
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK ||
	    PQntuples(r) != 1)
		return;
	accepted = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	if (!accepted && !k->k_raised) {
		snprintf(desc, sizeof(desc),
		         "the handover of shift %s is not accepted %llus "
		         "after the boundary",
		         k->k_outgoing,
		         (unsigned long long)(k->k_timeout_ms / 1000));
		alarms_raise_external(k->k_alarms, SHIFTCLOCK_RULE, "collector",
		                      "shift.handover", SEV_MAJOR, desc, desc);
		k->k_raised = 1;
	} else if (accepted) {
		if (k->k_raised)
			alarms_clear_external(k->k_alarms, SHIFTCLOCK_RULE,
			                      "collector", "shift.handover",
			                      "handover accepted");
		k->k_raised = 0;
		k->k_crossed = 0;
	}
}

/* After collector.handover_timeout past a boundary, and every 5 s while
 * the alarm is up: is the outgoing shift's handover accepted? */
static void
handover_watch(struct shiftclock *k, time_t now)
{
	char start[24];
	const char *params[1] = {start};

	if (!k->k_crossed || k->k_alarms == NULL || k->k_asking ||
	    (uint64_t)(now - k->k_start) * 1000 < k->k_timeout_ms ||
	    now - k->k_asked < 5)
		return;
	k->k_asking = 1;
	k->k_asked = now;
	snprintf(start, sizeof(start), "%lld", (long long)k->k_start);
	store_query(k->k_store,
	            "SELECT EXISTS (SELECT 1 FROM watchstand.handovers h JOIN "
	            "watchstand.shifts s ON s.id = h.shift_id WHERE s.ended_at "
	            "= to_timestamp($1) AND h.accepted_at IS NOT NULL)",
	            1, params, handover_answer, k);
}

void
shiftclock_tick(struct shiftclock *k, time_t now)
{
	struct shift_now sn;
	char start[24], on_duty[512], text[800], *arr;
	json_t *logins;
	const char *params[4];
	struct event_msg m = {.em_kind = EVENT_SHIFT};
	size_t i;

	if (k == NULL)
		return;
	if (!k->k_loaded) {
		if (!k->k_loading) {
			k->k_loading = 1;
			const char *params[1] = {SHIFTCLOCK_RULE};
			store_query(k->k_store,
			            "SELECT o.roster::text, o.by_user, "
			            "extract(epoch FROM o.at)::bigint, EXISTS "
			            "(SELECT 1 FROM watchstand.alarms WHERE rule = "
			            "$1 AND host = 'collector' AND state <> "
			            "'closed' AND cleared_at IS NULL) FROM (SELECT "
			            "1) x LEFT JOIN watchstand.roster_override o "
			            "ON true",
			            1, params, roster_loaded, k);
		}
		return;
	}
	if (shiftclock_now(k, now, &sn) == -1)
		return;
	if (k->k_name != NULL && strcmp(k->k_name, sn.sn_def->sd_name) == 0 &&
	    k->k_start == sn.sn_start) {
		handover_watch(k, now);
		return;
	}
	if (k->k_name != NULL) {
		/* A new boundary: the previous watch (if any) is moot. */
		if (k->k_raised)
			alarms_clear_external(k->k_alarms, SHIFTCLOCK_RULE,
			                      "collector", "shift.handover",
			                      "next shift began");
		k->k_raised = 0;
		k->k_crossed = 1;
		k->k_asked = 0;
		snprintf(k->k_outgoing, sizeof(k->k_outgoing), "%s", k->k_name);
	}
	free(k->k_name);
	k->k_name = xstrdup(sn.sn_def->sd_name);
	k->k_start = sn.sn_start;
	snprintf(start, sizeof(start), "%lld", (long long)sn.sn_start);
	/* The logins as a JSON array, any length, escaped by jansson. */
	logins = json_array();
	for (i = 0; sn.sn_entry != NULL && i < sn.sn_entry->re_n; i++)
		json_array_append_new(logins,
		                      json_string(sn.sn_entry->re_on_duty[i]));
	arr = json_dumps(logins, JSON_COMPACT);
	json_decref(logins);
	params[0] = sn.sn_def->sd_name;
	params[1] = start;
	params[2] = sn.sn_entry ? sn.sn_entry->re_lead : NULL;
	params[3] = arr;
	/* The previous shift ends where this one starts; a restart inside
	 * the shift finds its row open and keeps it. */
	store_sql(k->k_store,
	          "UPDATE watchstand.shifts SET ended_at = to_timestamp($2) "
	          "WHERE ended_at IS NULL AND NOT (name = $1 AND started_at = "
	          "to_timestamp($2))",
	          2, params);
	store_sql(k->k_store,
	          "INSERT INTO watchstand.shifts (name, started_at, lead, "
	          "on_duty) SELECT $1, to_timestamp($2), $3, ARRAY(SELECT "
	          "jsonb_array_elements_text($4::jsonb)) WHERE "
	          "NOT EXISTS (SELECT 1 FROM watchstand.shifts WHERE ended_at "
	          "IS NULL AND name = $1 AND started_at = to_timestamp($2))",
	          4, params);
	free(arr);
	names(sn.sn_entry, on_duty, sizeof(on_duty));
	snprintf(text, sizeof(text), "shift %s started: on duty %s; lead %s",
	         sn.sn_def->sd_name, on_duty,
	         sn.sn_entry && sn.sn_entry->re_lead ? sn.sn_entry->re_lead
	                                             : "nobody");
	shiftlog_add(k->k_store, k->k_events, "shift", "collector", text);
	/* The day before this shift's is over: its report, once. A restart
	 * makes up a report missed while the collector was down. */
	dayreport_write(k->k_store, k->k_events, k->k_conf, k->k_cal,
	                sn.sn_day - 1);
	m.em_text = sn.sn_def->sd_name;
	events_publish(k->k_events, &m);
}
