/*
 * Leadership of a collector pair on one database (docs/ha.md). A dedicated
 * connection tries PostgreSQL advisory lock 7730016 every second; taken,
 * the epoch in watchstand.leader rises and the heartbeat is renewed every
 * second. Losing the connection, or a heartbeat not answered within the
 * lease, is stepping down at once. The server ends a session silent for
 * 4 s (idle_session_timeout), so a paused leader loses the lock too.
 *
 * The same connection LISTENs for the batches a follower committed
 * (watchstand.batch_feed): only the leader reads them, for its rules;
 * and for the action relay's notifications (relay.h), passed on.
 * Nothing here waits on the database.
 */
#ifndef WATCHSTAND_LEAD_H
#define WATCHSTAND_LEAD_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

struct evbuffer;
struct event_base;
struct lead;

struct lead_deps {
	struct event_base *ld_base;
	const char *ld_conninfo;
	const char *ld_holder; /* who we are: host/pid, unique per process */
	const char *ld_url;    /* where our API is (for a follower's 503) */
	/* Leading (1) with epoch, or not any more (0); reason for the log. */
	void (*ld_changed)(void *arg, int leading, int64_t epoch,
	                   const char *reason);
	/* A batch a follower committed (only while leading). */
	void (*ld_batch)(void *arg, const char *host, const char *role,
	                 const uint8_t *payload, size_t len);
	void *ld_arg;
	/* A NOTIFY on watchstand_action or watchstand_action_result (the
	 * action relay, relay.h), leading or not; may be NULL. */
	void (*ld_notified)(void *arg, const char *channel);
};

struct lead *lead_new(const struct lead_deps *d);
void lead_free(struct lead *l);
/* 1 while leading. */
int lead_leading(const struct lead *l);
/* 1 while leading and the heartbeat was renewed within the lease: an
 * outside action (a page, an agent action) is safe to take now. */
int lead_lease_valid(const struct lead *l);
/* lead_lease_valid for a callback (notifier_deps.nd_may_act). */
int lead_may_act(void *l);
/* The epoch this process leads (or last led) in, 0 if never. */
int64_t lead_epoch(const struct lead *l);
/* Since when this process leads or follows (wall clock). */
time_t lead_since(const struct lead *l);
/* The public URL of the collector that leads (this one's own while
 * leading), as the last try for the lock saw it; NULL when unknown. */
const char *lead_leader_url(const struct lead *l);
/* "leader" or "follower". */
const char *lead_role(const struct lead *l);

/* {"role", "epoch", "since"} for /healthz and /api/v1/status. */
json_t *lead_json(const struct lead *l);
/* watchstand_leader, _epoch, _since_seconds for /metrics. */
void lead_metrics(const struct lead *l, struct evbuffer *out);

#endif
