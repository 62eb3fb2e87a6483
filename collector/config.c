/* collector.yaml, read with the same rules as the agent's config. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "watchstand/hostport.h"
#include "watchstand/yconf.h"
#include "watchstand/xalloc.h"
#include "collector.h"

static void
conf_hostport(struct yconf *yc, yaml_node_t *m, const char *key, char **out)
{
	char host[256], path[64];
	int port;

	if (yconf_str(yc, m, "collector", key, 0, out) == 1 &&
	    hostport_split(*out, host, sizeof(host), &port) == -1)
		yconf_error(yc, yconf_get(yc, m, key),
		            "%s: expected host:port, got '%s'",
		            yconf_path(path, sizeof(path), "collector", key),
		            *out);
}

/*
 * http_tls: {cert, key} turns the HTTP listener to HTTPS. Without it,
 * passwords and session cookies cross the network in clear: allowed only
 * on loopback (a reverse proxy on the same host terminates TLS) unless
 * allow_plain_http says the network is trusted.
 */
static void
conf_http_tls(struct yconf *yc, yaml_node_t *m, const char *file,
              struct collector_conf *c, const char *const *keys)
{
	yaml_node_t *t = yconf_get(yc, m, "http_tls");
	char host[256];
	int port;

	yconf_bool(yc, m, "collector", "allow_plain_http", 0,
	           &c->cc_allow_plain_http);
	if (t != NULL && !yconf_is_map(t))
		yconf_error(yc, t, "collector.http_tls: expected {cert, key}");
	else if (t != NULL) {
		yconf_check_keys(yc, t, "collector.http_tls", keys);
		yconf_str(yc, t, "collector.http_tls", "cert", 1,
		          &c->cc_http_tls_cert);
		yconf_str(yc, t, "collector.http_tls", "key", 1,
		          &c->cc_http_tls_key);
		yconf_resolve_path(file, &c->cc_http_tls_cert);
		yconf_resolve_path(file, &c->cc_http_tls_key);
		return;
	}
	if (c->cc_allow_plain_http || c->cc_http == NULL ||
	    hostport_split(c->cc_http, host, sizeof(host), &port) == -1 ||
	    hostport_is_loopback(host))
		return;
	yconf_error(yc, yconf_get(yc, m, "http"),
	            "collector.http: %s is not a loopback address and "
	            "collector.http_tls is not set: passwords and session "
	            "cookies would cross the network in clear; set "
	            "collector.http_tls: {cert, key}, or "
	            "collector.allow_plain_http: true on a trusted network",
	            c->cc_http);
}

/* collector.peer_ca: PEM certificates the leader's HTTPS may be signed by
 * (beside the system's CAs), checked now so that a forwarded write does
 * not find it missing. */
static void
conf_peer_ca(struct yconf *yc, yaml_node_t *m, const char *file,
             struct collector_conf *c)
{
	X509 *x = NULL;
	BIO *b;

	if (yconf_str(yc, m, "collector", "peer_ca", 0, &c->cc_peer_ca) != 1)
		return;
	yconf_resolve_path(file, &c->cc_peer_ca);
	if ((b = BIO_new_file(c->cc_peer_ca, "r")) == NULL) {
		yconf_error(yc, yconf_get(yc, m, "peer_ca"),
		            "collector.peer_ca: cannot read %s: %s",
		            c->cc_peer_ca, strerror(errno));
		ERR_clear_error();
		return;
	}
	if ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL)
		yconf_error(yc, yconf_get(yc, m, "peer_ca"),
		            "collector.peer_ca: %s holds no PEM certificate",
		            c->cc_peer_ca);
	X509_free(x);
	BIO_free(b);
	ERR_clear_error();
}

static int
conf_phase_known(void *arg, const char *phase)
{
	return calendar_has_phase(arg, phase);
}

static void
conf_login_defaults(struct collector_conf *c)
{
	struct throttle_conf *l = &c->cc_login_throttle;

	l->tc_max_failures = 5;
	l->tc_window_ms = 15 * 60 * 1000;
	l->tc_backoff_ms = 30 * 1000;
	l->tc_max_backoff_ms = 15 * 60 * 1000;
	l->tc_max_entries = 10000;
	c->cc_addr_throttle = *l;
	/* A desk shares an address: its people together may mistype more. */
	c->cc_addr_throttle.tc_max_failures = 20;
}

/* login: {max_failures, max_failures_per_address, window, backoff,
 * max_backoff} */
static void
conf_login(struct yconf *yc, yaml_node_t *m, struct collector_conf *c)
{
	static const char *const keys[] = {
	    "max_failures", "max_failures_per_address",
	    "window",       "backoff",
	    "max_backoff",  NULL};
	static const char *const p = "collector.login";
	struct throttle_conf *l = &c->cc_login_throttle,
	                     *a = &c->cc_addr_throttle;
	yaml_node_t *n = yconf_get(yc, m, "login");
	uint64_t v;

	if (n == NULL)
		return;
	if (!yconf_is_map(n)) {
		yconf_error(yc, n,
		            "%s: expected {max_failures, "
		            "max_failures_per_address, window, backoff, "
		            "max_backoff}",
		            p);
		return;
	}
	yconf_check_keys(yc, n, p, keys);
	if (yconf_uint(yc, n, p, "max_failures", 0, 1000, &v) == 1) {
		if (v < 1)
			yconf_error(yc, yconf_get(yc, n, "max_failures"),
			            "%s.max_failures: at least 1", p);
		l->tc_max_failures = (unsigned)v;
	}
	if (yconf_uint(yc, n, p, "max_failures_per_address", 0, 100000, &v) ==
	    1) {
		if (v < 1)
			yconf_error(
			    yc, yconf_get(yc, n, "max_failures_per_address"),
			    "%s.max_failures_per_address: at least 1", p);
		a->tc_max_failures = (unsigned)v;
	}
	if (yconf_duration(yc, n, p, "window", 0, &v) == 1) {
		if (v < 1000)
			yconf_error(yc, yconf_get(yc, n, "window"),
			            "%s.window: at least 1s", p);
		l->tc_window_ms = a->tc_window_ms = (int64_t)v;
	}
	if (yconf_duration(yc, n, p, "backoff", 0, &v) == 1) {
		if (v < 1000)
			yconf_error(yc, yconf_get(yc, n, "backoff"),
			            "%s.backoff: at least 1s (Retry-After "
			            "counts seconds)",
			            p);
		l->tc_backoff_ms = a->tc_backoff_ms = (int64_t)v;
	}
	if (yconf_duration(yc, n, p, "max_backoff", 0, &v) == 1)
		l->tc_max_backoff_ms = a->tc_max_backoff_ms = (int64_t)v;
	if (l->tc_max_backoff_ms < l->tc_backoff_ms)
		yconf_error(yc, n, "%s.max_backoff: less than backoff", p);
}

/* ack_target: {critical: 5m, major: 15m, ...}: the response time per
 * severity the desk's service agreement promises (docs/kpis.md). */
static void
conf_ack_target(struct yconf *yc, yaml_node_t *m, struct collector_conf *c)
{
	static const char *const p = "collector.ack_target";
	yaml_node_t *n = yconf_get(yc, m, "ack_target");
	const char *keys[SEV_N + 1];
	int s;

	if (n == NULL)
		return;
	if (!yconf_is_map(n)) {
		yconf_error(yc, n,
		            "%s: expected a mapping of severity to duration, "
		            "e.g. {critical: 5m, major: 15m}",
		            p);
		return;
	}
	for (s = 0; s < SEV_N; s++)
		keys[s] = severity_names[s];
	keys[SEV_N] = NULL;
	yconf_check_keys(yc, n, p, keys);
	for (s = 0; s < SEV_N; s++)
		if (yconf_duration(yc, n, p, severity_names[s], 0,
		                   &c->cc_ack_target_ms[s]) == 1 &&
		    c->cc_ack_target_ms[s] < 1000)
			yconf_error(yc, yconf_get(yc, n, severity_names[s]),
			            "%s.%s: at least 1s", p, severity_names[s]);
}

int
collector_conf_load(const char *file, struct collector_conf *c)
{
	return collector_conf_read(file, c, NULL, 0);
}

int
collector_conf_read(const char *file, struct collector_conf *c, char *err,
                    size_t errlen)
{
	static const char *const top[] = {"collector", "calendar",   "rules",
	                                  "notify",    "checklists", "shifts",
	                                  "roster",    NULL};
	static const char *const keys[] = {"listen",
	                                   "http",
	                                   "database",
	                                   "tls",
	                                   "public_url",
	                                   "link_url",
	                                   "retention",
	                                   "agent_silence",
	                                   "max_shelve",
	                                   "chatter",
	                                   "state_dir",
	                                   "allow_owner",
	                                   "http_max_connections",
	                                   "http_request_timeout",
	                                   "login",
	                                   "handover_timeout",
	                                   "http_tls",
	                                   "allow_plain_http",
	                                   "ack_target",
	                                   "peer_ca",
	                                   NULL};
	static const char *const tls_keys[] = {"ca", "cert", "key", NULL};
	static const char *const http_tls_keys[] = {"cert", "key", NULL};
	struct yconf yc;
	yaml_node_t *root, *m, *tls;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	c->cc_retention_ms = 30ULL * 86400 * 1000;
	c->cc_agent_silence_ms = 10000;
	c->cc_max_shelve_ms = 8ULL * 3600 * 1000;
	c->cc_handover_timeout_ms = 15ULL * 60 * 1000;
	c->cc_http_max_conns = 256;
	c->cc_http_request_ms = 20000;
	conf_login_defaults(c);
	if (yconf_load(&yc, file) == -1)
		goto done;
	root = yconf_root(&yc);
	if (!yconf_is_map(root)) {
		yconf_error(&yc, root, "expected a mapping with collector");
		goto done;
	}
	yconf_check_keys(&yc, root, "", top);
	calendar_configure(&c->cc_calendar, &yc,
	                   yconf_get(&yc, root, "calendar"));
	rules_configure(&c->cc_rules, &yc, yconf_get(&yc, root, "rules"),
	                conf_phase_known, &c->cc_calendar);
	notify_configure(&c->cc_notify, &yc, yconf_get(&yc, root, "notify"),
	                 file, conf_phase_known, &c->cc_calendar);
	checklists_configure(&c->cc_checklists, &yc,
	                     yconf_get(&yc, root, "checklists"),
	                     conf_phase_known, &c->cc_calendar);
	shifts_configure(&c->cc_shifts, &yc, yconf_get(&yc, root, "shifts"),
	                 yconf_get(&yc, root, "roster"));
	m = yconf_get(&yc, root, "collector");
	if (m == NULL) {
		yconf_error(&yc, root, "collector: required key is missing");
		goto done;
	}
	if (!yconf_is_map(m)) {
		yconf_error(&yc, m, "collector: expected a mapping");
		goto done;
	}
	yconf_check_keys(&yc, m, "collector", keys);
	conf_hostport(&yc, m, "listen", &c->cc_listen);
	conf_hostport(&yc, m, "http", &c->cc_http);
	if (c->cc_listen == NULL)
		c->cc_listen = xstrdup("0.0.0.0:7730");
	if (c->cc_http == NULL)
		c->cc_http = xstrdup("127.0.0.1:8080");
	yconf_str(&yc, m, "collector", "database", 1, &c->cc_database);
	yconf_str(&yc, m, "collector", "public_url", 0, &c->cc_public_url);
	yconf_str(&yc, m, "collector", "link_url", 0, &c->cc_link_url);
	/* Relative to the config file, like the certificates. */
	if (yconf_str(&yc, m, "collector", "state_dir", 0, &c->cc_state_dir) ==
	    1)
		yconf_resolve_path(file, &c->cc_state_dir);
	if (c->cc_state_dir == NULL)
		c->cc_state_dir = xstrdup(COLLECTOR_STATE_DIR);
	yconf_bool(&yc, m, "collector", "allow_owner", 0, &c->cc_allow_owner);
	if (yconf_duration(&yc, m, "collector", "retention", 0,
	                   &c->cc_retention_ms) == 1 &&
	    c->cc_retention_ms < 86400000)
		yconf_error(&yc, yconf_get(&yc, m, "retention"),
		            "collector.retention: must be at least 1d");
	yconf_duration(&yc, m, "collector", "agent_silence", 0,
	               &c->cc_agent_silence_ms);
	yconf_duration(&yc, m, "collector", "handover_timeout", 0,
	               &c->cc_handover_timeout_ms);
	{
		/* chatter: {count: 3, window: 60s} marks an alarm chattering */
		static const char *const ckeys[] = {"count", "window", NULL};
		yaml_node_t *ch = yconf_get(&yc, m, "chatter");
		uint64_t count, window;
		if (ch != NULL && !yconf_is_map(ch))
			yconf_error(&yc, ch,
			            "collector.chatter: expected {count, "
			            "window}");
		else if (ch != NULL) {
			yconf_check_keys(&yc, ch, "collector.chatter", ckeys);
			if (yconf_uint(&yc, ch, "collector.chatter", "count", 0,
			               8, &count) == 1) {
				if (count < 2)
					yconf_error(
					    &yc, yconf_get(&yc, ch, "count"),
					    "collector.chatter.count: at "
					    "least 2");
				c->cc_rules.rc_chatter_count = (int)count;
			}
			if (yconf_duration(&yc, ch, "collector.chatter",
			                   "window", 0, &window) == 1)
				c->cc_rules.rc_chatter_window = (int64_t)window;
		}
	}
	conf_login(&yc, m, c);
	conf_ack_target(&yc, m, c);
	if (yconf_duration(&yc, m, "collector", "max_shelve", 0,
	                   &c->cc_max_shelve_ms) == 1 &&
	    c->cc_max_shelve_ms < 60000)
		yconf_error(&yc, yconf_get(&yc, m, "max_shelve"),
		            "collector.max_shelve: must be at least 1m");
	if (yconf_uint(&yc, m, "collector", "http_max_connections", 0, 100000,
	               &c->cc_http_max_conns) == 1 &&
	    c->cc_http_max_conns < 2)
		yconf_error(
		    &yc, yconf_get(&yc, m, "http_max_connections"),
		    "collector.http_max_connections: must be at least 2");
	if (yconf_duration(&yc, m, "collector", "http_request_timeout", 0,
	                   &c->cc_http_request_ms) == 1 &&
	    (c->cc_http_request_ms < 1000 ||
	     c->cc_http_request_ms > 3600 * 1000))
		yconf_error(
		    &yc, yconf_get(&yc, m, "http_request_timeout"),
		    "collector.http_request_timeout: between 1s and 1h");
	tls = yconf_get(&yc, m, "tls");
	if (tls == NULL)
		yconf_error(&yc, m, "collector.tls: required key is missing");
	else if (!yconf_is_map(tls))
		yconf_error(&yc, tls, "collector.tls: expected a mapping");
	else {
		yconf_check_keys(&yc, tls, "collector.tls", tls_keys);
		yconf_str(&yc, tls, "collector.tls", "ca", 1, &c->cc_tls_ca);
		yconf_str(&yc, tls, "collector.tls", "cert", 1,
		          &c->cc_tls_cert);
		yconf_str(&yc, tls, "collector.tls", "key", 1, &c->cc_tls_key);
		yconf_resolve_path(file, &c->cc_tls_ca);
		yconf_resolve_path(file, &c->cc_tls_cert);
		yconf_resolve_path(file, &c->cc_tls_key);
	}
	conf_http_tls(&yc, m, file, c, http_tls_keys);
	conf_peer_ca(&yc, m, file, c);
	/* Links in pages need a base: the HTTP listener, unless told. */
	if (c->cc_public_url == NULL && c->cc_http != NULL) {
		const char *scheme = c->cc_http_tls_cert ? "https" : "http";
		size_t n = strlen(scheme) + strlen(c->cc_http) + sizeof("://");
		c->cc_public_url = xmalloc(n);
		snprintf(c->cc_public_url, n, "%s://%s", scheme, c->cc_http);
		c->cc_public_url_default = 1;
	}
	/* A pair gives its links one name that follows the leader; its
	 * public_urls stay each machine's own (the API forwards to them). */
	if (c->cc_link_url == NULL && c->cc_public_url != NULL)
		c->cc_link_url = xstrdup(c->cc_public_url);
	/* The ack-link key lives in the state directory unless told. */
	if (c->cc_notify.nc_secret_file == NULL && c->cc_state_dir != NULL) {
		size_t n = strlen(c->cc_state_dir) + sizeof("/ack.key");
		c->cc_notify.nc_secret_file = xmalloc(n);
		snprintf(c->cc_notify.nc_secret_file, n, "%s/ack.key",
		         c->cc_state_dir);
	}
	if (yc.yc_errors == 0)
		rc = 0;
done:
	if (yc.yc_errors > 0 && err == NULL)
		fprintf(stderr, "%s: %d error%s, not starting\n", file,
		        yc.yc_errors, yc.yc_errors == 1 ? "" : "s");
	else if (yc.yc_errors > 1)
		snprintf(err, errlen, "%s (and %d more error%s)", yc.yc_first,
		         yc.yc_errors - 1, yc.yc_errors == 2 ? "" : "s");
	else if (yc.yc_errors > 0)
		snprintf(err, errlen, "%s", yc.yc_first);
	yconf_free(&yc);
	if (rc == -1)
		collector_conf_free(c);
	return rc;
}

void
collector_conf_free(struct collector_conf *c)
{
	free(c->cc_listen);
	free(c->cc_http);
	free(c->cc_database);
	free(c->cc_tls_ca);
	free(c->cc_peer_ca);
	free(c->cc_tls_cert);
	free(c->cc_tls_key);
	free(c->cc_http_tls_cert);
	free(c->cc_http_tls_key);
	free(c->cc_public_url);
	free(c->cc_link_url);
	free(c->cc_state_dir);
	calendar_free(&c->cc_calendar);
	rules_conf_free(&c->cc_rules);
	notify_conf_free(&c->cc_notify);
	checklists_conf_free(&c->cc_checklists);
	shifts_conf_free(&c->cc_shifts);
	memset(c, 0, sizeof(*c));
}
