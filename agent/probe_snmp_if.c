/*
 * snmp_if probe: exchange lines through the switch or router that carries
 * them. IF-MIB's 64-bit ifXTable counters give in/out bits per second and
 * utilisation against the line's capacity (or ifHighSpeed). Counter resets,
 * a device restart (sysUpTime going back) and counter discontinuities give
 * no rate for that poll, never a spike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watchstand/log.h"
#include "watchstand/clock.h"
#include "watchstand/xalloc.h"
#include "agent.h"
#include "snmp.h"

enum {
	COL_DESCR,
	COL_OPER,
	COL_IN_DISCARDS,
	COL_IN_ERRORS,
	COL_OUT_DISCARDS,
	COL_OUT_ERRORS,
	COL_NAME,
	COL_HC_IN,
	COL_HC_OUT,
	COL_HIGH_SPEED,
	COL_DISCONTINUITY,
	COL_N
};

/* IF-MIB ifTable (1.3.6.1.2.1.2.2.1) and ifXTable (1.3.6.1.2.1.31.1.1.1). */
static const char *const if_columns[COL_N] = {
    "1.3.6.1.2.1.2.2.1.2",     "1.3.6.1.2.1.2.2.1.8",
    "1.3.6.1.2.1.2.2.1.13",    "1.3.6.1.2.1.2.2.1.14",
    "1.3.6.1.2.1.2.2.1.19",    "1.3.6.1.2.1.2.2.1.20",
    "1.3.6.1.2.1.31.1.1.1.1",  "1.3.6.1.2.1.31.1.1.1.6",
    "1.3.6.1.2.1.31.1.1.1.10", "1.3.6.1.2.1.31.1.1.1.15",
    "1.3.6.1.2.1.31.1.1.1.19",
};
static const char sys_uptime[] = "1.3.6.1.2.1.1.3.0";

struct if_row {
	oid r_index;
	char r_name[64];
	char r_descr[128];
	int r_oper;
	uint64_t r_in, r_out, r_errors, r_discards, r_speed_mbps, r_disc;
	int r_have_in, r_have_out;
};

struct snmp_if_state {
	struct snmpc_conf si_conf;
	struct snmpc *si_snmp;
	char **si_interfaces; /* ifName, ifDescr or ifIndex; NULL = all */
	uint64_t si_capacity_bps;
	oid si_cols[COL_N][MAX_OID_LEN];
	size_t si_col_lens[COL_N];
	oid si_uptime[1][MAX_OID_LEN];
	size_t si_uptime_len[1];
	struct if_row *si_prev;
	size_t si_nprev;
	uint64_t si_prev_uptime;
	double si_prev_mono;
	int64_t si_started_us;
	int si_failing;
	int si_missing_logged;
};

static const char *const probe_snmp_if_keys[] = {SNMPC_KEYS, "interfaces",
                                                 "capacity", NULL};

static int
probe_snmp_if_configure(struct probe *p, struct yconf *yc, yaml_node_t *node,
                        const char *path)
{
	struct snmp_if_state *st = xcalloc(1, sizeof(*st));
	int i;

	p->pr_state = st;
	snmpc_configure(&st->si_conf, yc, node, path);
	yconf_strlist(yc, node, path, "interfaces", 0, &st->si_interfaces,
	              NULL);
	yconf_rate(yc, node, path, "capacity", 0, &st->si_capacity_bps);
	for (i = 0; i < COL_N; i++)
		snmpc_parse_oid(if_columns[i], st->si_cols[i],
		                &st->si_col_lens[i]);
	snmpc_parse_oid(sys_uptime, st->si_uptime[0], &st->si_uptime_len[0]);
	return 0;
}

static int
if_wanted(struct snmp_if_state *st, const struct if_row *r)
{
	char idx[24], **w;

	if (st->si_interfaces == NULL)
		return 1;
	snprintf(idx, sizeof(idx), "%lu", (unsigned long)r->r_index);
	for (w = st->si_interfaces; *w != NULL; w++)
		if (strcmp(*w, r->r_name) == 0 || strcmp(*w, r->r_descr) == 0 ||
		    strcmp(*w, idx) == 0)
			return 1;
	return 0;
}

static struct if_row *
if_find(struct if_row *rows, size_t n, oid index)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (rows[i].r_index == index)
			return &rows[i];
	return NULL;
}

/* Puts the walked columns together into rows by ifIndex. */
static size_t
if_rows(struct snmp_if_state *st, const struct snmpc_val *vals, size_t nvals,
        struct if_row **out, uint64_t *uptime, int *have_uptime)
{
	struct if_row *rows = NULL, *r;
	size_t n = 0, i;
	int c;

	*have_uptime = 0;
	for (i = 0; i < nvals; i++) {
		const struct snmpc_val *v = &vals[i];
		if (v->v_len == st->si_uptime_len[0] &&
		    snmp_oid_compare(v->v_name, v->v_len, st->si_uptime[0],
		                     st->si_uptime_len[0]) == 0) {
			*uptime = v->v_u64;
			*have_uptime = 1;
			continue;
		}
		for (c = 0; c < COL_N; c++)
			if (v->v_len == st->si_col_lens[c] + 1 &&
			    snmp_oid_compare(v->v_name, st->si_col_lens[c],
			                     st->si_cols[c],
			                     st->si_col_lens[c]) == 0)
				break;
		if (c == COL_N)
			continue;
		oid index = snmpc_row(v, st->si_col_lens[c]);
		if ((r = if_find(rows, n, index)) == NULL) {
			rows = xrealloc(rows, (n + 1) * sizeof(*rows));
			r = &rows[n++];
			memset(r, 0, sizeof(*r));
			r->r_index = index;
		}
		switch (c) {
		case COL_DESCR:
			snprintf(r->r_descr, sizeof(r->r_descr), "%s",
			         v->v_str);
			break;
		case COL_NAME:
			/* A longer ifName is cut; the index tells rows apart.
			 */
			snprintf(r->r_name, sizeof(r->r_name), "%.*s",
			         (int)sizeof(r->r_name) - 1, v->v_str);
			break;
		case COL_OPER:
			r->r_oper = (int)v->v_i64;
			break;
		case COL_IN_ERRORS:
		case COL_OUT_ERRORS:
			r->r_errors += v->v_u64;
			break;
		case COL_IN_DISCARDS:
		case COL_OUT_DISCARDS:
			r->r_discards += v->v_u64;
			break;
		case COL_HC_IN:
			r->r_in = v->v_u64;
			r->r_have_in = 1;
			break;
		case COL_HC_OUT:
			r->r_out = v->v_u64;
			r->r_have_out = 1;
			break;
		case COL_HIGH_SPEED:
			r->r_speed_mbps = v->v_u64;
			break;
		case COL_DISCONTINUITY:
			r->r_disc = v->v_u64;
			break;
		}
	}
	*out = rows;
	return n;
}

static void
probe_snmp_if_done(void *arg, int ok, const char *why,
                   const struct snmpc_val *vals, size_t nvals)
{
	struct probe *p = arg;
	struct snmp_if_state *st = p->pr_state;
	struct if_row *rows = NULL;
	int64_t now_us = p->pr_now_us;
	double mono = clock_mono_s(), dt;
	uint64_t uptime = 0;
	int have_uptime, restarted, found = 0;
	size_t n, i;

	p->pr_now_us = st->si_started_us;
	if (!ok) {
		snmpc_report(p, &st->si_failing, 0, why);
		p->pr_now_us = now_us;
		return;
	}
	n = if_rows(st, vals, nvals, &rows, &uptime, &have_uptime);
	snmpc_report(p, &st->si_failing, 1, NULL);
	/* The device restarted: its counters start again from zero. */
	restarted = !have_uptime || uptime < st->si_prev_uptime;
	dt = mono - st->si_prev_mono;
	for (i = 0; i < n; i++) {
		struct if_row *r = &rows[i], *pr;
		char inst[64];
		uint64_t din, dout, d;

		if (!if_wanted(st, r))
			continue;
		found = 1;
		snmpc_instance(r->r_name[0]    ? r->r_name
		               : r->r_descr[0] ? r->r_descr
		                               : "if",
		               inst, sizeof(inst));
		if (r->r_name[0] == '\0' && r->r_descr[0] == '\0')
			snprintf(inst, sizeof(inst), "if%lu",
			         (unsigned long)r->r_index);
		probe_sample(p, inst, "oper_up", r->r_oper == 1);
		pr = if_find(st->si_prev, st->si_nprev, r->r_index);
		if (pr == NULL || restarted || dt <= 0 ||
		    pr->r_disc != r->r_disc)
			continue;
		/* 64-bit counters do not wrap in practice: a decrease is a
		 * reset and gives no rate. */
		if (r->r_have_in && r->r_have_out && r->r_in >= pr->r_in &&
		    r->r_out >= pr->r_out) {
			double capacity = st->si_capacity_bps
			                      ? (double)st->si_capacity_bps
			                      : r->r_speed_mbps * 1e6;
			din = r->r_in - pr->r_in;
			dout = r->r_out - pr->r_out;
			probe_sample(p, inst, "in_bps", din * 8.0 / dt);
			probe_sample(p, inst, "out_bps", dout * 8.0 / dt);
			if (capacity > 0)
				probe_sample(p, inst, "util_pct",
				             100.0 * (din > dout ? din : dout) *
				                 8.0 / dt / capacity);
		}
		if (counter_delta(pr->r_errors, r->r_errors, &d))
			probe_sample(p, inst, "errors", (double)d);
		if (counter_delta(pr->r_discards, r->r_discards, &d))
			probe_sample(p, inst, "discards", (double)d);
	}
	log_debug("probe %s: %zu values, %zu rows", p->pr_name, nvals, n);
	if (found)
		st->si_missing_logged = 0;
	if (!found && !st->si_missing_logged++)
		log_warnx("probe %s: no interface on %s matches the config",
		          p->pr_name, st->si_conf.sc_target);
	free(st->si_prev);
	st->si_prev = rows;
	st->si_nprev = n;
	st->si_prev_uptime = uptime;
	st->si_prev_mono = mono;
	p->pr_now_us = now_us;
}

static void
probe_snmp_if_run(struct probe *p)
{
	struct snmp_if_state *st = p->pr_state;

	if (st->si_snmp == NULL)
		st->si_snmp = snmpc_new(p->pr_base, &st->si_conf);
	if (snmpc_busy(st->si_snmp))
		return; /* a slow device: the poll in flight goes on */
	st->si_started_us = p->pr_now_us;
	snmpc_poll(st->si_snmp, (const oid(*)[MAX_OID_LEN])st->si_uptime,
	           st->si_uptime_len, 1, (const oid(*)[MAX_OID_LEN])st->si_cols,
	           st->si_col_lens, COL_N, probe_snmp_if_done, p);
}

static void
probe_snmp_if_free(struct probe *p)
{
	struct snmp_if_state *st = p->pr_state;

	if (st == NULL)
		return;
	snmpc_free(st->si_snmp);
	snmpc_conf_free(&st->si_conf);
	yconf_strlist_free(st->si_interfaces);
	free(st->si_prev);
	free(st);
}

const struct probe_type probe_type_snmp_if = {
    .pt_name = "snmp_if",
    .pt_keys = probe_snmp_if_keys,
    .pt_configure = probe_snmp_if_configure,
    .pt_run = probe_snmp_if_run,
    .pt_free = probe_snmp_if_free,
};
