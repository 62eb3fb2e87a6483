/*
 * ws-loadgen: simulated agents for bench/ingest. Each agent speaks the real
 * protocol (common/proto.c) over TLS, keeps a window of unacknowledged
 * batches in flight and counts what the collector acknowledges, i.e. what
 * is committed in PostgreSQL. With --raw-copy it instead COPYs the same
 * rows straight into watchstand.samples, as the reference figure.
 * With --numbered --count N it is one agent whose samples are numbered,
 * for the fault tests (see numbered() below).
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <libpq-fe.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "watchstand/proto.h"
#include "watchstand/tls.h"

struct lg_agent {
	struct lg *a_lg;
	int a_idx;
	struct bufferevent *a_bev;
	int a_ready;
	uint64_t a_seq;   /* last sent */
	uint64_t a_acked; /* last acknowledged */
	int64_t a_ts;     /* sample clock, microseconds */
	struct pbuf a_out;
	struct pbuf a_in;
};

struct lg {
	struct event_base *base;
	SSL_CTX *ctx;
	const char *host;
	int port;
	int nagents, batch, window, nseries;
	double warmup, seconds;
	uint64_t acked_samples; /* after warm-up */
	int measuring;
	double t_start;
	struct lg_agent *agents;
};

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
lg_send_batches(struct lg_agent *a)
{
	struct lg *lg = a->a_lg;
	char series[64];
	int i;

	while (a->a_ready && a->a_seq - a->a_acked < (uint64_t)lg->window) {
		size_t start;

		pbuf_reset(&a->a_out);
		start = proto_batch_begin(&a->a_out, ++a->a_seq);
		for (i = 0; i < lg->batch; i++) {
			snprintf(series, sizeof(series), "bench.s%d.value",
			         i % lg->nseries);
			proto_batch_add(&a->a_out, a->a_ts, series, i * 0.5);
			if (i % lg->nseries == lg->nseries - 1)
				a->a_ts += 1000;
		}
		a->a_ts += 1000;
		proto_batch_end(&a->a_out, start, lg->batch, NULL, 0);
		bufferevent_write(a->a_bev, a->a_out.pb_data, a->a_out.pb_len);
	}
}

static void
lg_read_cb(struct bufferevent *bev, void *arg)
{
	struct lg_agent *a = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		size_t avail = evbuffer_get_length(in), flen;
		const char *why;
		uint8_t *d;
		uint64_t v;
		uint16_t ver;

		if (avail < PROTO_HDR_LEN)
			return;
		d = evbuffer_pullup(in, PROTO_HDR_LEN);
		if (proto_frame_check(d, avail, &flen, &why) != 1)
			return;
		d = evbuffer_pullup(in, flen);
		if (d[4] == PROTO_WELCOME &&
		    proto_get_welcome(d + 5, flen - 5, &ver, &v, &why) == 0) {
			a->a_ready = 1;
			a->a_seq = a->a_acked = v;
		} else if (d[4] == PROTO_ACK &&
		           proto_get_u64(d + 5, flen - 5, &v, &why) == 0) {
			if (a->a_lg->measuring)
				a->a_lg->acked_samples +=
				    (v - a->a_acked) * a->a_lg->batch;
			a->a_acked = v;
		} else if (d[4] == PROTO_ERROR) {
			fprintf(stderr, "loadgen: agent %d refused\n",
			        a->a_idx);
			exit(1);
		}
		evbuffer_drain(in, flen);
		lg_send_batches(a);
	}
}

static void
lg_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct lg_agent *a = arg;

	if (what & BEV_EVENT_CONNECTED) {
		struct proto_hello h;
		memset(&h, 0, sizeof(h));
		h.h_version = PROTO_VERSION_MIN; /* samples only */
		RAND_bytes((unsigned char *)&h.h_stream, sizeof(h.h_stream));
		h.h_stream |= 1;
		snprintf(h.h_name, sizeof(h.h_name), "bench-%d", a->a_idx);
		snprintf(h.h_role, sizeof(h.h_role), "other");
		snprintf(h.h_software, sizeof(h.h_software), "loadgen");
		pbuf_reset(&a->a_out);
		proto_put_hello(&a->a_out, &h);
		bufferevent_write(bev, a->a_out.pb_data, a->a_out.pb_len);
		return;
	}
	fprintf(stderr, "loadgen: agent %d: connection failed (%d)\n", a->a_idx,
	        what);
	exit(1);
}

static void
lg_tick(evutil_socket_t fd, short what, void *arg)
{
	struct lg *lg = arg;
	double t = mono() - lg->t_start;

	(void)fd;
	(void)what;
	if (!lg->measuring && t >= lg->warmup) {
		lg->measuring = 1;
		lg->t_start = mono();
		lg->acked_samples = 0;
	} else if (lg->measuring && t >= lg->seconds) {
		printf("%.0f\n", lg->acked_samples / t);
		event_base_loopexit(lg->base, NULL);
	}
}

/*
 * --numbered: one simulated agent whose samples carry the numbers 1..count
 * (series "lg.seq", value = the number, timestamps strictly increasing). It
 * behaves like agent/uplink.c: every sealed batch is kept until acknowledged,
 * the stream id is the same on every connection, after a welcome it forgets
 * batches <= last_seq and replays the rest with their original sequence
 * numbers, and a lost link is retried with backoff while samples keep being
 * made. It exits once every number made is acknowledged, or at --limit,
 * printing one line of key=value counts (sent, acked, missing, ...).
 * For tests: --status FILE is rewritten every tick with what is made,
 * written and acknowledged; while the file named by --drop-acks-while
 * exists, acks are ignored as if lost on the way.
 */
#define NB_OUT_HIGH (512 * 1024)
#define NB_TICK_MS 100
#define NB_HEARTBEAT_S 5
#define NB_READ_TIMEOUT_S 20
#define NB_BACKOFF_MIN_MS 200
#define NB_BACKOFF_MAX_MS 2000

struct nb_batch {
	uint64_t nb_seq;
	uint64_t nb_first; /* the number of its first sample */
	uint32_t nb_count;
	int nb_writes; /* connections it was written on */
	struct pbuf nb_frame;
};

struct nb {
	struct event_base *n_base;
	SSL_CTX *n_ctx;
	const char *n_target;
	const char *n_name;
	uint64_t n_stream;
	uint64_t n_count; /* numbers to make */
	double n_rate;    /* samples per second */
	int n_batch_max;
	double n_limit; /* seconds, overall */
	double n_t0;
	int64_t n_last_ts;
	uint64_t n_made;  /* numbers 1..n_made are made and queued */
	uint64_t n_acked; /* samples acknowledged */
	uint64_t n_seq;   /* last sealed batch */
	uint64_t n_acked_seq;
	uint64_t n_sent_seq;  /* last batch written on this connection */
	struct nb_batch *n_q; /* unacknowledged, in order: [n_qhead, n_qlen) */
	size_t n_qhead, n_qlen, n_qcap;
	struct bufferevent *n_bev;
	int n_ready;
	uint64_t n_backoff_ms;
	unsigned n_connects, n_welcomes, n_lost;
	uint64_t n_resent;        /* batches written again after a lost link */
	uint64_t n_written;       /* batch writes, first or again */
	uint64_t n_welcome_acked; /* written, then covered by a welcome */
	const char *n_status;     /* a file rewritten every tick, or NULL */
	const char *n_drop_acks;  /* while this file exists, acks are lost */
	uint64_t n_ticks;
	struct event *n_tick, *n_retry, *n_hb;
	int n_rc, n_done;
};

static void nb_connect(struct nb *n);

/* --ts-offset: added to every sample's timestamp (tests of the collector's
 * clock window: samples older than the retention or a day ahead). */
static int64_t nb_ts_offset_us;

static int64_t
nb_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
nb_finish(struct nb *n)
{
	uint64_t missing = n->n_made - n->n_acked;
	size_t i;

	if (n->n_done)
		return;
	n->n_done = 1;
	printf("sent=%" PRIu64 " acked=%" PRIu64 " missing=%" PRIu64
	       " batches=%" PRIu64 " resent=%" PRIu64 " welcome_acked=%" PRIu64
	       " connects=%u welcomes=%u lost_links=%u\n",
	       n->n_made, n->n_acked, missing, n->n_seq, n->n_resent,
	       n->n_welcome_acked, n->n_connects, n->n_welcomes, n->n_lost);
	fflush(stdout);
	for (i = n->n_qhead; i < n->n_qlen; i++)
		fprintf(stderr,
		        "loadgen: not acknowledged: batch %" PRIu64
		        ", numbers %" PRIu64 "..%" PRIu64 "\n",
		        n->n_q[i].nb_seq, n->n_q[i].nb_first,
		        n->n_q[i].nb_first + n->n_q[i].nb_count - 1);
	n->n_rc = missing == 0 && n->n_made == n->n_count ? 0 : 1;
	event_base_loopexit(n->n_base, NULL);
}

/* Forgets batches <= seq: they are committed. */
static void
nb_forget(struct nb *n, uint64_t seq)
{
	while (n->n_qhead < n->n_qlen && n->n_q[n->n_qhead].nb_seq <= seq) {
		n->n_acked += n->n_q[n->n_qhead].nb_count;
		pbuf_free(&n->n_q[n->n_qhead].nb_frame);
		n->n_qhead++;
	}
	if (seq > n->n_acked_seq)
		n->n_acked_seq = seq;
	if (n->n_qhead == n->n_qlen)
		n->n_qhead = n->n_qlen = 0;
	if (n->n_made == n->n_count && n->n_qlen == 0)
		nb_finish(n);
}

/* Writes the unsent batches, keeping the output buffer bounded. */
static void
nb_pump(struct nb *n)
{
	size_t i;

	if (!n->n_ready)
		return;
	for (i = n->n_qhead; i < n->n_qlen; i++) {
		struct nb_batch *b = &n->n_q[i];
		if (b->nb_seq <= n->n_sent_seq)
			continue;
		if (evbuffer_get_length(bufferevent_get_output(n->n_bev)) >=
		    NB_OUT_HIGH)
			break;
		bufferevent_write(n->n_bev, b->nb_frame.pb_data,
		                  b->nb_frame.pb_len);
		if (b->nb_writes++ > 0)
			n->n_resent++;
		n->n_written++;
		n->n_sent_seq = b->nb_seq;
	}
}

/* Seals the numbers due by now into batches, like the agent's flush. */
static void
nb_make(struct nb *n, uint64_t due)
{
	while (n->n_made < due) {
		uint64_t k = due - n->n_made, j;
		struct nb_batch *b;
		size_t start;

		if (k > (uint64_t)n->n_batch_max)
			k = n->n_batch_max;
		if (n->n_qlen == n->n_qcap) {
			if (n->n_qhead > 0) {
				memmove(n->n_q, n->n_q + n->n_qhead,
				        (n->n_qlen - n->n_qhead) *
				            sizeof(*n->n_q));
				n->n_qlen -= n->n_qhead;
				n->n_qhead = 0;
			}
			if (n->n_qlen == n->n_qcap) {
				n->n_qcap = n->n_qcap ? n->n_qcap * 2 : 256;
				n->n_q = realloc(n->n_q,
				                 n->n_qcap * sizeof(*n->n_q));
			}
		}
		b = &n->n_q[n->n_qlen++];
		b->nb_seq = ++n->n_seq;
		b->nb_first = n->n_made + 1;
		b->nb_count = (uint32_t)k;
		b->nb_writes = 0;
		pbuf_init(&b->nb_frame);
		start = proto_batch_begin(&b->nb_frame, b->nb_seq);
		for (j = 0; j < k; j++) {
			int64_t ts = nb_now_us() + nb_ts_offset_us;
			if (ts <= n->n_last_ts)
				ts = n->n_last_ts + 1;
			n->n_last_ts = ts;
			proto_batch_add(&b->nb_frame, ts, "lg.seq",
			                (double)(b->nb_first + j));
		}
		proto_batch_end(&b->nb_frame, start, b->nb_count, NULL, 0);
		n->n_made += k;
	}
	nb_pump(n);
}

/* For a test to wait on: what is made, written and acknowledged. */
static void
nb_status(struct nb *n)
{
	char tmp[1024];
	FILE *fp;

	if (n->n_status == NULL)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", n->n_status);
	if ((fp = fopen(tmp, "w")) == NULL)
		return;
	fprintf(fp,
	        "tick=%" PRIu64 " made=%" PRIu64 " written=%" PRIu64
	        " acked=%" PRIu64 " acked_seq=%" PRIu64 " ready=%d\n",
	        ++n->n_ticks, n->n_made, n->n_written, n->n_acked,
	        n->n_acked_seq, n->n_ready);
	if (fclose(fp) == 0)
		rename(tmp, n->n_status);
}

static void
nb_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct nb *n = arg;
	double t = mono() - n->n_t0;
	uint64_t due = (uint64_t)(t * n->n_rate);

	(void)fd;
	(void)what;
	if (t >= n->n_limit) {
		fprintf(stderr, "loadgen: limit of %.0f s reached\n",
		        n->n_limit);
		nb_finish(n);
		return;
	}
	if (due > n->n_count)
		due = n->n_count;
	nb_make(n, due);
	nb_status(n);
}

static void
nb_close(struct nb *n, const char *why)
{
	struct timeval tv;
	uint64_t delay;

	if (n->n_bev != NULL) {
		bufferevent_free(n->n_bev);
		n->n_bev = NULL;
	}
	if (n->n_ready) {
		n->n_lost++;
		n->n_backoff_ms = NB_BACKOFF_MIN_MS;
	}
	fprintf(stderr, "loadgen: %s: %s; retrying\n",
	        n->n_ready ? "lost the collector" : "collector", why);
	n->n_ready = 0;
	delay = n->n_backoff_ms;
	n->n_backoff_ms *= 2;
	if (n->n_backoff_ms > NB_BACKOFF_MAX_MS)
		n->n_backoff_ms = NB_BACKOFF_MAX_MS;
	delay = delay * 3 / 4 + (uint64_t)rand() % (delay / 2 + 1);
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	evtimer_add(n->n_retry, &tv);
}

static void
nb_read_cb(struct bufferevent *bev, void *arg)
{
	struct nb *n = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (n->n_bev == bev) {
		size_t avail = evbuffer_get_length(in), flen;
		const char *why = NULL;
		char text[PROTO_TEXT_MAX + 1], msg[PROTO_TEXT_MAX + 32];
		uint8_t *d;
		uint64_t v;
		uint16_t ver;
		int rc;

		if (avail < PROTO_HDR_LEN)
			return;
		d = evbuffer_pullup(in, PROTO_HDR_LEN);
		if ((rc = proto_frame_check(d, avail, &flen, &why)) == -1) {
			nb_close(n, why);
			return;
		}
		if (rc == 0)
			return;
		d = evbuffer_pullup(in, flen);
		switch (d[4]) {
		case PROTO_WELCOME:
			if (n->n_ready ||
			    proto_get_welcome(d + 5, flen - 5, &ver, &v,
			                      &why) == -1) {
				nb_close(n, why ? why : "unexpected welcome");
				return;
			}
			if (v < n->n_acked_seq)
				fprintf(stderr,
				        "loadgen: welcome says %" PRIu64
				        " stored, but %" PRIu64
				        " was acknowledged\n",
				        v, n->n_acked_seq);
			if (v > n->n_seq)
				v = n->n_seq;
			n->n_ready = 1;
			n->n_welcomes++;
			n->n_backoff_ms = NB_BACKOFF_MIN_MS;
			n->n_sent_seq = v > n->n_acked_seq ? v : n->n_acked_seq;
			for (size_t i = n->n_qhead;
			     i < n->n_qlen && n->n_q[i].nb_seq <= v; i++)
				if (n->n_q[i].nb_writes > 0)
					n->n_welcome_acked++;
			evbuffer_drain(in, flen);
			nb_forget(n, v);
			nb_pump(n);
			continue;
		case PROTO_ACK:
			if (!n->n_ready ||
			    proto_get_u64(d + 5, flen - 5, &v, &why) == -1) {
				nb_close(n, why ? why : "unexpected ack");
				return;
			}
			evbuffer_drain(in, flen);
			/* A test simulates acks lost on the way. */
			if (n->n_drop_acks == NULL ||
			    access(n->n_drop_acks, F_OK) == -1)
				nb_forget(n, v);
			continue;
		case PROTO_HEARTBEAT:
			evbuffer_drain(in, flen);
			continue;
		case PROTO_ERROR:
			if (proto_get_error(d + 5, flen - 5, text,
			                    sizeof(text)) == -1)
				snprintf(text, sizeof(text), "(unreadable)");
			snprintf(msg, sizeof(msg), "refused us: %s", text);
			nb_close(n, msg);
			return;
		default:
			nb_close(n, "unexpected frame type");
			return;
		}
	}
}

static void
nb_write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	nb_pump(arg);
}

static void
nb_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct nb *n = arg;
	char why[300];
	unsigned long e;

	if (what & BEV_EVENT_CONNECTED) {
		struct proto_hello h;
		struct pbuf pb;

		memset(&h, 0, sizeof(h));
		h.h_version = PROTO_VERSION_MIN; /* samples only */
		h.h_stream = n->n_stream;
		snprintf(h.h_name, sizeof(h.h_name), "%s", n->n_name);
		snprintf(h.h_role, sizeof(h.h_role), "other");
		snprintf(h.h_software, sizeof(h.h_software), "loadgen");
		pbuf_init(&pb);
		proto_put_hello(&pb, &h);
		bufferevent_write(bev, pb.pb_data, pb.pb_len);
		pbuf_free(&pb);
		/* As the agent: not before, or a refused connect is an EOF. */
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
		return;
	}
	e = bufferevent_get_openssl_error(bev);
	if (e != 0 && ERR_GET_LIB(e) != 0) { /* else errno says it */
		char err[256];
		ERR_error_string_n(e, err, sizeof(err));
		snprintf(why, sizeof(why), "TLS: %s", err);
		while (bufferevent_get_openssl_error(bev) != 0)
			;
	} else if (what & BEV_EVENT_TIMEOUT)
		snprintf(why, sizeof(why), "no frame for %d s",
		         NB_READ_TIMEOUT_S);
	else if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "closed by the collector");
	else
		snprintf(why, sizeof(why), "%s",
		         evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	nb_close(n, why);
}

static void
nb_connect(struct nb *n)
{
	struct sockaddr_storage ss;
	int sslen = sizeof(ss);
	struct timeval rt = {NB_READ_TIMEOUT_S, 0};
	SSL *ssl = SSL_new(n->n_ctx);

	n->n_connects++;
	n->n_bev = bufferevent_openssl_socket_new(
	    n->n_base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (n->n_bev == NULL) {
		SSL_free(ssl);
		nb_close(n, "cannot create a connection");
		return;
	}
	bufferevent_setcb(n->n_bev, nb_read_cb, nb_write_cb, nb_event_cb, n);
	bufferevent_setwatermark(n->n_bev, EV_WRITE, NB_OUT_HIGH / 2, 0);
	bufferevent_set_timeouts(n->n_bev, &rt, NULL);
	bufferevent_enable(n->n_bev, EV_READ | EV_WRITE);
	if (evutil_parse_sockaddr_port(n->n_target, (struct sockaddr *)&ss,
	                               &sslen) == -1 ||
	    bufferevent_socket_connect(n->n_bev, (struct sockaddr *)&ss,
	                               sslen) == -1)
		nb_close(n, "connect failed");
}

static void
nb_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	nb_connect(arg);
}

/* Heartbeats also before the welcome, as the agent does. */
static void
nb_hb_cb(evutil_socket_t fd, short what, void *arg)
{
	struct nb *n = arg;
	struct pbuf pb;

	(void)fd;
	(void)what;
	if (n->n_bev == NULL)
		return;
	pbuf_init(&pb);
	proto_put_heartbeat(&pb, nb_now_us());
	bufferevent_write(n->n_bev, pb.pb_data, pb.pb_len);
	pbuf_free(&pb);
}

static int
numbered(SSL_CTX *ctx, const char *target, const char *name, uint64_t count,
         double rate, int batch, double limit, const char *status,
         const char *drop_acks)
{
	struct nb n;
	struct timeval tick = {0, NB_TICK_MS * 1000}, hb = {NB_HEARTBEAT_S, 0};
	size_t i;

	memset(&n, 0, sizeof(n));
	n.n_base = event_base_new();
	n.n_ctx = ctx;
	n.n_target = target;
	n.n_name = name;
	n.n_count = count;
	n.n_rate = rate;
	n.n_batch_max = batch;
	n.n_limit = limit;
	n.n_status = status;
	n.n_drop_acks = drop_acks;
	n.n_rc = 1;
	n.n_backoff_ms = NB_BACKOFF_MIN_MS;
	if (RAND_bytes((unsigned char *)&n.n_stream, sizeof(n.n_stream)) != 1)
		n.n_stream = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	n.n_stream |= 1;
	srand((unsigned)n.n_stream);
	n.n_tick = event_new(n.n_base, -1, EV_PERSIST, nb_tick_cb, &n);
	n.n_hb = event_new(n.n_base, -1, EV_PERSIST, nb_hb_cb, &n);
	n.n_retry = evtimer_new(n.n_base, nb_retry_cb, &n);
	event_add(n.n_tick, &tick);
	event_add(n.n_hb, &hb);
	n.n_t0 = mono();
	nb_connect(&n);
	event_base_dispatch(n.n_base);
	if (n.n_bev != NULL)
		bufferevent_free(n.n_bev);
	for (i = n.n_qhead; i < n.n_qlen; i++)
		pbuf_free(&n.n_q[i].nb_frame);
	free(n.n_q);
	event_free(n.n_tick);
	event_free(n.n_hb);
	event_free(n.n_retry);
	event_base_free(n.n_base);
	return n.n_rc;
}

/* The reference: the same rows COPYed directly, same transaction size. */
static int
raw_copy(const char *dsn, uint64_t rows, int nseries)
{
	PGconn *db = PQconnectdb(dsn);
	struct pbuf pb;
	PGresult *r;
	uint64_t done = 0;
	int64_t ts = ((int64_t)time(NULL) - 3600) * 1000000 - 946684800000000LL;
	char series[64];
	double t0;
	int agent_id;

	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "raw copy: %s", PQerrorMessage(db));
		return -1;
	}
	r = PQexec(db, "INSERT INTO watchstand.agents (name, role) VALUES "
	               "('raw-copy', 'other') ON CONFLICT (name) DO UPDATE SET "
	               "role = 'other' RETURNING id");
	agent_id = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	/* The rows start an hour ago: that day's partition must exist. */
	PQclear(PQexec(db, "SELECT watchstand.ensure_partition(((now() - "
	                   "interval '1 hour') AT TIME ZONE 'UTC')::date)"));
	pbuf_init(&pb);
	t0 = mono();
	while (done < rows) {
		uint64_t n = rows - done > 250000 ? 250000 : rows - done, i;
		uint8_t hdr[19] = "PGCOPY\n\377\r\n";
		PQclear(PQexec(db, "BEGIN"));
		r = PQexec(db, "COPY watchstand.samples (ts, agent_id, series, "
		               "value) FROM STDIN (FORMAT binary)");
		PQclear(r);
		pbuf_reset(&pb);
		pbuf_add(&pb, hdr, 19);
		for (i = 0; i < n; i++) {
			uint8_t row[2 + 4 + 8 + 4 + 4 + 4];
			double v = i * 0.5;
			uint64_t bits, t = (uint64_t)ts;
			int len =
			    snprintf(series, sizeof(series), "bench.s%d.value",
			             (int)(i % nseries));
			int k;
			memcpy(&bits, &v, 8);
			row[0] = 0;
			row[1] = 4;
			row[2] = row[3] = row[4] = 0;
			row[5] = 8;
			for (k = 0; k < 8; k++)
				row[6 + k] = t >> (56 - 8 * k);
			row[14] = row[15] = row[16] = 0;
			row[17] = 4;
			row[18] = agent_id >> 24;
			row[19] = agent_id >> 16;
			row[20] = agent_id >> 8;
			row[21] = agent_id;
			row[22] = row[23] = row[24] = 0;
			row[25] = len;
			pbuf_add(&pb, row, 26);
			pbuf_add(&pb, series, len);
			uint8_t vb[12] = {0, 0, 0, 8};
			for (k = 0; k < 8; k++)
				vb[4 + k] = bits >> (56 - 8 * k);
			pbuf_add(&pb, vb, 12);
			if (i % nseries == (uint64_t)nseries - 1)
				ts += 1000;
		}
		pbuf_add(&pb, "\377\377", 2);
		if (PQputCopyData(db, (char *)pb.pb_data, pb.pb_len) != 1 ||
		    PQputCopyEnd(db, NULL) != 1) {
			fprintf(stderr, "raw copy: %s", PQerrorMessage(db));
			return -1;
		}
		r = PQgetResult(db);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			fprintf(stderr, "raw copy: %s", PQerrorMessage(db));
			return -1;
		}
		PQclear(r);
		while ((r = PQgetResult(db)) != NULL)
			PQclear(r);
		PQclear(PQexec(db, "COMMIT"));
		done += n;
	}
	printf("%.0f\n", rows / (mono() - t0));
	pbuf_free(&pb);
	PQfinish(db);
	return 0;
}

int
main(int argc, char **argv)
{
	struct lg lg = {0};
	const char *tls = NULL, *target = "127.0.0.1:7730", *dsn = NULL;
	char ca[512], cert[512], key[512], err[512];
	uint64_t raw_rows = 0;
	struct event *tick;
	struct timeval tv = {0, 100000};
	int ch, i;
	/* --numbered */
	enum {
		LG_OPT_COUNT = 256,
		LG_OPT_NUMBERED,
		LG_OPT_RATE,
		LG_OPT_NAME,
		LG_OPT_LIMIT,
		LG_OPT_STATUS,
		LG_OPT_DROP_ACKS,
		LG_OPT_TS_OFFSET,
	};
	static const struct option longopts[] = {
	    {"count", required_argument, NULL, LG_OPT_COUNT},
	    {"numbered", no_argument, NULL, LG_OPT_NUMBERED},
	    {"rate", required_argument, NULL, LG_OPT_RATE},
	    {"name", required_argument, NULL, LG_OPT_NAME},
	    {"limit", required_argument, NULL, LG_OPT_LIMIT},
	    {"status", required_argument, NULL, LG_OPT_STATUS},
	    {"drop-acks-while", required_argument, NULL, LG_OPT_DROP_ACKS},
	    {"ts-offset", required_argument, NULL, LG_OPT_TS_OFFSET},
	    {NULL, 0, NULL, 0},
	};
	uint64_t nb_count = 0;
	int nb_on = 0, batch_set = 0;
	double nb_rate = 3000, nb_limit = 300;
	const char *nb_name = "bench", *nb_status = NULL, *nb_drop = NULL;

	lg.nagents = 20;
	lg.batch = 1000;
	lg.window = 8;
	lg.nseries = 100;
	lg.warmup = 3;
	lg.seconds = 15;
	while ((ch = getopt_long(argc, argv, "a:b:w:s:t:T:c:d:r:W:", longopts,
	                         NULL)) != -1) {
		switch (ch) {
		case LG_OPT_COUNT:
			nb_count = strtoull(optarg, NULL, 10);
			break;
		case LG_OPT_NUMBERED:
			nb_on = 1;
			break;
		case LG_OPT_RATE:
			nb_rate = atof(optarg);
			break;
		case LG_OPT_NAME:
			nb_name = optarg;
			break;
		case LG_OPT_LIMIT:
			nb_limit = atof(optarg);
			break;
		case LG_OPT_STATUS:
			nb_status = optarg;
			break;
		case LG_OPT_DROP_ACKS:
			nb_drop = optarg;
			break;
		case LG_OPT_TS_OFFSET: /* seconds, may be negative */
			nb_ts_offset_us = strtoll(optarg, NULL, 10) * 1000000;
			break;
		case 'a':
			lg.nagents = atoi(optarg);
			break;
		case 'b':
			lg.batch = atoi(optarg);
			batch_set = 1;
			break;
		case 'w':
			lg.window = atoi(optarg);
			break;
		case 's':
			lg.nseries = atoi(optarg);
			break;
		case 't':
			lg.seconds = atof(optarg);
			break;
		case 'W':
			lg.warmup = atof(optarg);
			break;
		case 'T':
			tls = optarg;
			break;
		case 'c':
			target = optarg;
			break;
		case 'd':
			dsn = optarg;
			break;
		case 'r':
			raw_rows = strtoull(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr,
			        "usage: ws-loadgen -T tlsdir -c host:port "
			        "[-a agents -b batch -w window -s series -t "
			        "secs] | "
			        "-d dsn -r rows | "
			        "-T tlsdir -c host:port --numbered --count N "
			        "[--rate per_s --name agent --limit secs "
			        "--status file --drop-acks-while file "
			        "--ts-offset secs -b batch]\n");
			return 2;
		}
	}
	if (nb_on && (nb_count == 0 || nb_rate <= 0)) {
		fprintf(stderr, "loadgen: --numbered needs --count N and a "
		                "positive --rate\n");
		return 2;
	}
	if (raw_rows > 0)
		return raw_copy(dsn, raw_rows, lg.nseries) == 0 ? 0 : 1;
	signal(SIGPIPE, SIG_IGN);
	snprintf(ca, sizeof(ca), "%s/ca.pem", tls);
	snprintf(cert, sizeof(cert), "%s/bench.pem", tls);
	snprintf(key, sizeof(key), "%s/bench.key", tls);
	if ((lg.ctx = tls_ctx_new(ca, cert, key, 0, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "loadgen: %s\n", err);
		return 1;
	}
	if (nb_on) {
		int rc = numbered(lg.ctx, target, nb_name, nb_count, nb_rate,
		                  batch_set ? lg.batch : 500, nb_limit,
		                  nb_status, nb_drop);
		SSL_CTX_free(lg.ctx);
		return rc;
	}
	lg.base = event_base_new();
	lg.agents = calloc(lg.nagents, sizeof(*lg.agents));
	lg.host = "127.0.0.1";
	lg.port = atoi(strrchr(target, ':') + 1);
	for (i = 0; i < lg.nagents; i++) {
		struct lg_agent *a = &lg.agents[i];
		SSL *ssl = SSL_new(lg.ctx);
		struct sockaddr_storage ss;
		int sslen = sizeof(ss);

		a->a_lg = &lg;
		a->a_idx = i;
		a->a_ts = ((int64_t)time(NULL) - 1800) * 1000000 + i;
		pbuf_init(&a->a_out);
		a->a_bev = bufferevent_openssl_socket_new(
		    lg.base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
		    BEV_OPT_CLOSE_ON_FREE);
		bufferevent_setcb(a->a_bev, lg_read_cb, NULL, lg_event_cb, a);
		bufferevent_enable(a->a_bev, EV_READ | EV_WRITE);
		evutil_parse_sockaddr_port(target, (struct sockaddr *)&ss,
		                           &sslen);
		bufferevent_socket_connect(a->a_bev, (struct sockaddr *)&ss,
		                           sslen);
	}
	tick = event_new(lg.base, -1, EV_PERSIST, lg_tick, &lg);
	event_add(tick, &tv);
	lg.t_start = mono();
	event_base_dispatch(lg.base);
	return 0;
}
