/* The order watch: violations of a startup order as raise/clear
 * decisions, from what the steps' verifications show. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watchstand/xalloc.h"
#include "duty/orderwatch.h"

/* A (step, predecessor) pair to watch: pred is the nearest verified
 * ancestor, through steps without a verification. */
struct ow_pair {
	size_t op_step, op_pred;
	int op_active;
};

struct ow_list {
	const struct checklist *ol_cl;
	enum ow_holds *ol_prev; /* per step: last observation */
	struct ow_pair *ol_pairs;
	size_t ol_npairs;
};

struct orderwatch {
	struct ow_list *ow_lists;
	size_t ow_n;
};

static int
has_verify(const struct checklist *cl, size_t i)
{
	return cl->cl_steps[i].cs_verify.cv_series != NULL;
}

/* Marks in mark[] the verified steps nearest to step through unverified
 * ones. */
static void
nearest_verified(const struct checklist *cl, size_t step, char *mark,
                 char *seen)
{
	const struct checklist_step *s = &cl->cl_steps[step];
	size_t i;

	for (i = 0; i < s->cs_npred; i++) {
		size_t p = s->cs_pred[i];

		if (seen[p])
			continue;
		seen[p] = 1;
		if (has_verify(cl, p))
			mark[p] = 1;
		else
			nearest_verified(cl, p, mark, seen);
	}
}

static void
list_init(struct ow_list *l, const struct checklist *cl)
{
	size_t n = cl->cl_nsteps, i, j, cap = 0;
	char *mark = xcalloc(n, 1), *seen = xcalloc(n, 1);

	l->ol_cl = cl;
	l->ol_prev = xcalloc(n, sizeof(*l->ol_prev));
	for (i = 0; i < n; i++) {
		if (!has_verify(cl, i))
			continue;
		memset(mark, 0, n);
		memset(seen, 0, n);
		nearest_verified(cl, i, mark, seen);
		for (j = 0; j < n; j++) {
			if (!mark[j])
				continue;
			if (l->ol_npairs == cap) {
				cap = cap ? cap * 2 : 8;
				l->ol_pairs = xrealloc(
				    l->ol_pairs, cap * sizeof(*l->ol_pairs));
				if (l->ol_pairs == NULL)
					abort();
			}
			l->ol_pairs[l->ol_npairs].op_step = i;
			l->ol_pairs[l->ol_npairs].op_pred = j;
			l->ol_pairs[l->ol_npairs].op_active = 0;
			l->ol_npairs++;
		}
	}
	free(mark);
	free(seen);
}

struct orderwatch *
orderwatch_new(const struct checklists_conf *cc)
{
	struct orderwatch *ow = xcalloc(1, sizeof(*ow));
	size_t i;

	ow->ow_lists = xcalloc(cc->ck_n, sizeof(*ow->ow_lists));
	for (i = 0; i < cc->ck_n; i++) {
		const struct checklist *cl = &cc->ck_lists[i];

		/* Only a validated DAG: a cycle has no order to watch. */
		if (cl->cl_kind == CK_STARTUP && cl->cl_valid)
			list_init(&ow->ow_lists[ow->ow_n++], cl);
	}
	return ow;
}

void
orderwatch_free(struct orderwatch *ow)
{
	size_t i;

	if (ow == NULL)
		return;
	for (i = 0; i < ow->ow_n; i++) {
		free(ow->ow_lists[i].ol_prev);
		free(ow->ow_lists[i].ol_pairs);
	}
	free(ow->ow_lists);
	free(ow);
}

void
ow_decisions_free(struct ow_decisions *d)
{
	free(d->od);
	memset(d, 0, sizeof(*d));
}

static void
decide(struct ow_decisions *out, enum ow_what what, enum ow_why why,
       const struct checklist *cl, const struct ow_pair *p)
{
	struct ow_decision *d;

	if (out->n == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 8;
		out->od = xrealloc(out->od, out->cap * sizeof(*out->od));
		if (out->od == NULL)
			abort();
	}
	d = &out->od[out->n++];
	d->od_what = what;
	d->od_why = why;
	d->od_cl = cl;
	d->od_step = p->op_step;
	d->od_pred = p->op_pred;
	d->od_host = cl->cl_steps[p->op_step].cs_host;
}

static struct ow_list *
find_list(const struct orderwatch *ow, const struct checklist *cl)
{
	size_t i;

	for (i = 0; i < ow->ow_n; i++)
		if (ow->ow_lists[i].ol_cl == cl)
			return &ow->ow_lists[i];
	return NULL;
}

int
orderwatch_update(struct orderwatch *ow, const struct checklist *cl,
                  const enum ow_holds *holds, struct ow_decisions *out)
{
	struct ow_list *l = find_list(ow, cl);
	size_t i, before = out->n;

	if (l == NULL)
		return -1;
	for (i = 0; i < l->ol_npairs; i++) {
		struct ow_pair *p = &l->ol_pairs[i];
		enum ow_holds now = holds[p->op_step],
		              was = l->ol_prev[p->op_step],
		              pred = holds[p->op_pred];

		if (p->op_active) {
			if (pred == OW_YES) {
				p->op_active = 0;
				decide(out, OW_CLEAR, OW_RESTORED, cl, p);
			} else if (now == OW_NO) {
				p->op_active = 0;
				decide(out, OW_CLEAR, OW_STOPPED, cl, p);
			}
		} else if (was == OW_NO && now == OW_YES && pred == OW_NO) {
			p->op_active = 1;
			decide(out, OW_RAISE, OW_STARTED_EARLY, cl, p);
		}
	}
	for (i = 0; i < cl->cl_nsteps; i++)
		l->ol_prev[i] = holds[i];
	return (int)(out->n - before);
}

int
orderwatch_active(const struct orderwatch *ow, const struct checklist *cl,
                  size_t step, size_t pred)
{
	const struct ow_list *l = find_list(ow, cl);
	size_t i;

	for (i = 0; l != NULL && i < l->ol_npairs; i++)
		if (l->ol_pairs[i].op_step == step &&
		    l->ol_pairs[i].op_pred == pred)
			return l->ol_pairs[i].op_active;
	return 0;
}

enum ow_holds
orderwatch_holds(const struct checklist_step *s, int host_alive,
                 const double *value)
{
	if (s->cs_verify.cv_series == NULL || !host_alive || value == NULL)
		return OW_UNKNOWN;
	/* A baseline belongs to a change run; the watch has none. */
	if (s->cs_verify.cv_baseline)
		return OW_UNKNOWN;
	return checklist_verify_holds(&s->cs_verify, *value, NULL) ? OW_YES
	                                                           : OW_NO;
}

void
orderwatch_text(const struct ow_decision *d, char *buf, size_t len)
{
	const char *step = d->od_cl->cl_steps[d->od_step].cs_name,
	           *pred = d->od_cl->cl_steps[d->od_pred].cs_name,
	           *name = d->od_cl->cl_name;

	switch (d->od_why) {
	case OW_STARTED_EARLY:
		snprintf(buf, len, "%s: %s started while %s does not hold",
		         name, step, pred);
		break;
	case OW_RESTORED:
		snprintf(buf, len, "%s: order restored, %s holds before %s",
		         name, pred, step);
		break;
	case OW_STOPPED:
		snprintf(buf, len, "%s: %s stopped, no longer ahead of %s",
		         name, step, pred);
		break;
	}
}
