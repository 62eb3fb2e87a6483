/*
 * snmp_storage probe: fill levels from HOST-RESOURCES-MIB hrStorageTable
 * (1.3.6.1.2.1.25.2.3.1), for hosts watched without an agent of ours.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include "agent.h"
#include "snmp.h"

enum { COL_DESCR, COL_UNITS, COL_SIZE, COL_USED, COL_N };

static const char *const storage_columns[COL_N] = {
    "1.3.6.1.2.1.25.2.3.1.3", "1.3.6.1.2.1.25.2.3.1.4",
    "1.3.6.1.2.1.25.2.3.1.5", "1.3.6.1.2.1.25.2.3.1.6"};

struct storage_row {
	oid sr_index;
	char sr_descr[128];
	uint64_t sr_units, sr_size, sr_used;
};

struct snmp_storage_state {
	struct snmpc_conf ss_conf;
	struct snmpc *ss_snmp;
	char **ss_storage; /* hrStorageDescr values; NULL = all */
	size_t ss_nstorage;
	oid ss_cols[COL_N][MAX_OID_LEN];
	size_t ss_col_lens[COL_N];
	int64_t ss_started_us;
	int ss_failing;
	int ss_missing_logged;
};

static const char *const probe_snmp_storage_keys[] = {SNMPC_KEYS, "storage",
                                                      NULL};

static int
probe_snmp_storage_configure(struct probe *p, struct yconf *yc,
                             yaml_node_t *node, const char *path)
{
	struct snmp_storage_state *st = xcalloc(1, sizeof(*st));
	int i;

	p->pr_state = st;
	snmpc_configure(&st->ss_conf, yc, node, path);
	yconf_strlist(yc, node, path, "storage", 0, &st->ss_storage,
	              &st->ss_nstorage);
	for (i = 0; i < COL_N; i++)
		snmpc_parse_oid(storage_columns[i], st->ss_cols[i],
		                &st->ss_col_lens[i]);
	return 0;
}

static void
probe_snmp_storage_done(void *arg, int ok, const char *why,
                        const struct snmpc_val *vals, size_t nvals)
{
	struct probe *p = arg;
	struct snmp_storage_state *st = p->pr_state;
	struct storage_row *rows = NULL;
	int64_t now_us = p->pr_now_us;
	size_t n = 0, i, j, found = 0;
	int c;

	p->pr_now_us = st->ss_started_us;
	snmpc_report(p, &st->ss_failing, ok, why);
	if (!ok) {
		p->pr_now_us = now_us;
		return;
	}
	for (i = 0; i < nvals; i++) {
		const struct snmpc_val *v = &vals[i];
		struct storage_row *r = NULL;
		oid index;

		for (c = 0; c < COL_N; c++)
			if (v->v_len == st->ss_col_lens[c] + 1 &&
			    snmp_oid_compare(v->v_name, st->ss_col_lens[c],
			                     st->ss_cols[c],
			                     st->ss_col_lens[c]) == 0)
				break;
		if (c == COL_N)
			continue;
		index = snmpc_row(v, st->ss_col_lens[c]);
		for (j = 0; j < n; j++)
			if (rows[j].sr_index == index)
				r = &rows[j];
		if (r == NULL) {
			rows = xrealloc(rows, (n + 1) * sizeof(*rows));
			r = &rows[n++];
			memset(r, 0, sizeof(*r));
			r->sr_index = index;
		}
		if (c == COL_DESCR)
			snprintf(r->sr_descr, sizeof(r->sr_descr), "%s",
			         v->v_str);
		else if (c == COL_UNITS)
			r->sr_units = (uint64_t)v->v_i64;
		else if (c == COL_SIZE)
			r->sr_size = (uint64_t)v->v_i64;
		else
			r->sr_used = (uint64_t)v->v_i64;
	}
	for (i = 0; i < n; i++) {
		struct storage_row *r = &rows[i];
		const char *inst = NULL;
		char name[128];
		int wanted = st->ss_storage == NULL;

		for (j = 0; j < st->ss_nstorage; j++)
			if (strcmp(st->ss_storage[j], r->sr_descr) == 0)
				wanted = 1;
		if (!wanted)
			continue;
		found++;
		/* One storage named: plain <probe>.<metric> series. */
		if (st->ss_nstorage != 1) {
			snmpc_instance(r->sr_descr, name, sizeof(name));
			inst = name;
		}
		probe_sample(p, inst, "size_bytes",
		             (double)r->sr_size * r->sr_units);
		probe_sample(p, inst, "used_bytes",
		             (double)r->sr_used * r->sr_units);
		if (r->sr_size > 0)
			probe_sample(p, inst, "fill_pct",
			             100.0 * r->sr_used / r->sr_size);
	}
	if (found < st->ss_nstorage && !st->ss_missing_logged++)
		log_warnx("probe %s: not every storage listed is on %s",
		          p->pr_name, st->ss_conf.sc_target);
	free(rows);
	p->pr_now_us = now_us;
}

static void
probe_snmp_storage_run(struct probe *p)
{
	struct snmp_storage_state *st = p->pr_state;

	if (st->ss_snmp == NULL)
		st->ss_snmp = snmpc_new(p->pr_base, &st->ss_conf);
	if (snmpc_busy(st->ss_snmp))
		return;
	st->ss_started_us = p->pr_now_us;
	snmpc_poll(st->ss_snmp, NULL, NULL, 0,
	           (const oid(*)[MAX_OID_LEN])st->ss_cols, st->ss_col_lens,
	           COL_N, probe_snmp_storage_done, p);
}

static void
probe_snmp_storage_free(struct probe *p)
{
	struct snmp_storage_state *st = p->pr_state;

	if (st == NULL)
		return;
	snmpc_free(st->ss_snmp);
	snmpc_conf_free(&st->ss_conf);
	yconf_strlist_free(st->ss_storage);
	free(st);
}

const struct probe_type probe_type_snmp_storage = {
    .pt_name = "snmp_storage",
    .pt_keys = probe_snmp_storage_keys,
    .pt_configure = probe_snmp_storage_configure,
    .pt_run = probe_snmp_storage_run,
    .pt_free = probe_snmp_storage_free,
};
