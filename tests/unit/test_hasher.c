/* The password hasher: results come back on the loop, a full queue
 * refuses at once, freeing with checks still queued or unreported drops
 * them without a callback (and without a leak under ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <crypt.h>
#include <cmocka.h>

#include <event2/event.h>

#include "duty/hasher.h"
#include "duty/users.h"

struct result {
	int r_calls;
	int r_ok;
	struct event_base *r_base;
	int r_want; /* stop the loop after this many calls */
};

static void
done(void *arg, int ok)
{
	struct result *r = arg;

	r->r_calls++;
	r->r_ok += ok;
	if (r->r_calls == r->r_want)
		event_base_loopbreak(r->r_base);
}

static void
make_hash(const char *password, char *out, size_t olen)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd;
	const char *h;

	assert_non_null(
	    crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting)));
	memset(&cd, 0, sizeof(cd));
	h = crypt_rn(password, setting, &cd, sizeof(cd));
	assert_non_null(h);
	assert_true(strlen(h) < olen);
	strcpy(out, h);
}

static void
test_results_on_the_loop(void **state)
{
	struct event_base *base = event_base_new();
	struct hasher *h = hasher_new(base, 8);
	struct result r = {0, 0, base, 3};
	char hash[256], dummy[256];

	(void)state;
	make_hash("right-password", hash, sizeof(hash));
	assert_int_equal(users_dummy_hash(dummy, sizeof(dummy)), 0);
	assert_int_equal(strncmp(dummy, "$y$", 3), 0);
	assert_int_equal(hasher_check(h, "right-password", hash, done, &r), 0);
	assert_int_equal(hasher_check(h, "wrong-password", hash, done, &r), 0);
	assert_int_equal(hasher_check(h, "right-password", dummy, done, &r), 0);
	/* Nothing is reported before the loop runs. */
	assert_int_equal(r.r_calls, 0);
	event_base_dispatch(base);
	assert_int_equal(r.r_calls, 3);
	assert_int_equal(r.r_ok, 1);
	assert_int_equal(hasher_count(h), 3);
	assert_false(hasher_busy(h));
	hasher_free(h);
	event_base_free(base);
}

static void
test_full_queue_refuses(void **state)
{
	struct event_base *base = event_base_new();
	struct hasher *h = hasher_new(base, 2);
	struct result r = {0, 0, base, 2};
	char hash[256];

	(void)state;
	make_hash("pw", hash, sizeof(hash));
	assert_int_equal(hasher_check(h, "pw", hash, done, &r), 0);
	assert_int_equal(hasher_check(h, "pw", hash, done, &r), 0);
	/* Two waiting or unreported: the third is refused at once. */
	assert_true(hasher_busy(h));
	assert_int_equal(hasher_check(h, "pw", hash, done, &r), -1);
	event_base_dispatch(base);
	assert_int_equal(r.r_calls, 2);
	assert_false(hasher_busy(h));
	assert_int_equal(hasher_check(h, "pw", hash, done, &r), 0);
	hasher_free(h); /* one still queued or unreported: dropped */
	assert_int_equal(r.r_calls, 2);
	event_base_free(base);
}

static void
test_free_with_work_pending(void **state)
{
	struct event_base *base = event_base_new();
	struct hasher *h = hasher_new(base, 16);
	struct result r = {0, 0, base, -1};
	char hash[256];
	int i;

	(void)state;
	make_hash("pw", hash, sizeof(hash));
	for (i = 0; i < 16; i++)
		assert_int_equal(hasher_check(h, "pw", hash, done, &r), 0);
	hasher_free(h);
	hasher_free(NULL);
	assert_int_equal(r.r_calls, 0);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_results_on_the_loop),
	    cmocka_unit_test(test_full_queue_refuses),
	    cmocka_unit_test(test_free_with_work_pending),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
