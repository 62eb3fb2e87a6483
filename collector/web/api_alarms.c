/*
 * Alarms: GET /alarms, and acknowledging, shelving and unshelving one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "collector.h"
#include "events.h"
#include "alarm/alarm.h"
#include "web/api_int.h"
#include "web/routes.h"

void
api_alarms_get(struct api_req *ar)
{
	const char *params[1] = {evhttp_find_header(&ar->ar_query, "state")};

	api_query(ar,
	          "SELECT id, raised_at, host, rule, series, severity, "
	          "state, value, suppressed, chattering, description, "
	          "runbook, acked_by, acked_at, cleared_at FROM "
	          "watchstand.alarms WHERE ($1::text IS NULL AND state "
	          "<> 'closed') OR state = $1 ORDER BY raised_at DESC "
	          "LIMIT 500",
	          1, params, api_rows_done);
}

static void
api_ack_done(struct api_pending *p, PGresult *r)
{
	if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0))
		api_error(p->p_req, 404, "no such alarm");
	else if (PQgetisnull(r, 0, 1))
		api_error(p->p_req, 409,
		          "the alarm cannot be acknowledged in "
		          "its state");
	else {
		char text[1200];
		snprintf(text, sizeof(text), "ACK alarm %s, now %s", p->p_text,
		         PQgetvalue(r, 0, 1));
		events_log(p->p_c->c_events, "alarm", p->p_user.s_login, text);
		http_reply_json(p->p_req, 200,
		                json_pack("{s:s, s:s, s:s}", "id", p->p_text,
		                          "state", PQgetvalue(r, 0, 1),
		                          "acked_by", p->p_user.s_login));
	}
}

static void
api_shelve_done(struct api_pending *p, PGresult *r)
{
	if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0))
		api_error(p->p_req, 404, "no such alarm");
	else if (PQgetisnull(r, 0, 1))
		api_error(p->p_req, 409,
		          p->p_text[0] == 's' ? "only an open, unshelved alarm "
		                                "can be shelved"
		                              : "the alarm is not shelved");
	else {
		if (p->p_text[0] == 'u')
			events_publish(
			    p->p_c->c_events,
			    &(struct event_msg){.em_kind = EVENT_ALARM_RETURNED,
			                        .em_alarm_id =
			                            atoll(p->p_text + 1)});
		http_reply_json(
		    p->p_req, 200,
		    json_pack("{s:s, s:s, s:s?}", "id", p->p_text + 1, "state",
		              PQgetvalue(r, 0, 1), "shelved_until",
		              PQgetisnull(r, 0, 2) ? NULL
		                                   : PQgetvalue(r, 0, 2)));
	}
}

void
api_alarm_ack(struct api_req *ar)
{
	const char *comment = NULL;
	const char *params[3];
	char idbuf[32];
	struct api_pending *p;

	if (ar->ar_body_len > 0 &&
	    (ar->ar_body == NULL ||
	     json_unpack(ar->ar_body, "{s?:s}", "comment", &comment) != 0)) {
		api_error(ar->ar_req, 400,
		          "expected {\"comment\": \"...\"} or no body");
		return;
	}
	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)ar->ar_caps->rc_id);
	params[0] = idbuf;
	params[1] = ar->ar_user->s_login;
	params[2] = comment;
	p = api_pending_new(ar->ar_c, ar->ar_req, ar->ar_user, api_ack_done);
	snprintf(p->p_text, sizeof(p->p_text), "%s", idbuf);
	api_send(p, alarm_ack_sql, 3, params);
}

static void
api_shelving(struct api_req *ar, int shelve)
{
	struct collector *c = ar->ar_c;
	const char *reason = NULL;
	json_int_t minutes = 0;
	char idbuf[32], mbuf[32], err[160];
	const char *params[4];
	struct api_pending *p;

	if (shelve &&
	    api_minutes_reason(ar->ar_body,
	                       (json_int_t)(c->c_conf.cc_max_shelve_ms / 60000),
	                       &minutes, &reason, err, sizeof(err)) != NULL) {
		if (strncmp(err, "minutes: at most", 16) == 0)
			strncat(err, " (collector.max_shelve)",
			        sizeof(err) - strlen(err) - 1);
		api_error(ar->ar_req, 400, err);
		return;
	}
	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)ar->ar_caps->rc_id);
	snprintf(mbuf, sizeof(mbuf), "%lld", (long long)minutes);
	params[0] = idbuf;
	params[1] = ar->ar_user->s_login;
	params[2] = reason;
	params[3] = mbuf;
	p = api_pending_new(c, ar->ar_req, ar->ar_user, api_shelve_done);
	snprintf(p->p_text, sizeof(p->p_text), "%c%s", shelve ? 's' : 'u',
	         idbuf);
	if (shelve)
		api_send(p,
		         "WITH t AS (SELECT id, state, rule, host, "
		         "series "
		         "FROM watchstand.alarms WHERE id = "
		         "$1::bigint), "
		         "u AS (UPDATE watchstand.alarms a SET "
		         "state = "
		         "'shelved', shelved_from = t.state, "
		         "shelved_until "
		         "= now() + $4::int * interval '1 minute', "
		         "shelved_by = $2, shelve_reason = $3, "
		         "updated_at "
		         "= now() FROM t WHERE a.id = t.id AND "
		         "t.state IN "
		         "('active-unacknowledged', "
		         "'active-acknowledged', "
		         "'cleared-unacknowledged') RETURNING a.id, "
		         "a.state, a.shelved_until, t.rule, t.host, "
		         "t.series), l AS (INSERT INTO "
		         "watchstand.shift_log (kind, actor, text) "
		         "SELECT "
		         "'alarm', $2, 'SHELVE ' || rule || ' on ' "
		         "|| host "
		         "|| ': ' || series || ' for ' || $4 || ' "
		         "min -- ' "
		         "|| $3 || ' [alarm ' || id || ']' FROM u) "
		         "SELECT "
		         "(SELECT state FROM t), (SELECT state FROM "
		         "u), "
		         "(SELECT shelved_until FROM u)",
		         4, params);
	else
		api_send(p,
		         "WITH t AS (SELECT id, state, rule, "
		         "host, series "
		         "FROM watchstand.alarms WHERE id = "
		         "$1::bigint), "
		         "u AS (UPDATE watchstand.alarms a SET "
		         "state = "
		         "a.shelved_from, shelved_until = "
		         "NULL, updated_at "
		         "= now() FROM t WHERE a.id = t.id AND "
		         "t.state = "
		         "'shelved' RETURNING a.id, a.state, "
		         "t.rule, "
		         "t.host, t.series), l AS (INSERT INTO "
		         "watchstand.shift_log (kind, actor, "
		         "text) SELECT "
		         "'alarm', $2, 'UNSHELVE ' || rule || "
		         "' on ' || "
		         "host || ': ' || series || ' [alarm ' "
		         "|| id || "
		         "', now ' || state || ']' FROM u) "
		         "SELECT (SELECT "
		         "state FROM t), (SELECT state FROM "
		         "u), NULL",
		         2, params);
}

void
api_alarm_shelve(struct api_req *ar)
{
	api_shelving(ar, 1);
}

void
api_alarm_unshelve(struct api_req *ar)
{
	api_shelving(ar, 0);
}
