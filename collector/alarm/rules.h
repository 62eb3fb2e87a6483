/*
 * Rules turn samples into alarm transitions. The core is pure: time and the
 * calendar phase are inputs, nothing here reads a clock or a database.
 * rule_eval/rule_tick decide for one (rule, series); the engine finds the
 * rules of a series once (cached by host and series) and keeps the state.
 */
#ifndef WATCHSTAND_RULES_H
#define WATCHSTAND_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "watchstand/yconf.h"

enum severity {
	SEV_INFO,
	SEV_WARNING,
	SEV_MINOR,
	SEV_MAJOR,
	SEV_CRITICAL,
	SEV_N
};
extern const char *const severity_names[SEV_N];
int severity_parse(const char *s);

enum rule_op { OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE };

struct rule_level {
	enum rule_op rl_op;
	double rl_threshold;
	double rl_clear; /* hysteresis: where an active level lets go */
	enum severity rl_severity;
};

struct rule_phase_severity {
	char *rps_phase;
	enum severity rps_severity;
};

struct rule {
	char *r_name;
	char *r_host; /* globs; NULL matches all */
	char *r_role;
	char *r_series;
	struct rule_level *r_levels;
	size_t r_nlevels;
	int64_t r_for_ms;
	int64_t r_stale_ms; /* 0: no staleness alarm */
	struct rule_phase_severity *r_by_phase;
	size_t r_nby_phase;
	char **r_suppress_in;
	char *r_description;
	char *r_runbook;
};

#define RULE_NONE (-1)
#define RULE_STALE (-2) /* the "no data" pseudo-level */
#define RULE_CHATTER_MAX 8

/* State of one rule on one series. */
struct rule_state {
	int rs_level;   /* active level index, RULE_STALE, or RULE_NONE */
	int rs_pending; /* level waiting out `for`, or RULE_NONE */
	int64_t rs_pending_since;
	int64_t rs_last_sample;
	double rs_value;
	int64_t rs_activations[RULE_CHATTER_MAX]; /* ring of raise times */
	unsigned rs_nact;
};

enum rule_transition {
	RT_NONE,
	RT_RAISE,  /* from normal to a level (or to no data) */
	RT_CHANGE, /* from one level to another */
	RT_CLEAR,  /* back to normal */
};

struct rule_outcome {
	enum rule_transition ro_what;
	int ro_level;              /* new level (RULE_STALE for no data) */
	int ro_from;               /* previous level */
	enum severity ro_severity; /* after severity_by_phase */
	int ro_suppressed;         /* the phase suppresses this rule */
	int ro_chattering;
	int ro_reload; /* cleared: a reload removed or changed the rule */
	double ro_value;
};

struct rules_conf {
	struct rule *rc_rules;
	size_t rc_n;
	int rc_chatter_count;      /* activations ... */
	int64_t rc_chatter_window; /* ... within this many ms */
};

int rules_configure(struct rules_conf *rc, struct yconf *yc, yaml_node_t *node,
                    int (*phase_known)(void *, const char *), void *arg);
void rules_conf_free(struct rules_conf *rc);
/* A comparison such as "< 1", ">= 90" or "== 0": 0, or -1 if malformed. */
int rule_parse_when(const char *s, enum rule_op *op, double *v);
int rule_matches(const struct rule *r, const char *host, const char *role,
                 const char *series);

void rule_state_init(struct rule_state *st);
/* A sample arrives. Returns 1 with an outcome when the state changes. */
int rule_eval(const struct rules_conf *rc, const struct rule *r,
              struct rule_state *st, double value, int64_t now_ms,
              const char *phase, struct rule_outcome *out);
/* Time passes: `for` runs out, data goes stale. */
int rule_tick(const struct rules_conf *rc, const struct rule *r,
              struct rule_state *st, int64_t now_ms, const char *phase,
              struct rule_outcome *out);
/* The effective severity and suppression of a level in a phase. */
enum severity rule_severity(const struct rule *r, int level, const char *phase);
int rule_suppressed(const struct rule *r, const char *phase);

/* The engine: every series' rules, found once and cached. */
struct rules_engine;
typedef void (*rules_fn)(void *arg, const struct rule *r, const char *host,
                         const char *series, const struct rule_outcome *o);
struct rules_engine *rules_engine_new(const struct rules_conf *rc);
void rules_engine_free(struct rules_engine *re);
void rules_engine_sample(struct rules_engine *re, const char *host,
                         const char *role, const char *series,
                         size_t series_len, double value, int64_t now_ms,
                         const char *phase, rules_fn fn, void *arg);
void rules_engine_tick(struct rules_engine *re, int64_t now_ms,
                       const char *phase, rules_fn fn, void *arg);
size_t rules_engine_series(struct rules_engine *re);
/* An alarm open in the database when this collector took the lead: the
 * rule's state on that series starts active at the level of severity, so
 * the next sample that no longer holds clears it (one that holds raises
 * nothing). A series whose state is known already is left alone. */
void rules_engine_adopt(struct rules_engine *re, const char *rule,
                        const char *host, const char *role, const char *series,
                        int severity, const char *phase, int64_t now_ms);
/* Forgets the state of every series (a new leader starts afresh). */
void rules_engine_forget(struct rules_engine *re);
/* Forgets the state of every series of host (it is evaluated afresh). */
void rules_engine_forget_host(struct rules_engine *re, const char *host);

/* 1 when two rules evaluate alike (match, levels, for, stale_after):
 * a reload keeps their state. Wording and per-phase severity may differ. */
int rule_same(const struct rule *a, const struct rule *b);
/* 1 when nothing at all differs. */
int rule_identical(const struct rule *a, const struct rule *b);
struct rules_diff {
	unsigned rd_added, rd_removed, rd_changed;
};
/* Rules by name: new, gone, and defined differently. */
void rules_diff(const struct rules_conf *from, const struct rules_conf *to,
                struct rules_diff *d);
/*
 * A reload: the engine follows rc from now on. Per series, the state of a
 * rule that evaluates alike (rule_same, by name) is kept: a pending `for`,
 * an active level, the chattering history. A rule removed or changed
 * loses its state; if it was active, fn gets an RT_CLEAR with ro_reload
 * set (its alarm clears by the normal path), with the old rule, which
 * must still be valid during this call. Returns the states dropped.
 */
size_t rules_engine_reconfigure(struct rules_engine *re,
                                const struct rules_conf *rc, rules_fn fn,
                                void *arg);

#endif
