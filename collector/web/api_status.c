/*
 * What the collector sees: GET /status (answered from memory, marked
 * stale, while the database is down), /agents, /series, /samples.
 * /status names the calendar's timezone: clients show times in it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "collector.h"
#include "duty/users.h"
#include "lead.h"
#include "ingest/ingest.h"
#include "ingest/store.h"
#include "web/api_int.h"

/* What /status says whether or not the database is up: the phase and
 * the next change of phase (the calendar's timezone with it), the
 * agents connected, the caller and its role, who leads. */
static json_t *
api_status_json(struct collector *c, const struct api_session *user)
{
	const struct calendar *cal = &c->c_conf.cc_calendar;
	const char *next = NULL;
	char at[32];
	json_t *o;
	time_t t;

	o = json_pack("{s:s, s:s, s:i, s:s, s:s}", "phase",
	              c->c_phase ? c->c_phase : "", "timezone",
	              cal->cal_tz ? cal->cal_tz : "UTC", "agents_connected",
	              ingest_connected(c->c_ingest), "user", user->s_login,
	              "role", user_role_names[user->s_role]);
	if (calendar_next_change(cal, time(NULL), &t, &next) == 0) {
		strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ",
		         gmtime_r(&t, &(struct tm){0}));
		json_object_set_new(
		    o, "next_phase",
		    json_pack("{s:s, s:s}", "phase", next, "at", at));
	} else
		json_object_set_new(o, "next_phase", json_null());
	/* Leader or follower of a pair (docs/ha.md). */
	json_object_set_new(o, "lead", lead_json(c->c_lead));
	return o;
}

static void
api_status_done(struct api_pending *p, PGresult *r)
{
	json_t *counts = json_object(), *o;
	int i;

	for (i = 0; i < PQntuples(r); i++)
		json_object_set_new(counts, PQgetvalue(r, i, 0),
		                    json_integer(atoll(PQgetvalue(r, i, 1))));
	o = api_status_json(p->p_c, &p->p_user);
	json_object_set_new(o, "alarms", counts);
	json_object_set_new(o, "database", json_string("up"));
	json_object_set_new(o, "stale", json_false());
	http_reply_json(p->p_req, 200, o);
}

void
api_status(struct api_req *ar)
{
	struct collector *c = ar->ar_c;
	json_t *o;

	if (!store_up(c->c_store)) {
		/* What the collector knows without the database. */
		o = api_status_json(c, ar->ar_user);
		json_object_set_new(o, "alarms", json_null());
		json_object_set_new(o, "database", json_string("down"));
		json_object_set_new(o, "stale", json_true());
		http_reply_json(ar->ar_req, 200, o);
	} else
		api_query(ar,
		          "SELECT state, count(*) FROM watchstand.alarms WHERE "
		          "state <> 'closed' GROUP BY state",
		          0, NULL, api_status_done);
}

/* silent: nothing received for collector.agent_silence (its alarm). */
void
api_agents(struct api_req *ar)
{
	char ms[32];
	const char *params[1] = {ms};

	snprintf(ms, sizeof(ms), "%llu",
	         (unsigned long long)ar->ar_c->c_conf.cc_agent_silence_ms);
	api_query(ar,
	          "SELECT name, role, address, version, first_seen, "
	          "last_seen, last_seen < now() - $1::bigint * interval "
	          "'1 millisecond' AS silent FROM watchstand.agents ORDER "
	          "BY name",
	          1, params, api_rows_done);
}

void
api_series(struct api_req *ar)
{
	const char *params[1] = {evhttp_find_header(&ar->ar_query, "host")};

	api_query(ar,
	          "SELECT a.name AS host, a.role, s.series, max(s.ts) AS "
	          "last_ts FROM watchstand.samples s JOIN "
	          "watchstand.agents a ON a.id = s.agent_id WHERE s.ts > "
	          "now() - interval '1 hour' AND ($1::text IS NULL OR "
	          "a.name = $1) GROUP BY 1, 2, 3 ORDER BY 1, 3 LIMIT 5000",
	          1, params, api_rows_done);
}

/* With step= (seconds), the average of each step-long bucket: a day of
 * a 1 s series fits in a chart (and under the 10 000 rows). */
void
api_samples(struct api_req *ar)
{
	static const char *const names[] = {"series", "host", "from", "to"};
	const char *params[5], *step;
	struct api_pending *p;
	char *end;
	long s = 0;

	params[0] = evhttp_find_header(&ar->ar_query, "series");
	params[1] = evhttp_find_header(&ar->ar_query, "host");
	params[2] = evhttp_find_header(&ar->ar_query, "from");
	params[3] = evhttp_find_header(&ar->ar_query, "to");
	params[4] = step = evhttp_find_header(&ar->ar_query, "step");
	if (params[0] == NULL) {
		api_error(ar->ar_req, 400, "series= is required");
		return;
	}
	if (step != NULL && ((s = strtol(step, &end, 10)) < 1 || s > 86400 ||
	                     *end != '\0' || end == step)) {
		api_error(ar->ar_req, 400,
		          "step=: expected whole seconds from 1 to 86400");
		return;
	}
	p = api_pending_new(ar->ar_c, ar->ar_req, ar->ar_user, api_rows_done);
	api_name_params(p, names, params, 4);
	if (step == NULL)
		api_send(p,
		         "SELECT ts, host, series, value FROM "
		         "watchstand.v_samples WHERE series = $1 AND "
		         "($2::text IS NULL OR host = $2) AND ts >= "
		         "coalesce($3::timestamptz, now() - interval '1 "
		         "hour') AND ts <= coalesce($4::timestamptz, "
		         "now()) ORDER BY ts LIMIT 10000",
		         4, params);
	else
		api_send(p,
		         "SELECT date_bin($5::int * interval '1 second', ts, "
		         "timestamptz 'epoch') AS ts, host, series, avg(value) "
		         "AS value FROM watchstand.v_samples WHERE series = $1 "
		         "AND ($2::text IS NULL OR host = $2) AND ts >= "
		         "coalesce($3::timestamptz, now() - interval '1 "
		         "hour') AND ts <= coalesce($4::timestamptz, "
		         "now()) GROUP BY 1, 2, 3 ORDER BY 1 LIMIT 10000",
		         5, params);
}

/* POST /reload: reads and checks the whole config file, then swaps all
 * of it or keeps all of it (collector/reload.c). No database round trip. */
void
api_reload(struct api_req *ar)
{
	struct collector *c = ar->ar_c;
	char msg[1024];

	if (c->c_reload == NULL ||
	    c->c_reload(c, c->c_file, ar->ar_user->s_login, msg, sizeof(msg)) ==
	        -1)
		api_error(ar->ar_req, 400,
		          c->c_reload == NULL ? "no config to reload" : msg);
	else
		http_reply_json(
		    ar->ar_req, 200,
		    json_pack("{s:b, s:s}", "reloaded", 1, "summary", msg));
}
