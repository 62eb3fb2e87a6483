/*
 * snmp_get probe: any numeric OIDs, as gauges, or as counters turned into
 * rates per second (wrap and device restarts taken into account).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watchstand/log.h"
#include "watchstand/proto.h"
#include "watchstand/clock.h"
#include "watchstand/xalloc.h"
#include "agent.h"
#include "snmp.h"

#define SNMP_GET_MAX 31 /* plus sysUpTime, within snmp.c's limit */

struct snmp_get_state {
	struct snmpc_conf sg_conf;
	struct snmpc *sg_snmp;
	int sg_counter;
	size_t sg_n;
	char *sg_names[SNMP_GET_MAX];
	oid sg_oids[SNMP_GET_MAX + 1][MAX_OID_LEN];
	size_t sg_lens[SNMP_GET_MAX + 1];
	uint64_t sg_prev[SNMP_GET_MAX];
	int sg_have_prev[SNMP_GET_MAX];
	uint64_t sg_prev_uptime;
	double sg_prev_mono;
	int64_t sg_started_us;
	int sg_failing;
};

static const char *const probe_snmp_get_keys[] = {SNMPC_KEYS, "oids", "kind",
                                                  NULL};

static int
probe_snmp_get_configure(struct probe *p, struct yconf *yc, yaml_node_t *node,
                         const char *path)
{
	struct snmp_get_state *st = xcalloc(1, sizeof(*st));
	yaml_node_t *m = yconf_get(yc, node, "oids");
	yaml_node_pair_t *pair;
	char opath[256], *kind = NULL;

	p->pr_state = st;
	snmpc_configure(&st->sg_conf, yc, node, path);
	if (yconf_str(yc, node, path, "kind", 0, &kind) == 1) {
		if (strcmp(kind, "counter") == 0)
			st->sg_counter = 1;
		else if (strcmp(kind, "gauge") != 0)
			yconf_error(
			    yc, yconf_get(yc, node, "kind"),
			    "%s.kind: expected gauge or counter, got '%s'",
			    path, kind);
	}
	free(kind);
	yconf_path(opath, sizeof(opath), path, "oids");
	if (m == NULL) {
		yconf_error(yc, node, "%s: required key is missing", opath);
		return 0;
	}
	if (!yconf_is_map(m)) {
		yconf_error(yc, m, "%s: expected a mapping of name: OID",
		            opath);
		return 0;
	}
	for (pair = m->data.mapping.pairs.start;
	     pair < m->data.mapping.pairs.top; pair++) {
		yaml_node_t *kn = yconf_node(yc, pair->key);
		const char *name = yconf_scalar(kn);
		const char *o = yconf_scalar(yconf_node(yc, pair->value));

		if (st->sg_n == SNMP_GET_MAX) {
			yconf_error(yc, kn, "%s: at most %d OIDs per probe",
			            opath, SNMP_GET_MAX);
			break;
		}
		if (name == NULL || !proto_series_valid(name, strlen(name))) {
			yconf_error(yc, kn,
			            "%s: a name must be letters, digits "
			            "and - _ .",
			            opath);
			continue;
		}
		if (o == NULL ||
		    snmpc_parse_oid(o, st->sg_oids[st->sg_n],
		                    &st->sg_lens[st->sg_n]) == -1) {
			yconf_error(yc, yconf_node(yc, pair->value),
			            "%s.%s: expected a numeric OID such as "
			            "1.3.6.1.2.1.1.3.0",
			            opath, name);
			continue;
		}
		st->sg_names[st->sg_n++] = xstrdup(name);
	}
	snmpc_parse_oid("1.3.6.1.2.1.1.3.0", st->sg_oids[st->sg_n],
	                &st->sg_lens[st->sg_n]);
	return 0;
}

static void
probe_snmp_get_done(void *arg, int ok, const char *why,
                    const struct snmpc_val *vals, size_t nvals)
{
	struct probe *p = arg;
	struct snmp_get_state *st = p->pr_state;
	int64_t now_us = p->pr_now_us;
	double mono = clock_mono_s(), dt = mono - st->sg_prev_mono;
	uint64_t uptime = 0;
	int restarted;
	size_t i, j;

	p->pr_now_us = st->sg_started_us;
	snmpc_report(p, &st->sg_failing, ok, why);
	if (!ok) {
		p->pr_now_us = now_us;
		return;
	}
	for (j = 0; j < nvals; j++)
		if (snmp_oid_compare(vals[j].v_name, vals[j].v_len,
		                     st->sg_oids[st->sg_n],
		                     st->sg_lens[st->sg_n]) == 0)
			uptime = vals[j].v_u64;
	restarted = uptime < st->sg_prev_uptime;
	for (i = 0; i < st->sg_n; i++) {
		const struct snmpc_val *v = NULL;
		uint64_t d;

		for (j = 0; j < nvals; j++)
			if (snmp_oid_compare(vals[j].v_name, vals[j].v_len,
			                     st->sg_oids[i],
			                     st->sg_lens[i]) == 0)
				v = &vals[j];
		if (v == NULL || !v->v_numeric)
			continue;
		if (!st->sg_counter) {
			probe_sample(p, NULL, st->sg_names[i], v->v_num);
			continue;
		}
		if (st->sg_have_prev[i] && !restarted && dt > 0) {
			int have;
			if (v->v_type == ASN_COUNTER64)
				have = v->v_u64 >= st->sg_prev[i]
				           ? (d = v->v_u64 - st->sg_prev[i], 1)
				           : 0;
			else
				have =
				    counter_delta(st->sg_prev[i], v->v_u64, &d);
			if (have)
				probe_sample(p, NULL, st->sg_names[i], d / dt);
		}
		st->sg_prev[i] = v->v_u64;
		st->sg_have_prev[i] = 1;
	}
	st->sg_prev_uptime = uptime;
	st->sg_prev_mono = mono;
	p->pr_now_us = now_us;
}

static void
probe_snmp_get_run(struct probe *p)
{
	struct snmp_get_state *st = p->pr_state;

	if (st->sg_snmp == NULL)
		st->sg_snmp = snmpc_new(p->pr_base, &st->sg_conf);
	if (snmpc_busy(st->sg_snmp))
		return;
	st->sg_started_us = p->pr_now_us;
	snmpc_poll(st->sg_snmp, (const oid(*)[MAX_OID_LEN])st->sg_oids,
	           st->sg_lens, st->sg_n + 1, NULL, NULL, 0,
	           probe_snmp_get_done, p);
}

static void
probe_snmp_get_free(struct probe *p)
{
	struct snmp_get_state *st = p->pr_state;
	size_t i;

	if (st == NULL)
		return;
	snmpc_free(st->sg_snmp);
	snmpc_conf_free(&st->sg_conf);
	for (i = 0; i < st->sg_n; i++)
		free(st->sg_names[i]);
	free(st);
}

const struct probe_type probe_type_snmp_get = {
    .pt_name = "snmp_get",
    .pt_keys = probe_snmp_get_keys,
    .pt_configure = probe_snmp_get_configure,
    .pt_run = probe_snmp_get_run,
    .pt_free = probe_snmp_get_free,
};
