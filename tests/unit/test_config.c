/* Config fixtures: each bad file prints exactly its .expected text. */
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
#include "collector.h"

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;

	if (fp == NULL)
		return strdup("");
	if (getdelim(&buf, &cap, '\0', fp) < 0) {
		free(buf);
		buf = strdup("");
	}
	fclose(fp);
	return buf;
}

/* Runs load() with stderr captured; returns what it printed. */
static char *
capture(int (*load)(const char *), const char *file, int *rc)
{
	char tmpl[] = "/tmp/ws-config-XXXXXX";
	int fd = mkstemp(tmpl), saved;
	char *out;

	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	*rc = load(file);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	out = slurp(tmpl);
	unlink(tmpl);
	return out;
}

static int
load_agent(const char *file)
{
	struct agent_conf c;
	int rc = agent_conf_load(file, &c);
	if (rc == 0)
		agent_conf_free(&c);
	return rc;
}

static int
load_collector(const char *file)
{
	struct collector_conf c;
	int rc = collector_conf_load(file, &c);
	if (rc == 0)
		collector_conf_free(&c);
	return rc;
}

static void
check_fixture(int (*load)(const char *), const char *name)
{
	char file[256], expected[256];
	char *got, *want;
	int rc;

	snprintf(file, sizeof(file), "%s.yaml", name);
	snprintf(expected, sizeof(expected), "%s.expected", name);
	got = capture(load, file, &rc);
	want = slurp(expected);
	assert_int_equal(rc, -1);
	assert_string_equal(got, want);
	free(got);
	free(want);
}

static void
test_agent_bad_units(void **state)
{
	(void)state;
	check_fixture(load_agent, "agent-bad-units");
}

static void
test_agent_bad_keys(void **state)
{
	(void)state;
	check_fixture(load_agent, "agent-bad-keys");
}

static void
test_agent_syntax(void **state)
{
	(void)state;
	check_fixture(load_agent, "agent-syntax");
}

static void
test_collector_bad(void **state)
{
	(void)state;
	check_fixture(load_collector, "collector-bad");
}

static void
test_collector_rules_bad(void **state)
{
	(void)state;
	check_fixture(load_collector, "collector-rules-bad");
}

static void
test_collector_checklists_bad(void **state)
{
	(void)state;
	check_fixture(load_collector, "collector-checklists-bad");
}

static void
test_agent_good(void **state)
{
	struct agent_conf c;

	(void)state;
	assert_int_equal(agent_conf_load("agent-good.yaml", &c), 0);
	assert_string_equal(c.ac_name, "quote-01");
	assert_int_equal(c.ac_ncollectors, 2);
	assert_int_equal(c.ac_nprobes, 3);
	assert_int_equal(c.ac_probes[0]->pr_interval_ms, 1000);
	assert_string_equal(c.ac_probes[1]->pr_type->pt_name, "netif");
	assert_int_equal(c.ac_spool_max_size, 1ULL << 30);
	assert_int_equal(c.ac_spool_max_age_ms, 86400000ULL);
	assert_int_equal(c.ac_spool_sync_ms, 2000);
	assert_int_equal(c.ac_nactions, 1);
	assert_int_equal(c.ac_actions[0].ac_timeout_ms, 60000);
	/* Relative TLS paths are taken from the config's folder. */
	assert_string_equal(c.ac_tls_ca, "./ca.pem");
	agent_conf_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_agent_bad_units),
	    cmocka_unit_test(test_agent_bad_keys),
	    cmocka_unit_test(test_agent_syntax),
	    cmocka_unit_test(test_collector_bad),
	    cmocka_unit_test(test_collector_rules_bad),
	    cmocka_unit_test(test_collector_checklists_bad),
	    cmocka_unit_test(test_agent_good),
	};
	if (chdir(WS_FIXTURES "/config") == -1)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
