/* Rule evaluation as a pure function of samples, time and phase. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "alarm/rules.h"

static int
phases(void *arg, const char *p)
{
	(void)arg;
	return strcmp(p, "trading") == 0 || strcmp(p, "closed") == 0;
}

static struct rules_conf rc;

static struct rule *
load(const char *yaml)
{
	char path[] = "/tmp/ws-rules-XXXXXX";
	int fd = mkstemp(path);
	struct yconf yc;

	assert_true(write(fd, yaml, strlen(yaml)) == (ssize_t)strlen(yaml));
	close(fd);
	assert_int_equal(yconf_load(&yc, path), 0);
	assert_int_equal(
	    rules_configure(&rc, &yc, yconf_root(&yc), phases, NULL), 0);
	yconf_free(&yc);
	unlink(path);
	return &rc.rc_rules[0];
}

static int
eval(struct rule *r, struct rule_state *st, double v, int64_t t,
     struct rule_outcome *o)
{
	return rule_eval(&rc, r, st, v, t, "trading", o);
}

static void
test_for_and_clear(void **state)
{
	struct rule *r = load("- name: down\n"
	                      "  match: {series: quoted.count}\n"
	                      "  levels: [{when: '< 1', severity: critical}]\n"
	                      "  for: 3s\n");
	struct rule_state st;
	struct rule_outcome o;

	(void)state;
	rule_state_init(&st);
	assert_int_equal(eval(r, &st, 2, 0, &o), 0);
	assert_int_equal(eval(r, &st, 0, 1000, &o), 0); /* must hold 3 s */
	assert_int_equal(eval(r, &st, 0, 3000, &o), 0);
	assert_int_equal(eval(r, &st, 0, 4000, &o), 1);
	assert_int_equal(o.ro_what, RT_RAISE);
	assert_int_equal(o.ro_severity, SEV_CRITICAL);
	assert_int_equal(eval(r, &st, 0, 5000, &o), 0); /* no repeat */
	assert_int_equal(eval(r, &st, 1, 6000, &o), 1);
	assert_int_equal(o.ro_what, RT_CLEAR);
	/* A blip shorter than `for` raises nothing. */
	assert_int_equal(eval(r, &st, 0, 7000, &o), 0);
	assert_int_equal(eval(r, &st, 1, 8000, &o), 0);
	/* The timer raises when no sample comes after `for` runs out. */
	assert_int_equal(eval(r, &st, 0, 9000, &o), 0);
	assert_int_equal(rule_tick(&rc, r, &st, 11000, "trading", &o), 0);
	assert_int_equal(rule_tick(&rc, r, &st, 12000, "trading", &o), 1);
	assert_int_equal(o.ro_what, RT_RAISE);
	rules_conf_free(&rc);
}

static void
test_levels_and_hysteresis(void **state)
{
	struct rule *r =
	    load("- name: disk\n"
	         "  match: {series: '*.fill_pct'}\n"
	         "  levels:\n"
	         "    - {when: '> 80', severity: warning, clear: 75}\n"
	         "    - {when: '> 90', severity: critical, clear: 85}\n");
	struct rule_state st;
	struct rule_outcome o;

	(void)state;
	rule_state_init(&st);
	assert_int_equal(eval(r, &st, 85, 0, &o), 1);
	assert_int_equal(o.ro_what, RT_RAISE);
	assert_int_equal(o.ro_severity, SEV_WARNING);
	assert_int_equal(eval(r, &st, 95, 1, &o), 1);
	assert_int_equal(o.ro_what, RT_CHANGE); /* one alarm, worse */
	assert_int_equal(o.ro_severity, SEV_CRITICAL);
	assert_int_equal(eval(r, &st, 88, 2, &o), 0); /* above clear 85 */
	assert_int_equal(eval(r, &st, 84, 3, &o), 1);
	assert_int_equal(o.ro_what, RT_CHANGE);
	assert_int_equal(o.ro_severity, SEV_WARNING);
	assert_int_equal(eval(r, &st, 78, 4, &o), 0); /* above clear 75 */
	assert_int_equal(eval(r, &st, 74.9, 5, &o), 1);
	assert_int_equal(o.ro_what, RT_CLEAR);
	assert_true(rule_matches(r, "db-1", "db", "pgdata.fill_pct"));
	assert_false(rule_matches(r, "db-1", "db", "pgdata.free_bytes"));
	rules_conf_free(&rc);
}

static void
test_stale(void **state)
{
	struct rule *r = load("- name: feed\n"
	                      "  match: {series: feed.count}\n"
	                      "  levels: [{when: '< 1', severity: major}]\n"
	                      "  stale_after: 10s\n");
	struct rule_state st;
	struct rule_outcome o;

	(void)state;
	rule_state_init(&st);
	assert_int_equal(eval(r, &st, 1, 0, &o), 0);
	assert_int_equal(rule_tick(&rc, r, &st, 9999, "trading", &o), 0);
	assert_int_equal(rule_tick(&rc, r, &st, 10000, "trading", &o), 1);
	assert_int_equal(o.ro_what, RT_RAISE);
	assert_int_equal(o.ro_level, RULE_STALE);
	assert_int_equal(o.ro_severity, SEV_MAJOR);
	assert_int_equal(rule_tick(&rc, r, &st, 20000, "trading", &o), 0);
	assert_int_equal(eval(r, &st, 1, 21000, &o), 1);
	assert_int_equal(o.ro_what, RT_CLEAR);
	rules_conf_free(&rc);
}

static void
test_phase_and_chatter(void **state)
{
	struct rule *r = load("- name: quote\n"
	                      "  match: {role: quote, series: quoted.count}\n"
	                      "  levels: [{when: '< 1', severity: critical}]\n"
	                      "  severity_by_phase: {closed: minor}\n"
	                      "  suppress_in: [closed]\n");
	struct rule_state st;
	struct rule_outcome o;
	int i, raises = 0;

	(void)state;
	rule_state_init(&st);
	assert_int_equal(rule_eval(&rc, r, &st, 0, 0, "closed", &o), 1);
	assert_int_equal(o.ro_severity, SEV_MINOR);
	assert_true(o.ro_suppressed);
	assert_int_equal(rule_eval(&rc, r, &st, 1, 1000, "closed", &o), 1);
	/* The same fault is worse while trading. */
	assert_int_equal(eval(r, &st, 0, 2000, &o), 1);
	assert_int_equal(o.ro_severity, SEV_CRITICAL);
	assert_false(o.ro_suppressed);
	assert_false(o.ro_chattering); /* two raises so far */
	assert_int_equal(eval(r, &st, 1, 3000, &o), 1);
	assert_int_equal(eval(r, &st, 0, 4000, &o), 1);
	assert_true(o.ro_chattering); /* third within a minute */
	/* After a quiet minute it is no longer chattering. */
	for (i = 0; i < 2; i++)
		raises += eval(r, &st, i % 2 ? 0 : 1, 200000 + i * 1000, &o);
	assert_int_equal(raises, 2);
	assert_false(o.ro_chattering);
	assert_false(rule_matches(r, "gw-1", "gateway", "quoted.count"));
	rules_conf_free(&rc);
}

static void
count_raises(void *arg, const struct rule *r, const char *host,
             const char *series, const struct rule_outcome *o)
{
	int *n = arg;
	(void)r;
	assert_string_equal(host, "quote-01");
	assert_string_equal(series, "quoted.count");
	(*n) += o->ro_what == RT_RAISE;
}

static void
test_engine(void **state)
{
	struct rules_engine *re;
	int fired = 0;

	(void)state;
	load("- name: down\n"
	     "  match: {host: 'quote-*', series: quoted.count}\n"
	     "  levels: [{when: '< 1', severity: critical}]\n"
	     "- name: also\n"
	     "  match: {series: 'quoted.*'}\n"
	     "  levels: [{when: '== 0', severity: info}]\n");
	re = rules_engine_new(&rc);
	rules_engine_sample(re, "quote-01", "quote", "quoted.countXX", 12, 0, 0,
	                    "trading", count_raises, &fired);
	assert_int_equal(fired, 2); /* both rules, one series */
	rules_engine_sample(re, "gw-01", "gateway", "quoted.count", 12, 5, 0,
	                    "trading", count_raises, &fired);
	assert_int_equal(rules_engine_series(re), 2);
	rules_engine_free(re);
	rules_conf_free(&rc);
}

/* What a reload hands the alarms: every transition, by rule name. */
struct seen {
	int raises, clears, reload_clears;
	char last[64];
};

static void
record(void *arg, const struct rule *r, const char *host, const char *series,
       const struct rule_outcome *o)
{
	struct seen *s = arg;

	(void)host;
	(void)series;
	snprintf(s->last, sizeof(s->last), "%s", r->r_name);
	if (o->ro_what == RT_RAISE)
		s->raises++;
	if (o->ro_what == RT_CLEAR && o->ro_reload)
		s->reload_clears++;
	else if (o->ro_what == RT_CLEAR)
		s->clears++;
}

static void
load_into(struct rules_conf *dst, const char *yaml)
{
	struct rules_conf keep = rc;

	load(yaml);
	*dst = rc;
	rc = keep;
}

#define SLOW                                                                   \
	"- name: slow\n"                                                       \
	"  match: {series: quoted.count}\n"                                    \
	"  levels: [{when: '< 1', severity: critical}]\n"                      \
	"  for: 6s\n"

/* A pending `for` survives a reload that leaves its rule alone: the
 * alarm comes 6 s after the first bad sample, not 6 s after the reload. */
static void
test_reload_keeps_for(void **state)
{
	struct rules_conf a, b;
	struct rules_diff d;
	struct rules_engine *re;
	struct seen s = {0};

	(void)state;
	load_into(&a, SLOW);
	load_into(&b, SLOW "- name: other\n"
	                   "  match: {series: quoted.count}\n"
	                   "  levels: [{when: '> 100', severity: minor}]\n"
	                   "  description: new\n");
	rules_diff(&a, &b, &d);
	assert_int_equal(d.rd_added, 1);
	assert_int_equal(d.rd_removed, 0);
	assert_int_equal(d.rd_changed, 0);
	re = rules_engine_new(&a);
	rules_engine_sample(re, "q1", "quote", "quoted.count", 12, 0, 1000,
	                    "trading", record, &s);
	rules_engine_tick(re, 4000, "trading", record, &s);
	assert_int_equal(s.raises, 0);
	assert_int_equal(rules_engine_reconfigure(re, &b, record, &s), 0);
	rules_conf_free(&a); /* nothing may point into it now */
	rules_engine_tick(re, 6999, "trading", record, &s);
	assert_int_equal(s.raises, 0);
	rules_engine_tick(re, 7000, "trading", record, &s);
	assert_int_equal(s.raises, 1);
	assert_string_equal(s.last, "slow");
	/* The added rule evaluates the series seen before the reload. */
	rules_engine_sample(re, "q1", "quote", "quoted.count", 12, 500, 8000,
	                    "trading", record, &s);
	assert_int_equal(s.clears, 1); /* slow: back to normal */
	rules_engine_tick(re, 8000, "trading", record, &s);
	assert_int_equal(s.raises, 2);
	assert_string_equal(s.last, "other");
	rules_engine_free(re);
	rules_conf_free(&b);
}

/* A changed rule starts afresh; a removed rule's active alarm is cleared
 * (ro_reload), its state gone. */
static void
test_reload_changed_and_removed(void **state)
{
	struct rules_conf a, b;
	struct rules_diff d;
	struct rules_engine *re;
	struct seen s = {0};

	(void)state;
	load_into(&a, SLOW "- name: gone\n"
	                   "  match: {series: quoted.count}\n"
	                   "  levels: [{when: '< 1', severity: minor}]\n");
	load_into(&b, "- name: slow\n"
	              "  match: {series: quoted.count}\n"
	              "  levels: [{when: '< 2', severity: critical}]\n"
	              "  for: 6s\n");
	rules_diff(&a, &b, &d);
	assert_int_equal(d.rd_added, 0);
	assert_int_equal(d.rd_removed, 1);
	assert_int_equal(d.rd_changed, 1);
	re = rules_engine_new(&a);
	rules_engine_sample(re, "q1", "quote", "quoted.count", 12, 0, 1000,
	                    "trading", record, &s);
	assert_int_equal(s.raises, 1); /* gone: no `for` */
	assert_int_equal(rules_engine_reconfigure(re, &b, record, &s), 2);
	assert_int_equal(s.reload_clears, 1);
	assert_string_equal(s.last, "gone");
	rules_conf_free(&a);
	/* slow changed: its `for` counts from the next sample. */
	rules_engine_tick(re, 7000, "trading", record, &s);
	assert_int_equal(s.raises, 1);
	rules_engine_sample(re, "q1", "quote", "quoted.count", 12, 0, 7500,
	                    "trading", record, &s);
	rules_engine_tick(re, 13499, "trading", record, &s);
	assert_int_equal(s.raises, 1);
	rules_engine_tick(re, 13500, "trading", record, &s);
	assert_int_equal(s.raises, 2);
	rules_engine_free(re);
	rules_conf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_for_and_clear),
	    cmocka_unit_test(test_levels_and_hysteresis),
	    cmocka_unit_test(test_stale),
	    cmocka_unit_test(test_phase_and_chatter),
	    cmocka_unit_test(test_engine),
	    cmocka_unit_test(test_reload_keeps_for),
	    cmocka_unit_test(test_reload_changed_and_removed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
