/*
 * The API's shared machinery: requests waiting for the database (every
 * query runs on the store's async connection; a handler never waits on
 * it), the error answers, and api_handle, which routes a call through
 * the route table (routes.c) to its handler.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include "collector.h"
#include "alarm/alarm.h"
#include "ingest/store.h"
#include "web/api.h"
#include "web/api_int.h"
#include "web/routes.h"

static struct api_pending *api_pending;

void
api_init(struct collector *c)
{
	api_pending = NULL;
	api_session_init(c);
	api_log_init(c);
	api_forward_init(c);
}

void
api_free(struct collector *c)
{
	struct api_pending *p;

	api_forward_free();
	api_log_free(c);
	api_session_free();
	while ((p = api_pending) != NULL) {
		api_pending = p->p_next;
		api_pending_free(p);
	}
}

void
api_error(struct evhttp_request *req, int code, const char *msg)
{
	http_reply_json(req, code, json_pack("{s:s}", "error", msg));
}

void
api_pending_free(struct api_pending *p)
{
	int i;

	for (i = 0; i < 4; i++)
		free(p->p_pvalues[i]);
	explicit_bzero(p->p_password, sizeof(p->p_password));
	if (p->p_orphan != NULL)
		evhttp_request_free(p->p_orphan);
	free(p);
}

/* Why a request got no result: the database is gone, or busy past the
 * deadline (then nothing of the request was applied). */
void
api_db_unavailable(struct evhttp_request *req, struct collector *c)
{
	api_error(req, 503,
	          store_up(c->c_store)
	              ? "the database did not take the request in time; "
	                "nothing was applied, try again"
	              : "the database is unreachable");
}
/*
 * A value PostgreSQL could not read as its type (SQLSTATE class 22) is
 * the client's mistake: 400 naming the parameter whose value the
 * server's message quotes.
 */
static int
api_bad_value(struct api_pending *p, PGresult *r)
{
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	char quoted[300], text[600];
	const char *name = NULL;
	int i;

	if (state == NULL || strncmp(state, "22", 2) != 0 || msg == NULL)
		return 0;
	for (i = 0; i < 4 && p->p_pnames[i] != NULL; i++) {
		if (p->p_pvalues[i] == NULL)
			continue;
		snprintf(quoted, sizeof(quoted), "\"%s\"", p->p_pvalues[i]);
		if (strstr(msg, quoted) != NULL) {
			name = p->p_pnames[i];
			break;
		}
	}
	if (name == NULL && p->p_pnames[0] == NULL)
		return 0;
	snprintf(text, sizeof(text), "%s=: %s", name ? name : "a parameter",
	         msg);
	api_error(p->p_req, 400, text);
	return 1;
}

/* The client may close before the database answers. */
void
api_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct api_pending *p;

	(void)arg;
	for (p = api_pending; p != NULL; p = p->p_next)
		if (p->p_evcon == evcon)
			api_req_gone(&p->p_req, &p->p_orphan);
	api_log_closed(evcon);
}

/*
 * A request whose client closes while it waits is either freed by evhttp
 * with its connection, or, when evhttp had already handed it to us
 * (detached: no connection any more), left for us to free. Either way
 * nothing may answer it now.
 */
void
api_req_gone(struct evhttp_request **req, struct evhttp_request **orphan)
{
	if (*req != NULL && evhttp_request_get_connection(*req) == NULL)
		*orphan = *req;
	*req = NULL;
}

void
api_pending_wait(struct api_pending *p)
{
	evhttp_connection_set_closecb(p->p_evcon, api_conn_closed, NULL);
	p->p_next = api_pending;
	api_pending = p;
}

/* Done waiting: unlinked and freed. */
void
api_pending_end(struct api_pending *p)
{
	struct api_pending **pp;

	for (pp = &api_pending; *pp != NULL; pp = &(*pp)->p_next)
		if (*pp == p) {
			*pp = p->p_next;
			break;
		}
	api_pending_free(p);
}

static void
api_query_done(void *arg, PGresult *r)
{
	struct api_pending *p = arg;

	if (p->p_req != NULL) {
		if (r == NULL)
			api_db_unavailable(p->p_req, p->p_c);
		else if (PQresultStatus(r) != PGRES_TUPLES_OK &&
		         PQresultStatus(r) != PGRES_COMMAND_OK) {
			if (!api_bad_value(p, r)) {
				log_warnx("api: %s", PQresultErrorMessage(r));
				api_error(p->p_req, 503,
				          "the database refused the request");
			}
		} else
			p->p_done(p, r);
	}
	api_pending_end(p);
}

void
api_alarm_result(void *arg, const struct alarm_result *res)
{
	struct api_pending *p = arg;

	if (p->p_req != NULL) {
		if (res->ar_status == ALARM_NO_RESULT)
			api_db_unavailable(p->p_req, p->p_c);
		else if (res->ar_status == ALARM_DB_ERROR) {
			log_warnx("api: %s", res->ar_error);
			/* A follower's write, fenced: say who leads. */
			api_error(p->p_req, 503,
			          strncmp(res->ar_error,
			                  "this collector does "
			                  "not lead",
			                  28) == 0
			              ? res->ar_error
			              : "the database refused the request");
		} else
			p->p_adone(p, res);
	}
	api_pending_end(p);
}

/* -1: the database is down, the callback will not come. */
void
api_alarm_sent(struct api_pending *p, int rc)
{
	if (rc == 0)
		return;
	api_db_unavailable(p->p_req, p->p_c);
	api_pending_end(p);
}

/* A request that will wait for the database; fill it, then api_send. */
struct api_pending *
api_pending_new(struct collector *c, struct evhttp_request *req,
                const struct api_session *user,
                void (*done)(struct api_pending *, PGresult *))
{
	struct api_pending *p = xcalloc(1, sizeof(*p));

	if (p == NULL)
		fatalx("api: out of memory");
	p->p_c = c;
	p->p_req = req;
	p->p_evcon = evhttp_request_get_connection(req);
	p->p_done = done;
	if (user != NULL)
		p->p_user = *user;
	return p;
}

/* The answer may come at once (a fast local database): everything the
 * callback needs must be in p before this. */
void
api_send(struct api_pending *p, const char *sql, int n,
         const char *const *params)
{
	api_pending_wait(p);
	if (store_query_by(p->p_c->c_store, sql, n, params, api_query_done, p,
	                   API_DB_DEADLINE_MS) == 0)
		return;
	api_db_unavailable(p->p_req, p->p_c);
	api_pending_end(p);
}

/* Names the query parameters of a read, for a 400 on a bad value. */
void
api_name_params(struct api_pending *p, const char *const *names,
                const char *const *values, int n)
{
	int i;

	for (i = 0; i < n && i < 4; i++) {
		p->p_pnames[i] = names[i];
		p->p_pvalues[i] = values[i] ? xstrdup(values[i]) : NULL;
	}
}

void
api_query(struct api_req *ar, const char *sql, int n, const char *const *params,
          void (*done)(struct api_pending *, PGresult *))
{
	api_send(api_pending_new(ar->ar_c, ar->ar_req, ar->ar_user, done), sql,
	         n, params);
}

static void
api_fn_done(struct api_pending *p, PGresult *r)
{
	p->p_fn(p->p_req, r, p->p_text);
}

void
api_query_for(struct collector *c, struct evhttp_request *req, const char *sql,
              int n, const char *const *params, api_reply_fn fn,
              const char *ctx)
{
	struct api_pending *p = api_pending_new(c, req, NULL, api_fn_done);

	p->p_fn = fn;
	snprintf(p->p_text, sizeof(p->p_text), "%s", ctx);
	api_send(p, sql, n, params);
}

static json_t *
api_body(struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	json_error_t err;

	if (n == 0 || n > API_BODY_MAX)
		return NULL;
	return json_loadb((const char *)evbuffer_pullup(in, n), n, 0, &err);
}

/* Rows as a JSON array of objects, every value as text or null. */
json_t *
api_rows(PGresult *r)
{
	json_t *arr = json_array();
	int i, j;

	for (i = 0; i < PQntuples(r); i++) {
		json_t *o = json_object();
		for (j = 0; j < PQnfields(r); j++)
			json_object_set_new(
			    o, PQfname(r, j),
			    PQgetisnull(r, i, j)
			        ? json_null()
			        : json_string(PQgetvalue(r, i, j)));
		json_array_append_new(arr, o);
	}
	return arr;
}

void
api_rows_done(struct api_pending *p, PGresult *r)
{
	http_reply_json(p->p_req, 200, api_rows(r));
}

/*
 * {"minutes": N, "reason": "why"} of shelving and out-of-service: NULL
 * when good, else what is wrong with it, in err.
 */
const char *
api_minutes_reason(json_t *body, json_int_t max, json_int_t *minutes,
                   const char **reason, char *err, size_t errlen)
{
	json_t *m, *r;

	if (body == NULL || !json_is_object(body))
		snprintf(err, errlen,
		         "expected a JSON body {\"minutes\": N, \"reason\": "
		         "\"why\"}");
	else if ((m = json_object_get(body, "minutes")) == NULL)
		snprintf(err, errlen, "minutes: missing");
	else if (!json_is_integer(m) || json_integer_value(m) <= 0)
		snprintf(err, errlen,
		         "minutes: expected a whole number above 0");
	else if (json_integer_value(m) > max)
		snprintf(err, errlen, "minutes: at most %lld", (long long)max);
	else if ((r = json_object_get(body, "reason")) == NULL ||
	         !json_is_string(r) || json_string_value(r)[0] == '\0')
		snprintf(err, errlen, "reason: a reason is required (text)");
	else {
		*minutes = json_integer_value(m);
		*reason = json_string_value(r);
		return NULL;
	}
	return err;
}

/* Tells a client who is not logged in (or early after a restart). */
static void
api_unauthorized(struct evhttp_request *req, int code)
{
	if (code == 503) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		                  "Retry-After", "1");
		api_error(req, 503,
		          "sessions are being loaded from the database; try "
		          "again");
	} else
		api_error(req, 401, "log in first (POST /api/v1/login)");
}

int
api_handle(struct collector *c, struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = evhttp_uri_get_path(uri);
	const char *query = evhttp_uri_get_query(uri);
	unsigned cmd = (unsigned)evhttp_request_get_command(req);
	const struct api_session *user = NULL;
	const struct route *rt;
	struct route_caps caps;
	enum route_result m;
	struct api_req ar;
	char allow[64], msg[96];
	unsigned methods;
	int code;

	if (path == NULL || strncmp(path, "/api/v1/", 8) != 0)
		return 0;
	path += 7;
	if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) >
	    API_BODY_MAX) {
		api_error(req, 413, "the request body is over 64 KiB");
		return 1;
	}
	memset(&caps, 0, sizeof(caps));
	m = route_match(routes, routes_n, cmd, path, &caps, &rt, &methods);
	/* Past the public routes, nothing is told before the login. */
	if (rt == NULL || rt->r_role != ROUTE_PUBLIC) {
		if ((user = api_auth(req, &code)) == NULL) {
			if (code != 401 || !api_session_lookup(c, req))
				api_unauthorized(req, code);
			return 1;
		}
	}
	if (m == ROUTE_NO_PATH) {
		api_error(req, 404, "no such API call");
		return 1;
	}
	if (m == ROUTE_NO_METHOD) {
		route_methods(methods, ", ", allow, sizeof(allow));
		evhttp_add_header(evhttp_request_get_output_headers(req),
		                  "Allow", allow);
		route_methods(methods, " or ", allow, sizeof(allow));
		snprintf(msg, sizeof(msg), "%s only", allow);
		api_error(req, 405, msg);
		return 1;
	}
	if (rt->r_role != ROUTE_PUBLIC && user->s_role < rt->r_role) {
		api_error(req, 403,
		          rt->r_denied ? rt->r_denied : "not allowed");
		return 1;
	}
	/* The leader checks the session again: the header grants nothing. */
	if ((rt->r_flags & ROUTE_LEADER) && api_forward(c, req))
		return 1;
	memset(&ar, 0, sizeof(ar));
	ar.ar_c = c;
	ar.ar_req = req;
	ar.ar_user = user;
	ar.ar_caps = &caps;
	TAILQ_INIT(&ar.ar_query);
	if (query != NULL)
		evhttp_parse_query_str(query, &ar.ar_query);
	ar.ar_body_len =
	    evbuffer_get_length(evhttp_request_get_input_buffer(req));
	ar.ar_body = api_body(req);
	rt->r_fn(&ar);
	json_decref(ar.ar_body);
	evhttp_clear_headers(&ar.ar_query);
	return 1;
}
