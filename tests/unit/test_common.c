/* common/: the host:port parser, the monotonic clock, the allocators. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "watchstand/clock.h"
#include "watchstand/hostport.h"
#include "watchstand/xalloc.h"

static void
test_hostport(void **state)
{
	char host[16];
	int port;

	assert_int_equal(hostport_split("db1:5432", host, sizeof(host), &port),
	                 0);
	assert_string_equal(host, "db1");
	assert_int_equal(port, 5432);
	assert_int_equal(hostport_split("[::1]:0", host, sizeof(host), &port),
	                 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 0);
	/* The last colon splits: a bare v6 literal keeps its colons. */
	assert_int_equal(
	    hostport_split("fe80::1:80", host, sizeof(host), &port), 0);
	assert_string_equal(host, "fe80::1");
	assert_int_equal(hostport_split("db1", host, sizeof(host), &port), -1);
	assert_int_equal(hostport_split(":80", host, sizeof(host), &port), -1);
	assert_int_equal(hostport_split("db1:", host, sizeof(host), &port), -1);
	assert_int_equal(hostport_split("db1:http", host, sizeof(host), &port),
	                 -1);
	assert_int_equal(hostport_split("db1:65536", host, sizeof(host), &port),
	                 -1);
	assert_int_equal(hostport_split("db1:-1", host, sizeof(host), &port),
	                 -1);
	assert_int_equal(hostport_split("a-very-long-host-name:1", host,
	                                sizeof(host), &port),
	                 -1);
}

/* Plain HTTP is allowed on these only (collector.http). */
static void
test_loopback(void **state)
{
	(void)state;
	assert_true(hostport_is_loopback("127.0.0.1"));
	assert_true(hostport_is_loopback("127.3.2.1"));
	assert_true(hostport_is_loopback("::1"));
	assert_true(hostport_is_loopback("::ffff:127.0.0.1"));
	assert_true(hostport_is_loopback("localhost"));
	assert_true(hostport_is_loopback("LOCALHOST"));
	assert_false(hostport_is_loopback(""));
	assert_false(hostport_is_loopback("0.0.0.0"));
	assert_false(hostport_is_loopback("::"));
	assert_false(hostport_is_loopback("10.0.0.1"));
	assert_false(hostport_is_loopback("128.0.0.1"));
	assert_false(hostport_is_loopback("::ffff:10.0.0.1"));
	assert_false(hostport_is_loopback("localhost.example"));
	assert_false(hostport_is_loopback("127.0.0.1.example"));
}

static void
test_clock(void **state)
{
	double a = clock_mono_s(), b = clock_mono_s();
	int64_t ma = clock_mono_ms(), mb = clock_mono_ms();

	assert_true(b >= a);
	assert_true(mb >= ma);
}

static void
test_xalloc(void **state)
{
	char *s = xstrdup("abc"), *t = xstrndup("abcdef", 2);
	int *v = xcalloc(4, sizeof(*v));
	void *z = xmalloc(0);

	assert_string_equal(s, "abc");
	assert_string_equal(t, "ab");
	assert_int_equal(v[3], 0);
	v = xrealloc(v, 0);
	assert_non_null(v);
	assert_non_null(z);
	free(s);
	free(t);
	free(v);
	free(z);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hostport),
	    cmocka_unit_test(test_loopback),
	    cmocka_unit_test(test_clock),
	    cmocka_unit_test(test_xalloc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
