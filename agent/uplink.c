#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "watchstand/clock.h"
#include "watchstand/frame.h"
#include "watchstand/log.h"
#include "watchstand/proto.h"
#include "watchstand/tls.h"
#include "watchstand/xalloc.h"
#include "watchstand/hostport.h"
#include "agent.h"
#include "spool.h"
#include "uplink.h"

#define UPLINK_BATCH_MAX 10000 /* samples; then seal early */
#define UPLINK_HEARTBEAT_S 5
#define UPLINK_READ_TIMEOUT_S 20 /* no frame for this long: link is dead */
/* A collector that sends its heartbeat every second is dead, or stalled
 * (a paused VM), after this long without a frame: its agents go to the
 * next collector within seconds, not 20 (docs/protocol.md). */
#define UPLINK_FAST_TIMEOUT_S 6
/* TCP connect and TLS handshake: a stalled collector's kernel still
 * accepts the connection, but nothing answers the handshake. */
#define UPLINK_HANDSHAKE_TIMEOUT_S 6
#define UPLINK_OUT_HIGH (512 * 1024)
#define UPLINK_BACKOFF_MIN_MS 1000
#define UPLINK_BACKOFF_MAX_MS 30000
#define UPLINK_STATS_S 10
#define UPLINK_RESULTS_MAX 64 /* action results kept while the link is down */

enum uplink_state {
	UPLINK_IDLE,
	UPLINK_CONNECTING,
	UPLINK_HELLO_SENT,
	UPLINK_READY,
};

struct uplink {
	struct event_base *u_base;
	struct evdns_base *u_dns;
	const struct agent_conf *u_conf;
	struct spool *u_spool;
	SSL_CTX *u_ctx;
	/* The batch being filled. */
	struct pbuf u_batch;
	size_t u_batch_start;
	uint32_t u_batch_count;
	struct pbuf u_events;
	uint32_t u_nevents;
	int u_batch_open;
	/* The connection. */
	struct bufferevent *u_bev;
	enum uplink_state u_state;
	size_t u_idx; /* which collector */
	uint64_t u_backoff_ms;
	uint64_t u_sent_seq;
	int u_was_ready;
	struct pbuf u_read;
	struct event *u_flush_ev; /* the open batch's deadline: `flush` */
	struct event *u_seal_ev;  /* seals at the end of this loop pass */
	struct event *u_sync_ev;
	struct event *u_retry_ev;
	struct event *u_hb_ev;
	struct event *u_stats_ev;
	uint16_t u_peer_version; /* the collector's, from its welcome */
	double u_hb_at;          /* the last heartbeat from the collector */
	int u_hb_fast;           /* heartbeats a second apart, in a row */
	int u_read_timeout_s;    /* UPLINK_READ_TIMEOUT_S or _FAST_ */
	/* Action requests go to the runner; results wait here for a link. */
	void (*u_action_fn)(void *arg, const struct proto_action *a);
	void *u_action_arg;
	struct pbuf u_results[UPLINK_RESULTS_MAX]; /* encoded frames, FIFO */
	size_t u_results_head;
	size_t u_nresults;
};

static void uplink_connect(struct uplink *up);
static void uplink_pump(struct uplink *up);
static int uplink_link_idle(struct uplink *up);

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
uplink_flush(struct uplink *up)
{
	uint64_t seq;

	if (!up->u_batch_open)
		return;
	event_del(up->u_flush_ev);
	event_del(up->u_seal_ev);
	seq = spool_next_seq(up->u_spool);
	/* The sequence number is assigned when sealing, in order. */
	memcpy(up->u_batch.pb_data + up->u_batch_start + PROTO_HDR_LEN,
	       (uint8_t[8]){seq >> 56, seq >> 48, seq >> 40, seq >> 32,
	                    seq >> 24, seq >> 16, seq >> 8, seq},
	       8);
	proto_batch_end(&up->u_batch, up->u_batch_start, up->u_batch_count,
	                &up->u_events, up->u_nevents);
	if (spool_append(up->u_spool, seq, up->u_batch_count,
	                 up->u_batch.pb_data, up->u_batch.pb_len,
	                 now_us()) == -1) {
		/* Disk full or failing: the batch is lost, and counted. */
		log_warnx("uplink: batch %" PRIu64 " of %u samples could not "
		          "be spooled and is dropped",
		          seq, up->u_batch_count);
		spool_count_lost(up->u_spool, up->u_batch_count);
	}
	pbuf_reset(&up->u_batch);
	pbuf_reset(&up->u_events);
	up->u_batch_open = 0;
	up->u_batch_count = 0;
	up->u_nevents = 0;
	uplink_pump(up);
}

/*
 * Adaptive batching: a batch leaves as soon as the link is idle (no batch
 * in flight), so a lone sample is not held back; samples coalesce only while
 * a batch is in flight (sealed when its ack comes) or the link is down, and
 * never longer than `flush`. Sealing waits for the end of the loop pass so
 * the samples a probe emits together travel together.
 */
static void
uplink_batch_open(struct uplink *up)
{
	struct timeval flush = {up->u_conf->ac_flush_ms / 1000,
	                        (up->u_conf->ac_flush_ms % 1000) * 1000};

	if (up->u_batch_open)
		return;
	up->u_batch_start = proto_batch_begin(&up->u_batch, 0);
	up->u_batch_open = 1;
	event_add(up->u_flush_ev, &flush);
}

/* Something was added: if nothing is in flight, it leaves now. */
static void
uplink_batch_added(struct uplink *up)
{
	if (uplink_link_idle(up) && !event_pending(up->u_seal_ev, EV_TIMEOUT,
	                                           NULL))
		event_active(up->u_seal_ev, EV_TIMEOUT, 0);
}

void
uplink_add(struct uplink *up, int64_t ts_us, const char *series, double value)
{
	uplink_batch_open(up);
	if (proto_batch_add(&up->u_batch, ts_us, series, value) == -1)
		return;
	if (++up->u_batch_count >= UPLINK_BATCH_MAX)
		uplink_flush(up);
	else
		uplink_batch_added(up);
}

void
uplink_add_event(struct uplink *up, int64_t ts_us, const char *probe,
                 const char *text)
{
	uplink_batch_open(up);
	if (proto_event_add(&up->u_events, ts_us, probe, text) == -1)
		return;
	up->u_nevents++;
	if (up->u_events.pb_len > 256 * 1024)
		uplink_flush(up);
	else
		uplink_batch_added(up);
}

static void
uplink_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	uplink_flush(arg);
}

/* What was spooled since the last tick reaches the disk, for a power cut. */
static void
uplink_sync_cb(evutil_socket_t fd, short what, void *arg)
{
	struct uplink *up = arg;

	(void)fd;
	(void)what;
	spool_sync(up->u_spool);
}

/* The agent reports its own spool so drops are never silent. */
static void
uplink_stats_cb(evutil_socket_t fd, short what, void *arg)
{
	struct uplink *up = arg;
	struct spool_stats st;
	int64_t now = now_us();

	(void)fd;
	(void)what;
	spool_expire(up->u_spool, now);
	spool_stats(up->u_spool, &st);
	uplink_add(up, now, "spool.pending_batches",
	           (double)st.ss_pending_batches);
	uplink_add(up, now, "spool.bytes", (double)st.ss_bytes);
	uplink_add(up, now, "spool.dropped_batches",
	           (double)st.ss_dropped_batches);
	uplink_add(up, now, "spool.dropped_samples",
	           (double)st.ss_dropped_samples);
}

/* Connected with every spooled batch acknowledged: none in flight. */
static int
uplink_link_idle(struct uplink *up)
{
	struct spool_stats st;

	if (up->u_state != UPLINK_READY)
		return 0;
	spool_stats(up->u_spool, &st);
	return st.ss_pending_batches == 0;
}

static const char *
uplink_collector(struct uplink *up)
{
	return up->u_conf->ac_collectors[up->u_idx];
}

static void
uplink_send(struct uplink *up, struct pbuf *pb)
{
	bufferevent_write(up->u_bev, pb->pb_data, pb->pb_len);
}

/* The link's read timeout (a frame must come within it) and the write
 * timeout, also the TCP connect's and the handshake's. */
static void
uplink_timeouts(struct uplink *up, int read_s, int write_s)
{
	struct timeval rt = {read_s, 0}, wt = {write_s, 0};

	bufferevent_set_timeouts(up->u_bev, &rt, &wt);
	up->u_read_timeout_s = read_s;
}

static void
uplink_close(struct uplink *up, const char *why)
{
	uint64_t delay;

	if (up->u_bev != NULL) {
		bufferevent_free(up->u_bev);
		up->u_bev = NULL;
	}
	if (up->u_state == UPLINK_READY) {
		log_warnx("uplink: lost collector %s: %s; spooling",
		          uplink_collector(up), why);
		/* Back to the preferred collector, unless it is the one
		 * lost: a stalled one would hold us up once more. */
		up->u_idx = up->u_idx == 0 && up->u_conf->ac_ncollectors > 1
		                ? 1
		                : 0;
		up->u_backoff_ms = UPLINK_BACKOFF_MIN_MS;
		delay = up->u_backoff_ms;
	} else {
		log_warnx("uplink: collector %s: %s", uplink_collector(up),
		          why);
		up->u_idx++;
		if (up->u_idx < up->u_conf->ac_ncollectors)
			delay = 100; /* next in the list at once */
		else {
			up->u_idx = 0;
			delay = up->u_backoff_ms;
			up->u_backoff_ms *= 2;
			if (up->u_backoff_ms > UPLINK_BACKOFF_MAX_MS)
				up->u_backoff_ms = UPLINK_BACKOFF_MAX_MS;
		}
	}
	up->u_state = UPLINK_IDLE;
	/* Jitter of +-25% so a fleet does not reconnect in step. */
	delay = delay * 3 / 4 + (uint64_t)rand() % (delay / 2 + 1);
	struct timeval tv = {delay / 1000, (delay % 1000) * 1000};
	evtimer_add(up->u_retry_ev, &tv);
}

static void
uplink_pump(struct uplink *up)
{
	struct pbuf rec;
	uint64_t seq;
	int rc;

	if (up->u_state != UPLINK_READY)
		return;
	pbuf_init(&rec);
	while (evbuffer_get_length(bufferevent_get_output(up->u_bev)) <
	       UPLINK_OUT_HIGH) {
		rc = spool_read_after(up->u_spool, up->u_sent_seq, &seq, &rec);
		if (rc == 0)
			break;
		up->u_sent_seq = seq;
		if (rc == 1)
			uplink_send(up, &rec);
	}
	pbuf_free(&rec);
}

/* Action results kept while the link was down go first after a welcome. */
static void
uplink_results_flush(struct uplink *up)
{
	while (up->u_nresults > 0 && up->u_state == UPLINK_READY &&
	       up->u_peer_version >= 2) {
		struct pbuf *pb = &up->u_results[up->u_results_head];
		uplink_send(up, pb);
		pbuf_free(pb);
		up->u_results_head =
		    (up->u_results_head + 1) % UPLINK_RESULTS_MAX;
		up->u_nresults--;
	}
}

void
uplink_action_result(void *arg, const struct proto_action_result *r)
{
	struct uplink *up = arg;
	struct pbuf *pb;

	if (up->u_nresults == UPLINK_RESULTS_MAX) {
		/* Bounded: the oldest result is lost, and said so. */
		log_warnx("uplink: more than %d action results while the link "
		          "is down; the oldest is dropped",
		          UPLINK_RESULTS_MAX);
		pbuf_free(&up->u_results[up->u_results_head]);
		up->u_results_head =
		    (up->u_results_head + 1) % UPLINK_RESULTS_MAX;
		up->u_nresults--;
	}
	pb = &up->u_results[(up->u_results_head + up->u_nresults) %
	                    UPLINK_RESULTS_MAX];
	pbuf_init(pb);
	proto_put_action_result(pb, r);
	up->u_nresults++;
	if (up->u_state != UPLINK_READY)
		log_info("uplink: action result for request %" PRIu64
		         " kept until the collector is back",
		         r->ar_request);
	uplink_results_flush(up);
}

void
uplink_set_action_handler(struct uplink *up,
                          void (*fn)(void *arg, const struct proto_action *a),
                          void *arg)
{
	up->u_action_fn = fn;
	up->u_action_arg = arg;
}

static void
uplink_frame(struct uplink *up, int type, const uint8_t *p, size_t len)
{
	const char *why = NULL;
	uint16_t version;
	uint64_t seq;
	char text[PROTO_TEXT_MAX + 1];
	struct spool_stats st;

	switch (type) {
	case PROTO_WELCOME:
		if (up->u_state != UPLINK_HELLO_SENT ||
		    proto_get_welcome(p, len, &version, &seq, &why) == -1) {
			uplink_close(up, why ? why : "unexpected welcome");
			return;
		}
		spool_ack(up->u_spool, seq);
		spool_stats(up->u_spool, &st);
		up->u_sent_seq = st.ss_acked_seq;
		up->u_state = UPLINK_READY;
		up->u_peer_version = version;
		up->u_hb_at = clock_mono_s(); /* a beat, for the next two */
		up->u_backoff_ms = UPLINK_BACKOFF_MIN_MS;
		log_info("uplink: connected to collector %s, %" PRIu64
		         " batches to send",
		         uplink_collector(up), st.ss_pending_batches);
		uplink_results_flush(up);
		if (up->u_batch_open && uplink_link_idle(up))
			uplink_flush(up);
		else
			uplink_pump(up);
		break;
	case PROTO_ACTION: {
		struct proto_action a;
		if (up->u_state != UPLINK_READY ||
		    proto_get_action(p, len, &a, &why) == -1) {
			uplink_close(up,
			             why ? why : "action before the welcome");
			return;
		}
		if (up->u_action_fn != NULL)
			up->u_action_fn(up->u_action_arg, &a);
		break;
	}
	case PROTO_ACK:
		if (proto_get_u64(p, len, &seq, &why) == -1) {
			uplink_close(up, why);
			return;
		}
		spool_ack(up->u_spool, seq);
		/* What coalesced while the batch was in flight leaves now. */
		if (up->u_batch_open && uplink_link_idle(up))
			uplink_flush(up);
		break;
	case PROTO_HEARTBEAT: {
		double now = clock_mono_s();
		/* Two heartbeats a second apart: this collector beats every
		 * second, and its silence means sooner that it is gone. */
		if (up->u_hb_at > 0 && now - up->u_hb_at < 1.5) {
			if (++up->u_hb_fast == 2 &&
			    up->u_read_timeout_s != UPLINK_FAST_TIMEOUT_S) {
				uplink_timeouts(up, UPLINK_FAST_TIMEOUT_S,
				                UPLINK_READ_TIMEOUT_S);
				log_info("uplink: collector %s beats every "
				         "second: silent for %d s, it is gone",
				         uplink_collector(up),
				         UPLINK_FAST_TIMEOUT_S);
			}
		} else
			up->u_hb_fast = 0;
		up->u_hb_at = now;
		break;
	}
	case PROTO_ERROR:
		if (proto_get_error(p, len, text, sizeof(text)) == -1)
			snprintf(text, sizeof(text), "(unreadable reason)");
		char msg[PROTO_TEXT_MAX + 32];
		snprintf(msg, sizeof(msg), "refused us: %s", text);
		uplink_close(up, msg);
		break;
	default:
		uplink_close(up, "unexpected frame type from collector");
	}
}

static void
uplink_read_cb(struct bufferevent *bev, void *arg)
{
	struct uplink *up = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (up->u_bev == bev) {
		const uint8_t *payload;
		const char *why;
		size_t len;
		int rc, type;

		rc = frame_take(in, &up->u_read, &type, &payload, &len, &why);
		if (rc == -1) {
			uplink_close(up, why);
			return;
		}
		if (rc == 0)
			break;
		uplink_frame(up, type, payload, len);
	}
}

static void
uplink_write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	uplink_pump(arg);
}

static void
uplink_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct uplink *up = arg;
	char why[320], err[256];

	if (what & BEV_EVENT_CONNECTED) {
		struct proto_hello h;
		struct pbuf pb;

		/* Only now: before the handshake is done, libevent would
		 * report a refused connect as a dirty shutdown, an EOF. */
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
		uplink_timeouts(up, UPLINK_READ_TIMEOUT_S, UPLINK_READ_TIMEOUT_S);
		memset(&h, 0, sizeof(h));
		h.h_version = PROTO_VERSION;
		snprintf(h.h_name, sizeof(h.h_name), "%s", up->u_conf->ac_name);
		snprintf(h.h_role, sizeof(h.h_role), "%s", up->u_conf->ac_role);
		snprintf(h.h_software, sizeof(h.h_software), "%s",
		         AGENT_VERSION);
		pbuf_init(&pb);
		h.h_stream = spool_stream(up->u_spool);
		/* The collector warns about steps naming actions we lack. */
		for (size_t i = 0; i < up->u_conf->ac_nactions &&
		                   h.h_nactions < PROTO_ACTIONS_MAX;
		     i++)
			snprintf(h.h_actions[h.h_nactions++],
			         sizeof(h.h_actions[0]), "%s",
			         up->u_conf->ac_actions[i].ac_name);
		proto_put_hello(&pb, &h);
		uplink_send(up, &pb);
		pbuf_free(&pb);
		up->u_state = UPLINK_HELLO_SENT;
		return;
	}
	unsigned long e = bufferevent_get_openssl_error(bev);
	if (e != 0 && ERR_GET_LIB(e) != 0) {
		ERR_error_string_n(e, err, sizeof(err));
		snprintf(why, sizeof(why), "TLS: %s", err);
	} else if ((what & BEV_EVENT_TIMEOUT) &&
	           up->u_state == UPLINK_CONNECTING)
		snprintf(why, sizeof(why),
		         "no TLS handshake within %d s (stalled, or not a "
		         "collector)",
		         UPLINK_HANDSHAKE_TIMEOUT_S);
	else if (what & BEV_EVENT_TIMEOUT)
		snprintf(why, sizeof(why), "no frame for %d s",
		         up->u_read_timeout_s);
	else if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "%s",
		         up->u_state == UPLINK_CONNECTING
		             ? "closed before the TLS handshake completed"
		             : "closed by the collector");
	else {
		int dnserr = bufferevent_socket_get_dns_error(bev);
		snprintf(why, sizeof(why), "%s",
		         dnserr ? evutil_gai_strerror(dnserr)
		                : evutil_socket_error_to_string(
		                      EVUTIL_SOCKET_ERROR()));
	}
	uplink_close(up, why);
}

static void
uplink_connect(struct uplink *up)
{
	const char *target = uplink_collector(up);
	char host[256];
	int port = 0;
	SSL *ssl;

	/* Checked when the config was read. */
	if (hostport_split(target, host, sizeof(host), &port) == -1)
		host[0] = '\0';
	ssl = SSL_new(up->u_ctx);
	/* The collector's certificate must name the address we dialled. */
	X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
	if (X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1) {
		X509_VERIFY_PARAM_set1_host(vp, host, 0);
		SSL_set_tlsext_host_name(ssl, host);
	}
	up->u_bev = bufferevent_openssl_socket_new(
	    up->u_base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (up->u_bev == NULL) {
		SSL_free(ssl);
		up->u_state = UPLINK_CONNECTING;
		uplink_close(up, "cannot create a connection");
		return;
	}
	bufferevent_setcb(up->u_bev, uplink_read_cb, uplink_write_cb,
	                  uplink_event_cb, up);
	bufferevent_setwatermark(up->u_bev, EV_WRITE, UPLINK_OUT_HIGH / 2, 0);
	uplink_timeouts(up, UPLINK_HANDSHAKE_TIMEOUT_S,
	                UPLINK_HANDSHAKE_TIMEOUT_S);
	up->u_hb_at = 0;
	up->u_hb_fast = 0;
	bufferevent_enable(up->u_bev, EV_READ | EV_WRITE);
	up->u_state = UPLINK_CONNECTING;
	if (bufferevent_socket_connect_hostname(up->u_bev, up->u_dns, AF_UNSPEC,
	                                        host, port) == -1)
		uplink_close(up, "connect failed");
}

static void
uplink_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	uplink_connect(arg);
}

static void
uplink_hb_cb(evutil_socket_t fd, short what, void *arg)
{
	struct uplink *up = arg;
	struct pbuf pb;

	(void)fd;
	(void)what;
	if (up->u_state != UPLINK_READY && up->u_state != UPLINK_HELLO_SENT)
		return;
	pbuf_init(&pb);
	proto_put_heartbeat(&pb, now_us());
	uplink_send(up, &pb);
	pbuf_free(&pb);
}

struct uplink *
uplink_new(struct event_base *base, const struct agent_conf *conf,
           struct spool *sp, SSL_CTX *ctx)
{
	struct uplink *up = xcalloc(1, sizeof(*up));
	struct timeval hb = {UPLINK_HEARTBEAT_S, 0};
	struct timeval sync = {conf->ac_spool_sync_ms / 1000,
	                       (conf->ac_spool_sync_ms % 1000) * 1000};
	struct timeval stats = {UPLINK_STATS_S, 0};

	up->u_base = base;
	up->u_conf = conf;
	up->u_spool = sp;
	up->u_ctx = ctx;
	up->u_backoff_ms = UPLINK_BACKOFF_MIN_MS;
	up->u_dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (up->u_dns == NULL)
		up->u_dns = evdns_base_new(base, 0);
	pbuf_init(&up->u_batch);
	pbuf_init(&up->u_events);
	pbuf_init(&up->u_read);
	up->u_flush_ev = evtimer_new(base, uplink_flush_cb, up);
	up->u_seal_ev = evtimer_new(base, uplink_flush_cb, up);
	up->u_retry_ev = evtimer_new(base, uplink_retry_cb, up);
	up->u_sync_ev = event_new(base, -1, EV_PERSIST, uplink_sync_cb, up);
	up->u_hb_ev = event_new(base, -1, EV_PERSIST, uplink_hb_cb, up);
	up->u_stats_ev = event_new(base, -1, EV_PERSIST, uplink_stats_cb, up);
	event_add(up->u_sync_ev, &sync);
	event_add(up->u_hb_ev, &hb);
	event_add(up->u_stats_ev, &stats);
	return up;
}

struct evdns_base *
uplink_dns(struct uplink *up)
{
	return up->u_dns;
}

void
uplink_start(struct uplink *up)
{
	uplink_connect(up);
}

void
uplink_free(struct uplink *up)
{
	if (up == NULL)
		return;
	if (up->u_bev != NULL)
		bufferevent_free(up->u_bev);
	event_free(up->u_flush_ev);
	event_free(up->u_seal_ev);
	event_free(up->u_sync_ev);
	event_free(up->u_retry_ev);
	event_free(up->u_hb_ev);
	event_free(up->u_stats_ev);
	if (up->u_dns != NULL)
		evdns_base_free(up->u_dns, 0);
	pbuf_free(&up->u_batch);
	pbuf_free(&up->u_events);
	pbuf_free(&up->u_read);
	while (up->u_nresults > 0) {
		pbuf_free(&up->u_results[up->u_results_head]);
		up->u_results_head =
		    (up->u_results_head + 1) % UPLINK_RESULTS_MAX;
		up->u_nresults--;
	}
	free(up);
}
