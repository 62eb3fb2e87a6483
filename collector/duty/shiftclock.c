#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watchstand/xalloc.h"
#include <libpq-fe.h>

#include "alarm/alarm.h"
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
	free(k->k_name);
	free(k);
}

int
shiftclock_now(const struct shiftclock *k, time_t now, struct shift_now *out)
{
	return shifts_at(k->k_conf, k->k_roster, k->k_cal, now, out);
}

void
shiftclock_set_roster(struct shiftclock *k, struct roster *ro)
{
	if (k->k_roster != NULL) {
		roster_free(k->k_roster);
		free(k->k_roster);
	}
	k->k_roster = ro;
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
	char start[24], on_duty[512], arr[600], text[800];
	const char *params[4];
	struct event_msg m = {.em_kind = EVENT_SHIFT};
	size_t i, o;

	if (k == NULL || shiftclock_now(k, now, &sn) == -1)
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
	o = (size_t)snprintf(arr, sizeof(arr), "{");
	for (i = 0; sn.sn_entry != NULL && i < sn.sn_entry->re_n; i++)
		o += (size_t)snprintf(arr + o, sizeof(arr) - o, "%s\"%s\"",
		                      i ? "," : "", sn.sn_entry->re_on_duty[i]);
	snprintf(arr + o, sizeof(arr) - o, "}");
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
	          "on_duty) SELECT $1, to_timestamp($2), $3, $4::text[] WHERE "
	          "NOT EXISTS (SELECT 1 FROM watchstand.shifts WHERE ended_at "
	          "IS NULL AND name = $1 AND started_at = to_timestamp($2))",
	          4, params);
	names(sn.sn_entry, on_duty, sizeof(on_duty));
	snprintf(text, sizeof(text), "shift %s started: on duty %s; lead %s",
	         sn.sn_def->sd_name, on_duty,
	         sn.sn_entry && sn.sn_entry->re_lead ? sn.sn_entry->re_lead
	                                             : "nobody");
	shiftlog_add(k->k_store, k->k_events, "shift", "collector", text);
	m.em_text = sn.sn_def->sd_name;
	events_publish(k->k_events, &m);
}
