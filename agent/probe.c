#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "watchstand/log.h"
#include "watchstand/proto.h"
#include "watchstand/clock.h"
#include "watchstand/xalloc.h"
#include "agent.h"
#include "module.h"
#include "uplink.h"

/*
 * Every probe type the agent knows: one line each (STYLE.md). Those with a
 * module are looked up in it by symbol on first use (module.h).
 */
struct probe_entry {
	const char *pe_name;
	const struct probe_type *pe_type; /* built in */
	const char *pe_module;
	const char *pe_symbol;
};
#define BUILTIN(name) {#name, &probe_type_##name, NULL, NULL}
#define IN_MODULE(name, module) {#name, NULL, module, "probe_type_" #name}
/* clang-format off */
static const struct probe_entry probe_types[] = {
	BUILTIN(process),
	BUILTIN(netif),
	BUILTIN(filesystem),
	BUILTIN(tcp),
	BUILTIN(file_age),
	BUILTIN(logfile),
	BUILTIN(exec),
	IN_MODULE(http, "http"),
	IN_MODULE(postgres, "pg"),
	IN_MODULE(snmp_if, "snmp"),
	IN_MODULE(snmp_storage, "snmp"),
	IN_MODULE(snmp_get, "snmp"),
	IN_MODULE(snmp_trap, "snmp"),
	{NULL, NULL, NULL, NULL},
};
/* clang-format on */

#define PROBE_DEFAULT_INTERVAL_MS 10000

const struct probe_type *
probe_type_find(const char *name, char *err, size_t errlen)
{
	const struct probe_entry *e;
	const struct probe_type *t;
	char known[256] = "";

	for (e = probe_types; e->pe_name != NULL; e++) {
		if (strcmp(e->pe_name, name) != 0)
			continue;
		if (e->pe_type != NULL)
			return e->pe_type;
		t = module_symbol(e->pe_module, e->pe_symbol, err, errlen);
		if (t != NULL && strcmp(t->pt_name, name) != 0) {
			snprintf(err, errlen, "module %s: %s is not '%s'",
			         e->pe_module, e->pe_symbol, name);
			return NULL;
		}
		return t;
	}
	for (e = probe_types; e->pe_name != NULL; e++)
		snprintf(known + strlen(known), sizeof(known) - strlen(known),
		         "%s%s", e == probe_types ? "" : ", ", e->pe_name);
	snprintf(err, errlen, "unknown probe type '%s' (known: %s)", name,
	         known);
	return NULL;
}

const char *
probe_proc_root(void)
{
	const char *r = getenv("WATCHSTAND_PROC_ROOT");
	return r != NULL ? r : "/proc";
}

struct probe *
probe_configure(struct yconf *yc, yaml_node_t *node, const char *path)
{
	static const char *common[] = {"name", "type", "interval"};
	const char *keys[64];
	const struct probe_type *type = NULL;
	struct probe *p;
	char *tname = NULL;
	size_t n = 0, i;
	int errors = yc->yc_errors;

	if (!yconf_is_map(node)) {
		yconf_error(yc, node,
		            "%s: expected a mapping with name and "
		            "type",
		            path);
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->pr_interval_ms = PROBE_DEFAULT_INTERVAL_MS;
	yconf_str(yc, node, path, "name", 1, &p->pr_name);
	if (p->pr_name != NULL &&
	    !proto_series_valid(p->pr_name, strlen(p->pr_name)))
		yconf_error(yc, yconf_get(yc, node, "name"),
		            "%s.name: use letters, digits and - _ . only",
		            path);
	if (yconf_str(yc, node, path, "type", 1, &tname) == 1) {
		char err[512];
		if ((type = probe_type_find(tname, err, sizeof(err))) == NULL)
			yconf_error(yc, yconf_get(yc, node, "type"),
			            "%s.type: %s", path, err);
	}
	free(tname);
	if (yconf_duration(yc, node, path, "interval", 0, &p->pr_interval_ms) ==
	        1 &&
	    p->pr_interval_ms < 100)
		yconf_error(yc, yconf_get(yc, node, "interval"),
		            "%s.interval: must be at least 100ms", path);
	if (type == NULL) {
		probe_free(p);
		return NULL;
	}
	for (i = 0; i < 3; i++)
		keys[n++] = common[i];
	for (i = 0; type->pt_keys[i] != NULL && n < 63; i++)
		keys[n++] = type->pt_keys[i];
	keys[n] = NULL;
	yconf_check_keys(yc, node, path, keys);
	p->pr_type = type;
	if (type->pt_configure(p, yc, node, path) == -1 ||
	    yc->yc_errors > errors) {
		probe_free(p);
		return NULL;
	}
	return p;
}

static void
probe_emit_uplink(void *arg, int64_t ts_us, const char *series, double value)
{
	uplink_add(arg, ts_us, series, value);
}

static void
probe_event_uplink(void *arg, int64_t ts_us, const char *probe,
                   const char *text)
{
	uplink_add_event(arg, ts_us, probe, text);
}

void
probe_event(struct probe *p, const char *text)
{
	char clean[PROTO_EVENT_MAX + 1];
	size_t n = strlen(text);

	if (p->pr_emit_event == NULL)
		return;
	/* Logs are not always UTF-8: replace what is not, keep the rest. */
	if (n > PROTO_EVENT_MAX)
		n = PROTO_EVENT_MAX;
	memcpy(clean, text, n);
	clean[n] = '\0';
	proto_text_clean(clean, n);
	p->pr_emit_event(p->pr_emit_arg, p->pr_now_us, p->pr_name, clean);
}

void
probe_run_now(struct probe *p)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	p->pr_now_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	p->pr_mono_s = clock_mono_s();
	p->pr_type->pt_run(p);
}

static void
probe_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;

	(void)fd;
	(void)what;
	if (!p->pr_every) {
		struct timeval every = {p->pr_interval_ms / 1000,
		                        (p->pr_interval_ms % 1000) * 1000};
		p->pr_every = 1;
		event_add(p->pr_timer, &every);
	}
	probe_run_now(p);
}

int
probe_start(struct probe *p, struct event_base *base, struct uplink *up)
{
	struct timeval first;
	/* A little jitter so probes with one interval do not fire together. */
	uint64_t jitter_ms = (uint64_t)rand() % (p->pr_interval_ms / 4 + 1);

	p->pr_base = base;
	p->pr_dns = up != NULL ? uplink_dns(up) : NULL;
	p->pr_emit = probe_emit_uplink;
	p->pr_emit_event = probe_event_uplink;
	p->pr_emit_arg = up;
	p->pr_timer = event_new(base, -1, EV_PERSIST, probe_timer_cb, p);
	if (p->pr_timer == NULL)
		return -1;
	first.tv_sec = jitter_ms / 1000;
	first.tv_usec = (jitter_ms % 1000) * 1000;
	/* The first run comes soon after start, then every interval; one
	 * timer (no event_base_once), so a reload can free the probe. */
	p->pr_every = 0;
	event_add(p->pr_timer, &first);
	return 0;
}

void
probe_free(struct probe *p)
{
	if (p == NULL)
		return;
	if (p->pr_timer != NULL)
		event_free(p->pr_timer);
	if (p->pr_type != NULL && p->pr_type->pt_free != NULL)
		p->pr_type->pt_free(p);
	free(p->pr_name);
	free(p);
}

void
probe_sample(struct probe *p, const char *instance, const char *metric,
             double value)
{
	char series[PROTO_SERIES_MAX + 1];
	int n;

	if (instance != NULL)
		n = snprintf(series, sizeof(series), "%s.%s.%s", p->pr_name,
		             instance, metric);
	else
		n = snprintf(series, sizeof(series), "%s.%s", p->pr_name,
		             metric);
	if (n < 0 || (size_t)n >= sizeof(series) ||
	    !proto_series_valid(series, n)) {
		log_debug("probe %s: series name '%s' not sendable, skipped",
		          p->pr_name, series);
		return;
	}
	if (p->pr_emit != NULL)
		p->pr_emit(p->pr_emit_arg, p->pr_now_us, series, value);
}
