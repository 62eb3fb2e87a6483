/*
 * The trading calendar: named phases by weekday and local time in one IANA
 * timezone, sessions that cross midnight, holidays, and sessions skipped
 * before a holiday. A pure function of the time: each calendar keeps its
 * own zone (an ICU calendar), so calendars in different zones coexist and
 * nothing depends on the process's TZ.
 */
#ifndef WATCHSTAND_CALENDAR_H
#define WATCHSTAND_CALENDAR_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "watchstand/yconf.h"

struct cal_phase {
	char *cp_name;
	uint8_t cp_days; /* bit 0 = Sunday ... bit 6 = Saturday */
	int cp_from;     /* minutes after local midnight */
	int cp_to;       /* <= cp_from: ends the next day */
	int cp_skip_before_holiday;
};

struct calendar {
	char *cal_tz;
	struct cal_phase *cal_phases;
	size_t cal_nphases;
	char *cal_default;
	int64_t *cal_holidays; /* days since 1970-01-01 (local dates) */
	size_t cal_nholidays;
	uint8_t cal_trading_days; /* union of the phases' days */
	void *cal_ucal;           /* ICU UCalendar in cal_tz (owned) */
};

/* Reads calendar: (node may be NULL: everything is the default phase). */
int calendar_configure(struct calendar *cal, struct yconf *yc,
                       yaml_node_t *node);
void calendar_free(struct calendar *cal);
/* The phase in force at t. */
const char *calendar_phase_at(const struct calendar *cal, time_t t);
/* The first whole minute after t whose phase differs from t's, and that
 * phase; -1 when the phase stays for the next 8 days (a calendar of one
 * phase). */
int calendar_next_change(const struct calendar *cal, time_t t, time_t *at,
                         const char **phase);
/* When the phase in force at t began, if within the last `within`
 * seconds: 0 and *began; -1 when it began earlier. */
int calendar_phase_began(const struct calendar *cal, time_t t, time_t within,
                         time_t *began);
/* "YYYY-MM-DD HH:MM" in the calendar's timezone; -1 if malformed. */
int calendar_local_parse(const struct calendar *cal, const char *s, time_t *t);
/* t as "YYYY-MM-DD HH:MM +hhmm" in the calendar's timezone. */
int calendar_local_format(const struct calendar *cal, time_t t, char *buf,
                          size_t len);
/* 1 when name is the default or one of the phases. */
int calendar_has_phase(const struct calendar *cal, const char *name);
/* 1 when two calendars say the same (a reload's summary). */
int calendar_same(const struct calendar *a, const struct calendar *b);
/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
int64_t calendar_days(int y, int m, int d);
/* The civil date of a day number. */
void calendar_civil(int64_t day, int *y, int *m, int *d);
/* 0 = Sunday ... 6 = Saturday */
int calendar_weekday(int64_t day);
/* "mon-fri", "sat,sun", "daily"; "HH:MM"; "YYYY-MM-DD": -1 if malformed. */
int calendar_parse_days(const char *s, uint8_t *mask);
int calendar_parse_hhmm(const char *s, int *minutes);
int calendar_parse_date(const char *s, int64_t *day);
/* t's local day number and minutes after local midnight. */
int calendar_local_minute(const struct calendar *cal, time_t t, int64_t *day,
                          int *minute);
/* The instant of local day + minute (minute may exceed a day). */
int calendar_local_time(const struct calendar *cal, int64_t day, int minute,
                        time_t *t);

#endif
