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
#include "alarm/alarm.h"
#include "duty/checklists.h"
#include "web/api_int.h"
#include "web/routes.h"

/* The rows, each with "procedure": the procedure checklist its runbook
 * names (offered to open as a run), or null. */
static void
api_alarms_rows_done(struct api_pending *p, PGresult *r)
{
	json_t *rows = api_rows(r), *row;
	size_t i;

	json_array_foreach(rows, i, row)
	{
		const char *proc = checklists_procedure(
		    &p->p_c->c_conf.cc_checklists,
		    json_string_value(json_object_get(row, "runbook")));
		json_object_set_new(row, "procedure",
		                    proc ? json_string(proc) : json_null());
	}
	http_reply_json(p->p_req, 200, rows);
}

void
api_alarms_get(struct api_req *ar)
{
	const char *params[1] = {evhttp_find_header(&ar->ar_query, "state")};
	char err[400];
	size_t o;
	int s;

	if (params[0] != NULL &&
	    alarm_state_parse(params[0]) == ALARM_ST_REFUSED) {
		o = (size_t)snprintf(
		    err, sizeof(err),
		    "state: '%.60s' is not a state; one of:", params[0]);
		for (s = 0; s < ALARM_STATES && o < sizeof(err); s++)
			o +=
			    (size_t)snprintf(err + o, sizeof(err) - o, "%s %s",
			                     s ? "," : "", alarm_state_name(s));
		api_error(ar->ar_req, 400, err);
		return;
	}
	api_query(ar,
	          "SELECT id, raised_at, host, rule, series, severity, "
	          "state, value, suppressed, chattering, description, "
	          "runbook, acked_by, acked_at, cleared_at FROM "
	          "watchstand.alarms WHERE ($1::text IS NULL AND state "
	          "<> 'closed') OR state = $1 ORDER BY raised_at DESC "
	          "LIMIT 500",
	          1, params, api_alarms_rows_done);
}

static void
api_ack_done(struct api_pending *p, const struct alarm_result *res)
{
	char id[32], msg[160];

	snprintf(id, sizeof(id), "%lld", (long long)res->ar_id);
	if (res->ar_status == ALARM_NOT_FOUND)
		api_error(p->p_req, 404, "no such alarm");
	else if (res->ar_status != ALARM_DONE) {
		snprintf(msg, sizeof(msg),
		         "the alarm is %s: it cannot be acknowledged in that "
		         "state",
		         res->ar_state_name ? res->ar_state_name : "closed");
		api_error(p->p_req, 409, msg);
	} else
		http_reply_json(p->p_req, 200,
		                json_pack("{s:s, s:s, s:s}", "id", id, "state",
		                          res->ar_state_name, "acked_by",
		                          p->p_user.s_login));
}

void
api_alarm_ack(struct api_req *ar)
{
	const char *comment = NULL;
	struct api_pending *p;

	if (ar->ar_body_len > 0 &&
	    (ar->ar_body == NULL ||
	     json_unpack(ar->ar_body, "{s?:s}", "comment", &comment) != 0)) {
		api_error(ar->ar_req, 400,
		          "expected {\"comment\": \"...\"} or no body");
		return;
	}
	p = api_pending_new(ar->ar_c, ar->ar_req, ar->ar_user, NULL);
	p->p_adone = api_ack_done;
	api_pending_wait(p);
	api_alarm_sent(p, alarm_ack(ar->ar_c->c_alarms, ar->ar_caps->rc_id,
	                            ar->ar_user->s_login, comment,
	                            API_DB_DEADLINE_MS, api_alarm_result, p));
}

static void
api_shelve_done(struct api_pending *p, const struct alarm_result *res)
{
	char id[32], msg[160];

	snprintf(id, sizeof(id), "%lld", (long long)res->ar_id);
	if (res->ar_status == ALARM_NOT_FOUND)
		api_error(p->p_req, 404, "no such alarm");
	else if (res->ar_status != ALARM_DONE) {
		snprintf(msg, sizeof(msg), "the alarm is %s: %s",
		         res->ar_state_name ? res->ar_state_name : "closed",
		         p->p_shelving
		             ? "only an open, unshelved alarm can be shelved"
		             : "only a shelved alarm can be unshelved");
		api_error(p->p_req, 409, msg);
	} else
		http_reply_json(p->p_req, 200,
		                json_pack("{s:s, s:s, s:s?}", "id", id, "state",
		                          res->ar_state_name, "shelved_until",
		                          res->ar_until));
}

void
api_alarm_shelve(struct api_req *ar)
{
	struct collector *c = ar->ar_c;
	const char *reason = NULL;
	json_int_t minutes = 0;
	struct api_pending *p;
	char err[160];

	if (api_minutes_reason(ar->ar_body,
	                       (json_int_t)(c->c_conf.cc_max_shelve_ms / 60000),
	                       &minutes, &reason, err, sizeof(err)) != NULL) {
		if (strncmp(err, "minutes: at most", 16) == 0)
			strncat(err, " (collector.max_shelve)",
			        sizeof(err) - strlen(err) - 1);
		api_error(ar->ar_req, 400, err);
		return;
	}
	p = api_pending_new(c, ar->ar_req, ar->ar_user, NULL);
	p->p_adone = api_shelve_done;
	p->p_shelving = 1;
	api_pending_wait(p);
	api_alarm_sent(p,
	               alarm_shelve(c->c_alarms, ar->ar_caps->rc_id,
	                            ar->ar_user->s_login, minutes, reason,
	                            API_DB_DEADLINE_MS, api_alarm_result, p));
}

void
api_alarm_unshelve(struct api_req *ar)
{
	struct api_pending *p;

	p = api_pending_new(ar->ar_c, ar->ar_req, ar->ar_user, NULL);
	p->p_adone = api_shelve_done;
	api_pending_wait(p);
	api_alarm_sent(p,
	               alarm_unshelve(ar->ar_c->c_alarms, ar->ar_caps->rc_id,
	                              ar->ar_user->s_login, API_DB_DEADLINE_MS,
	                              api_alarm_result, p));
}
