/* Reload's pure parts: the first error, restart-only keys, summaries. */
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
#include "reload.h"

static char dir[] = "/tmp/ws-reload-XXXXXX";

static const char *
put(const char *name, const char *text)
{
	static char path[2][300];
	static int which;
	char *p = path[which++ % 2];
	FILE *fp;

	snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
	fp = fopen(p, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return p;
}

#define COLLECTOR                                                              \
	"collector:\n"                                                         \
	"  database: \"dbname=watchstand\"\n"                                  \
	"  tls: {ca: ca.pem, cert: c.pem, key: c.key}\n"
#define RULE(name, when)                                                       \
	"  - {name: " name ", match: {series: x.y}, levels: [{when: '" when    \
	"', severity: minor}]}\n"

/* The API answers with the first error and how many more. */
static void
test_first_error(void **state)
{
	struct collector_conf c;
	char err[1024];

	(void)state;
	assert_int_equal(collector_conf_read(WS_FIXTURES
	                                     "/config/collector-bad.yaml",
	                                     &c, err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "collector-bad.yaml:9:41: "
	                            "notify.channels[0].type: expected "
	                            "webhook, sms, wecom, dingtalk, feishu, "
	                            "slack or smtp, got 'beeper' (and 6 more "
	                            "errors)"));
}

static void
test_collector_keys_and_summary(void **state)
{
	struct collector_conf a, b;
	char buf[512];
	const char *fa, *fb;

	(void)state;
	fa = put("a.yaml", COLLECTOR "rules:\n" RULE("one", "> 1")
	                       RULE("two", "> 2") RULE("three", "> 3"));
	assert_int_equal(collector_conf_load(fa, &a), 0);
	fb = put("b.yaml",
	         COLLECTOR "  agent_silence: 5s\n"
	                   "rules:\n" RULE("one", "> 1") RULE("two", "> 20")
	                       RULE("four", "> 4") RULE("five", "> 5"));
	assert_int_equal(collector_conf_load(fb, &b), 0);
	assert_int_equal(reload_fixed_keys(&a, &b, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	reload_summary(&a, &b, buf, sizeof(buf));
	assert_string_equal(buf, "rules +2 -1 ~1, calendar unchanged, notify "
	                         "routes unchanged, channels unchanged, "
	                         "collector: agent_silence");
	collector_conf_free(&b);
	fb = put("b.yaml", "collector:\n"
	                   "  listen: 127.0.0.1:1\n"
	                   "  database: \"dbname=other\"\n"
	                   "  tls: {ca: ca.pem, cert: c2.pem, key: c.key}\n"
	                   "  http_tls: {cert: w.pem, key: w.key}\n"
	                   "  allow_plain_http: true\n");
	assert_int_equal(collector_conf_load(fb, &b), 0);
	assert_int_equal(reload_fixed_keys(&a, &b, 0, buf, sizeof(buf)), -1);
	assert_string_equal(buf, "collector.listen, collector.database, "
	                         "collector.tls, collector.http_tls, "
	                         "collector.allow_plain_http");
	/* --database: the running one stays, whatever the file says. */
	assert_int_equal(reload_fixed_keys(&a, &b, 1, buf, sizeof(buf)), -1);
	assert_string_equal(buf, "collector.listen, collector.tls, "
	                         "collector.http_tls, "
	                         "collector.allow_plain_http");
	collector_conf_free(&a);
	collector_conf_free(&b);
}

#define AGENT(collector)                                                       \
	"agent:\n"                                                             \
	"  name: quote-01\n"                                                   \
	"  role: quote\n"                                                      \
	"  collectors: [\"" collector "\"]\n"                                  \
	"  tls: {ca: ca.pem, cert: a.pem, key: a.key}\n"                       \
	"probes:\n"

static void
test_agent_keys_and_summary(void **state)
{
	struct agent_conf a, b;
	char buf[512];
	const char *f;

	(void)state;
	f = put("a.yaml", AGENT("10.0.0.5:7730") "  - {name: fs, type: "
	                                         "filesystem, path: /}\n"
	                                         "actions:\n"
	                                         "  x: {run: [/bin/true]}\n");
	assert_int_equal(agent_conf_load(f, &a), 0);
	f = put("b.yaml", AGENT("10.0.0.5:7730") "  - {name: fs, type: "
	                                         "filesystem, path: /}\n"
	                                         "  - {name: tmp, type: "
	                                         "filesystem, path: /tmp}\n");
	assert_int_equal(agent_conf_load(f, &b), 0);
	assert_int_equal(agent_reload_fixed(&a, &b, buf, sizeof(buf)), 0);
	agent_reload_summary(&a, &b, buf, sizeof(buf));
	assert_string_equal(buf, "probes 2 (+1 -0), actions 0 (+0 -1)");
	agent_conf_free(&b);
	f = put("b.yaml", AGENT("10.0.0.6:7730") "  - {name: fs, type: "
	                                         "filesystem, path: /}\n");
	assert_int_equal(agent_conf_load(f, &b), 0);
	assert_int_equal(agent_reload_fixed(&a, &b, buf, sizeof(buf)), -1);
	assert_string_equal(buf, "agent.collectors");
	agent_conf_free(&a);
	agent_conf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_error),
	    cmocka_unit_test(test_collector_keys_and_summary),
	    cmocka_unit_test(test_agent_keys_and_summary),
	};
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(put("a.yaml", ""));
	unlink(put("b.yaml", ""));
	rmdir(dir);
	return rc;
}
