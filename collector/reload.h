/*
 * Reloading collector.yaml without a restart (SIGHUP, POST /api/v1/reload).
 * The whole file is read and checked first; any error, or a change to a
 * key only a restart can apply, leaves the running config as it is.
 * Otherwise rules, calendar, notification routes and channels and the
 * reloadable collector.* settings are swapped at once: agent connections,
 * pending `for` timers of unchanged rules and pending pages carry on.
 */
#ifndef WATCHSTAND_RELOAD_H
#define WATCHSTAND_RELOAD_H

#include <stddef.h>

struct collector;
struct collector_conf;

/* Reloads file; actor (a login, or "SIGHUP") signs the shift log entry.
 * 0 with a one-line summary in msg, or -1 with the error in msg. */
int collector_reload(struct collector *c, const char *file, const char *actor,
                     char *msg, size_t len);

/* The notifier with its dependencies wired: made by main.c at the first
 * takeover, or by a reload that brings notify: to a leader without one. */
struct notifier *collector_notifier_new(struct collector *c);

/* The keys only a restart applies that differ between the running and
 * the new config ("collector.listen, collector.tls"), or "" (returns 0).
 * keep_database: --database was given, its value stays. */
int reload_fixed_keys(const struct collector_conf *run,
                      const struct collector_conf *next, int keep_database,
                      char *buf, size_t len);
/* "rules +2 -1 ~3, calendar unchanged, notify routes ~1, channels
 * unchanged" and the reloadable collector.* keys that changed. */
void reload_summary(const struct collector_conf *run,
                    const struct collector_conf *next, char *buf, size_t len);

#endif
