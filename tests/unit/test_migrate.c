/* migrate: the embedded SQL files parse, and 001..009 are the bytes first
 * shipped (databases record versions, not contents). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "collector.h"
#include "ingest/migrate.h"

static void
test_parse_header(void **state)
{
	static const char text[] = "-- the what\n-- a note\nSELECT 1;\n";
	struct migrate_file f = {"012_some_thing.sql", text, sizeof(text) - 1};
	struct migration m;
	char err[128];

	assert_int_equal(migrate_parse(&f, &m, err, sizeof(err)), 0);
	assert_int_equal(m.m_version, 12);
	assert_string_equal(m.m_what, "the what");
	assert_int_equal(m.m_sqllen, strlen("SELECT 1;"));
	assert_memory_equal(m.m_sql, "SELECT 1;", m.m_sqllen);
}

static void
test_parse_no_header(void **state)
{
	static const char text[] = "SELECT 1;\nSELECT 2;";
	struct migrate_file f = {"3_more_things.sql", text, sizeof(text) - 1};
	struct migration m;
	char err[128];

	assert_int_equal(migrate_parse(&f, &m, err, sizeof(err)), 0);
	assert_int_equal(m.m_version, 3);
	assert_string_equal(m.m_what, "more things");
	assert_int_equal(m.m_sqllen, sizeof(text) - 1);
}

static void
test_parse_bad_name(void **state)
{
	struct migrate_file f = {"agents.sql", "", 0};
	struct migration m;
	char err[128];

	assert_int_equal(migrate_parse(&f, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "agents.sql"));
	f.mf_name = "000_zero.sql";
	assert_int_equal(migrate_parse(&f, &m, err, sizeof(err)), -1);
}

/* SHA-256 of each statement text as the C array carried it. */
static const struct {
	int version;
	const char *what;
	const char *sha;
} shipped[] = {
    {1, "agents, day-partitioned samples, v_samples",
     "1e185c35fcc6a4b98785a13ceda6e7df46fccc3f011b5379763de6c1f1669480"},
    {2, "events and v_events; maintain() for retention",
     "ae6c1ece22361bfe2716548fdc460dfb093674029bfbeba562f7c7b7cb1edb27"},
    {3, "alarms, the hash-chained shift log, v_alarms, v_shift_log",
     "da68d8046fbff3e93dfc8d16c15f541924538187c58ca13f8920d1fd6ad81eef"},
    {4, "users",
     "caee774f90a1b738ac64b41867e0af8720b1397c12f28bee5c9cd1174f847f49"},
    {5, "shelving",
     "a5a138f956a5b1f70701a7c96419a3803077cb5695db2dbd78239c7e30f04683"},
    {6, "hosts out of service",
     "f7e4fb75c8c5eb710d663ce3b18892ae5812b218d77d25b7a82b9f00bfb49be6"},
    {7, "notifications",
     "2a84525f994a93a6c48ab7d42b483d9e42d4f5dda975b3527e51f14c0aabb58e"},
    {8, "the collector's own role, watchstand_collector",
     "b90cbd90c020389ed762c45793511c0471dabecaaf444cf29376356fc82a5ac0"},
    {9, "sessions stored hashed, so they outlive a restart",
     "177dc85d7c0d1359fb80832811a67f6bc0de1136e5a94e19a8e4f1c07b0afccf"},
};

static void
test_shipped_unchanged(void **state)
{
	size_t k;
	int i;

	assert_true(migrate_files_n >= 9);
	assert_true(migrate_latest() >= 9);
	for (k = 0; k < sizeof(shipped) / sizeof(shipped[0]); k++) {
		struct migration m;
		unsigned char md[SHA256_DIGEST_LENGTH];
		char hex[2 * SHA256_DIGEST_LENGTH + 1], err[128];

		i = (int)k;
		assert_int_equal(
		    migrate_parse(&migrate_files[i], &m, err, sizeof(err)), 0);
		assert_int_equal(m.m_version, shipped[k].version);
		assert_string_equal(m.m_what, shipped[k].what);
		SHA256((const unsigned char *)m.m_sql, m.m_sqllen, md);
		for (i = 0; i < SHA256_DIGEST_LENGTH; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		assert_string_equal(hex, shipped[k].sha);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_header),
	    cmocka_unit_test(test_parse_no_header),
	    cmocka_unit_test(test_parse_bad_name),
	    cmocka_unit_test(test_shipped_unchanged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
