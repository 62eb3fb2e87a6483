/*
 * The running shift clock: at each shift boundary (and at start, for the
 * current shift when none is open) it closes the previous shift row,
 * opens the new one, writes the boundary to the shift log and publishes
 * EVENT_SHIFT. It holds the roster in force (the config's, or one put
 * through the API) and answers who is on duty for the notifier.
 */
#ifndef WATCHSTAND_SHIFTCLOCK_H
#define WATCHSTAND_SHIFTCLOCK_H

#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "duty/shifts.h"

struct store;
struct events;
struct shiftclock;

struct alarms;
/* alarms may be NULL (no unaccepted-handover alarm); timeout_ms is
 * collector.handover_timeout. */
struct shiftclock *shiftclock_new(struct store *st, struct events *ev,
                                  const struct shifts_conf *sc,
                                  const struct calendar *cal,
                                  struct alarms *alarms, uint64_t timeout_ms);
#define SHIFTCLOCK_RULE "handover-unaccepted"
void shiftclock_free(struct shiftclock *k);
/* Called every second or so with the time. */
void shiftclock_tick(struct shiftclock *k, time_t now);
/* The shift in force now under the roster in force; -1: no shifts. */
int shiftclock_now(const struct shiftclock *k, time_t now,
                   struct shift_now *out);
/* notifier_deps.nd_roster: logins of the current shift (or its lead). */
void shiftclock_roster(void *arg, int lead, json_t *out);
/* Replaces the roster in force (taken; NULL: back to the config's) and
 * keeps it in the database, so it outlives a restart or a reload until
 * replaced or dropped. The first tick loads a kept one before it opens a
 * shift. */
void shiftclock_put_roster(struct shiftclock *k, struct roster *ro,
                           const char *by);
/* This collector took the lead: the roster kept in the database is read
 * again before the next shift opening (another leader may have put one). */
void shiftclock_takeover(struct shiftclock *k);
/* The roster in force as JSON: {source: config|api, by, at, roster}. */
json_t *shiftclock_roster_json(const struct shiftclock *k);

#endif
