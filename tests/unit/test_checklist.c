/* Checklists from the config: the DAG, its order, reverse_of, defaults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "collector.h"
#include "duty/checklist_conf.h"

static int
setup(void **state)
{
	static struct collector_conf c;

	if (collector_conf_load("collector-checklists.yaml", &c) != 0)
		return -1;
	*state = &c;
	return 0;
}

static int
teardown(void **state)
{
	collector_conf_free(*state);
	return 0;
}

static const struct checklist *
find(void **state, const char *name)
{
	struct collector_conf *c = *state;
	const struct checklist *cl = checklist_find(&c->cc_checklists, name);

	assert_non_null(cl);
	return cl;
}

/* Every step comes after all of its predecessors in the order. */
static void
assert_ordered(const struct checklist *cl)
{
	const size_t *order = checklist_order(cl);
	size_t i, j, k, n;

	for (i = 0; i < cl->cl_nsteps; i++) {
		const size_t *p = checklist_predecessors(cl, order[i], &n);
		for (j = 0; j < n; j++) {
			for (k = 0; k < i; k++)
				if (order[k] == p[j])
					break;
			assert_true(k < i);
		}
	}
}

static void
test_startup(void **state)
{
	const struct checklist *cl = find(state, "start-of-day");
	const struct checklist_step *q;
	const size_t *p, *order;
	size_t n;
	int i;

	assert_int_equal(cl->cl_kind, CK_STARTUP);
	assert_string_equal(cl->cl_phase, "pre-open");
	assert_int_equal(cl->cl_nsteps, 5);
	i = checklist_step_find(cl, "quote");
	assert_int_equal(i, 2);
	q = &cl->cl_steps[i];
	assert_string_equal(q->cs_host, "quote-01");
	assert_string_equal(q->cs_action, "start-quoted");
	assert_int_equal(q->cs_verify.cv_op, OP_GE);
	assert_true(q->cs_verify.cv_threshold == 1);
	assert_int_equal(q->cs_verify.cv_within_ms, 30000);
	assert_true(q->cs_two_person);
	assert_string_equal(q->cs_stop.cst_action, "stop-quoted");
	p = checklist_predecessors(cl, (size_t)i, &n);
	assert_int_equal(n, 2);
	assert_int_equal(p[0], 0);
	assert_int_equal(p[1], 1);
	assert_false(cl->cl_steps[0].cs_two_person);
	assert_string_equal(cl->cl_steps[3].cs_manual,
	                    "Confirm with the exchange that the front end is "
	                    "logged in");
	assert_null(cl->cl_steps[3].cs_host);
	order = checklist_order(cl);
	assert_int_equal(order[0], 0);
	assert_int_equal(order[1], 1);
	assert_int_equal(order[2], 2);
	assert_int_equal(order[3], 3);
	assert_int_equal(order[4], 4);
	assert_ordered(cl);
	assert_int_equal(checklist_step_find(cl, "nope"), -1);
	p = checklist_predecessors(cl, 99, &n);
	assert_int_equal(n, 0);
}

/* The shutdown: the steps with a stop, each stop as the step, edges
 * reversed; the manual exchange-link step is left out and the order
 * through it kept (gateway before quote). */
static void
test_reverse(void **state)
{
	const struct checklist *cl = find(state, "end-of-day");
	const struct checklist_step *s;
	const size_t *p;
	size_t n;
	int db, net, quote, gw;

	assert_int_equal(cl->cl_kind, CK_SHUTDOWN);
	assert_int_equal(cl->cl_nsteps, 4);
	assert_int_equal(checklist_step_find(cl, "exchange-link"), -1);
	db = checklist_step_find(cl, "db");
	net = checklist_step_find(cl, "net");
	quote = checklist_step_find(cl, "quote");
	gw = checklist_step_find(cl, "gateway");
	assert_true(db >= 0 && net >= 0 && quote >= 0 && gw >= 0);
	s = &cl->cl_steps[db];
	assert_string_equal(s->cs_action, "stop-db");
	assert_string_equal(s->cs_verify.cv_series, "pg.count");
	assert_int_equal(s->cs_verify.cv_op, OP_EQ);
	assert_false(s->cs_stop.cst_present);
	p = checklist_predecessors(cl, (size_t)db, &n);
	assert_int_equal(n, 1);
	assert_int_equal(p[0], (size_t)quote);
	assert_string_equal(s->cs_after[0], "quote");
	p = checklist_predecessors(cl, (size_t)net, &n);
	assert_int_equal(n, 1);
	assert_int_equal(p[0], (size_t)quote);
	s = &cl->cl_steps[quote];
	assert_true(s->cs_two_person);
	p = checklist_predecessors(cl, (size_t)quote, &n);
	assert_int_equal(n, 1);
	assert_int_equal(p[0], (size_t)gw);
	s = &cl->cl_steps[gw];
	assert_null(s->cs_action);
	assert_string_equal(s->cs_manual,
	                    "Log the gateway out at the exchange");
	p = checklist_predecessors(cl, (size_t)gw, &n);
	assert_int_equal(n, 0);
	assert_int_equal(checklist_order(cl)[0], (size_t)gw);
	assert_ordered(cl);
}

static void
test_check_and_change(void **state)
{
	const struct checklist *ck = find(state, "pre-open-check");
	const struct checklist *ch = find(state, "patch-quoted");
	double base = 100;

	assert_int_equal(ck->cl_kind, CK_CHECK);
	/* Without an action, within is optional: checked once, at once. */
	assert_int_equal(ck->cl_steps[0].cs_verify.cv_within_ms, 0);
	assert_int_equal(ck->cl_steps[1].cs_verify.cv_within_ms, 120000);
	assert_false(ck->cl_steps[2].cs_two_person);
	assert_int_equal(ch->cl_kind, CK_CHANGE);
	assert_int_equal(ch->cl_nhosts, 1);
	assert_int_equal(ch->cl_nbaseline, 2);
	/* The change itself is two-person by default, its checks not. */
	assert_false(ch->cl_steps[0].cs_two_person);
	assert_true(ch->cl_steps[1].cs_two_person);
	assert_false(ch->cl_steps[3].cs_two_person);
	assert_true(ch->cl_steps[3].cs_verify.cv_baseline);
	assert_true(ch->cl_steps[3].cs_verify.cv_pct == 10);
	assert_true(
	    checklist_verify_holds(&ch->cl_steps[3].cs_verify, 109, &base));
	assert_true(
	    checklist_verify_holds(&ch->cl_steps[3].cs_verify, 90, &base));
	assert_false(
	    checklist_verify_holds(&ch->cl_steps[3].cs_verify, 111, &base));
	assert_false(
	    checklist_verify_holds(&ch->cl_steps[3].cs_verify, 100, NULL));
	assert_true(
	    checklist_verify_holds(&ch->cl_steps[2].cs_verify, 100, &base));
	assert_true(
	    checklist_verify_holds(&ck->cl_steps[1].cs_verify, 69.9, NULL));
	assert_false(
	    checklist_verify_holds(&ck->cl_steps[1].cs_verify, 70, NULL));
	assert_ordered(ch);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_startup),
	    cmocka_unit_test(test_reverse),
	    cmocka_unit_test(test_check_and_change),
	};
	if (chdir(WS_FIXTURES "/config") == -1)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
