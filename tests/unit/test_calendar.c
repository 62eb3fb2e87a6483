/* The trading calendar: midnight crossing, holidays, skipping the night
 * session before a holiday (on a Wednesday and on a Friday), DST. */
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

static struct calendar *
load(const char *yaml)
{
	static struct calendar cal;
	char path[] = "/tmp/ws-cal-XXXXXX";
	int fd = mkstemp(path);
	struct yconf yc;

	assert_true(write(fd, yaml, strlen(yaml)) == (ssize_t)strlen(yaml));
	close(fd);
	assert_int_equal(yconf_load(&yc, path), 0);
	assert_int_equal(calendar_configure(&cal, &yc, yconf_root(&yc)), 0);
	yconf_free(&yc);
	unlink(path);
	calendar_use(&cal);
	return &cal;
}

static const char *
at(struct calendar *cal, const char *local)
{
	time_t t;

	assert_int_equal(calendar_parse_local(local, &t), 0);
	return calendar_phase_at(cal, t);
}

static const char shanghai[] =
    "timezone: Asia/Shanghai\n"
    "phases:\n"
    "  - {name: pre-open, days: mon-fri, from: '08:30', to: '09:00'}\n"
    "  - {name: trading, days: mon-fri, from: '09:00', to: '11:30'}\n"
    "  - {name: trading, days: mon-fri, from: '13:30', to: '15:00'}\n"
    "  - {name: trading, days: mon-fri, from: '21:00', to: '02:30',"
    " skip_before_holiday: true}\n"
    "default: closed\n"
    "holidays: ['2026-10-01', '2026-06-01']\n";

static void
test_sessions_and_midnight(void **state)
{
	struct calendar *cal = load(shanghai);

	(void)state;
	assert_string_equal(at(cal, "2026-05-26 08:45"), "pre-open");
	assert_string_equal(at(cal, "2026-05-26 09:00"), "trading");
	assert_string_equal(at(cal, "2026-05-26 11:30"), "closed");
	assert_string_equal(at(cal, "2026-05-26 14:59"), "trading");
	/* Tuesday's night session runs into Wednesday morning. */
	assert_string_equal(at(cal, "2026-05-26 23:59"), "trading");
	assert_string_equal(at(cal, "2026-05-27 00:00"), "trading");
	assert_string_equal(at(cal, "2026-05-27 02:29"), "trading");
	assert_string_equal(at(cal, "2026-05-27 02:30"), "closed");
	/* Friday's night session ends on Saturday; Saturday has none. */
	assert_string_equal(at(cal, "2026-05-23 01:00"), "trading");
	assert_string_equal(at(cal, "2026-05-23 21:30"), "closed");
	assert_string_equal(at(cal, "2026-05-24 01:00"), "closed");
	calendar_free(cal);
}

static void
test_holidays(void **state)
{
	struct calendar *cal = load(shanghai);

	(void)state;
	/* The holiday itself (a Thursday). */
	assert_string_equal(at(cal, "2026-10-01 10:00"), "closed");
	/* No night session on the Wednesday before it... */
	assert_string_equal(at(cal, "2026-09-30 10:00"), "trading");
	assert_string_equal(at(cal, "2026-09-30 21:30"), "closed");
	assert_string_equal(at(cal, "2026-10-01 01:00"), "closed");
	/* ...but the Tuesday's runs. */
	assert_string_equal(at(cal, "2026-09-29 21:30"), "trading");
	/* Friday night before a Monday holiday: skipped. */
	assert_string_equal(at(cal, "2026-05-29 21:30"), "closed");
	assert_string_equal(at(cal, "2026-05-30 01:00"), "closed");
	/* The Friday before an ordinary Monday: runs. */
	assert_string_equal(at(cal, "2026-05-22 21:30"), "trading");
	/* The day session of the day before a holiday is not affected. */
	assert_string_equal(at(cal, "2026-05-29 10:00"), "trading");
	calendar_free(cal);
}

static void
test_dst_london(void **state)
{
	struct calendar *cal =
	    load("timezone: Europe/London\n"
	         "phases: [{name: trading, days: mon-fri, from: '08:00', to: "
	         "'16:30'}]\n");
	/* 07:30 UTC is 07:30 local in winter, 08:30 local in summer. */
	time_t friday_gmt = 1774596600; /* 2026-03-27 07:30:00 UTC */
	time_t monday_bst = 1774855800; /* 2026-03-30 07:30:00 UTC */

	(void)state;
	assert_string_equal(calendar_phase_at(cal, friday_gmt), "closed");
	assert_string_equal(calendar_phase_at(cal, monday_bst), "trading");
	/* Local times are wall-clock times on both sides of the change. */
	assert_string_equal(at(cal, "2026-03-27 08:00"), "trading");
	assert_string_equal(at(cal, "2026-03-30 07:59"), "closed");
	assert_string_equal(at(cal, "2026-10-26 16:29"), "trading");
	calendar_free(cal);
}

static void
test_days_and_errors(void **state)
{
	time_t t;

	(void)state;
	assert_int_equal(calendar_days(1970, 1, 1), 0);
	assert_int_equal(calendar_days(2026, 10, 1), 20727);
	assert_int_equal(calendar_parse_local("2026-10-01 9:00", &t), 0);
	assert_int_equal(calendar_parse_local("2026-10-01", &t), -1);
	assert_int_equal(calendar_parse_local("2026-13-01 09:00", &t), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sessions_and_midnight),
	    cmocka_unit_test(test_holidays),
	    cmocka_unit_test(test_dst_london),
	    cmocka_unit_test(test_days_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
