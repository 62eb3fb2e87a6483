/*
 * Hosts: out of service (their alarms held back for a time) and back in
 * service.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "collector.h"
#include "alarm/alarm.h"
#include "web/api_int.h"
#include "web/routes.h"

static void
api_service_done(struct api_pending *p, const struct alarm_result *res)
{
	if (res->ar_status != ALARM_DONE) {
		api_error(p->p_req, 404, "no such host");
		return;
	}
	http_reply_json(
	    p->p_req, 200,
	    json_pack("{s:s, s:s, s:i, s:s?}", "host", res->ar_host, "state",
	              res->ar_state == ALARM_ST_OUT_OF_SERVICE
	                  ? "out-of-service"
	                  : "in-service",
	              "alarms", res->ar_count, "until", res->ar_until));
}

void
api_host_out_of_service(struct api_req *ar)
{
	const char *reason = NULL;
	json_int_t minutes = 0;
	struct api_pending *p;
	char err[160];

	if (api_minutes_reason(ar->ar_body, 7 * 24 * 60, &minutes, &reason, err,
	                       sizeof(err)) != NULL) {
		api_error(ar->ar_req, 400, err);
		return;
	}
	p = api_pending_new(ar->ar_c, ar->ar_req, ar->ar_user, NULL);
	p->p_adone = api_service_done;
	api_pending_wait(p);
	api_alarm_sent(p, alarms_host_out_of_service(
	                      ar->ar_c->c_alarms, ar->ar_caps->rc_name,
	                      ar->ar_user->s_login, minutes, reason,
	                      API_DB_DEADLINE_MS, api_alarm_result, p));
}

void
api_host_in_service(struct api_req *ar)
{
	struct api_pending *p;

	p = api_pending_new(ar->ar_c, ar->ar_req, ar->ar_user, NULL);
	p->p_adone = api_service_done;
	api_pending_wait(p);
	api_alarm_sent(
	    p, alarms_host_in_service(ar->ar_c->c_alarms, ar->ar_caps->rc_name,
	                              ar->ar_user->s_login, API_DB_DEADLINE_MS,
	                              api_alarm_result, p));
}
