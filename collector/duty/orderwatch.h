/*
 * The order watch, pure: for every startup checklist, a step whose
 * verification starts to hold while a predecessor's does not is an order
 * violation (a process started out of order). The caller says, for each
 * step, whether its verification holds now; the watch answers raise and
 * clear decisions, which the caller turns into alarms of rule
 * `order-violation` on the step's host. No clock, no database.
 *
 * - "Starts to hold" is a change from no to yes. Unknown (the host's agent
 *   is silent, or nothing seen yet) is neither: unknown -> yes raises
 *   nothing, so a collector or agent restart raises no old news.
 * - A predecessor whose verification is unknown is not "not holding": no
 *   violation when the database host's agent restarts.
 * - A predecessor without a verification (a manual step) is looked
 *   through: its own predecessors count instead.
 * - A violation clears when the predecessor holds again (order restored)
 *   or the step stops holding (the process stopped).
 */
#ifndef WATCHSTAND_ORDERWATCH_H
#define WATCHSTAND_ORDERWATCH_H

#include <stddef.h>

#include "duty/checklist_conf.h"

enum ow_holds { OW_UNKNOWN, OW_NO, OW_YES };

enum ow_what { OW_RAISE, OW_CLEAR };
enum ow_why {
	OW_STARTED_EARLY, /* raise: the step started, the predecessor not */
	OW_RESTORED,      /* clear: the predecessor holds now */
	OW_STOPPED,       /* clear: the step no longer holds */
};

struct ow_decision {
	enum ow_what od_what;
	enum ow_why od_why;
	const struct checklist *od_cl;
	size_t od_step; /* index into od_cl->cl_steps */
	size_t od_pred;
	const char *od_host; /* the step's host: the alarm's host */
};

/* A list the caller empties (n = 0) or frees (ow_decisions_free). */
struct ow_decisions {
	struct ow_decision *od;
	size_t n, cap;
};
void ow_decisions_free(struct ow_decisions *d);

struct orderwatch;

/* Watches every startup checklist of cc (which outlives the watch). */
struct orderwatch *orderwatch_new(const struct checklists_conf *cc);
void orderwatch_free(struct orderwatch *ow);

/*
 * What the steps of cl (a startup checklist of the watch's cc) show now:
 * holds[i] for cl_steps[i] (steps without a verification are ignored).
 * Appends the decisions to out; returns how many, or -1 if cl is not
 * watched.
 */
int orderwatch_update(struct orderwatch *ow, const struct checklist *cl,
                      const enum ow_holds *holds, struct ow_decisions *out);

/* Whether the violation (cl, step, pred) is raised now. */
int orderwatch_active(const struct orderwatch *ow, const struct checklist *cl,
                      size_t step, size_t pred);

/* A step's observation from its host's newest value: unknown when the
 * host's agent is silent or no value was seen (value NULL). */
enum ow_holds orderwatch_holds(const struct checklist_step *s, int host_alive,
                               const double *value);

/* The alarm's text: "start-of-day: quote started while db does not hold". */
void orderwatch_text(const struct ow_decision *d, char *buf, size_t len);

#endif
