/* Numeric OIDs and SNMP value decoding, without a network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "snmp.h"

static void
test_parse_oid(void **state)
{
	oid o[MAX_OID_LEN];
	size_t n;

	(void)state;
	assert_int_equal(snmpc_parse_oid("1.3.6.1.2.1.1.3.0", o, &n), 0);
	assert_int_equal(n, 9);
	assert_int_equal(o[8], 0);
	assert_int_equal(snmpc_parse_oid(".1.3.6.1.4.1.4294967295", o, &n), 0);
	assert_int_equal(o[6], 4294967295UL);
	assert_int_equal(snmpc_parse_oid("1.3.6.1.4.1.4294967296", o, &n), -1);
	assert_int_equal(snmpc_parse_oid("IF-MIB::ifName", o, &n), -1);
	assert_int_equal(snmpc_parse_oid("1..3", o, &n), -1);
	assert_int_equal(snmpc_parse_oid("1", o, &n), -1);
	assert_int_equal(snmpc_parse_oid("1.3.", o, &n), 0);
}

static void
test_decode(void **state)
{
	netsnmp_variable_list vb;
	struct counter64 c64 = {0xffffffff, 0xfffffffe};
	long i = -5, u = 0xfffffff0;
	struct snmpc_val v;
	oid name[] = {1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 7};

	(void)state;
	memset(&vb, 0, sizeof(vb));
	vb.name = name;
	vb.name_length = 12;
	vb.type = ASN_COUNTER64;
	vb.val.counter64 = &c64;
	vb.val_len = sizeof(c64);
	assert_int_equal(snmpc_decode(&vb, &v), 0);
	assert_true(v.v_u64 == 0xfffffffffffffffeULL);
	assert_int_equal(snmpc_row(&v, 11), 7);

	vb.type = ASN_INTEGER;
	vb.val.integer = &i;
	vb.val_len = sizeof(i);
	assert_int_equal(snmpc_decode(&vb, &v), 0);
	assert_true(v.v_i64 == -5 && v.v_num == -5);

	vb.type = ASN_COUNTER; /* 32-bit, never sign-extended */
	vb.val.integer = &u;
	assert_int_equal(snmpc_decode(&vb, &v), 0);
	assert_true(v.v_u64 == 0xfffffff0ULL);

	vb.type = ASN_OCTET_STR;
	vb.val.string = (u_char *)"Gi0/1 uplink";
	vb.val_len = 12;
	assert_int_equal(snmpc_decode(&vb, &v), 0);
	assert_string_equal(v.v_str, "Gi0/1 uplink");

	/* A short value for its type is refused, not over-read. */
	vb.type = ASN_COUNTER64;
	vb.val_len = 4;
	assert_int_equal(snmpc_decode(&vb, &v), -1);
	vb.type = SNMP_NOSUCHINSTANCE;
	vb.val_len = 0;
	assert_int_equal(snmpc_decode(&vb, &v), -1);
	vb.type = SNMP_ENDOFMIBVIEW;
	assert_int_equal(snmpc_decode(&vb, &v), -1);
}

static void
test_instance(void **state)
{
	char out[32];

	(void)state;
	snmpc_instance("Gi0/1 to CFFEX\\x", out, sizeof(out));
	assert_string_equal(out, "Gi0/1_to_CFFEX_x");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_oid),
	    cmocka_unit_test(test_decode),
	    cmocka_unit_test(test_instance),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
