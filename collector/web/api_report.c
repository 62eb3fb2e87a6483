/*
 * KPI reports (docs/kpis.md): GET /shifts/{id}/report, the KPIs over a
 * shift's window, and GET /report?from=&to= or ?day=YYYY-MM-DD.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "collector.h"
#include "web/api_int.h"
#include "web/routes.h"

/* One row: from, to, the KPIs as a JSON array of {metric, label, value},
 * the alarms raised per 10 minutes as [{at, raised}]. */
static void
api_report_done(struct api_pending *p, PGresult *r)
{
	json_t *kpis, *per10;
	json_error_t jerr;

	if (PQntuples(r) != 1) {
		api_error(p->p_req, 404, "no such shift");
		return;
	}
	kpis = json_loads(PQgetvalue(r, 0, 2), 0, &jerr);
	per10 = json_loads(PQgetvalue(r, 0, 3), 0, &jerr);
	http_reply_json(
	    p->p_req, 200,
	    json_pack("{s:s, s:s, s:o, s:o}", "from", PQgetvalue(r, 0, 0), "to",
	              PQgetvalue(r, 0, 1), "kpis", kpis ? kpis : json_array(),
	              "per_10min", per10 ? per10 : json_array()));
}

#define API_REPORT_KPIS                                                        \
	"coalesce((SELECT json_agg(json_build_object('metric', k.metric, "     \
	"'label', k.label, 'value', k.value) ORDER BY k.metric, k.label) "     \
	"FROM watchstand.kpis(w.f, w.t) k), "                                  \
	"'[]')::text, " API_REPORT_PER_10MIN

/* The 10-minute buckets counted from the window's start, as the KPIs'
 * floods count them (a bucket with more than 10 is a flood). */
#define API_REPORT_PER_10MIN                                                   \
	"coalesce((SELECT json_agg(json_build_object('at', w.f + g.i * "       \
	"interval '10 minutes', 'raised', coalesce(c.n, 0)) ORDER BY g.i) "    \
	"FROM generate_series(0, ceil(extract(epoch FROM w.t - w.f) / "        \
	"600)::int - 1) g(i) LEFT JOIN (SELECT floor(extract(epoch FROM "      \
	"a.raised_at - w.f) / 600)::int AS i, count(*) AS n FROM "             \
	"watchstand.alarms a WHERE a.raised_at >= w.f AND a.raised_at < w.t "  \
	"GROUP BY 1) c ON c.i = g.i), '[]')::text"

void
api_shift_report(struct api_req *ar)
{
	char id[32];
	const char *params[1] = {id};

	snprintf(id, sizeof(id), "%" PRId64, (int64_t)ar->ar_caps->rc_id);
	api_query(ar,
	          "SELECT w.f, w.t, " API_REPORT_KPIS " FROM (SELECT "
	          "started_at AS f, coalesce(ended_at, now()) AS t FROM "
	          "watchstand.shifts WHERE id = $1::bigint) w",
	          1, params, api_report_done);
}

/* ?day= is a trading day: from its first shift to the next day's, in the
 * calendar's timezone (shifts_day_window), the window of its end-of-day
 * report. ?from=&to= are instants. */
void
api_report(struct api_req *ar)
{
	static const char *const names[] = {"from", "to"};
	const struct collector_conf *cc = &ar->ar_c->c_conf;
	const char *params[2], *day;
	char from[24], to[24];
	struct api_pending *p;
	int64_t dn;
	time_t tf, tt;

	params[0] = evhttp_find_header(&ar->ar_query, "from");
	params[1] = evhttp_find_header(&ar->ar_query, "to");
	day = evhttp_find_header(&ar->ar_query, "day");
	if (day != NULL) {
		if (calendar_parse_date(day, &dn) == -1) {
			api_error(ar->ar_req, 400,
			          "day: expected YYYY-MM-DD");
			return;
		}
		if (shifts_day_window(&cc->cc_shifts, &cc->cc_calendar, dn,
		                      &tf, &tt) == -1) {
			api_error(ar->ar_req, 400,
			          "day: the calendar cannot place it");
			return;
		}
		snprintf(from, sizeof(from), "%lld", (long long)tf);
		snprintf(to, sizeof(to), "%lld", (long long)tt);
		params[0] = from;
		params[1] = to;
		api_query(ar,
		          "SELECT w.f, w.t, " API_REPORT_KPIS " FROM (SELECT "
		          "to_timestamp($1) AS f, to_timestamp($2) AS t) w",
		          2, params, api_report_done);
		return;
	}
	if (params[0] == NULL || params[1] == NULL) {
		api_error(ar->ar_req, 400, "expected ?from=&to= or ?day=");
		return;
	}
	p = api_pending_new(ar->ar_c, ar->ar_req, ar->ar_user, api_report_done);
	api_name_params(p, names, params, 2);
	api_send(p,
	         "SELECT w.f, w.t, " API_REPORT_KPIS " FROM (SELECT "
	         "$1::timestamptz AS f, $2::timestamptz AS t) w",
	         2, params);
}

static void
api_alarm_one_done(struct api_pending *p, PGresult *r)
{
	json_t *o;
	json_error_t jerr;

	if (PQntuples(r) != 1 ||
	    (o = json_loads(PQgetvalue(r, 0, 0), 0, &jerr)) == NULL) {
		api_error(p->p_req, 404, "no such alarm");
		return;
	}
	http_reply_json(p->p_req, 200, o);
}

/*
 * GET /alarms/{id}: the alarm and its history, the last 5 earlier
 * occurrences of its rule on its host: when raised, how long active, who
 * acked with what comment, and the notes of the shift log while it was
 * open (docs/kpis.md, "What the desk learned last time").
 */
void
api_alarm_get(struct api_req *ar)
{
	char id[32];
	const char *params[1] = {id};

	snprintf(id, sizeof(id), "%" PRId64, (int64_t)ar->ar_caps->rc_id);
	api_query(
	    ar,
	    "SELECT row_to_json(x)::text FROM (SELECT a.id, a.rule, a.host, "
	    "a.series, a.severity, a.state, a.value, a.description, a.runbook, "
	    "a.raised_at, a.acked_by, a.acked_at, a.cleared_at, a.closed_at, "
	    "coalesce((SELECT json_agg(h ORDER BY h.raised_at DESC) FROM "
	    "(SELECT p.id, p.raised_at, extract(epoch FROM "
	    "coalesce(p.cleared_at, p.closed_at, now()) - p.raised_at) AS "
	    "active_s, p.acked_by, p.acked_at, (SELECT substring(l.text FROM "
	    "' -- (.*) \\[alarm [0-9]+, now [^]]*\\]$') FROM "
	    "watchstand.shift_log l WHERE l.kind = 'alarm' AND l.text LIKE "
	    "'ACK %[alarm ' || p.id || ', now %' ORDER BY l.id DESC LIMIT 1) "
	    "AS ack_comment, coalesce((SELECT json_agg(json_build_object("
	    "'ts', l.ts, 'actor', l.actor, 'text', l.text) ORDER BY l.id) "
	    "FROM watchstand.shift_log l WHERE l.kind = 'note' AND l.ts >= "
	    "p.raised_at AND l.ts <= coalesce(p.cleared_at, p.closed_at, "
	    "now())), '[]') AS notes FROM watchstand.alarms p WHERE p.rule = "
	    "a.rule AND p.host = a.host AND p.id <> a.id AND p.raised_at <= "
	    "a.raised_at ORDER BY p.raised_at DESC, p.id DESC LIMIT 5) h), "
	    "'[]') AS history FROM watchstand.alarms a WHERE a.id = "
	    "$1::bigint) x",
	    1, params, api_alarm_one_done);
}
