/* notify-test CHANNEL [--to RECIPIENT]: one test message, sent now, the
 * outcome printed. Blocking, for the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "notify/channel.h"
#include "notify/notify.h"

/* A login or role:NAME becomes a person with a phone and a mail address
 * (from the users table); anything else is taken as an address. */
static json_t *
test_recipient(const char *database, const char *to)
{
	const char *keys[] = {"dbname", "connect_timeout", NULL};
	const char *vals[] = {database, "5", NULL};
	const char *params[1] = {to};
	PGconn *db;
	PGresult *r;
	json_t *who = NULL;

	if ((who = notify_recipient_literal(to)) != NULL)
		return who;
	db = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "notify-test: cannot look up '%s': %s", to,
		        PQerrorMessage(db));
		PQfinish(db);
		return NULL;
	}
	r = PQexecParams(
	    db,
	    "SELECT login, coalesce(phone, ''), coalesce(email, "
	    "'') FROM watchstand.users WHERE login = $1 OR 'role:' "
	    "|| role = $1 ORDER BY login LIMIT 1",
	    1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		who = json_pack(
		    "{s:s, s:s, s:s}", "recipient", PQgetvalue(r, 0, 0),
		    "phone", PQgetvalue(r, 0, 1), "email", PQgetvalue(r, 0, 2));
	else
		fprintf(stderr, "notify-test: no user or role '%s'\n", to);
	PQclear(r);
	PQfinish(db);
	return who;
}

int
notify_test(const char *conf_file, const struct notify_conf *nc,
            const char *database, const char *channel, const char *to)
{
	const struct notify_channel *ch = notify_channel_find(nc, channel);
	struct channel_request req;
	char host[256] = "?", summary[512], when[32], err[512] = "";
	json_t *who, *msg;
	time_t now = time(NULL);
	struct tm tm;
	CURL *easy;
	CURLcode rc;
	long code = 0;
	enum channel_verdict v;

	if (ch == NULL) {
		fprintf(stderr, "notify-test: %s has no channel '%s'\n",
		        conf_file, channel);
		return 2;
	}
	if (to != NULL)
		who = test_recipient(database, to);
	else if (ch->ch_to != NULL && ch->ch_to[0] != NULL)
		who = test_recipient(database, ch->ch_to[0]);
	else
		who = json_pack("{s:s, s:s, s:s}", "recipient", ch->ch_name,
		                "phone", "", "email", "");
	if (who == NULL)
		return 1;
	gethostname(host, sizeof(host) - 1);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(summary, sizeof(summary),
	         "test message from watchstand-collector on %s; no action "
	         "needed",
	         host);
	json_object_set_new(who, "mentions", json_array());
	msg = json_pack("{s:O, s:O, s:O, s:O, s:[{s:i, s:s, s:s, s:s, s:s, "
	                "s:s, s:f, s:s, s:s, s:s, s:s, s:s, s:s, s:s}]}",
	                "recipient", json_object_get(who, "recipient"), "phone",
	                json_object_get(who, "phone"), "email",
	                json_object_get(who, "email"), "mentions",
	                json_object_get(who, "mentions"), "pages", "alarm_id",
	                0, "rule", "notify-test", "host", host, "role", "",
	                "series", "", "severity", "info", "value", 0.0, "phase",
	                "", "state", "test", "time", when, "runbook", "",
	                "summary", summary, "kind", "test", "ack_url", "");
	json_decref(who);
	if (channel_render(ch, msg, now, "ws-test", &req) == -1) {
		fprintf(stderr, "notify-test: %s: %s\n", ch->ch_name,
		        req.cr_error);
		json_decref(msg);
		return 1;
	}
	easy = curl_easy_init();
	channel_easy_setup(ch, easy, &req);
	rc = curl_easy_perform(easy);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	v = channel_judge(ch, rc, code, &req, err, sizeof(err));
	if (v == CV_SENT)
		printf("%s -> %s: sent (%s %ld)\n", ch->ch_name,
		       json_string_value(json_object_get(msg, "recipient")),
		       ch->ch_type == CH_SMTP ? "reply" : "HTTP", code);
	else
		printf("%s -> %s: %s: %s\n", ch->ch_name,
		       json_string_value(json_object_get(msg, "recipient")),
		       v == CV_RETRY ? "failed (would be retried)"
		                     : "failed (would not be retried)",
		       err);
	curl_easy_cleanup(easy);
	channel_request_free(&req);
	json_decref(msg);
	return v == CV_SENT ? 0 : 1;
}
