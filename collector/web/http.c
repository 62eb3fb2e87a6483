/* The collector's HTTP side: /healthz, /metrics, and the connections
 * the API, the ack links and the console are served on; HTTPS when
 * collector.http_tls is set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "watchstand/clock.h"
#include "watchstand/hostport.h"
#include "watchstand/log.h"
#include "watchstand/tls.h"
#include "watchstand/xalloc.h"
#include "collector.h"
#include "lead.h"
#include "web/ackpage.h"
#include "web/api.h"
#include "web/console.h"
#include "ingest/ingest.h"

/*
 * evhttp's own timeout is per read: a client that sends a header byte
 * every few seconds would hold its connection forever. Each connection
 * must deliver a whole request within collector.http_request_timeout of
 * being accepted (or of its last answer, on a kept-alive connection), and
 * at most collector.http_max_connections are open at once; more are
 * closed at once. Both are counted in /metrics.
 */
#define HTTP_HEADERS_MAX (16 * 1024)
#define HTTP_BODY_MAX (1 << 20)
#define HTTP_SWEEP_MS 250

struct http_conn {
	struct http_conn *hc_next;
	struct bufferevent *hc_bev; /* we hold a reference */
	double hc_deadline;         /* for the next whole request */
	int hc_busy;                /* a request is being answered */
	int hc_refuse;              /* over the cap: close it */
};

static struct {
	struct http_conn *h_conns;
	int h_nconns;
	struct event *h_sweep;
	double h_request_s;
	uint64_t h_max_conns;
	uint64_t h_refused;
	uint64_t h_timed_out;
	SSL_CTX *h_tls; /* collector.http_tls: every connection is TLS */
} http;

/* evhttp frees a connection's bufferevent by clearing its callbacks and
 * dropping its reference; ours keeps the memory until this notices. */
static int
http_conn_gone(const struct http_conn *hc)
{
	bufferevent_data_cb rd;
	bufferevent_event_cb ev;

	bufferevent_getcb(hc->hc_bev, &rd, NULL, &ev, NULL);
	return rd == NULL && ev == NULL;
}

/* Forgets connections evhttp has closed. */
static void
http_conns_prune(void)
{
	struct http_conn **pp = &http.h_conns, *hc;

	while ((hc = *pp) != NULL) {
		if (http_conn_gone(hc)) {
			*pp = hc->hc_next;
			bufferevent_decref(hc->hc_bev);
			free(hc);
			http.h_nconns--;
		} else
			pp = &hc->hc_next;
	}
}

static void
http_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *hc;
	double now = clock_mono_s();

	(void)fd;
	(void)what;
	(void)arg;
	http_conns_prune();
	for (hc = http.h_conns; hc != NULL; hc = hc->hc_next) {
		if (hc->hc_refuse || (!hc->hc_busy && now > hc->hc_deadline)) {
			if (!hc->hc_refuse)
				http.h_timed_out++;
			hc->hc_refuse = 0;
			hc->hc_deadline = now + http.h_request_s;
			/* As evhttp's own timeout does: the connection is
			 * dropped without an answer. */
			bufferevent_trigger_event(
			    hc->hc_bev, BEV_EVENT_TIMEOUT | BEV_EVENT_READING,
			    0);
		}
	}
}

/* A TLS connection's bufferevent: the handshake is answered first,
 * within the same deadline as the request. */
static struct bufferevent *
http_tls_bev(struct event_base *base)
{
	struct bufferevent *bev;
	SSL *ssl;

	if ((ssl = SSL_new(http.h_tls)) == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(
	    base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	/* Browsers often close without a close_notify: not an error. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

static struct bufferevent *
http_bevcb(struct event_base *base, void *arg)
{
	struct bufferevent *bev = NULL;
	struct http_conn *hc;
	int refuse = 0;

	(void)arg;
	if (http.h_tls != NULL && (bev = http_tls_bev(base)) == NULL) {
		/* evhttp would make a plain one: make it, and close it. */
		log_warnx("collector.http: cannot set up TLS for a "
		          "connection");
		refuse = 1;
	}
	if (bev == NULL)
		bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL || (hc = xcalloc(1, sizeof(*hc))) == NULL)
		return bev;
	http_conns_prune(); /* count only the open ones */
	bufferevent_incref(bev);
	hc->hc_bev = bev;
	hc->hc_deadline = clock_mono_s() + http.h_request_s;
	if (refuse) {
		hc->hc_refuse = 1;
		event_active(http.h_sweep, EV_TIMEOUT, 0);
	} else if ((uint64_t)http.h_nconns >= http.h_max_conns) {
		/* evhttp sets the socket after this returns: closed on the
		 * next sweep, which comes at once. */
		hc->hc_refuse = 1;
		http.h_refused++;
		event_active(http.h_sweep, EV_TIMEOUT, 0);
	}
	hc->hc_next = http.h_conns;
	http.h_conns = hc;
	http.h_nconns++;
	return bev;
}

static struct http_conn *
http_conn_of(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev =
	    evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	struct http_conn *hc;

	for (hc = http.h_conns; hc != NULL; hc = hc->hc_next)
		if (hc->hc_bev == bev)
			return hc;
	return NULL;
}

static void
http_request_done(struct evhttp_request *req, void *arg)
{
	struct http_conn *hc = http_conn_of(req);

	(void)arg;
	if (hc != NULL) {
		hc->hc_busy = 0;
		hc->hc_deadline = clock_mono_s() + http.h_request_s;
	}
}

/* A whole request arrived: no deadline while it is being answered (an
 * event stream is answered for as long as it lasts). Over HTTPS, every
 * answer tells the browser to stay on it. */
static void
http_request_begin(struct evhttp_request *req)
{
	struct http_conn *hc = http_conn_of(req);

	if (http.h_tls != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		                  "Strict-Transport-Security",
		                  "max-age=31536000");
	if (hc != NULL) {
		hc->hc_busy = 1;
		evhttp_request_set_on_complete_cb(req, http_request_done, NULL);
	}
}

void
http_reply_json(struct evhttp_request *req, int code, json_t *body)
{
	struct evbuffer *out = evbuffer_new();
	char *text = json_dumps(body, JSON_COMPACT);

	evhttp_add_header(evhttp_request_get_output_headers(req),
	                  "Content-Type", "application/json");
	evbuffer_add_printf(out, "%s\n", text);
	evhttp_send_reply(req, code, NULL, out);
	free(text);
	json_decref(body);
	evbuffer_free(out);
}

/* Only GET and HEAD for the plain endpoints. */
static int
http_read_only(struct evhttp_request *req)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD)
		return 1;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
	                  "GET, HEAD");
	http_reply_json(req, 405,
	                json_pack("{s:s}", "error", "GET or HEAD only"));
	return 0;
}

static void
http_healthz(struct evhttp_request *req, void *arg)
{
	struct collector *c = arg;
	int up = c->c_stats.st_db_up;

	http_request_begin(req);
	if (!http_read_only(req))
		return;

	http_reply_json(
	    req, up ? 200 : 503,
	    json_pack("{s:s, s:s, s:i, s:s, s:s, s:o}", "status",
	              up ? "ok" : "degraded", "database", up ? "up" : "down",
	              "agents_connected", ingest_connected(c->c_ingest),
	              "phase", c->c_phase ? c->c_phase : "", "version",
	              COLLECTOR_VERSION, "lead", lead_json(c->c_lead)));
}

static void
metric(struct evbuffer *out, const char *name, const char *type,
       const char *help, double v)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name,
	                    help, name, type, name, v);
}

static void
http_metrics(struct evhttp_request *req, void *arg)
{
	struct collector *c = arg;
	struct collector_stats *s = &c->c_stats;
	struct evbuffer *out;
	int b;

	http_request_begin(req);
	if (!http_read_only(req))
		return;
	out = evbuffer_new();
	metric(out, "watchstand_samples_ingested_total", "counter",
	       "Samples committed to PostgreSQL.", (double)s->st_samples);
	metric(out, "watchstand_events_ingested_total", "counter",
	       "Key events (matched log lines, plugin summaries) committed.",
	       (double)s->st_events);
	metric(out, "watchstand_batches_total", "counter",
	       "Agent batches committed to PostgreSQL.", (double)s->st_batches);
	metric(out, "watchstand_batches_duplicate_total", "counter",
	       "Replayed batches that were already stored (acknowledged only).",
	       (double)s->st_batches_dup);
	metric(out, "watchstand_samples_out_of_range_total", "counter",
	       "Samples older than the retention or more than a day ahead, "
	       "not stored.",
	       (double)s->st_samples_range);
	metric(out, "watchstand_agents_connected", "gauge",
	       "Agents connected now.", ingest_connected(c->c_ingest));
	metric(out, "watchstand_connections_refused_total", "counter",
	       "Agent connections refused (TLS, protocol, identity).",
	       (double)s->st_rejected);
	metric(out, "watchstand_database_up", "gauge",
	       "1 when the collector's PostgreSQL connection works.",
	       s->st_db_up);
	metric(out, "watchstand_database_errors_total", "counter",
	       "Failed database transactions (retried).",
	       (double)s->st_db_errors);
	metric(out, "watchstand_write_queue_bytes", "gauge",
	       "Batch bytes received and not yet committed.",
	       (double)s->st_queue_bytes);
	evbuffer_add_printf(
	    out, "# HELP watchstand_database_write_seconds Time from BEGIN to "
	         "COMMIT of an ingest transaction.\n"
	         "# TYPE watchstand_database_write_seconds histogram\n");
	for (b = 0; b < STATS_LAT_BUCKETS; b++)
		evbuffer_add_printf(
		    out,
		    "watchstand_database_write_seconds_bucket{le=\"%g\"} "
		    "%llu\n",
		    stats_lat_bounds[b],
		    (unsigned long long)s->st_lat_bucket[b]);
	evbuffer_add_printf(
	    out,
	    "watchstand_database_write_seconds_bucket{le=\"+Inf\"} %llu\n"
	    "watchstand_database_write_seconds_sum %.6f\n"
	    "watchstand_database_write_seconds_count %llu\n",
	    (unsigned long long)s->st_lat_count, s->st_lat_sum,
	    (unsigned long long)s->st_lat_count);
	evbuffer_add_printf(out,
	                    "# HELP watchstand_calendar_phase The trading "
	                    "calendar's phase now (1).\n"
	                    "# TYPE watchstand_calendar_phase gauge\n"
	                    "watchstand_calendar_phase{phase=\"%s\"} 1\n",
	                    c->c_phase ? c->c_phase : "");
	metric(out, "watchstand_http_connections", "gauge",
	       "HTTP connections open now.", http.h_nconns);
	metric(out, "watchstand_http_connections_refused_total", "counter",
	       "HTTP connections closed at once: over the limit of open "
	       "connections.",
	       (double)http.h_refused);
	metric(out, "watchstand_http_connections_timed_out_total", "counter",
	       "HTTP connections closed because a whole request did not "
	       "arrive in time.",
	       (double)http.h_timed_out);
	ingest_metrics(c->c_ingest, out);
	notifier_metrics(c->c_notifier, out);
	lead_metrics(c->c_lead, out);
	api_metrics(out);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	                  "Content-Type", "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

static void
http_notfound(struct evhttp_request *req, void *arg)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	http_request_begin(req);
	/* evhttp would answer these in HTML; every answer here is JSON. */
	if (cmd == EVHTTP_REQ_TRACE || cmd == EVHTTP_REQ_CONNECT) {
		http_reply_json(
		    req, 501,
		    json_pack("{s:s}", "error", "method not implemented"));
		return;
	}
	if (ackpage_handle(arg, req) || api_handle(arg, req) ||
	    console_handle(arg, req))
		return;
	http_reply_json(req, 404, json_pack("{s:s}", "error", "no such path"));
}

int
http_start(struct collector *c)
{
	char host[256], err[512];
	int port;

	if (hostport_split(c->c_conf.cc_http, host, sizeof(host),
	                             &port) == -1)
		return -1;
	if (c->c_conf.cc_http_tls_cert != NULL &&
	    (http.h_tls = tls_web_ctx_new(c->c_conf.cc_http_tls_cert,
	                                  c->c_conf.cc_http_tls_key, err,
	                                  sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	c->c_http = evhttp_new(c->c_base);
	api_init(c);
	/* Every method reaches the handlers, which answer in JSON. */
	evhttp_set_allowed_methods(
	    c->c_http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                   EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                   EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	                   EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_max_body_size(c->c_http, HTTP_BODY_MAX);
	evhttp_set_max_headers_size(c->c_http, HTTP_HEADERS_MAX);
	evhttp_set_timeout(c->c_http, 30);
	http.h_request_s = c->c_conf.cc_http_request_ms / 1000.0;
	http.h_max_conns = c->c_conf.cc_http_max_conns;
	evhttp_set_bevcb(c->c_http, http_bevcb, c);
	http.h_sweep =
	    event_new(c->c_base, -1, EV_PERSIST, http_sweep_cb, NULL);
	event_add(http.h_sweep, &(struct timeval){0, HTTP_SWEEP_MS * 1000});
	evhttp_set_cb(c->c_http, "/healthz", http_healthz, c);
	evhttp_set_cb(c->c_http, "/metrics", http_metrics, c);
	evhttp_set_gencb(c->c_http, http_notfound, c);
	if (evhttp_bind_socket_with_handle(c->c_http, host, port) == NULL) {
		log_warn("collector.http %s", c->c_conf.cc_http);
		return -1;
	}
	return 0;
}

void
http_stop(struct collector *c)
{
	/* Event streams end cleanly first, or evhttp cannot free them. */
	api_close_streams();
	if (c->c_http != NULL)
		evhttp_free(c->c_http);
	c->c_http = NULL;
	/* evhttp has freed every connection: drop our references. */
	while (http.h_conns != NULL) {
		struct http_conn *hc = http.h_conns;
		http.h_conns = hc->hc_next;
		bufferevent_decref(hc->hc_bev);
		free(hc);
	}
	http.h_nconns = 0;
	if (http.h_sweep != NULL)
		event_free(http.h_sweep);
	http.h_sweep = NULL;
	SSL_CTX_free(http.h_tls);
	http.h_tls = NULL;
	api_free(c);
}
