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

/* Trap varbinds as an event's text: numeric OIDs, quoted bytes, cut. */
static void
test_render(void **state)
{
	netsnmp_variable_list vb[4];
	oid n0[] = {1, 3, 6, 1, 2, 1, 1, 3, 0};
	oid n1[] = {1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0};
	oid trap[] = {1, 3, 6, 1, 6, 3, 1, 1, 5, 3};
	oid n2[] = {1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 18, 5};
	oid n3[] = {1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 5};
	struct counter64 c64 = {1, 2};
	long ticks = 4242;
	char buf[512], small[24];
	size_t n;

	(void)state;
	memset(vb, 0, sizeof(vb));
	vb[0].name = n0;
	vb[0].name_length = 9;
	vb[0].type = ASN_TIMETICKS;
	vb[0].val.integer = &ticks;
	vb[0].val_len = sizeof(ticks);
	vb[0].next_variable = &vb[1];
	vb[1].name = n1;
	vb[1].name_length = 11;
	vb[1].type = ASN_OBJECT_ID;
	vb[1].val.objid = trap;
	vb[1].val_len = sizeof(trap);
	vb[1].next_variable = &vb[2];
	vb[2].name = n2;
	vb[2].name_length = 12;
	vb[2].type = ASN_OCTET_STR;
	vb[2].val.string = (u_char *)"a\"b\\\n\xc3\xa9";
	vb[2].val_len = 7;
	vb[2].next_variable = &vb[3];
	vb[3].name = n3;
	vb[3].name_length = 12;
	vb[3].type = ASN_COUNTER64;
	vb[3].val.counter64 = &c64;
	vb[3].val_len = sizeof(c64);
	n = snmpc_render(vb, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf,
	                    "1.3.6.1.2.1.1.3.0 = 4242; "
	                    "1.3.6.1.6.3.1.1.4.1.0 = 1.3.6.1.6.3.1.1.5.3; "
	                    "1.3.6.1.2.1.31.1.1.1.18.5 = "
	                    "\"a\\x22b\\x5c\\x0a\\xc3\\xa9\"; "
	                    "1.3.6.1.2.1.31.1.1.1.6.5 = 4294967298");
	/* Cut to the buffer, always terminated. */
	assert_int_equal(snmpc_render(vb, small, sizeof(small)), 23);
	assert_string_equal(small, "1.3.6.1.2.1.1.3.0 = 424");
	/* A value too short for its type renders empty, not over-read. */
	vb[3].val_len = 4;
	vb[3].next_variable = NULL;
	snmpc_render(&vb[3], buf, sizeof(buf));
	assert_string_equal(buf, "1.3.6.1.2.1.31.1.1.1.6.5 = ");
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
	    cmocka_unit_test(test_render),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
