/* netif probe: line bandwidth from /proc/net/dev against a line capacity. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include "agent.h"

#define NETIF_MAX 256

struct netif_state {
	char *ns_pattern;
	int ns_multi; /* a glob: one instance per interface */
	uint64_t ns_capacity_bps;
	struct netif_counters *ns_prev;
	int ns_nprev;
	double ns_prev_mono;
	int ns_missing_logged;
};

static const char *const probe_netif_keys[] = {"interface", "capacity", NULL};

int
probe_netif_parse(const char *text, struct netif_counters *out, int max)
{
	const char *line = text;
	int n = 0;

	/* Two header lines, then "  name: rx(8 fields) tx(8 fields)". */
	while (line != NULL && *line != '\0' && n < max) {
		const char *colon = strchr(line, ':');
		const char *eol = strchr(line, '\n');
		unsigned long long f[16];
		const char *s = line;
		size_t len;

		if (colon != NULL && (eol == NULL || colon < eol)) {
			while (*s == ' ')
				s++;
			len = colon - s;
			if (len > 0 && len < sizeof(out[n].nc_name) &&
			    sscanf(colon + 1,
			           "%llu %llu %llu %llu %llu %llu %llu %llu"
			           " %llu %llu %llu %llu %llu %llu %llu %llu",
			           &f[0], &f[1], &f[2], &f[3], &f[4], &f[5],
			           &f[6], &f[7], &f[8], &f[9], &f[10], &f[11],
			           &f[12], &f[13], &f[14], &f[15]) == 16) {
				struct netif_counters *c = &out[n++];
				memcpy(c->nc_name, s, len);
				c->nc_name[len] = '\0';
				c->nc_rx_bytes = f[0];
				c->nc_rx_errs = f[2];
				c->nc_rx_drop = f[3];
				c->nc_tx_bytes = f[8];
				c->nc_tx_errs = f[10];
				c->nc_tx_drop = f[11];
			} else if (len > 0)
				return -1;
		}
		line = eol != NULL ? eol + 1 : NULL;
	}
	return n;
}

static int
probe_netif_configure(struct probe *p, struct yconf *yc, yaml_node_t *node,
                      const char *path)
{
	struct netif_state *st = xcalloc(1, sizeof(*st));

	p->pr_state = st;
	if (yconf_str(yc, node, path, "interface", 0, &st->ns_pattern) != 1)
		st->ns_pattern = xstrdup("*");
	st->ns_multi = strpbrk(st->ns_pattern, "*?[") != NULL;
	yconf_rate(yc, node, path, "capacity", 0, &st->ns_capacity_bps);
	return 0;
}

static const struct netif_counters *
probe_netif_find(const struct netif_counters *v, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].nc_name, name) == 0)
			return &v[i];
	return NULL;
}

static void
probe_netif_emit(struct probe *p, struct netif_state *st,
                 const struct netif_counters *prev,
                 const struct netif_counters *cur, double dt)
{
	const char *inst = st->ns_multi ? cur->nc_name : NULL;
	uint64_t din, dout, d1, d2;

	if (counter_delta(prev->nc_rx_bytes, cur->nc_rx_bytes, &din) &&
	    counter_delta(prev->nc_tx_bytes, cur->nc_tx_bytes, &dout)) {
		double in_bps = din * 8.0 / dt, out_bps = dout * 8.0 / dt;
		probe_sample(p, inst, "in_bps", in_bps);
		probe_sample(p, inst, "out_bps", out_bps);
		if (st->ns_capacity_bps > 0)
			probe_sample(p, inst, "util_pct",
			             100.0 *
			                 (in_bps > out_bps ? in_bps : out_bps) /
			                 st->ns_capacity_bps);
	}
	if (counter_delta(prev->nc_rx_errs, cur->nc_rx_errs, &d1) &&
	    counter_delta(prev->nc_tx_errs, cur->nc_tx_errs, &d2))
		probe_sample(p, inst, "errors", (double)(d1 + d2));
	if (counter_delta(prev->nc_rx_drop, cur->nc_rx_drop, &d1) &&
	    counter_delta(prev->nc_tx_drop, cur->nc_tx_drop, &d2))
		probe_sample(p, inst, "drops", (double)(d1 + d2));
}

static void
probe_netif_run(struct probe *p)
{
	struct netif_state *st = p->pr_state;
	struct netif_counters *cur;
	char path[256];
	char *text = NULL;
	size_t cap = 0;
	FILE *fp;
	int n, i, kept = 0, found = 0;
	double dt = p->pr_mono_s - st->ns_prev_mono;

	snprintf(path, sizeof(path), "%s/net/dev", probe_proc_root());
	if ((fp = fopen(path, "r")) == NULL) {
		log_warn("probe %s: %s", p->pr_name, path);
		return;
	}
	if (getdelim(&text, &cap, '\0', fp) < 0) {
		fclose(fp);
		free(text);
		return;
	}
	fclose(fp);
	cur = xcalloc(NETIF_MAX, sizeof(*cur));
	n = probe_netif_parse(text, cur, NETIF_MAX);
	free(text);
	if (n < 0) {
		log_warnx("probe %s: %s: unexpected format", p->pr_name, path);
		free(cur);
		return;
	}
	for (i = 0; i < n; i++) {
		const struct netif_counters *prev;

		if (fnmatch(st->ns_pattern, cur[i].nc_name, 0) != 0)
			continue;
		found = 1;
		cur[kept++] = cur[i];
		prev =
		    probe_netif_find(st->ns_prev, st->ns_nprev, cur[i].nc_name);
		if (prev != NULL && dt > 0)
			probe_netif_emit(p, st, prev, &cur[kept - 1], dt);
	}
	if (!found && !st->ns_missing_logged) {
		log_warnx("probe %s: no interface matches '%s'", p->pr_name,
		          st->ns_pattern);
		st->ns_missing_logged = 1;
	} else if (found)
		st->ns_missing_logged = 0;
	free(st->ns_prev);
	st->ns_prev = cur;
	st->ns_nprev = kept;
	st->ns_prev_mono = p->pr_mono_s;
}

static void
probe_netif_free(struct probe *p)
{
	struct netif_state *st = p->pr_state;

	if (st == NULL)
		return;
	free(st->ns_pattern);
	free(st->ns_prev);
	free(st);
}

const struct probe_type probe_type_netif = {
    .pt_name = "netif",
    .pt_keys = probe_netif_keys,
    .pt_configure = probe_netif_configure,
    .pt_run = probe_netif_run,
    .pt_free = probe_netif_free,
};
