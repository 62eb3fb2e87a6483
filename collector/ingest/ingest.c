#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/err.h>

#include "watchstand/frame.h"
#include "watchstand/clock.h"
#include "watchstand/log.h"
#include "watchstand/proto.h"
#include "watchstand/tls.h"
#include "watchstand/xalloc.h"
#include "events.h"
#include "ingest/stats.h"
#include "ingest/ingest.h"
#include "duty/shiftlog.h"
#include "ingest/store.h"

#define INGEST_HELLO_TIMEOUT_S 10
#define INGEST_READ_TIMEOUT_S 30
/* Every second: an agent tells a stalled collector from a busy one within
 * seconds (agent/uplink.c, UPLINK_FAST_TIMEOUT_S). */
#define INGEST_HEARTBEAT_S 1

enum conn_state {
	CONN_TLS,     /* handshake */
	CONN_HELLO,   /* waiting for the agent's hello */
	CONN_WELCOME, /* hello stored, waiting for the database */
	CONN_READY,
	CONN_CLOSING, /* error frame queued, then free */
};

/* What we know of an agent beyond one connection, for /metrics. */
struct agent_info {
	struct agent_info *ai_next;
	int ai_id; /* in watchstand.agents; -1 before the first hello */
	char ai_name[PROTO_NAME_MAX + 1];
	char ai_role[PROTO_ROLE_MAX + 1];
	int ai_connected;
	double ai_spool_dropped_samples;
	double ai_spool_dropped_batches;
	double ai_spool_pending;
	double ai_last_batch; /* monotonic seconds; 0 before the first */
	double ai_last_fed;   /* the same, through the other collector */
	int ai_silent;
};

struct conn {
	struct conn *c_next;
	uint64_t c_id;
	struct ingest *c_in;
	struct bufferevent *c_bev;
	enum conn_state c_state;
	char c_addr[64];
	struct proto_hello c_hello;
	int c_agent_id;
	uint64_t c_last_seq; /* highest batch received on this connection */
	struct agent_info *c_info;
	struct pbuf c_frame;
	int c_paused;
};

/* An action sent to an agent, waiting for its result. */
struct pending_action {
	struct pending_action *pa_next;
	uint64_t pa_request;
	char pa_host[PROTO_NAME_MAX + 1];
	char pa_action[PROTO_NAME_MAX + 1];
	uint64_t pa_run;
	char pa_step[PROTO_STEP_MAX + 1];
	ingest_action_fn pa_done;
	void *pa_arg;
};

struct ingest {
	struct event_base *i_base;
	SSL_CTX *i_ctx;
	struct store *i_store;
	struct events *i_events;
	struct collector_stats *i_stats;
	uint64_t i_silence_ms;
	struct ingest_hooks i_hooks;
	struct evconnlistener *i_lis;
	struct conn *i_conns;
	struct agent_info *i_agents;
	uint64_t i_next_id;
	uint64_t i_next_request;
	struct pending_action *i_pending;
	ingest_relay_fn i_relay; /* the leader of a pair: relay.h */
	void *i_relay_arg;
	int i_connected;
	int i_paused;
	struct event *i_hb;
	struct event *i_silence;
};

static struct conn *
conn_find(struct ingest *in, uint64_t id)
{
	struct conn *c;

	for (c = in->i_conns; c != NULL; c = c->c_next)
		if (c->c_id == id)
			return c;
	return NULL;
}

static const char *
conn_who(struct conn *c, char *buf, size_t len)
{
	if (c->c_hello.h_name[0] != '\0')
		snprintf(buf, len, "agent %s from %s", c->c_hello.h_name,
		         c->c_addr);
	else
		snprintf(buf, len, "agent connection from %s", c->c_addr);
	return buf;
}

static void
conn_free(struct conn *c)
{
	struct ingest *in = c->c_in;
	struct conn **pp;

	for (pp = &in->i_conns; *pp != NULL; pp = &(*pp)->c_next)
		if (*pp == c) {
			*pp = c->c_next;
			break;
		}
	if (c->c_state == CONN_READY) {
		in->i_connected--;
		if (c->c_info != NULL)
			c->c_info->ai_connected = 0;
	}
	if (c->c_bev != NULL)
		bufferevent_free(c->c_bev);
	pbuf_free(&c->c_frame);
	free(c);
}

/* Closes with one log line naming the peer and the reason. */
static void
conn_close(struct conn *c, const char *why, int tell_peer)
{
	char who[192];

	if (c->c_state == CONN_READY) {
		char text[400];
		log_info("%s: disconnected: %s", conn_who(c, who, sizeof(who)),
		         why);
		snprintf(text, sizeof(text), "disconnected from %s: %s",
		         c->c_addr, why);
		shiftlog_add(c->c_in->i_store, c->c_in->i_events, "agent",
		             c->c_hello.h_name, text);
	} else {
		log_warnx("%s: refused: %s", conn_who(c, who, sizeof(who)),
		          why);
		c->c_in->i_stats->st_rejected++;
	}
	if (tell_peer && c->c_bev != NULL) {
		struct pbuf pb;

		pbuf_init(&pb);
		proto_put_error(&pb, why);
		bufferevent_write(c->c_bev, pb.pb_data, pb.pb_len);
		pbuf_free(&pb);
		bufferevent_disable(c->c_bev, EV_READ);
		if (c->c_state == CONN_READY) {
			c->c_in->i_connected--;
			if (c->c_info != NULL)
				c->c_info->ai_connected = 0;
		}
		c->c_state = CONN_CLOSING;
		return; /* freed by the write callback once sent */
	}
	conn_free(c);
}

static struct agent_info *
ingest_agent_info(struct ingest *in, const char *name)
{
	struct agent_info *ai;

	for (ai = in->i_agents; ai != NULL; ai = ai->ai_next)
		if (strcmp(ai->ai_name, name) == 0)
			return ai;
	ai = xcalloc(1, sizeof(*ai));
	ai->ai_id = -1;
	snprintf(ai->ai_name, sizeof(ai->ai_name), "%s", name);
	ai->ai_next = in->i_agents;
	in->i_agents = ai;
	return ai;
}

static void
conn_hello(struct conn *c, const uint8_t *p, size_t len)
{
	struct ingest *in = c->c_in;
	const char *why;
	char msg[256], cn[128];
	struct conn *o;
	SSL *ssl = bufferevent_openssl_get_ssl(c->c_bev);

	if (proto_get_hello(p, len, &c->c_hello, &why) == -1) {
		c->c_hello.h_name[0] = '\0';
		conn_close(c, why, 1);
		return;
	}
	if (c->c_hello.h_version < PROTO_VERSION_MIN ||
	    c->c_hello.h_version > PROTO_VERSION) {
		snprintf(msg, sizeof(msg),
		         "unsupported protocol version %u (this collector "
		         "speaks %d to %d)",
		         c->c_hello.h_version, PROTO_VERSION_MIN,
		         PROTO_VERSION);
		conn_close(c, msg, 1);
		return;
	}
	if (!tls_peer_is(ssl, c->c_hello.h_name)) {
		snprintf(msg, sizeof(msg),
		         "certificate (CN=%s) does not name agent '%s'",
		         tls_peer_cn(ssl, cn, sizeof(cn)), c->c_hello.h_name);
		conn_close(c, msg, 1);
		return;
	}
	/* A reconnecting agent replaces its stale connection. */
	for (o = in->i_conns; o != NULL; o = o->c_next)
		if (o != c && o->c_state != CONN_CLOSING &&
		    strcmp(o->c_hello.h_name, c->c_hello.h_name) == 0) {
			conn_close(o, "replaced by a new connection", 0);
			break;
		}
	c->c_state = CONN_WELCOME;
	c->c_info = ingest_agent_info(in, c->c_hello.h_name);
	if (c->c_hello.h_version >= 2)
		log_debug("agent %s: protocol %u, %u actions",
		          c->c_hello.h_name, c->c_hello.h_version,
		          c->c_hello.h_nactions);
	snprintf(c->c_info->ai_role, sizeof(c->c_info->ai_role), "%s",
	         c->c_hello.h_role);
	store_hello(in->i_store, c->c_id, &c->c_hello, c->c_addr);
}

/* Pulls the agent's own spool figures out of a batch for /metrics. */
static void
conn_note_sample(struct conn *c, const struct proto_sample *s)
{
	static const char prefix[] = "spool.";
	const char *m;
	size_t n = sizeof(prefix) - 1;

	if (s->s_series_len <= n || memcmp(s->s_series, prefix, n) != 0)
		return;
	m = s->s_series + n;
	n = s->s_series_len - n;
	if (n == 15 && memcmp(m, "dropped_samples", n) == 0)
		c->c_info->ai_spool_dropped_samples = s->s_value;
	else if (n == 15 && memcmp(m, "dropped_batches", n) == 0)
		c->c_info->ai_spool_dropped_batches = s->s_value;
	else if (n == 15 && memcmp(m, "pending_batches", n) == 0)
		c->c_info->ai_spool_pending = s->s_value;
}

static void ingest_pause_all(struct ingest *in);

/* A batch arrived: the host is alive. Its samples go through the rules
 * once they are committed (ingest_on_committed). */
static void
conn_alive(struct conn *c)
{
	struct ingest *in = c->c_in;

	c->c_info->ai_last_batch = clock_mono_s();
	if (c->c_info->ai_silent) {
		c->c_info->ai_silent = 0;
		if (in->i_hooks.ih_silent != NULL)
			in->i_hooks.ih_silent(in->i_hooks.ih_arg,
			                      c->c_hello.h_name, 0, NULL);
	}
}

static void
conn_batch(struct conn *c, const uint8_t *p, size_t len)
{
	struct proto_batch b;
	struct proto_sample s;
	const char *why;
	char msg[320];
	int rc;

	if (c->c_state != CONN_READY) {
		conn_close(c, "batch before the hello was accepted", 1);
		return;
	}
	if (proto_batch_open(&b, p, len, &why) == -1) {
		conn_close(c, why, 1);
		return;
	}
	if (b.b_seq <= c->c_last_seq) {
		snprintf(msg, sizeof(msg),
		         "batch sequence %" PRIu64 " after %" PRIu64, b.b_seq,
		         c->c_last_seq);
		conn_close(c, msg, 1);
		return;
	}
	/* Validate the whole batch before any of it is queued. */
	while ((rc = proto_batch_next(&b, &s, &why)) == 1)
		conn_note_sample(c, &s);
	if (rc == 0) {
		struct proto_event e;
		while ((rc = proto_batch_next_event(&b, &e, &why)) == 1)
			;
	}
	if (rc == -1) {
		if (s.s_series != NULL)
			snprintf(msg, sizeof(msg),
			         "batch %" PRIu64 ": series '%.*s': %s",
			         b.b_seq, (int)s.s_series_len, s.s_series, why);
		else
			snprintf(msg, sizeof(msg), "batch %" PRIu64 ": %s",
			         b.b_seq, why);
		conn_close(c, msg, 1);
		return;
	}
	c->c_last_seq = b.b_seq;
	store_batch(c->c_in->i_store, c->c_id, c->c_agent_id,
	            c->c_hello.h_stream, b.b_seq, b.b_count, p, len);
	conn_alive(c);
	if (store_full(c->c_in->i_store))
		ingest_pause_all(c->c_in);
}

/* An action-result: to whoever asked, or to the hook when the request was
 * sent before a restart (or given up). */
static void
conn_action_result(struct conn *c, const uint8_t *p, size_t len)
{
	struct ingest *in = c->c_in;
	static struct proto_action_result pr;
	struct action_result r;
	const char *why;

	if (c->c_state != CONN_READY || c->c_hello.h_version < 2) {
		conn_close(c, "unexpected action-result frame", 1);
		return;
	}
	if (proto_get_action_result(p, len, &pr, &why) == -1) {
		conn_close(c, why, 1);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.ax_host = c->c_hello.h_name;
	r.ax_request = pr.ar_request;
	r.ax_outcome = pr.ar_outcome;
	r.ax_status = pr.ar_status;
	r.ax_duration_ms = pr.ar_duration_ms;
	r.ax_output = pr.ar_output;
	r.ax_reason = pr.ar_reason;
	ingest_action_resolve(in, &r);
}

static struct conn *
ingest_conn_ready(struct ingest *in, const char *host)
{
	struct conn *c;

	for (c = in->i_conns; c != NULL; c = c->c_next)
		if (c->c_state == CONN_READY &&
		    strcmp(c->c_hello.h_name, host) == 0)
			return c;
	return NULL;
}

/* host is not connected here but sent a batch within agent_silence
 * through the other collector of a pair (ingest_note_batch). */
static int
agent_elsewhere(struct ingest *in, const char *host)
{
	struct agent_info *ai;

	for (ai = in->i_agents; ai != NULL; ai = ai->ai_next)
		if (strcmp(ai->ai_name, host) == 0)
			return !ai->ai_connected && !ai->ai_silent &&
			       ai->ai_last_fed > 0 &&
			       (clock_mono_s() - ai->ai_last_fed) * 1000 <
			           in->i_silence_ms;
	return 0;
}

static void
pending_add(struct ingest *in, const char *host, const struct proto_action *a,
            ingest_action_fn done, void *arg)
{
	struct pending_action *pa = xcalloc(1, sizeof(*pa));

	pa->pa_request = a->a_request;
	snprintf(pa->pa_host, sizeof(pa->pa_host), "%s", host);
	snprintf(pa->pa_action, sizeof(pa->pa_action), "%s", a->a_name);
	pa->pa_run = a->a_run;
	snprintf(pa->pa_step, sizeof(pa->pa_step), "%s", a->a_step);
	pa->pa_done = done;
	pa->pa_arg = arg;
	pa->pa_next = in->i_pending;
	in->i_pending = pa;
}

/* An action a to connected agent c (its request id chosen already). */
static int
action_send(struct ingest *in, struct conn *c, const struct proto_action *a,
            ingest_action_fn done, void *arg, char *err, size_t errlen)
{
	const char *host = c->c_hello.h_name;
	struct pbuf pb;
	uint16_t i;

	if (c->c_hello.h_version < 2) {
		snprintf(err, errlen,
		         "agent %s speaks protocol version %u, which has no "
		         "actions (upgrade the agent)",
		         host, c->c_hello.h_version);
		return -1;
	}
	for (i = 0; i < c->c_hello.h_nactions; i++)
		if (strcmp(c->c_hello.h_actions[i], a->a_name) == 0)
			break;
	/* The agent refuses it and logs that; we say so here too. */
	if (i == c->c_hello.h_nactions)
		log_warnx("agent %s: action '%s' is not in its hello's list; "
		          "sending it anyway",
		          host, a->a_name);
	pending_add(in, host, a, done, arg);
	pbuf_init(&pb);
	proto_put_action(&pb, a);
	bufferevent_write(c->c_bev, pb.pb_data, pb.pb_len);
	pbuf_free(&pb);
	log_info("agent %s: %saction %s sent (request %" PRIu64 ", run %" PRIu64
	         ", step %s)",
	         host, a->a_flags & PROTO_ACTION_DRILL ? "DRILL " : "",
	         a->a_name, a->a_request, a->a_run, a->a_step);
	return 0;
}

int
ingest_action(struct ingest *in, const char *host, const char *action,
              uint64_t run_id, const char *step, int drill,
              ingest_action_fn done, void *arg, uint64_t *request, char *err,
              size_t errlen)
{
	struct conn *c = ingest_conn_ready(in, host);
	struct proto_action a;

	if (c == NULL && (in->i_relay == NULL || !agent_elsewhere(in, host))) {
		snprintf(err, errlen, "agent %s is not connected", host);
		return -1;
	}
	if (!proto_name_valid(action)) {
		snprintf(err, errlen, "action '%s': not a valid name", action);
		return -1;
	}
	if (strlen(step) > PROTO_STEP_MAX ||
	    !proto_text_valid(step, strlen(step))) {
		snprintf(err, errlen,
		         "step name longer than %d bytes or not UTF-8",
		         PROTO_STEP_MAX);
		return -1;
	}
	memset(&a, 0, sizeof(a));
	a.a_request = in->i_next_request++;
	snprintf(a.a_name, sizeof(a.a_name), "%s", action);
	a.a_run = run_id;
	snprintf(a.a_step, sizeof(a.a_step), "%s", step);
	a.a_flags = drill ? PROTO_ACTION_DRILL : 0;
	if (c != NULL) {
		if (action_send(in, c, &a, done, arg, err, errlen) == -1)
			return -1;
	} else {
		/* Perhaps on the other collector of the pair. */
		if (in->i_relay(in->i_relay_arg, host, &a, err, errlen) == -1)
			return -1;
		pending_add(in, host, &a, done, arg);
		log_info("agent %s: %saction %s relayed to the other collector "
		         "(request %" PRIu64 ", run %" PRIu64 ", step %s)",
		         host, drill ? "DRILL " : "", action, a.a_request,
		         run_id, step);
	}
	if (request != NULL)
		*request = a.a_request;
	return 0;
}

int
ingest_action_send(struct ingest *in, const char *host,
                   const struct proto_action *a, ingest_action_fn done,
                   void *arg, char *err, size_t errlen)
{
	struct conn *c = ingest_conn_ready(in, host);

	if (c == NULL) {
		snprintf(err, errlen, "agent %s is not connected", host);
		return -1;
	}
	return action_send(in, c, a, done, arg, err, errlen);
}

void
ingest_set_relay(struct ingest *in, ingest_relay_fn fn, void *arg)
{
	in->i_relay = fn;
	in->i_relay_arg = arg;
}

void
ingest_action_resolve(struct ingest *in, const struct action_result *r)
{
	struct pending_action **pp, *pa = NULL;
	struct action_result rr = *r;

	for (pp = &in->i_pending; *pp != NULL; pp = &(*pp)->pa_next)
		if ((*pp)->pa_request == r->ax_request &&
		    strcmp((*pp)->pa_host, r->ax_host) == 0) {
			pa = *pp;
			*pp = pa->pa_next;
			break;
		}
	log_info("agent %s: action request %" PRIu64 " %s%s%s: %s, status "
	         "%" PRId32 " after %" PRIu32 " ms%s%s",
	         r->ax_host, r->ax_request, pa ? "(" : "",
	         pa ? pa->pa_action : "(not sent by this process", ")",
	         proto_outcome_name(r->ax_outcome), r->ax_status,
	         r->ax_duration_ms, r->ax_reason[0] ? ": " : "", r->ax_reason);
	if (pa != NULL) {
		rr.ax_action = pa->pa_action;
		rr.ax_run_id = pa->pa_run;
		rr.ax_step = pa->pa_step;
		pa->pa_done(pa->pa_arg, &rr);
		free(pa);
	} else if (in->i_hooks.ih_action_result != NULL)
		in->i_hooks.ih_action_result(in->i_hooks.ih_arg, &rr);
}

char *
ingest_connected_json(struct ingest *in)
{
	json_t *a = json_array();
	struct conn *c;
	char *s;

	for (c = in->i_conns; c != NULL; c = c->c_next)
		if (c->c_state == CONN_READY)
			json_array_append_new(a, json_string(c->c_hello.h_name));
	s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return s;
}

void
ingest_action_cancel(struct ingest *in, uint64_t request)
{
	struct pending_action **pp, *pa;

	for (pp = &in->i_pending; *pp != NULL; pp = &(*pp)->pa_next)
		if ((*pp)->pa_request == request) {
			pa = *pp;
			*pp = pa->pa_next;
			free(pa);
			return;
		}
}

int
ingest_agent_has_action(struct ingest *in, const char *host, const char *action)
{
	struct conn *c = ingest_conn_ready(in, host);
	uint16_t i;

	if (c == NULL || c->c_hello.h_version < 2)
		return -1;
	for (i = 0; i < c->c_hello.h_nactions; i++)
		if (strcmp(c->c_hello.h_actions[i], action) == 0)
			return 1;
	return 0;
}

static void
conn_frame(struct conn *c, int type, const uint8_t *p, size_t len)
{
	char msg[64];

	switch (type) {
	case PROTO_HELLO:
		if (c->c_state != CONN_HELLO) {
			conn_close(c, "second hello", 1);
			return;
		}
		conn_hello(c, p, len);
		break;
	case PROTO_BATCH:
		conn_batch(c, p, len);
		break;
	case PROTO_ACTION_RESULT:
		conn_action_result(c, p, len);
		break;
	case PROTO_HEARTBEAT: {
		uint64_t ts;
		const char *why;
		/* Malformed like any other frame: the peer is broken. */
		if (proto_get_u64(p, len, &ts, &why) == -1)
			conn_close(c, "malformed heartbeat: expected 8 bytes",
			           1);
		break;
	}
	default:
		snprintf(msg, sizeof(msg), "unexpected %s frame",
		         proto_type_name(type));
		conn_close(c, msg, 1);
	}
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *inb = bufferevent_get_input(bev);
	uint64_t id = c->c_id;
	struct ingest *in = c->c_in;

	/* Frames are handled one by one; a handler may close c. */
	while (conn_find(in, id) == c && c->c_state != CONN_CLOSING &&
	       !c->c_paused) {
		const uint8_t *payload;
		const char *why;
		size_t len;
		int rc, type;

		rc = frame_take(inb, &c->c_frame, &type, &payload, &len, &why);
		if (rc == -1)
			conn_close(c, why, 1);
		if (rc != 1)
			return;
		conn_frame(c, type, payload, len);
	}
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->c_state == CONN_CLOSING &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(c);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char why[320], err[256];
	unsigned long e;
	struct timeval tv = {INGEST_HELLO_TIMEOUT_S, 0};

	if (what & BEV_EVENT_CONNECTED) {
		c->c_state = CONN_HELLO;
		bufferevent_set_timeouts(bev, &tv, NULL);
		return;
	}
	if (c->c_state == CONN_CLOSING) {
		conn_free(c);
		return;
	}
	e = bufferevent_get_openssl_error(bev);
	/* Connected and closed without a byte: a port check (a tcp probe, a
	 * load balancer). Not a refused agent, and not worth a warning. */
	if (c->c_state == CONN_TLS &&
	    (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING ||
	     (e == 0 && (what & BEV_EVENT_EOF)))) {
		while (bufferevent_get_openssl_error(bev) != 0)
			;
		log_debug("agent connection from %s: closed before the TLS "
		          "handshake (a port check?)",
		          c->c_addr);
		conn_free(c);
		return;
	}
	if (e != 0) {
		ERR_error_string_n(e, err, sizeof(err));
		snprintf(why, sizeof(why), "%s: %s",
		         c->c_state == CONN_TLS ? "TLS handshake failed"
		                                : "TLS",
		         err);
		while (bufferevent_get_openssl_error(bev) != 0)
			;
	} else if (what & BEV_EVENT_TIMEOUT)
		snprintf(why, sizeof(why), "%s",
		         c->c_state == CONN_READY ? "silent for 30 s"
		                                  : "no hello within 10 s");
	else if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "connection closed by the agent");
	else
		snprintf(why, sizeof(why), "%s",
		         evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	conn_close(c, why, 0);
}

static void
ingest_accept_cb(struct evconnlistener *lis, evutil_socket_t fd,
                 struct sockaddr *sa, int salen, void *arg)
{
	struct ingest *in = arg;
	struct conn *c = xcalloc(1, sizeof(*c));
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	SSL *ssl;
	struct timeval tv = {INGEST_HELLO_TIMEOUT_S, 0};

	(void)lis;
	(void)salen;
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
	}
	snprintf(c->c_addr, sizeof(c->c_addr), "%s:%d", host, port);
	c->c_id = ++in->i_next_id;
	c->c_in = in;
	c->c_agent_id = -1;
	pbuf_init(&c->c_frame);
	ssl = SSL_new(in->i_ctx);
	c->c_bev = bufferevent_openssl_socket_new(
	    in->i_base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->c_bev == NULL) {
		SSL_free(ssl);
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->c_next = in->i_conns;
	in->i_conns = c;
	bufferevent_setcb(c->c_bev, conn_read_cb, conn_write_cb, conn_event_cb,
	                  c);
	bufferevent_set_timeouts(c->c_bev, &tv, NULL);
	bufferevent_enable(c->c_bev, EV_READ | EV_WRITE);
	if (in->i_paused) {
		c->c_paused = 1;
		bufferevent_disable(c->c_bev, EV_READ);
	}
}

static void
ingest_send(struct conn *c, struct pbuf *pb)
{
	bufferevent_write(c->c_bev, pb->pb_data, pb->pb_len);
}

static void
ingest_on_hello(void *arg, uint64_t conn_id, int agent_id, uint64_t last_seq)
{
	struct ingest *in = arg;
	struct conn *c = conn_find(in, conn_id);
	struct timeval tv = {INGEST_READ_TIMEOUT_S, 0};
	struct pbuf pb;
	char who[192];

	if (c == NULL || c->c_state != CONN_WELCOME)
		return; /* gone meanwhile */
	if (agent_id < 0) {
		conn_close(c, "the database refused to register this agent", 1);
		return;
	}
	c->c_agent_id = agent_id;
	c->c_last_seq = last_seq;
	c->c_state = CONN_READY;
	c->c_info->ai_connected = 1;
	c->c_info->ai_id = agent_id;
	in->i_connected++;
	bufferevent_set_timeouts(c->c_bev, &tv, NULL);
	pbuf_init(&pb);
	/* The agent's own version: a version 1 agent hears version 1. */
	proto_put_welcome(&pb, c->c_hello.h_version, last_seq);
	ingest_send(c, &pb);
	pbuf_free(&pb);
	{
		char text[256];
		snprintf(text, sizeof(text),
		         "connected from %s (role %s, version %s)", c->c_addr,
		         c->c_hello.h_role, c->c_hello.h_software);
		shiftlog_add(in->i_store, in->i_events, "agent",
		             c->c_hello.h_name, text);
	}
	log_info("%s: connected (role %s, version %s, resuming after batch "
	         "%" PRIu64 ")",
	         conn_who(c, who, sizeof(who)), c->c_hello.h_role,
	         c->c_hello.h_software, last_seq);
}

/* Stored: the agent hears it, and what is new goes on to the rules (a
 * replay stored before was evaluated then). */
static void
ingest_on_committed(void *arg, uint64_t conn_id, int agent_id, uint64_t seq,
                    const uint8_t *payload, size_t len, int dup)
{
	struct ingest *in = arg;
	struct conn *c = conn_find(in, conn_id);
	struct agent_info *ai;
	struct pbuf pb;

	if (!dup && in->i_hooks.ih_batch != NULL)
		for (ai = in->i_agents; ai != NULL; ai = ai->ai_next)
			if (ai->ai_id == agent_id) {
				in->i_hooks.ih_batch(in->i_hooks.ih_arg,
				                     ai->ai_name, ai->ai_role,
				                     payload, len);
				break;
			}
	if (c == NULL || c->c_state != CONN_READY)
		return; /* the agent will replay and be told it is stored */
	pbuf_init(&pb);
	proto_put_ack(&pb, seq);
	ingest_send(c, &pb);
	pbuf_free(&pb);
}

/* Backpressure: stop reading agents while the database falls behind. */
static void
ingest_pause_all(struct ingest *in)
{
	struct conn *c;

	if (in->i_paused)
		return;
	in->i_paused = 1;
	log_warnx("ingest: write queue full, pausing agents until the "
	          "database catches up");
	for (c = in->i_conns; c != NULL; c = c->c_next)
		if (c->c_state != CONN_CLOSING) {
			c->c_paused = 1;
			bufferevent_disable(c->c_bev, EV_READ);
		}
}

static void
ingest_on_drained(void *arg)
{
	struct ingest *in = arg;
	struct conn *c;

	if (!in->i_paused)
		return;
	in->i_paused = 0;
	log_info("ingest: write queue drained, reading agents again");
	/* Reading may close and free any connection (a hello replaces an
	 * agent's older one): walk the list afresh after each. */
again:
	for (c = in->i_conns; c != NULL; c = c->c_next)
		if (c->c_paused && c->c_state != CONN_CLOSING) {
			c->c_paused = 0;
			bufferevent_enable(c->c_bev, EV_READ);
			/* Frames already buffered would otherwise wait. */
			conn_read_cb(c->c_bev, c);
			goto again;
		}
}

static void
ingest_hb_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ingest *in = arg;
	struct conn *c;
	struct pbuf pb;
	struct timeval now;

	(void)fd;
	(void)what;
	evutil_gettimeofday(&now, NULL);
	pbuf_init(&pb);
	proto_put_heartbeat(&pb, (int64_t)now.tv_sec * 1000000 + now.tv_usec);
	for (c = in->i_conns; c != NULL; c = c->c_next)
		if (c->c_state == CONN_READY || c->c_state == CONN_WELCOME)
			ingest_send(c, &pb);
	pbuf_free(&pb);
}

/* An agent that sends nothing for agent_silence, connected or not. */
static void
ingest_silence_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ingest *in = arg;
	struct agent_info *ai;
	double now = clock_mono_s();
	double limit = in->i_silence_ms / 1000.0;
	char why[128];

	(void)fd;
	(void)what;
	for (ai = in->i_agents; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_silent || ai->ai_last_batch == 0 ||
		    now - ai->ai_last_batch < limit)
			continue;
		ai->ai_silent = 1;
		snprintf(why, sizeof(why), "%s, nothing received for %.0f s",
		         ai->ai_connected ? "connected" : "disconnected",
		         now - ai->ai_last_batch);
		if (in->i_hooks.ih_silent != NULL)
			in->i_hooks.ih_silent(in->i_hooks.ih_arg, ai->ai_name,
			                      1, why);
	}
}

struct ingest *
ingest_new(const struct ingest_deps *d)
{
	struct ingest *in = xcalloc(1, sizeof(*in));
	struct store_callbacks cb = {ingest_on_hello, ingest_on_committed,
	                             ingest_on_drained, in};
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	struct timeval hb = {INGEST_HEARTBEAT_S, 0};

	in->i_base = d->id_base;
	in->i_ctx = d->id_ctx;
	in->i_store = d->id_store;
	in->i_events = d->id_events;
	in->i_stats = d->id_stats;
	in->i_silence_ms = d->id_silence_ms;
	in->i_hooks = d->id_hooks;
	/* Request ids outlive this process in runs' records: start past any
	 * an earlier process can have used (a million a second). */
	in->i_next_request = (uint64_t)time(NULL) << 20;
	/* The store is main's; ingest hears what it commits. */
	store_set_callbacks(in->i_store, &cb);
	if (evutil_parse_sockaddr_port(d->id_listen, (struct sockaddr *)&ss,
	                               &sslen) == -1) {
		log_warnx("collector.listen: cannot parse '%s' (use an IP "
		          "address and port)",
		          d->id_listen);
		goto fail;
	}
	in->i_lis = evconnlistener_new_bind(
	    in->i_base, ingest_accept_cb, in,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    128, (struct sockaddr *)&ss, sslen);
	if (in->i_lis == NULL) {
		log_warn("collector.listen %s", d->id_listen);
		goto fail;
	}
	in->i_hb = event_new(in->i_base, -1, EV_PERSIST, ingest_hb_cb, in);
	event_add(in->i_hb, &hb);
	in->i_silence =
	    event_new(in->i_base, -1, EV_PERSIST, ingest_silence_cb, in);
	event_add(in->i_silence, &(struct timeval){1, 0});
	return in;
fail:
	ingest_free(in);
	return NULL;
}

void
ingest_free(struct ingest *in)
{
	struct agent_info *ai;

	if (in == NULL)
		return;
	while (in->i_conns != NULL)
		conn_free(in->i_conns);
	while (in->i_pending != NULL) {
		struct pending_action *pa = in->i_pending;
		in->i_pending = pa->pa_next;
		free(pa);
	}
	while ((ai = in->i_agents) != NULL) {
		in->i_agents = ai->ai_next;
		free(ai);
	}
	if (in->i_lis != NULL)
		evconnlistener_free(in->i_lis);
	if (in->i_hb != NULL)
		event_free(in->i_hb);
	if (in->i_silence != NULL)
		event_free(in->i_silence);
	store_set_callbacks(in->i_store, NULL);
	free(in);
}

int
ingest_connected(struct ingest *in)
{
	return in->i_connected;
}

void
ingest_metrics(struct ingest *in, struct evbuffer *out)
{
	struct agent_info *ai;

	evbuffer_add_printf(
	    out,
	    "# HELP watchstand_agent_connected Whether the agent is connected "
	    "now.\n# TYPE watchstand_agent_connected gauge\n");
	for (ai = in->i_agents; ai != NULL; ai = ai->ai_next)
		evbuffer_add_printf(
		    out,
		    "watchstand_agent_connected{agent=\"%s\",role=\"%s\"} %d\n",
		    ai->ai_name, ai->ai_role, ai->ai_connected);
	evbuffer_add_printf(
	    out,
	    "# HELP watchstand_agent_spool_dropped_samples_total Samples the "
	    "agent dropped from its full spool, as it reported.\n"
	    "# TYPE watchstand_agent_spool_dropped_samples_total counter\n");
	for (ai = in->i_agents; ai != NULL; ai = ai->ai_next)
		evbuffer_add_printf(
		    out, "%s{agent=\"%s\"} %.0f\n",
		    "watchstand_agent_spool_dropped_samples_total", ai->ai_name,
		    ai->ai_spool_dropped_samples);
	evbuffer_add_printf(
	    out,
	    "# HELP watchstand_agent_spool_dropped_batches_total Batches the "
	    "agent dropped from its full spool, as it reported.\n"
	    "# TYPE watchstand_agent_spool_dropped_batches_total counter\n");
	for (ai = in->i_agents; ai != NULL; ai = ai->ai_next)
		evbuffer_add_printf(
		    out, "%s{agent=\"%s\"} %.0f\n",
		    "watchstand_agent_spool_dropped_batches_total", ai->ai_name,
		    ai->ai_spool_dropped_batches);
	evbuffer_add_printf(
	    out,
	    "# HELP watchstand_agent_spool_pending_batches Batches waiting in "
	    "the agent's spool, as it reported.\n"
	    "# TYPE watchstand_agent_spool_pending_batches gauge\n");
	for (ai = in->i_agents; ai != NULL; ai = ai->ai_next)
		evbuffer_add_printf(
		    out,
		    "watchstand_agent_spool_pending_batches{agent=\"%s\"} "
		    "%.0f\n",
		    ai->ai_name, ai->ai_spool_pending);
}

void
ingest_note_batch(struct ingest *in, const char *host, const char *role,
                  double age_s)
{
	struct agent_info *ai = ingest_agent_info(in, host);
	double at = clock_mono_s() - age_s;

	if (ai->ai_role[0] == '\0')
		snprintf(ai->ai_role, sizeof(ai->ai_role), "%s", role);
	if (at > ai->ai_last_fed)
		ai->ai_last_fed = at;
	if (at <= ai->ai_last_batch)
		return;
	ai->ai_last_batch = at;
	if (ai->ai_silent && age_s * 1000 < in->i_silence_ms) {
		ai->ai_silent = 0;
		if (in->i_hooks.ih_silent != NULL)
			in->i_hooks.ih_silent(in->i_hooks.ih_arg, host, 0,
			                      NULL);
	}
}

void
ingest_note_silent(struct ingest *in, const char *host)
{
	struct agent_info *ai = ingest_agent_info(in, host);

	ai->ai_silent = 1;
}

void
ingest_set_silence(struct ingest *in, uint64_t ms)
{
	in->i_silence_ms = ms;
}
