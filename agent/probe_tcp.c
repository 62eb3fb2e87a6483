/* tcp probe: can a gateway's port be reached, and how fast. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/dns.h>

#include "watchstand/log.h"
#include "watchstand/clock.h"
#include "watchstand/xalloc.h"
#include "watchstand/hostport.h"
#include "agent.h"

struct tcp_state {
	char *tc_host;
	int tc_port;
	uint64_t tc_timeout_ms;
	struct bufferevent *tc_bev; /* the attempt in progress */
	double tc_started;
	int64_t tc_started_us;
	int tc_failing;
};

static const char *const probe_tcp_keys[] = {"address", "timeout", NULL};

static int
probe_tcp_configure(struct probe *p, struct yconf *yc, yaml_node_t *node,
                    const char *path)
{
	struct tcp_state *st = xcalloc(1, sizeof(*st));
	char *addr = NULL, host[256];
	int port;

	p->pr_state = st;
	st->tc_timeout_ms = 5000;
	yconf_duration(yc, node, path, "timeout", 0, &st->tc_timeout_ms);
	if (yconf_str(yc, node, path, "address", 1, &addr) != 1)
		return 0;
	if (hostport_split(addr, host, sizeof(host), &port) == -1 || port < 1) {
		yconf_error(yc, yconf_get(yc, node, "address"),
		            "%s.address: expected host:port, got '%s'", path,
		            addr);
		free(addr);
		return 0;
	}
	free(addr);
	st->tc_host = xstrdup(host);
	st->tc_port = port;
	return 0;
}

/* One attempt ends: report it with the time it was started. */
static void
probe_tcp_done(struct probe *p, int up, const char *why)
{
	struct tcp_state *st = p->pr_state;
	int64_t now_us = p->pr_now_us;

	p->pr_now_us = st->tc_started_us;
	probe_sample(p, NULL, "up", up);
	if (up) {
		probe_sample(p, NULL, "connect_ms",
		             (clock_mono_s() - st->tc_started) * 1000.0);
		if (st->tc_failing)
			log_info("probe %s: %s:%d reachable again", p->pr_name,
			         st->tc_host, st->tc_port);
		st->tc_failing = 0;
	} else if (!st->tc_failing++)
		log_warnx("probe %s: %s:%d: %s", p->pr_name, st->tc_host,
		          st->tc_port, why);
	p->pr_now_us = now_us;
	bufferevent_free(st->tc_bev);
	st->tc_bev = NULL;
}

static void
probe_tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct probe *p = arg;
	char why[128];
	int dnserr;

	if (what & BEV_EVENT_CONNECTED) {
		probe_tcp_done(p, 1, NULL);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		snprintf(why, sizeof(why), "no connection within the timeout");
	else if ((dnserr = bufferevent_socket_get_dns_error(bev)) != 0)
		snprintf(why, sizeof(why), "%s", evutil_gai_strerror(dnserr));
	else
		snprintf(why, sizeof(why), "%s",
		         evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	probe_tcp_done(p, 0, why);
}

static void
probe_tcp_run(struct probe *p)
{
	struct tcp_state *st = p->pr_state;
	struct timeval tv = {st->tc_timeout_ms / 1000,
	                     (st->tc_timeout_ms % 1000) * 1000};

	if (st->tc_bev != NULL)
		return; /* the previous attempt still runs */
	st->tc_bev =
	    bufferevent_socket_new(p->pr_base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (st->tc_bev == NULL)
		return;
	st->tc_started = clock_mono_s();
	st->tc_started_us = p->pr_now_us;
	bufferevent_setcb(st->tc_bev, NULL, NULL, probe_tcp_event_cb, p);
	bufferevent_set_timeouts(st->tc_bev, &tv, &tv);
	bufferevent_enable(st->tc_bev, EV_WRITE);
	if (bufferevent_socket_connect_hostname(st->tc_bev, p->pr_dns,
	                                        AF_UNSPEC, st->tc_host,
	                                        st->tc_port) == -1 &&
	    st->tc_bev != NULL)
		probe_tcp_done(p, 0, "cannot start a connection");
}

static void
probe_tcp_free(struct probe *p)
{
	struct tcp_state *st = p->pr_state;

	if (st == NULL)
		return;
	if (st->tc_bev != NULL)
		bufferevent_free(st->tc_bev);
	free(st->tc_host);
	free(st);
}

const struct probe_type probe_type_tcp = {
    .pt_name = "tcp",
    .pt_keys = probe_tcp_keys,
    .pt_configure = probe_tcp_configure,
    .pt_run = probe_tcp_run,
    .pt_free = probe_tcp_free,
};
