/* The shift log: append-only, each entry chained to the one before by a
 * SHA-256 hash (computed by the table's trigger, checked by verify-log). */
#ifndef WATCHSTAND_SHIFTLOG_H
#define WATCHSTAND_SHIFTLOG_H

struct store;

/* Queues an entry (kinds: alarm, phase, agent, note, event). */
void shiftlog_add(struct store *st, const char *kind, const char *actor,
                  const char *text);
/* Recomputes the chain; prints the first bad entry. 0 intact, 1 broken,
 * -1 when the database cannot be read. Blocking: for the command line. */
int shiftlog_verify(const char *conninfo);

#endif
