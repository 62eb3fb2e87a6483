/*
 * A checklist run: the steps' state machine, pure. Who acts, their role,
 * the time, an action's result and the values seen are inputs; every call
 * answers a verdict: applied (the step's old and new state) or refused
 * with the status and the reason the API answers word for word
 * ({"error": reason}). No clock, no network, no database: the run engine
 * sends actions, watches series, writes the shift log and stores the run.
 *
 *   pending -> running (action sent) -> verifying -> done
 *                                                 -> awaiting-confirmation
 *                                                      -> done (a second
 * person) running/verifying -> failed (action failed or refused, verification
 *                        did not hold within its time) -> running again
 *   pending/failed -> skipped (a lead, with a reason)
 *
 * A manual step goes from pending to done when executed (to
 * awaiting-confirmation if two-person; to verifying if it has a verify).
 * A step with only a verify goes to verifying when executed; in a check
 * run, those without `after` start verifying when the run opens.
 */
#ifndef WATCHSTAND_RUN_H
#define WATCHSTAND_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "duty/checklist_conf.h"
#include "duty/users.h"

enum step_state {
	STEP_PENDING,
	STEP_RUNNING,
	STEP_VERIFYING,
	STEP_AWAITING, /* awaiting-confirmation */
	STEP_DONE,
	STEP_FAILED,
	STEP_SKIPPED,
	STEP_N
};
extern const char *const step_state_names[STEP_N];

enum run_state { RUN_OPEN, RUN_DONE, RUN_FAILED, RUN_N };
extern const char *const run_state_names[RUN_N];

/* What the agent answered to an action. */
enum action_outcome {
	ACTION_OK,      /* exit status 0 */
	ACTION_FAILED,  /* non-zero exit, timeout, "agent X is not connected" */
	ACTION_REFUSED, /* the agent does not know the name, or it is busy */
	ACTION_DRILL,   /* a drill: the agent did not run it; verify as usual */
};

struct run_step {
	enum step_state rs_state;
	char *rs_executed_by; /* NULL: nobody (a check item verifying) */
	int64_t rs_executed_at;
	char *rs_confirmed_by;
	int64_t rs_confirmed_at;
	char *rs_skipped_by;
	char *rs_skip_reason;
	int64_t rs_skipped_at;
	int64_t rs_verify_since; /* when the verification began */
	int rs_has_value;        /* the value seen when it held */
	double rs_value;
	int64_t rs_value_at;
	char *rs_result; /* the action's result: its text as reported */
	char *rs_error;  /* why it failed, NULL when it has not */
	int64_t rs_finished_at;
	unsigned rs_attempts; /* times executed */
};

struct run_baseline {
	char *rb_host;
	char *rb_series;
	double rb_value;
};

struct run {
	const struct checklist *r_cl; /* outlives the run */
	int r_drill;
	enum run_state r_state;
	int r_closed; /* ended by hand (run_close): failed for good */
	int64_t r_opened_at;
	int64_t r_finished_at;    /* 0 while open */
	struct run_step *r_steps; /* as cl_steps */
	struct run_baseline *r_baseline;
	size_t r_nbaseline;
};

struct run_verdict {
	int rv_code;         /* 0: applied; else 400, 403 or 409 */
	char rv_reason[256]; /* refused: the reason, for {"error": ...} */
	enum step_state rv_from, rv_to;
	enum run_state rv_run; /* the run's state after the call */
	int rv_run_changed;    /* ... and it changed */
	int rv_send_action;    /* execute: send the step's action now */
	int rv_watch;          /* start watching the step's verification */
};

/* Opens a run of cl at now (drill: a drill run). In a check run the
 * items with only a verify start verifying at once. */
struct run *run_new(const struct checklist *cl, int drill, int64_t now);
void run_free(struct run *r);

/* A person executes a step (by role; pending or failed, predecessors
 * done or skipped). */
int run_execute(struct run *r, size_t step, const char *who,
                enum user_role role, int64_t now, struct run_verdict *v);
/* The agent's answer to the step's action; text is its output's tail or
 * the refusal. */
int run_action_result(struct run *r, size_t step, enum action_outcome outcome,
                      const char *text, int64_t now, struct run_verdict *v);
/* The step's verification held: value seen at time at. */
int run_verified(struct run *r, size_t step, double value, int64_t at,
                 struct run_verdict *v);
/* The step's time ran out (refused before run_verify_deadline). last:
 * the newest value seen, NULL if none. */
int run_verify_timeout(struct run *r, size_t step, const double *last,
                       int64_t now, struct run_verdict *v);
/* When a verifying step's time runs out. */
int64_t run_verify_deadline(const struct run *r, size_t step);
/* A second person confirms a two-person step. */
int run_confirm(struct run *r, size_t step, const char *who,
                enum user_role role, int64_t now, struct run_verdict *v);
/* A lead skips a pending or failed step, with a reason. */
int run_skip(struct run *r, size_t step, const char *who, enum user_role role,
             const char *reason, int64_t now, struct run_verdict *v);
/* Ends an open run for good (abandoned, or its phase ended): failed. */
int run_close(struct run *r, int64_t now, struct run_verdict *v);

/* A change run's baseline: recorded when it opens, read by vs_baseline. */
void run_set_baseline(struct run *r, const char *host, const char *series,
                      double value);
const double *run_baseline(const struct run *r, const char *host,
                           const char *series);

#endif
