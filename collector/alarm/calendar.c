#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include "watchstand/xalloc.h"
#include "alarm/calendar.h"

static const char *const cal_daynames[7] = {"sun", "mon", "tue", "wed",
                                            "thu", "fri", "sat"};

/* Howard Hinnant's days_from_civil: exact for any Gregorian date. */
int64_t
calendar_days(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Weekday of a day number: 1970-01-01 was a Thursday. */
static int
cal_weekday(int64_t day)
{
	int64_t w = (day + 4) % 7;
	return (int)(w < 0 ? w + 7 : w);
}

static int
cal_parse_day(const char *s)
{
	int i;

	for (i = 0; i < 7; i++)
		if (strncasecmp(s, cal_daynames[i], 3) == 0)
			return i;
	return -1;
}

/* "mon-fri", "sat,sun", "mon-fri,sun", "daily" */
static int
cal_parse_days(const char *s, uint8_t *mask)
{
	*mask = 0;
	if (strcmp(s, "daily") == 0) {
		*mask = 0x7f;
		return 0;
	}
	while (*s != '\0') {
		int a = cal_parse_day(s), b;
		if (a < 0)
			return -1;
		s += 3;
		if (*s == '-') {
			if ((b = cal_parse_day(s + 1)) < 0)
				return -1;
			s += 4;
			for (;; a = (a + 1) % 7) {
				*mask |= 1 << a;
				if (a == b)
					break;
			}
		} else
			*mask |= 1 << a;
		if (*s == ',')
			s++;
		else if (*s != '\0')
			return -1;
	}
	return *mask ? 0 : -1;
}

static int
cal_parse_hhmm(const char *s, int *minutes)
{
	int h, m;
	char tail;

	if (sscanf(s, "%2d:%2d%c", &h, &m, &tail) != 2 || h < 0 || h > 24 ||
	    m < 0 || m > 59 || (h == 24 && m != 0) || strlen(s) != 5)
		return -1;
	*minutes = h * 60 + m;
	return 0;
}

static int
cal_parse_date(const char *s, int64_t *day)
{
	int y, m, d;
	char tail;

	if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
	    strlen(s) != 10 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	*day = calendar_days(y, m, d);
	return 0;
}

/* The zone's name as UTF-16 for ICU; -1 if too long. */
static int
cal_zone_id(const char *tz, UChar *out, int32_t cap)
{
	if ((int32_t)strlen(tz) >= cap)
		return -1;
	u_uastrncpy(out, tz, cap);
	return 0;
}

/* Whether ICU knows tz as a zone of the tz database (not "GMT+3"). */
static int
cal_zone_known(const char *tz)
{
	UChar id[128], canon[128];
	UErrorCode st = U_ZERO_ERROR;
	UBool system = 0;

	if (strstr(tz, "..") != NULL || cal_zone_id(tz, id, 128) == -1)
		return 0;
	ucal_getCanonicalTimeZoneID(id, -1, canon, 128, &system, &st);
	return U_SUCCESS(st) && system;
}

/* The calendar's own ICU calendar in its zone: nothing reads TZ. */
static int
cal_open(struct calendar *cal)
{
	UChar id[128];
	UErrorCode st = U_ZERO_ERROR;

	if (cal_zone_id(cal->cal_tz, id, 128) == -1)
		return -1;
	cal->cal_ucal = ucal_open(id, -1, "en_US_POSIX", UCAL_GREGORIAN, &st);
	if (U_FAILURE(st)) {
		cal->cal_ucal = NULL;
		return -1;
	}
	return 0;
}

/* Local civil time of t in the calendar's zone; -1 if ICU fails. */
static int
cal_local(const struct calendar *cal, time_t t, int *y, int *mo, int *d, int *h,
          int *mi, int *off_min)
{
	UCalendar *uc = cal->cal_ucal;
	UErrorCode st = U_ZERO_ERROR;

	if (uc == NULL)
		return -1;
	ucal_setMillis(uc, (UDate)t * 1000.0, &st);
	*y = ucal_get(uc, UCAL_EXTENDED_YEAR, &st);
	*mo = ucal_get(uc, UCAL_MONTH, &st) + 1;
	*d = ucal_get(uc, UCAL_DATE, &st);
	*h = ucal_get(uc, UCAL_HOUR_OF_DAY, &st);
	*mi = ucal_get(uc, UCAL_MINUTE, &st);
	*off_min = (ucal_get(uc, UCAL_ZONE_OFFSET, &st) +
	            ucal_get(uc, UCAL_DST_OFFSET, &st)) /
	           60000;
	return U_FAILURE(st) ? -1 : 0;
}

int
calendar_configure(struct calendar *cal, struct yconf *yc, yaml_node_t *node)
{
	static const char *const keys[] = {"timezone", "phases", "default",
	                                   "holidays", NULL};
	static const char *const pkeys[] = {
	    "name", "days", "from", "to", "skip_before_holiday", NULL};
	int errors = yc->yc_errors;
	yaml_node_t *phases;
	yaml_node_item_t *it;
	char **holidays = NULL, path[64];
	size_t nh = 0, i;

	memset(cal, 0, sizeof(*cal));
	cal->cal_tz = xstrdup("UTC");
	cal->cal_default = xstrdup("closed");
	if (node == NULL)
		return cal_open(cal);
	if (!yconf_is_map(node)) {
		yconf_error(yc, node, "calendar: expected a mapping");
		return -1;
	}
	yconf_check_keys(yc, node, "calendar", keys);
	if (yconf_str(yc, node, "calendar", "timezone", 0, &cal->cal_tz) == 1 &&
	    !cal_zone_known(cal->cal_tz))
		yconf_error(yc, yconf_get(yc, node, "timezone"),
		            "calendar.timezone: unknown IANA timezone '%s'",
		            cal->cal_tz);
	else if (cal_open(cal) == -1)
		yconf_error(yc, node, "calendar: cannot open timezone '%s'",
		            cal->cal_tz);
	yconf_str(yc, node, "calendar", "default", 0, &cal->cal_default);
	if (yconf_strlist(yc, node, "calendar", "holidays", 0, &holidays,
	                  &nh) == 1) {
		yaml_node_t *list = yconf_get(yc, node, "holidays");
		cal->cal_holidays = xcalloc(nh + 1, sizeof(int64_t));
		for (i = 0; i < nh; i++)
			if (cal_parse_date(holidays[i],
			                   &cal->cal_holidays[i]) == -1)
				yconf_error(
				    yc,
				    yconf_node(
				        yc, list->data.sequence.items.start[i]),
				    "calendar.holidays[%zu]: expected "
				    "YYYY-MM-DD, got '%s'",
				    i, holidays[i]);
		cal->cal_nholidays = nh;
	}
	yconf_strlist_free(holidays);
	phases = yconf_get(yc, node, "phases");
	if (phases != NULL && !yconf_is_seq(phases))
		yconf_error(yc, phases, "calendar.phases: expected a list");
	else if (phases != NULL) {
		size_t n = phases->data.sequence.items.top -
		           phases->data.sequence.items.start;
		cal->cal_phases = xcalloc(n + 1, sizeof(*cal->cal_phases));
		for (it = phases->data.sequence.items.start;
		     it < phases->data.sequence.items.top; it++) {
			yaml_node_t *pn = yconf_node(yc, *it);
			struct cal_phase *cp =
			    &cal->cal_phases[cal->cal_nphases++];
			char *days = NULL, *from = NULL, *to = NULL;

			snprintf(path, sizeof(path), "calendar.phases[%zu]",
			         cal->cal_nphases - 1);
			if (!yconf_is_map(pn)) {
				yconf_error(yc, pn,
				            "%s: expected {name, days, "
				            "from, to}",
				            path);
				continue;
			}
			yconf_check_keys(yc, pn, path, pkeys);
			yconf_str(yc, pn, path, "name", 1, &cp->cp_name);
			yconf_bool(yc, pn, path, "skip_before_holiday", 0,
			           &cp->cp_skip_before_holiday);
			if (yconf_str(yc, pn, path, "days", 0, &days) != 1)
				cp->cp_days = 0x7f;
			else if (cal_parse_days(days, &cp->cp_days) == -1)
				yconf_error(
				    yc, yconf_get(yc, pn, "days"),
				    "%s.days: expected days such as "
				    "mon-fri, sat,sun or daily, got '%s'",
				    path, days);
			if (yconf_str(yc, pn, path, "from", 1, &from) == 1 &&
			    cal_parse_hhmm(from, &cp->cp_from) == -1)
				yconf_error(yc, yconf_get(yc, pn, "from"),
				            "%s.from: expected HH:MM, got '%s'",
				            path, from);
			if (yconf_str(yc, pn, path, "to", 1, &to) == 1 &&
			    cal_parse_hhmm(to, &cp->cp_to) == -1)
				yconf_error(yc, yconf_get(yc, pn, "to"),
				            "%s.to: expected HH:MM, got '%s'",
				            path, to);
			free(days);
			free(from);
			free(to);
			cal->cal_trading_days |= cp->cp_days;
		}
	}
	return yc->yc_errors > errors ? -1 : 0;
}

void
calendar_free(struct calendar *cal)
{
	size_t i;

	for (i = 0; i < cal->cal_nphases; i++)
		free(cal->cal_phases[i].cp_name);
	free(cal->cal_phases);
	free(cal->cal_holidays);
	free(cal->cal_tz);
	free(cal->cal_default);
	if (cal->cal_ucal != NULL)
		ucal_close(cal->cal_ucal);
	memset(cal, 0, sizeof(*cal));
}

static int
cal_holiday(const struct calendar *cal, int64_t day)
{
	size_t i;

	for (i = 0; i < cal->cal_nholidays; i++)
		if (cal->cal_holidays[i] == day)
			return 1;
	return 0;
}

/* Does the session cp run on (start) day? */
static int
cal_runs(const struct calendar *cal, const struct cal_phase *cp, int64_t day)
{
	int64_t next;

	if (!(cp->cp_days & (1 << cal_weekday(day))) || cal_holiday(cal, day))
		return 0;
	if (!cp->cp_skip_before_holiday)
		return 1;
	/* The next trading day by weekday (a Friday's is the Monday). */
	for (next = day + 1; next <= day + 7; next++)
		if (cal->cal_trading_days & (1 << cal_weekday(next)))
			break;
	return !cal_holiday(cal, next);
}

const char *
calendar_phase_at(const struct calendar *cal, time_t t)
{
	int64_t day;
	int y, mo, d, h, mi, off, minute;
	size_t i;

	if (cal_local(cal, t, &y, &mo, &d, &h, &mi, &off) == -1)
		return cal->cal_default;
	day = calendar_days(y, mo, d);
	minute = h * 60 + mi;
	/* The first phase listed that holds wins. */
	for (i = 0; i < cal->cal_nphases; i++) {
		const struct cal_phase *cp = &cal->cal_phases[i];
		int crosses = cp->cp_to <= cp->cp_from;

		if (minute >= cp->cp_from && (crosses || minute < cp->cp_to) &&
		    cal_runs(cal, cp, day))
			return cp->cp_name;
		/* The tail of a session that began yesterday. */
		if (crosses && minute < cp->cp_to && cal_runs(cal, cp, day - 1))
			return cp->cp_name;
	}
	return cal->cal_default;
}

int
calendar_next_change(const struct calendar *cal, time_t t, time_t *at,
                     const char **phase)
{
	const char *now = calendar_phase_at(cal, t), *p;
	time_t m = (t / 60 + 1) * 60;
	int i;

	if (now == NULL)
		return -1;
	/* Phases begin and end on whole local minutes (every zone in use
	 * is a whole number of minutes off UTC): a minute's step finds
	 * the change, a weekend in a few thousand steps. */
	for (i = 0; i < 8 * 24 * 60; i++, m += 60) {
		p = calendar_phase_at(cal, m);
		if (p != NULL && strcmp(p, now) != 0) {
			*at = m;
			*phase = p;
			return 0;
		}
	}
	return -1;
}

int
calendar_phase_began(const struct calendar *cal, time_t t, time_t within,
                     time_t *began)
{
	const char *now = calendar_phase_at(cal, t), *p;
	time_t m = t / 60 * 60;

	if (now == NULL)
		return -1;
	/* Whole minutes again (calendar_next_change): the first minute back
	 * whose minute before is another phase. */
	for (; m >= t - within; m -= 60) {
		p = calendar_phase_at(cal, m - 60);
		if (p != NULL && strcmp(p, now) != 0) {
			*began = m;
			return 0;
		}
	}
	return -1;
}

/* "YYYY-MM-DD HH:MM" split; -1 if malformed. */
static int
cal_parse_fields(const char *s, int *y, int *mo, int *d, int *h, int *mi)
{
	char tail;

	if (sscanf(s, "%4d-%2d-%2d %2d:%2d%c", y, mo, d, h, mi, &tail) != 5 ||
	    *mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h > 23 || *mi > 59)
		return -1;
	return 0;
}

int
calendar_local_parse(const struct calendar *cal, const char *s, time_t *t)
{
	UCalendar *uc = cal->cal_ucal;
	UErrorCode st = U_ZERO_ERROR;
	int y, mo, d, h, mi;
	UDate ms;

	if (uc == NULL || cal_parse_fields(s, &y, &mo, &d, &h, &mi) == -1)
		return -1;
	ucal_clear(uc);
	ucal_setDateTime(uc, y, mo - 1, d, h, mi, 0, &st);
	ms = ucal_getMillis(uc, &st);
	if (U_FAILURE(st))
		return -1;
	*t = (time_t)(ms / 1000.0);
	return 0;
}

int
calendar_local_format(const struct calendar *cal, time_t t, char *buf,
                      size_t len)
{
	int y, mo, d, h, mi, off;

	if (cal_local(cal, t, &y, &mo, &d, &h, &mi, &off) == -1)
		return -1;
	snprintf(buf, len, "%04d-%02d-%02d %02d:%02d %c%02d%02d", y, mo, d, h,
	         mi, off < 0 ? '-' : '+', abs(off) / 60, abs(off) % 60);
	return 0;
}

int
calendar_has_phase(const struct calendar *cal, const char *name)
{
	size_t i;

	/* A phase without a name (reported already) matches nothing. */
	if (cal->cal_default != NULL && strcmp(cal->cal_default, name) == 0)
		return 1;
	for (i = 0; i < cal->cal_nphases; i++)
		if (cal->cal_phases[i].cp_name != NULL &&
		    strcmp(cal->cal_phases[i].cp_name, name) == 0)
			return 1;
	return 0;
}

int
calendar_same(const struct calendar *a, const struct calendar *b)
{
	size_t i;

	if (strcmp(a->cal_tz ? a->cal_tz : "", b->cal_tz ? b->cal_tz : "") !=
	        0 ||
	    strcmp(a->cal_default ? a->cal_default : "",
	           b->cal_default ? b->cal_default : "") != 0 ||
	    a->cal_nphases != b->cal_nphases ||
	    a->cal_nholidays != b->cal_nholidays)
		return 0;
	for (i = 0; i < a->cal_nphases; i++) {
		const struct cal_phase *x = &a->cal_phases[i],
		                       *y = &b->cal_phases[i];
		if (strcmp(x->cp_name, y->cp_name) != 0 ||
		    x->cp_days != y->cp_days || x->cp_from != y->cp_from ||
		    x->cp_to != y->cp_to ||
		    x->cp_skip_before_holiday != y->cp_skip_before_holiday)
			return 0;
	}
	for (i = 0; i < a->cal_nholidays; i++)
		if (a->cal_holidays[i] != b->cal_holidays[i])
			return 0;
	return 1;
}

int
calendar_parse_days(const char *s, uint8_t *mask)
{
	return cal_parse_days(s, mask);
}

int
calendar_parse_hhmm(const char *s, int *minutes)
{
	return cal_parse_hhmm(s, minutes);
}

int
calendar_parse_date(const char *s, int64_t *day)
{
	return cal_parse_date(s, day);
}

int
calendar_weekday(int64_t day)
{
	return cal_weekday(day);
}

int
calendar_local_minute(const struct calendar *cal, time_t t, int64_t *day,
                      int *minute)
{
	int y, mo, d, h, mi, off;

	if (cal_local(cal, t, &y, &mo, &d, &h, &mi, &off) == -1)
		return -1;
	*day = calendar_days(y, mo, d);
	*minute = h * 60 + mi;
	return 0;
}

/* Hinnant's civil_from_days. */
void
calendar_civil(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

int
calendar_local_time(const struct calendar *cal, int64_t day, int minute,
                    time_t *t)
{
	char buf[32];
	int y, m, d;

	day += minute / 1440;
	minute %= 1440;
	calendar_civil(day, &y, &m, &d);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d", y, m, d,
	         minute / 60, minute % 60);
	return calendar_local_parse(cal, buf, t);
}
