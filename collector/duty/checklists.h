/*
 * The checklist run engine: opens runs (by hand over the API, or when a
 * scheduled phase begins), sends step actions to the agents, watches the
 * series the steps verify, takes confirmations and skips, writes every
 * change to the database (watchstand.checklist_runs, checklist_steps) and
 * to the shift log, and ends each run with its report. It also runs the
 * order watch over every startup checklist, raising and clearing alarms
 * of rule `order-violation` through alarm.c.
 *
 * The state machine is duty/run.h's, the order watch duty/orderwatch.h's;
 * this file is the glue with the clock, the link, the store and alarms.
 * Everything it needs comes from its constructor (main.c wires it).
 */
#ifndef WATCHSTAND_CHECKLISTS_H
#define WATCHSTAND_CHECKLISTS_H

#include <stddef.h>
#include <stdint.h>

#include "alarm/rules.h"
#include "duty/checklist_conf.h"
#include "duty/users.h"

struct action_result;
struct alarms;
struct calendar;
struct event_base;
struct events;
struct ingest;
struct store;

struct checklists_deps {
	struct event_base *cd_base;
	struct store *cd_store;
	struct events *cd_events;
	struct ingest *cd_ingest;
	struct alarms *cd_alarms;
	const struct checklists_conf *cd_conf; /* outlives the engine */
	const struct calendar *cd_cal;
	const char *const *cd_phase; /* the calendar's phase now */
	/* 1 when this collector may send an agent an action now (it leads,
	 * lead.h); NULL: always. */
	int (*cd_may_act)(void *arg);
	void *cd_may_act_arg;
	/* An agent the database saw within this is alive (its newest
	 * stored values stand in until it sends again). */
	int64_t cd_agent_silence_ms;
};

struct checklists *checklists_new(const struct checklists_deps *d);
/* Before the API and the ingest go: no more callbacks into them. */
void checklists_stop(struct checklists *e);
/* After the store is freed (its callbacks may still reach the runs). */
void checklists_free(struct checklists *e);

/* A reload: cd_conf now holds the new checklists, old the ones it
 * replaced. Runs in memory keep pointing into old, which the engine then
 * takes over (old is left empty); the order watch starts afresh on the
 * new ones, its raised violations cleared. */
void checklists_reconfigure(struct checklists *e, struct checklists_conf *old);

/* A sample of a committed batch (collector_on_batch). */
void checklists_sample(struct checklists *e, const char *host,
                       const char *series, size_t series_len, double value,
                       int64_t now_ms);
/* host's agent fell silent (1) or is back (0). */
void checklists_host_silent(struct checklists *e, const char *host, int silent);
/* The calendar's phase changed from old (NULL at start) to now. */
void checklists_phase(struct checklists *e, const char *old, const char *now);
/* An action result whose request this process did not send (it was sent
 * before a restart): recorded against the step by request id. */
void checklists_action_late(struct checklists *e,
                            const struct action_result *r);

/* Called once when an open finished: code 201 with the run's id, or an
 * HTTP status and err. */
typedef void (*checklists_open_fn)(void *arg, int code, int64_t id,
                                   const char *err);
/* Opens a run of name. 0: cb will be called; otherwise the status (404,
 * 409, 503) with err, and cb is not called. */
int checklists_open(struct checklists *e, const char *name, int drill,
                    const char *who, checklists_open_fn cb, void *arg,
                    char *err, size_t errlen);

enum checklists_op { CHK_EXECUTE, CHK_CONFIRM, CHK_SKIP };
/* A person acts on a step of an open run. 0 applied; otherwise the status
 * (400, 403, 404, 409) with the reason in err. */
int checklists_step(struct checklists *e, int64_t run_id, const char *step,
                    enum checklists_op op, const char *who, enum user_role role,
                    const char *reason, char *err, size_t errlen);

/* An order violation's severity in phase: critical while trading (and
 * when no phase is known), minor in the calendar's default phase
 * (closed), major in its other phases. */
enum severity checklists_order_severity(const char *phase,
                                        const char *default_phase);

/* The procedure checklist a rule's runbook names, or NULL. */
const char *checklists_procedure(const struct checklists_conf *cc,
                                 const char *runbook);

#endif
