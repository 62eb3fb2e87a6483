/* The store's SQL takes values only as parameters; arrays go as
 * PostgreSQL array literals built here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "ingest/store.h"

static void
expect_array(const int64_t *v, size_t n, const char *want)
{
	char *got = store_array_text(v, n);

	assert_string_equal(got, want);
	free(got);
}

static void
test_array_text(void **state)
{
	static const int64_t one[] = {7};
	static const int64_t many[] = {1, -2, 30};
	static const int64_t extremes[] = {INT64_MIN, INT64_MAX, 0};

	(void)state;
	expect_array(NULL, 0, "{}");
	expect_array(one, 1, "{7}");
	expect_array(many, 3, "{1,-2,30}");
	/* Stream ids are u64 on the wire, stored as signed bigints. */
	expect_array(extremes, 3,
	             "{-9223372036854775808,9223372036854775807,0}");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_array_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
