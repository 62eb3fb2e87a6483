/* The shift log: append-only, each entry chained to the one before by a
 * SHA-256 hash (computed by the table's trigger, checked by verify-log).
 * The chain's head is anchored outside the database, in the state
 * directory, so removing the newest entries or recomputing the chain
 * after an edit is noticed too. */
#ifndef WATCHSTAND_SHIFTLOG_H
#define WATCHSTAND_SHIFTLOG_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

struct event_base;
struct store;

#define SHIFTLOG_ANCHOR_FILE "shiftlog.anchor"

/* What the anchor file says: the newest entry the collector saw. */
struct shiftlog_anchor_rec {
	int64_t ar_id;
	char ar_hash[65];    /* hex SHA-256 */
	char ar_written[32]; /* UTC, when the file was written */
};

/* Queues an entry (kinds: alarm, phase, agent, note, event, system). */
struct events;
void shiftlog_add(struct store *st, struct events *ev, const char *kind,
                  const char *actor, const char *text);

/* Reads dir/shiftlog.anchor: 1 read, 0 no such file, -1 unreadable or
 * malformed (err says why). */
int shiftlog_anchor_read(const char *dir, struct shiftlog_anchor_rec *a,
                         char *err, size_t errlen);
/* Replaces dir/shiftlog.anchor durably (temporary file, fsync, rename,
 * fsync of the directory). -1 with err filled when it cannot. */
int shiftlog_anchor_write(const char *dir, int64_t id, const char *hash_hex,
                          char *err, size_t errlen);

/* Follows the chain's head on the store's connection (once a second) and
 * rewrites the anchor whenever it moved forward from the anchored entry.
 * It never moves the anchor past a gap: if the anchored entry is gone or
 * changed, it logs the fact and leaves the file as evidence. */
struct shiftlog_anchor *shiftlog_anchor_new(struct event_base *base,
                                            struct store *st, const char *dir);
void shiftlog_anchor_free(struct shiftlog_anchor *an);
/* Writes an entry on a blocking connection and anchors the new head
 * (start and stop, outside the event loop). -1 when either failed. */
int shiftlog_add_now(PGconn *db, const char *dir, const char *kind,
                     const char *actor, const char *text);

/* Recomputes the chain and checks it against the anchor in state_dir;
 * prints what it finds. 0 intact, 1 broken, -1 when the database or the
 * anchor cannot be read. Blocking: for the command line. */
int shiftlog_verify(const char *conninfo, const char *state_dir);

#endif
