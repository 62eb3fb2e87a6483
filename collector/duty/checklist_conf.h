/*
 * collector.yaml `checklists:`: each checklist a DAG of steps, parsed and
 * validated as strictly as the rest of the config (file:line:column: key:
 * what). Pure: no clock, no network, no database. The run engine
 * (duty/run.h), the order watch (duty/orderwatch.h), the API and the CLI
 * read these structs; nothing changes them after checklists_configure.
 * docs/checklists.md describes the keys and every refusal.
 */
#ifndef WATCHSTAND_CHECKLIST_CONF_H
#define WATCHSTAND_CHECKLIST_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "alarm/rules.h"
#include "watchstand/yconf.h"

enum checklist_kind {
	CK_STARTUP,
	CK_SHUTDOWN,
	CK_CHECK,
	CK_PROCEDURE,
	CK_CHANGE,
	CK_N
};
extern const char *const checklist_kind_names[CK_N];

/* verify: {series, when, within} or {series, vs_baseline, within} */
struct checklist_verify {
	char *cv_series; /* NULL: the step has no verification */
	int cv_baseline; /* 1: vs_baseline, 0: when */
	enum rule_op cv_op;
	double cv_threshold;
	double cv_pct;        /* vs_baseline "within 10%": 10 */
	int64_t cv_within_ms; /* 0: checked once, at once */
};

/* stop: {action | manual, verify}: how the step is undone (reverse_of). */
struct checklist_stop {
	int cst_present;
	char *cst_action;
	char *cst_manual;
	struct checklist_verify cst_verify;
};

struct checklist_step {
	char *cs_name;
	char *cs_host;   /* NULL only for a manual step */
	char *cs_action; /* a name from the host agent's `actions:` */
	char *cs_manual; /* the instruction a person carries out */
	char **cs_after; /* names, as written (NULL-terminated) */
	size_t cs_nafter;
	size_t *cs_pred; /* the same, as indices into cl_steps */
	size_t cs_npred;
	struct checklist_verify cs_verify;
	struct checklist_stop cs_stop;
	int cs_two_person; /* done only when a second person confirms */
};

struct checklist {
	char *cl_name;
	enum checklist_kind cl_kind;
	char *cl_phase;      /* schedule: {phase}; NULL: opened by hand */
	char *cl_reverse_of; /* a shutdown built from this startup */
	char **cl_hosts;     /* change: hosts out of service while open */
	size_t cl_nhosts;
	char **cl_baseline; /* change: series recorded when a run opens */
	size_t cl_nbaseline;
	char *cl_description;
	struct checklist_step *cl_steps;
	size_t cl_nsteps;
	size_t *cl_order; /* a topological order of cl_steps (indices) */
	int cl_valid;     /* parsed without error: cl_order and cs_pred hold */
};

struct checklists_conf {
	struct checklist *ck_lists;
	size_t ck_n;
};

/*
 * Parses `checklists:` (node may be NULL: none). phase_known(arg, name)
 * says whether the calendar has a phase (for schedule.phase). Reports
 * every error through yc and returns -1 if there was any.
 */
int checklists_configure(struct checklists_conf *cc, struct yconf *yc,
                         yaml_node_t *node,
                         int (*phase_known)(void *, const char *), void *arg);
void checklists_conf_free(struct checklists_conf *cc);

/* The checklist named name, or NULL. */
const struct checklist *checklist_find(const struct checklists_conf *cc,
                                       const char *name);
/* The index of the step named name in cl, or -1. */
int checklist_step_find(const struct checklist *cl, const char *name);
/* The steps step must wait for (indices into cl_steps); *n gets their
 * number. */
const size_t *checklist_predecessors(const struct checklist *cl, size_t step,
                                     size_t *n);
/* A topological order of the steps: every step after its predecessors,
 * ties in the order they are written. */
const size_t *checklist_order(const struct checklist *cl);

/*
 * Whether value satisfies v: 1 holds, 0 does not. For vs_baseline,
 * baseline is the value recorded when the run opened (NULL: none was
 * recorded, and the verification cannot hold: 0).
 */
int checklist_verify_holds(const struct checklist_verify *v, double value,
                           const double *baseline);

#endif
