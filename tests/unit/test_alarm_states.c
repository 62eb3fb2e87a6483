/* The alarm state table: every state against every event, and the facts
 * an outcome depends on; the names of the states. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "alarm/alarm_state.h"

#define AU ALARM_ST_ACTIVE_UNACKED
#define AA ALARM_ST_ACTIVE_ACKED
#define CU ALARM_ST_CLEARED_UNACKED
#define SU ALARM_ST_SUPPRESSED
#define SH ALARM_ST_SHELVED
#define OS ALARM_ST_OUT_OF_SERVICE
#define CL ALARM_ST_CLOSED
#define NO ALARM_ST_REFUSED

/* Without facts: rows are states (AU AA CU SU SH OS CL), columns events
 * (RAISE CHANGE CLEAR ACK SHELVE UNSHELVE OOS IN-SERVICE SILENT BACK). */
static const enum alarm_state table[ALARM_STATES][ALARM_EVENTS] = {
    /*        raise chg clear ack shelve unsh oos in  silent back */
    [AU] = {AU, AU, CU, AA, SH, NO, OS, AU, SU, AU},
    [AA] = {AA, AA, CL, NO, SH, NO, OS, AA, SU, AA},
    [CU] = {AU, CU, CU, CL, SH, NO, OS, CU, CU, CU},
    [SU] = {AU, SU, CU, NO, NO, NO, OS, SU, SU, CL},
    [SH] = {SH, SH, CU, NO, NO, AU, OS, SH, SH, SH},
    [OS] = {OS, OS, CU, NO, NO, NO, OS, CL, OS, OS},
    [CL] = {AU, NO, NO, NO, NO, NO, CL, CL, CL, CL},
};

static void
test_every_cell(void **state)
{
	int s, e;
	char where[64];

	(void)state;
	for (s = 0; s < ALARM_STATES; s++)
		for (e = 0; e < ALARM_EVENTS; e++) {
			snprintf(where, sizeof(where), "%s on event %d",
			         alarm_state_name(s), e);
			if (alarm_state_next(s, e, NULL) != table[s][e])
				fail_msg("%s: got %d, want %d", where,
				         alarm_state_next(s, e, NULL),
				         table[s][e]);
		}
}

/* A raise of a new alarm (closed: none open) or one cleared and not yet
 * acknowledged follows the host and the phase; held ones stay. */
static void
test_raise_facts(void **state)
{
	struct alarm_facts out = {.af_host_out = 1};
	struct alarm_facts sup = {.af_suppressed = 1};
	struct alarm_facts both = {.af_host_out = 1, .af_suppressed = 1};

	(void)state;
	assert_int_equal(alarm_state_next(CL, ALARM_EV_RAISE, &out), OS);
	assert_int_equal(alarm_state_next(CL, ALARM_EV_RAISE, &sup), SU);
	assert_int_equal(alarm_state_next(CL, ALARM_EV_RAISE, &both), OS);
	assert_int_equal(alarm_state_next(CU, ALARM_EV_RAISE, &sup), SU);
	assert_int_equal(alarm_state_next(AU, ALARM_EV_RAISE, &out), OS);
	assert_int_equal(alarm_state_next(SU, ALARM_EV_RAISE, &sup), SU);
	assert_int_equal(alarm_state_next(AA, ALARM_EV_RAISE, &both), AA);
	assert_int_equal(alarm_state_next(SH, ALARM_EV_RAISE, &both), SH);
	assert_int_equal(alarm_state_next(OS, ALARM_EV_RAISE, &sup), OS);
}

/* Cleared: closed when it was acknowledged before, whatever holds it. */
static void
test_clear_acked(void **state)
{
	struct alarm_facts acked = {.af_acked = 1};
	int s;

	(void)state;
	for (s = 0; s < ALARM_STATES; s++)
		assert_int_equal(alarm_state_next(s, ALARM_EV_CLEAR, &acked),
		                 s == CL ? NO : CL);
}

/* Unshelved: back to where it was shelved from. */
static void
test_unshelve_from(void **state)
{
	struct alarm_facts f = {0};
	int from;

	(void)state;
	for (from = 0; from < ALARM_STATES; from++) {
		f.af_shelved_from = from;
		assert_int_equal(alarm_state_next(SH, ALARM_EV_UNSHELVE, &f),
		                 from);
		assert_int_equal(alarm_state_next(AU, ALARM_EV_UNSHELVE, &f),
		                 NO);
	}
	/* Every state a shelve accepts comes back by unshelving. */
	for (from = 0; from < ALARM_STATES; from++) {
		if (alarm_state_next(from, ALARM_EV_SHELVE, NULL) != SH)
			continue;
		f.af_shelved_from = from;
		assert_int_equal(
		    alarm_state_next(
		        alarm_state_next(from, ALARM_EV_SHELVE, NULL),
		        ALARM_EV_UNSHELVE, &f),
		    from);
	}
}

static void
test_bad_input(void **state)
{
	(void)state;
	assert_int_equal(alarm_state_next(NO, ALARM_EV_RAISE, NULL), NO);
	assert_int_equal(alarm_state_next(ALARM_STATES, ALARM_EV_ACK, NULL),
	                 NO);
	assert_int_equal(alarm_state_next(AU, ALARM_EVENTS, NULL), NO);
}

static void
test_names(void **state)
{
	int s;

	(void)state;
	for (s = 0; s < ALARM_STATES; s++)
		assert_int_equal(alarm_state_parse(alarm_state_name(s)), s);
	assert_string_equal(alarm_state_name(AU), "active-unacknowledged");
	assert_string_equal(alarm_state_name(AA), "active-acknowledged");
	assert_string_equal(alarm_state_name(CU), "cleared-unacknowledged");
	assert_string_equal(alarm_state_name(OS), "out-of-service");
	assert_null(alarm_state_name(NO));
	assert_null(alarm_state_name(ALARM_STATES));
	assert_int_equal(alarm_state_parse("active"), NO);
	assert_int_equal(alarm_state_parse(""), NO);
	assert_int_equal(alarm_state_parse(NULL), NO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_cell),
	    cmocka_unit_test(test_raise_facts),
	    cmocka_unit_test(test_clear_acked),
	    cmocka_unit_test(test_unshelve_from),
	    cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
