/* SIGHUP: the agent's probes and actions from a new config, its link
 * to the collector untouched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watchstand/log.h"
#include "agent.h"

static int
same_str(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
add_name(char *buf, size_t len, size_t *off, const char *name)
{
	int n;

	if (*off >= len)
		return;
	n = snprintf(buf + *off, len - *off, "%s%s", *off ? ", " : "", name);
	if (n > 0)
		*off += (size_t)n;
}

int
agent_reload_fixed(const struct agent_conf *a, const struct agent_conf *b,
                   char *buf, size_t len)
{
	size_t off = 0, i;
	int collectors = a->ac_ncollectors != b->ac_ncollectors;

	buf[0] = '\0';
	for (i = 0; !collectors && i < a->ac_ncollectors; i++)
		collectors =
		    !same_str(a->ac_collectors[i], b->ac_collectors[i]);
	if (!same_str(a->ac_name, b->ac_name))
		add_name(buf, len, &off, "agent.name");
	if (!same_str(a->ac_role, b->ac_role))
		add_name(buf, len, &off, "agent.role");
	if (collectors)
		add_name(buf, len, &off, "agent.collectors");
	if (!same_str(a->ac_tls_ca, b->ac_tls_ca) ||
	    !same_str(a->ac_tls_cert, b->ac_tls_cert) ||
	    !same_str(a->ac_tls_key, b->ac_tls_key))
		add_name(buf, len, &off, "agent.tls");
	if (!same_str(a->ac_spool_dir, b->ac_spool_dir) ||
	    a->ac_spool_max_size != b->ac_spool_max_size ||
	    a->ac_spool_max_age_ms != b->ac_spool_max_age_ms ||
	    a->ac_spool_sync_ms != b->ac_spool_sync_ms)
		add_name(buf, len, &off, "agent.spool");
	if (a->ac_flush_ms != b->ac_flush_ms)
		add_name(buf, len, &off, "agent.flush");
	return off > 0 ? -1 : 0;
}

static int
has_probe(const struct agent_conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->ac_nprobes; i++)
		if (strcmp(c->ac_probes[i]->pr_name, name) == 0)
			return 1;
	return 0;
}

static int
has_action(const struct agent_conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->ac_nactions; i++)
		if (strcmp(c->ac_actions[i].ac_name, name) == 0)
			return 1;
	return 0;
}

void
agent_reload_summary(const struct agent_conf *a, const struct agent_conf *b,
                     char *buf, size_t len)
{
	unsigned padd = 0, pdel = 0, aadd = 0, adel = 0;
	size_t i;

	for (i = 0; i < b->ac_nprobes; i++)
		padd += !has_probe(a, b->ac_probes[i]->pr_name);
	for (i = 0; i < a->ac_nprobes; i++)
		pdel += !has_probe(b, a->ac_probes[i]->pr_name);
	for (i = 0; i < b->ac_nactions; i++)
		aadd += !has_action(a, b->ac_actions[i].ac_name);
	for (i = 0; i < a->ac_nactions; i++)
		adel += !has_action(b, a->ac_actions[i].ac_name);
	snprintf(buf, len, "probes %zu (+%u -%u), actions %zu (+%u -%u)",
	         b->ac_nprobes, padd, pdel, b->ac_nactions, aadd, adel);
}

int
agent_reload(struct agent_conf *conf, const char *file, struct event_base *base,
             struct uplink *up, char *msg, size_t len)
{
	struct agent_conf next;
	struct agent_action *actions;
	char err[1024], fixed[256];
	size_t i, nactions;

	if (agent_conf_read(file, &next, err, sizeof(err)) == -1) {
		snprintf(msg, len, "%s", err);
		return -1;
	}
	if (agent_reload_fixed(conf, &next, fixed, sizeof(fixed)) == -1) {
		snprintf(msg, len,
		         "%s: %s cannot change without a restart; nothing was "
		         "reloaded",
		         file, fixed);
		agent_conf_free(&next);
		return -1;
	}
	agent_reload_summary(conf, &next, msg, len);
	/* Every probe starts afresh (its state is its config's); what they
	 * measured is in the uplink's batch already. */
	for (i = 0; i < conf->ac_nprobes; i++)
		probe_free(conf->ac_probes[i]);
	free(conf->ac_probes);
	conf->ac_probes = next.ac_probes;
	conf->ac_nprobes = next.ac_nprobes;
	next.ac_probes = NULL;
	next.ac_nprobes = 0;
	actions = conf->ac_actions;
	nactions = conf->ac_nactions;
	conf->ac_actions = next.ac_actions;
	conf->ac_nactions = next.ac_nactions;
	next.ac_actions = actions;
	next.ac_nactions = nactions;
	agent_conf_free(&next);
	for (i = 0; i < conf->ac_nprobes; i++)
		if (probe_start(conf->ac_probes[i], base, up) == -1)
			log_warnx("probe %s: cannot start",
			          conf->ac_probes[i]->pr_name);
	return 0;
}
