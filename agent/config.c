/* agent.yaml: every error is reported with file:line:column before exit. */
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watchstand/proto.h"
#include "watchstand/yconf.h"
#include "watchstand/xalloc.h"
#include "watchstand/hostport.h"
#include "agent.h"

static const char *const agent_roles[] = {
    "trading", "quote", "settlement", "gateway", "db", "other", NULL};

/* "host:port" or "[v6]:port" with a port in range. */
static int
conf_hostport_valid(const char *s)
{
	char host[256];
	int port;

	return hostport_split(s, host, sizeof(host), &port) == 0 && port > 0;
}

static void
conf_agent(struct yconf *yc, yaml_node_t *a, struct agent_conf *c,
           const char *file)
{
	static const char *const keys[] = {
	    "name", "role", "collectors", "tls", "spool", "flush", NULL};
	static const char *const tls_keys[] = {"ca", "cert", "key", NULL};
	static const char *const spool_keys[] = {"dir", "max_size", "max_age",
	                                         "sync", NULL};
	yaml_node_t *tls, *spool;
	size_t i;

	if (!yconf_is_map(a)) {
		yconf_error(yc, a, "agent: expected a mapping");
		return;
	}
	yconf_check_keys(yc, a, "agent", keys);
	if (yconf_str(yc, a, "agent", "name", 1, &c->ac_name) == 1 &&
	    !proto_name_valid(c->ac_name))
		yconf_error(
		    yc, yconf_get(yc, a, "name"),
		    "agent.name: use 1 to 64 letters, digits and - _ . only");
	if (yconf_str(yc, a, "agent", "role", 1, &c->ac_role) == 1) {
		int ok = 0;
		for (i = 0; agent_roles[i] != NULL; i++)
			if (strcmp(agent_roles[i], c->ac_role) == 0)
				ok = 1;
		if (!ok)
			yconf_error(
			    yc, yconf_get(yc, a, "role"),
			    "agent.role: unknown role '%s' (trading, quote, "
			    "settlement, gateway, db, other)",
			    c->ac_role);
	}
	if (yconf_strlist(yc, a, "agent", "collectors", 1, &c->ac_collectors,
	                  &c->ac_ncollectors) == 1) {
		yaml_node_t *list = yconf_get(yc, a, "collectors");
		for (i = 0; i < c->ac_ncollectors; i++)
			if (!conf_hostport_valid(c->ac_collectors[i]))
				yconf_error(
				    yc,
				    yconf_node(
				        yc, list->data.sequence.items.start[i]),
				    "agent.collectors[%zu]: expected "
				    "host:port, "
				    "got '%s'",
				    i, c->ac_collectors[i]);
	}
	tls = yconf_get(yc, a, "tls");
	if (tls == NULL)
		yconf_error(yc, a, "agent.tls: required key is missing");
	else if (!yconf_is_map(tls))
		yconf_error(yc, tls, "agent.tls: expected a mapping");
	else {
		yconf_check_keys(yc, tls, "agent.tls", tls_keys);
		yconf_str(yc, tls, "agent.tls", "ca", 1, &c->ac_tls_ca);
		yconf_str(yc, tls, "agent.tls", "cert", 1, &c->ac_tls_cert);
		yconf_str(yc, tls, "agent.tls", "key", 1, &c->ac_tls_key);
		yconf_resolve_path(file, &c->ac_tls_ca);
		yconf_resolve_path(file, &c->ac_tls_cert);
		yconf_resolve_path(file, &c->ac_tls_key);
	}
	spool = yconf_get(yc, a, "spool");
	if (spool != NULL && !yconf_is_map(spool))
		yconf_error(yc, spool, "agent.spool: expected a mapping");
	else if (spool != NULL) {
		yconf_check_keys(yc, spool, "agent.spool", spool_keys);
		yconf_str(yc, spool, "agent.spool", "dir", 0, &c->ac_spool_dir);
		yconf_resolve_path(file, &c->ac_spool_dir);
		if (yconf_size(yc, spool, "agent.spool", "max_size", 0,
		               &c->ac_spool_max_size) == 1 &&
		    c->ac_spool_max_size < 64 * 1024)
			yconf_error(
			    yc, yconf_get(yc, spool, "max_size"),
			    "agent.spool.max_size: must be at least 64KiB");
		yconf_duration(yc, spool, "agent.spool", "max_age", 0,
		               &c->ac_spool_max_age_ms);
		if (yconf_duration(yc, spool, "agent.spool", "sync", 0,
		                   &c->ac_spool_sync_ms) == 1 &&
		    (c->ac_spool_sync_ms < 10 || c->ac_spool_sync_ms > 60000))
			yconf_error(yc, yconf_get(yc, spool, "sync"),
			            "agent.spool.sync: must be between 10ms "
			            "and 60s");
	}
	if (yconf_duration(yc, a, "agent", "flush", 0, &c->ac_flush_ms) == 1 &&
	    (c->ac_flush_ms < 10 || c->ac_flush_ms > 60000))
		yconf_error(yc, yconf_get(yc, a, "flush"),
		            "agent.flush: must be between 10ms and 60s");
}

static void
conf_actions(struct yconf *yc, yaml_node_t *acts, struct agent_conf *c)
{
	static const char *const keys[] = {"run", "timeout", "user", "drill",
	                                   NULL};
	yaml_node_pair_t *pair;
	size_t n;

	if (!yconf_is_map(acts)) {
		yconf_error(yc, acts,
		            "actions: expected a mapping of name to "
		            "{run, timeout, user, drill}");
		return;
	}
	n = acts->data.mapping.pairs.top - acts->data.mapping.pairs.start;
	if (n > PROTO_ACTIONS_MAX)
		yconf_error(yc, acts, "actions: at most %d actions",
		            PROTO_ACTIONS_MAX);
	c->ac_actions = xcalloc(n, sizeof(*c->ac_actions));
	for (pair = acts->data.mapping.pairs.start;
	     pair < acts->data.mapping.pairs.top; pair++) {
		struct agent_action *ac = &c->ac_actions[c->ac_nactions++];
		const char *name = yconf_scalar(yconf_node(yc, pair->key));
		yaml_node_t *v = yconf_node(yc, pair->value);
		char path[256];

		ac->ac_timeout_ms = 60000;
		ac->ac_name = xstrdup(name ? name : "");
		snprintf(path, sizeof(path), "actions.%s", ac->ac_name);
		if (!proto_name_valid(ac->ac_name))
			yconf_error(yc, yconf_node(yc, pair->key),
			            "%s: use 1 to 64 letters, digits and - _ . "
			            "only",
			            path);
		for (size_t j = 0; j + 1 < c->ac_nactions; j++)
			if (strcmp(c->ac_actions[j].ac_name, ac->ac_name) == 0)
				yconf_error(yc, yconf_node(yc, pair->key),
				            "%s: action is already defined",
				            path);
		if (!yconf_is_map(v)) {
			yconf_error(yc, v, "%s: expected a mapping with run",
			            path);
			continue;
		}
		yconf_check_keys(yc, v, path, keys);
		yconf_strlist(yc, v, path, "run", 1, &ac->ac_run, NULL);
		if (ac->ac_run != NULL &&
		    (ac->ac_run[0] == NULL || ac->ac_run[0][0] != '/'))
			yconf_error(
			    yc, yconf_get(yc, v, "run"),
			    "%s.run: the command must be an absolute path",
			    path);
		if (yconf_duration(yc, v, path, "timeout", 0,
		                   &ac->ac_timeout_ms) == 1 &&
		    (ac->ac_timeout_ms < 100 ||
		     ac->ac_timeout_ms > 24ULL * 3600 * 1000))
			yconf_error(yc, yconf_get(yc, v, "timeout"),
			            "%s.timeout: must be between 100ms and 24h",
			            path);
		if (yconf_str(yc, v, path, "user", 0, &ac->ac_user) == 1 &&
		    getpwnam(ac->ac_user) == NULL)
			yconf_error(yc, yconf_get(yc, v, "user"),
			            "%s.user: no such user '%s'", path,
			            ac->ac_user);
		yconf_bool(yc, v, path, "drill", 0, &ac->ac_drill);
	}
}

int
agent_conf_load(const char *file, struct agent_conf *c)
{
	return agent_conf_read(file, c, NULL, 0);
}

int
agent_conf_read(const char *file, struct agent_conf *c, char *err,
                size_t errlen)
{
	static const char *const keys[] = {"agent", "probes", "actions", NULL};
	struct yconf yc;
	yaml_node_t *root, *probes, *acts;
	yaml_node_item_t *it;
	size_t i, j;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	c->ac_spool_max_size = 1024ULL * 1024 * 1024;
	c->ac_spool_max_age_ms = 24ULL * 3600 * 1000;
	c->ac_spool_sync_ms = 1000;
	c->ac_flush_ms = 1000;
	if (yconf_load(&yc, file) == -1)
		goto done;
	root = yconf_root(&yc);
	if (!yconf_is_map(root)) {
		yconf_error(&yc, root,
		            "expected a mapping with agent and "
		            "probes");
		goto done;
	}
	yconf_check_keys(&yc, root, "", keys);
	if (yconf_get(&yc, root, "agent") == NULL)
		yconf_error(&yc, root, "agent: required key is missing");
	else
		conf_agent(&yc, yconf_get(&yc, root, "agent"), c, file);
	if (c->ac_spool_dir == NULL)
		c->ac_spool_dir = xstrdup("/var/lib/watchstand/spool");
	probes = yconf_get(&yc, root, "probes");
	if (probes != NULL && !yconf_is_seq(probes))
		yconf_error(&yc, probes, "probes: expected a list");
	else if (probes != NULL) {
		size_t n = probes->data.sequence.items.top -
		           probes->data.sequence.items.start;
		c->ac_probes = xcalloc(n + 1, sizeof(*c->ac_probes));
		for (it = probes->data.sequence.items.start;
		     it < probes->data.sequence.items.top; it++) {
			char path[64];
			yaml_node_t *pn = yconf_node(&yc, *it);
			struct probe *p;

			snprintf(
			    path, sizeof(path), "probes[%zu]",
			    (size_t)(it - probes->data.sequence.items.start));
			if ((p = probe_configure(&yc, pn, path)) == NULL)
				continue;
			for (j = 0; j < c->ac_nprobes; j++)
				if (strcmp(c->ac_probes[j]->pr_name,
				           p->pr_name) == 0)
					yconf_error(
					    &yc, yconf_get(&yc, pn, "name"),
					    "%s.name: probe '%s' is already "
					    "defined",
					    path, p->pr_name);
			c->ac_probes[c->ac_nprobes++] = p;
		}
	}
	if ((acts = yconf_get(&yc, root, "actions")) != NULL)
		conf_actions(&yc, acts, c);
	(void)i;
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
		agent_conf_free(c);
	return rc;
}

void
agent_conf_free(struct agent_conf *c)
{
	size_t i;

	free(c->ac_name);
	free(c->ac_role);
	yconf_strlist_free(c->ac_collectors);
	free(c->ac_tls_ca);
	free(c->ac_tls_cert);
	free(c->ac_tls_key);
	free(c->ac_spool_dir);
	for (i = 0; i < c->ac_nprobes; i++)
		probe_free(c->ac_probes[i]);
	free(c->ac_probes);
	for (i = 0; i < c->ac_nactions; i++) {
		free(c->ac_actions[i].ac_name);
		yconf_strlist_free(c->ac_actions[i].ac_run);
		free(c->ac_actions[i].ac_user);
	}
	free(c->ac_actions);
	memset(c, 0, sizeof(*c));
}
