/*
 * Sessions: POST /login (the password checked off the loop, throttled by
 * login and by address), POST /logout, the check of every call's token or
 * cookie, and the sessions' synchronisation with the database.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <uthash.h>

#include "watchstand/clock.h"
#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include "collector.h"
#include "duty/hasher.h"
#include "duty/shiftlog.h"
#include "duty/throttle.h"
#include "duty/users.h"
#include "ingest/store.h"
#include "web/api.h"
#include "web/api_int.h"
#include "web/routes.h"

#define API_HASH_QUEUE 32 /* password checks waiting at most */
#define API_SWEEP_S 10    /* expiry of sessions and throttle entries */
#define API_SWEEP_DB_N 6  /* expired sessions leave the database every 6th */
#define API_LOOKUPS_MAX 8 /* unknown tokens being looked up at most */

/* A login whose password is being checked on the hasher's thread. */
struct api_login {
	struct api_login *l_next;
	struct evhttp_request *l_req;    /* NULL once the client went away */
	struct evhttp_request *l_orphan; /* ours to free (api_req_gone) */
	struct evhttp_connection *l_evcon;
	int l_role; /* -1: no such login (checked against the dummy hash) */
	char l_login[65];
	char l_addr[64];
};

/* A token this collector does not know, being looked up in the database:
 * a session another collector made since the last synchronisation. */
struct api_lookup {
	struct api_lookup *k_next;
	struct evhttp_request *k_req;    /* NULL once the client went away */
	struct evhttp_request *k_orphan; /* ours to free (api_req_gone) */
	struct evhttp_connection *k_evcon;
	char k_hash[65];
	char k_addr[64];
};

struct api_state {
	struct api_session *a_sessions;
	/* Logins: throttles, the hasher, sessions from the database. */
	struct collector *a_c;
	struct api_login *a_logins;
	struct throttle *a_by_login;
	struct throttle *a_by_addr;
	/* Unknown tokens by address: a miss costs a query, so few. */
	struct throttle *a_by_miss;
	struct api_lookup *a_lookups;
	unsigned a_lookups_n;
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

static void api_sweep_cb(evutil_socket_t fd, short what, void *arg);
static void api_sessions_sync(void);

void
api_session_init(struct collector *c)
{
	memset(&api, 0, sizeof(api));
	api.a_c = c;
	api.a_by_login = throttle_new(&c->c_conf.cc_login_throttle);
	api.a_by_addr = throttle_new(&c->c_conf.cc_addr_throttle);
	api.a_by_miss = throttle_new(&c->c_conf.cc_addr_throttle);
	if (api.a_by_login == NULL || api.a_by_addr == NULL ||
	    api.a_by_miss == NULL)
		fatalx("api: out of memory");
	if (users_dummy_hash(api.a_dummy, sizeof(api.a_dummy)) == -1)
		fatalx("api: cannot make a yescrypt hash (libxcrypt)");
	if ((api.a_hasher = hasher_new(c->c_base, API_HASH_QUEUE)) == NULL)
		fatalx("api: cannot start the password hasher");
	api.a_sweep = event_new(c->c_base, -1, EV_PERSIST, api_sweep_cb, NULL);
	event_add(api.a_sweep, &(struct timeval){API_SWEEP_S, 0});
	/* Sessions outlive a restart: requests wait (503) until loaded. */
	api_sessions_sync();
}

void
api_session_free(void)
{
	struct api_session *s, *tmp;
	struct api_login *l;
	struct api_lookup *k;

	/* The worker first: no result may arrive for a freed login. */
	hasher_free(api.a_hasher);
	api.a_hasher = NULL;
	while ((l = api.a_logins) != NULL) {
		api.a_logins = l->l_next;
		if (l->l_orphan != NULL)
			evhttp_request_free(l->l_orphan);
		free(l);
	}
	/* The store is freed after this, calling back with no result. */
	for (k = api.a_lookups; k != NULL; k = k->k_next)
		api_req_gone(&k->k_req, &k->k_orphan);
	if (api.a_sweep != NULL)
		event_free(api.a_sweep);
	api.a_sweep = NULL;
	throttle_free(api.a_by_login);
	throttle_free(api.a_by_addr);
	throttle_free(api.a_by_miss);
	api.a_by_login = api.a_by_addr = api.a_by_miss = NULL;
	HASH_ITER(hh, api.a_sessions, s, tmp)
	{
		HASH_DEL(api.a_sessions, s);
		free(s);
	}
}

/* Bearer token, or the session cookie plus its CSRF header. NULL with
 * *code 401 for no or a wrong token, 503 while the stored sessions are
 * not loaded yet (the token may be one of them). */
/* The caller's token (Bearer, else the session cookie); 1 when it came
 * in the cookie, -1 when there is none. */
static int
api_token(struct evkeyvalq *h, char *token, size_t len)
{
	const char *auth = evhttp_find_header(h, "Authorization");
	const char *cookie = evhttp_find_header(h, "Cookie");

	token[0] = '\0';
	if (auth != NULL && strncmp(auth, "Bearer ", 7) == 0) {
		snprintf(token, len, "%s", auth + 7);
		return token[0] != '\0' ? 0 : -1;
	}
	if (route_cookie(cookie, "ws_session", token, len) == 0 &&
	    token[0] != '\0')
		return 1;
	return -1;
}

const struct api_session *
api_auth(struct evhttp_request *req, int *code)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	char token[128], hash[65];
	struct api_session *s;
	int via_cookie;

	*code = 401;
	if ((via_cookie = api_token(h, token, sizeof(token))) == -1)
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

/* The client may close while its token is looked up. */
static void
api_lookup_closed(struct evhttp_connection *evcon, void *arg)
{
	struct api_lookup *k;

	for (k = api.a_lookups; k != NULL; k = k->k_next)
		if (k->k_evcon == evcon)
			api_req_gone(&k->k_req, &k->k_orphan);
	api_conn_closed(evcon, arg);
}

/* The database's answer: the session joins the table and the request is
 * handled again (finding it now), or the miss counts for its address. */
static void
api_lookup_done(void *arg, PGresult *r)
{
	struct api_lookup *k = arg, **kp;
	struct api_session *s;
	int role = -1, episode;

	for (kp = &api.a_lookups; *kp != NULL; kp = &(*kp)->k_next)
		if (*kp == k) {
			*kp = k->k_next;
			break;
		}
	api.a_lookups_n--;
	if (r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK &&
	    PQntuples(r) == 1)
		role = user_role_parse(PQgetvalue(r, 0, 1));
	HASH_FIND_STR(api.a_sessions, k->k_hash, s);
	if (role >= 0 && s == NULL && (s = xcalloc(1, sizeof(*s))) != NULL) {
		snprintf(s->s_hash, sizeof(s->s_hash), "%s", k->k_hash);
		snprintf(s->s_login, sizeof(s->s_login), "%s",
		         PQgetvalue(r, 0, 0));
		snprintf(s->s_csrf, sizeof(s->s_csrf), "%s",
		         PQgetvalue(r, 0, 2));
		s->s_role = role;
		s->s_expires = (time_t)strtoll(PQgetvalue(r, 0, 3), NULL, 10);
		s->s_seen = 1;
		HASH_ADD_STR(api.a_sessions, s_hash, s);
	} else if (r != NULL && role < 0)
		throttle_fail(api.a_by_miss, k->k_addr, clock_mono_ms(),
		              &episode);
	if (k->k_req != NULL) {
		if (r == NULL)
			api_db_unavailable(k->k_req, api.a_c);
		else if (s == NULL)
			api_error(k->k_req, 401,
			          "log in first (POST /api/v1/login)");
		else if (!api_handle(api.a_c, k->k_req))
			api_error(k->k_req, 404, "no such API call");
	}
	if (k->k_orphan != NULL)
		evhttp_request_free(k->k_orphan);
	free(k);
}

/*
 * A session made on the other collector a moment ago (the follower
 * forwards a write of a user who just logged in there) is not here until
 * the next synchronisation: an unknown token is looked up once in the
 * database before the 401. Bounded: a few lookups at a time, and an
 * address whose unknown tokens keep missing is throttled as failed
 * logins are (collector.login's per-address limit), then answered 401
 * without a query.
 */
int
api_session_lookup(struct collector *c, struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	char token[128], *peer = NULL;
	struct api_session *s;
	struct api_lookup *k;
	const char *params[1];
	ev_uint16_t port = 0;
	size_t i;

	if (!api.a_loaded || api.a_lookups_n >= API_LOOKUPS_MAX ||
	    api_token(h, token, sizeof(token)) == -1)
		return 0;
	/* Only what users_new_token makes: 64 hex digits. */
	for (i = 0; token[i] != '\0'; i++)
		if (!isxdigit((unsigned char)token[i]))
			return 0;
	if (i != 64)
		return 0;
	if ((k = xcalloc(1, sizeof(*k))) == NULL)
		return 0;
	users_token_hash(token, k->k_hash, sizeof(k->k_hash));
	explicit_bzero(token, sizeof(token));
	HASH_FIND_STR(api.a_sessions, k->k_hash, s);
	evhttp_connection_get_peer(evcon, &peer, &port);
	snprintf(k->k_addr, sizeof(k->k_addr), "%s",
	         peer != NULL ? peer : "unknown");
	/* Known (then expired, or a wrong CSRF token), or throttled. */
	if (s != NULL ||
	    throttle_wait(api.a_by_miss, k->k_addr, clock_mono_ms()) > 0) {
		free(k);
		return 0;
	}
	k->k_req = req;
	k->k_evcon = evcon;
	params[0] = k->k_hash;
	/* Listed first: a fast database may answer within the call. */
	k->k_next = api.a_lookups;
	api.a_lookups = k;
	api.a_lookups_n++;
	evhttp_connection_set_closecb(evcon, api_lookup_closed, NULL);
	if (store_query_by(c->c_store,
	                   "SELECT s.login, u.role, s.csrf_hash, extract(epoch "
	                   "FROM s.expires_at)::bigint FROM "
	                   "watchstand.sessions s JOIN watchstand.users u ON "
	                   "u.login = s.login WHERE s.token_hash = $1 AND "
	                   "s.expires_at > now()",
	                   1, params, api_lookup_done, k,
	                   API_DB_DEADLINE_MS) == -1) {
		api.a_lookups = k->k_next;
		api.a_lookups_n--;
		free(k);
		return 0;
	}
	return 1;
}

/* ---- POST /login, POST /logout, sessions ---- */

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
			api_req_gone(&l->l_req, &l->l_orphan);
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
		if ((s = xcalloc(1, sizeof(*s))) == NULL) {
			api_error(p->p_req, 503, "out of memory");
			return;
		}
		*s = p->p_user;
		HASH_ADD_STR(api.a_sessions, s_hash, s);
	}
	snprintf(cookie, sizeof(cookie),
	         "ws_session=%.64s; HttpOnly; SameSite=Strict; Path=/%s",
	         p->p_password,
	         p->p_c->c_conf.cc_http_tls_cert ? "; Secure" : "");
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
	int64_t now = clock_mono_ms(), bl, ba;
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
	if (l->l_orphan != NULL)
		evhttp_request_free(l->l_orphan);
	free(l);
}

/* The user's row (or none): check the password off the loop, against
 * the dummy hash when there is no such login, so both take as long. */
static void
api_login_done(struct api_pending *p, PGresult *r)
{
	int known = PQntuples(r) == 1;
	const char *hash = known ? PQgetvalue(r, 0, 1) : api.a_dummy;
	struct api_login *l = xcalloc(1, sizeof(*l));

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

void
api_login(struct api_req *ar)
{
	struct collector *c = ar->ar_c;
	struct evhttp_request *req = ar->ar_req;
	json_t *body = json_incref(ar->ar_body);
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
	now = clock_mono_ms();
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
	                  p->p_c->c_conf.cc_http_tls_cert
	                      ? "ws_session=; HttpOnly; SameSite=Strict; "
	                        "Path=/; Max-Age=0; Secure"
	                      : "ws_session=; HttpOnly; SameSite=Strict; "
	                        "Path=/; Max-Age=0");
	log_info("api: %s logged out", p->p_user.s_login);
	http_reply_json(p->p_req, 200,
	                json_pack("{s:s}", "logged_out", p->p_user.s_login));
}

/* Ends the caller's session: at once here, then in the database. */
void
api_logout(struct api_req *ar)
{
	struct api_session *s, copy = *ar->ar_user;
	const char *params[1] = {copy.s_hash};

	HASH_FIND_STR(api.a_sessions, copy.s_hash, s);
	if (s != NULL) {
		HASH_DEL(api.a_sessions, s);
		free(s);
	}
	api.a_logouts++;
	api_send(api_pending_new(ar->ar_c, ar->ar_req, &copy, api_logout_done),
	         "DELETE FROM watchstand.sessions WHERE token_hash = $1", 1,
	         params);
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
			if (!may_add || (s = xcalloc(1, sizeof(*s))) == NULL)
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
	int64_t mono = clock_mono_ms();

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
	throttle_expire(api.a_by_miss, mono);
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
	api_forward_metrics(out);
}
