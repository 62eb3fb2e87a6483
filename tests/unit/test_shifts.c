/* The shift clock and the roster lookup: a shift crossing midnight, a date
 * entry overriding days (a swap), and the config's refusals (overlap, gap,
 * unknown shift). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "alarm/calendar.h"
#include "duty/shifts.h"

static const char *const conf_ok =
    "calendar: {timezone: Europe/Zurich}\n"
    "shifts:\n"
    "  - {name: day, from: \"07:30\", to: \"16:00\"}\n"
    "  - {name: night, from: \"16:00\", to: \"07:30\"}\n"
    "roster:\n"
    "  - {shift: day, days: mon-fri, on_duty: [alice, bob], lead: carol}\n"
    "  - {shift: night, days: mon-fri, on_duty: [dave], lead: carol}\n"
    "  - {date: \"2026-12-24\", shift: night, on_duty: [erin], lead: "
    "carol}\n";

static int
load(const char *yaml, struct calendar *cal, struct shifts_conf *sc)
{
	char path[] = "/tmp/ws-shifts-XXXXXX";
	int fd = mkstemp(path), rc;
	struct yconf yc;

	assert_true(write(fd, yaml, strlen(yaml)) == (ssize_t)strlen(yaml));
	close(fd);
	assert_int_equal(yconf_load(&yc, path), 0);
	rc = calendar_configure(cal, &yc,
	                        yconf_get(&yc, yconf_root(&yc), "calendar"));
	rc |=
	    shifts_configure(sc, &yc, yconf_get(&yc, yconf_root(&yc), "shifts"),
	                     yconf_get(&yc, yconf_root(&yc), "roster"));
	yconf_free(&yc);
	unlink(path);
	return rc;
}

static time_t
at(const struct calendar *cal, const char *s)
{
	time_t t;

	assert_int_equal(calendar_local_parse(cal, s, &t), 0);
	return t;
}

static void
test_day_and_night(void **state)
{
	struct calendar cal;
	struct shifts_conf sc;
	struct shift_now sn;

	(void)state;
	assert_int_equal(load(conf_ok, &cal, &sc), 0);
	/* Tuesday 2026-11-24 10:00: day, alice and bob, lead carol */
	assert_int_equal(
	    shifts_at(&sc, NULL, &cal, at(&cal, "2026-11-24 10:00"), &sn), 0);
	assert_string_equal(sn.sn_def->sd_name, "day");
	assert_true(sn.sn_start == at(&cal, "2026-11-24 07:30"));
	assert_true(sn.sn_end == at(&cal, "2026-11-24 16:00"));
	assert_non_null(sn.sn_entry);
	assert_int_equal(sn.sn_entry->re_n, 2);
	assert_string_equal(sn.sn_entry->re_on_duty[1], "bob");
	assert_string_equal(sn.sn_entry->re_lead, "carol");
	assert_true(roster_has(sn.sn_entry, "carol"));
	assert_false(roster_has(sn.sn_entry, "dave"));
	/* the boundary belongs to the next shift */
	assert_int_equal(
	    shifts_at(&sc, NULL, &cal, at(&cal, "2026-11-24 16:00"), &sn), 0);
	assert_string_equal(sn.sn_def->sd_name, "night");
	/* Wednesday 03:00: Tuesday's night, crossing midnight */
	assert_int_equal(
	    shifts_at(&sc, NULL, &cal, at(&cal, "2026-11-25 03:00"), &sn), 0);
	assert_string_equal(sn.sn_def->sd_name, "night");
	assert_true(sn.sn_start == at(&cal, "2026-11-24 16:00"));
	assert_true(sn.sn_end == at(&cal, "2026-11-25 07:30"));
	assert_string_equal(sn.sn_entry->re_on_duty[0], "dave");
	/* Saturday morning's night started Friday: rostered; Sunday's not */
	assert_int_equal(
	    shifts_at(&sc, NULL, &cal, at(&cal, "2026-11-28 06:00"), &sn), 0);
	assert_non_null(sn.sn_entry);
	assert_int_equal(
	    shifts_at(&sc, NULL, &cal, at(&cal, "2026-11-29 12:00"), &sn), 0);
	assert_string_equal(sn.sn_def->sd_name, "day");
	assert_null(sn.sn_entry);
	shifts_conf_free(&sc);
	calendar_free(&cal);
}

static void
test_date_overrides_days(void **state)
{
	struct calendar cal;
	struct shifts_conf sc;
	struct shift_now sn;

	(void)state;
	assert_int_equal(load(conf_ok, &cal, &sc), 0);
	/* the night of Thursday 2026-12-24, after midnight: erin */
	assert_int_equal(
	    shifts_at(&sc, NULL, &cal, at(&cal, "2026-12-25 01:00"), &sn), 0);
	assert_string_equal(sn.sn_def->sd_name, "night");
	assert_int_equal(sn.sn_entry->re_n, 1);
	assert_string_equal(sn.sn_entry->re_on_duty[0], "erin");
	/* that day's day shift keeps its days entry */
	assert_int_equal(
	    shifts_at(&sc, NULL, &cal, at(&cal, "2026-12-24 09:00"), &sn), 0);
	assert_string_equal(sn.sn_entry->re_on_duty[0], "alice");
	shifts_conf_free(&sc);
	calendar_free(&cal);
}

static void
test_refusals(void **state)
{
	struct calendar cal;
	struct shifts_conf sc;

	(void)state;
	/* overlap */
	assert_int_equal(load("shifts:\n"
	                      "  - {name: a, from: \"07:00\", to: \"17:00\"}\n"
	                      "  - {name: b, from: \"16:00\", to: \"07:00\"}\n",
	                      &cal, &sc),
	                 -1);
	shifts_conf_free(&sc);
	calendar_free(&cal);
	/* gap */
	assert_int_equal(load("shifts:\n"
	                      "  - {name: a, from: \"07:00\", to: \"15:00\"}\n"
	                      "  - {name: b, from: \"16:00\", to: \"07:00\"}\n",
	                      &cal, &sc),
	                 -1);
	shifts_conf_free(&sc);
	calendar_free(&cal);
	/* unknown shift in the roster */
	assert_int_equal(
	    load("shifts:\n"
	         "  - {name: all, from: \"00:00\", to: \"00:00\"}\n"
	         "roster:\n"
	         "  - {shift: day, on_duty: [x]}\n",
	         &cal, &sc),
	    -1);
	shifts_conf_free(&sc);
	calendar_free(&cal);
	/* one shift round the clock is fine */
	assert_int_equal(
	    load("shifts:\n"
	         "  - {name: all, from: \"06:00\", to: \"06:00\"}\n",
	         &cal, &sc),
	    0);
	shifts_conf_free(&sc);
	calendar_free(&cal);
}

/* The trading day runs from its first shift to the next day's: the night
 * crossing midnight belongs to the day it began on; across a DST change
 * the window is 23 or 25 hours; without shifts it is midnight to midnight. */
static void
test_day_window(void **state)
{
	struct calendar cal;
	struct shifts_conf sc;
	time_t from, to;

	(void)state;
	assert_int_equal(load(conf_ok, &cal, &sc), 0);
	assert_int_equal(shifts_day_window(&sc, &cal, calendar_days(2026, 11, 24),
	                                   &from, &to),
	                 0);
	assert_true(from == at(&cal, "2026-11-24 07:30"));
	assert_true(to == at(&cal, "2026-11-25 07:30"));
	/* Zurich leaves summer time on 2026-10-25: that day has 25 hours. */
	assert_int_equal(shifts_day_window(&sc, &cal, calendar_days(2026, 10, 24),
	                                   &from, &to),
	                 0);
	assert_int_equal(to - from, 25 * 3600);
	shifts_conf_free(&sc);
	calendar_free(&cal);
	assert_int_equal(
	    load("calendar: {timezone: Asia/Shanghai}\n", &cal, &sc), 0);
	assert_int_equal(shifts_day_window(&sc, &cal, calendar_days(2026, 11, 24),
	                                   &from, &to),
	                 0);
	assert_true(from == at(&cal, "2026-11-24 00:00"));
	assert_int_equal(to - from, 86400);
	shifts_conf_free(&sc);
	calendar_free(&cal);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_day_and_night),
	    cmocka_unit_test(test_date_overrides_days),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_day_window),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
