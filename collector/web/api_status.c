/*
 * What the collector sees: GET /status (answered from memory, marked
 * stale, while the database is down), /agents, /series, /samples.
 * /status names the calendar's timezone: clients show times in it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "collector.h"
#include "ingest/ingest.h"
#include "ingest/store.h"
#include "web/api_int.h"

static void
api_status_done(struct api_pending *p, PGresult *r)
{
	json_t *counts = json_object();
	int i;

	for (i = 0; i < PQntuples(r); i++)
		json_object_set_new(counts, PQgetvalue(r, i, 0),
		                    json_integer(atoll(PQgetvalue(r, i, 1))));
	http_reply_json(
	    p->p_req, 200,
	    json_pack("{s:s, s:i, s:o, s:s, s:s, s:b, s:s}", "phase",
	              p->p_c->c_phase ? p->p_c->c_phase : "",
	              "agents_connected", ingest_connected(p->p_c->c_ingest),
	              "alarms", counts, "user", p->p_user.s_login, "database",
	              "up", "stale", 0, "timezone",
	              p->p_c->c_conf.cc_calendar.cal_tz));
}

void
api_status(struct api_req *ar)
{
	struct collector *c = ar->ar_c;

	if (!store_up(c->c_store))
		/* What the collector knows without the database. */
		http_reply_json(
		    ar->ar_req, 200,
		    json_pack("{s:s, s:i, s:n, s:s, s:s, s:b, s:s}", "phase",
		              c->c_phase ? c->c_phase : "", "agents_connected",
		              ingest_connected(c->c_ingest), "alarms", "user",
		              ar->ar_user->s_login, "database", "down", "stale",
		              1, "timezone", c->c_conf.cc_calendar.cal_tz));
	else
		api_query(ar,
		          "SELECT state, count(*) FROM watchstand.alarms WHERE "
		          "state <> 'closed' GROUP BY state",
		          0, NULL, api_status_done);
}

void
api_agents(struct api_req *ar)
{
	api_query(ar,
	          "SELECT name, role, address, version, first_seen, "
	          "last_seen FROM watchstand.agents ORDER BY name",
	          0, NULL, api_rows_done);
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

void
api_samples(struct api_req *ar)
{
	static const char *const names[] = {"series", "host", "from", "to"};
	const char *params[4];
	struct api_pending *p;

	params[0] = evhttp_find_header(&ar->ar_query, "series");
	params[1] = evhttp_find_header(&ar->ar_query, "host");
	params[2] = evhttp_find_header(&ar->ar_query, "from");
	params[3] = evhttp_find_header(&ar->ar_query, "to");
	if (params[0] == NULL) {
		api_error(ar->ar_req, 400, "series= is required");
		return;
	}
	p = api_pending_new(ar->ar_c, ar->ar_req, ar->ar_user, api_rows_done);
	api_name_params(p, names, params, 4);
	api_send(p,
	         "SELECT ts, host, series, value FROM "
	         "watchstand.v_samples WHERE series = $1 AND "
	         "($2::text IS NULL OR host = $2) AND ts >= "
	         "coalesce($3::timestamptz, now() - interval '1 "
	         "hour') AND ts <= coalesce($4::timestamptz, "
	         "now()) ORDER BY ts LIMIT 10000",
	         4, params);
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
		http_reply_json(ar->ar_req, 200,
		                json_pack("{s:b, s:s}", "reloaded", 1, "summary",
		                          msg));
}
