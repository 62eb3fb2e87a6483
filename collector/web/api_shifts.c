/* /shifts and /roster (docs/shifts.md): the current shift, shifts with
 * their handovers, and a roster put by a lead. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "collector.h"
#include "duty/shiftclock.h"
#include "duty/shiftlog.h"
#include "web/api_int.h"
#include "web/routes.h"

static void
iso(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
api_shift_current_done(struct api_pending *p, PGresult *r)
{
	struct shift_now sn;
	json_t *od = json_array();
	char start[32], end[32];
	size_t i;

	if (p->p_c->c_shiftclock == NULL ||
	    shiftclock_now(p->p_c->c_shiftclock, time(NULL), &sn) == -1) {
		json_decref(od);
		api_error(p->p_req, 404, "no shifts are configured");
		return;
	}
	for (i = 0; sn.sn_entry != NULL && i < sn.sn_entry->re_n; i++)
		json_array_append_new(od,
		                      json_string(sn.sn_entry->re_on_duty[i]));
	iso(sn.sn_start, start, sizeof(start));
	iso(sn.sn_end, end, sizeof(end));
	http_reply_json(
	    p->p_req, 200,
	    json_pack("{s:o, s:s, s:s, s:s, s:o, s:s?, s:s}", "id",
	              PQntuples(r) == 1
	                  ? json_integer(strtoll(PQgetvalue(r, 0, 0), NULL, 10))
	                  : json_null(),
	              "name", sn.sn_def->sd_name, "started_at", start,
	              "ends_at", end, "on_duty", od, "lead",
	              sn.sn_entry ? sn.sn_entry->re_lead : NULL, "state",
	              PQntuples(r) == 1 ? PQgetvalue(r, 0, 1) : "opening"));
}

void
api_shift_current(struct api_req *ar)
{
	api_query(ar,
	          "SELECT s.id, coalesce((SELECT CASE WHEN h.accepted_at IS "
	          "NOT NULL THEN 'accepted' ELSE 'handed over' END FROM "
	          "watchstand.handovers h WHERE h.shift_id = s.id ORDER BY "
	          "h.id DESC LIMIT 1), 'open') FROM watchstand.shifts s WHERE "
	          "s.ended_at IS NULL ORDER BY s.id DESC LIMIT 1",
	          0, NULL, api_shift_current_done);
}

#define SHIFT_JSON                                                             \
	"json_build_object('id', s.id, 'name', s.name, 'started_at', "         \
	"s.started_at, 'ended_at', s.ended_at, 'lead', s.lead, 'on_duty', "    \
	"s.on_duty, 'handovers', coalesce((SELECT json_agg(json_build_object(" \
	"'id', h.id, 'by', h.by_user, 'at', h.at, 'notes', h.notes, "          \
	"'report_sha256', h.report_sha256, 'chain_head', h.chain_head, "       \
	"'accepted_by', h.accepted_by, 'accepted_at', h.accepted_at, "         \
	"'accept_notes', h.accept_notes) ORDER BY h.id) FROM "                 \
	"watchstand.handovers h WHERE h.shift_id = s.id), '[]'))"

static void
api_shift_done(struct api_pending *p, PGresult *r)
{
	json_error_t jerr;

	if (PQntuples(r) != 1) {
		api_error(p->p_req, 404, "no such shift");
		return;
	}
	http_reply_json(p->p_req, 200,
	                json_loads(PQgetvalue(r, 0, 0), 0, &jerr));
}

void
api_shift_get(struct api_req *ar)
{
	char id[32];
	const char *params[1] = {id};

	snprintf(id, sizeof(id), "%" PRId64, (int64_t)ar->ar_caps->rc_id);
	api_query(ar,
	          "SELECT " SHIFT_JSON "::text FROM watchstand.shifts s WHERE "
	          "s.id = $1::bigint",
	          1, params, api_shift_done);
}

static void
api_shifts_done(struct api_pending *p, PGresult *r)
{
	json_error_t jerr;

	http_reply_json(p->p_req, 200,
	                json_loads(PQgetvalue(r, 0, 0), 0, &jerr));
}

void
api_shifts_get(struct api_req *ar)
{
	const char *params[2] = {evhttp_find_header(&ar->ar_query, "from"),
	                         evhttp_find_header(&ar->ar_query, "to")};
	api_query(ar,
	          "SELECT coalesce(json_agg(" SHIFT_JSON
	          " ORDER BY s.id DESC), "
	          "'[]')::text FROM (SELECT * FROM watchstand.shifts WHERE "
	          "($1::timestamptz IS NULL OR coalesce(ended_at, 'infinity') "
	          ">= $1::timestamptz) AND ($2::timestamptz IS NULL OR "
	          "started_at < $2::timestamptz) ORDER BY id DESC LIMIT 500) s",
	          2, params, api_shifts_done);
}

void
api_roster_put(struct api_req *ar)
{
	struct collector *c = ar->ar_c;
	struct roster *ro;
	json_t *entries;
	char msg[200], text[256];

	if (c->c_shiftclock == NULL) {
		api_error(ar->ar_req, 409, "no shifts are configured");
		return;
	}
	entries = json_is_object(ar->ar_body)
	              ? json_object_get(ar->ar_body, "roster")
	              : ar->ar_body;
	ro = calloc(1, sizeof(*ro));
	if (ro == NULL ||
	    roster_from_json(entries, ro, msg, sizeof(msg)) == -1 ||
	    roster_check(&c->c_conf.cc_shifts, ro, msg, sizeof(msg)) == -1) {
		if (ro != NULL)
			roster_free(ro);
		free(ro);
		api_error(ar->ar_req, 400, msg);
		return;
	}
	snprintf(text, sizeof(text), "roster replaced (%zu entries)", ro->ro_n);
	shiftclock_set_roster(c->c_shiftclock, ro);
	shiftlog_add(c->c_store, c->c_events, "shift", ar->ar_user->s_login,
	             text);
	http_reply_json(
	    ar->ar_req, 200,
	    json_pack("{s:b, s:o}", "ok", 1, "roster", roster_to_json(ro)));
}
