/* The collector's HTTP side: /healthz and /metrics for now. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "watchstand/log.h"
#include "collector.h"
#include "api.h"
#include "ingest.h"

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

static void
http_healthz(struct evhttp_request *req, void *arg)
{
	struct collector *c = arg;
	int up = c->c_stats.st_db_up;

	http_reply_json(req, up ? 200 : 503,
	                json_pack("{s:s, s:s, s:i, s:s, s:s}", "status",
	                          up ? "ok" : "degraded", "database",
	                          up ? "up" : "down", "agents_connected",
	                          ingest_connected(c->c_ingest), "phase",
	                          c->c_phase ? c->c_phase : "", "version",
	                          COLLECTOR_VERSION));
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
	struct evbuffer *out = evbuffer_new();
	int b;

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
	ingest_metrics(c->c_ingest, out);
	notifier_metrics(c->c_notifier, out);
	api_metrics(out);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	                  "Content-Type", "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

static void
http_notfound(struct evhttp_request *req, void *arg)
{
	if (acklink_handle(arg, req) || api_handle(arg, req))
		return;
	http_reply_json(req, 404, json_pack("{s:s}", "error", "no such path"));
}

int
http_start(struct collector *c)
{
	char host[256];
	int port;

	if (collector_split_hostport(c->c_conf.cc_http, host, sizeof(host),
	                             &port) == -1)
		return -1;
	c->c_http = evhttp_new(c->c_base);
	api_init(c);
	evhttp_set_allowed_methods(c->c_http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	                                          EVHTTP_REQ_HEAD);
	evhttp_set_max_body_size(c->c_http, 1 << 20);
	evhttp_set_timeout(c->c_http, 30);
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
	api_free(c);
}
