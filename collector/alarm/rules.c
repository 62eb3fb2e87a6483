#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "watchstand/xalloc.h"
#include "alarm/rules.h"

const char *const severity_names[SEV_N] = {"info", "warning", "minor", "major",
                                           "critical"};

static const char *const op_names[] = {"<", "<=", ">", ">=", "==", "!="};

int
severity_parse(const char *s)
{
	int i;

	for (i = 0; i < SEV_N; i++)
		if (strcmp(severity_names[i], s) == 0)
			return i;
	return -1;
}

/* "< 1", ">=90", "== 0" */
int
rule_parse_when(const char *s, enum rule_op *op, double *v)
{
	static const char *const ops[] = {"<=", ">=", "==", "!=", "<", ">"};
	static const enum rule_op codes[] = {OP_LE, OP_GE, OP_EQ,
	                                     OP_NE, OP_LT, OP_GT};
	char *end;
	size_t i;

	while (*s == ' ')
		s++;
	for (i = 0; i < 6; i++)
		if (strncmp(s, ops[i], strlen(ops[i])) == 0)
			break;
	if (i == 6)
		return -1;
	*op = codes[i];
	s += strlen(ops[i]);
	*v = strtod(s, &end);
	if (end == s || !isfinite(*v))
		return -1;
	while (*end == ' ')
		end++;
	return *end == '\0' ? 0 : -1;
}

static int
rule_parse_number(const char *s, double *v)
{
	char *end;

	*v = strtod(s, &end);
	return end != s && *end == '\0' && isfinite(*v) ? 0 : -1;
}

/* Levels must not overlap: a more severe level in the same direction must
 * be stricter, or the less severe one could never be told apart. */
static void
rule_check_levels(struct yconf *yc, yaml_node_t *levels, const struct rule *r,
                  const char *path)
{
	size_t i, j;

	for (i = 0; i < r->r_nlevels; i++)
		for (j = 0; j < r->r_nlevels; j++) {
			const struct rule_level *a = &r->r_levels[i],
			                        *b = &r->r_levels[j];
			int up_a = a->rl_op == OP_GT || a->rl_op == OP_GE;
			int up_b = b->rl_op == OP_GT || b->rl_op == OP_GE;
			int dn_a = a->rl_op == OP_LT || a->rl_op == OP_LE;
			int dn_b = b->rl_op == OP_LT || b->rl_op == OP_LE;
			int bad = 0;

			if (i == j)
				continue;
			if (a->rl_severity == b->rl_severity && i < j)
				bad = (up_a && up_b) || (dn_a && dn_b) ||
				      (a->rl_op == b->rl_op &&
				       a->rl_threshold == b->rl_threshold);
			else if (a->rl_severity > b->rl_severity)
				bad = (up_a && up_b &&
				       a->rl_threshold <= b->rl_threshold) ||
				      (dn_a && dn_b &&
				       a->rl_threshold >= b->rl_threshold) ||
				      (a->rl_op == b->rl_op &&
				       a->rl_threshold == b->rl_threshold);
			if (bad)
				yconf_error(
				    yc,
				    yconf_node(
				        yc,
				        levels->data.sequence.items.start[i]),
				    "%s.levels[%zu]: overlaps levels[%zu] (%s "
				    "%s "
				    "%g against %s %s %g): the less severe one "
				    "can never be told apart",
				    path, i, j, severity_names[a->rl_severity],
				    op_names[a->rl_op], a->rl_threshold,
				    severity_names[b->rl_severity],
				    op_names[b->rl_op], b->rl_threshold);
		}
}

static void
rule_configure_one(struct rule *r, struct yconf *yc, yaml_node_t *node,
                   const char *path, int (*phase_known)(void *, const char *),
                   void *arg)
{
	static const char *const keys[] = {"name",
	                                   "match",
	                                   "levels",
	                                   "for",
	                                   "clear",
	                                   "stale_after",
	                                   "severity_by_phase",
	                                   "suppress_in",
	                                   "description",
	                                   "runbook",
	                                   NULL};
	static const char *const mkeys[] = {"host", "role", "series", NULL};
	static const char *const lkeys[] = {"when", "severity", "clear", NULL};
	yaml_node_t *m, *levels, *byp;
	yaml_node_item_t *it;
	yaml_node_pair_t *pair;
	char sub[256], *rule_clear = NULL;
	double clear_all = NAN;
	uint64_t ms;
	size_t i;

	yconf_check_keys(yc, node, path, keys);
	yconf_str(yc, node, path, "name", 1, &r->r_name);
	yconf_str(yc, node, path, "description", 0, &r->r_description);
	yconf_str(yc, node, path, "runbook", 0, &r->r_runbook);
	if (yconf_duration(yc, node, path, "for", 0, &ms) == 1)
		r->r_for_ms = (int64_t)ms;
	if (yconf_duration(yc, node, path, "stale_after", 0, &ms) == 1)
		r->r_stale_ms = (int64_t)ms;
	if (yconf_str(yc, node, path, "clear", 0, &rule_clear) == 1 &&
	    rule_parse_number(rule_clear, &clear_all) == -1)
		yconf_error(yc, yconf_get(yc, node, "clear"),
		            "%s.clear: expected a number, got '%s'", path,
		            rule_clear);
	free(rule_clear);
	yconf_path(sub, sizeof(sub), path, "match");
	m = yconf_get(yc, node, "match");
	if (m == NULL || !yconf_is_map(m))
		yconf_error(yc, m ? m : node,
		            "%s: expected {host, role, series} (globs)", sub);
	else {
		yconf_check_keys(yc, m, sub, mkeys);
		yconf_str(yc, m, sub, "host", 0, &r->r_host);
		yconf_str(yc, m, sub, "role", 0, &r->r_role);
		yconf_str(yc, m, sub, "series", 1, &r->r_series);
	}
	yconf_path(sub, sizeof(sub), path, "levels");
	levels = yconf_get(yc, node, "levels");
	if (levels == NULL || !yconf_is_seq(levels) ||
	    levels->data.sequence.items.top ==
	        levels->data.sequence.items.start) {
		yconf_error(yc, levels ? levels : node,
		            "%s: expected a list of {when, severity}", sub);
	} else {
		r->r_levels = xcalloc(levels->data.sequence.items.top -
		                         levels->data.sequence.items.start,
		                     sizeof(*r->r_levels));
		for (it = levels->data.sequence.items.start;
		     it < levels->data.sequence.items.top; it++) {
			yaml_node_t *ln = yconf_node(yc, *it);
			struct rule_level *l = &r->r_levels[r->r_nlevels];
			char lpath[300], *when = NULL, *sev = NULL,
			                 *clear = NULL;

			snprintf(lpath, sizeof(lpath), "%s[%zu]", sub,
			         r->r_nlevels);
			r->r_nlevels++;
			if (!yconf_is_map(ln)) {
				yconf_error(yc, ln,
				            "%s: expected {when, "
				            "severity}",
				            lpath);
				continue;
			}
			yconf_check_keys(yc, ln, lpath, lkeys);
			if (yconf_str(yc, ln, lpath, "when", 1, &when) == 1 &&
			    rule_parse_when(when, &l->rl_op,
			                    &l->rl_threshold) == -1)
				yconf_error(
				    yc, yconf_get(yc, ln, "when"),
				    "%s.when: expected an operator (< <= "
				    "> >= == !=) and a number, got '%s'",
				    lpath, when);
			if (yconf_str(yc, ln, lpath, "severity", 1, &sev) ==
			        1 &&
			    (int)(l->rl_severity = severity_parse(sev)) < 0)
				yconf_error(
				    yc, yconf_get(yc, ln, "severity"),
				    "%s.severity: expected info, warning, "
				    "minor, major or critical, got '%s'",
				    lpath, sev);
			l->rl_clear =
			    isnan(clear_all) ? l->rl_threshold : clear_all;
			if (yconf_str(yc, ln, lpath, "clear", 0, &clear) == 1 &&
			    rule_parse_number(clear, &l->rl_clear) == -1)
				yconf_error(yc, yconf_get(yc, ln, "clear"),
				            "%s.clear: expected a number",
				            lpath);
			/* A clear value on the wrong side gives no hysteresis,
			 * it flaps: refuse it. */
			if (((l->rl_op == OP_LT || l->rl_op == OP_LE) &&
			     l->rl_clear < l->rl_threshold) ||
			    ((l->rl_op == OP_GT || l->rl_op == OP_GE) &&
			     l->rl_clear > l->rl_threshold))
				yconf_error(
				    yc, ln,
				    "%s: clear %g is on the wrong side of "
				    "the threshold %g",
				    lpath, l->rl_clear, l->rl_threshold);
			free(when);
			free(sev);
			free(clear);
		}
		rule_check_levels(yc, levels, r, path);
	}
	yconf_path(sub, sizeof(sub), path, "severity_by_phase");
	byp = yconf_get(yc, node, "severity_by_phase");
	if (byp != NULL && !yconf_is_map(byp))
		yconf_error(yc, byp, "%s: expected {phase: severity}", sub);
	else if (byp != NULL) {
		r->r_by_phase = xcalloc(byp->data.mapping.pairs.top -
		                           byp->data.mapping.pairs.start,
		                       sizeof(*r->r_by_phase));
		for (pair = byp->data.mapping.pairs.start;
		     pair < byp->data.mapping.pairs.top; pair++) {
			yaml_node_t *kn = yconf_node(yc, pair->key);
			yaml_node_t *vn = yconf_node(yc, pair->value);
			const char *ph = yconf_scalar(kn),
			           *sv = yconf_scalar(vn);
			int sev = sv ? severity_parse(sv) : -1;

			if (ph == NULL || !phase_known(arg, ph)) {
				yconf_error(yc, kn,
				            "%s: unknown phase '%s' (not "
				            "in the calendar)",
				            sub, ph ? ph : "");
				continue;
			}
			if (sev < 0) {
				yconf_error(yc, vn,
				            "%s.%s: unknown severity '%s'", sub,
				            ph, sv ? sv : "");
				continue;
			}
			r->r_by_phase[r->r_nby_phase].rps_phase = xstrdup(ph);
			r->r_by_phase[r->r_nby_phase++].rps_severity = sev;
		}
	}
	if (yconf_strlist(yc, node, path, "suppress_in", 0, &r->r_suppress_in,
	                  NULL) == 1) {
		yaml_node_t *list = yconf_get(yc, node, "suppress_in");
		for (i = 0; r->r_suppress_in[i] != NULL; i++)
			if (!phase_known(arg, r->r_suppress_in[i]))
				yconf_error(
				    yc,
				    yconf_node(
				        yc, list->data.sequence.items.start[i]),
				    "%s.suppress_in[%zu]: unknown phase '%s' "
				    "(not "
				    "in the calendar)",
				    path, i, r->r_suppress_in[i]);
	}
}

int
rules_configure(struct rules_conf *rc, struct yconf *yc, yaml_node_t *node,
                int (*phase_known)(void *, const char *), void *arg)
{
	int errors = yc->yc_errors;
	yaml_node_item_t *it;
	size_t n, i;

	memset(rc, 0, sizeof(*rc));
	rc->rc_chatter_count = 3;
	rc->rc_chatter_window = 60000;
	if (node == NULL)
		return 0;
	if (!yconf_is_seq(node)) {
		yconf_error(yc, node, "rules: expected a list");
		return -1;
	}
	n = node->data.sequence.items.top - node->data.sequence.items.start;
	rc->rc_rules = xcalloc(n + 1, sizeof(*rc->rc_rules));
	for (it = node->data.sequence.items.start;
	     it < node->data.sequence.items.top; it++) {
		yaml_node_t *rn = yconf_node(yc, *it);
		struct rule *r = &rc->rc_rules[rc->rc_n];
		char path[64];

		snprintf(path, sizeof(path), "rules[%zu]", rc->rc_n);
		rc->rc_n++;
		if (!yconf_is_map(rn)) {
			yconf_error(yc, rn, "%s: expected a mapping", path);
			continue;
		}
		rule_configure_one(r, yc, rn, path, phase_known, arg);
		for (i = 0; r->r_name != NULL && i + 1 < rc->rc_n; i++)
			if (rc->rc_rules[i].r_name != NULL &&
			    strcmp(rc->rc_rules[i].r_name, r->r_name) == 0)
				yconf_error(yc, yconf_get(yc, rn, "name"),
				            "%s.name: rule '%s' is already "
				            "defined",
				            path, r->r_name);
	}
	return yc->yc_errors > errors ? -1 : 0;
}

void
rules_conf_free(struct rules_conf *rc)
{
	size_t i, j;

	for (i = 0; i < rc->rc_n; i++) {
		struct rule *r = &rc->rc_rules[i];
		free(r->r_name);
		free(r->r_host);
		free(r->r_role);
		free(r->r_series);
		free(r->r_levels);
		for (j = 0; j < r->r_nby_phase; j++)
			free(r->r_by_phase[j].rps_phase);
		free(r->r_by_phase);
		yconf_strlist_free(r->r_suppress_in);
		free(r->r_description);
		free(r->r_runbook);
	}
	free(rc->rc_rules);
	memset(rc, 0, sizeof(*rc));
}

int
rule_matches(const struct rule *r, const char *host, const char *role,
             const char *series)
{
	return (r->r_host == NULL || fnmatch(r->r_host, host, 0) == 0) &&
	       (r->r_role == NULL || fnmatch(r->r_role, role, 0) == 0) &&
	       r->r_series != NULL && fnmatch(r->r_series, series, 0) == 0;
}

void
rule_state_init(struct rule_state *st)
{
	memset(st, 0, sizeof(*st));
	st->rs_level = RULE_NONE;
	st->rs_pending = RULE_NONE;
}

static int
level_holds(const struct rule_level *l, double v, int active)
{
	double t = active ? l->rl_clear : l->rl_threshold;

	switch (l->rl_op) {
	case OP_LT:
		return v < t;
	case OP_LE:
		return v <= t;
	case OP_GT:
		return v > t;
	case OP_GE:
		return v >= t;
	case OP_EQ:
		return v == l->rl_threshold;
	case OP_NE:
		return v != l->rl_threshold;
	}
	return 0;
}

static enum severity
level_severity(const struct rule *r, int level)
{
	enum severity s = SEV_INFO;
	size_t i;

	if (level >= 0)
		return r->r_levels[level].rl_severity;
	/* No data is as grave as the worst the rule knows. */
	for (i = 0; i < r->r_nlevels; i++)
		if (r->r_levels[i].rl_severity > s)
			s = r->r_levels[i].rl_severity;
	return s;
}

enum severity
rule_severity(const struct rule *r, int level, const char *phase)
{
	size_t i;

	for (i = 0; phase != NULL && i < r->r_nby_phase; i++)
		if (strcmp(r->r_by_phase[i].rps_phase, phase) == 0)
			return r->r_by_phase[i].rps_severity;
	return level_severity(r, level);
}

int
rule_suppressed(const struct rule *r, const char *phase)
{
	char **p;

	for (p = r->r_suppress_in; phase != NULL && p != NULL && *p != NULL;
	     p++)
		if (strcmp(*p, phase) == 0)
			return 1;
	return 0;
}

static void
rule_apply(const struct rules_conf *rc, const struct rule *r,
           struct rule_state *st, int level, int64_t now_ms, const char *phase,
           struct rule_outcome *out)
{
	unsigned i, n;

	memset(out, 0, sizeof(*out));
	out->ro_from = st->rs_level;
	out->ro_level = level;
	out->ro_value = st->rs_value;
	if (level == RULE_NONE)
		out->ro_what = RT_CLEAR;
	else if (st->rs_level == RULE_NONE) {
		out->ro_what = RT_RAISE;
		st->rs_activations[st->rs_nact++ % RULE_CHATTER_MAX] = now_ms;
	} else
		out->ro_what = RT_CHANGE;
	if (level != RULE_NONE)
		out->ro_severity = rule_severity(r, level, phase);
	out->ro_suppressed = rule_suppressed(r, phase);
	for (i = 0, n = 0; i < RULE_CHATTER_MAX && i < st->rs_nact; i++)
		if (now_ms - st->rs_activations[i] <= rc->rc_chatter_window)
			n++;
	out->ro_chattering = (int)n >= rc->rc_chatter_count;
	st->rs_level = level;
	st->rs_pending = RULE_NONE;
}

int
rule_eval(const struct rules_conf *rc, const struct rule *r,
          struct rule_state *st, double value, int64_t now_ms,
          const char *phase, struct rule_outcome *out)
{
	int best = RULE_NONE, cur = st->rs_level;
	size_t i;

	st->rs_last_sample = now_ms;
	st->rs_value = value;
	for (i = 0; i < r->r_nlevels; i++)
		if (level_holds(&r->r_levels[i], value, (int)i == cur) &&
		    (best == RULE_NONE || r->r_levels[i].rl_severity >
		                              r->r_levels[best].rl_severity))
			best = (int)i;
	if (best == cur) {
		st->rs_pending = RULE_NONE;
		return 0;
	}
	/* Data again after none, back to normal, or calmer: at once. */
	if (cur == RULE_STALE || best == RULE_NONE ||
	    (cur != RULE_NONE &&
	     r->r_levels[best].rl_severity < r->r_levels[cur].rl_severity)) {
		rule_apply(rc, r, st, best, now_ms, phase, out);
		return 1;
	}
	/* Worse: it must hold for `for` first. */
	if (st->rs_pending != best) {
		st->rs_pending = best;
		st->rs_pending_since = now_ms;
	}
	if (now_ms - st->rs_pending_since >= r->r_for_ms) {
		rule_apply(rc, r, st, best, now_ms, phase, out);
		return 1;
	}
	return 0;
}

int
rule_tick(const struct rules_conf *rc, const struct rule *r,
          struct rule_state *st, int64_t now_ms, const char *phase,
          struct rule_outcome *out)
{
	if (st->rs_pending != RULE_NONE &&
	    now_ms - st->rs_pending_since >= r->r_for_ms) {
		rule_apply(rc, r, st, st->rs_pending, now_ms, phase, out);
		return 1;
	}
	if (r->r_stale_ms > 0 && st->rs_level != RULE_STALE &&
	    now_ms - st->rs_last_sample >= r->r_stale_ms) {
		rule_apply(rc, r, st, RULE_STALE, now_ms, phase, out);
		return 1;
	}
	return 0;
}

/* ---- the engine ---- */

struct rules_inst {
	const struct rule *ri_rule;
	struct rule_state ri_state;
};

struct rules_series {
	UT_hash_handle hh;
	struct rules_inst *rs_insts;
	size_t rs_ninsts;
	const char *rs_host; /* NUL-terminated copies for callbacks */
	const char *rs_series;
	const char *rs_role; /* to match rules added by a reload */
	char rs_key[];       /* "host\1series", "host\0series\0", "role\0" */
};

/* Rules whose series pattern has no glob characters, by that name. */
struct rules_literal {
	UT_hash_handle hh;
	size_t rl_n;
	const struct rule **rl_rules;
	char rl_series[];
};

struct rules_engine {
	const struct rules_conf *re_conf;
	struct rules_series *re_map;
	struct rules_literal *re_literal;
	const struct rule **re_globs; /* the other rules */
	size_t re_nglobs;
	char *re_key;
	size_t re_keycap;
};

/* Literal series names are looked up, only globs are matched one by
 * one, so a new series costs little even with many rules. */
static void
rules_engine_index(struct rules_engine *re, const struct rules_conf *rc)
{
	size_t i;

	re->re_conf = rc;
	re->re_globs = xcalloc(rc->rc_n + 1, sizeof(*re->re_globs));
	re->re_nglobs = 0;
	for (i = 0; i < rc->rc_n; i++) {
		const struct rule *r = &rc->rc_rules[i];
		struct rules_literal *l;
		size_t n;

		if (r->r_series == NULL)
			continue;
		if (strpbrk(r->r_series, "*?[\\") != NULL) {
			re->re_globs[re->re_nglobs++] = r;
			continue;
		}
		n = strlen(r->r_series);
		HASH_FIND(hh, re->re_literal, r->r_series, n, l);
		if (l == NULL) {
			l = xcalloc(1, sizeof(*l) + n + 1);
			memcpy(l->rl_series, r->r_series, n + 1);
			HASH_ADD(hh, re->re_literal, rl_series[0], n, l);
		}
		l->rl_rules =
		    xrealloc(l->rl_rules, (l->rl_n + 1) * sizeof(*l->rl_rules));
		l->rl_rules[l->rl_n++] = r;
	}
}

static void
rules_engine_unindex(struct rules_engine *re)
{
	struct rules_literal *l, *ltmp;

	HASH_ITER(hh, re->re_literal, l, ltmp)
	{
		HASH_DEL(re->re_literal, l);
		free(l->rl_rules);
		free(l);
	}
	free(re->re_globs);
	re->re_globs = NULL;
	re->re_nglobs = 0;
}

struct rules_engine *
rules_engine_new(const struct rules_conf *rc)
{
	struct rules_engine *re = xcalloc(1, sizeof(*re));

	rules_engine_index(re, rc);
	return re;
}

void
rules_engine_free(struct rules_engine *re)
{
	struct rules_series *s, *tmp;

	if (re == NULL)
		return;
	HASH_ITER(hh, re->re_map, s, tmp)
	{
		HASH_DEL(re->re_map, s);
		free(s->rs_insts);
		free(s);
	}
	rules_engine_unindex(re);
	free(re->re_key);
	free(re);
}

size_t
rules_engine_series(struct rules_engine *re)
{
	return HASH_COUNT(re->re_map);
}

static void
rules_engine_attach(struct rules_series *s, const struct rule *r)
{
	if (!rule_matches(r, s->rs_host, s->rs_role, s->rs_series))
		return;
	s->rs_insts =
	    xrealloc(s->rs_insts, (s->rs_ninsts + 1) * sizeof(*s->rs_insts));
	s->rs_insts[s->rs_ninsts].ri_rule = r;
	rule_state_init(&s->rs_insts[s->rs_ninsts++].ri_state);
}

/* The series' rules, from the engine's index. */
static void
rules_engine_attach_all(struct rules_engine *re, struct rules_series *s)
{
	struct rules_literal *lit;
	size_t i;

	HASH_FIND(hh, re->re_literal, s->rs_series, strlen(s->rs_series), lit);
	for (i = 0; lit != NULL && i < lit->rl_n; i++)
		rules_engine_attach(s, lit->rl_rules[i]);
	for (i = 0; i < re->re_nglobs; i++)
		rules_engine_attach(s, re->re_globs[i]);
}

/* The rules of a series, found once and cached. */
static struct rules_series *
rules_engine_find(struct rules_engine *re, const char *host, const char *role,
                  const char *series, size_t series_len)
{
	size_t hlen = strlen(host), klen = hlen + 1 + series_len,
	       rlen = strlen(role);
	struct rules_series *s;

	if (klen + 1 > re->re_keycap) {
		re->re_keycap = klen + 64;
		re->re_key = xrealloc(re->re_key, re->re_keycap);
	}
	memcpy(re->re_key, host, hlen);
	re->re_key[hlen] = '\1';
	memcpy(re->re_key + hlen + 1, series, series_len);
	re->re_key[klen] = '\0';
	HASH_FIND(hh, re->re_map, re->re_key, klen, s);
	if (s != NULL)
		return s;
	s = xcalloc(1, sizeof(*s) + 2 * (klen + 1) + rlen + 1);
	memcpy(s->rs_key, re->re_key, klen + 1);
	memcpy(s->rs_key + klen + 1, re->re_key, klen + 1);
	s->rs_key[klen + 1 + hlen] = '\0';
	s->rs_host = s->rs_key + klen + 1;
	s->rs_series = s->rs_host + hlen + 1;
	s->rs_role = s->rs_key + 2 * (klen + 1);
	memcpy(s->rs_key + 2 * (klen + 1), role, rlen + 1);
	rules_engine_attach_all(re, s);
	HASH_ADD_KEYPTR(hh, re->re_map, s->rs_key, klen, s);
	return s;
}

void
rules_engine_sample(struct rules_engine *re, const char *host, const char *role,
                    const char *series, size_t series_len, double value,
                    int64_t now_ms, const char *phase, rules_fn fn, void *arg)
{
	struct rules_series *s =
	    rules_engine_find(re, host, role, series, series_len);
	struct rule_outcome o;
	size_t i;

	for (i = 0; i < s->rs_ninsts; i++) {
		struct rules_inst *ri = &s->rs_insts[i];
		if (rule_eval(re->re_conf, ri->ri_rule, &ri->ri_state, value,
		              now_ms, phase, &o))
			fn(arg, ri->ri_rule, s->rs_host, s->rs_series, &o);
	}
}

void
rules_engine_tick(struct rules_engine *re, int64_t now_ms, const char *phase,
                  rules_fn fn, void *arg)
{
	struct rules_series *s, *tmp;
	struct rule_outcome o;
	size_t i;

	HASH_ITER(hh, re->re_map, s, tmp)
	{
		for (i = 0; i < s->rs_ninsts; i++) {
			struct rules_inst *ri = &s->rs_insts[i];
			if (rule_tick(re->re_conf, ri->ri_rule, &ri->ri_state,
			              now_ms, phase, &o))
				fn(arg, ri->ri_rule, s->rs_host, s->rs_series,
				   &o);
		}
	}
}

void
rules_engine_adopt(struct rules_engine *re, const char *rule, const char *host,
                   const char *role, const char *series, int severity,
                   const char *phase, int64_t now_ms)
{
	struct rules_series *s =
	    rules_engine_find(re, host, role, series, strlen(series));
	size_t i;
	int l, level;

	for (i = 0; i < s->rs_ninsts; i++) {
		struct rules_inst *ri = &s->rs_insts[i];
		const struct rule *r = ri->ri_rule;
		if (strcmp(r->r_name, rule) != 0 || r->r_nlevels == 0)
			continue;
		/* The level that gave this severity, else the first. */
		for (level = 0, l = 0; l < (int)r->r_nlevels; l++)
			if ((int)rule_severity(r, l, phase) == severity)
				level = l;
		if (ri->ri_state.rs_level == RULE_NONE) {
			ri->ri_state.rs_level = level;
			ri->ri_state.rs_last_sample = now_ms;
		}
	}
}

void
rules_engine_forget(struct rules_engine *re)
{
	struct rules_series *s, *tmp;

	HASH_ITER(hh, re->re_map, s, tmp)
	{
		HASH_DEL(re->re_map, s);
		free(s->rs_insts);
		free(s);
	}
}

void
rules_engine_forget_host(struct rules_engine *re, const char *host)
{
	struct rules_series *s, *tmp;

	HASH_ITER(hh, re->re_map, s, tmp)
	{
		if (strcmp(s->rs_host, host) != 0)
			continue;
		HASH_DEL(re->re_map, s);
		free(s->rs_insts);
		free(s);
	}
}

/* ---- reload ---- */

static int
str_same(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int
strlist_same(char **a, char **b)
{
	size_t i;

	if (a == NULL || b == NULL)
		return a == b;
	for (i = 0; a[i] != NULL && b[i] != NULL; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return a[i] == NULL && b[i] == NULL;
}

int
rule_same(const struct rule *a, const struct rule *b)
{
	size_t i;

	if (!str_same(a->r_name, b->r_name) ||
	    !str_same(a->r_host, b->r_host) ||
	    !str_same(a->r_role, b->r_role) ||
	    !str_same(a->r_series, b->r_series) ||
	    a->r_nlevels != b->r_nlevels || a->r_for_ms != b->r_for_ms ||
	    a->r_stale_ms != b->r_stale_ms)
		return 0;
	for (i = 0; i < a->r_nlevels; i++) {
		const struct rule_level *x = &a->r_levels[i],
		                        *y = &b->r_levels[i];
		if (x->rl_op != y->rl_op ||
		    x->rl_threshold != y->rl_threshold ||
		    x->rl_clear != y->rl_clear ||
		    x->rl_severity != y->rl_severity)
			return 0;
	}
	return 1;
}

int
rule_identical(const struct rule *a, const struct rule *b)
{
	size_t i;

	if (!rule_same(a, b) || a->r_nby_phase != b->r_nby_phase ||
	    !strlist_same(a->r_suppress_in, b->r_suppress_in) ||
	    !str_same(a->r_description, b->r_description) ||
	    !str_same(a->r_runbook, b->r_runbook))
		return 0;
	for (i = 0; i < a->r_nby_phase; i++)
		if (strcmp(a->r_by_phase[i].rps_phase,
		           b->r_by_phase[i].rps_phase) != 0 ||
		    a->r_by_phase[i].rps_severity !=
		        b->r_by_phase[i].rps_severity)
			return 0;
	return 1;
}

static const struct rule *
rules_by_name(const struct rules_conf *rc, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < rc->rc_n; i++)
		if (str_same(rc->rc_rules[i].r_name, name))
			return &rc->rc_rules[i];
	return NULL;
}

void
rules_diff(const struct rules_conf *from, const struct rules_conf *to,
           struct rules_diff *d)
{
	size_t i;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < to->rc_n; i++) {
		const struct rule *old =
		    rules_by_name(from, to->rc_rules[i].r_name);
		if (old == NULL)
			d->rd_added++;
		else if (!rule_identical(old, &to->rc_rules[i]))
			d->rd_changed++;
	}
	for (i = 0; i < from->rc_n; i++)
		if (rules_by_name(to, from->rc_rules[i].r_name) == NULL)
			d->rd_removed++;
}

size_t
rules_engine_reconfigure(struct rules_engine *re, const struct rules_conf *rc,
                         rules_fn fn, void *arg)
{
	struct rules_series *s, *tmp;
	size_t dropped = 0, i, j;

	rules_engine_unindex(re);
	rules_engine_index(re, rc);
	HASH_ITER(hh, re->re_map, s, tmp)
	{
		struct rules_inst *old = s->rs_insts;
		size_t nold = s->rs_ninsts;
		char *kept = xcalloc(nold + 1, 1);

		s->rs_insts = NULL;
		s->rs_ninsts = 0;
		rules_engine_attach_all(re, s);
		/* The new rules take over the state of their old selves. */
		for (i = 0; i < s->rs_ninsts; i++)
			for (j = 0; j < nold; j++)
				if (!kept[j] &&
				    rule_same(old[j].ri_rule,
				              s->rs_insts[i].ri_rule)) {
					s->rs_insts[i].ri_state =
					    old[j].ri_state;
					kept[j] = 1;
					break;
				}
		for (j = 0; j < nold; j++) {
			struct rule_outcome o;
			if (kept[j])
				continue;
			dropped++;
			if (old[j].ri_state.rs_level == RULE_NONE)
				continue;
			memset(&o, 0, sizeof(o));
			o.ro_what = RT_CLEAR;
			o.ro_level = RULE_NONE;
			o.ro_from = old[j].ri_state.rs_level;
			o.ro_value = old[j].ri_state.rs_value;
			o.ro_reload = 1;
			if (fn != NULL)
				fn(arg, old[j].ri_rule, s->rs_host,
				   s->rs_series, &o);
		}
		free(kept);
		free(old);
	}
	return dropped;
}
