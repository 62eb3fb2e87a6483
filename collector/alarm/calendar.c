#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	char **holidays = NULL, path[64], zpath[512];
	size_t nh = 0, i;

	memset(cal, 0, sizeof(*cal));
	cal->cal_tz = strdup("UTC");
	cal->cal_default = strdup("closed");
	if (node == NULL)
		return 0;
	if (!yconf_is_map(node)) {
		yconf_error(yc, node, "calendar: expected a mapping");
		return -1;
	}
	yconf_check_keys(yc, node, "calendar", keys);
	if (yconf_str(yc, node, "calendar", "timezone", 0, &cal->cal_tz) == 1) {
		snprintf(zpath, sizeof(zpath), "/usr/share/zoneinfo/%s",
		         cal->cal_tz);
		if (strstr(cal->cal_tz, "..") != NULL ||
		    access(zpath, R_OK) != 0)
			yconf_error(yc, yconf_get(yc, node, "timezone"),
			            "calendar.timezone: unknown IANA timezone "
			            "'%s'",
			            cal->cal_tz);
	}
	yconf_str(yc, node, "calendar", "default", 0, &cal->cal_default);
	if (yconf_strlist(yc, node, "calendar", "holidays", 0, &holidays,
	                  &nh) == 1) {
		yaml_node_t *list = yconf_get(yc, node, "holidays");
		cal->cal_holidays = calloc(nh + 1, sizeof(int64_t));
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
		cal->cal_phases = calloc(n + 1, sizeof(*cal->cal_phases));
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
	memset(cal, 0, sizeof(*cal));
}

void
calendar_use(const struct calendar *cal)
{
	setenv("TZ", cal->cal_tz, 1);
	tzset();
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
	struct tm tm;
	int64_t day;
	int minute;
	size_t i;

	localtime_r(&t, &tm);
	day = calendar_days(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	minute = tm.tm_hour * 60 + tm.tm_min;
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
calendar_parse_local(const char *s, time_t *t)
{
	struct tm tm;
	int y, mo, d, h, mi;
	char tail;

	if (sscanf(s, "%4d-%2d-%2d %2d:%2d%c", &y, &mo, &d, &h, &mi, &tail) !=
	        5 ||
	    mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_isdst = -1;
	*t = mktime(&tm);
	return *t == (time_t)-1 ? -1 : 0;
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
