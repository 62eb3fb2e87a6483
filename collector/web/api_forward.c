/*
 * A follower's leader-only write (a route marked ROUTE_LEADER), forwarded
 * to the leader: the same method, path, query and body, with the client's
 * credentials, so that the leader authenticates the user itself (the
 * X-Watchstand-Forwarded header only stops a second hop, it grants
 * nothing). The client gets the leader's status, type and body. The
 * transfer runs on the loop through curlev; a leader that does not answer
 * within API_FWD_TIMEOUT_MS is a 503 naming it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "watchstand/curlev.h"
#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include "collector.h"
#include "lead.h"
#include "web/api_int.h"

#define API_FWD_TIMEOUT_MS 5000
#define API_FWD_CONNECT_MS 2000
#define API_FWD_REPLY_MAX (1024 * 1024)

/* A request waiting for the leader's answer. */
struct api_fwd {
	struct api_fwd *f_next;
	/* The client's request, tracked as any waiting request (api.c):
	 * its p_req is NULL once the client went away. */
	struct api_pending *f_p;
	CURL *f_easy;
	struct curl_slist *f_headers;
	struct evbuffer *f_reply;
	char *f_peer_ca; /* collector.peer_ca when the transfer began */
	char f_leader[512];
	char f_err[CURL_ERROR_SIZE];
};

static struct curlev *api_fwd_curl;
static struct api_fwd *api_fwds;
static uint64_t api_fwd_ok, api_fwd_failed;

void
api_forward_init(struct collector *c)
{
	if ((api_fwd_curl = curlev_new(c->c_base)) == NULL)
		fatalx("api: cannot start the forwarding of writes (libcurl)");
}

static void
api_fwd_free(struct api_fwd *f)
{
	api_pending_end(f->f_p);
	curl_easy_cleanup(f->f_easy);
	curl_slist_free_all(f->f_headers);
	evbuffer_free(f->f_reply);
	free(f->f_peer_ca);
	free(f);
}

void
api_forward_free(void)
{
	struct api_fwd *f;

	while ((f = api_fwds) != NULL) {
		api_fwds = f->f_next;
		curlev_remove(api_fwd_curl, f->f_easy);
		api_fwd_free(f);
	}
	curlev_free(api_fwd_curl);
	api_fwd_curl = NULL;
}

/* The 503 of a write this collector cannot do nor hand on. */
void
api_forward_refuse(struct evhttp_request *req, const char *leader,
                   const char *why)
{
	char msg[1024];

	if (leader != NULL) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		                  "X-Watchstand-Leader", leader);
		snprintf(msg, sizeof(msg),
		         "this collector does not lead (%s); the leader is %s",
		         why, leader);
	} else
		snprintf(msg, sizeof(msg),
		         "this collector does not lead (%s); the leader is "
		         "unknown (see /healthz)",
		         why);
	api_error(req, 503, msg);
}

static size_t
api_fwd_write(char *data, size_t size, size_t n, void *arg)
{
	struct api_fwd *f = arg;

	if (evbuffer_get_length(f->f_reply) + size * n > API_FWD_REPLY_MAX)
		return 0; /* not an answer to a write: abort */
	evbuffer_add(f->f_reply, data, size * n);
	return size * n;
}

/* One of the leader's answer headers to the client, as curl parsed it. */
static void
api_fwd_pass_header(struct api_fwd *f, struct evkeyvalq *out,
                    const char *name)
{
	struct curl_header *h;

	if (curl_easy_header(f->f_easy, name, 0, CURLH_HEADER, -1, &h) ==
	    CURLHE_OK)
		evhttp_add_header(out, name, h->value);
}

/* collector.peer_ca added to the system's CAs curl loaded. */
static CURLcode
api_fwd_ssl_ctx(CURL *easy, void *sslctx, void *arg)
{
	struct api_fwd *f = arg;
	X509_STORE *st = SSL_CTX_get_cert_store(sslctx);

	(void)easy;
	if (f->f_peer_ca == NULL)
		return CURLE_OK;
	if (X509_STORE_load_locations(st, f->f_peer_ca, NULL) != 1) {
		log_warnx("api: cannot load collector.peer_ca %s",
		          f->f_peer_ca);
		return CURLE_SSL_CACERT_BADFILE;
	}
	return CURLE_OK;
}

static void
api_fwd_unlink(struct api_fwd *f)
{
	struct api_fwd **fp;

	for (fp = &api_fwds; *fp != NULL; fp = &(*fp)->f_next)
		if (*fp == f) {
			*fp = f->f_next;
			return;
		}
}

static void
api_fwd_done(void *arg, CURL *easy, CURLcode rc)
{
	struct api_fwd *f = arg;
	struct evkeyvalq *out;
	long code = 0;
	char why[CURL_ERROR_SIZE + 64];
	struct evhttp_request *req = f->f_p->p_req; /* NULL: client gone */

	api_fwd_unlink(f);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK || code < 100 || code > 599) {
		api_fwd_failed++;
		snprintf(why, sizeof(why),
		         "forwarding to the leader failed: %s",
		         f->f_err[0] ? f->f_err : curl_easy_strerror(rc));
		log_warnx("api: %s (%s)", why, f->f_leader);
		if (req != NULL)
			api_forward_refuse(req, f->f_leader, why);
	} else if (req != NULL) {
		api_fwd_ok++;
		out = evhttp_request_get_output_headers(req);
		evhttp_add_header(out, "X-Watchstand-Leader", f->f_leader);
		api_fwd_pass_header(f, out, "Content-Type");
		api_fwd_pass_header(f, out, "Retry-After");
		evhttp_send_reply(req, (int)code, NULL, f->f_reply);
	}
	api_fwd_free(f);
}

static void
api_fwd_header_copy(struct api_fwd *f, struct evkeyvalq *in, const char *name)
{
	const char *v = evhttp_find_header(in, name);
	char line[1024];

	if (v == NULL)
		return;
	snprintf(line, sizeof(line), "%s: %s", name, v);
	f->f_headers = curl_slist_append(f->f_headers, line);
}

/*
 * Called for a ROUTE_LEADER route once the caller's session, role and
 * CSRF token passed here: 0 when this collector leads (the handler runs
 * here), else 1, the request answered or on its way to the leader.
 */
int
api_forward(struct collector *c, struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = evhttp_uri_get_path(uri);
	const char *query = evhttp_uri_get_query(uri);
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	const char *leader, *method;
	struct api_fwd *f;
	char url[4096], line[400];
	size_t n, blen;

	if (lead_leading(c->c_lead))
		return 0;
	leader = lead_leader_url(c->c_lead);
	if (evhttp_find_header(in, "X-Watchstand-Forwarded") != NULL) {
		api_forward_refuse(req, leader,
		                   "the request was forwarded once already");
		return 1;
	}
	if (leader == NULL || leader[0] == '\0') {
		api_forward_refuse(req, NULL, "cannot forward");
		return 1;
	}
	n = strlen(leader);
	while (n > 0 && leader[n - 1] == '/')
		n--;
	/* Our own address: the table is not updated yet after a step down. */
	if (c->c_conf.cc_public_url != NULL &&
	    strncmp(c->c_conf.cc_public_url, leader, n) == 0 &&
	    strspn(c->c_conf.cc_public_url + n, "/") ==
	        strlen(c->c_conf.cc_public_url + n)) {
		api_forward_refuse(req, NULL, "the leader is changing");
		return 1;
	}
	if ((size_t)snprintf(url, sizeof(url), "%.*s%s%s%s", (int)n, leader,
	                     path, query ? "?" : "",
	                     query ? query : "") >= sizeof(url)) {
		api_error(req, 414, "the request's address is too long");
		return 1;
	}
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_POST:
		method = "POST";
		break;
	case EVHTTP_REQ_PUT:
		method = "PUT";
		break;
	case EVHTTP_REQ_DELETE:
		method = "DELETE";
		break;
	default:
		api_forward_refuse(req, leader, "only writes are forwarded");
		return 1;
	}
	f = xcalloc(1, sizeof(*f));
	f->f_p = api_pending_new(c, req, NULL, NULL);
	snprintf(f->f_leader, sizeof(f->f_leader), "%.*s", (int)n, leader);
	f->f_reply = evbuffer_new();
	f->f_peer_ca =
	    c->c_conf.cc_peer_ca ? xstrdup(c->c_conf.cc_peer_ca) : NULL;
	if (f->f_reply == NULL || (f->f_easy = curl_easy_init()) == NULL) {
		api_fwd_free(f);
		api_error(req, 503, "out of memory");
		return 1;
	}
	api_fwd_header_copy(f, in, "Cookie");
	api_fwd_header_copy(f, in, "X-CSRF-Token");
	api_fwd_header_copy(f, in, "Authorization");
	if (evhttp_find_header(in, "Content-Type") != NULL)
		api_fwd_header_copy(f, in, "Content-Type");
	else /* not curl's form type */
		f->f_headers = curl_slist_append(f->f_headers, "Content-Type:");
	snprintf(line, sizeof(line), "X-Watchstand-Forwarded: %s", c->c_holder);
	f->f_headers = curl_slist_append(f->f_headers, line);
	f->f_headers = curl_slist_append(f->f_headers, "Expect:");
	blen = evbuffer_get_length(body);
	curl_easy_setopt(f->f_easy, CURLOPT_URL, url);
	curl_easy_setopt(f->f_easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(f->f_easy, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(f->f_easy, CURLOPT_POST, 1L);
	curl_easy_setopt(f->f_easy, CURLOPT_POSTFIELDSIZE, (long)blen);
	curl_easy_setopt(f->f_easy, CURLOPT_COPYPOSTFIELDS,
	                 blen ? (const char *)evbuffer_pullup(body, blen) : "");
	curl_easy_setopt(f->f_easy, CURLOPT_HTTPHEADER, f->f_headers);
	curl_easy_setopt(f->f_easy, CURLOPT_WRITEFUNCTION, api_fwd_write);
	curl_easy_setopt(f->f_easy, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(f->f_easy, CURLOPT_ERRORBUFFER, f->f_err);
	curl_easy_setopt(f->f_easy, CURLOPT_TIMEOUT_MS,
	                 (long)API_FWD_TIMEOUT_MS);
	curl_easy_setopt(f->f_easy, CURLOPT_CONNECTTIMEOUT_MS,
	                 (long)API_FWD_CONNECT_MS);
	curl_easy_setopt(f->f_easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(f->f_easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(f->f_easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (f->f_peer_ca != NULL) {
		/* Added to a store of this transfer's own, not a cached one
		 * other transfers share. */
		curl_easy_setopt(f->f_easy, CURLOPT_CA_CACHE_TIMEOUT, 0L);
		curl_easy_setopt(f->f_easy, CURLOPT_SSL_CTX_FUNCTION,
		                 api_fwd_ssl_ctx);
		curl_easy_setopt(f->f_easy, CURLOPT_SSL_CTX_DATA, f);
	}
	if (curlev_add(api_fwd_curl, f->f_easy, api_fwd_done, f) == -1) {
		api_fwd_free(f);
		api_forward_refuse(req, leader, "cannot start the transfer");
		return 1;
	}
	f->f_next = api_fwds;
	api_fwds = f;
	api_pending_wait(f->f_p);
	return 1;
}

void
api_forward_metrics(struct evbuffer *out)
{
	evbuffer_add_printf(
	    out,
	    "# HELP watchstand_api_forwarded_total Leader-only API writes "
	    "a follower forwarded to the leader, by result.\n"
	    "# TYPE watchstand_api_forwarded_total counter\n"
	    "watchstand_api_forwarded_total{result=\"answered\"} %llu\n"
	    "watchstand_api_forwarded_total{result=\"failed\"} %llu\n",
	    (unsigned long long)api_fwd_ok, (unsigned long long)api_fwd_failed);
}
