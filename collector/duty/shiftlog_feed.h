/*
 * The shift log's feed: every entry, read back from the database in the
 * order of its ids and published on the bus as EVENT_LOG, whichever
 * statement wrote it (an alarm's, a checklist's, an ack through a phone
 * link). Writers announce EVENT_LOG_WRITTEN after queueing their
 * statement, and the feed's query, queued behind it on the store's one
 * connection, sees the row at once; a slow timer catches a writer that
 * did not announce.
 */
#ifndef WATCHSTAND_SHIFTLOG_FEED_H
#define WATCHSTAND_SHIFTLOG_FEED_H

#include <stdint.h>

struct event_base;
struct events;
struct store;
struct shiftlog_feed;

/* Starts after the newest entry the database has now. */
struct shiftlog_feed *shiftlog_feed_new(struct event_base *base,
                                        struct store *st, struct events *ev);
void shiftlog_feed_free(struct shiftlog_feed *f);
/* The newest entry published (or the head at start); -1 before the
 * database said. A stream's client catches up to it with GET /log. */
int64_t shiftlog_feed_last(const struct shiftlog_feed *f);

#endif
