/* The run engine's pure helpers: the order violation's severity by
 * phase, and the procedure a runbook names. */
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
#include "duty/checklists.h"

static void
test_order_severity(void **state)
{
	(void)state;
	assert_int_equal(checklists_order_severity("trading", "closed"),
	                 SEV_CRITICAL);
	assert_int_equal(checklists_order_severity(NULL, "closed"),
	                 SEV_CRITICAL);
	assert_int_equal(checklists_order_severity("closed", "closed"),
	                 SEV_MINOR);
	assert_int_equal(checklists_order_severity("pre-open", "closed"),
	                 SEV_MAJOR);
	assert_int_equal(checklists_order_severity("pre-open", NULL),
	                 SEV_MAJOR);
}

static void
test_procedure(void **state)
{
	struct collector_conf c;

	(void)state;
	assert_int_equal(collector_conf_load("collector-checklists.yaml", &c),
	                 0);
	/* Only a procedure is offered: not a startup, not an unknown name,
	 * not a runbook that is text. */
	assert_null(checklists_procedure(&c.cc_checklists, "start-of-day"));
	assert_null(checklists_procedure(&c.cc_checklists, "no-such"));
	assert_null(checklists_procedure(&c.cc_checklists, NULL));
	assert_null(
	    checklists_procedure(&c.cc_checklists, "systemctl start x"));
	collector_conf_free(&c);
}

static void
test_procedure_named(void **state)
{
	struct checklist lists[2] = {
	    {.cl_name = "failover", .cl_kind = CK_PROCEDURE},
	    {.cl_name = "patch", .cl_kind = CK_CHANGE},
	};
	struct checklists_conf cc = {.ck_lists = lists, .ck_n = 2};

	(void)state;
	assert_string_equal(checklists_procedure(&cc, "failover"), "failover");
	assert_null(checklists_procedure(&cc, "patch"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order_severity),
	    cmocka_unit_test(test_procedure),
	    cmocka_unit_test(test_procedure_named),
	};

	if (chdir(WS_FIXTURES "/config") == -1)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
