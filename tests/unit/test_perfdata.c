/* Perfdata and plugin output, on cases from the plugin guidelines. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "perfdata.h"

struct got {
	char label[16][64];
	double value[16];
	char uom[16][4];
	int n;
};

static void
collect(void *arg, const char *label, double value, const char *uom)
{
	struct got *g = arg;
	if (g->n < 16) {
		snprintf(g->label[g->n], 64, "%s", label);
		snprintf(g->uom[g->n], 4, "%s", uom);
		g->value[g->n++] = value;
	}
}

struct good_case {
	const char *in;
	int count;
	const char *label; /* of the first item */
	double value;
	const char *uom;
};

static const struct good_case good[] = {
    {"time=0.006s;;;0.000000", 1, "time", 0.006, "s"},
    {"rta=0.051ms;100.000;500.000;0; pl=0%;20;60;0", 2, "rta", 0.051e-3, "s"},
    {"'/ free'=3326MB;;;0;15872", 1, "/ free", 3326.0 * 1048576, "B"},
    {"'it''s'=5", 1, "it's", 5, ""},
    {"load1=0.150;5.000;10.000;0; load5=0.200;4.000;6.000;0;", 2, "load1", 0.15,
     ""},
    {"size=2048B", 1, "size", 2048, "B"},
    {"used=1.5KB used2=2GB", 2, "used", 1536, "B"},
    {"lat=250us", 1, "lat", 250e-6, "s"},
    {"pkts=12345c;@10:20;~:100", 1, "pkts", 12345, "c"},
    {"temp=-4.5;;;;", 1, "temp", -4.5, ""},
    {"  a=1   b=2  ", 2, "a", 1, ""},
    {"", 0, NULL, 0, NULL},
};

static const char *const bad[] = {
    "novalue",         /* no '=' */
    "x=",              /* empty value */
    "x=abc",           /* not a number */
    "x=5parsecs",      /* unknown unit */
    "'unterminated=5", /* quote never closed */
    "x=5;1;2;3;4;5",   /* too many fields */
    "x=5;warn",        /* threshold not a range */
    "=5",              /* empty label */
    "x=nan",           /* not a finite number */
    "x=1e999",         /* out of range */
};

static void
test_good(void **state)
{
	size_t i;
	const char *why;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct got g = {.n = 0};
		int rc = perfdata_parse(good[i].in, collect, &g, &why);
		if (rc != good[i].count)
			fail_msg("'%s': %d items, expected %d (%s)", good[i].in,
			         rc, good[i].count, rc < 0 ? why : "");
		if (good[i].label == NULL)
			continue;
		assert_string_equal(g.label[0], good[i].label);
		assert_float_equal(g.value[0], good[i].value,
		                   fabs(good[i].value) * 1e-12);
		assert_string_equal(g.uom[0], good[i].uom);
	}
}

static void
test_undetermined(void **state)
{
	struct got g = {.n = 0};
	const char *why;

	(void)state;
	/* "U" is a valid item without a value: counted, not emitted. */
	assert_int_equal(perfdata_parse("a=U b=3", collect, &g, &why), 2);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.label[0], "b");
}

static void
test_bad(void **state)
{
	size_t i;
	const char *why;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct got g = {.n = 0};
		why = NULL;
		if (perfdata_parse(bad[i], collect, &g, &why) != -1)
			fail_msg("'%s' was accepted", bad[i]);
		assert_non_null(why);
	}
}

static void
test_output(void **state)
{
	struct got g = {.n = 0};
	char summary[64];
	const char *why;

	(void)state;
	/* The guidelines' multi-line example. */
	assert_int_equal(
	    perfdata_output("DISK OK - free space: / 3326 MB (56%); | "
	                    "/=2643MB;5948;5958;0;5968\n"
	                    "/ 15272 MB (77%);\n"
	                    "/boot 68 MB (69%);\n"
	                    "/home 69357 MB (27%);\n"
	                    "/var/log 819 MB (84%); | /boot=68MB;88;93;0;98\n"
	                    "/home=69357MB;253404;253409;0;253414 \n"
	                    "/var/log=818MB;970;975;0;980\n",
	                    summary, sizeof(summary), collect, &g, &why),
	    4);
	assert_string_equal(summary, "DISK OK - free space: / 3326 MB (56%);");
	assert_string_equal(g.label[0], "/");
	assert_string_equal(g.label[3], "/var/log");
	assert_float_equal(g.value[3], 818.0 * 1048576, 1e-3);

	g.n = 0;
	assert_int_equal(perfdata_output("OK: all fine\n", summary,
	                                 sizeof(summary), collect, &g, &why),
	                 0);
	assert_string_equal(summary, "OK: all fine");
	/* Summary is cut to the buffer. */
	assert_int_equal(
	    perfdata_output("0123456789", summary, 5, collect, &g, &why), 0);
	assert_string_equal(summary, "0123");
	assert_int_equal(perfdata_output("OK | garbage here", summary,
	                                 sizeof(summary), collect, &g, &why),
	                 -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),
	    cmocka_unit_test(test_undetermined),
	    cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_output),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
