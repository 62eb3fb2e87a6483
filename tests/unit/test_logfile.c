/* logfile and file_age probes on real files: exact counts across rotation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent.h"

struct sink {
	char series[16][64];
	double value[16];
	int n;
	char events[64][256];
	int nev;
};

static void
sink_emit(void *arg, int64_t ts, const char *series, double v)
{
	struct sink *s = arg;
	(void)ts;
	if (s->n < 16) {
		snprintf(s->series[s->n], sizeof(s->series[0]), "%s", series);
		s->value[s->n++] = v;
	}
}

static void
sink_event(void *arg, int64_t ts, const char *probe, const char *text)
{
	struct sink *s = arg;
	(void)ts;
	(void)probe;
	if (s->nev < 64)
		snprintf(s->events[s->nev++], sizeof(s->events[0]), "%s", text);
}

static double
get(struct sink *s, const char *series)
{
	int i;
	for (i = 0; i < s->n; i++)
		if (strcmp(s->series[i], series) == 0)
			return s->value[i];
	fail_msg("no sample %s", series);
	return -1;
}

static char dir[64], logpath[128];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ws-log-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(logpath, sizeof(logpath), "%s/app.log", dir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct probe *
probe_from(const char *yaml, struct sink *s)
{
	char path[128];
	FILE *fp;
	struct yconf yc;
	struct probe *p;

	snprintf(path, sizeof(path), "%s/probe.yaml", dir);
	fp = fopen(path, "w");
	fputs(yaml, fp);
	fclose(fp);
	assert_int_equal(yconf_load(&yc, path), 0);
	p = probe_configure(&yc, yconf_root(&yc), "probes[0]");
	yconf_free(&yc);
	assert_non_null(p);
	p->pr_emit = sink_emit;
	p->pr_emit_event = sink_event;
	p->pr_emit_arg = s;
	return p;
}

static void
run(struct probe *p, struct sink *s, double mono)
{
	s->n = 0;
	s->nev = 0;
	p->pr_mono_s = mono;
	p->pr_now_us = (int64_t)(mono * 1e6);
	p->pr_type->pt_run(p);
}

static void
append(const char *path, const char *text)
{
	FILE *fp = fopen(path, "a");
	fputs(text, fp);
	fclose(fp);
}

static void
test_logfile_rotation(void **state)
{
	struct sink s;
	struct probe *p;
	char yaml[256], old[160], cmd[512];

	(void)state;
	append(logpath, "ERROR before the agent started\n");
	snprintf(yaml, sizeof(yaml),
	         "{name: app, type: logfile, path: '%s', pattern: "
	         "'ERROR|REJECT', max_events: 3}",
	         logpath);
	p = probe_from(yaml, &s);
	run(p, &s, 100);
	assert_true(get(&s, "app.matches") == 0); /* starts at the end */

	append(logpath, "ERROR one\ninfo\nREJECT two\nERROR thr");
	run(p, &s, 101);
	assert_true(get(&s, "app.matches") == 2);
	assert_int_equal(s.nev, 2);
	assert_string_equal(s.events[0], "ERROR one");
	assert_string_equal(s.events[1], "REJECT two");
	assert_true(get(&s, "app.since_last_s") == 0);

	/* The unfinished line completes; then rename-and-create rotation
	 * with lines written to the old file just before it. */
	append(logpath, "ee\nERROR four\n");
	snprintf(old, sizeof(old), "%s.1", logpath);
	assert_int_equal(rename(logpath, old), 0);
	append(old, "ERROR five, late in the old file\n");
	append(logpath, "ERROR six\ninfo\nERROR seven\n");
	run(p, &s, 105);
	assert_true(get(&s, "app.matches") == 5);
	assert_int_equal(s.nev, 3); /* capped */
	assert_string_equal(s.events[0], "ERROR three");
	assert_true(get(&s, "app.events_dropped") == 2);

	/* copytruncate: copied away, truncated in place, then written. */
	append(logpath, "ERROR eight\n");
	run(p, &s, 106);
	assert_true(get(&s, "app.matches") == 1);
	snprintf(cmd, sizeof(cmd), "cp %s %s.2 && truncate -s 0 %s", logpath,
	         logpath, logpath);
	assert_int_equal(system(cmd), 0);
	append(logpath, "ERROR nine\nERROR ten\n");
	run(p, &s, 110);
	assert_true(get(&s, "app.matches") == 2);
	assert_string_equal(s.events[0], "ERROR nine");

	/* Truncated and refilled past the old offset before we looked. */
	snprintf(cmd, sizeof(cmd), "truncate -s 0 %s", logpath);
	assert_int_equal(system(cmd), 0);
	append(logpath, "REJECT eleven, a longer first line than before\n"
	                "ERROR twelve\nERROR thirteen\n");
	run(p, &s, 111);
	assert_true(get(&s, "app.matches") == 3);
	assert_string_equal(s.events[0],
	                    "REJECT eleven, a longer first line than before");

	run(p, &s, 121);
	assert_true(get(&s, "app.matches") == 0);
	assert_true(get(&s, "app.since_last_s") == 10);
	probe_free(p);
}

static void
test_logfile_invalid_utf8_and_missing(void **state)
{
	struct sink s;
	struct probe *p;
	char yaml[256];

	(void)state;
	snprintf(yaml, sizeof(yaml),
	         "{name: app, type: logfile, path: '%s', pattern: ERROR}",
	         logpath);
	p = probe_from(yaml, &s);
	run(p, &s, 1); /* no file yet */
	assert_true(get(&s, "app.matches") == 0);
	/* A file that appears later is read from its start. */
	append(logpath, "ERROR caf\xe9 latin-1\n");
	run(p, &s, 2);
	assert_true(get(&s, "app.matches") == 1);
	assert_string_equal(s.events[0], "ERROR caf? latin-1");
	probe_free(p);
}

static void
test_file_age(void **state)
{
	struct sink s;
	struct probe *p;
	char yaml[256], path[160];
	struct timeval tv[2] = {{1000000000, 0}, {1000000000, 0}};

	(void)state;
	snprintf(path, sizeof(path), "%s/backup-1.dump", dir);
	append(path, "0123456789");
	assert_int_equal(utimes(path, tv), 0);
	snprintf(path, sizeof(path), "%s/backup-2.dump", dir);
	append(path, "01234");
	tv[0].tv_sec = tv[1].tv_sec = 1000000500;
	assert_int_equal(utimes(path, tv), 0);
	snprintf(yaml, sizeof(yaml),
	         "{name: backup, type: file_age, path: '%s/backup-*.dump'}",
	         dir);
	p = probe_from(yaml, &s);
	run(p, &s, 1000000600.0);
	assert_true(get(&s, "backup.exists") == 1);
	assert_float_equal(get(&s, "backup.age_s"), 100.0, 1e-6); /* newest */
	assert_true(get(&s, "backup.size_bytes") == 5);
	probe_free(p);
	snprintf(yaml, sizeof(yaml),
	         "{name: backup, type: file_age, path: '%s/none-*'}", dir);
	p = probe_from(yaml, &s);
	run(p, &s, 1000000600.0);
	assert_true(get(&s, "backup.exists") == 0);
	probe_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_logfile_rotation, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(
	        test_logfile_invalid_utf8_and_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_age, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
