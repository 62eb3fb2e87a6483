/*
 * The pages behind an acknowledgement link (public_url/ack/TOKEN, see
 * notify/acklink.h): GET shows the alarm and a button, POST (the button)
 * acknowledges it as the link's recipient. No login: the signed token is
 * the credential.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <libpq-fe.h>

#include "watchstand/log.h"
#include "collector.h"
#include "alarm/alarm.h"
#include "notify/acklink.h"
#include "web/ackpage.h"
#include "web/api.h"
#include "web/api_int.h"

static void
html_escape(struct evbuffer *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			evbuffer_add_printf(out, "&lt;");
			break;
		case '>':
			evbuffer_add_printf(out, "&gt;");
			break;
		case '&':
			evbuffer_add_printf(out, "&amp;");
			break;
		case '"':
			evbuffer_add_printf(out, "&quot;");
			break;
		case '\'':
			evbuffer_add_printf(out, "&#39;");
			break;
		default:
			evbuffer_add(out, s, 1);
		}
	}
}

/* A small page; body is HTML already (escaped by the caller). */
static void
page_reply(struct evhttp_request *req, int code, const char *title,
           struct evbuffer *body)
{
	struct evbuffer *out = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", "text/html; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Content-Security-Policy",
	                  "default-src 'none'; style-src 'unsafe-inline'; "
	                  "form-action 'self'");
	evbuffer_add_printf(
	    out, "<!doctype html><html><head><meta charset=\"utf-8\"><meta "
	         "name=\"viewport\" content=\"width=device-width, "
	         "initial-scale=1\"><title>watchstand: ");
	html_escape(out, title);
	evbuffer_add_printf(
	    out, "</title><style>body{font:18px system-ui,sans-serif;margin:"
	         "1.5em;max-width:36em}button{font-size:1.2em;padding:.6em "
	         "1.4em}dt{font-weight:bold}</style></head><body><h1>");
	html_escape(out, title);
	evbuffer_add_printf(out, "</h1>");
	evbuffer_add_buffer(out, body);
	evbuffer_add_printf(out, "</body></html>\n");
	evhttp_send_reply(req, code, NULL, out);
	evbuffer_free(out);
	evbuffer_free(body);
}

static void
page_text(struct evhttp_request *req, int code, const char *title,
          const char *text)
{
	struct evbuffer *b = evbuffer_new();

	evbuffer_add_printf(b, "<p>");
	html_escape(b, text);
	evbuffer_add_printf(b, "</p>");
	page_reply(req, code, title, b);
}

static void
db_trouble(struct evhttp_request *req, PGresult *r)
{
	log_warnx("acklink: %s", r ? PQresultErrorMessage(r) : "no result");
	page_text(req, 503, "Try again",
	          "The collector cannot reach its database just now. "
	          "Acknowledge in the console or with the CLI.");
}

/* GET: what the alarm is, and a button. */
static void
confirm_page(struct evhttp_request *req, PGresult *r, const char *ctx)
{
	struct evbuffer *b;
	const char *state;
	static const char *const labels[] = {"Rule", "Host", "Series",
	                                     "Severity", "State"};
	int i;

	(void)ctx;
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
		db_trouble(req, r);
		return;
	}
	if (PQntuples(r) != 1) {
		page_text(req, 404, "No such alarm",
		          "This link names an alarm the collector does not "
		          "have.");
		return;
	}
	if (!PQgetisnull(r, 0, 6)) {
		char text[200];
		snprintf(text, sizeof(text),
		         "This link was already used (%s). A link works once.",
		         PQgetvalue(r, 0, 6));
		page_text(req, 403, "Link used", text);
		return;
	}
	state = PQgetvalue(r, 0, 4);
	b = evbuffer_new();
	evbuffer_add_printf(b, "<dl>");
	for (i = 0; i < 5; i++) {
		evbuffer_add_printf(b, "<dt>%s</dt><dd>", labels[i]);
		html_escape(b, PQgetvalue(r, 0, i));
		evbuffer_add_printf(b, "</dd>");
	}
	evbuffer_add_printf(b, "</dl>");
	if (strcmp(state, "active-unacknowledged") == 0 ||
	    strcmp(state, "cleared-unacknowledged") == 0)
		evbuffer_add_printf(
		    b, "<form method=\"post\"><button type=\"submit\">"
		       "Acknowledge</button></form>");
	else {
		evbuffer_add_printf(b, "<p>Nothing to acknowledge: the alarm "
		                       "is ");
		html_escape(b, state);
		if (*PQgetvalue(r, 0, 5)) {
			evbuffer_add_printf(b, " (acknowledged by ");
			html_escape(b, PQgetvalue(r, 0, 5));
			evbuffer_add_printf(b, ")");
		}
		evbuffer_add_printf(b, ".</p>");
	}
	page_reply(req, 200, "Alarm", b);
}

static void
acked_page(struct api_pending *p, const struct alarm_result *res)
{
	struct evhttp_request *req = p->p_req;
	const char *who = p->p_text;
	char text[1200];

	switch (res->ar_status) {
	case ALARM_NOT_FOUND:
		page_text(req, 404, "No such alarm",
		          "This link names an alarm the collector does not "
		          "have.");
		return;
	case ALARM_LINK_USED:
		snprintf(text, sizeof(text),
		         "This link was already used (%s). A link works once.",
		         res->ar_used_at);
		page_text(req, 403, "Link used", text);
		return;
	case ALARM_REFUSED:
		snprintf(text, sizeof(text),
		         "Nothing was changed: the alarm is %s.",
		         res->ar_state_name);
		page_text(req, 409, "Not acknowledged", text);
		return;
	case ALARM_DONE:
		break;
	default:
		db_trouble(req, NULL);
		return;
	}
	snprintf(text, sizeof(text), "Acknowledged as %s; the alarm is now %s.",
	         who, res->ar_state_name);
	log_info("acklink: alarm acknowledged by %s via phone link", who);
	page_text(req, 200, "Acknowledged", text);
}

int
ackpage_handle(struct collector *c, struct evhttp_request *req)
{
	const char *path =
	    evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	char who[ACKLINK_RECIPIENT_MAX + 1], sig[64], id[32];
	int64_t alarm;
	enum acklink_check ok;

	if (path == NULL || strncmp(path, "/ack/", 5) != 0)
		return 0;
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_POST) {
		page_text(req, 405, "Not allowed", "Open the link.");
		return 1;
	}
	ok = c->c_ack_keylen == 0
	         ? ACKLINK_BAD
	         : acklink_verify(c->c_ack_key, c->c_ack_keylen, path + 5,
	                          time(NULL), &alarm, who, sizeof(who), sig,
	                          sizeof(sig));
	if (ok == ACKLINK_BAD) {
		log_warnx("acklink: refused a link that is altered or not "
		          "ours (%s %s)",
		          cmd == EVHTTP_REQ_POST ? "POST" : "GET",
		          evhttp_request_get_host(req) ?: "");
		page_text(req, 403, "Link not valid",
		          "This link is not valid: it was altered, or it is "
		          "not from this collector.");
		return 1;
	}
	if (ok == ACKLINK_EXPIRED) {
		page_text(req, 403, "Link expired",
		          "This link has expired. Acknowledge in the console "
		          "or with the CLI.");
		return 1;
	}
	snprintf(id, sizeof(id), "%lld", (long long)alarm);
	if (cmd == EVHTTP_REQ_GET) {
		const char *params[2] = {id, sig};
		api_query_for(
		    c, req,
		    "SELECT a.rule, a.host, a.series, a.severity, a.state, "
		    "coalesce(a.acked_by, ''), (SELECT to_char(u.used_at, "
		    "'YYYY-MM-DD HH24:MI:SS TZ') FROM "
		    "watchstand.notify_links_used u WHERE u.signature = $2) "
		    "FROM watchstand.alarms a WHERE a.id = $1::bigint",
		    2, params, confirm_page, "");
	} else {
		/* The link is spent in the same statement, and only if it
		 * acknowledged. */
		struct api_pending *p = api_pending_new(c, req, NULL, NULL);

		p->p_adone = acked_page;
		snprintf(p->p_text, sizeof(p->p_text), "%s", who);
		api_pending_wait(p);
		api_alarm_sent(p, alarm_ack_link(c->c_alarms, alarm, who, sig,
		                                 API_DB_DEADLINE_MS,
		                                 api_alarm_result, p));
	}
	return 1;
}
