/*
 * Asynchronous PostgreSQL writer. Batches from all agents are grouped into
 * one transaction (COPY binary) and acknowledged only after COMMIT; the
 * agents' sequence numbers are checked under a row lock so a replay stores
 * nothing twice. Nothing here ever waits on the database.
 */
#ifndef WATCHSTAND_STORE_H
#define WATCHSTAND_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "watchstand/proto.h"

struct collector_stats;
struct event_base;
struct store;

struct store_callbacks {
	/* agent_id < 0 on failure; last_seq is for the hello's stream. */
	void (*sc_hello)(void *arg, uint64_t conn_id, int agent_id,
	                 uint64_t last_seq);
	/* The batch is committed (dup: it was stored before, a replay):
	 * acknowledge it; payload is valid during the call only. */
	void (*sc_committed)(void *arg, uint64_t conn_id, int agent_id,
	                     uint64_t seq, const uint8_t *payload, size_t len,
	                     int dup);
	/* The queue fell below its low mark: reading may resume. */
	void (*sc_drained)(void *arg);
	void *sc_arg;
};

/* Counts into stats (shared with /metrics). */
struct store *store_new(struct event_base *base, struct collector_stats *stats,
                        const char *conninfo, uint64_t retention_ms);
/* Who hears about hellos and commits (the ingest); NULL: nobody. */
void store_set_callbacks(struct store *st, const struct store_callbacks *cb);
void store_free(struct store *st);
/* A reload: collector.retention from now on. */
void store_set_retention(struct store *st, uint64_t retention_ms);
void store_hello(struct store *st, uint64_t conn_id,
                 const struct proto_hello *h, const char *address);
/* Takes a copy of the batch payload (already validated). */
void store_batch(struct store *st, uint64_t conn_id, int agent_id,
                 uint64_t stream, uint64_t seq, uint32_t count,
                 const uint8_t *payload, size_t len);
/* A follower (collector: its holder name) stores every new batch in
 * watchstand.batch_feed too, in the same transaction, and NOTIFYs
 * watchstand_batch at its commit; NULL (the leader): no feed. Takes
 * effect from the next transaction; a batch of a transaction begun while
 * leading and committed after is fed right after its commit. */
void store_set_feed(struct store *st, const char *collector);
#define STORE_SQL_PARAMS 12
/* r is valid during the call only; NULL when the statement never ran. */
typedef void (*store_query_fn)(void *arg, PGresult *r);
/* One statement, in order with the others, after hellos, before data
 * (alarm transitions, shift log entries). Params are copied. */
void store_sql(struct store *st, const char *sql, int nparams,
               const char *const *params);
/* The same, with the result handed to cb (an API query). */
void store_query(struct store *st, const char *sql, int nparams,
                 const char *const *params, store_query_fn cb, void *arg);
/*
 * The same for a caller who is waiting (an API request): -1 at once when
 * the database is down (cb is not called). Otherwise cb is called once,
 * with NULL when the connection drops or the statement could not be sent
 * within deadline_ms; such a statement is never sent later.
 */
int store_query_by(struct store *st, const char *sql, int nparams,
                   const char *const *params, store_query_fn cb, void *arg,
                   int deadline_ms);
/* The leader epoch this collector leads (or last led) in, 0 if never:
 * set on this and every later connection, in order with the statements
 * queued before and after. The database refuses leader-only writes from
 * an epoch older than the newest (docs/ha.md). */
void store_set_epoch(struct store *st, int64_t epoch);
/* 1 when the connection is up and the schema checked. */
int store_up(const struct store *st);
/* A PostgreSQL array literal of v, "{1,-2,3}" (malloc'd): values go to
 * the server as parameters, never spliced into SQL. */
char *store_array_text(const int64_t *v, size_t n);
/* 1 when the write queue is over its high mark. */
int store_full(struct store *st);

#endif
