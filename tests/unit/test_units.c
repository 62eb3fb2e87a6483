#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "watchstand/units.h"

static void
test_durations(void **state)
{
	uint64_t v;
	const char *why;

	(void)state;
	assert_int_equal(units_duration_ms("1s", &v, &why), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(units_duration_ms("500ms", &v, &why), 0);
	assert_int_equal(v, 500);
	assert_int_equal(units_duration_ms("1.5m", &v, &why), 0);
	assert_int_equal(v, 90000);
	assert_int_equal(units_duration_ms("24h", &v, &why), 0);
	assert_int_equal(v, 86400000);
	assert_int_equal(units_duration_ms("30d", &v, &why), 0);
	assert_int_equal(v, 30ULL * 86400000);
	assert_int_equal(units_duration_ms("10", &v, &why), -1);
	assert_int_equal(units_duration_ms("10Mbit", &v, &why), -1);
	assert_int_equal(units_duration_ms("-1s", &v, &why), -1);
	assert_int_equal(units_duration_ms("s", &v, &why), -1);
	assert_int_equal(units_duration_ms("1 s", &v, &why), -1);
	assert_int_equal(units_duration_ms("", &v, &why), -1);
}

static void
test_sizes_and_rates(void **state)
{
	uint64_t v;
	const char *why;

	(void)state;
	assert_int_equal(units_size_bytes("64MiB", &v, &why), 0);
	assert_int_equal(v, 64ULL << 20);
	assert_int_equal(units_size_bytes("1GiB", &v, &why), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(units_size_bytes("512B", &v, &why), 0);
	assert_int_equal(v, 512);
	assert_int_equal(units_size_bytes("64MB", &v, &why), -1);
	assert_int_equal(units_size_bytes("10Mbit", &v, &why), -1);
	assert_int_equal(units_rate_bps("10Mbit", &v, &why), 0);
	assert_int_equal(v, 10000000);
	assert_int_equal(units_rate_bps("2.5Gbit", &v, &why), 0);
	assert_int_equal(v, 2500000000ULL);
	assert_int_equal(units_rate_bps("64MiB", &v, &why), -1);
	assert_int_equal(units_rate_bps("1s", &v, &why), -1);
	assert_int_equal(units_rate_bps("99999999999Tbit", &v, &why), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_sizes_and_rates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
