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
#include "events.h"
#include "alarm/rules.h"
#include "web/api_int.h"
#include "web/routes.h"

static void
api_oos_done(struct api_pending *p, PGresult *r)
{
	char text[1200];

	if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0)) {
		api_error(p->p_req, 404, "no such host");
		return;
	}
	if (p->p_text[0] == 'i') {
		/* Back in service: what was held back is looked at afresh. */
		rules_engine_forget_host(p->p_c->c_rules, p->p_text + 1);
		snprintf(text, sizeof(text), "IN SERVICE %s", p->p_text + 1);
	} else
		snprintf(text, sizeof(text), "OUT OF SERVICE %s until %s",
		         p->p_text + 1, PQgetvalue(r, 0, 1));
	events_log(p->p_c->c_events, "alarm", p->p_user.s_login, text);
	http_reply_json(
	    p->p_req, 200,
	    json_pack("{s:s, s:s, s:i}", "host", p->p_text + 1, "state",
	              p->p_text[0] == 'i' ? "in-service" : "out-of-service",
	              "alarms", atoi(PQgetvalue(r, 0, 2))));
}

static void
api_host_service(struct api_req *ar, int out)
{
	const char *host = ar->ar_caps->rc_name;
	const char *reason = NULL;
	json_int_t minutes = 0;
	const char *params[4];
	struct api_pending *p;
	char mbuf[32], err[160];

	if (out && api_minutes_reason(ar->ar_body, 7 * 24 * 60, &minutes,
	                              &reason, err, sizeof(err)) != NULL) {
		api_error(ar->ar_req, 400, err);
		return;
	}
	snprintf(mbuf, sizeof(mbuf), "%lld", (long long)minutes);
	params[0] = host;
	params[1] = ar->ar_user->s_login;
	params[2] = out ? reason : NULL;
	params[3] = out ? mbuf : "0";
	p = api_pending_new(ar->ar_c, ar->ar_req, ar->ar_user, api_oos_done);
	snprintf(p->p_text, sizeof(p->p_text), "%c%s", out ? 'o' : 'i', host);
	if (out)
		api_send(p,
		         "WITH h AS (SELECT name FROM "
		         "watchstand.agents "
		         "WHERE name = $1), o AS (INSERT INTO "
		         "watchstand.hosts_out_of_service (host, "
		         "reason, "
		         "until, by_user) SELECT name, $3, now() + "
		         "$4::int * interval '1 minute', $2 FROM h "
		         "ON "
		         "CONFLICT (host) DO UPDATE SET reason = "
		         "EXCLUDED.reason, until = EXCLUDED.until, "
		         "by_user "
		         "= EXCLUDED.by_user RETURNING host, "
		         "until), a AS "
		         "(UPDATE watchstand.alarms SET state = "
		         "'out-of-service', updated_at = now() "
		         "WHERE host "
		         "IN (SELECT host FROM o) AND state <> "
		         "'closed' "
		         "RETURNING id), l AS (INSERT INTO "
		         "watchstand.shift_log (kind, actor, text) "
		         "SELECT "
		         "'alarm', $2, 'OUT OF SERVICE ' || host || "
		         "' for "
		         "' || $4 || ' min -- ' || $3 FROM o) "
		         "SELECT "
		         "(SELECT host FROM o), (SELECT until FROM "
		         "o), "
		         "(SELECT count(*) FROM a)",
		         4, params);
	else
		api_send(p,
		         "WITH h AS (SELECT name FROM "
		         "watchstand.agents "
		         "WHERE name = $1), d AS (DELETE FROM "
		         "watchstand.hosts_out_of_service WHERE "
		         "host IN "
		         "(SELECT name FROM h) RETURNING host), a "
		         "AS "
		         "(UPDATE watchstand.alarms SET state = "
		         "'closed', "
		         "closed_at = now(), updated_at = now() "
		         "WHERE host "
		         "IN (SELECT name FROM h) AND state = "
		         "'out-of-service' RETURNING id), l AS "
		         "(INSERT INTO "
		         "watchstand.shift_log (kind, actor, text) "
		         "SELECT "
		         "'alarm', $2, 'IN SERVICE ' || name || ': "
		         "its "
		         "alarms are evaluated afresh' FROM h) "
		         "SELECT "
		         "(SELECT name FROM h), NULL, (SELECT "
		         "count(*) FROM "
		         "a)",
		         2, params);
}

void
api_host_out_of_service(struct api_req *ar)
{
	api_host_service(ar, 1);
}

void
api_host_in_service(struct api_req *ar)
{
	api_host_service(ar, 0);
}
