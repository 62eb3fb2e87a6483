/* The trading calendar: midnight crossing, holidays, skipping the night
 * session before a holiday (on a Wednesday and on a Friday), DST, and
 * calendars in different zones side by side (nothing reads TZ). */
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

static int
configure(struct calendar *cal, const char *yaml)
{
	char path[] = "/tmp/ws-cal-XXXXXX";
	int fd = mkstemp(path), rc;
	struct yconf yc;

	assert_true(write(fd, yaml, strlen(yaml)) == (ssize_t)strlen(yaml));
	close(fd);
	assert_int_equal(yconf_load(&yc, path), 0);
	rc = calendar_configure(cal, &yc, yconf_root(&yc));
	yconf_free(&yc);
	unlink(path);
	return rc;
}

static struct calendar *
load_into(struct calendar *cal, const char *yaml)
{
	assert_int_equal(configure(cal, yaml), 0);
	return cal;
}

static struct calendar *
load(const char *yaml)
{
	static struct calendar cal;

	return load_into(&cal, yaml);
}

static const char *
at(struct calendar *cal, const char *local)
{
	time_t t;

	assert_int_equal(calendar_local_parse(cal, local, &t), 0);
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

/* The next change: its phase and local time. */
static void
next_is(struct calendar *cal, const char *from, const char *phase,
        const char *when)
{
	const char *p;
	time_t t, n;
	char buf[64];

	assert_int_equal(calendar_local_parse(cal, from, &t), 0);
	assert_int_equal(calendar_next_change(cal, t + 20, &n, &p), 0);
	assert_string_equal(p, phase);
	assert_int_equal(calendar_local_format(cal, n, buf, sizeof(buf)), 0);
	assert_string_equal(buf, when);
}

static void
test_next_change(void **state)
{
	struct calendar *cal = load(shanghai), one;
	const char *p;
	time_t n;

	(void)state;
	next_is(cal, "2026-05-26 08:45", "trading", "2026-05-26 09:00 +0800");
	next_is(cal, "2026-05-26 11:30", "trading", "2026-05-26 13:30 +0800");
	/* Friday's night session ends on Saturday morning ... */
	next_is(cal, "2026-05-22 23:00", "closed", "2026-05-23 02:30 +0800");
	/* ... and the weekend lasts until Monday's pre-open. */
	next_is(cal, "2026-05-23 10:00", "pre-open", "2026-05-25 08:30 +0800");
	calendar_free(cal);
	load_into(&one, "timezone: UTC\ndefault: closed\n");
	assert_int_equal(calendar_next_change(&one, 1780000000, &n, &p), -1);
	calendar_free(&one);
}

/* When the phase now began, looking back a bounded time. */
static void
test_phase_began(void **state)
{
	struct calendar *cal = load(shanghai), one;
	time_t t, b;
	char buf[64];

	(void)state;
	/* Trading began at 09:00; 09:20:30 is 20.5 minutes into it. */
	assert_int_equal(calendar_local_parse(cal, "2026-05-26 09:20", &t), 0);
	assert_int_equal(calendar_phase_began(cal, t + 30, 1800, &b), 0);
	assert_int_equal(calendar_local_format(cal, b, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2026-05-26 09:00 +0800");
	/* At the very minute it began. */
	assert_int_equal(calendar_local_parse(cal, "2026-05-26 09:00", &t), 0);
	assert_int_equal(calendar_phase_began(cal, t, 1800, &b), 0);
	assert_true(b == t);
	/* Longer ago than asked: not found. */
	assert_int_equal(calendar_local_parse(cal, "2026-05-26 09:40", &t), 0);
	assert_int_equal(calendar_phase_began(cal, t, 1800, &b), -1);
	/* Across midnight: the weekend began on Saturday 02:30. */
	assert_int_equal(calendar_local_parse(cal, "2026-05-23 02:45", &t), 0);
	assert_int_equal(calendar_phase_began(cal, t, 1800, &b), 0);
	assert_int_equal(calendar_local_format(cal, b, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2026-05-23 02:30 +0800");
	calendar_free(cal);
	load_into(&one, "timezone: UTC\ndefault: closed\n");
	assert_int_equal(calendar_phase_began(&one, 1780000000, 86400, &b), -1);
	calendar_free(&one);
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
	struct calendar *cal = load("timezone: UTC\n");
	struct calendar bad;
	time_t t;

	(void)state;
	assert_int_equal(calendar_days(1970, 1, 1), 0);
	assert_int_equal(calendar_days(2026, 10, 1), 20727);
	assert_int_equal(calendar_local_parse(cal, "2026-10-01 9:00", &t), 0);
	assert_int_equal(t, 1790845200);
	assert_int_equal(calendar_local_parse(cal, "2026-10-01", &t), -1);
	assert_int_equal(calendar_local_parse(cal, "2026-13-01 09:00", &t), -1);
	calendar_free(cal);
	assert_int_equal(configure(&bad, "timezone: Mars/Olympus_Mons\n"), -1);
	calendar_free(&bad);
	assert_int_equal(configure(&bad, "timezone: ../etc/passwd\n"), -1);
	calendar_free(&bad);
}

/* Two calendars in different zones at once, whatever TZ says. */
static void
test_two_zones(void **state)
{
	struct calendar sh, ny;
	/* 2026-05-26 13:45 UTC: 21:45 in Shanghai (night session),
	 * 09:45 in New York (EDT, the day session). */
	time_t t = 1779803100;
	char buf[64];
	time_t back;

	(void)state;
	setenv("TZ", "Australia/Lord_Howe", 1);
	tzset();
	load_into(&sh, shanghai);
	load_into(&ny, "timezone: America/New_York\n"
	               "phases: [{name: open, days: mon-fri, from: '09:30', "
	               "to: '16:00'}]\n");
	assert_string_equal(calendar_phase_at(&sh, t), "trading");
	assert_string_equal(calendar_phase_at(&ny, t), "open");
	assert_int_equal(calendar_local_format(&sh, t, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2026-05-26 21:45 +0800");
	assert_int_equal(calendar_local_format(&ny, t, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2026-05-26 09:45 -0400");
	/* The same wall-clock text is a different instant in each. */
	assert_int_equal(calendar_local_parse(&sh, "2026-05-26 21:45", &back),
	                 0);
	assert_int_equal(back, t);
	assert_int_equal(calendar_local_parse(&ny, "2026-05-26 09:45", &back),
	                 0);
	assert_int_equal(back, t);
	/* New York in winter: EST. */
	assert_int_equal(
	    calendar_local_format(&ny, 1767225600, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2025-12-31 19:00 -0500");
	calendar_free(&sh);
	calendar_free(&ny);
	unsetenv("TZ");
	tzset();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sessions_and_midnight),
	    cmocka_unit_test(test_next_change),
	    cmocka_unit_test(test_phase_began),
	    cmocka_unit_test(test_holidays),
	    cmocka_unit_test(test_dst_london),
	    cmocka_unit_test(test_days_and_errors),
	    cmocka_unit_test(test_two_zones),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
