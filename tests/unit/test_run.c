/* The run's step state machine: every (state, event) as a table, then
 * predecessors, manual steps, checks, drills, roles and the run's state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "duty/run.h"

/* Steps built by hand: name, host, action, manual, verify series, within,
 * two-person, predecessors (indices, -1 ends). */
struct spec {
	const char *name, *host, *action, *manual, *series;
	int64_t within;
	int two;
	int pred[4];
};

static struct checklist *
cl_new(enum checklist_kind kind, const struct spec *sp, size_t n)
{
	struct checklist *cl = calloc(1, sizeof(*cl));
	size_t i, j;

	cl->cl_name = "t";
	cl->cl_kind = kind;
	cl->cl_steps = calloc(n, sizeof(*cl->cl_steps));
	cl->cl_nsteps = n;
	for (i = 0; i < n; i++) {
		struct checklist_step *s = &cl->cl_steps[i];

		s->cs_name = (char *)sp[i].name;
		s->cs_host = (char *)sp[i].host;
		s->cs_action = (char *)sp[i].action;
		s->cs_manual = (char *)sp[i].manual;
		s->cs_verify.cv_series = (char *)sp[i].series;
		s->cs_verify.cv_op = OP_GE;
		s->cs_verify.cv_threshold = 1;
		s->cs_verify.cv_within_ms = sp[i].within;
		s->cs_two_person = sp[i].two;
		s->cs_pred = calloc(4, sizeof(size_t));
		for (j = 0; j < 4 && sp[i].pred[j] >= 0; j++)
			s->cs_pred[s->cs_npred++] = (size_t)sp[i].pred[j];
	}
	return cl;
}

static void
cl_free(struct checklist *cl)
{
	size_t i;

	for (i = 0; i < cl->cl_nsteps; i++)
		free(cl->cl_steps[i].cs_pred);
	free(cl->cl_steps);
	free(cl);
}

enum ev {
	EV_EXECUTE,
	EV_ACTION_OK,
	EV_ACTION_FAILED,
	EV_ACTION_REFUSED,
	EV_HELD,
	EV_TIMEOUT,
	EV_CONFIRM,          /* by bob, not the executor */
	EV_CONFIRM_EXECUTOR, /* by alice, who executed */
	EV_SKIP,             /* by carol, a lead, with a reason */
	EV_N
};

static int
apply(struct run *r, size_t step, enum ev e, struct run_verdict *v)
{
	double last = 0;

	switch (e) {
	case EV_EXECUTE:
		return run_execute(r, step, "bob", ROLE_WATCHSTANDER, 100000,
		                   v);
	case EV_ACTION_OK:
		return run_action_result(r, step, ACTION_OK, "started", 100000,
		                         v);
	case EV_ACTION_FAILED:
		return run_action_result(r, step, ACTION_FAILED, "exit 1",
		                         100000, v);
	case EV_ACTION_REFUSED:
		return run_action_result(r, step, ACTION_REFUSED,
		                         "unknown action", 100000, v);
	case EV_HELD:
		return run_verified(r, step, 2, 100000, v);
	case EV_TIMEOUT:
		return run_verify_timeout(r, step, &last, 100000, v);
	case EV_CONFIRM:
		return run_confirm(r, step, "bob", ROLE_WATCHSTANDER, 100000,
		                   v);
	case EV_CONFIRM_EXECUTOR:
		return run_confirm(r, step, "alice", ROLE_WATCHSTANDER, 100000,
		                   v);
	case EV_SKIP:
		return run_skip(r, step, "carol", ROLE_LEAD, "not today",
		                100000, v);
	case EV_N:
		break;
	}
	return -1;
}

#define REFUSED (-1)

struct row {
	enum step_state from;
	enum ev ev;
	int to; /* a step_state, or REFUSED */
	const char *reason;
};

/* Step a: action, verify within 60s, two-person, executed by alice. */
static const struct row table[] = {
    {STEP_PENDING, EV_EXECUTE, STEP_RUNNING, NULL},
    {STEP_PENDING, EV_ACTION_OK, REFUSED,
     "step a has no action running (it is pending)"},
    {STEP_PENDING, EV_ACTION_FAILED, REFUSED,
     "step a has no action running (it is pending)"},
    {STEP_PENDING, EV_ACTION_REFUSED, REFUSED,
     "step a has no action running (it is pending)"},
    {STEP_PENDING, EV_HELD, REFUSED, "step a is not verifying (it is pending)"},
    {STEP_PENDING, EV_TIMEOUT, REFUSED,
     "step a is not verifying (it is pending)"},
    {STEP_PENDING, EV_CONFIRM, REFUSED,
     "step a is not awaiting confirmation (it is pending)"},
    {STEP_PENDING, EV_CONFIRM_EXECUTOR, REFUSED,
     "step a is not awaiting confirmation (it is pending)"},
    {STEP_PENDING, EV_SKIP, STEP_SKIPPED, NULL},

    {STEP_RUNNING, EV_EXECUTE, REFUSED,
     "step a is running: only a pending or failed step can be executed"},
    {STEP_RUNNING, EV_ACTION_OK, STEP_VERIFYING, NULL},
    {STEP_RUNNING, EV_ACTION_FAILED, STEP_FAILED, NULL},
    {STEP_RUNNING, EV_ACTION_REFUSED, STEP_FAILED, NULL},
    {STEP_RUNNING, EV_HELD, REFUSED, "step a is not verifying (it is running)"},
    {STEP_RUNNING, EV_TIMEOUT, REFUSED,
     "step a is not verifying (it is running)"},
    {STEP_RUNNING, EV_CONFIRM, REFUSED,
     "step a is not awaiting confirmation (it is running)"},
    {STEP_RUNNING, EV_CONFIRM_EXECUTOR, REFUSED,
     "step a is not awaiting confirmation (it is running)"},
    {STEP_RUNNING, EV_SKIP, STEP_SKIPPED, NULL},

    {STEP_VERIFYING, EV_EXECUTE, REFUSED,
     "step a is verifying: only a pending or failed step can be executed"},
    {STEP_VERIFYING, EV_ACTION_OK, REFUSED,
     "step a has no action running (it is verifying)"},
    {STEP_VERIFYING, EV_ACTION_FAILED, REFUSED,
     "step a has no action running (it is verifying)"},
    {STEP_VERIFYING, EV_ACTION_REFUSED, REFUSED,
     "step a has no action running (it is verifying)"},
    {STEP_VERIFYING, EV_HELD, STEP_AWAITING, NULL},
    {STEP_VERIFYING, EV_TIMEOUT, STEP_FAILED, NULL},
    {STEP_VERIFYING, EV_CONFIRM, REFUSED,
     "step a is not awaiting confirmation (it is verifying)"},
    {STEP_VERIFYING, EV_CONFIRM_EXECUTOR, REFUSED,
     "step a is not awaiting confirmation (it is verifying)"},
    {STEP_VERIFYING, EV_SKIP, REFUSED,
     "step a is verifying: only a pending, running or failed step can be skipped"},

    {STEP_AWAITING, EV_EXECUTE, REFUSED,
     "step a is awaiting-confirmation: only a pending or failed step can be "
     "executed"},
    {STEP_AWAITING, EV_ACTION_OK, REFUSED,
     "step a has no action running (it is awaiting-confirmation)"},
    {STEP_AWAITING, EV_ACTION_FAILED, REFUSED,
     "step a has no action running (it is awaiting-confirmation)"},
    {STEP_AWAITING, EV_ACTION_REFUSED, REFUSED,
     "step a has no action running (it is awaiting-confirmation)"},
    {STEP_AWAITING, EV_HELD, REFUSED,
     "step a is not verifying (it is awaiting-confirmation)"},
    {STEP_AWAITING, EV_TIMEOUT, REFUSED,
     "step a is not verifying (it is awaiting-confirmation)"},
    {STEP_AWAITING, EV_CONFIRM, STEP_DONE, NULL},
    {STEP_AWAITING, EV_CONFIRM_EXECUTOR, REFUSED,
     "the person who executed a step cannot confirm it"},
    {STEP_AWAITING, EV_SKIP, REFUSED,
     "step a is awaiting-confirmation: only a pending, running or failed "
     "step can be skipped"},

    {STEP_DONE, EV_EXECUTE, REFUSED,
     "step a is done: only a pending or failed step can be executed"},
    {STEP_DONE, EV_ACTION_OK, REFUSED,
     "step a has no action running (it is done)"},
    {STEP_DONE, EV_ACTION_FAILED, REFUSED,
     "step a has no action running (it is done)"},
    {STEP_DONE, EV_ACTION_REFUSED, REFUSED,
     "step a has no action running (it is done)"},
    {STEP_DONE, EV_HELD, REFUSED, "step a is not verifying (it is done)"},
    {STEP_DONE, EV_TIMEOUT, REFUSED, "step a is not verifying (it is done)"},
    {STEP_DONE, EV_CONFIRM, REFUSED,
     "step a is not awaiting confirmation (it is done)"},
    {STEP_DONE, EV_CONFIRM_EXECUTOR, REFUSED,
     "step a is not awaiting confirmation (it is done)"},
    {STEP_DONE, EV_SKIP, REFUSED,
     "step a is done: only a pending, running or failed step can be skipped"},

    {STEP_FAILED, EV_EXECUTE, STEP_RUNNING, NULL},
    {STEP_FAILED, EV_ACTION_OK, REFUSED,
     "step a has no action running (it is failed)"},
    {STEP_FAILED, EV_ACTION_FAILED, REFUSED,
     "step a has no action running (it is failed)"},
    {STEP_FAILED, EV_ACTION_REFUSED, REFUSED,
     "step a has no action running (it is failed)"},
    {STEP_FAILED, EV_HELD, REFUSED, "step a is not verifying (it is failed)"},
    {STEP_FAILED, EV_TIMEOUT, REFUSED,
     "step a is not verifying (it is failed)"},
    {STEP_FAILED, EV_CONFIRM, REFUSED,
     "step a is not awaiting confirmation (it is failed)"},
    {STEP_FAILED, EV_CONFIRM_EXECUTOR, REFUSED,
     "step a is not awaiting confirmation (it is failed)"},
    {STEP_FAILED, EV_SKIP, STEP_SKIPPED, NULL},

    {STEP_SKIPPED, EV_EXECUTE, REFUSED,
     "step a is skipped: only a pending or failed step can be executed"},
    {STEP_SKIPPED, EV_ACTION_OK, REFUSED,
     "step a has no action running (it is skipped)"},
    {STEP_SKIPPED, EV_ACTION_FAILED, REFUSED,
     "step a has no action running (it is skipped)"},
    {STEP_SKIPPED, EV_ACTION_REFUSED, REFUSED,
     "step a has no action running (it is skipped)"},
    {STEP_SKIPPED, EV_HELD, REFUSED, "step a is not verifying (it is skipped)"},
    {STEP_SKIPPED, EV_TIMEOUT, REFUSED,
     "step a is not verifying (it is skipped)"},
    {STEP_SKIPPED, EV_CONFIRM, REFUSED,
     "step a is not awaiting confirmation (it is skipped)"},
    {STEP_SKIPPED, EV_CONFIRM_EXECUTOR, REFUSED,
     "step a is not awaiting confirmation (it is skipped)"},
    {STEP_SKIPPED, EV_SKIP, REFUSED,
     "step a is skipped: only a pending, running or failed step can be skipped"},
};

static void
test_table(void **state)
{
	/* b keeps the run open whatever a does. */
	static const struct spec sp[] = {
	    {"a", "h", "start-a", NULL, "a.count", 60000, 1, {-1}},
	    {"b", NULL, NULL, "do b", NULL, 0, 0, {0, -1}},
	};
	struct checklist *cl = cl_new(CK_STARTUP, sp, 2);
	size_t i, seen[STEP_N][EV_N];

	(void)state;
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct row *t = &table[i];
		struct run *r = run_new(cl, 0, 0);
		struct run_verdict v;
		int rc;

		seen[t->from][t->ev]++;
		r->r_steps[0].rs_state = t->from;
		r->r_steps[0].rs_executed_by = strdup("alice");
		r->r_steps[0].rs_verify_since = 40000; /* deadline 100000 */
		rc = apply(r, 0, t->ev, &v);
		if (t->to == REFUSED) {
			if (rc != -1 || v.rv_code != 409 ||
			    strcmp(v.rv_reason, t->reason) != 0)
				fail_msg(
				    "row %zu (%s, event %d): rc %d code %d "
				    "'%s'",
				    i, step_state_names[t->from], t->ev, rc,
				    v.rv_code, v.rv_reason);
			assert_int_equal(r->r_steps[0].rs_state, t->from);
		} else {
			if (rc != 0)
				fail_msg("row %zu (%s, event %d): refused: %s",
				         i, step_state_names[t->from], t->ev,
				         v.rv_reason);
			assert_int_equal(v.rv_from, t->from);
			assert_int_equal(v.rv_to, t->to);
			assert_int_equal(r->r_steps[0].rs_state, t->to);
		}
		run_free(r);
	}
	/* The table covers every state with every event, once. */
	for (i = 0; i < STEP_N; i++) {
		size_t e;
		for (e = 0; e < EV_N; e++)
			assert_int_equal(seen[i][e], 1);
	}
	cl_free(cl);
}

/* A whole two-person step, with what each transition records. */
static void
test_two_person_path(void **state)
{
	static const struct spec sp[] = {
	    {"db", "db-01", "start-db", NULL, "pg.count", 60000, 1, {-1}},
	};
	struct checklist *cl = cl_new(CK_STARTUP, sp, 1);
	struct run *r = run_new(cl, 0, 1000);
	struct run_verdict v;

	(void)state;
	assert_int_equal(
	    run_execute(r, 0, "alice", ROLE_WATCHSTANDER, 2000, &v), 0);
	assert_true(v.rv_send_action);
	assert_string_equal(r->r_steps[0].rs_executed_by, "alice");
	assert_int_equal(r->r_steps[0].rs_executed_at, 2000);
	assert_int_equal(run_action_result(r, 0, ACTION_OK, "ok", 3000, &v), 0);
	assert_true(v.rv_watch);
	assert_int_equal(v.rv_to, STEP_VERIFYING);
	assert_int_equal(run_verify_deadline(r, 0), 63000);
	assert_int_equal(run_verified(r, 0, 1, 5000, &v), 0);
	assert_int_equal(v.rv_to, STEP_AWAITING);
	assert_int_equal(r->r_steps[0].rs_value_at, 5000);
	assert_true(r->r_steps[0].rs_value == 1);
	assert_int_equal(r->r_state, RUN_OPEN);
	assert_int_equal(run_confirm(r, 0, "bob", ROLE_WATCHSTANDER, 6000, &v),
	                 0);
	assert_string_equal(r->r_steps[0].rs_confirmed_by, "bob");
	assert_int_equal(r->r_state, RUN_DONE);
	assert_true(v.rv_run_changed);
	assert_int_equal(r->r_finished_at, 6000);
	/* A done run refuses everything. */
	assert_int_equal(run_execute(r, 0, "bob", ROLE_ADMIN, 7000, &v), -1);
	assert_string_equal(v.rv_reason, "the run is done");
	run_free(r);
	cl_free(cl);
}

static void
test_predecessors(void **state)
{
	static const struct spec sp[] = {
	    {"db", "db-01", "start-db", NULL, "pg.count", 60000, 0, {-1}},
	    {"net", "gw-01", "start-net", NULL, NULL, 0, 0, {-1}},
	    {"quote", "q-01", "start-q", NULL, NULL, 0, 0, {0, 1, -1}},
	};
	struct checklist *cl = cl_new(CK_STARTUP, sp, 3);
	struct run *r = run_new(cl, 0, 0);
	struct run_verdict v;

	(void)state;
	assert_int_equal(run_execute(r, 2, "bob", ROLE_WATCHSTANDER, 1, &v),
	                 -1);
	assert_int_equal(v.rv_code, 409);
	assert_string_equal(v.rv_reason, "predecessors not done: db, net");
	/* running is not done */
	assert_int_equal(run_execute(r, 0, "bob", ROLE_WATCHSTANDER, 1, &v), 0);
	assert_int_equal(run_execute(r, 2, "bob", ROLE_WATCHSTANDER, 1, &v),
	                 -1);
	assert_string_equal(v.rv_reason, "predecessors not done: db, net");
	/* net: an action and no verify is done when the action succeeds */
	assert_int_equal(run_execute(r, 1, "bob", ROLE_WATCHSTANDER, 1, &v), 0);
	assert_int_equal(run_action_result(r, 1, ACTION_OK, "", 2, &v), 0);
	assert_int_equal(v.rv_to, STEP_DONE);
	assert_int_equal(run_execute(r, 2, "bob", ROLE_WATCHSTANDER, 3, &v),
	                 -1);
	assert_string_equal(v.rv_reason, "predecessors not done: db");
	/* a failed predecessor, then skipped by a lead: it counts as done */
	assert_int_equal(run_action_result(r, 0, ACTION_REFUSED,
	                                   "no action start-db", 4, &v),
	                 0);
	assert_string_equal(r->r_steps[0].rs_error,
	                    "action start-db refused: no action start-db");
	assert_int_equal(r->r_state, RUN_FAILED);
	assert_int_equal(
	    run_skip(r, 0, "bob", ROLE_WATCHSTANDER, "later", 5, &v), -1);
	assert_int_equal(v.rv_code, 403);
	assert_string_equal(v.rv_reason, "skipping a step needs a lead");
	assert_int_equal(run_skip(r, 0, "carol", ROLE_LEAD, "  ", 5, &v), -1);
	assert_int_equal(v.rv_code, 400);
	assert_string_equal(v.rv_reason, "skipping a step needs a reason");
	assert_int_equal(
	    run_skip(r, 0, "carol", ROLE_LEAD, "db is up already", 5, &v), 0);
	assert_int_equal(r->r_state, RUN_OPEN);
	assert_string_equal(r->r_steps[0].rs_skip_reason, "db is up already");
	assert_int_equal(run_execute(r, 2, "bob", ROLE_WATCHSTANDER, 6, &v), 0);
	assert_int_equal(run_action_result(r, 2, ACTION_OK, "", 7, &v), 0);
	assert_int_equal(r->r_state, RUN_DONE);
	run_free(r);
	cl_free(cl);
}

/* Failed, then executed again: the old error and result are gone. */
static void
test_retry_and_timeout(void **state)
{
	static const struct spec sp[] = {
	    {"db", "db-01", "start-db", NULL, "pg.count", 60000, 0, {-1}},
	};
	struct checklist *cl = cl_new(CK_STARTUP, sp, 1);
	struct run *r = run_new(cl, 0, 0);
	struct run_verdict v;
	double last = 0;

	(void)state;
	assert_int_equal(run_execute(r, 0, "bob", ROLE_WATCHSTANDER, 0, &v), 0);
	assert_int_equal(run_action_result(r, 0, ACTION_OK, "", 1000, &v), 0);
	assert_int_equal(run_verify_timeout(r, 0, &last, 60999, &v), -1);
	assert_string_equal(v.rv_reason,
	                    "step db: its verification has time left");
	assert_int_equal(run_verify_timeout(r, 0, &last, 61000, &v), 0);
	assert_string_equal(r->r_steps[0].rs_error,
	                    "pg.count did not hold within 60s (last value 0)");
	assert_int_equal(r->r_state, RUN_FAILED);
	assert_true(v.rv_run_changed);
	assert_int_equal(
	    run_execute(r, 0, "dave", ROLE_WATCHSTANDER, 70000, &v), 0);
	assert_int_equal(r->r_state, RUN_OPEN);
	assert_null(r->r_steps[0].rs_error);
	assert_int_equal(r->r_steps[0].rs_attempts, 2);
	assert_string_equal(r->r_steps[0].rs_executed_by, "dave");
	assert_int_equal(
	    run_action_result(r, 0, ACTION_FAILED, "exit 3", 71000, &v), 0);
	assert_string_equal(r->r_steps[0].rs_error,
	                    "action start-db failed: exit 3");
	assert_int_equal(run_close(r, 80000, &v), 0);
	assert_int_equal(r->r_state, RUN_FAILED);
	assert_int_equal(r->r_finished_at, 80000);
	assert_int_equal(
	    run_execute(r, 0, "dave", ROLE_WATCHSTANDER, 90000, &v), -1);
	assert_string_equal(v.rv_reason, "the run is closed");
	run_free(r);
	cl_free(cl);
}

static void
test_manual_and_roles(void **state)
{
	static const struct spec sp[] = {
	    {"call", NULL, NULL, "Call the exchange", NULL, 0, 0, {-1}},
	    {"sign", NULL, NULL, "Sign the sheet", NULL, 0, 1, {-1}},
	    {"look", "h", NULL, "Start it by hand", "x.count", 0, 0, {-1}},
	};
	struct checklist *cl = cl_new(CK_PROCEDURE, sp, 3);
	struct run *r = run_new(cl, 0, 0);
	struct run_verdict v;

	(void)state;
	assert_int_equal(run_execute(r, 0, "vic", ROLE_VIEWER, 1, &v), -1);
	assert_int_equal(v.rv_code, 403);
	assert_string_equal(v.rv_reason,
	                    "executing a step needs a watchstander");
	assert_int_equal(run_execute(r, 0, "bob", ROLE_WATCHSTANDER, 1, &v), 0);
	assert_false(v.rv_send_action);
	assert_int_equal(v.rv_to, STEP_DONE);
	assert_int_equal(run_execute(r, 1, "bob", ROLE_WATCHSTANDER, 2, &v), 0);
	assert_int_equal(v.rv_to, STEP_AWAITING);
	assert_int_equal(run_confirm(r, 1, "vic", ROLE_VIEWER, 3, &v), -1);
	assert_int_equal(v.rv_code, 403);
	assert_int_equal(run_confirm(r, 1, "bob", ROLE_ADMIN, 3, &v), -1);
	assert_string_equal(v.rv_reason,
	                    "the person who executed a step cannot confirm it");
	assert_int_equal(run_confirm(r, 1, "alice", ROLE_WATCHSTANDER, 3, &v),
	                 0);
	/* a manual step with a verify: the person's word, then the probe */
	assert_int_equal(run_execute(r, 2, "bob", ROLE_WATCHSTANDER, 4, &v), 0);
	assert_int_equal(v.rv_to, STEP_VERIFYING);
	assert_true(v.rv_watch);
	assert_int_equal(run_verified(r, 2, 1, 5, &v), 0);
	assert_int_equal(r->r_state, RUN_DONE);
	assert_int_equal(run_execute(r, 7, "bob", ROLE_WATCHSTANDER, 4, &v),
	                 -1);
	assert_int_equal(v.rv_code, 404);
	run_free(r);
	cl_free(cl);
}

/* A check verifies its probe items at once; manual items wait. */
static void
test_check_run(void **state)
{
	static const struct spec sp[] = {
	    {"backup", "db-01", NULL, NULL, "backup.age_s", 0, 0, {-1}},
	    {"line", "q-01", NULL, NULL, "line.util_pct", 120000, 0, {-1}},
	    {"notices", NULL, NULL, "Read the notices", NULL, 0, 0, {-1}},
	    {"spool", "q-01", NULL, NULL, "spool.bytes", 0, 0, {-1}},
	    {"disk", "q-01", NULL, NULL, "disk.fill_pct", 0, 0, {-1}},
	};
	struct checklist *cl = cl_new(CK_CHECK, sp, 5);
	struct run *r = run_new(cl, 0, 5000);
	struct run_verdict v;
	double last = 95;

	(void)state;
	assert_int_equal(r->r_steps[0].rs_state, STEP_VERIFYING);
	assert_int_equal(r->r_steps[1].rs_state, STEP_VERIFYING);
	assert_int_equal(r->r_steps[2].rs_state, STEP_PENDING);
	assert_int_equal(run_verify_deadline(r, 0), 5000);
	assert_int_equal(run_verify_deadline(r, 1), 125000);
	assert_int_equal(run_verified(r, 0, 3600, 5000, &v), 0);
	assert_null(r->r_steps[0].rs_executed_by);
	assert_int_equal(run_verify_timeout(r, 1, &last, 125000, &v), 0);
	assert_string_equal(r->r_steps[1].rs_error,
	                    "line.util_pct did not hold within 120s (last "
	                    "value 95)");
	/* Items without `within` were verified at once. */
	assert_int_equal(run_verify_timeout(r, 3, NULL, 5000, &v), 0);
	assert_string_equal(r->r_steps[3].rs_error,
	                    "spool.bytes: no value from q-01 (silent, or it "
	                    "sends no such series)");
	assert_int_equal(run_verify_timeout(r, 4, &last, 5000, &v), 0);
	assert_string_equal(r->r_steps[4].rs_error,
	                    "disk.fill_pct does not hold (value 95)");
	assert_int_equal(run_skip(r, 3, "lea", ROLE_LEAD, "no spool here",
	                          5500, &v),
	                 0);
	assert_int_equal(run_skip(r, 4, "lea", ROLE_LEAD, "cleaned by hand",
	                          5500, &v),
	                 0);
	assert_int_equal(run_execute(r, 2, "bob", ROLE_WATCHSTANDER, 6000, &v),
	                 0);
	assert_int_equal(r->r_state, RUN_FAILED);
	/* checked again by hand */
	assert_int_equal(run_execute(r, 1, "bob", ROLE_WATCHSTANDER, 7000, &v),
	                 0);
	assert_int_equal(v.rv_to, STEP_VERIFYING);
	assert_int_equal(run_verified(r, 1, 40, 7000, &v), 0);
	assert_int_equal(r->r_state, RUN_DONE);
	run_free(r);
	cl_free(cl);
}

/* A drill: the agent did not run the action; the step verifies as usual.
 * A change run keeps its baseline. */
static void
test_drill_and_baseline(void **state)
{
	static const struct spec sp[] = {
	    {"db", "db-01", "start-db", NULL, "pg.count", 1000, 0, {-1}},
	};
	struct checklist *cl = cl_new(CK_PROCEDURE, sp, 1);
	struct run *r = run_new(cl, 1, 0);
	struct run_verdict v;

	(void)state;
	assert_true(r->r_drill);
	assert_int_equal(run_execute(r, 0, "bob", ROLE_WATCHSTANDER, 0, &v), 0);
	assert_true(v.rv_send_action);
	assert_int_equal(
	    run_action_result(r, 0, ACTION_DRILL, "DRILL: not run", 1, &v), 0);
	assert_int_equal(v.rv_to, STEP_VERIFYING);
	assert_null(r->r_steps[0].rs_error);
	assert_string_equal(r->r_steps[0].rs_result, "DRILL: not run");
	assert_null(run_baseline(r, "q-01", "quoted.count"));
	run_set_baseline(r, "q-01", "quoted.count", 4);
	run_set_baseline(r, "q-01", "quoted.count", 5);
	run_set_baseline(r, "q-01", "quoted.rss", 1e6);
	assert_true(*run_baseline(r, "q-01", "quoted.count") == 5);
	assert_true(*run_baseline(r, "q-01", "quoted.rss") == 1e6);
	assert_null(run_baseline(r, "q-02", "quoted.count"));
	run_free(r);
	run_free(NULL);
	cl_free(cl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_two_person_path),
	    cmocka_unit_test(test_predecessors),
	    cmocka_unit_test(test_retry_and_timeout),
	    cmocka_unit_test(test_manual_and_roles),
	    cmocka_unit_test(test_check_run),
	    cmocka_unit_test(test_drill_and_baseline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
