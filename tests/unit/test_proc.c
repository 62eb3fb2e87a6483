/* The process and netif probes on fixture /proc trees; counter math. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent.h"

struct sink {
	char series[32][128];
	double value[32];
	int n;
};

static void
sink_emit(void *arg, int64_t ts, const char *series, double v)
{
	struct sink *s = arg;
	(void)ts;
	if (s->n < 32) {
		snprintf(s->series[s->n], sizeof(s->series[0]), "%s", series);
		s->value[s->n++] = v;
	}
}

static int
sink_get(struct sink *s, const char *series, double *v)
{
	int i;
	for (i = 0; i < s->n; i++)
		if (strcmp(s->series[i], series) == 0) {
			*v = s->value[i];
			return 1;
		}
	return 0;
}

/* A probe configured from YAML text, as the agent would. */
static struct probe *
probe_from(const char *yaml, struct sink *s)
{
	char path[] = "/tmp/ws-probe-XXXXXX";
	int fd = mkstemp(path);
	struct yconf yc;
	struct probe *p;

	assert_true(write(fd, yaml, strlen(yaml)) == (ssize_t)strlen(yaml));
	close(fd);
	assert_int_equal(yconf_load(&yc, path), 0);
	p = probe_configure(&yc, yconf_root(&yc), "probes[0]");
	yconf_free(&yc);
	unlink(path);
	assert_non_null(p);
	p->pr_emit = sink_emit;
	p->pr_emit_arg = s;
	return p;
}

static void
run(struct probe *p, struct sink *s, double mono)
{
	s->n = 0;
	p->pr_mono_s = mono;
	p->pr_now_us = 1;
	p->pr_type->pt_run(p);
}

static char tree[64];

static int
setup_tree(void **state)
{
	char cmd[256];
	(void)state;
	snprintf(tree, sizeof(tree), "/tmp/ws-proc-%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "rm -rf %s && cp -r %s/proc %s", tree,
	         WS_FIXTURES, tree);
	if (system(cmd) != 0)
		return -1;
	setenv("WATCHSTAND_PROC_ROOT", tree, 1);
	return 0;
}

static int
teardown_tree(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tree);
	return system(cmd) == 0 ? 0 : -1;
}

/* Sets field <field> (1-based as in proc(5)) of a fixture's stat. */
static void
set_field(const char *pid, int field, int value)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
	         "sed -i -E 's/^(([^ ]+ ){%d})[0-9]+ /\\1%d /' %s/%s/stat",
	         field - 1, value, tree, pid);
	assert_int_equal(system(cmd), 0);
}

/* Moves fixture process dir <from> to pid <to> started at <start>. */
static void
move_pid(const char *from, int to, int start)
{
	char cmd[256], name[16];

	snprintf(cmd, sizeof(cmd), "mv %s/%s %s/%d", tree, from, tree, to);
	assert_int_equal(system(cmd), 0);
	snprintf(name, sizeof(name), "%d", to);
	set_field(name, 1, to);
	set_field(name, 22, start);
}

/* Takes a fixture process out of the tree (a name the probe skips). */
static void
park(const char *pid)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "cd %s && mv %s parked-%s", tree, pid, pid);
	assert_int_equal(system(cmd), 0);
}

static void
test_parse_stat(void **state)
{
	struct proc_stat ps;
	(void)state;
	assert_int_equal(
	    probe_proc_parse_stat(
	        "200 (odd) name) R 1 200 200 0 "
	        "-1 4194560 500 0 0 0 7 3 0 0 20 0 1 0 400000 123456789 300 0",
	        &ps),
	    0);
	assert_int_equal(ps.ps_pid, 200);
	assert_int_equal(ps.ps_ppid, 1);
	assert_string_equal(ps.ps_comm, "odd) name");
	assert_int_equal(ps.ps_state, 'R');
	assert_int_equal(ps.ps_utime, 7);
	assert_int_equal(ps.ps_stime, 3);
	assert_int_equal(ps.ps_starttime, 400000);
	assert_int_equal(ps.ps_rss_pages, 300);
	assert_int_equal(probe_proc_parse_stat("12 (x S 1 2", &ps), -1);
	assert_int_equal(probe_proc_parse_stat("12 (x) S 1 2", &ps), -1);
}

static void
test_process_by_comm(void **state)
{
	struct sink s;
	struct probe *p = probe_from("{name: q, type: process, match: {comm: "
	                             "quoted}}",
	                             &s);
	long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	double v;
	char cmd[512];

	(void)state;
	run(p, &s, 100.0);
	assert_true(sink_get(&s, "q.count", &v));
	assert_true(v == 2);
	assert_true(sink_get(&s, "q.rss_bytes", &v));
	assert_true(v == (2560.0 + 1024) * page);
	assert_true(sink_get(&s, "q.uptime_s", &v));
	assert_true(v == 5000.0 - 200000.0 / hz);
	assert_true(sink_get(&s, "q.restarts", &v));
	assert_true(v == 0);
	assert_false(sink_get(&s, "q.cpu_pct", &v)); /* needs two reads */

	/* pid 100 used 100 more ticks in 2 s: 100/hz/2 of one core. */
	snprintf(cmd, sizeof(cmd), "sed -i 's/ 250 50 / 300 100 /' %s/100/stat",
	         tree);
	assert_int_equal(system(cmd), 0);
	run(p, &s, 102.0);
	assert_true(sink_get(&s, "q.cpu_pct", &v));
	assert_float_equal(v, 100.0 * 100 / hz / 2.0, 1e-9);

	/* Worker 101 is replaced by 102: not a restart, the main (100) is up. */
	move_pid("101", 102, 310000);
	run(p, &s, 104.0);
	assert_true(sink_get(&s, "q.count", &v));
	assert_true(v == 2);
	assert_true(sink_get(&s, "q.restarts", &v));
	assert_true(v == 0);

	/* The main process 100 is replaced by 103: one restart. */
	move_pid("100", 103, 320000);
	run(p, &s, 106.0);
	assert_true(sink_get(&s, "q.count", &v) && v == 2);
	assert_true(sink_get(&s, "q.restarts", &v) && v == 1);
	assert_true(sink_get(&s, "q.uptime_s", &v));
	assert_true(v == 5000.0 - 310000.0 / hz); /* 102 is the oldest now */

	/* A younger one comes and goes while 102 stays: still one. */
	move_pid("103", 104, 330000);
	run(p, &s, 108.0);
	assert_true(sink_get(&s, "q.restarts", &v) && v == 1);

	/* All gone, then back: the count going to zero and back is one. */
	park("102");
	park("104");
	run(p, &s, 110.0);
	assert_true(sink_get(&s, "q.count", &v) && v == 0);
	assert_true(sink_get(&s, "q.restarts", &v) && v == 1);
	run(p, &s, 112.0);
	assert_true(sink_get(&s, "q.restarts", &v) && v == 1);
	move_pid("parked-102", 100, 340000);
	move_pid("parked-104", 101, 340000);
	set_field("100", 5, 100);
	set_field("101", 5, 101);
	run(p, &s, 114.0);
	assert_true(sink_get(&s, "q.count", &v) && v == 2);
	assert_true(sink_get(&s, "q.restarts", &v) && v == 2);
	run(p, &s, 116.0);
	assert_true(sink_get(&s, "q.restarts", &v) && v == 2);
	probe_free(p);
}

/* A main process (100) with a worker (101) it forked. */
static void
test_process_workers(void **state)
{
	struct sink s;
	struct probe *p = probe_from("{name: q, type: process, match: {comm: "
	                             "quoted}}",
	                             &s);
	double v;

	(void)state;
	set_field("101", 4, 100);
	run(p, &s, 100.0);
	assert_true(sink_get(&s, "q.restarts", &v) && v == 0);

	/* Workers come and go: 101 exits, 102 is forked younger. */
	move_pid("101", 102, 310000);
	run(p, &s, 101.0);
	assert_true(sink_get(&s, "q.count", &v) && v == 2);
	assert_true(sink_get(&s, "q.restarts", &v) && v == 0);

	/*
	 * The main dies; its worker lingers as init's child, and so does one
	 * it forked just before (in its process group, never seen): no main.
	 */
	park("100");
	set_field("102", 4, 1);
	assert_int_equal(system("cp -r $WATCHSTAND_PROC_ROOT/102 "
	                        "$WATCHSTAND_PROC_ROOT/parked-104"),
	                 0);
	move_pid("parked-104", 104, 315000);
	set_field("104", 5, 100);
	run(p, &s, 102.0);
	assert_true(sink_get(&s, "q.count", &v) && v == 2);
	assert_true(sink_get(&s, "q.restarts", &v) && v == 0);

	/* A new main is started beside the orphan: one restart. */
	move_pid("parked-100", 103, 320000);
	set_field("103", 5, 103);
	run(p, &s, 103.0);
	assert_true(sink_get(&s, "q.count", &v) && v == 3);
	assert_true(sink_get(&s, "q.restarts", &v) && v == 1);

	/* The orphans exit: the same restart, not a second one. */
	park("102");
	run(p, &s, 104.0);
	assert_true(sink_get(&s, "q.count", &v) && v == 2);
	assert_true(sink_get(&s, "q.restarts", &v) && v == 1);
	park("104");
	run(p, &s, 105.0);
	assert_true(sink_get(&s, "q.count", &v) && v == 1);
	assert_true(sink_get(&s, "q.restarts", &v) && v == 1);
	probe_free(p);
}

static void
test_process_by_cmdline_user_pidfile(void **state)
{
	struct sink s;
	struct probe *p;
	double v;
	char yaml[256], pidfile[128];
	FILE *fp;

	(void)state;
	p = probe_from(
	    "{name: q, type: process, match: {cmdline: 'feed shfe$'}}", &s);
	run(p, &s, 1);
	assert_true(sink_get(&s, "q.count", &v) && v == 1);
	probe_free(p);

	p = probe_from("{name: q, type: process, match: {user: '1001'}}", &s);
	run(p, &s, 1);
	assert_true(sink_get(&s, "q.count", &v) && v == 2);
	probe_free(p);

	p = probe_from("{name: q, type: process, match: {user: '1001', comm: "
	               "quoted}}",
	               &s);
	run(p, &s, 1);
	assert_true(sink_get(&s, "q.count", &v) && v == 1);
	probe_free(p);

	snprintf(pidfile, sizeof(pidfile), "%s/odd.pid", tree);
	fp = fopen(pidfile, "w");
	fprintf(fp, "200\n");
	fclose(fp);
	snprintf(yaml, sizeof(yaml),
	         "{name: q, type: process, match: {pidfile: '%s'}}", pidfile);
	p = probe_from(yaml, &s);
	run(p, &s, 1);
	assert_true(sink_get(&s, "q.count", &v) && v == 1);
	unlink(pidfile);
	run(p, &s, 2); /* pidfile gone: the process counts as down */
	assert_true(sink_get(&s, "q.count", &v) && v == 0);
	probe_free(p);
}

static void
test_counter_delta(void **state)
{
	uint64_t d;
	const uint64_t w = (uint64_t)1 << 32;

	(void)state;
	assert_int_equal(counter_delta(100, 150, &d), 1);
	assert_int_equal(d, 50);
	assert_int_equal(counter_delta(4294967000ULL, 200, &d), 1);
	assert_int_equal(d, 496);
	assert_int_equal(counter_delta(w / 2 + 5, 3, &d), 1);
	assert_int_equal(d, w / 2 - 2);
	/* Resets, never spikes. */
	assert_int_equal(counter_delta(123456789012ULL, 5, &d), 0);
	assert_int_equal(counter_delta(10, 5, &d), 0);
}

static void
test_netif(void **state)
{
	struct netif_counters c[8];
	struct sink s;
	struct probe *p;
	char path[128], cmd[512];
	double v;

	(void)state;
	snprintf(path, sizeof(path), "%s/net/dev", WS_FIXTURES "/proc");
	FILE *fp = fopen(path, "r");
	char text[4096];
	size_t n = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	text[n] = '\0';
	assert_int_equal(probe_netif_parse(text, c, 8), 2);
	assert_string_equal(c[1].nc_name, "eth1");
	assert_true(c[1].nc_rx_bytes == 4294967000ULL);
	assert_true(c[1].nc_tx_bytes == 123456789012ULL);
	assert_true(c[1].nc_rx_errs == 3 && c[1].nc_tx_errs == 1);
	assert_true(c[1].nc_rx_drop == 7 && c[1].nc_tx_drop == 2);
	assert_int_equal(probe_netif_parse("x\ny\n  eth0: 1 2 3\n", c, 8), -1);

	p = probe_from("{name: line, type: netif, interface: lo, capacity: "
	               "10Mbit}",
	               &s);
	run(p, &s, 10.0);
	assert_int_equal(s.n, 0); /* rates need two reads */
	/* 1 MB in on lo over 2 s, 0.5 MB out: 4 Mbit/s, 40 % of 10 Mbit. */
	snprintf(cmd, sizeof(cmd),
	         "sed -i 's/lo: 1000000    1000/lo: 2000000    1000/; "
	         "s/0  1000000    1000/0  1500000    1000/' %s/net/dev",
	         tree);
	assert_int_equal(system(cmd), 0);
	run(p, &s, 12.0);
	assert_true(sink_get(&s, "line.in_bps", &v));
	assert_float_equal(v, 4e6, 1e-6);
	assert_true(sink_get(&s, "line.out_bps", &v));
	assert_float_equal(v, 2e6, 1e-6);
	assert_true(sink_get(&s, "line.util_pct", &v));
	assert_float_equal(v, 40.0, 1e-9);
	assert_true(sink_get(&s, "line.errors", &v) && v == 0);
	probe_free(p);

	/* A glob gives one instance per interface; eth1 wraps at 2^32. */
	p = probe_from("{name: all, type: netif, interface: 'eth*'}", &s);
	run(p, &s, 1.0);
	snprintf(
	    cmd, sizeof(cmd),
	    "sed -i 's/eth1: 4294967000  50000    3/eth1: 200  50000    5/' "
	    "%s/net/dev",
	    tree);
	assert_int_equal(system(cmd), 0);
	run(p, &s, 2.0);
	assert_true(sink_get(&s, "all.eth1.in_bps", &v));
	assert_float_equal(v, 496 * 8.0, 1e-9);
	assert_true(sink_get(&s, "all.eth1.errors", &v) && v == 2);
	assert_false(sink_get(&s, "all.eth1.util_pct", &v)); /* no capacity */
	assert_false(sink_get(&s, "all.lo.in_bps", &v));
	probe_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_stat),
	    cmocka_unit_test_setup_teardown(test_process_by_comm, setup_tree,
	                                    teardown_tree),
	    cmocka_unit_test_setup_teardown(test_process_workers, setup_tree,
	                                    teardown_tree),
	    cmocka_unit_test_setup_teardown(
	        test_process_by_cmdline_user_pidfile, setup_tree,
	        teardown_tree),
	    cmocka_unit_test(test_counter_delta),
	    cmocka_unit_test_setup_teardown(test_netif, setup_tree,
	                                    teardown_tree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
