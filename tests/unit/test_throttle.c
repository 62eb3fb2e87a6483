/* The login throttle: refusal after N failures, doubling backoff with a
 * cap, the window, a success resetting, one episode report, bounded
 * memory. Time is an argument: no clock, no sleeping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "duty/throttle.h"

#define S 1000 /* ms */

static const struct throttle_conf conf = {
    .tc_max_failures = 5,
    .tc_window_ms = 900 * S,
    .tc_backoff_ms = 30 * S,
    .tc_max_backoff_ms = 120 * S,
    .tc_max_entries = 4,
};

/* n failures of key at time now; returns the number of episodes begun. */
static int
fail_n(struct throttle *t, const char *key, int n, int64_t now)
{
	int episodes = 0, ep;

	while (n-- > 0) {
		throttle_fail(t, key, now, &ep);
		episodes += ep;
	}
	return episodes;
}

static void
test_refused_after_n(void **state)
{
	struct throttle *t = throttle_new(&conf);
	int ep, i;

	(void)state;
	for (i = 0; i < 4; i++) {
		assert_int_equal(throttle_wait(t, "bob", 1000 + i), 0);
		assert_int_equal(throttle_fail(t, "bob", 1000 + i, &ep), 0);
		assert_int_equal(ep, 0);
	}
	assert_int_equal(throttle_failures(t, "bob", 1004), 4);
	/* The fifth failure starts a 30 s refusal and an episode. */
	assert_int_equal(throttle_fail(t, "bob", 1004, &ep), 30 * S);
	assert_int_equal(ep, 1);
	assert_int_equal(throttle_wait(t, "bob", 1004), 30 * S);
	assert_int_equal(throttle_wait(t, "bob", 1004 + 10 * S), 20 * S);
	/* Other keys are not concerned. */
	assert_int_equal(throttle_wait(t, "alice", 1004), 0);
	/* Over: it may try again, but its count is still there. */
	assert_int_equal(throttle_wait(t, "bob", 1004 + 30 * S), 0);
	assert_int_equal(throttle_failures(t, "bob", 1004 + 30 * S), 5);
	throttle_free(t);
}

static void
test_backoff_doubles_and_caps(void **state)
{
	struct throttle *t = throttle_new(&conf);
	int64_t now = 0, want[] = {30 * S, 60 * S, 120 * S, 120 * S, 120 * S};
	int ep, i, episodes = 0;

	(void)state;
	assert_int_equal(fail_n(t, "bob", 4, now), 0);
	for (i = 0; i < 5; i++) {
		assert_int_equal(throttle_fail(t, "bob", now, &ep), want[i]);
		episodes += ep;
		assert_int_equal(throttle_wait(t, "bob", now), want[i]);
		now += want[i]; /* tries again as soon as allowed */
		assert_int_equal(throttle_wait(t, "bob", now), 0);
	}
	/* One episode however long it lasts. */
	assert_int_equal(episodes, 1);
	throttle_free(t);
}

static void
test_window_forgets(void **state)
{
	struct throttle *t = throttle_new(&conf);
	int ep;

	(void)state;
	assert_int_equal(fail_n(t, "bob", 4, 0), 0);
	/* Quiet for the window: the count starts again. */
	assert_int_equal(throttle_failures(t, "bob", 900 * S), 0);
	assert_int_equal(throttle_fail(t, "bob", 900 * S, &ep), 0);
	assert_int_equal(throttle_failures(t, "bob", 900 * S), 1);
	/* A failure within the window of the one before keeps counting. */
	assert_int_equal(fail_n(t, "bob", 3, 1700 * S), 0);
	assert_int_equal(throttle_fail(t, "bob", 2500 * S, &ep), 30 * S);
	assert_int_equal(ep, 1);
	/* A throttled key comes back after the window: a new episode. */
	assert_int_equal(throttle_wait(t, "bob", 3400 * S), 0);
	assert_int_equal(throttle_failures(t, "bob", 3400 * S), 0);
	assert_int_equal(fail_n(t, "bob", 5, 3400 * S), 1);
	throttle_free(t);
}

static void
test_long_backoff_outlives_window(void **state)
{
	struct throttle_conf c = conf;
	struct throttle *t;

	(void)state;
	c.tc_window_ms = 10 * S;
	t = throttle_new(&c);
	assert_int_equal(fail_n(t, "bob", 5, 0), 1);
	/* The refusal holds even though the window is shorter. */
	assert_int_equal(throttle_wait(t, "bob", 20 * S), 10 * S);
	throttle_expire(t, 20 * S);
	assert_int_equal(throttle_size(t), 1);
	assert_int_equal(throttle_wait(t, "bob", 30 * S), 0);
	throttle_expire(t, 30 * S);
	assert_int_equal(throttle_size(t), 0);
	throttle_free(t);
}

static void
test_success_resets(void **state)
{
	struct throttle *t = throttle_new(&conf);

	(void)state;
	assert_int_equal(fail_n(t, "bob", 4, 0), 0);
	throttle_success(t, "bob");
	assert_int_equal(throttle_failures(t, "bob", 1), 0);
	assert_int_equal(fail_n(t, "bob", 4, 2), 0);
	assert_int_equal(throttle_wait(t, "bob", 3), 0);
	assert_int_equal(fail_n(t, "bob", 1, 3), 1);
	throttle_success(t, "bob");
	assert_int_equal(throttle_wait(t, "bob", 4), 0);
	throttle_success(t, "nobody"); /* harmless */
	throttle_free(t);
}

static void
test_bounded(void **state)
{
	struct throttle *t = throttle_new(&conf);
	char key[32];
	int i;

	(void)state;
	/* a is throttled, b..d fail once each, a fails again last. */
	assert_int_equal(fail_n(t, "a", 5, 0), 1);
	assert_int_equal(fail_n(t, "b", 1, 1), 0);
	assert_int_equal(fail_n(t, "c", 1, 2), 0);
	assert_int_equal(fail_n(t, "d", 1, 3), 0);
	assert_int_equal(throttle_size(t), 4);
	/* Full: the least recently failed key that is not refused (b, not
	 * a: spraying keys must not lift a refusal) makes room for e. */
	assert_int_equal(fail_n(t, "e", 1, 4), 0);
	assert_int_equal(throttle_size(t), 4);
	assert_int_equal(throttle_failures(t, "b", 5), 0);
	assert_int_equal(throttle_failures(t, "c", 5), 1);
	assert_int_not_equal(throttle_wait(t, "a", 5), 0);
	/* Expired keys go first. */
	throttle_expire(t, 899 * S);
	assert_int_equal(throttle_size(t), 4);
	throttle_expire(t, 901 * S);
	assert_int_equal(throttle_size(t), 0);
	assert_int_equal(fail_n(t, "a", 1, 901 * S), 0);
	assert_int_equal(throttle_size(t), 1);
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		fail_n(t, key, 1, 902 * S + i);
	}
	assert_int_equal(throttle_size(t), 4);
	throttle_free(t);
}

static void
test_long_keys(void **state)
{
	struct throttle *t = throttle_new(&conf);
	char key[1000];

	(void)state;
	memset(key, 'x', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	assert_int_equal(fail_n(t, key, 5, 0), 1);
	assert_int_not_equal(throttle_wait(t, key, 1), 0);
	throttle_success(t, key);
	assert_int_equal(throttle_wait(t, key, 1), 0);
	throttle_free(NULL);
	throttle_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refused_after_n),
	    cmocka_unit_test(test_backoff_doubles_and_caps),
	    cmocka_unit_test(test_window_forgets),
	    cmocka_unit_test(test_long_backoff_outlives_window),
	    cmocka_unit_test(test_success_resets),
	    cmocka_unit_test(test_bounded),
	    cmocka_unit_test(test_long_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
