#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <uthash.h>

#include "watchstand/log.h"
#include "alarm/alarm.h"
#include "web/api.h"
#include "collector.h"
#include "events.h"
#include "duty/hasher.h"
#include "ingest/ingest.h"
#include "duty/shiftlog.h"
#include "ingest/store.h"
#include "alarm/rules.h"
#include "duty/throttle.h"
#include "duty/users.h"

#define API_SESSION_S (12 * 3600) /* a shift and then some */
#define API_BODY_MAX (64 * 1024)
/* A request not sent to the database by then answers 503 and is never
 * applied: the user's retry must not be the second copy. */
#define API_DB_DEADLINE_MS 800
#define API_HASH_QUEUE 32 /* password checks waiting at most */
#define API_SWEEP_S 10    /* expiry of sessions and throttle entries */
#define API_SWEEP_DB_N 6  /* expired sessions leave the database every 6th */

/* A session, kept in memory for a synchronous check of every request and
 * in watchstand.sessions (hashed) so that it outlives a restart. */
struct api_session {
	UT_hash_handle hh;
	char s_hash[65]; /* SHA-256 of the token */
	char s_login[65];
	char s_csrf[65]; /* SHA-256 of the CSRF token */
	int s_role;
	time_t s_expires;
	int s_seen; /* by the last synchronisation with the database */
};

/* A login whose password is being checked on the hasher's thread. */
struct api_login {
	struct api_login *l_next;
	struct evhttp_request *l_req; /* NULL once the client went away */
	struct evhttp_connection *l_evcon;
	int l_role; /* -1: no such login (checked against the dummy hash) */
	char l_login[65];
	char l_addr[64];
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
	/* Logins: throttles, the hasher, sessions from the database. */
	struct collector *a_c;
	struct api_login *a_logins;
	struct throttle *a_by_login;
	struct throttle *a_by_addr;
	struct hasher *a_hasher;
	struct event *a_sweep;
	char a_dummy[256]; /* checked for unknown logins */
	int a_loaded;      /* the stored sessions are in a_sessions */
	int a_loading;     /* a synchronisation is under way */
	unsigned a_logouts, a_sync_logouts;
	unsigned a_ticks;
	uint64_t a_logins_ok, a_logins_failed, a_logins_throttled,
	    a_logins_busy;
};

static struct api_state api;

static void api_pending_free(struct api_pending *p);
static void api_sweep_cb(evutil_socket_t fd, short what, void *arg);
static void api_sessions_sync(void);
static void api_on_log(void *arg, const struct event_msg *m);

void
api_init(struct collector *c)
{
	memset(&api, 0, sizeof(api));
	api.a_c = c;
	api.a_by_login = throttle_new(&c->c_conf.cc_login_throttle);
	api.a_by_addr = throttle_new(&c->c_conf.cc_addr_throttle);
	if (api.a_by_login == NULL || api.a_by_addr == NULL)
		fatalx("api: out of memory");
	if (users_dummy_hash(api.a_dummy, sizeof(api.a_dummy)) == -1)
		fatalx("api: cannot make a yescrypt hash (libxcrypt)");
	if ((api.a_hasher = hasher_new(c->c_base, API_HASH_QUEUE)) == NULL)
		fatalx("api: cannot start the password hasher");
	api.a_sweep = event_new(c->c_base, -1, EV_PERSIST, api_sweep_cb, NULL);
	event_add(api.a_sweep, &(struct timeval){API_SWEEP_S, 0});
	/* Sessions outlive a restart: requests wait (503) until loaded. */
	api_sessions_sync();
	events_subscribe(c->c_events, EVENT_MASK(EVENT_LOG), api_on_log, NULL);
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
	struct api_login *l;

	events_unsubscribe(c->c_events, api_on_log, NULL);
	/* The worker first: no result may arrive for a freed login. */
	hasher_free(api.a_hasher);
	api.a_hasher = NULL;
	while ((l = api.a_logins) != NULL) {
		api.a_logins = l->l_next;
		free(l);
	}
	if (api.a_sweep != NULL)
		event_free(api.a_sweep);
	api.a_sweep = NULL;
	throttle_free(api.a_by_login);
	throttle_free(api.a_by_addr);
	api.a_by_login = api.a_by_addr = NULL;
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

/* Bearer token, or the session cookie plus its CSRF header. NULL with
 * *code 401 for no or a wrong token, 503 while the stored sessions are
 * not loaded yet (the token may be one of them). */
static const struct api_session *
api_auth(struct evhttp_request *req, int *code)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *auth = evhttp_find_header(h, "Authorization");
	const char *cookie = evhttp_find_header(h, "Cookie");
	char token[128] = "", hash[65];
	struct api_session *s;
	int via_cookie = 0;

	*code = 401;
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
	if (s == NULL && !api.a_loaded)
		*code = 503;
	if (s == NULL || s->s_expires < time(NULL))
		return NULL;
	if (via_cookie) {
		const char *csrf = evhttp_find_header(h, "X-CSRF-Token");
		char chash[65] = "";
		if (csrf != NULL)
			users_token_hash(csrf, chash, sizeof(chash));
		if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
		    (csrf == NULL ||
		     CRYPTO_memcmp(chash, s->s_csrf, sizeof(chash)) != 0))
			return NULL;
	}
	return s;
}

/* Every shift log entry goes to each /events client. */
static void
api_on_log(void *arg, const struct event_msg *m)
{
	const char *kind = m->em_log_kind, *actor = m->em_actor,
	           *text = m->em_text;
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
/* ---- POST /login, POST /logout, sessions ---- */

static int64_t
api_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Text from a client made fit for the logs: control characters and
 * broken UTF-8 (a login cut short) become '?'. */
static void
api_clean(const char *in, char *out, size_t olen)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0;
	int n, i;

	while (*p != '\0' && o + 1 < olen) {
		n = *p < 0x80             ? 1
		    : (*p & 0xe0) == 0xc0 ? 2
		    : (*p & 0xf0) == 0xe0 ? 3
		    : (*p & 0xf8) == 0xf0 ? 4
		                          : 0;
		for (i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				n = 0;
		if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f)) ||
		    o + n >= olen) {
			out[o++] = '?';
			p++;
			continue;
		}
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = '\0';
}

static void
api_retry_after(struct evhttp_request *req, int64_t ms)
{
	char v[32];

	snprintf(v, sizeof(v), "%lld", (long long)((ms + 999) / 1000));
	evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
	                  v);
}

static void
api_login_busy(struct evhttp_request *req)
{
	api.a_logins_busy++;
	api_retry_after(req, 1000);
	api_error(req, 503, "busy: too many logins at once; try again");
}

/* The client may close while its password is being checked. */
static void
api_login_closed(struct evhttp_connection *evcon, void *arg)
{
	struct api_login *l;

	for (l = api.a_logins; l != NULL; l = l->l_next)
		if (l->l_evcon == evcon)
			l->l_req = NULL;
	api_conn_closed(evcon, arg);
}

/* The session row is committed: now the client may have its token. */
static void
api_session_saved(struct api_pending *p, PGresult *r)
{
	struct api_session *s;
	char cookie[160];

	(void)r;
	HASH_FIND_STR(api.a_sessions, p->p_user.s_hash, s);
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL) {
			api_error(p->p_req, 503, "out of memory");
			return;
		}
		*s = p->p_user;
		HASH_ADD_STR(api.a_sessions, s_hash, s);
	}
	snprintf(cookie, sizeof(cookie),
	         "ws_session=%.64s; HttpOnly; SameSite=Strict; Path=/",
	         p->p_password);
	evhttp_add_header(evhttp_request_get_output_headers(p->p_req),
	                  "Set-Cookie", cookie);
	log_info("api: %s logged in (%s)", s->s_login,
	         user_role_names[s->s_role]);
	http_reply_json(p->p_req, 200,
	                json_pack("{s:s, s:s, s:s, s:s}", "token",
	                          p->p_password, "csrf", p->p_text, "login",
	                          s->s_login, "role",
	                          user_role_names[s->s_role]));
}

/* A new session for l: stored (hashed) first, answered when committed. */
static void
api_session_start(struct api_login *l)
{
	struct api_session s;
	struct api_pending *p;
	char token[65], csrf[65], expires[32];
	const char *params[5];

	memset(&s, 0, sizeof(s));
	users_new_token(token, sizeof(token), s.s_hash, sizeof(s.s_hash));
	users_new_token(csrf, sizeof(csrf), s.s_csrf, sizeof(s.s_csrf));
	snprintf(s.s_login, sizeof(s.s_login), "%s", l->l_login);
	s.s_role = l->l_role;
	s.s_expires = time(NULL) + API_SESSION_S;
	snprintf(expires, sizeof(expires), "%lld", (long long)s.s_expires);
	p = api_pending_new(api.a_c, l->l_req, &s, api_session_saved);
	/* p_password is wiped when p is done. */
	snprintf(p->p_password, sizeof(p->p_password), "%s", token);
	snprintf(p->p_text, sizeof(p->p_text), "%s", csrf);
	explicit_bzero(token, sizeof(token));
	params[0] = s.s_hash;
	params[1] = s.s_login;
	params[2] = user_role_names[s.s_role];
	params[3] = s.s_csrf;
	params[4] = expires;
	api_send(p,
	         "INSERT INTO watchstand.sessions (token_hash, login, role, "
	         "csrf_hash, expires_at) VALUES ($1, $2, $3, $4, "
	         "to_timestamp($5::bigint))",
	         5, params);
}

/* Counts a failure for the login and the address; the failure that
 * starts a throttle episode is written to the shift log, once. */
static void
api_login_failed(struct api_login *l)
{
	struct collector *c = api.a_c;
	int64_t now = api_now_ms(), bl, ba;
	int ep_login, ep_addr;
	char login[200], text[512];

	api.a_logins_failed++;
	api_clean(l->l_login, login, sizeof(login));
	bl = throttle_fail(api.a_by_login, l->l_login, now, &ep_login);
	ba = throttle_fail(api.a_by_addr, l->l_addr, now, &ep_addr);
	log_warnx("api: failed login for '%s' from %s", login, l->l_addr);
	if (ep_login) {
		snprintf(text, sizeof(text),
		         "login: %u failed attempts for '%s' from %s; "
		         "throttled for %lld s",
		         c->c_conf.cc_login_throttle.tc_max_failures, login,
		         l->l_addr, (long long)((bl + 999) / 1000));
		log_warnx("api: %s", text);
		shiftlog_add(c->c_store, c->c_events, "note", "system", text);
	}
	if (ep_addr) {
		snprintf(text, sizeof(text),
		         "login: %u failed attempts from %s (the last for "
		         "'%s'); throttled for %lld s",
		         c->c_conf.cc_addr_throttle.tc_max_failures, l->l_addr,
		         login, (long long)((ba + 999) / 1000));
		log_warnx("api: %s", text);
		shiftlog_add(c->c_store, c->c_events, "note", "system", text);
	}
}

/* The hasher's answer, back on the loop. */
static void
api_login_checked(void *arg, int ok)
{
	struct api_login *l = arg, **lp;

	for (lp = &api.a_logins; *lp != NULL; lp = &(*lp)->l_next)
		if (*lp == l) {
			*lp = l->l_next;
			break;
		}
	if (ok && l->l_role >= 0) {
		api.a_logins_ok++;
		throttle_success(api.a_by_login, l->l_login);
		/* Gone before the answer: no session nobody can use. */
		if (l->l_req != NULL)
			api_session_start(l);
	} else {
		api_login_failed(l);
		if (l->l_req != NULL)
			api_error(l->l_req, 401, "wrong login or password");
	}
	free(l);
}

/* The user's row (or none): check the password off the loop, against
 * the dummy hash when there is no such login, so both take as long. */
static void
api_login_done(struct api_pending *p, PGresult *r)
{
	int known = PQntuples(r) == 1;
	const char *hash = known ? PQgetvalue(r, 0, 1) : api.a_dummy;
	struct api_login *l = calloc(1, sizeof(*l));

	if (l == NULL) {
		api_login_busy(p->p_req);
		return;
	}
	l->l_req = p->p_req;
	l->l_evcon = p->p_evcon;
	l->l_role = known ? user_role_parse(PQgetvalue(r, 0, 0)) : -1;
	snprintf(l->l_login, sizeof(l->l_login), "%s", p->p_login);
	snprintf(l->l_addr, sizeof(l->l_addr), "%.63s", p->p_text);
	if (hasher_check(api.a_hasher, p->p_password, hash, api_login_checked,
	                 l) == -1) {
		free(l);
		api_login_busy(p->p_req);
		return;
	}
	l->l_next = api.a_logins;
	api.a_logins = l;
	evhttp_connection_set_closecb(l->l_evcon, api_login_closed, NULL);
}

static void
api_login(struct collector *c, struct evhttp_request *req)
{
	json_t *body = api_body(req);
	const char *login = NULL, *password = NULL;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct api_pending *p;
	const char *params[1];
	char *peer = NULL;
	const char *addr;
	ev_uint16_t port = 0;
	int64_t now, wait, w;
	char key[sizeof(((struct api_login *)0)->l_login)];

	if (body == NULL || json_unpack(body, "{s:s, s:s}", "login", &login,
	                                "password", &password) != 0) {
		json_decref(body);
		api_error(req, 400,
		          "expected {\"login\": ..., \"password\": ...}");
		return;
	}
	evhttp_connection_get_peer(evcon, &peer, &port);
	addr = peer != NULL ? peer : "unknown";
	/* Refused at once, the password unchecked: no oracle while
	 * throttled, and no hashing for whoever hammers. */
	now = api_now_ms();
	/* The key the failures are counted under (api_login_failed). */
	snprintf(key, sizeof(key), "%s", login);
	wait = throttle_wait(api.a_by_login, key, now);
	if ((w = throttle_wait(api.a_by_addr, addr, now)) > wait)
		wait = w;
	if (wait > 0) {
		char msg[96];
		api.a_logins_throttled++;
		snprintf(msg, sizeof(msg),
		         "too many failed logins; try again in %lld s",
		         (long long)((wait + 999) / 1000));
		api_retry_after(req, wait);
		http_reply_json(req, 429,
		                json_pack("{s:s, s:I}", "error", msg,
		                          "retry_after",
		                          (json_int_t)((wait + 999) / 1000)));
		json_decref(body);
		return;
	}
	if (hasher_busy(api.a_hasher)) {
		json_decref(body);
		api_login_busy(req);
		return;
	}
	params[0] = login;
	p = api_pending_new(c, req, NULL, api_login_done);
	snprintf(p->p_login, sizeof(p->p_login), "%s", login);
	snprintf(p->p_password, sizeof(p->p_password), "%s", password);
	snprintf(p->p_text, sizeof(p->p_text), "%s", addr);
	api_send(p,
	         "SELECT role, password_hash FROM watchstand.users WHERE "
	         "login = $1",
	         1, params);
	json_decref(body);
}

static void
api_logout_done(struct api_pending *p, PGresult *r)
{
	(void)r;
	evhttp_add_header(evhttp_request_get_output_headers(p->p_req),
	                  "Set-Cookie",
	                  "ws_session=; HttpOnly; SameSite=Strict; Path=/; "
	                  "Max-Age=0");
	log_info("api: %s logged out", p->p_user.s_login);
	http_reply_json(p->p_req, 200,
	                json_pack("{s:s}", "logged_out", p->p_user.s_login));
}

/* Ends the caller's session: at once here, then in the database. */
static void
api_logout(struct collector *c, struct evhttp_request *req,
           const struct api_session *user)
{
	struct api_session *s, copy = *user;
	const char *params[1] = {copy.s_hash};

	HASH_FIND_STR(api.a_sessions, copy.s_hash, s);
	if (s != NULL) {
		HASH_DEL(api.a_sessions, s);
		free(s);
	}
	api.a_logouts++;
	api_query(c, req, &copy,
	          "DELETE FROM watchstand.sessions WHERE token_hash = $1", 1,
	          params, api_logout_done);
}

/* The database's sessions (the truth, shared by every collector on it)
 * replace the table: new ones are added, gone ones (logged out on another
 * collector, their user deleted) dropped, roles follow the users table. */
static void
api_sessions_synced(void *arg, PGresult *r)
{
	struct api_session *s, *tmp;
	time_t now = time(NULL);
	int i, n = 0;
	/* A logout since the query was sent: its row may still be in r. */
	int may_add = api.a_logouts == api.a_sync_logouts;

	(void)arg;
	api.a_loading = 0;
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
		if (!api.a_loaded)
			log_warnx("api: cannot load the sessions: %s; "
			          "retrying",
			          r ? PQresultErrorMessage(r) : "no result");
		return;
	}
	HASH_ITER(hh, api.a_sessions, s, tmp)
	{
		s->s_seen = 0;
	}
	for (i = 0; i < PQntuples(r); i++) {
		const char *hash = PQgetvalue(r, i, 0);
		int role = user_role_parse(PQgetvalue(r, i, 2));
		time_t exp = (time_t)strtoll(PQgetvalue(r, i, 4), NULL, 10);

		if (role < 0 || exp <= now)
			continue;
		HASH_FIND_STR(api.a_sessions, hash, s);
		if (s == NULL) {
			if (!may_add || (s = calloc(1, sizeof(*s))) == NULL)
				continue;
			snprintf(s->s_hash, sizeof(s->s_hash), "%s", hash);
			snprintf(s->s_login, sizeof(s->s_login), "%s",
			         PQgetvalue(r, i, 1));
			snprintf(s->s_csrf, sizeof(s->s_csrf), "%s",
			         PQgetvalue(r, i, 3));
			s->s_expires = exp;
			HASH_ADD_STR(api.a_sessions, s_hash, s);
			n++;
		}
		s->s_role = role;
		s->s_seen = 1;
	}
	/* Every session here was committed before the query ran (a login
	 * answers after its INSERT, which is in order with this). */
	HASH_ITER(hh, api.a_sessions, s, tmp)
	{
		if (!s->s_seen) {
			HASH_DEL(api.a_sessions, s);
			free(s);
		}
	}
	if (!api.a_loaded)
		log_info("api: %d session%s restored from the database", n,
		         n == 1 ? "" : "s");
	api.a_loaded = 1;
}

/* Reads the unexpired sessions, at start and then every sweep; one query
 * at a time, in order with the store's other statements. */
static void
api_sessions_sync(void)
{
	if (api.a_loading)
		return;
	api.a_loading = 1;
	api.a_sync_logouts = api.a_logouts;
	store_query(api.a_c->c_store,
	            "SELECT s.token_hash, s.login, u.role, s.csrf_hash, "
	            "extract(epoch FROM s.expires_at)::bigint FROM "
	            "watchstand.sessions s JOIN watchstand.users u ON "
	            "u.login = s.login WHERE s.expires_at > now()",
	            0, NULL, api_sessions_synced, NULL);
}

static void
api_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct api_session *s, *tmp;
	time_t now = time(NULL);
	int64_t mono = api_now_ms();

	(void)fd;
	(void)what;
	(void)arg;
	HASH_ITER(hh, api.a_sessions, s, tmp)
	{
		if (s->s_expires <= now) {
			HASH_DEL(api.a_sessions, s);
			free(s);
		}
	}
	throttle_expire(api.a_by_login, mono);
	throttle_expire(api.a_by_addr, mono);
	api_sessions_sync();
	if (++api.a_ticks % API_SWEEP_DB_N == 0 && api.a_c->c_stats.st_db_up)
		store_sql(api.a_c->c_store,
		          "DELETE FROM watchstand.sessions WHERE expires_at <= "
		          "now()",
		          0, NULL);
}

void
api_metrics(struct evbuffer *out)
{
	evbuffer_add_printf(
	    out,
	    "# HELP watchstand_login_hashes_total Password hashes computed "
	    "for logins (known and unknown alike).\n"
	    "# TYPE watchstand_login_hashes_total counter\n"
	    "watchstand_login_hashes_total %llu\n"
	    "# HELP watchstand_logins_total Login attempts by result.\n"
	    "# TYPE watchstand_logins_total counter\n"
	    "watchstand_logins_total{result=\"ok\"} %llu\n"
	    "watchstand_logins_total{result=\"failed\"} %llu\n"
	    "watchstand_logins_total{result=\"throttled\"} %llu\n"
	    "watchstand_logins_total{result=\"busy\"} %llu\n"
	    "# HELP watchstand_sessions Sessions open in this collector.\n"
	    "# TYPE watchstand_sessions gauge\n"
	    "watchstand_sessions %u\n",
	    (unsigned long long)(api.a_hasher ? hasher_count(api.a_hasher) : 0),
	    (unsigned long long)api.a_logins_ok,
	    (unsigned long long)api.a_logins_failed,
	    (unsigned long long)api.a_logins_throttled,
	    (unsigned long long)api.a_logins_busy,
	    (unsigned)HASH_COUNT(api.a_sessions));
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
			                        .em_alarm_id = atoll(p->p_text + 1)});
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
	events_log(p->p_c->c_events, "alarm", p->p_user.s_login, text);
	http_reply_json(
	    p->p_req, 200,
	    json_pack("{s:s, s:s, s:i}", "host", p->p_text + 1, "state",
	              p->p_text[0] == 'i' ? "in-service" : "out-of-service",
	              "alarms", atoi(PQgetvalue(r, 0, 2))));
}

static void
api_note_done(struct api_pending *p, PGresult *r)
{
	events_log(p->p_c->c_events, "note", p->p_user.s_login, p->p_text);
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
	int code;

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
	if ((user = api_auth(req, &code)) == NULL) {
		if (code == 503) {
			evhttp_add_header(
			    evhttp_request_get_output_headers(req),
			    "Retry-After", "1");
			api_error(req, 503,
			          "sessions are being loaded from the "
			          "database; try again");
		} else
			api_error(req, 401,
			          "log in first (POST /api/v1/login)");
		return 1;
	}
	if (strcmp(path, "/logout") == 0) {
		if (cmd != EVHTTP_REQ_POST)
			api_error(req, 405, "POST only");
		else
			api_logout(c, req, user);
		return 1;
	}
	TAILQ_INIT(&q);
	if (query != NULL)
		evhttp_parse_query_str(query, &q);
	if (strcmp(path, "/events") == 0 && cmd == EVHTTP_REQ_GET)
		api_events(req);
	else if (strcmp(path, "/reload") == 0 && cmd == EVHTTP_REQ_POST) {
		/* Reads and checks the whole file, swaps or keeps all. */
		char msg[1024];
		if (user->s_role < ROLE_ADMIN)
			api_error(req, 403,
			          "only an admin can reload the configuration");
		else if (c->c_reload == NULL ||
		         c->c_reload(c, c->c_file, user->s_login, msg,
		                     sizeof(msg)) == -1)
			api_error(req, 400,
			          c->c_reload == NULL ? "no config to reload"
			                              : msg);
		else
			http_reply_json(req, 200,
			                json_pack("{s:b, s:s}", "reloaded", 1,
			                          "summary", msg));
	} else if (strcmp(path, "/status") == 0 && cmd == EVHTTP_REQ_GET &&
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
