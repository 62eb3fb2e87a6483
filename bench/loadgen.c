/*
 * ws-loadgen: simulated agents for bench/ingest. Each agent speaks the real
 * protocol (common/proto.c) over TLS, keeps a window of unacknowledged
 * batches in flight and counts what the collector acknowledges, i.e. what
 * is committed in PostgreSQL. With --raw-copy it instead COPYs the same
 * rows straight into watchstand.samples, as the reference figure.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <libpq-fe.h>
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
		h.h_version = PROTO_VERSION;
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

	lg.nagents = 20;
	lg.batch = 1000;
	lg.window = 8;
	lg.nseries = 100;
	lg.warmup = 3;
	lg.seconds = 15;
	while ((ch = getopt(argc, argv, "a:b:w:s:t:T:c:d:r:W:")) != -1) {
		switch (ch) {
		case 'a':
			lg.nagents = atoi(optarg);
			break;
		case 'b':
			lg.batch = atoi(optarg);
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
			        "-d dsn -r rows\n");
			return 2;
		}
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
