/*
 * Agent actions across a collector pair (docs/ha.md). Checklists run on the
 * leader, but an agent may be connected to the follower: the leader's
 * ingest hands such an action here (ingest_set_relay), and it goes through
 * watchstand.action_relay. The collector that has the agent claims the row
 * (once: an UPDATE of rows still 'new'), sends the action with the
 * leader's request id, and writes the result back; the leader takes the
 * result and resolves the waiting step (ingest_action_resolve). A request
 * no collector claims within RELAY_CLAIM_S fails its step: no collector
 * has that agent. Nothing here waits on the database.
 */
#ifndef WATCHSTAND_RELAY_H
#define WATCHSTAND_RELAY_H

struct event_base;
struct ingest;
struct relay;
struct store;

struct relay *relay_new(struct event_base *base, struct store *st,
                        struct ingest *in, const char *holder);
void relay_free(struct relay *r);
/* This collector leads (it relays its requests out) or follows (it
 * claims the leader's requests for its agents). */
void relay_set_leading(struct relay *r, int leading);
/* A NOTIFY heard on the lead connection (lead_deps.ld_notified). */
void relay_notified(struct relay *r, const char *channel);

#endif
