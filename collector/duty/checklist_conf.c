/* collector.yaml `checklists:`: parsed, validated, the DAG resolved and
 * ordered, shutdowns built from their startups (reverse_of). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watchstand/xalloc.h"
#include "duty/checklist_conf.h"

const char *const checklist_kind_names[CK_N] = {"startup", "shutdown", "check",
                                                "procedure", "change"};

/* "within 10%" (or "within 2.5 %"): 0 with *pct, -1 if malformed. */
static int
parse_within_pct(const char *s, double *pct)
{
	char *end;

	while (*s == ' ')
		s++;
	if (strncmp(s, "within", 6) != 0 || (s[6] != ' '))
		return -1;
	s += 6;
	*pct = strtod(s, &end);
	if (end == s || !isfinite(*pct) || *pct < 0)
		return -1;
	while (*end == ' ')
		end++;
	if (*end != '%')
		return -1;
	end++;
	while (*end == ' ')
		end++;
	return *end == '\0' ? 0 : -1;
}

/* verify: {series, when | vs_baseline, within}. with_action: within is
 * required (how long may the action take to show). */
static void
conf_verify(struct yconf *yc, yaml_node_t *map, const char *prefix,
            int with_action, struct checklist_verify *v)
{
	static const char *const keys[] = {"series", "when", "vs_baseline",
	                                   "within", NULL};
	yaml_node_t *n = yconf_get(yc, map, "verify");
	char path[300], *when = NULL, *vsb = NULL;
	uint64_t ms;

	if (n == NULL)
		return;
	yconf_path(path, sizeof(path), prefix, "verify");
	if (!yconf_is_map(n)) {
		yconf_error(yc, n, "%s: expected {series, when, within}", path);
		return;
	}
	yconf_check_keys(yc, n, path, keys);
	yconf_str(yc, n, path, "series", 1, &v->cv_series);
	yconf_str(yc, n, path, "when", 0, &when);
	yconf_str(yc, n, path, "vs_baseline", 0, &vsb);
	if (when != NULL && vsb != NULL)
		yconf_error(yc, yconf_get(yc, n, "vs_baseline"),
		            "%s: when or vs_baseline, not both", path);
	else if (when == NULL && vsb == NULL &&
	         yconf_get(yc, n, "when") == NULL &&
	         yconf_get(yc, n, "vs_baseline") == NULL)
		yconf_error(yc, n,
		            "%s: expected when (\">= 1\") or vs_baseline "
		            "(\"within 10%%\")",
		            path);
	if (when != NULL &&
	    rule_parse_when(when, &v->cv_op, &v->cv_threshold) == -1)
		yconf_error(yc, yconf_get(yc, n, "when"),
		            "%s.when: expected an operator (< <= > >= == !=) "
		            "and a number, got '%s'",
		            path, when);
	if (vsb != NULL) {
		v->cv_baseline = 1;
		if (parse_within_pct(vsb, &v->cv_pct) == -1)
			yconf_error(yc, yconf_get(yc, n, "vs_baseline"),
			            "%s.vs_baseline: expected \"within N%%\", "
			            "got '%s'",
			            path, vsb);
	}
	if (yconf_duration(yc, n, path, "within", 0, &ms) == 1)
		v->cv_within_ms = (int64_t)ms;
	else if (with_action && yconf_get(yc, n, "within") == NULL)
		yconf_error(yc, n,
		            "%s.within: required with an action (how long "
		            "the action may take to show)",
		            path);
	free(when);
	free(vsb);
}

/* stop: {action | manual, verify} */
static void
conf_stop(struct yconf *yc, yaml_node_t *map, const char *prefix,
          struct checklist_stop *st)
{
	static const char *const keys[] = {"action", "manual", "verify", NULL};
	yaml_node_t *n = yconf_get(yc, map, "stop");
	char path[300];

	if (n == NULL)
		return;
	yconf_path(path, sizeof(path), prefix, "stop");
	if (!yconf_is_map(n)) {
		yconf_error(yc, n, "%s: expected {action, verify}", path);
		return;
	}
	st->cst_present = 1;
	yconf_check_keys(yc, n, path, keys);
	yconf_str(yc, n, path, "action", 0, &st->cst_action);
	yconf_str(yc, n, path, "manual", 0, &st->cst_manual);
	conf_verify(yc, n, path, st->cst_action != NULL, &st->cst_verify);
	if (st->cst_action != NULL && st->cst_manual != NULL)
		yconf_error(yc, n,
		            "%s: an action or a manual instruction, not "
		            "both",
		            path);
	else if (st->cst_action == NULL && st->cst_manual == NULL &&
	         st->cst_verify.cv_series == NULL &&
	         yconf_get(yc, n, "verify") == NULL)
		yconf_error(yc, n,
		            "%s: expected an action, a manual instruction or a "
		            "verify",
		            path);
}

static void
conf_step(struct checklist *cl, struct checklist_step *s, struct yconf *yc,
          yaml_node_t *n, const char *path)
{
	static const char *const keys[] = {"name",   "host",       "action",
	                                   "manual", "after",      "verify",
	                                   "stop",   "two_person", NULL};
	int two;

	yconf_check_keys(yc, n, path, keys);
	yconf_str(yc, n, path, "name", 1, &s->cs_name);
	yconf_str(yc, n, path, "host", 0, &s->cs_host);
	yconf_str(yc, n, path, "action", 0, &s->cs_action);
	yconf_str(yc, n, path, "manual", 0, &s->cs_manual);
	yconf_strlist(yc, n, path, "after", 0, &s->cs_after, &s->cs_nafter);
	conf_verify(yc, n, path, s->cs_action != NULL, &s->cs_verify);
	conf_stop(yc, n, path, &s->cs_stop);
	/* The change itself is checked by a second person unless told. */
	s->cs_two_person = cl->cl_kind == CK_CHANGE &&
	                   (s->cs_action != NULL || s->cs_manual != NULL);
	if (yconf_bool(yc, n, path, "two_person", 0, &two) == 1)
		s->cs_two_person = two;

	if (s->cs_action != NULL && s->cs_manual != NULL)
		yconf_error(yc, n,
		            "%s: an action or a manual instruction, not both",
		            path);
	if (s->cs_action != NULL && s->cs_host == NULL)
		yconf_error(yc, n,
		            "%s: an action needs a host (the agent that "
		            "runs it)",
		            path);
	if (s->cs_verify.cv_series != NULL && s->cs_host == NULL &&
	    s->cs_action == NULL)
		yconf_error(yc, yconf_get(yc, n, "verify"),
		            "%s.verify: needs a host (whose series to watch)",
		            path);
	if (s->cs_stop.cst_present && s->cs_host == NULL &&
	    (s->cs_stop.cst_action != NULL ||
	     s->cs_stop.cst_verify.cv_series != NULL))
		yconf_error(yc, yconf_get(yc, n, "stop"),
		            "%s.stop: needs the step's host", path);
	if (s->cs_action == NULL && s->cs_manual == NULL &&
	    yconf_get(yc, n, "verify") == NULL &&
	    yconf_get(yc, n, "action") == NULL &&
	    yconf_get(yc, n, "manual") == NULL)
		yconf_error(yc, n,
		            "%s: expected an action, a manual instruction or a "
		            "verify",
		            path);
	if (cl->cl_kind == CK_CHECK && s->cs_action != NULL)
		yconf_error(yc, yconf_get(yc, n, "action"),
		            "%s.action: a check has verifications and manual "
		            "items only",
		            path);
	if (s->cs_verify.cv_baseline) {
		size_t i;

		if (cl->cl_kind != CK_CHANGE)
			yconf_error(yc, yconf_get(yc, n, "verify"),
			            "%s.verify.vs_baseline: only in a change "
			            "checklist",
			            path);
		else if (s->cs_verify.cv_series != NULL) {
			for (i = 0; i < cl->cl_nbaseline; i++)
				if (strcmp(cl->cl_baseline[i],
				           s->cs_verify.cv_series) == 0)
					break;
			if (i == cl->cl_nbaseline)
				yconf_error(
				    yc, yconf_get(yc, n, "verify"),
				    "%s.verify.vs_baseline: series '%s' is "
				    "not in the checklist's baseline",
				    path, s->cs_verify.cv_series);
			for (i = 0; s->cs_host != NULL && i < cl->cl_nhosts;
			     i++)
				if (strcmp(cl->cl_hosts[i], s->cs_host) == 0)
					break;
			if (s->cs_host != NULL && i == cl->cl_nhosts)
				yconf_error(
				    yc, yconf_get(yc, n, "host"),
				    "%s.host: '%s' is not in the checklist's "
				    "hosts (no baseline is taken there)",
				    path, s->cs_host);
		}
	}
}

/* after: names into indices; unknown and repeated names are errors. */
static void
resolve_after(struct checklist *cl, struct yconf *yc, yaml_node_t *steps,
              const char *prefix)
{
	size_t i, j, k;

	for (i = 0; i < cl->cl_nsteps; i++) {
		struct checklist_step *s = &cl->cl_steps[i];
		yaml_node_t *sn =
		    yconf_node(yc, steps->data.sequence.items.start[i]);
		yaml_node_t *an =
		    yconf_is_map(sn) ? yconf_get(yc, sn, "after") : NULL;

		s->cs_pred = xcalloc(s->cs_nafter, sizeof(size_t));
		for (j = 0; j < s->cs_nafter; j++) {
			int p = checklist_step_find(cl, s->cs_after[j]);
			yaml_node_t *item =
			    yconf_is_seq(an)
			        ? yconf_node(yc,
			                     an->data.sequence.items.start[j])
			        : sn;

			if (p == -1) {
				yconf_error(
				    yc, item,
				    "%s.steps[%zu].after: no step named "
				    "'%s' in this checklist",
				    prefix, i, s->cs_after[j]);
				continue;
			}
			for (k = 0; k < s->cs_npred; k++)
				if (s->cs_pred[k] == (size_t)p)
					break;
			if (k < s->cs_npred) {
				yconf_error(
				    yc, item,
				    "%s.steps[%zu].after: '%s' is named "
				    "twice",
				    prefix, i, s->cs_after[j]);
				continue;
			}
			s->cs_pred[s->cs_npred++] = (size_t)p;
		}
	}
}

/*
 * Kahn's algorithm, ties in written order. On a cycle, names one (in the
 * order the steps would run: a -> b means b is after a) and returns -1.
 */
static int
order_steps(struct checklist *cl, struct yconf *yc, yaml_node_t *at,
            const char *prefix)
{
	size_t n = cl->cl_nsteps, placed = 0, i, j, k;
	size_t *left = xcalloc(n, sizeof(size_t));
	char *done = xcalloc(n, 1);

	cl->cl_order = xcalloc(n, sizeof(size_t));
	for (i = 0; i < n; i++)
		left[i] = cl->cl_steps[i].cs_npred;
	while (placed < n) {
		for (i = 0; i < n; i++)
			if (!done[i] && left[i] == 0)
				break;
		if (i == n)
			break;
		done[i] = 1;
		cl->cl_order[placed++] = i;
		for (j = 0; j < n; j++) {
			const struct checklist_step *s = &cl->cl_steps[j];

			for (k = 0; k < s->cs_npred; k++)
				if (s->cs_pred[k] == i)
					left[j]--;
		}
	}
	if (placed < n) {
		/* Every step left has a predecessor left: walk back until a
		 * step repeats; the walk from there is a cycle. */
		size_t *walk = xcalloc(n + 1, sizeof(size_t)), len = 0, start;
		char *seen = xcalloc(n, 1), msg[768];
		size_t off = 0;

		for (i = 0; done[i]; i++)
			;
		while (!seen[i]) {
			const struct checklist_step *s = &cl->cl_steps[i];

			seen[i] = 1;
			walk[len++] = i;
			for (j = 0; j < s->cs_npred; j++)
				if (!done[s->cs_pred[j]])
					break;
			i = s->cs_pred[j];
		}
		for (start = 0; walk[start] != i; start++)
			;
		/* walk[start..len) goes backwards (each after the next):
		 * print it forwards, from the step written first. */
		for (j = start, k = start; j < len; j++)
			if (walk[j] < walk[k])
				k = j;
		msg[0] = '\0';
		for (j = 0; j <= len - start && off < sizeof(msg); j++) {
			size_t at_ =
			    k >= start + j ? k - j : k + (len - start) - j;

			off += snprintf(msg + off, sizeof(msg) - off, "%s%s",
			                j ? " -> " : "",
			                cl->cl_steps[walk[at_]].cs_name);
		}
		yconf_error(yc, at, "%s (%s): steps form a cycle: %s", prefix,
		            cl->cl_name ? cl->cl_name : "?", msg);
		free(walk);
		free(seen);
	}
	free(left);
	free(done);
	return placed == n ? 0 : -1;
}

static void
verify_copy(struct checklist_verify *d, const struct checklist_verify *s)
{
	*d = *s;
	d->cv_series = xstrdup(s->cv_series);
}

/*
 * A shutdown from its startup: each step's stop as its action, manual and
 * verify, every `after` edge reversed. Steps with neither an action nor a
 * stop (a manual confirmation, a verification) have nothing to undo: they
 * are left out, and the order through them is kept.
 */
static void
build_reverse(struct checklist *sd, const struct checklist *su)
{
	size_t n = su->cl_nsteps, i, j, k, m = 0;
	int *map = xcalloc(n, sizeof(int));
	/* reach[a*n+b]: b is after a through left-out steps only */
	char *reach = xcalloc(n * n, 1);
	size_t oi;

	for (i = 0; i < n; i++)
		map[i] = su->cl_steps[i].cs_stop.cst_present ? (int)m++ : -1;
	/* Walk the startup in order: b's kept ancestors are its kept
	 * predecessors and the kept ancestors of its left-out ones. */
	for (oi = 0; oi < n; oi++) {
		size_t b = su->cl_order[oi];
		const struct checklist_step *s = &su->cl_steps[b];

		for (j = 0; j < s->cs_npred; j++) {
			size_t a = s->cs_pred[j];

			if (map[a] != -1)
				reach[a * n + b] = 1;
			else
				for (k = 0; k < n; k++)
					if (reach[k * n + a])
						reach[k * n + b] = 1;
		}
	}
	sd->cl_steps = xcalloc(m, sizeof(*sd->cl_steps));
	sd->cl_nsteps = m;
	for (i = 0; i < n; i++) {
		const struct checklist_step *s = &su->cl_steps[i];
		struct checklist_step *d;
		size_t na = 0;

		if (map[i] == -1)
			continue;
		d = &sd->cl_steps[map[i]];
		d->cs_name = xstrdup(s->cs_name);
		d->cs_host = xstrdup(s->cs_host);
		d->cs_action = xstrdup(s->cs_stop.cst_action);
		d->cs_manual = xstrdup(s->cs_stop.cst_manual);
		verify_copy(&d->cs_verify, &s->cs_stop.cst_verify);
		d->cs_two_person = s->cs_two_person;
		/* Reversed: i waits for every kept step that waited for i. */
		for (j = 0; j < n; j++)
			if (map[j] != -1 && reach[i * n + j])
				na++;
		d->cs_after = xcalloc(na + 1, sizeof(char *));
		d->cs_pred = xcalloc(na, sizeof(size_t));
		for (j = 0; j < n; j++)
			if (map[j] != -1 && reach[i * n + j]) {
				d->cs_after[d->cs_nafter++] =
				    xstrdup(su->cl_steps[j].cs_name);
				d->cs_pred[d->cs_npred++] = (size_t)map[j];
			}
	}
	/* The reverse of the startup's order is an order of the shutdown. */
	sd->cl_order = xcalloc(m, sizeof(size_t));
	for (oi = n, k = 0; oi > 0; oi--)
		if (map[su->cl_order[oi - 1]] != -1)
			sd->cl_order[k++] = (size_t)map[su->cl_order[oi - 1]];
	free(map);
	free(reach);
}

static void
conf_checklist(struct checklist *cl, struct yconf *yc, yaml_node_t *n,
               const char *path, int (*phase_known)(void *, const char *),
               void *arg)
{
	static const char *const keys[] = {
	    "name",     "kind",  "schedule",    "reverse_of", "hosts",
	    "baseline", "steps", "description", NULL};
	static const char *const skeys[] = {"phase", NULL};
	yaml_node_t *sched, *steps;
	yaml_node_item_t *it;
	char *kind = NULL, sub[300];
	int i;

	yconf_check_keys(yc, n, path, keys);
	yconf_str(yc, n, path, "name", 1, &cl->cl_name);
	yconf_str(yc, n, path, "description", 0, &cl->cl_description);
	cl->cl_kind = CK_PROCEDURE;
	if (yconf_str(yc, n, path, "kind", 1, &kind) == 1) {
		for (i = 0; i < CK_N; i++)
			if (strcmp(kind, checklist_kind_names[i]) == 0)
				break;
		if (i == CK_N)
			yconf_error(
			    yc, yconf_get(yc, n, "kind"),
			    "%s.kind: expected startup, shutdown, check, "
			    "procedure or change, got '%s'",
			    path, kind);
		else
			cl->cl_kind = (enum checklist_kind)i;
	}
	free(kind);
	if ((sched = yconf_get(yc, n, "schedule")) != NULL) {
		yconf_path(sub, sizeof(sub), path, "schedule");
		if (!yconf_is_map(sched))
			yconf_error(yc, sched, "%s: expected {phase}", sub);
		else {
			yconf_check_keys(yc, sched, sub, skeys);
			if (yconf_str(yc, sched, sub, "phase", 1,
			              &cl->cl_phase) == 1 &&
			    phase_known != NULL &&
			    !phase_known(arg, cl->cl_phase))
				yconf_error(
				    yc, yconf_get(yc, sched, "phase"),
				    "%s.phase: the calendar has no phase "
				    "'%s'",
				    sub, cl->cl_phase);
			if (cl->cl_kind == CK_PROCEDURE)
				yconf_error(
				    yc, sched,
				    "%s: a procedure is opened by hand "
				    "or by an alarm, never on a schedule",
				    sub);
		}
	}
	yconf_strlist(yc, n, path, "hosts", cl->cl_kind == CK_CHANGE,
	              &cl->cl_hosts, &cl->cl_nhosts);
	yconf_strlist(yc, n, path, "baseline", 0, &cl->cl_baseline,
	              &cl->cl_nbaseline);
	if (cl->cl_kind != CK_CHANGE) {
		if (yconf_get(yc, n, "hosts") != NULL)
			yconf_error(yc, yconf_get(yc, n, "hosts"),
			            "%s.hosts: only a change checklist names "
			            "hosts",
			            path);
		if (yconf_get(yc, n, "baseline") != NULL)
			yconf_error(
			    yc, yconf_get(yc, n, "baseline"),
			    "%s.baseline: only a change checklist takes a "
			    "baseline",
			    path);
	}
	yconf_str(yc, n, path, "reverse_of", 0, &cl->cl_reverse_of);
	steps = yconf_get(yc, n, "steps");
	if (cl->cl_reverse_of != NULL) {
		if (cl->cl_kind != CK_SHUTDOWN)
			yconf_error(yc, yconf_get(yc, n, "reverse_of"),
			            "%s.reverse_of: only a shutdown is built "
			            "from a startup",
			            path);
		if (steps != NULL)
			yconf_error(yc, steps,
			            "%s.steps: reverse_of builds the steps; "
			            "give one or the other",
			            path);
		return;
	}
	if (steps == NULL) {
		yconf_error(yc, n, "%s.steps: required key is missing", path);
		return;
	}
	if (!yconf_is_seq(steps) || steps->data.sequence.items.top ==
	                                steps->data.sequence.items.start) {
		yconf_error(yc, steps,
		            "%s.steps: expected a list of {name, host, action, "
		            "verify, ...}",
		            path);
		return;
	}
	cl->cl_steps = xcalloc(steps->data.sequence.items.top -
	                           steps->data.sequence.items.start,
	                       sizeof(*cl->cl_steps));
	for (it = steps->data.sequence.items.start;
	     it < steps->data.sequence.items.top; it++) {
		yaml_node_t *sn = yconf_node(yc, *it);
		struct checklist_step *s = &cl->cl_steps[cl->cl_nsteps];
		size_t j;

		snprintf(sub, sizeof(sub), "%s.steps[%zu]", path,
		         cl->cl_nsteps);
		cl->cl_nsteps++;
		if (!yconf_is_map(sn)) {
			yconf_error(yc, sn, "%s: expected a mapping", sub);
			continue;
		}
		conf_step(cl, s, yc, sn, sub);
		for (j = 0; s->cs_name != NULL && j + 1 < cl->cl_nsteps; j++)
			if (cl->cl_steps[j].cs_name != NULL &&
			    strcmp(cl->cl_steps[j].cs_name, s->cs_name) == 0)
				yconf_error(yc, yconf_get(yc, sn, "name"),
				            "%s.name: step '%s' is already "
				            "defined in this checklist",
				            sub, s->cs_name);
	}
	{
		int errors = yc->yc_errors;

		resolve_after(cl, yc, steps, path);
		if (yc->yc_errors == errors &&
		    order_steps(cl, yc, n, path) == 0)
			cl->cl_valid = 1;
	}
}

/* reverse_of names a valid startup whose action steps all have stop:. */
static void
conf_reverse(struct checklists_conf *cc, struct checklist *cl, struct yconf *yc,
             yaml_node_t *n, const char *path)
{
	const struct checklist *su = checklist_find(cc, cl->cl_reverse_of);
	yaml_node_t *at = yconf_get(yc, n, "reverse_of");
	char missing[512];
	size_t i, off = 0;

	if (su == NULL) {
		yconf_error(yc, at, "%s.reverse_of: no checklist named '%s'",
		            path, cl->cl_reverse_of);
		return;
	}
	if (su->cl_kind != CK_STARTUP) {
		yconf_error(yc, at,
		            "%s.reverse_of: '%s' is a %s, not a startup", path,
		            su->cl_name, checklist_kind_names[su->cl_kind]);
		return;
	}
	if (!su->cl_valid)
		return; /* its own errors are reported */
	missing[0] = '\0';
	for (i = 0; i < su->cl_nsteps; i++) {
		const struct checklist_step *s = &su->cl_steps[i];

		if (s->cs_action != NULL && !s->cs_stop.cst_present &&
		    off < sizeof(missing))
			off += snprintf(missing + off, sizeof(missing) - off,
			                "%s%s", off ? ", " : "", s->cs_name);
	}
	if (off > 0) {
		yconf_error(yc, at,
		            "%s.reverse_of: steps of '%s' with an action but "
		            "no stop: %s",
		            path, su->cl_name, missing);
		return;
	}
	build_reverse(cl, su);
	cl->cl_valid = 1;
}

int
checklists_configure(struct checklists_conf *cc, struct yconf *yc,
                     yaml_node_t *node,
                     int (*phase_known)(void *, const char *), void *arg)
{
	int errors = yc->yc_errors;
	yaml_node_item_t *it;
	size_t i, j;

	memset(cc, 0, sizeof(*cc));
	if (node == NULL)
		return 0;
	if (!yconf_is_seq(node)) {
		yconf_error(yc, node, "checklists: expected a list");
		return -1;
	}
	cc->ck_lists = xcalloc(node->data.sequence.items.top -
	                           node->data.sequence.items.start,
	                       sizeof(*cc->ck_lists));
	for (it = node->data.sequence.items.start;
	     it < node->data.sequence.items.top; it++) {
		yaml_node_t *cn = yconf_node(yc, *it);
		struct checklist *cl = &cc->ck_lists[cc->ck_n];
		char path[64];

		snprintf(path, sizeof(path), "checklists[%zu]", cc->ck_n);
		cc->ck_n++;
		if (!yconf_is_map(cn)) {
			yconf_error(yc, cn, "%s: expected a mapping", path);
			continue;
		}
		conf_checklist(cl, yc, cn, path, phase_known, arg);
		for (j = 0; cl->cl_name != NULL && j + 1 < cc->ck_n; j++)
			if (cc->ck_lists[j].cl_name != NULL &&
			    strcmp(cc->ck_lists[j].cl_name, cl->cl_name) == 0)
				yconf_error(
				    yc, yconf_get(yc, cn, "name"),
				    "%s.name: checklist '%s' is already "
				    "defined",
				    path, cl->cl_name);
	}
	/* Shutdowns last: their startup may come after them in the file. */
	for (i = 0; i < cc->ck_n; i++) {
		struct checklist *cl = &cc->ck_lists[i];
		yaml_node_t *cn =
		    yconf_node(yc, node->data.sequence.items.start[i]);
		char path[64];

		if (cl->cl_reverse_of == NULL || cl->cl_kind != CK_SHUTDOWN)
			continue;
		snprintf(path, sizeof(path), "checklists[%zu]", i);
		conf_reverse(cc, cl, yc, cn, path);
	}
	return yc->yc_errors > errors ? -1 : 0;
}

static void
verify_free(struct checklist_verify *v)
{
	free(v->cv_series);
}

void
checklists_conf_free(struct checklists_conf *cc)
{
	size_t i, j;

	for (i = 0; i < cc->ck_n; i++) {
		struct checklist *cl = &cc->ck_lists[i];

		for (j = 0; j < cl->cl_nsteps; j++) {
			struct checklist_step *s = &cl->cl_steps[j];

			free(s->cs_name);
			free(s->cs_host);
			free(s->cs_action);
			free(s->cs_manual);
			yconf_strlist_free(s->cs_after);
			free(s->cs_pred);
			verify_free(&s->cs_verify);
			free(s->cs_stop.cst_action);
			free(s->cs_stop.cst_manual);
			verify_free(&s->cs_stop.cst_verify);
		}
		free(cl->cl_steps);
		free(cl->cl_order);
		free(cl->cl_name);
		free(cl->cl_phase);
		free(cl->cl_reverse_of);
		free(cl->cl_description);
		yconf_strlist_free(cl->cl_hosts);
		yconf_strlist_free(cl->cl_baseline);
	}
	free(cc->ck_lists);
	memset(cc, 0, sizeof(*cc));
}

const struct checklist *
checklist_find(const struct checklists_conf *cc, const char *name)
{
	size_t i;

	for (i = 0; i < cc->ck_n; i++)
		if (cc->ck_lists[i].cl_name != NULL &&
		    strcmp(cc->ck_lists[i].cl_name, name) == 0)
			return &cc->ck_lists[i];
	return NULL;
}

int
checklist_step_find(const struct checklist *cl, const char *name)
{
	size_t i;

	for (i = 0; i < cl->cl_nsteps; i++)
		if (cl->cl_steps[i].cs_name != NULL &&
		    strcmp(cl->cl_steps[i].cs_name, name) == 0)
			return (int)i;
	return -1;
}

const size_t *
checklist_predecessors(const struct checklist *cl, size_t step, size_t *n)
{
	if (step >= cl->cl_nsteps) {
		*n = 0;
		return NULL;
	}
	*n = cl->cl_steps[step].cs_npred;
	return cl->cl_steps[step].cs_pred;
}

const size_t *
checklist_order(const struct checklist *cl)
{
	return cl->cl_order;
}

int
checklist_verify_holds(const struct checklist_verify *v, double value,
                       const double *baseline)
{
	if (v->cv_baseline) {
		if (baseline == NULL)
			return 0;
		return fabs(value - *baseline) <=
		       fabs(*baseline) * v->cv_pct / 100.0;
	}
	switch (v->cv_op) {
	case OP_LT:
		return value < v->cv_threshold;
	case OP_LE:
		return value <= v->cv_threshold;
	case OP_GT:
		return value > v->cv_threshold;
	case OP_GE:
		return value >= v->cv_threshold;
	case OP_EQ:
		return value == v->cv_threshold;
	case OP_NE:
		return value != v->cv_threshold;
	}
	return 0;
}
