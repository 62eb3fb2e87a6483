/*
 * Alarms: the ISA-18.2 lifecycle of rule outcomes, kept in memory for
 * decisions and written to PostgreSQL (alarms, shift log) through the
 * store's ordered queue. Host silence raises one host alarm and
 * suppresses that host's other alarms until it returns.
 *
 * This file owns every change of an alarm's state: raise, level change,
 * clear (rule outcomes), ack (by a user or a link), shelve, unshelve,
 * hosts out of and back in service, and the ends of shelving and of out
 * of service when their time is over. What happened is published on the
 * bus (events.h): the shift log entries, EVENT_ALARM_RAISED, _CLEARED and
 * _RETURNED. Which state an event leads to is alarm_state.h's table.
 */
#ifndef WATCHSTAND_ALARM_H
#define WATCHSTAND_ALARM_H

#include <stdint.h>

#include "alarm/alarm_state.h"
#include "alarm/rules.h"

struct alarms;
struct events;
struct rules_engine;
struct store;

/* The store writes, the bus hears, the rules engine forgets a host that
 * is back (in service, or its agent returned). */
struct alarms *alarms_new(struct store *st, struct events *ev,
                          struct rules_engine *rules);
void alarms_free(struct alarms *a);
/* A rules_fn: a rule's transition on one series. */
void alarms_outcome(void *arg, const struct rule *r, const char *host,
                    const char *series, const struct rule_outcome *o);
/* An alarm decided outside the rules engine (the order watch): raised
 * (or its severity changed) and cleared through the same path as a
 * rule's, so it is logged, paged and clears like any alarm. what is the
 * text after "RAISE sev rule on host: ". */
void alarms_raise_external(struct alarms *a, const char *rule, const char *host,
                           const char *series, enum severity sev,
                           const char *description, const char *what);
void alarms_clear_external(struct alarms *a, const char *rule, const char *host,
                           const char *series, const char *what);
/* The agent of host fell silent (1) or is back (0). */
void alarms_host_silent(struct alarms *a, const char *host, int silent,
                        const char *why);
int alarms_open(struct alarms *a);
/* Forgets what is in memory (leadership changed hands, lead.h): the rows
 * stay, and a new leader's rules adopt those that still hold. */
void alarms_forget(struct alarms *a);
/* The host's silence alarm was open when this collector took the lead:
 * its return clears it as if this collector had raised it. */
void alarms_adopt_silent(struct alarms *a, const char *host);
/* 1 for the rule of host silence alarms (agent-silent). */
int alarms_is_host_rule(const char *rule);
/* Ends shelving and out of service whose time is over (every few
 * seconds is soon enough). */
void alarms_expire(struct alarms *a);

/* The outcome of a change asked for by someone. */
enum alarm_status {
	ALARM_DONE,      /* ar_state: the state now */
	ALARM_NOT_FOUND, /* no such alarm (host for the service calls) */
	ALARM_REFUSED,   /* not in its state: ar_state, the state it is in */
	ALARM_LINK_USED, /* that ack link was used before (ar_used_at) */
	ALARM_NO_RESULT, /* no answer: the connection dropped, or the
	                    statement was not sent before the deadline (then
	                    nothing was applied) */
	ALARM_DB_ERROR,  /* the database refused it (ar_error) */
};

struct alarm_result {
	enum alarm_status ar_status;
	int64_t ar_id;             /* the alarm */
	const char *ar_host;       /* the host (service calls) */
	enum alarm_state ar_state; /* see ar_status */
	const char *ar_state_name; /* its name */
	const char *ar_until;      /* shelved until, out of service until */
	const char *ar_used_at;    /* ALARM_LINK_USED */
	int ar_count;              /* the host's alarms held back or closed */
	const char *ar_error;      /* ALARM_DB_ERROR */
};

/* Called once with the result (valid during the call only). */
typedef void (*alarm_done_fn)(void *arg, const struct alarm_result *res);

/*
 * Changes asked for by a user (who) or a link. With deadline_ms > 0 the
 * caller is waiting: -1 at once when the database is down (cb is not
 * called), ALARM_NO_RESULT when the statement could not be sent within
 * deadline_ms (it is never sent later). With 0, the change is queued.
 */
int alarm_ack(struct alarms *a, int64_t id, const char *who,
              const char *comment, int deadline_ms, alarm_done_fn cb,
              void *arg);
/* The same through a phone's ack link (sig: its signature), which is
 * spent only when it acknowledged. */
int alarm_ack_link(struct alarms *a, int64_t id, const char *who,
                   const char *sig, int deadline_ms, alarm_done_fn cb,
                   void *arg);
int alarm_shelve(struct alarms *a, int64_t id, const char *who, int64_t minutes,
                 const char *reason, int deadline_ms, alarm_done_fn cb,
                 void *arg);
int alarm_unshelve(struct alarms *a, int64_t id, const char *who,
                   int deadline_ms, alarm_done_fn cb, void *arg);
/* A host's open alarms (and new ones) held back for minutes; back in
 * service, they are closed and its series evaluated afresh. */
int alarms_host_out_of_service(struct alarms *a, const char *host,
                               const char *who, int64_t minutes,
                               const char *reason, int deadline_ms,
                               alarm_done_fn cb, void *arg);
int alarms_host_in_service(struct alarms *a, const char *host, const char *who,
                           int deadline_ms, alarm_done_fn cb, void *arg);

#endif
