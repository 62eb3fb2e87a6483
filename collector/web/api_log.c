/*
 * The shift log: GET /log, POST /log (a note), and GET /events, the
 * Server-Sent Events stream of every shift log entry as it is written:
 * the entries of the log's feed (duty/shiftlog_feed.h), each with the
 * fields and text GET /log gives it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "collector.h"
#include "duty/shiftlog.h"
#include "duty/shiftlog_feed.h"
#include "events.h"
#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include "web/api_int.h"
#include "web/routes.h"

/* A client following /events (Server-Sent Events). */
struct api_sub {
	struct api_sub *sub_next;
	struct evhttp_request *sub_req;
	struct evhttp_connection *sub_evcon;
};

static struct api_sub *api_subs;

static void api_on_log(void *arg, const struct event_msg *m);

void
api_log_init(struct collector *c)
{
	api_subs = NULL;
	events_subscribe(c->c_events, EVENT_MASK(EVENT_LOG), api_on_log, NULL);
}

void
api_log_free(struct collector *c)
{
	events_unsubscribe(c->c_events, api_on_log, NULL);
	while (api_subs != NULL) {
		struct api_sub *sub = api_subs;
		api_subs = sub->sub_next;
		free(sub);
	}
}

void
api_close_streams(void)
{
	struct api_sub *sub;

	while ((sub = api_subs) != NULL) {
		api_subs = sub->sub_next;
		evhttp_send_reply_end(sub->sub_req);
		free(sub);
	}
}

/* The client of a stream went away. */
void
api_log_closed(struct evhttp_connection *evcon)
{
	struct api_sub **sp, *sub;

	for (sp = &api_subs; *sp != NULL;) {
		sub = *sp;
		if (sub->sub_evcon == evcon) {
			*sp = sub->sub_next;
			/* The stream's reply was never ended: end it, or evhttp
			 * keeps the request when the client goes away. */
			evhttp_send_reply_end(sub->sub_req);
			free(sub);
		} else
			sp = &sub->sub_next;
	}
}

/*
 * Every shift log entry goes to each /events client, as GET /log has it
 * (its values as text, like api_rows), with its id as the event's id.
 */
static void
api_on_log(void *arg, const struct event_msg *m)
{
	struct api_sub *sub;
	struct evbuffer *chunk;
	json_t *j;
	char *t, id[24];

	(void)arg;
	if (api_subs == NULL)
		return;
	snprintf(id, sizeof(id), "%" PRId64, m->em_log_id);
	j = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s}", "id", id, "ts",
	              m->em_ts, "shift_id", m->em_shift_id, "kind",
	              m->em_log_kind, "actor", m->em_actor, "text", m->em_text);
	/* Text that is not UTF-8 cannot be JSON: it stays in the log only. */
	if (j == NULL || (t = json_dumps(j, JSON_COMPACT)) == NULL) {
		log_warnx("api: shift log entry %s is not valid UTF-8: not "
		          "streamed",
		          id);
		json_decref(j);
		return;
	}
	for (sub = api_subs; sub != NULL; sub = sub->sub_next) {
		chunk = evbuffer_new();
		evbuffer_add_printf(chunk, "id: %s\nevent: %s\ndata: %s\n\n",
		                    id, m->em_log_kind, t);
		evhttp_send_reply_chunk(sub->sub_req, chunk);
		evbuffer_free(chunk);
	}
	free(t);
	json_decref(j);
}

/*
 * The stream opens with the id of the newest entry the feed has passed
 * on (an SSE id field without data: no event, but the client's last
 * event id): a client that saw an older one missed some, and reads them
 * with GET /log?after=ID.
 */
void
api_events(struct api_req *ar)
{
	struct evhttp_request *req = ar->ar_req;
	struct api_sub *sub = xcalloc(1, sizeof(*sub));
	struct evbuffer *hello = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	int64_t last = shiftlog_feed_last(ar->ar_c->c_log_feed);

	sub->sub_req = req;
	sub->sub_evcon = evhttp_request_get_connection(req);
	evhttp_connection_set_closecb(sub->sub_evcon, api_conn_closed, NULL);
	/* No read timeout on a stream that is quiet by design. */
	evhttp_connection_set_timeout(sub->sub_evcon, -1);
	evhttp_add_header(h, "Content-Type", "text/event-stream");
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_send_reply_start(req, 200, "OK");
	evbuffer_add_printf(hello, ": watchstand events\n");
	if (last >= 0)
		evbuffer_add_printf(hello, "id: %" PRId64 "\n", last);
	evbuffer_add_printf(hello, "\n");
	evhttp_send_reply_chunk(req, hello);
	evbuffer_free(hello);
	sub->sub_next = api_subs;
	api_subs = sub;
}

static void
api_note_done(struct api_pending *p, PGresult *r)
{
	events_log_written(p->p_c->c_events);
	http_reply_json(
	    p->p_req, 201,
	    json_pack("{s:s}", "id", PQntuples(r) ? PQgetvalue(r, 0, 0) : ""));
}

/*
 * Newest first, of the last 8 hours (since=); with after=ID, the entries
 * after that one, oldest first (since= only when given): what a stream's
 * client missed. At most 1000; ask again after the last one.
 */
void
api_log_get(struct api_req *ar)
{
	static const char *const names[] = {"since", "kind", "after"};
	struct api_pending *p =
	    api_pending_new(ar->ar_c, ar->ar_req, ar->ar_user, api_rows_done);
	const char *params[3];

	params[0] = evhttp_find_header(&ar->ar_query, "since");
	params[1] = evhttp_find_header(&ar->ar_query, "kind");
	params[2] = evhttp_find_header(&ar->ar_query, "after");
	api_name_params(p, names, params, 3);
	if (params[2] != NULL)
		api_send(p,
		         "SELECT id, ts, shift_id, kind, actor, text FROM "
		         "watchstand.v_shift_log WHERE id > $3::bigint AND "
		         "($1::interval IS NULL OR ts >= now() - $1::interval) "
		         "AND ($2::text IS NULL OR kind = $2) ORDER BY id "
		         "LIMIT 1000",
		         3, params);
	else
		api_send(p,
		         "SELECT id, ts, shift_id, kind, actor, text FROM "
		         "watchstand.v_shift_log WHERE ts >= now() - "
		         "coalesce($1::interval, '8 hours') AND ($2::text IS "
		         "NULL OR kind = $2) ORDER BY id DESC LIMIT 1000",
		         2, params);
}

void
api_log_post(struct api_req *ar)
{
	const char *text = NULL;
	const char *params[3];
	struct api_pending *p;
	int carry = json_is_true(json_object_get(ar->ar_body, "carry"));

	if (ar->ar_body == NULL ||
	    json_unpack(ar->ar_body, "{s:s}", "text", &text) != 0 ||
	    text[0] == '\0') {
		api_error(ar->ar_req, 400, "expected {\"text\": \"...\"}");
		return;
	}
	p = api_pending_new(ar->ar_c, ar->ar_req, ar->ar_user, api_note_done);
	snprintf(p->p_text, sizeof(p->p_text), "%s", text);
	params[0] = ar->ar_user->s_login;
	params[1] = text;
	params[2] = carry ? "t" : "f";
	/* carry: the note reappears in every handover until cleared */
	api_send(p,
	         "WITH l AS (INSERT INTO watchstand.shift_log (kind, actor, "
	         "text) VALUES ('note', $1, $2) RETURNING id), c AS (INSERT "
	         "INTO watchstand.carry_items (log_id, text, by_user) SELECT "
	         "id, $2, $1 FROM l WHERE $3::boolean) SELECT id FROM l",
	         3, params);
}

static void
api_clear_done(struct api_pending *p, PGresult *r)
{
	char text[128];

	if (PQntuples(r) == 0) {
		api_error(p->p_req, 404, "no carried item for this log entry");
		return;
	}
	snprintf(text, sizeof(text), "carried item (log %s) cleared",
	         PQgetvalue(r, 0, 0));
	shiftlog_add(p->p_c->c_store, p->p_c->c_events, "note",
	             p->p_user.s_login, text);
	http_reply_json(p->p_req, 200, json_pack("{s:b}", "cleared", 1));
}

void
api_log_clear(struct api_req *ar)
{
	char id[32];
	const char *params[2] = {id, ar->ar_user->s_login};
	struct api_pending *p =
	    api_pending_new(ar->ar_c, ar->ar_req, ar->ar_user, api_clear_done);

	snprintf(id, sizeof(id), "%" PRId64, (int64_t)ar->ar_caps->rc_id);
	api_send(p,
	         "UPDATE watchstand.carry_items SET cleared_by = $2, "
	         "cleared_at = now() WHERE log_id = $1::bigint AND cleared_at "
	         "IS NULL RETURNING log_id",
	         2, params);
}
