/* http probe: a GET through libcurl's multi interface on the agent's loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watchstand/curlev.h"
#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include "agent.h"

struct http_state {
	char *ht_url;
	long ht_expect;      /* an exact code, or 100..500 for "Nxx" */
	int ht_expect_class; /* 1: ht_expect is a class */
	uint64_t ht_timeout_ms;
	CURL *ht_easy; /* the request in flight */
	int64_t ht_started_us;
	int ht_failing;
	char ht_err[CURL_ERROR_SIZE];
};

/* One multi handle for all http probes of the agent. */
static struct curlev *http_curlev;
static int http_probes;

static const char *const probe_http_keys[] = {"url", "expect_status", "timeout",
                                              NULL};

static int
probe_http_configure(struct probe *p, struct yconf *yc, yaml_node_t *node,
                     const char *path)
{
	struct http_state *st = xcalloc(1, sizeof(*st));
	char *expect = NULL;

	p->pr_state = st;
	st->ht_expect = 200;
	st->ht_expect_class = 1;
	st->ht_timeout_ms = 10000;
	if (yconf_str(yc, node, path, "url", 1, &st->ht_url) == 1 &&
	    strncmp(st->ht_url, "http://", 7) != 0 &&
	    strncmp(st->ht_url, "https://", 8) != 0)
		yconf_error(yc, yconf_get(yc, node, "url"),
		            "%s.url: expected an http:// or https:// URL",
		            path);
	yconf_duration(yc, node, path, "timeout", 0, &st->ht_timeout_ms);
	if (yconf_str(yc, node, path, "expect_status", 0, &expect) == 1) {
		char *end;
		long v = strtol(expect, &end, 10);
		if (strlen(expect) == 3 && expect[0] >= '1' &&
		    expect[0] <= '5' && strcmp(expect + 1, "xx") == 0) {
			st->ht_expect = (expect[0] - '0') * 100;
			st->ht_expect_class = 1;
		} else if (*end == '\0' && v >= 100 && v <= 599) {
			st->ht_expect = v;
			st->ht_expect_class = 0;
		} else
			yconf_error(
			    yc, yconf_get(yc, node, "expect_status"),
			    "%s.expect_status: expected a status such as "
			    "200 or a class such as 2xx, got '%s'",
			    path, expect);
	}
	free(expect);
	http_probes++;
	return 0;
}

static size_t
probe_http_discard(char *ptr, size_t size, size_t n, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * n;
}

static void
probe_http_done(void *arg, CURL *easy, CURLcode rc)
{
	struct probe *p = arg;
	struct http_state *st = p->pr_state;
	int64_t now_us = p->pr_now_us;
	long code = 0;
	double total = 0;
	int up;

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME, &total);
	up = rc == CURLE_OK &&
	     (st->ht_expect_class ? code / 100 == st->ht_expect / 100
	                          : code == st->ht_expect);
	p->pr_now_us = st->ht_started_us;
	probe_sample(p, NULL, "up", up);
	probe_sample(p, NULL, "status", (double)code);
	if (rc == CURLE_OK)
		probe_sample(p, NULL, "latency_ms", total * 1000.0);
	p->pr_now_us = now_us;
	if (up) {
		if (st->ht_failing)
			log_info("probe %s: %s answers as expected again",
			         p->pr_name, st->ht_url);
		st->ht_failing = 0;
	} else if (!st->ht_failing++) {
		if (rc != CURLE_OK)
			log_warnx("probe %s: %s: %s", p->pr_name, st->ht_url,
			          st->ht_err[0] ? st->ht_err
			                        : curl_easy_strerror(rc));
		else
			log_warnx("probe %s: %s: status %ld", p->pr_name,
			          st->ht_url, code);
	}
	curl_easy_cleanup(easy);
	st->ht_easy = NULL;
}

static void
probe_http_run(struct probe *p)
{
	struct http_state *st = p->pr_state;
	CURL *easy;

	if (st->ht_easy != NULL)
		return; /* still waiting for the last one */
	if (http_curlev == NULL) {
		static int curl_ready;
		/* Here, not in main(): libcurl is loaded with this module. */
		if (!curl_ready++)
			curl_global_init(CURL_GLOBAL_DEFAULT);
		http_curlev = curlev_new(p->pr_base);
	}
	if ((easy = curl_easy_init()) == NULL)
		return;
	st->ht_err[0] = '\0';
	curl_easy_setopt(easy, CURLOPT_URL, st->ht_url);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)st->ht_timeout_ms);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, probe_http_discard);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, st->ht_err);
	curl_easy_setopt(easy, CURLOPT_USERAGENT,
	                 "watchstand-agent/" AGENT_VERSION);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	st->ht_started_us = p->pr_now_us;
	st->ht_easy = easy;
	if (curlev_add(http_curlev, easy, probe_http_done, p) == -1) {
		curl_easy_cleanup(easy);
		st->ht_easy = NULL;
	}
}

static void
probe_http_free(struct probe *p)
{
	struct http_state *st = p->pr_state;

	if (st == NULL)
		return;
	if (st->ht_easy != NULL) {
		curlev_remove(http_curlev, st->ht_easy);
		curl_easy_cleanup(st->ht_easy);
	}
	if (--http_probes == 0) {
		curlev_free(http_curlev);
		http_curlev = NULL;
	}
	free(st->ht_url);
	free(st);
}

const struct probe_type probe_type_http = {
    .pt_name = "http",
    .pt_keys = probe_http_keys,
    .pt_configure = probe_http_configure,
    .pt_run = probe_http_run,
    .pt_free = probe_http_free,
};
