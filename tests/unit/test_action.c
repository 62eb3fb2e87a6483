/* The agent's actions: config, and the runner's pure parts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "action.h"
#include "agent.h"
#include "child.h"

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

static void
test_config_good(void **state)
{
	struct agent_conf c;

	(void)state;
	assert_int_equal(agent_conf_load("agent-actions-good.yaml", &c), 0);
	assert_int_equal(c.ac_nactions, 2);
	assert_string_equal(c.ac_actions[0].ac_name, "start-quoted");
	assert_string_equal(c.ac_actions[0].ac_run[0], "/usr/bin/systemctl");
	assert_string_equal(c.ac_actions[0].ac_run[2], "quoted");
	assert_null(c.ac_actions[0].ac_run[3]);
	assert_int_equal(c.ac_actions[0].ac_timeout_ms, 60000);
	assert_null(c.ac_actions[0].ac_user);
	assert_int_equal(c.ac_actions[0].ac_drill, 0);
	assert_int_equal(c.ac_actions[1].ac_timeout_ms, 90000);
	assert_string_equal(c.ac_actions[1].ac_user, "root");
	assert_int_equal(c.ac_actions[1].ac_drill, 1);
	assert_ptr_equal(action_find(&c, "stop-quoted"), &c.ac_actions[1]);
	assert_null(action_find(&c, "stop"));
	agent_conf_free(&c);
}

/* Every error, with file:line:column, exactly as the .expected file. */
static void
test_config_bad(void **state)
{
	char tmpl[] = "/tmp/ws-action-XXXXXX";
	int fd = mkstemp(tmpl), saved, rc;
	struct agent_conf c;
	char *got, *want;

	(void)state;
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	rc = agent_conf_load("agent-actions-bad.yaml", &c);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	got = slurp(tmpl);
	unlink(tmpl);
	want = slurp("agent-actions-bad.expected");
	assert_int_equal(rc, -1);
	assert_string_equal(got, want);
	free(got);
	free(want);
}

static void
test_tail(void **state)
{
	char out[PROTO_OUTPUT_MAX * 2], dst[PROTO_OUTPUT_MAX + 1];
	size_t n;

	(void)state;
	n = action_tail("hello\n", 6, dst, sizeof(dst));
	assert_int_equal(n, 6);
	assert_string_equal(dst, "hello\n");
	/* Longer: the last 4 KiB, not starting inside a character. */
	memset(out, 'a', sizeof(out));
	memcpy(out + sizeof(out) - PROTO_OUTPUT_MAX - 1, "\xc3\xa9", 2);
	memcpy(out + sizeof(out) - 4, "end\n", 4);
	n = action_tail(out, sizeof(out), dst, sizeof(dst));
	assert_int_equal(n, PROTO_OUTPUT_MAX - 1);
	assert_int_equal(dst[0], 'a');
	assert_string_equal(dst + n - 4, "end\n");
	assert_true(proto_text_valid(dst, n));
	/* NUL and invalid bytes become '?'. */
	n = action_tail("a\0b\xff", 4, dst, sizeof(dst));
	assert_int_equal(n, 4);
	assert_memory_equal(dst, "a?b?", 4);
}

static void
test_result_from(void **state)
{
	struct child_result cr;
	static struct proto_action_result r;

	(void)state;
	memset(&cr, 0, sizeof(cr));
	cr.cr_exited = 1;
	cr.cr_status = 0;
	cr.cr_output = "started\n";
	cr.cr_len = 8;
	cr.cr_seconds = 1.5;
	action_result_from(&cr, 60000, &r);
	assert_int_equal(r.ar_outcome, PROTO_OUT_OK);
	assert_int_equal(r.ar_status, 0);
	assert_int_equal(r.ar_duration_ms, 1500);
	assert_string_equal(r.ar_output, "started\n");
	assert_string_equal(r.ar_reason, "");

	cr.cr_status = 3;
	action_result_from(&cr, 60000, &r);
	assert_int_equal(r.ar_outcome, PROTO_OUT_FAILED);
	assert_int_equal(r.ar_status, 3);

	cr.cr_exited = 0;
	cr.cr_status = 11;
	action_result_from(&cr, 60000, &r);
	assert_int_equal(r.ar_outcome, PROTO_OUT_FAILED);
	assert_int_equal(r.ar_status, -11);
	assert_string_equal(r.ar_reason, "killed by signal 11");

	cr.cr_status = 15;
	cr.cr_timed_out = 1;
	action_result_from(&cr, 2000, &r);
	assert_int_equal(r.ar_outcome, PROTO_OUT_TIMEOUT);
	assert_int_equal(r.ar_status, -15);
	assert_string_equal(r.ar_reason, "timed out after 2.0 s; its process "
	                                 "group was killed");
}

static void
test_env(void **state)
{
	char **env;

	(void)state;
	env = action_env("/opt/bin:/usr/bin", "de_DE.UTF-8");
	assert_string_equal(env[0], "PATH=/opt/bin:/usr/bin");
	assert_string_equal(env[1], "LANG=de_DE.UTF-8");
	assert_null(env[2]);
	free(env[0]);
	free(env[1]);
	free(env);
	env = action_env(NULL, NULL);
	assert_string_equal(
	    env[0], "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
	assert_null(env[1]);
	free(env[0]);
	free(env);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_good),
	    cmocka_unit_test(test_config_bad),
	    cmocka_unit_test(test_tail),
	    cmocka_unit_test(test_result_from),
	    cmocka_unit_test(test_env),
	};

	if (chdir(WS_FIXTURES "/config") == -1)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
