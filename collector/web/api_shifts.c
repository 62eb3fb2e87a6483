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

#include "watchstand/xalloc.h"
#include "collector.h"
#include "lead.h"
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

/* The roster lives in the leader's shift clock: a follower's change
 * would page no one differently. */
static int
api_roster_on_leader(struct api_req *ar)
{
	if (lead_leading(ar->ar_c->c_lead))
		return 1;
	api_error(ar->ar_req, 503,
	          "this collector does not lead: change the roster on the "
	          "leader (see /healthz)");
	return 0;
}

/* A roster from JSON, checked against the shifts: NULL with msg. */
static struct roster *
api_roster_parse(struct collector *c, const json_t *entries, char *msg,
                 size_t len)
{
	struct roster *ro = xcalloc(1, sizeof(*ro));

	if (roster_from_json(entries, ro, msg, len) == -1 ||
	    roster_check(&c->c_conf.cc_shifts, ro, msg, len) == -1) {
		roster_free(ro);
		free(ro);
		return NULL;
	}
	return ro;
}

/* The database gave the roster back (column 0) and named the logins that
 * are no user (column 1): put it, or 400 as check-config would refuse. */
static void
api_roster_checked(struct api_pending *p, PGresult *r)
{
	struct collector *c = p->p_c;
	struct roster *ro;
	json_error_t jerr;
	json_t *entries;
	char msg[300], text[256];

	if (*PQgetvalue(r, 0, 1) != '\0') {
		snprintf(msg, sizeof(msg), "roster: unknown login %s",
		         PQgetvalue(r, 0, 1));
		api_error(p->p_req, 400, msg);
		return;
	}
	entries = json_loads(PQgetvalue(r, 0, 0), 0, &jerr);
	ro = api_roster_parse(c, entries, msg, sizeof(msg));
	json_decref(entries);
	if (ro == NULL) { /* the config was reloaded meanwhile */
		api_error(p->p_req, 409, msg);
		return;
	}
	snprintf(text, sizeof(text),
	         "roster replaced (%zu entries): in force until replaced or "
	         "dropped",
	         ro->ro_n);
	shiftclock_put_roster(c->c_shiftclock, ro, p->p_user.s_login);
	shiftlog_add(c->c_store, c->c_events, "shift", p->p_user.s_login,
	             text);
	http_reply_json(
	    p->p_req, 200,
	    json_pack("{s:b, s:o}", "ok", 1, "roster", roster_to_json(ro)));
}

/* PUT /roster: checked against the shifts here and against the users in
 * the database (as check-config does), then put. */
void
api_roster_put(struct api_req *ar)
{
	struct collector *c = ar->ar_c;
	struct roster *ro;
	json_t *entries, *logins, *j;
	char msg[200], *doc, *names;
	const char *params[2];
	size_t i, k;

	if (c->c_shiftclock == NULL) {
		api_error(ar->ar_req, 409, "no shifts are configured");
		return;
	}
	if (!api_roster_on_leader(ar))
		return;
	entries = json_is_object(ar->ar_body)
	              ? json_object_get(ar->ar_body, "roster")
	              : ar->ar_body;
	if ((ro = api_roster_parse(c, entries, msg, sizeof(msg))) == NULL) {
		api_error(ar->ar_req, 400, msg);
		return;
	}
	logins = json_array();
	for (i = 0; i < ro->ro_n; i++) {
		const struct roster_entry *e = &ro->ro_entries[i];
		for (k = 0; k < e->re_n; k++)
			json_array_append_new(logins,
			                      json_string(e->re_on_duty[k]));
		if (e->re_lead != NULL)
			json_array_append_new(logins, json_string(e->re_lead));
	}
	j = roster_to_json(ro);
	doc = json_dumps(j, JSON_COMPACT);
	names = json_dumps(logins, JSON_COMPACT);
	json_decref(j);
	json_decref(logins);
	roster_free(ro);
	free(ro);
	params[0] = doc;
	params[1] = names;
	api_query(ar,
	          "SELECT $1::text, coalesce(string_agg(DISTINCT '''' || x || "
	          "'''', ', '), '') FROM jsonb_array_elements_text($2::jsonb) "
	          "x WHERE NOT EXISTS (SELECT 1 FROM watchstand.users u WHERE "
	          "u.login = x)",
	          2, params, api_roster_checked);
	free(doc);
	free(names);
}

void
api_roster_get(struct api_req *ar)
{
	if (ar->ar_c->c_shiftclock == NULL) {
		api_error(ar->ar_req, 404, "no shifts are configured");
		return;
	}
	http_reply_json(ar->ar_req, 200,
	                shiftclock_roster_json(ar->ar_c->c_shiftclock));
}

/* DELETE /roster: the config's roster is in force again. */
void
api_roster_delete(struct api_req *ar)
{
	struct collector *c = ar->ar_c;

	if (c->c_shiftclock == NULL) {
		api_error(ar->ar_req, 409, "no shifts are configured");
		return;
	}
	if (!api_roster_on_leader(ar))
		return;
	shiftclock_put_roster(c->c_shiftclock, NULL, ar->ar_user->s_login);
	shiftlog_add(c->c_store, c->c_events, "shift", ar->ar_user->s_login,
	             "roster put through the API dropped: the config's "
	             "roster is in force");
	http_reply_json(ar->ar_req, 200,
	                shiftclock_roster_json(c->c_shiftclock));
}

/* Whether login is on the shift in force (or leads it); with next, on the
 * one after it too (the incoming shift, before its start). */
static int
api_on_shift(struct collector *c, const char *login, int next)
{
	struct shift_now sn, nx;
	time_t now = time(NULL);

	if (c->c_shiftclock == NULL ||
	    shiftclock_now(c->c_shiftclock, now, &sn) == -1)
		return 0;
	if (roster_has(sn.sn_entry, login))
		return 1;
	return next && shiftclock_now(c->c_shiftclock, sn.sn_end, &nx) == 0 &&
	       roster_has(nx.sn_entry, login);
}

static void
api_handover_done(struct api_pending *p, PGresult *r)
{
	char text[600];

	if (PQntuples(r) != 1) {
		api_error(p->p_req, 409, "no open shift to hand over");
		return;
	}
	snprintf(text, sizeof(text),
	         "handover %s of shift %s signed by %s: report sha256 %s, "
	         "chain head %s:%s",
	         PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 4), p->p_user.s_login,
	         PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3));
	shiftlog_add(p->p_c->c_store, p->p_c->c_events, "handover",
	             p->p_user.s_login, text);
	http_reply_json(
	    p->p_req, 201,
	    json_pack("{s:I, s:I, s:s, s:s, s:s}", "id",
	              (json_int_t)strtoll(PQgetvalue(r, 0, 0), NULL, 10),
	              "shift_id",
	              (json_int_t)strtoll(PQgetvalue(r, 0, 4), NULL, 10),
	              "report_sha256", PQgetvalue(r, 0, 1), "chain_head_id",
	              PQgetvalue(r, 0, 2), "chain_head", PQgetvalue(r, 0, 3)));
}

void
api_handover(struct api_req *ar)
{
	const char *login = ar->ar_user->s_login;
	const char *notes =
	    json_string_value(json_object_get(ar->ar_body, "notes"));
	const char *params[2] = {login, notes ? notes : ""};

	if (!api_on_shift(ar->ar_c, login, 0)) {
		api_error(
		    ar->ar_req, 403,
		    "only someone on the outgoing shift can hand it over");
		return;
	}
	api_query(
	    ar,
	    "WITH s AS (SELECT id FROM watchstand.shifts WHERE ended_at IS "
	    "NULL "
	    "ORDER BY id DESC LIMIT 1), rep AS (SELECT jsonb_build_object("
	    "'shift_id', (SELECT id FROM s), 'by', $1::text, 'notes', "
	    "$2::text, "
	    "'alarms', coalesce((SELECT jsonb_agg(jsonb_build_object('id', id, "
	    "'rule', rule, 'host', host, 'severity', severity, 'state', state, "
	    "'acked_by', acked_by, 'raised_at', raised_at) ORDER BY id) FROM "
	    "watchstand.alarms WHERE state <> 'closed'), '[]'), "
	    "'hosts_out_of_service', coalesce((SELECT jsonb_agg("
	    "jsonb_build_object('host', host, 'reason', reason, 'until', "
	    "until, "
	    "'by', by_user)) FROM watchstand.hosts_out_of_service WHERE until "
	    "> "
	    "now()), '[]'), 'checklist_runs', coalesce((SELECT jsonb_agg("
	    "jsonb_build_object('id', id, 'checklist', checklist, 'state', "
	    "state) ORDER BY id) FROM watchstand.checklist_runs WHERE state = "
	    "'open' OR (state = 'failed' AND finished_at > now() - interval "
	    "'24 hours')), '[]'), 'carried', coalesce((SELECT jsonb_agg("
	    "jsonb_build_object('id', id, 'text', text, 'by', by_user, 'at', "
	    "at) "
	    "ORDER BY id) FROM watchstand.carry_items WHERE cleared_at IS "
	    "NULL), "
	    "'[]')) AS r), head AS (SELECT id, encode(hash, 'hex') AS h FROM "
	    "watchstand.shift_log ORDER BY id DESC LIMIT 1) INSERT INTO "
	    "watchstand.handovers (shift_id, by_user, notes, report, "
	    "report_sha256, chain_head_id, chain_head) SELECT s.id, $1, $2, r, "
	    "encode(sha256(convert_to(r::text, 'UTF8')), 'hex'), (SELECT id "
	    "FROM "
	    "head), (SELECT h FROM head) FROM rep, s RETURNING id, "
	    "report_sha256, coalesce(chain_head_id::text, ''), "
	    "coalesce(chain_head, ''), shift_id",
	    2, params, api_handover_done);
}

static void
api_accept_done(struct api_pending *p, PGresult *r)
{
	char text[600];

	if (PQntuples(r) != 1) {
		api_error(p->p_req, 404, "no handover for this shift");
		return;
	}
	if (strcmp(PQgetvalue(r, 0, 1), p->p_user.s_login) == 0) {
		api_error(p->p_req, 409, "you cannot accept your own handover");
		return;
	}
	if (PQgetisnull(r, 0, 3)) {
		api_error(p->p_req, 409, "the handover is already accepted");
		return;
	}
	snprintf(text, sizeof(text),
	         "handover %s accepted by %s: report sha256 %s, chain head %s",
	         PQgetvalue(r, 0, 0), p->p_user.s_login, PQgetvalue(r, 0, 4),
	         PQgetvalue(r, 0, 5));
	shiftlog_add(p->p_c->c_store, p->p_c->c_events, "handover",
	             p->p_user.s_login, text);
	http_reply_json(
	    p->p_req, 200,
	    json_pack("{s:I, s:s, s:s}", "id",
	              (json_int_t)strtoll(PQgetvalue(r, 0, 0), NULL, 10),
	              "accepted_by", p->p_user.s_login, "report_sha256",
	              PQgetvalue(r, 0, 4)));
}

void
api_handover_accept(struct api_req *ar)
{
	const char *login = ar->ar_user->s_login;
	const char *notes =
	    json_string_value(json_object_get(ar->ar_body, "notes"));
	char id[32];
	const char *params[3] = {id, login, notes ? notes : ""};

	if (!api_on_shift(ar->ar_c, login, 1)) {
		api_error(ar->ar_req, 403,
		          "only someone on the incoming shift can accept");
		return;
	}
	snprintf(id, sizeof(id), "%" PRId64, (int64_t)ar->ar_caps->rc_id);
	api_query(
	    ar,
	    "WITH h AS (SELECT id, by_user, accepted_at, report_sha256 FROM "
	    "watchstand.handovers WHERE shift_id = $1::bigint ORDER BY id DESC "
	    "LIMIT 1), u AS (UPDATE watchstand.handovers x SET accepted_by = "
	    "$2, "
	    "accepted_at = now(), accept_notes = $3 FROM h WHERE x.id = h.id "
	    "AND "
	    "h.by_user <> $2 AND h.accepted_at IS NULL RETURNING x.id) SELECT "
	    "h.id, h.by_user, h.accepted_at, (SELECT id FROM u), "
	    "h.report_sha256, (SELECT id || ':' || encode(hash, 'hex') FROM "
	    "watchstand.shift_log ORDER BY id DESC LIMIT 1) FROM h",
	    3, params, api_accept_done);
}
