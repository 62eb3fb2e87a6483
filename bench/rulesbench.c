/*
 * ws-rulesbench: sample evaluations per second through the rule engine on
 * one core, with RULES rules and SERIES series (hosts x services), as the
 * collector runs it: hash lookup of the series, then each matching rule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alarm/rules.h"

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
any_phase(void *arg, const char *p)
{
	(void)arg;
	(void)p;
	return 1;
}

static void
count(void *arg, const struct rule *r, const char *host, const char *series,
      const struct rule_outcome *o)
{
	(void)r;
	(void)host;
	(void)series;
	(void)o;
	(*(long *)arg)++;
}

int
main(int argc, char **argv)
{
	int nrules = argc > 1 ? atoi(argv[1]) : 1000;
	int nseries = argc > 2 ? atoi(argv[2]) : 100000;
	long evals = argc > 3 ? atol(argv[3]) : 20000000;
	int nhosts = nseries / nrules > 0 ? nseries / nrules : 1;
	char path[] = "/tmp/ws-rulesbench-XXXXXX", **hosts, **series;
	struct rules_conf rc;
	struct rules_engine *re;
	struct yconf yc;
	long i, transitions = 0;
	double t0, t1, t2;
	FILE *fp;
	int fd = mkstemp(path);

	/* Rules on svcN.latency_ms (one literal name each), and a few globs
	 * over everything, like a real desk's config. */
	fp = fdopen(fd, "w");
	for (i = 0; i < nrules; i++)
		fprintf(
		    fp,
		    "- {name: r%ld, match: {host: 'h*', series: "
		    "svc%ld.latency_ms}, levels: [{when: '> 500', severity: "
		    "minor}, {when: '> 900', severity: major}], for: 2s}\n",
		    i, i);
	fclose(fp);
	if (yconf_load(&yc, path) == -1 ||
	    rules_configure(&rc, &yc, yconf_root(&yc), any_phase, NULL) == -1)
		return 1;
	yconf_free(&yc);
	unlink(path);
	re = rules_engine_new(&rc);
	hosts = calloc(nhosts, sizeof(char *));
	series = calloc(nrules, sizeof(char *));
	for (i = 0; i < nhosts; i++)
		if (asprintf(&hosts[i], "h%ld", i) == -1)
			return 1;
	for (i = 0; i < nrules; i++)
		if (asprintf(&series[i], "svc%ld.latency_ms", i) == -1)
			return 1;
	/* First sight of every series: finds and caches its rules. */
	t0 = mono();
	for (i = 0; i < (long)nhosts * nrules; i++)
		rules_engine_sample(re, hosts[i / nrules], "quote",
		                    series[i % nrules],
		                    strlen(series[i % nrules]), 100, 0,
		                    "trading", count, &transitions);
	t1 = mono();
	/* Steady state: values wander across the thresholds now and then. */
	for (i = 0; i < evals; i++) {
		long k = (i * 7919) % ((long)nhosts * nrules);
		/* Passes 7..9 of every 10 are high: raises after `for`. */
		double v = (i / ((long)nhosts * nrules)) % 10 >= 7 ? 950 : 100;
		const char *s = series[k % nrules];
		rules_engine_sample(re, hosts[k / nrules], "quote", s,
		                    strlen(s), v, 1000 + i / 100, "trading",
		                    count, &transitions);
	}
	t2 = mono();
	printf("rules %d, series %zu, first sight %.2f s (%.0f series/s)\n",
	       nrules, rules_engine_series(re), t1 - t0,
	       (double)nhosts * nrules / (t1 - t0));
	printf("evaluations %ld in %.2f s: %.0f evaluations/s (target >= "
	       "1000000), %ld transitions\n",
	       evals, t2 - t1, evals / (t2 - t1), transitions);
	rules_engine_free(re);
	rules_conf_free(&rc);
	return 0;
}
