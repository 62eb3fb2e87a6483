/*
 * collector.yaml `shifts:` and `roster:` and the shift clock: which shift
 * is current at t, when it started and ends, who is on duty and who leads.
 * Pure: no clock inside (t and the calendar are inputs), no database.
 * docs/shifts.md describes the keys and every refusal.
 */
#ifndef WATCHSTAND_SHIFTS_H
#define WATCHSTAND_SHIFTS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "alarm/calendar.h"
#include "watchstand/yconf.h"

#define ROSTER_LOGIN_MAX 64 /* a login in a roster put through the API */

struct shift_def {
	char *sd_name;
	int sd_from; /* minutes after local midnight */
	int sd_to;   /* <= sd_from: ends the next day */
};

struct roster_entry {
	char *re_shift;
	uint8_t re_days;   /* bit 0 = Sunday; 0 for a date entry */
	int64_t re_date;   /* days since 1970-01-01; -1: by days */
	char **re_on_duty; /* NULL-terminated */
	size_t re_n;
	char *re_lead;
};

struct roster {
	struct roster_entry *ro_entries;
	size_t ro_n;
};

struct shifts_conf {
	struct shift_def *sc_defs;
	size_t sc_n;
	struct roster sc_roster;
};

/* The shift in force at an instant. */
struct shift_now {
	const struct shift_def *sn_def; /* NULL: no shifts configured */
	int64_t sn_day;                 /* local day the shift started */
	time_t sn_start, sn_end;
	const struct roster_entry *sn_entry; /* NULL: nobody rostered */
};

/* Reads shifts: and roster: (either may be NULL); errors through yc. */
int shifts_configure(struct shifts_conf *sc, struct yconf *yc,
                     yaml_node_t *shifts, yaml_node_t *roster);
void shifts_conf_free(struct shifts_conf *sc);
void roster_free(struct roster *ro);
/* Validates a roster against the shifts; msg says what is wrong. */
int roster_check(const struct shifts_conf *sc, const struct roster *ro,
                 char *msg, size_t len);
const struct shift_def *shifts_find(const struct shifts_conf *sc,
                                    const char *name);
/* The shift at t under roster ro (sc's own roster when NULL): -1 when
 * no shifts are configured or the calendar cannot say the local time. */
int shifts_at(const struct shifts_conf *sc, const struct roster *ro,
              const struct calendar *cal, time_t t, struct shift_now *out);
/* The trading day `day` (days since 1970-01-01, local): from the start of
 * its first shift (the earliest `from`) to that of the next day's, so a
 * night shift crossing midnight belongs to the day it began on. Without
 * shifts, local midnight to midnight. -1 if the calendar cannot say. */
int shifts_day_window(const struct shifts_conf *sc, const struct calendar *cal,
                      int64_t day, time_t *from, time_t *to);
/* Whether login is on duty or leads in the roster entry e. */
int roster_has(const struct roster_entry *e, const char *login);

/* PUT /roster's body (the config's entries as JSON): 0, or -1 with msg. */
int roster_from_json(const json_t *a, struct roster *ro, char *msg, size_t len);
json_t *roster_to_json(const struct roster *ro);

#endif
