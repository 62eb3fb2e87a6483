#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <uthash.h>

#include "watchstand/log.h"
#include "alarm.h"
#include "api.h"
#include "collector.h"
#include "ingest.h"
#include "store.h"
#include "rules.h"
#include "users.h"

#define API_SESSION_S (12 * 3600) /* a shift and then some */
#define API_BODY_MAX (64 * 1024)
/* A request not sent to the database by then answers 503 and is never
 * applied: the user's retry must not be the second copy. */
#define API_DB_DEADLINE_MS 800

struct api_session {
	UT_hash_handle hh;
	char s_hash[65];
	char s_login[65];
	char s_csrf[65];
	int s_role;
	time_t s_expires;
};

/* A request waiting for the database. */
struct api_pending {
	struct api_pending *p_next;
	struct collector *p_c;
	struct evhttp_request *p_req; /* NULL once the client went away */
	struct evhttp_connection *p_evcon;
	void (*p_done)(struct api_pending *, PGresult *);
	struct api_session p_user;
	char p_login[65];
	char p_password[256];
	char p_text[1024];
	api_reply_fn p_fn;
	/* Query parameters a bad value is named by: "since", ... */
	const char *p_pnames[4];
	char *p_pvalues[4];
};

/* A client following /events (Server-Sent Events). */
struct api_sub {
	struct api_sub *sub_next;
	struct evhttp_request *sub_req;
	struct evhttp_connection *sub_evcon;
};

struct api_state {
	struct api_session *a_sessions;
	struct api_pending *a_pending;
	struct api_sub *a_subs;
};

static struct api_state api;

static void api_pending_free(struct api_pending *p);

void
api_init(struct collector *c)
{
	(void)c;
	memset(&api, 0, sizeof(api));
}

void
api_close_streams(void)
{
	struct api_sub *sub;

	while ((sub = api.a_subs) != NULL) {
		api.a_subs = sub->sub_next;
		evhttp_send_reply_end(sub->sub_req);
		free(sub);
	}
}

void
api_free(struct collector *c)
{
	struct api_session *s, *tmp;
	struct api_pending *p;

	(void)c;
	HASH_ITER(hh, api.a_sessions, s, tmp)
	{
		HASH_DEL(api.a_sessions, s);
		free(s);
	}
	while ((p = api.a_pending) != NULL) {
		api.a_pending = p->p_next;
		api_pending_free(p);
	}
	while (api.a_subs != NULL) {
		struct api_sub *sub = api.a_subs;
		api.a_subs = sub->sub_next;
		free(sub);
	}
}

static void
api_error(struct evhttp_request *req, int code, const char *msg)
{
	http_reply_json(req, code, json_pack("{s:s}", "error", msg));
}

static void
api_pending_free(struct api_pending *p)
{
	int i;

	for (i = 0; i < 4; i++)
		free(p->p_pvalues[i]);
	explicit_bzero(p->p_password, sizeof(p->p_password));
	free(p);
}

/* Why a request got no result: the database is gone, or busy past the
 * deadline (then nothing of the request was applied). */
static void
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
static void
api_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct api_pending *p;
	struct api_sub **sp, *sub;

	(void)arg;
	for (p = api.a_pending; p != NULL; p = p->p_next)
		if (p->p_evcon == evcon)
			p->p_req = NULL;
	for (sp = &api.a_subs; *sp != NULL;) {
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

static void
api_query_done(void *arg, PGresult *r)
{
	struct api_pending *p = arg, **pp;

	for (pp = &api.a_pending; *pp != NULL; pp = &(*pp)->p_next)
		if (*pp == p) {
			*pp = p->p_next;
			break;
		}
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
	api_pending_free(p);
}

/* A request that will wait for the database; fill it, then api_send. */
static struct api_pending *
api_pending_new(struct collector *c, struct evhttp_request *req,
                const struct api_session *user,
                void (*done)(struct api_pending *, PGresult *))
{
	struct api_pending *p = calloc(1, sizeof(*p));

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
static void
api_send(struct api_pending *p, const char *sql, int n,
         const char *const *params)
{
	struct api_pending **pp;

	evhttp_connection_set_closecb(p->p_evcon, api_conn_closed, NULL);
	p->p_next = api.a_pending;
	api.a_pending = p;
	if (store_query_by(p->p_c->c_store, sql, n, params, api_query_done, p,
	                   API_DB_DEADLINE_MS) == 0)
		return;
	for (pp = &api.a_pending; *pp != NULL; pp = &(*pp)->p_next)
		if (*pp == p) {
			*pp = p->p_next;
			break;
		}
	api_db_unavailable(p->p_req, p->p_c);
	api_pending_free(p);
}

/* Names the query parameters of a read, for a 400 on a bad value. */
static void
api_name_params(struct api_pending *p, const char *const *names,
                const char *const *values, int n)
{
	int i;

	for (i = 0; i < n && i < 4; i++) {
		p->p_pnames[i] = names[i];
		p->p_pvalues[i] = values[i] ? strdup(values[i]) : NULL;
	}
}

static void
api_query(struct collector *c, struct evhttp_request *req,
          const struct api_session *user, const char *sql, int n,
          const char *const *params,
          void (*done)(struct api_pending *, PGresult *))
{
	api_send(api_pending_new(c, req, user, done), sql, n, params);
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
static json_t *
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

/* Bearer token, or the session cookie plus its CSRF header. */
static const struct api_session *
api_auth(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *auth = evhttp_find_header(h, "Authorization");
	const char *cookie = evhttp_find_header(h, "Cookie");
	char token[128] = "", hash[65];
	struct api_session *s;
	int via_cookie = 0;

	if (auth != NULL && strncmp(auth, "Bearer ", 7) == 0)
		snprintf(token, sizeof(token), "%s", auth + 7);
	else if (cookie != NULL && strstr(cookie, "ws_session=") != NULL) {
		const char *v = strstr(cookie, "ws_session=") + 11;
		snprintf(token, sizeof(token), "%.*s", (int)strcspn(v, "; "),
		         v);
		via_cookie = 1;
	}
	if (token[0] == '\0')
		return NULL;
	users_token_hash(token, hash, sizeof(hash));
	HASH_FIND_STR(api.a_sessions, hash, s);
	if (s == NULL || s->s_expires < time(NULL))
		return NULL;
	if (via_cookie) {
		const char *csrf = evhttp_find_header(h, "X-CSRF-Token");
		if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
		    (csrf == NULL || strcmp(csrf, s->s_csrf) != 0))
			return NULL;
	}
	return s;
}

void
api_publish(const char *kind, const char *actor, const char *text)
{
	struct api_sub *sub;
	struct evbuffer *chunk;
	json_t *j;
	char *t, when[32];
	struct timespec ts;
	struct tm tm;

	if (api.a_subs == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	j = json_pack("{s:s, s:s, s:s, s:s}", "ts", when, "kind", kind, "actor",
	              actor, "text", text);
	t = json_dumps(j, JSON_COMPACT);
	for (sub = api.a_subs; sub != NULL; sub = sub->sub_next) {
		chunk = evbuffer_new();
		evbuffer_add_printf(chunk, "event: %s\ndata: %s\n\n", kind, t);
		evhttp_send_reply_chunk(sub->sub_req, chunk);
		evbuffer_free(chunk);
	}
	free(t);
	json_decref(j);
}

static void
api_events(struct evhttp_request *req)
{
	struct api_sub *sub = calloc(1, sizeof(*sub));
	struct evbuffer *hello = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	sub->sub_req = req;
	sub->sub_evcon = evhttp_request_get_connection(req);
	evhttp_connection_set_closecb(sub->sub_evcon, api_conn_closed, NULL);
	/* No read timeout on a stream that is quiet by design. */
	evhttp_connection_set_timeout(sub->sub_evcon, -1);
	evhttp_add_header(h, "Content-Type", "text/event-stream");
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_send_reply_start(req, 200, "OK");
	evbuffer_add_printf(hello, ": watchstand events\n\n");
	evhttp_send_reply_chunk(req, hello);
	evbuffer_free(hello);
	sub->sub_next = api.a_subs;
	api.a_subs = sub;
}

/*
 * {"minutes": N, "reason": "why"} of shelving and out-of-service: NULL
 * when good, else what is wrong with it, in err.
 */
static const char *
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

/* ---- POST /login ---- */

static void
api_login_done(struct api_pending *p, PGresult *r)
{
	struct api_session *s;
	char token[65], hash[65], csrf[65], chash[65], cookie[160];
	int ok = PQntuples(r) == 1 &&
	         users_check_password(p->p_password, PQgetvalue(r, 0, 1));

	if (!ok) {
		log_warnx("api: failed login for '%s'", p->p_login);
		api_error(p->p_req, 401, "wrong login or password");
		return;
	}
	users_new_token(token, sizeof(token), hash, sizeof(hash));
	users_new_token(csrf, sizeof(csrf), chash, sizeof(chash));
	s = calloc(1, sizeof(*s));
	snprintf(s->s_hash, sizeof(s->s_hash), "%s", hash);
	snprintf(s->s_login, sizeof(s->s_login), "%s", p->p_login);
	snprintf(s->s_csrf, sizeof(s->s_csrf), "%s", csrf);
	s->s_role = user_role_parse(PQgetvalue(r, 0, 0));
	s->s_expires = time(NULL) + API_SESSION_S;
	HASH_ADD_STR(api.a_sessions, s_hash, s);
	snprintf(cookie, sizeof(cookie),
	         "ws_session=%s; HttpOnly; SameSite=Strict; Path=/", token);
	evhttp_add_header(evhttp_request_get_output_headers(p->p_req),
	                  "Set-Cookie", cookie);
	log_info("api: %s logged in (%s)", s->s_login,
	         user_role_names[s->s_role]);
	http_reply_json(p->p_req, 200,
	                json_pack("{s:s, s:s, s:s, s:s}", "token", token,
	                          "csrf", csrf, "login", s->s_login, "role",
	                          user_role_names[s->s_role]));
}

static void
api_login(struct collector *c, struct evhttp_request *req)
{
	json_t *body = api_body(req);
	const char *login = NULL, *password = NULL;
	struct api_pending *p;
	const char *params[1];

	if (body == NULL || json_unpack(body, "{s:s, s:s}", "login", &login,
	                                "password", &password) != 0) {
		json_decref(body);
		api_error(req, 400,
		          "expected {\"login\": ..., \"password\": ...}");
		return;
	}
	params[0] = login;
	p = api_pending_new(c, req, NULL, api_login_done);
	snprintf(p->p_login, sizeof(p->p_login), "%s", login);
	snprintf(p->p_password, sizeof(p->p_password), "%s", password);
	api_send(p,
	         "SELECT role, password_hash FROM watchstand.users WHERE "
	         "login = $1",
	         1, params);
	json_decref(body);
}

/* ---- GET /status, /agents, /alarms, /log ---- */

static void
api_rows_done(struct api_pending *p, PGresult *r)
{
	http_reply_json(p->p_req, 200, api_rows(r));
}

static void
api_status_done(struct api_pending *p, PGresult *r)
{
	json_t *counts = json_object();
	int i;

	for (i = 0; i < PQntuples(r); i++)
		json_object_set_new(counts, PQgetvalue(r, i, 0),
		                    json_integer(atoll(PQgetvalue(r, i, 1))));
	http_reply_json(p->p_req, 200,
	                json_pack("{s:s, s:i, s:o, s:s, s:s, s:b}", "phase",
	                          p->p_c->c_phase ? p->p_c->c_phase : "",
	                          "agents_connected",
	                          ingest_connected(p->p_c->c_ingest), "alarms",
	                          counts, "user", p->p_user.s_login,
	                          "database", "up", "stale", 0));
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
		api_publish("alarm", p->p_user.s_login, text);
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
			notify_alarm_returned(p->p_c->c_notifier,
			                      atoll(p->p_text + 1));
		http_reply_json(
		    p->p_req, 200,
		    json_pack("{s:s, s:s, s:s?}", "id", p->p_text + 1, "state",
		              PQgetvalue(r, 0, 1), "shelved_until",
		              PQgetisnull(r, 0, 2) ? NULL
		                                   : PQgetvalue(r, 0, 2)));
	}
}

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
	api_publish("alarm", p->p_user.s_login, text);
	http_reply_json(
	    p->p_req, 200,
	    json_pack("{s:s, s:s, s:i}", "host", p->p_text + 1, "state",
	              p->p_text[0] == 'i' ? "in-service" : "out-of-service",
	              "alarms", atoi(PQgetvalue(r, 0, 2))));
}

static void
api_note_done(struct api_pending *p, PGresult *r)
{
	api_publish("note", p->p_user.s_login, p->p_text);
	http_reply_json(
	    p->p_req, 201,
	    json_pack("{s:s}", "id", PQntuples(r) ? PQgetvalue(r, 0, 0) : ""));
}

int
api_handle(struct collector *c, struct evhttp_request *req)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = evhttp_uri_get_path(uri);
	const char *query = evhttp_uri_get_query(uri);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const struct api_session *user;
	struct evkeyvalq q;
	const char *params[4];
	long id;
	char idbuf[32], tail[32];

	if (path == NULL || strncmp(path, "/api/v1/", 8) != 0)
		return 0;
	path += 7;
	if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) >
	    API_BODY_MAX) {
		api_error(req, 413, "the request body is over 64 KiB");
		return 1;
	}
	if (strcmp(path, "/login") == 0) {
		if (cmd != EVHTTP_REQ_POST)
			api_error(req, 405, "POST only");
		else
			api_login(c, req);
		return 1;
	}
	if ((user = api_auth(req)) == NULL) {
		api_error(req, 401, "log in first (POST /api/v1/login)");
		return 1;
	}
	TAILQ_INIT(&q);
	if (query != NULL)
		evhttp_parse_query_str(query, &q);
	if (strcmp(path, "/events") == 0 && cmd == EVHTTP_REQ_GET)
		api_events(req);
	else if (strcmp(path, "/status") == 0 && cmd == EVHTTP_REQ_GET &&
	         !store_up(c->c_store))
		/* What the collector knows without the database. */
		http_reply_json(
		    req, 200,
		    json_pack("{s:s, s:i, s:n, s:s, s:s, s:b}", "phase",
		              c->c_phase ? c->c_phase : "", "agents_connected",
		              ingest_connected(c->c_ingest), "alarms", "user",
		              user->s_login, "database", "down", "stale", 1));
	else if (strcmp(path, "/status") == 0 && cmd == EVHTTP_REQ_GET)
		api_query(c, req, user,
		          "SELECT state, count(*) FROM watchstand.alarms WHERE "
		          "state <> 'closed' GROUP BY state",
		          0, NULL, api_status_done);
	else if (strcmp(path, "/agents") == 0 && cmd == EVHTTP_REQ_GET)
		api_query(c, req, user,
		          "SELECT name, role, address, version, first_seen, "
		          "last_seen FROM watchstand.agents ORDER BY name",
		          0, NULL, api_rows_done);
	else if (strcmp(path, "/series") == 0 && cmd == EVHTTP_REQ_GET) {
		params[0] = evhttp_find_header(&q, "host");
		api_query(
		    c, req, user,
		    "SELECT a.name AS host, a.role, s.series, max(s.ts) AS "
		    "last_ts FROM watchstand.samples s JOIN "
		    "watchstand.agents a ON a.id = s.agent_id WHERE s.ts > "
		    "now() - interval '1 hour' AND ($1::text IS NULL OR "
		    "a.name = $1) GROUP BY 1, 2, 3 ORDER BY 1, 3 LIMIT 5000",
		    1, params, api_rows_done);
	} else if (strcmp(path, "/samples") == 0 && cmd == EVHTTP_REQ_GET) {
		params[0] = evhttp_find_header(&q, "series");
		params[1] = evhttp_find_header(&q, "host");
		params[2] = evhttp_find_header(&q, "from");
		params[3] = evhttp_find_header(&q, "to");
		if (params[0] == NULL)
			api_error(req, 400, "series= is required");
		else {
			static const char *const names[] = {"series", "host",
			                                    "from", "to"};
			struct api_pending *p =
			    api_pending_new(c, req, user, api_rows_done);
			api_name_params(p, names, params, 4);
			api_send(
			    p,
			    "SELECT ts, host, series, value FROM "
			    "watchstand.v_samples WHERE series = $1 AND "
			    "($2::text IS NULL OR host = $2) AND ts >= "
			    "coalesce($3::timestamptz, now() - interval '1 "
			    "hour') AND ts <= coalesce($4::timestamptz, "
			    "now()) ORDER BY ts LIMIT 10000",
			    4, params);
		}
	} else if (strcmp(path, "/alarms") == 0 && cmd == EVHTTP_REQ_GET) {
		params[0] = evhttp_find_header(&q, "state");
		api_query(c, req, user,
		          "SELECT id, raised_at, host, rule, series, severity, "
		          "state, value, suppressed, chattering, description, "
		          "runbook, acked_by, acked_at, cleared_at FROM "
		          "watchstand.alarms WHERE ($1::text IS NULL AND state "
		          "<> 'closed') OR state = $1 ORDER BY raised_at DESC "
		          "LIMIT 500",
		          1, params, api_rows_done);
	} else if (sscanf(path, "/alarms/%ld/%31s", &id, tail) == 2 &&
	           strcmp(tail, "ack") == 0 && cmd == EVHTTP_REQ_POST) {
		json_t *body = api_body(req);
		const char *comment = NULL;
		struct api_pending *p;

		if (user->s_role < ROLE_WATCHSTANDER) {
			json_decref(body);
			api_error(req, 403, "a viewer cannot acknowledge");
		} else if (evbuffer_get_length(
		               evhttp_request_get_input_buffer(req)) > 0 &&
		           (body == NULL ||
		            json_unpack(body, "{s?:s}", "comment", &comment) !=
		                0)) {
			json_decref(body);
			api_error(req, 400,
			          "expected {\"comment\": \"...\"} or "
			          "no body");
		} else {
			snprintf(idbuf, sizeof(idbuf), "%ld", id);
			params[0] = idbuf;
			params[1] = user->s_login;
			params[2] = comment;
			p = api_pending_new(c, req, user, api_ack_done);
			snprintf(p->p_text, sizeof(p->p_text), "%ld", id);
			api_send(p, alarm_ack_sql, 3, params);
			json_decref(body);
		}
	} else if (sscanf(path, "/alarms/%ld/%31s", &id, tail) == 2 &&
	           (strcmp(tail, "shelve") == 0 ||
	            strcmp(tail, "unshelve") == 0) &&
	           cmd == EVHTTP_REQ_POST) {
		int shelve = tail[0] == 's';
		json_t *body = api_body(req);
		const char *reason = NULL;
		json_int_t minutes = 0;
		char mbuf[32], err[160];
		struct api_pending *p;

		if (user->s_role < ROLE_WATCHSTANDER)
			api_error(req, 403, "a viewer cannot shelve");
		else if (shelve &&
		         api_minutes_reason(
		             body, (json_int_t)(c->c_conf.cc_max_shelve_ms / 60000),
		             &minutes, &reason, err, sizeof(err)) != NULL) {
			if (strncmp(err, "minutes: at most", 16) == 0)
				strncat(err, " (collector.max_shelve)",
				        sizeof(err) - strlen(err) - 1);
			api_error(req, 400, err);
		} else {
			snprintf(idbuf, sizeof(idbuf), "%ld", id);
			snprintf(mbuf, sizeof(mbuf), "%lld",
			         (long long)minutes);
			params[0] = idbuf;
			params[1] = user->s_login;
			params[2] = reason;
			params[3] = mbuf;
			p = api_pending_new(c, req, user, api_shelve_done);
			snprintf(p->p_text, sizeof(p->p_text), "%c%ld",
			         shelve ? 's' : 'u', id);
			if (shelve)
				api_send(
				    p,
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
		json_decref(body);
	} else if (strncmp(path, "/hosts/", 7) == 0 && cmd == EVHTTP_REQ_POST &&
	           (strstr(path + 7, "/out-of-service") != NULL ||
	            strstr(path + 7, "/in-service") != NULL)) {
		int out = strstr(path + 7, "/out-of-service") != NULL;
		const char *slash = strchr(path + 7, '/');
		char host[65], mbuf[32];
		json_t *body = out ? api_body(req) : NULL;
		const char *reason = NULL;
		json_int_t minutes = 0;
		struct api_pending *p;
		char err[160];

		snprintf(host, sizeof(host), "%.*s", (int)(slash - path - 7),
		         path + 7);
		if (user->s_role < ROLE_WATCHSTANDER)
			api_error(req, 403,
			          "a viewer cannot take hosts out of "
			          "service");
		else if (out &&
		         api_minutes_reason(body, 7 * 24 * 60, &minutes, &reason,
		                            err, sizeof(err)) != NULL)
			api_error(req, 400, err);
		else {
			snprintf(mbuf, sizeof(mbuf), "%lld",
			         (long long)minutes);
			params[0] = host;
			params[1] = user->s_login;
			params[2] = out ? reason : NULL;
			params[3] = out ? mbuf : "0";
			p = api_pending_new(c, req, user, api_oos_done);
			snprintf(p->p_text, sizeof(p->p_text), "%c%s",
			         out ? 'o' : 'i', host);
			if (out)
				api_send(
				    p,
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
				api_send(
				    p,
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
		json_decref(body);
	} else if (strcmp(path, "/log") == 0 && cmd == EVHTTP_REQ_GET) {
		static const char *const names[] = {"since", "kind"};
		struct api_pending *p =
		    api_pending_new(c, req, user, api_rows_done);

		params[0] = evhttp_find_header(&q, "since");
		params[1] = evhttp_find_header(&q, "kind");
		api_name_params(p, names, params, 2);
		api_send(p,
		         "SELECT id, ts, shift_id, kind, actor, text FROM "
		         "watchstand.v_shift_log WHERE ts >= now() - "
		         "coalesce($1::interval, '8 hours') AND ($2::text IS "
		         "NULL OR kind = $2) ORDER BY id DESC LIMIT 1000",
		         2, params);
	} else if (strcmp(path, "/log") == 0 && cmd == EVHTTP_REQ_POST) {
		json_t *body = api_body(req);
		const char *text = NULL;

		if (user->s_role < ROLE_WATCHSTANDER)
			api_error(req, 403, "a viewer cannot write the log");
		else if (body == NULL ||
		         json_unpack(body, "{s:s}", "text", &text) != 0 ||
		         text[0] == '\0')
			api_error(req, 400, "expected {\"text\": \"...\"}");
		else {
			struct api_pending *p =
			    api_pending_new(c, req, user, api_note_done);
			snprintf(p->p_text, sizeof(p->p_text), "%s", text);
			params[0] = user->s_login;
			params[1] = text;
			api_send(
			    p,
			    "INSERT INTO watchstand.shift_log (kind, actor, "
			    "text) VALUES ('note', $1, $2) RETURNING id",
			    2, params);
		}
		json_decref(body);
	} else
		api_error(req, 404, "no such API call");
	evhttp_clear_headers(&q);
	return 1;
}
