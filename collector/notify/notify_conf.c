/* collector.yaml `notify:`: channels and routes, checked as strictly as the
 * rest of the config (every error with file:line:column). */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watchstand/xalloc.h"
#include "notify/channel.h"
#include "notify/notify.h"
#include "alarm/rules.h"

static const char *const channel_types[] = {
    "webhook", "sms", "wecom", "dingtalk", "feishu", "slack", "smtp", NULL};

void
notify_conf_defaults(struct notify_conf *nc)
{
	memset(nc, 0, sizeof(*nc));
	nc->nc_ack_ttl_ms = 3600 * 1000;
	nc->nc_group_wait_ms = 10 * 1000;
	/* EEMUA 191: more than ten alarms in ten minutes is a flood. */
	nc->nc_rate_count = 10;
	nc->nc_rate_per_ms = 10 * 60 * 1000;
	nc->nc_retry_first_ms = 1000;
	nc->nc_retry_max_ms = 5 * 60 * 1000;
	nc->nc_retry_deadline_ms = 3600 * 1000;
}

static void
conf_rate_limit(struct yconf *yc, yaml_node_t *map, const char *prefix,
                uint64_t *count, uint64_t *per)
{
	static const char *const keys[] = {"count", "per", NULL};
	yaml_node_t *rl = yconf_get(yc, map, "rate_limit");
	char path[256];

	if (rl == NULL)
		return;
	yconf_path(path, sizeof(path), prefix, "rate_limit");
	if (!yconf_is_map(rl)) {
		yconf_error(yc, rl, "%s: expected {count, per}", path);
		return;
	}
	yconf_check_keys(yc, rl, path, keys);
	if (yconf_uint(yc, rl, path, "count", 1, 100000, count) == 1 &&
	    *count == 0)
		yconf_error(yc, yconf_get(yc, rl, "count"),
		            "%s.count: at least 1", path);
	yconf_duration(yc, rl, path, "per", 1, per);
}

/* headers: {Name: value} into "Name: value" strings. */
static void
conf_headers(struct yconf *yc, yaml_node_t *map, const char *prefix,
             char ***out)
{
	yaml_node_t *h = yconf_get(yc, map, "headers");
	yaml_node_pair_t *p;
	char path[256];
	size_t n = 0;

	if (h == NULL)
		return;
	yconf_path(path, sizeof(path), prefix, "headers");
	if (!yconf_is_map(h)) {
		yconf_error(yc, h, "%s: expected a mapping of name: value",
		            path);
		return;
	}
	*out =
	    xcalloc(h->data.mapping.pairs.top - h->data.mapping.pairs.start + 1,
	           sizeof(char *));
	for (p = h->data.mapping.pairs.start; p < h->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yconf_node(yc, p->key);
		yaml_node_t *v = yconf_node(yc, p->value);
		const char *ks = yconf_scalar(k), *vs = yconf_scalar(v);

		if (ks == NULL || vs == NULL || ks[strcspn(ks, ": \r\n")] ||
		    vs[strcspn(vs, "\r\n")]) {
			yconf_error(yc, v,
			            "%s: a header is a name and a value on "
			            "one line",
			            path);
			continue;
		}
		if (asprintf(&(*out)[n], "%s: %s", ks, vs) == -1)
			abort();
		n++;
	}
}

static void
conf_channel(struct notify_channel *ch, struct yconf *yc, yaml_node_t *node,
             const char *path, const char *file)
{
	static const char *const keys[] = {
	    "name",       "type",       "url",        "method", "headers",
	    "body",       "secret",     "max_length", "from",   "to",
	    "username",   "password",   "starttls",   "ca",     "timeout",
	    "group_wait", "rate_limit", NULL};
	char *type = NULL, sub[300];
	size_t nto;
	int i;

	ch->ch_timeout_ms = 10000;
	ch->ch_max_length = 160;
	yconf_check_keys(yc, node, path, keys);
	yconf_str(yc, node, path, "name", 1, &ch->ch_name);
	if (yconf_str(yc, node, path, "type", 1, &type) == 1) {
		for (i = 0; channel_types[i] != NULL; i++)
			if (strcmp(type, channel_types[i]) == 0)
				break;
		if (channel_types[i] == NULL)
			yconf_error(yc, yconf_get(yc, node, "type"),
			            "%s.type: expected webhook, sms, wecom, "
			            "dingtalk, feishu, slack or smtp, got '%s'",
			            path, type);
		else
			ch->ch_type = (enum channel_type)i;
	}
	free(type);
	if (yconf_str(yc, node, path, "url", 1, &ch->ch_url) == 1) {
		const char *want = ch->ch_type == CH_SMTP ? "smtp://, smtps://"
		                                          : "http://, https://";
		int ok = ch->ch_type == CH_SMTP
		             ? strncmp(ch->ch_url, "smtp://", 7) == 0 ||
		                   strncmp(ch->ch_url, "smtps://", 8) == 0
		             : strncmp(ch->ch_url, "http://", 7) == 0 ||
		                   strncmp(ch->ch_url, "https://", 8) == 0;
		if (!ok)
			yconf_error(yc, yconf_get(yc, node, "url"),
			            "%s.url: expected %s, got '%s'", path, want,
			            ch->ch_url);
	}
	if (yconf_str(yc, node, path, "method", 0, &ch->ch_method) == 1 &&
	    strcmp(ch->ch_method, "POST") != 0 &&
	    strcmp(ch->ch_method, "PUT") != 0 &&
	    strcmp(ch->ch_method, "GET") != 0)
		yconf_error(yc, yconf_get(yc, node, "method"),
		            "%s.method: expected POST, PUT or GET, got '%s'",
		            path, ch->ch_method);
	conf_headers(yc, node, path, &ch->ch_headers);
	if (yconf_str(yc, node, path, "body", 0, &ch->ch_body) == 1) {
		char err[200];
		if (template_check(ch->ch_body, err, sizeof(err)) == -1)
			yconf_error(yc, yconf_get(yc, node, "body"),
			            "%s.body: %s", path, err);
	}
	if (ch->ch_url != NULL) {
		char err[200];
		if (template_check(ch->ch_url, err, sizeof(err)) == -1)
			yconf_error(yc, yconf_get(yc, node, "url"),
			            "%s.url: %s", path, err);
	}
	yconf_str(yc, node, path, "secret", 0, &ch->ch_secret);
	if (yconf_uint(yc, node, path, "max_length", 0, 10000,
	               &ch->ch_max_length) == 1 &&
	    ch->ch_max_length < 40)
		yconf_error(yc, yconf_get(yc, node, "max_length"),
		            "%s.max_length: at least 40", path);
	yconf_str(yc, node, path, "from", ch->ch_type == CH_SMTP, &ch->ch_from);
	yconf_strlist(yc, node, path, "to", 0, &ch->ch_to, &nto);
	yconf_str(yc, node, path, "username", 0, &ch->ch_username);
	yconf_str(yc, node, path, "password", 0, &ch->ch_password);
	yconf_bool(yc, node, path, "starttls", 0, &ch->ch_starttls);
	if (yconf_str(yc, node, path, "ca", 0, &ch->ch_ca) == 1)
		yconf_resolve_path(file, &ch->ch_ca);
	yconf_duration(yc, node, path, "timeout", 0, &ch->ch_timeout_ms);
	ch->ch_group_wait_ms = UINT64_MAX; /* the notify default */
	yconf_duration(yc, node, path, "group_wait", 0, &ch->ch_group_wait_ms);
	conf_rate_limit(yc, node, path, &ch->ch_rate_count,
	                &ch->ch_rate_per_ms);
	if ((ch->ch_type == CH_DINGTALK || ch->ch_type == CH_FEISHU) &&
	    ch->ch_secret == NULL)
		yconf_error(yc, node,
		            "%s.secret: required (the robot's signing secret)",
		            path);
	if (ch->ch_type == CH_SMS && ch->ch_body == NULL &&
	    (ch->ch_url == NULL || strstr(ch->ch_url, "{{phone}}") == NULL)) {
		yconf_path(sub, sizeof(sub), path, "body");
		yconf_error(yc, node,
		            "%s: an SMS gateway needs {{phone}} in its url or "
		            "body",
		            sub);
	}
}

static int
conf_severity(const char *s, enum sev_cmp *cmp, int *sev)
{
	static const struct {
		const char *op;
		enum sev_cmp cmp;
	} ops[] = {{">=", SEVCMP_GE}, {"<=", SEVCMP_LE}, {">", SEVCMP_GT},
	           {"<", SEVCMP_LT},  {"==", SEVCMP_EQ}, {"", SEVCMP_EQ}};
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t n = strlen(ops[i].op);
		if (strncmp(s, ops[i].op, n) == 0) {
			s += n;
			while (*s == ' ')
				s++;
			*cmp = ops[i].cmp;
			*sev = severity_parse(s);
			return *sev < 0 ? -1 : 0;
		}
	}
	return -1;
}

/* A recipient: a login, role:NAME, on-duty, lead, +phone or a mail
 * address. */
static void
conf_recipients(struct yconf *yc, yaml_node_t *node, const char *path)
{
	static const char *const roles[] = {"viewer", "watchstander", "lead",
	                                    "admin", NULL};
	yaml_node_t *to = yconf_get(yc, node, "to");
	yaml_node_item_t *it;
	int i;

	if (to == NULL || !yconf_is_seq(to))
		return;
	for (it = to->data.sequence.items.start;
	     it < to->data.sequence.items.top; it++) {
		yaml_node_t *n = yconf_node(yc, *it);
		const char *s = yconf_scalar(n);

		if (s == NULL)
			continue;
		if (strcmp(s, "on-duty") == 0 || strcmp(s, "lead") == 0)
			continue; /* the current shift's people or its lead */
		else if (strncmp(s, "role:", 5) == 0) {
			for (i = 0; roles[i] != NULL; i++)
				if (strcmp(s + 5, roles[i]) == 0)
					break;
			if (roles[i] == NULL)
				yconf_error(yc, n,
				            "%s.to: unknown role '%s' (viewer, "
				            "watchstander, lead, admin)",
				            path, s + 5);
		}
	}
}

static void
conf_route(struct notify_route *r, struct yconf *yc, yaml_node_t *node,
           const char *path, size_t index, const struct notify_conf *nc,
           int (*phase_known)(void *, const char *), void *arg)
{
	static const char *const keys[] = {"name",   "match",      "escalation",
	                                   "repeat", "send_clear", "continue",
	                                   NULL};
	static const char *const mkeys[] = {"severity", "phase", "role",
	                                    "host",     "rule",  NULL};
	static const char *const skeys[] = {"after", "channels", "to",
	                                    "unacked", NULL};
	yaml_node_t *m, *esc;
	yaml_node_item_t *it;
	char sub[300], *sev = NULL;
	size_t n, i;

	yconf_check_keys(yc, node, path, keys);
	if (yconf_str(yc, node, path, "name", 0, &r->nr_name) != 1) {
		if (asprintf(&r->nr_name, "route-%zu", index + 1) == -1)
			abort();
	}
	yconf_duration(yc, node, path, "repeat", 0, &r->nr_repeat_ms);
	/* Short repeats are for tests; the channel's group_wait and rate
	 * limit still hold them back. */
	if (r->nr_repeat_ms > 0 && r->nr_repeat_ms < 1000)
		yconf_error(yc, yconf_get(yc, node, "repeat"),
		            "%s.repeat: at least 1s", path);
	yconf_bool(yc, node, path, "send_clear", 0, &r->nr_send_clear);
	yconf_bool(yc, node, path, "continue", 0, &r->nr_continue);
	yconf_path(sub, sizeof(sub), path, "match");
	if ((m = yconf_get(yc, node, "match")) != NULL) {
		if (!yconf_is_map(m))
			yconf_error(yc, m,
			            "%s: expected {severity, phase, role, "
			            "host, rule}",
			            sub);
		else {
			yconf_check_keys(yc, m, sub, mkeys);
			if (yconf_str(yc, m, sub, "severity", 0, &sev) == 1 &&
			    conf_severity(sev, &r->nr_sev_cmp,
			                  &r->nr_severity) == -1)
				yconf_error(yc, yconf_get(yc, m, "severity"),
				            "%s.severity: expected e.g. \">= "
				            "major\" (info, warning, minor, "
				            "major, critical), got '%s'",
				            sub, sev);
			free(sev);
			yconf_strlist(yc, m, sub, "phase", 0, &r->nr_phases,
			              &n);
			for (i = 0; r->nr_phases && r->nr_phases[i]; i++)
				if (!phase_known(arg, r->nr_phases[i]))
					yconf_error(yc,
					            yconf_get(yc, m, "phase"),
					            "%s.phase: '%s' is not a "
					            "phase of the calendar",
					            sub, r->nr_phases[i]);
			yconf_str(yc, m, sub, "role", 0, &r->nr_role);
			yconf_str(yc, m, sub, "host", 0, &r->nr_host);
			yconf_str(yc, m, sub, "rule", 0, &r->nr_rule);
		}
	}
	yconf_path(sub, sizeof(sub), path, "escalation");
	esc = yconf_get(yc, node, "escalation");
	if (esc == NULL || !yconf_is_seq(esc) ||
	    esc->data.sequence.items.top == esc->data.sequence.items.start) {
		yconf_error(yc, esc ? esc : node,
		            "%s: expected a list of {after, channels, to}",
		            sub);
		return;
	}
	r->nr_steps = xcalloc(esc->data.sequence.items.top -
	                         esc->data.sequence.items.start,
	                     sizeof(*r->nr_steps));
	for (it = esc->data.sequence.items.start;
	     it < esc->data.sequence.items.top; it++) {
		yaml_node_t *sn = yconf_node(yc, *it);
		struct notify_step *s = &r->nr_steps[r->nr_nsteps];
		uint64_t prev = r->nr_nsteps
		                    ? r->nr_steps[r->nr_nsteps - 1].ns_after_ms
		                    : 0;
		char spath[320];

		snprintf(spath, sizeof(spath), "%s[%zu]", sub, r->nr_nsteps);
		r->nr_nsteps++;
		s->ns_unacked = 1;
		if (!yconf_is_map(sn)) {
			yconf_error(yc, sn,
			            "%s: expected {after, channels, to}",
			            spath);
			continue;
		}
		yconf_check_keys(yc, sn, spath, skeys);
		yconf_duration(yc, sn, spath, "after", 0, &s->ns_after_ms);
		if (r->nr_nsteps > 1 && s->ns_after_ms <= prev)
			yconf_error(yc, yconf_get(yc, sn, "after") ?: sn,
			            "%s.after: must be later than the step "
			            "before",
			            spath);
		yconf_bool(yc, sn, spath, "unacked", 0, &s->ns_unacked);
		if (yconf_strlist(yc, sn, spath, "channels", 1, &s->ns_channels,
		                  &n) == 1) {
			if (n == 0)
				yconf_error(yc, yconf_get(yc, sn, "channels"),
				            "%s.channels: name at least one",
				            spath);
			for (i = 0; i < n; i++)
				if (notify_channel_find(
				        nc, s->ns_channels[i]) == NULL)
					yconf_error(
					    yc, yconf_get(yc, sn, "channels"),
					    "%s.channels: no channel named "
					    "'%s'",
					    spath, s->ns_channels[i]);
		}
		yconf_strlist(yc, sn, spath, "to", 0, &s->ns_to, &n);
		conf_recipients(yc, sn, spath);
	}
}

void
notify_configure(struct notify_conf *nc, struct yconf *yc, yaml_node_t *node,
                 const char *file, int (*phase_known)(void *, const char *),
                 void *arg)
{
	static const char *const keys[] = {
	    "secret_file", "ack_ttl",  "group_wait", "rate_limit",
	    "retry",       "channels", "routes",     NULL};
	static const char *const rkeys[] = {"first", "max", "deadline", NULL};
	yaml_node_t *chans, *routes, *retry;
	yaml_node_item_t *it;
	char path[64];
	size_t i, j;

	notify_conf_defaults(nc);
	if (node == NULL)
		return;
	if (!yconf_is_map(node)) {
		yconf_error(yc, node, "notify: expected {channels, routes}");
		return;
	}
	yconf_check_keys(yc, node, "notify", keys);
	if (yconf_str(yc, node, "notify", "secret_file", 0,
	              &nc->nc_secret_file) == 1)
		yconf_resolve_path(file, &nc->nc_secret_file);
	if (yconf_duration(yc, node, "notify", "ack_ttl", 0,
	                   &nc->nc_ack_ttl_ms) == 1 &&
	    nc->nc_ack_ttl_ms < 60000)
		yconf_error(yc, yconf_get(yc, node, "ack_ttl"),
		            "notify.ack_ttl: at least 1m");
	yconf_duration(yc, node, "notify", "group_wait", 0,
	               &nc->nc_group_wait_ms);
	conf_rate_limit(yc, node, "notify", &nc->nc_rate_count,
	                &nc->nc_rate_per_ms);
	if ((retry = yconf_get(yc, node, "retry")) != NULL) {
		if (!yconf_is_map(retry))
			yconf_error(yc, retry,
			            "notify.retry: expected {first, max, "
			            "deadline}");
		else {
			yconf_check_keys(yc, retry, "notify.retry", rkeys);
			yconf_duration(yc, retry, "notify.retry", "first", 0,
			               &nc->nc_retry_first_ms);
			yconf_duration(yc, retry, "notify.retry", "max", 0,
			               &nc->nc_retry_max_ms);
			yconf_duration(yc, retry, "notify.retry", "deadline", 0,
			               &nc->nc_retry_deadline_ms);
			if (nc->nc_retry_first_ms < 100 ||
			    nc->nc_retry_max_ms < nc->nc_retry_first_ms)
				yconf_error(
				    yc, retry,
				    "notify.retry: first at least 100ms "
				    "and max at least first");
		}
	}
	chans = yconf_get(yc, node, "channels");
	if (chans != NULL && !yconf_is_seq(chans))
		yconf_error(yc, chans,
		            "notify.channels: expected a list of {name, type, "
		            "url, ...}");
	else if (chans != NULL) {
		nc->nc_channels = xcalloc(chans->data.sequence.items.top -
		                             chans->data.sequence.items.start,
		                         sizeof(*nc->nc_channels));
		for (it = chans->data.sequence.items.start;
		     it < chans->data.sequence.items.top; it++) {
			yaml_node_t *cn = yconf_node(yc, *it);
			struct notify_channel *ch =
			    &nc->nc_channels[nc->nc_nchannels];

			snprintf(path, sizeof(path), "notify.channels[%zu]",
			         nc->nc_nchannels);
			if (!yconf_is_map(cn)) {
				yconf_error(yc, cn,
				            "%s: expected {name, type, url, "
				            "...}",
				            path);
				continue;
			}
			nc->nc_nchannels++;
			conf_channel(ch, yc, cn, path, file);
			for (j = 0; j + 1 < nc->nc_nchannels; j++)
				if (ch->ch_name && nc->nc_channels[j].ch_name &&
				    strcmp(ch->ch_name,
				           nc->nc_channels[j].ch_name) == 0)
					yconf_error(yc, cn,
					            "%s.name: '%s' is used "
					            "twice",
					            path, ch->ch_name);
		}
	}
	routes = yconf_get(yc, node, "routes");
	if (routes != NULL && !yconf_is_seq(routes))
		yconf_error(yc, routes,
		            "notify.routes: expected a list of {match, "
		            "escalation}");
	else if (routes != NULL) {
		nc->nc_routes = xcalloc(routes->data.sequence.items.top -
		                           routes->data.sequence.items.start,
		                       sizeof(*nc->nc_routes));
		for (it = routes->data.sequence.items.start;
		     it < routes->data.sequence.items.top; it++) {
			yaml_node_t *rn = yconf_node(yc, *it);

			snprintf(path, sizeof(path), "notify.routes[%zu]",
			         nc->nc_nroutes);
			if (!yconf_is_map(rn)) {
				yconf_error(yc, rn,
				            "%s: expected {match, escalation}",
				            path);
				continue;
			}
			conf_route(&nc->nc_routes[nc->nc_nroutes], yc, rn, path,
			           nc->nc_nroutes, nc, phase_known, arg);
			nc->nc_nroutes++;
			for (j = 0; j + 1 < nc->nc_nroutes; j++)
				if (strcmp(nc->nc_routes[j].nr_name,
				           nc->nc_routes[nc->nc_nroutes - 1]
				               .nr_name) == 0)
					yconf_error(yc, rn,
					            "%s.name: '%s' is used "
					            "twice",
					            path,
					            nc->nc_routes[j].nr_name);
		}
	}
	/* No secret_file: the collector's config puts the key in its state
	 * directory (collector.state_dir/ack.key), created if missing. */
	for (i = 0; i < nc->nc_nchannels; i++) {
		struct notify_channel *ch = &nc->nc_channels[i];
		if (ch->ch_group_wait_ms == UINT64_MAX)
			ch->ch_group_wait_ms = nc->nc_group_wait_ms;
		if (ch->ch_rate_count == 0) {
			ch->ch_rate_count = nc->nc_rate_count;
			ch->ch_rate_per_ms = nc->nc_rate_per_ms;
		}
	}
}

void
notify_conf_free(struct notify_conf *nc)
{
	size_t i, j;

	for (i = 0; i < nc->nc_nchannels; i++) {
		struct notify_channel *ch = &nc->nc_channels[i];
		free(ch->ch_name);
		free(ch->ch_url);
		free(ch->ch_method);
		yconf_strlist_free(ch->ch_headers);
		free(ch->ch_body);
		free(ch->ch_secret);
		free(ch->ch_from);
		yconf_strlist_free(ch->ch_to);
		free(ch->ch_username);
		if (ch->ch_password != NULL)
			explicit_bzero(ch->ch_password,
			               strlen(ch->ch_password));
		free(ch->ch_password);
		free(ch->ch_ca);
	}
	free(nc->nc_channels);
	for (i = 0; i < nc->nc_nroutes; i++) {
		struct notify_route *r = &nc->nc_routes[i];
		free(r->nr_name);
		yconf_strlist_free(r->nr_phases);
		free(r->nr_role);
		free(r->nr_host);
		free(r->nr_rule);
		for (j = 0; j < r->nr_nsteps; j++) {
			yconf_strlist_free(r->nr_steps[j].ns_channels);
			yconf_strlist_free(r->nr_steps[j].ns_to);
		}
		free(r->nr_steps);
	}
	free(nc->nc_routes);
	free(nc->nc_secret_file);
	memset(nc, 0, sizeof(*nc));
}

json_t *
notify_recipient_literal(const char *to)
{
	if (to[0] == '+' || (to[0] >= '0' && to[0] <= '9'))
		return json_pack("{s:s, s:s, s:s}", "recipient", to, "phone",
		                 to, "email", "");
	if (strchr(to, '@') != NULL)
		return json_pack("{s:s, s:s, s:s}", "recipient", to, "phone",
		                 "", "email", to);
	return NULL;
}

const struct notify_channel *
notify_channel_find(const struct notify_conf *nc, const char *name)
{
	size_t i;

	for (i = 0; i < nc->nc_nchannels; i++)
		if (nc->nc_channels[i].ch_name != NULL &&
		    strcmp(nc->nc_channels[i].ch_name, name) == 0)
			return &nc->nc_channels[i];
	return NULL;
}

int
notify_route_matches(const struct notify_route *r, int sev, const char *phase,
                     const char *role, const char *host, const char *rule)
{
	size_t i;
	int ok = 0;

	switch (r->nr_sev_cmp) {
	case SEVCMP_ANY:
		break;
	case SEVCMP_GE:
		if (sev < r->nr_severity)
			return 0;
		break;
	case SEVCMP_GT:
		if (sev <= r->nr_severity)
			return 0;
		break;
	case SEVCMP_EQ:
		if (sev != r->nr_severity)
			return 0;
		break;
	case SEVCMP_LE:
		if (sev > r->nr_severity)
			return 0;
		break;
	case SEVCMP_LT:
		if (sev >= r->nr_severity)
			return 0;
		break;
	}
	if (r->nr_phases != NULL) {
		for (i = 0; r->nr_phases[i] != NULL && !ok; i++)
			ok = phase != NULL &&
			     strcmp(r->nr_phases[i], phase) == 0;
		if (!ok)
			return 0;
	}
	return (r->nr_role == NULL ||
	        fnmatch(r->nr_role, role ?: "", 0) == 0) &&
	       (r->nr_host == NULL || fnmatch(r->nr_host, host, 0) == 0) &&
	       (r->nr_rule == NULL || fnmatch(r->nr_rule, rule, 0) == 0);
}

/* ---- reload: what changed ---- */

static int
nc_str_same(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int
nc_list_same(char **a, char **b)
{
	size_t i;

	if (a == NULL || b == NULL)
		return a == b;
	for (i = 0; a[i] != NULL && b[i] != NULL; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return a[i] == NULL && b[i] == NULL;
}

static int
notify_channel_same(const struct notify_channel *a,
                    const struct notify_channel *b)
{
	return a->ch_type == b->ch_type && nc_str_same(a->ch_url, b->ch_url) &&
	       nc_str_same(a->ch_method, b->ch_method) &&
	       nc_list_same(a->ch_headers, b->ch_headers) &&
	       nc_str_same(a->ch_body, b->ch_body) &&
	       nc_str_same(a->ch_secret, b->ch_secret) &&
	       a->ch_max_length == b->ch_max_length &&
	       nc_str_same(a->ch_from, b->ch_from) &&
	       nc_list_same(a->ch_to, b->ch_to) &&
	       nc_str_same(a->ch_username, b->ch_username) &&
	       nc_str_same(a->ch_password, b->ch_password) &&
	       a->ch_starttls == b->ch_starttls &&
	       nc_str_same(a->ch_ca, b->ch_ca) &&
	       a->ch_timeout_ms == b->ch_timeout_ms &&
	       a->ch_group_wait_ms == b->ch_group_wait_ms &&
	       a->ch_rate_count == b->ch_rate_count &&
	       a->ch_rate_per_ms == b->ch_rate_per_ms;
}

static int
notify_route_same(const struct notify_route *a, const struct notify_route *b)
{
	size_t i;

	if (a->nr_sev_cmp != b->nr_sev_cmp ||
	    a->nr_severity != b->nr_severity ||
	    !nc_list_same(a->nr_phases, b->nr_phases) ||
	    !nc_str_same(a->nr_role, b->nr_role) ||
	    !nc_str_same(a->nr_host, b->nr_host) ||
	    !nc_str_same(a->nr_rule, b->nr_rule) ||
	    a->nr_nsteps != b->nr_nsteps ||
	    a->nr_repeat_ms != b->nr_repeat_ms ||
	    a->nr_send_clear != b->nr_send_clear ||
	    a->nr_continue != b->nr_continue)
		return 0;
	for (i = 0; i < a->nr_nsteps; i++)
		if (a->nr_steps[i].ns_after_ms != b->nr_steps[i].ns_after_ms ||
		    !nc_list_same(a->nr_steps[i].ns_channels,
		                  b->nr_steps[i].ns_channels) ||
		    !nc_list_same(a->nr_steps[i].ns_to, b->nr_steps[i].ns_to) ||
		    a->nr_steps[i].ns_unacked != b->nr_steps[i].ns_unacked)
			return 0;
	return 1;
}

static const struct notify_route *
notify_route_find(const struct notify_conf *nc, const char *name)
{
	size_t i;

	for (i = 0; i < nc->nc_nroutes; i++)
		if (nc_str_same(nc->nc_routes[i].nr_name, name))
			return &nc->nc_routes[i];
	return NULL;
}

void
notify_conf_diff(const struct notify_conf *from, const struct notify_conf *to,
                 struct notify_diff *d)
{
	size_t i;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < to->nc_nroutes; i++) {
		const struct notify_route *o =
		    notify_route_find(from, to->nc_routes[i].nr_name);
		if (o == NULL)
			d->nd_routes_added++;
		else if (!notify_route_same(o, &to->nc_routes[i]))
			d->nd_routes_changed++;
	}
	for (i = 0; i < from->nc_nroutes; i++)
		if (notify_route_find(to, from->nc_routes[i].nr_name) == NULL)
			d->nd_routes_removed++;
	for (i = 0; i < to->nc_nchannels; i++) {
		const struct notify_channel *o =
		    notify_channel_find(from, to->nc_channels[i].ch_name);
		if (o == NULL)
			d->nd_channels_added++;
		else if (!notify_channel_same(o, &to->nc_channels[i]))
			d->nd_channels_changed++;
	}
	for (i = 0; i < from->nc_nchannels; i++)
		if (notify_channel_find(to, from->nc_channels[i].ch_name) ==
		    NULL)
			d->nd_channels_removed++;
	d->nd_settings_changed =
	    from->nc_ack_ttl_ms != to->nc_ack_ttl_ms ||
	    from->nc_group_wait_ms != to->nc_group_wait_ms ||
	    from->nc_rate_count != to->nc_rate_count ||
	    from->nc_rate_per_ms != to->nc_rate_per_ms ||
	    from->nc_retry_first_ms != to->nc_retry_first_ms ||
	    from->nc_retry_max_ms != to->nc_retry_max_ms ||
	    from->nc_retry_deadline_ms != to->nc_retry_deadline_ms;
}
