/* The order watch over start-of-day (tests/fixtures/config/
 * collector-checklists.yaml): db, net -> quote -> exchange-link (manual)
 * -> gateway. */
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
#include "duty/orderwatch.h"

enum { DB, NET, QUOTE, LINK, GW, NSTEPS };

struct fx {
	struct collector_conf c;
	const struct checklist *cl;
	struct orderwatch *ow;
	struct ow_decisions d;
	enum ow_holds h[NSTEPS];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int i;

	if (collector_conf_load("collector-checklists.yaml", &f->c) != 0)
		return -1;
	f->cl = checklist_find(&f->c.cc_checklists, "start-of-day");
	if (f->cl == NULL || f->cl->cl_nsteps != NSTEPS)
		return -1;
	f->ow = orderwatch_new(&f->c.cc_checklists);
	for (i = 0; i < NSTEPS; i++)
		f->h[i] = OW_NO;
	/* A first look: everything stopped. */
	if (orderwatch_update(f->ow, f->cl, f->h, &f->d) != 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	orderwatch_free(f->ow);
	ow_decisions_free(&f->d);
	collector_conf_free(&f->c);
	free(f);
	return 0;
}

/* Applies the observations; returns the number of decisions. */
static int
look(struct fx *f)
{
	f->d.n = 0;
	return orderwatch_update(f->ow, f->cl, f->h, &f->d);
}

static void
assert_decision(struct fx *f, size_t i, enum ow_what what, enum ow_why why,
                size_t step, size_t pred)
{
	assert_true(i < f->d.n);
	assert_int_equal(f->d.od[i].od_what, what);
	assert_int_equal(f->d.od[i].od_why, why);
	assert_int_equal(f->d.od[i].od_step, step);
	assert_int_equal(f->d.od[i].od_pred, pred);
	assert_ptr_equal(f->d.od[i].od_cl, f->cl);
}

static void
test_raise_and_restore(void **state)
{
	struct fx *f = *state;
	char text[256];

	f->h[NET] = OW_YES;
	assert_int_equal(look(f), 0);
	f->h[QUOTE] = OW_YES; /* started before db */
	assert_int_equal(look(f), 1);
	assert_decision(f, 0, OW_RAISE, OW_STARTED_EARLY, QUOTE, DB);
	assert_string_equal(f->d.od[0].od_host, "quote-01");
	orderwatch_text(&f->d.od[0], text, sizeof(text));
	assert_string_equal(
	    text, "start-of-day: quote started while db does not hold");
	assert_true(orderwatch_active(f->ow, f->cl, QUOTE, DB));
	assert_int_equal(look(f), 0); /* raised once */
	f->h[DB] = OW_YES;
	assert_int_equal(look(f), 1);
	assert_decision(f, 0, OW_CLEAR, OW_RESTORED, QUOTE, DB);
	assert_false(orderwatch_active(f->ow, f->cl, QUOTE, DB));
	/* db stops while quote runs: not a start out of order */
	f->h[DB] = OW_NO;
	assert_int_equal(look(f), 0);
}

static void
test_clear_by_stopping(void **state)
{
	struct fx *f = *state;

	f->h[NET] = OW_YES;
	f->h[QUOTE] = OW_YES;
	assert_int_equal(look(f), 1);
	assert_decision(f, 0, OW_RAISE, OW_STARTED_EARLY, QUOTE, DB);
	f->h[QUOTE] = OW_NO;
	assert_int_equal(look(f), 1);
	assert_decision(f, 0, OW_CLEAR, OW_STOPPED, QUOTE, DB);
	/* and in order this time */
	f->h[DB] = OW_YES;
	f->h[QUOTE] = OW_YES;
	assert_int_equal(look(f), 0);
}

/* The db host's agent restarts: db unknown is not db down. */
static void
test_dead_host(void **state)
{
	struct fx *f = *state;

	f->h[DB] = f->h[NET] = f->h[QUOTE] = OW_YES;
	assert_int_equal(look(f), 0);
	f->h[DB] = OW_UNKNOWN;
	assert_int_equal(look(f), 0);
	/* quote restarts while db's agent is away */
	f->h[QUOTE] = OW_NO;
	assert_int_equal(look(f), 0);
	f->h[QUOTE] = OW_YES;
	assert_int_equal(look(f), 0);
	f->h[DB] = OW_YES;
	assert_int_equal(look(f), 0);
	/* quote's own agent restarts while db is down: unknown -> yes is
	 * not a start */
	f->h[DB] = OW_NO;
	f->h[QUOTE] = OW_UNKNOWN;
	assert_int_equal(look(f), 0);
	f->h[QUOTE] = OW_YES;
	assert_int_equal(look(f), 0);
	/* a step that cannot be observed clears nothing it raised */
	f->h[QUOTE] = OW_NO;
	assert_int_equal(look(f), 0);
	f->h[QUOTE] = OW_YES;
	assert_int_equal(look(f), 1);
	f->h[QUOTE] = OW_UNKNOWN;
	f->h[DB] = OW_UNKNOWN;
	assert_int_equal(look(f), 0);
	assert_true(orderwatch_active(f->ow, f->cl, QUOTE, DB));
}

static void
test_several_predecessors(void **state)
{
	struct fx *f = *state;

	f->h[QUOTE] = OW_YES; /* neither db nor net */
	assert_int_equal(look(f), 2);
	assert_decision(f, 0, OW_RAISE, OW_STARTED_EARLY, QUOTE, DB);
	assert_decision(f, 1, OW_RAISE, OW_STARTED_EARLY, QUOTE, NET);
	f->h[NET] = OW_YES;
	assert_int_equal(look(f), 1);
	assert_decision(f, 0, OW_CLEAR, OW_RESTORED, QUOTE, NET);
	assert_true(orderwatch_active(f->ow, f->cl, QUOTE, DB));
	f->h[QUOTE] = OW_NO;
	assert_int_equal(look(f), 1);
	assert_decision(f, 0, OW_CLEAR, OW_STOPPED, QUOTE, DB);
}

/* gateway follows quote through the manual exchange-link step. */
static void
test_chain(void **state)
{
	struct fx *f = *state;

	f->h[DB] = OW_YES;
	f->h[GW] = OW_YES;
	assert_int_equal(look(f), 1);
	assert_decision(f, 0, OW_RAISE, OW_STARTED_EARLY, GW, QUOTE);
	assert_string_equal(f->d.od[0].od_host, "gw-01");
	f->h[QUOTE] = OW_YES; /* now quote, out of order for net */
	assert_int_equal(look(f), 2);
	assert_decision(f, 0, OW_RAISE, OW_STARTED_EARLY, QUOTE, NET);
	assert_decision(f, 1, OW_CLEAR, OW_RESTORED, GW, QUOTE);
	f->h[NET] = OW_YES;
	assert_int_equal(look(f), 1);
	assert_decision(f, 0, OW_CLEAR, OW_RESTORED, QUOTE, NET);
	/* the manual step is never a predecessor itself */
	assert_false(orderwatch_active(f->ow, f->cl, GW, LINK));
}

static void
test_only_startups(void **state)
{
	struct fx *f = *state;
	const struct checklist *eod =
	    checklist_find(&f->c.cc_checklists, "end-of-day");
	const struct checklist_step *db = &f->cl->cl_steps[DB];
	double one = 1, zero = 0;

	assert_int_equal(orderwatch_update(f->ow, eod, f->h, &f->d), -1);
	assert_int_equal(orderwatch_holds(db, 1, &one), OW_YES);
	assert_int_equal(orderwatch_holds(db, 1, &zero), OW_NO);
	assert_int_equal(orderwatch_holds(db, 0, &one), OW_UNKNOWN);
	assert_int_equal(orderwatch_holds(db, 1, NULL), OW_UNKNOWN);
	assert_int_equal(orderwatch_holds(&f->cl->cl_steps[LINK], 1, &one),
	                 OW_UNKNOWN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_raise_and_restore, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_clear_by_stopping, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_dead_host, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_several_predecessors, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_only_startups, setup,
	                                    teardown),
	};
	if (chdir(WS_FIXTURES "/config") == -1)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
