/* A checklist run's state machine: pure, every refusal with its reason. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watchstand/xalloc.h"
#include "duty/run.h"

const char *const step_state_names[STEP_N] = {
    "pending", "running", "verifying", "awaiting-confirmation",
    "done",    "failed",  "skipped"};
const char *const run_state_names[RUN_N] = {"open", "done", "failed"};

static void
set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = xstrdup(s);
}

static void
verdict_init(struct run *r, size_t step, struct run_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->rv_run = r->r_state;
	if (step < r->r_cl->cl_nsteps)
		v->rv_from = v->rv_to = r->r_steps[step].rs_state;
}

static int refuse(struct run_verdict *v, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
refuse(struct run_verdict *v, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->rv_reason, sizeof(v->rv_reason), fmt, ap);
	va_end(ap);
	v->rv_code = code;
	return -1;
}

/* done when every step is done or skipped; failed while one has failed */
static void
run_settle(struct run *r, int64_t now, struct run_verdict *v)
{
	enum run_state old = r->r_state, st = RUN_DONE;
	size_t i;

	if (r->r_closed)
		st = RUN_FAILED;
	else
		for (i = 0; i < r->r_cl->cl_nsteps; i++) {
			enum step_state s = r->r_steps[i].rs_state;

			if (s == STEP_FAILED)
				st = RUN_FAILED;
			else if (s != STEP_DONE && s != STEP_SKIPPED &&
			         st == RUN_DONE)
				st = RUN_OPEN;
		}
	r->r_state = st;
	if ((st == RUN_DONE || r->r_closed) && r->r_finished_at == 0)
		r->r_finished_at = now;
	v->rv_run = st;
	v->rv_run_changed = st != old;
}

/* Common refusals: an unknown step, a run that is over. */
static int
run_check(struct run *r, size_t step, struct run_verdict *v)
{
	verdict_init(r, step, v);
	if (step >= r->r_cl->cl_nsteps)
		return refuse(v, 404, "no such step");
	if (r->r_closed)
		return refuse(v, 409, "the run is closed");
	if (r->r_state == RUN_DONE)
		return refuse(v, 409, "the run is done");
	return 0;
}

static const char *
step_name(const struct run *r, size_t step)
{
	return r->r_cl->cl_steps[step].cs_name;
}

static void
step_to(struct run *r, size_t step, enum step_state to, int64_t now,
        struct run_verdict *v)
{
	struct run_step *rs = &r->r_steps[step];

	rs->rs_state = to;
	if (to == STEP_VERIFYING) {
		rs->rs_verify_since = now;
		v->rv_watch = 1;
	}
	if (to == STEP_DONE || to == STEP_FAILED || to == STEP_SKIPPED ||
	    to == STEP_AWAITING)
		rs->rs_finished_at = now;
	v->rv_to = to;
	run_settle(r, now, v);
}

/* After the action (or the person) did its part: verify, or confirm. */
static enum step_state
step_next(const struct checklist_step *s)
{
	if (s->cs_verify.cv_series != NULL)
		return STEP_VERIFYING;
	return s->cs_two_person ? STEP_AWAITING : STEP_DONE;
}

struct run *
run_new(const struct checklist *cl, int drill, int64_t now)
{
	struct run *r = xcalloc(1, sizeof(*r));
	size_t i;

	if (r == NULL)
		abort();
	r->r_cl = cl;
	r->r_drill = drill;
	r->r_opened_at = now;
	r->r_steps =
	    xcalloc(cl->cl_nsteps ? cl->cl_nsteps : 1, sizeof(*r->r_steps));
	if (r->r_steps == NULL)
		abort();
	/* A check verifies its items at once. */
	for (i = 0; cl->cl_kind == CK_CHECK && i < cl->cl_nsteps; i++) {
		const struct checklist_step *s = &cl->cl_steps[i];

		if (s->cs_verify.cv_series != NULL && s->cs_manual == NULL &&
		    s->cs_action == NULL && s->cs_npred == 0) {
			r->r_steps[i].rs_state = STEP_VERIFYING;
			r->r_steps[i].rs_verify_since = now;
			r->r_steps[i].rs_attempts = 1;
		}
	}
	return r;
}

void
run_free(struct run *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->r_cl->cl_nsteps; i++) {
		struct run_step *rs = &r->r_steps[i];

		free(rs->rs_executed_by);
		free(rs->rs_confirmed_by);
		free(rs->rs_skipped_by);
		free(rs->rs_skip_reason);
		free(rs->rs_result);
		free(rs->rs_error);
	}
	for (i = 0; i < r->r_nbaseline; i++) {
		free(r->r_baseline[i].rb_host);
		free(r->r_baseline[i].rb_series);
	}
	free(r->r_baseline);
	free(r->r_steps);
	free(r);
}

int
run_execute(struct run *r, size_t step, const char *who, enum user_role role,
            int64_t now, struct run_verdict *v)
{
	const struct checklist_step *s;
	struct run_step *rs;
	char names[200];
	size_t i, off = 0;

	if (run_check(r, step, v) == -1)
		return -1;
	s = &r->r_cl->cl_steps[step];
	rs = &r->r_steps[step];
	if (role < ROLE_WATCHSTANDER)
		return refuse(v, 403, "executing a step needs a watchstander");
	if (rs->rs_state != STEP_PENDING && rs->rs_state != STEP_FAILED)
		return refuse(v, 409,
		              "step %s is %s: only a pending or failed step "
		              "can be executed",
		              s->cs_name, step_state_names[rs->rs_state]);
	names[0] = '\0';
	for (i = 0; i < s->cs_npred; i++) {
		enum step_state ps = r->r_steps[s->cs_pred[i]].rs_state;

		if (ps != STEP_DONE && ps != STEP_SKIPPED &&
		    off < sizeof(names))
			off += snprintf(names + off, sizeof(names) - off,
			                "%s%s", off ? ", " : "",
			                step_name(r, s->cs_pred[i]));
	}
	if (off > 0)
		return refuse(v, 409, "predecessors not done: %s", names);
	set_str(&rs->rs_executed_by, who);
	rs->rs_executed_at = now;
	set_str(&rs->rs_confirmed_by, NULL);
	rs->rs_confirmed_at = 0;
	set_str(&rs->rs_result, NULL);
	set_str(&rs->rs_error, NULL);
	rs->rs_has_value = 0;
	rs->rs_finished_at = 0;
	rs->rs_attempts++;
	if (s->cs_action != NULL) {
		v->rv_send_action = 1;
		step_to(r, step, STEP_RUNNING, now, v);
	} else
		step_to(r, step, step_next(s), now, v);
	return 0;
}

int
run_action_result(struct run *r, size_t step, enum action_outcome outcome,
                  const char *text, int64_t now, struct run_verdict *v)
{
	const struct checklist_step *s;
	struct run_step *rs;
	char why[256];

	if (run_check(r, step, v) == -1)
		return -1;
	s = &r->r_cl->cl_steps[step];
	rs = &r->r_steps[step];
	if (rs->rs_state != STEP_RUNNING)
		return refuse(v, 409,
		              "step %s has no action running (it is %s)",
		              s->cs_name, step_state_names[rs->rs_state]);
	set_str(&rs->rs_result, text);
	switch (outcome) {
	case ACTION_OK:
	case ACTION_DRILL:
		step_to(r, step, step_next(s), now, v);
		break;
	case ACTION_FAILED:
	case ACTION_REFUSED:
		snprintf(why, sizeof(why), "action %s %s%s%s", s->cs_action,
		         outcome == ACTION_FAILED ? "failed" : "refused",
		         text != NULL && text[0] ? ": " : "", text ? text : "");
		set_str(&rs->rs_error, why);
		step_to(r, step, STEP_FAILED, now, v);
		break;
	}
	return 0;
}

int
run_verified(struct run *r, size_t step, double value, int64_t at,
             struct run_verdict *v)
{
	const struct checklist_step *s;
	struct run_step *rs;

	if (run_check(r, step, v) == -1)
		return -1;
	s = &r->r_cl->cl_steps[step];
	rs = &r->r_steps[step];
	if (rs->rs_state != STEP_VERIFYING)
		return refuse(v, 409, "step %s is not verifying (it is %s)",
		              s->cs_name, step_state_names[rs->rs_state]);
	rs->rs_has_value = 1;
	rs->rs_value = value;
	rs->rs_value_at = at;
	step_to(r, step, s->cs_two_person ? STEP_AWAITING : STEP_DONE, at, v);
	return 0;
}

int64_t
run_verify_deadline(const struct run *r, size_t step)
{
	if (step >= r->r_cl->cl_nsteps)
		return 0;
	return r->r_steps[step].rs_verify_since +
	       r->r_cl->cl_steps[step].cs_verify.cv_within_ms;
}

int
run_verify_timeout(struct run *r, size_t step, const double *last, int64_t now,
                   struct run_verdict *v)
{
	const struct checklist_step *s;
	struct run_step *rs;
	char why[256], dur[32];
	int64_t within;

	if (run_check(r, step, v) == -1)
		return -1;
	s = &r->r_cl->cl_steps[step];
	rs = &r->r_steps[step];
	if (rs->rs_state != STEP_VERIFYING)
		return refuse(v, 409, "step %s is not verifying (it is %s)",
		              s->cs_name, step_state_names[rs->rs_state]);
	if (now < run_verify_deadline(r, step))
		return refuse(v, 409, "step %s: its verification has time left",
		              s->cs_name);
	within = s->cs_verify.cv_within_ms;
	if (within % 1000 == 0)
		snprintf(dur, sizeof(dur), "%llds", (long long)(within / 1000));
	else
		snprintf(dur, sizeof(dur), "%lldms", (long long)within);
	/* Without `within` (a check's item) the verification was at once. */
	if (within == 0 && last != NULL)
		snprintf(why, sizeof(why), "%s does not hold (value %g)",
		         s->cs_verify.cv_series, *last);
	else if (within == 0)
		snprintf(why, sizeof(why),
		         "%s: no value from %s (silent, or it sends no such "
		         "series)",
		         s->cs_verify.cv_series,
		         s->cs_host != NULL ? s->cs_host : "its host");
	else if (last != NULL)
		snprintf(why, sizeof(why),
		         "%s did not hold within %s (last value %g)",
		         s->cs_verify.cv_series, dur, *last);
	else
		snprintf(why, sizeof(why),
		         "%s did not hold within %s (no value seen)",
		         s->cs_verify.cv_series, dur);
	set_str(&rs->rs_error, why);
	if (last != NULL) {
		rs->rs_has_value = 1;
		rs->rs_value = *last;
		rs->rs_value_at = now;
	}
	step_to(r, step, STEP_FAILED, now, v);
	return 0;
}

int
run_confirm(struct run *r, size_t step, const char *who, enum user_role role,
            int64_t now, struct run_verdict *v)
{
	const struct checklist_step *s;
	struct run_step *rs;

	if (run_check(r, step, v) == -1)
		return -1;
	s = &r->r_cl->cl_steps[step];
	rs = &r->r_steps[step];
	if (role < ROLE_WATCHSTANDER)
		return refuse(v, 403, "confirming a step needs a watchstander");
	if (rs->rs_state != STEP_AWAITING)
		return refuse(v, 409,
		              "step %s is not awaiting confirmation (it is %s)",
		              s->cs_name, step_state_names[rs->rs_state]);
	if (rs->rs_executed_by != NULL && who != NULL &&
	    strcmp(rs->rs_executed_by, who) == 0)
		return refuse(v, 409,
		              "the person who executed a step cannot confirm "
		              "it");
	set_str(&rs->rs_confirmed_by, who);
	rs->rs_confirmed_at = now;
	step_to(r, step, STEP_DONE, now, v);
	return 0;
}

int
run_skip(struct run *r, size_t step, const char *who, enum user_role role,
         const char *reason, int64_t now, struct run_verdict *v)
{
	const struct checklist_step *s;
	struct run_step *rs;

	if (run_check(r, step, v) == -1)
		return -1;
	s = &r->r_cl->cl_steps[step];
	rs = &r->r_steps[step];
	if (role < ROLE_LEAD)
		return refuse(v, 403, "skipping a step needs a lead");
	if (reason == NULL || reason[strspn(reason, " \t\r\n")] == '\0')
		return refuse(v, 400, "skipping a step needs a reason");
	/* Running too: an action whose result never comes (the agent died
	 * with it) must not hold the run for ever; a lead decides. */
	if (rs->rs_state != STEP_PENDING && rs->rs_state != STEP_FAILED &&
	    rs->rs_state != STEP_RUNNING)
		return refuse(v, 409,
		              "step %s is %s: only a pending, running or "
		              "failed step can be skipped",
		              s->cs_name, step_state_names[rs->rs_state]);
	set_str(&rs->rs_skipped_by, who);
	set_str(&rs->rs_skip_reason, reason);
	rs->rs_skipped_at = now;
	step_to(r, step, STEP_SKIPPED, now, v);
	return 0;
}

int
run_close(struct run *r, int64_t now, struct run_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->rv_run = r->r_state;
	if (r->r_closed)
		return refuse(v, 409, "the run is closed");
	if (r->r_state == RUN_DONE)
		return refuse(v, 409, "the run is done");
	r->r_closed = 1;
	run_settle(r, now, v);
	return 0;
}

void
run_set_baseline(struct run *r, const char *host, const char *series,
                 double value)
{
	struct run_baseline *b;
	size_t i;

	for (i = 0; i < r->r_nbaseline; i++)
		if (strcmp(r->r_baseline[i].rb_host, host) == 0 &&
		    strcmp(r->r_baseline[i].rb_series, series) == 0) {
			r->r_baseline[i].rb_value = value;
			return;
		}
	b = xrealloc(r->r_baseline, (r->r_nbaseline + 1) * sizeof(*b));
	if (b == NULL)
		abort();
	r->r_baseline = b;
	b[r->r_nbaseline].rb_host = xstrdup(host);
	b[r->r_nbaseline].rb_series = xstrdup(series);
	b[r->r_nbaseline].rb_value = value;
	r->r_nbaseline++;
}

const double *
run_baseline(const struct run *r, const char *host, const char *series)
{
	size_t i;

	for (i = 0; i < r->r_nbaseline; i++)
		if (strcmp(r->r_baseline[i].rb_host, host) == 0 &&
		    strcmp(r->r_baseline[i].rb_series, series) == 0)
			return &r->r_baseline[i].rb_value;
	return NULL;
}
