#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "watchstand/proto.h"

static void
test_hello_roundtrip(void **state)
{
	struct proto_hello h = {0}, got;
	struct pbuf pb;
	size_t flen;
	const char *why;

	(void)state;
	h.h_version = PROTO_VERSION;
	h.h_stream = 0x1234567890abcdefULL;
	strcpy(h.h_name, "quote-01");
	strcpy(h.h_role, "quote");
	strcpy(h.h_software, "0.1.0");
	pbuf_init(&pb);
	proto_put_hello(&pb, &h);
	assert_int_equal(proto_frame_check(pb.pb_data, pb.pb_len, &flen, &why),
	                 1);
	assert_int_equal(flen, pb.pb_len);
	assert_int_equal(pb.pb_data[4], PROTO_HELLO);
	/* One byte short: needs more. */
	assert_int_equal(
	    proto_frame_check(pb.pb_data, pb.pb_len - 1, &flen, &why), 0);
	assert_int_equal(
	    proto_get_hello(pb.pb_data + 5, pb.pb_len - 5, &got, &why), 0);
	assert_int_equal(got.h_version, PROTO_VERSION);
	assert_true(got.h_stream == h.h_stream);
	assert_string_equal(got.h_name, "quote-01");
	assert_string_equal(got.h_role, "quote");
	assert_string_equal(got.h_software, "0.1.0");
	/* Truncated payload is refused, never over-read. */
	assert_int_equal(
	    proto_get_hello(pb.pb_data + 5, pb.pb_len - 6, &got, &why), -1);
	pbuf_free(&pb);
}

static void
test_bad_names(void **state)
{
	struct proto_hello h = {0}, got;
	struct pbuf pb;
	const char *why;

	(void)state;
	h.h_version = 1;
	strcpy(h.h_name, "bad name");
	strcpy(h.h_role, "quote");
	pbuf_init(&pb);
	proto_put_hello(&pb, &h);
	assert_int_equal(
	    proto_get_hello(pb.pb_data + 5, pb.pb_len - 5, &got, &why), -1);
	pbuf_free(&pb);
}

static void
test_batch_roundtrip(void **state)
{
	struct pbuf pb;
	struct proto_batch b;
	struct proto_sample s;
	struct proto_event e;
	struct pbuf ev;
	const char *why;
	size_t start, flen;

	(void)state;
	pbuf_init(&pb);
	start = proto_batch_begin(&pb, 42);
	assert_int_equal(
	    proto_batch_add(&pb, 1700000000000000LL, "quoted.count", 3), 0);
	assert_int_equal(proto_batch_add(&pb, -5, "net.eth1.util_pct", 12.5),
	                 0);
	assert_int_equal(proto_batch_add(&pb, 1, "bad series", 1), -1);
	assert_int_equal(proto_batch_add(&pb, 1, "back\\slash", 1), -1);
	pbuf_init(&ev);
	assert_int_equal(
	    proto_event_add(&ev, 77, "applog", "ORDER REJECTED 42"), 0);
	/* Invalid UTF-8 is cut back to whole characters by the sender. */
	assert_int_equal(proto_event_add(&ev, 78, "applog", "caf\xc3"), 0);
	assert_int_equal(proto_event_add(&ev, 79, "bad probe", "x"), -1);
	proto_batch_end(&pb, start, 2, &ev, 2);
	assert_int_equal(proto_frame_check(pb.pb_data, pb.pb_len, &flen, &why),
	                 1);
	assert_int_equal(
	    proto_batch_open(&b, pb.pb_data + 5, pb.pb_len - 5, &why), 0);
	assert_int_equal(b.b_seq, 42);
	assert_int_equal(b.b_count, 2);
	assert_int_equal(proto_batch_next(&b, &s, &why), 1);
	assert_int_equal(s.s_ts_us, 1700000000000000LL);
	assert_true(s.s_value == 3);
	assert_int_equal(s.s_series_len, 12);
	assert_memory_equal(s.s_series, "quoted.count", 12);
	assert_int_equal(proto_batch_next(&b, &s, &why), 1);
	assert_int_equal(s.s_ts_us, -5);
	assert_true(s.s_value == 12.5);
	assert_int_equal(proto_batch_next(&b, &s, &why), 0);
	assert_int_equal(proto_batch_next_event(&b, &e, &why), 1);
	assert_int_equal(e.e_ts_us, 77);
	assert_memory_equal(e.e_probe, "applog", 6);
	assert_int_equal(e.e_text_len, 17);
	assert_memory_equal(e.e_text, "ORDER REJECTED 42", 17);
	assert_int_equal(proto_batch_next_event(&b, &e, &why), 1);
	assert_int_equal(e.e_text_len, 3);
	assert_int_equal(proto_batch_next_event(&b, &e, &why), 0);
	pbuf_free(&pb);
	pbuf_free(&ev);
}

static void
test_batch_lies(void **state)
{
	struct pbuf pb;
	struct proto_batch b;
	struct proto_sample s;
	struct proto_event e;
	const char *why;
	size_t start;

	(void)state;
	pbuf_init(&pb);
	start = proto_batch_begin(&pb, 7);
	proto_batch_add(&pb, 1, "a.b", 1);
	/* Claims two samples but carries one: refused at once. */
	proto_batch_end(&pb, start, 2, NULL, 0);
	assert_int_equal(
	    proto_batch_open(&b, pb.pb_data + 5, pb.pb_len - 5, &why), -1);
	/* Room for two, but the second is cut short. */
	pbuf_add(&pb, "\0\0\0\0\0\0\0\1\0\0\0\0\0\0\0\0\0\x40", 18);
	assert_int_equal(
	    proto_batch_open(&b, pb.pb_data + 5, pb.pb_len - 5, &why), 0);
	assert_int_equal(proto_batch_next(&b, &s, &why), 1);
	assert_int_equal(proto_batch_next(&b, &s, &why), -1);
	/* Claims a huge count: refused before reading anything. */
	pb.pb_data[5 + 8] = 0x7f;
	assert_int_equal(
	    proto_batch_open(&b, pb.pb_data + 5, pb.pb_len - 5, &why), -1);
	/* Trailing bytes after the last sample. */
	pbuf_reset(&pb);
	start = proto_batch_begin(&pb, 8);
	proto_batch_add(&pb, 1, "a.b", 1);
	proto_batch_end(&pb, start, 1, NULL, 0);
	pbuf_add(&pb, "xx", 2);
	assert_int_equal(
	    proto_batch_open(&b, pb.pb_data + 5, pb.pb_len - 5, &why), 0);
	assert_int_equal(proto_batch_next(&b, &s, &why), 1);
	assert_int_equal(proto_batch_next(&b, &s, &why), 0);
	assert_int_equal(proto_batch_next_event(&b, &e, &why), -1);
	/* An event whose text is not UTF-8 is refused by the receiver. */
	pbuf_reset(&pb);
	start = proto_batch_begin(&pb, 9);
	proto_batch_end(&pb, start, 0, NULL, 1);
	pbuf_add(&pb, "\0\0\0\0\0\0\0\1\0\1p\0\2\xff\xfe", 15);
	assert_int_equal(
	    proto_batch_open(&b, pb.pb_data + 5, pb.pb_len - 5, &why), 0);
	assert_int_equal(proto_batch_next(&b, &s, &why), 0);
	assert_int_equal(proto_batch_next_event(&b, &e, &why), -1);
	/* NaN and infinities: the encoder leaves them out, the decoder
	 * refuses them naming the series. */
	pbuf_reset(&pb);
	start = proto_batch_begin(&pb, 10);
	assert_int_equal(proto_batch_add(&pb, 1, "a.b", NAN), -1);
	assert_int_equal(proto_batch_add(&pb, 1, "a.b", -INFINITY), -1);
	pbuf_reset(&pb);
	start = proto_batch_begin(&pb, 10);
	proto_batch_end(&pb, start, 1, NULL, 0);
	pb.pb_len -= 4; /* drop nevents; append the sample, then nevents */
	pbuf_add(&pb, "\0\0\0\0\0\0\0\1\x7f\xf0\0\0\0\0\0\0\0\3c.d\0\0\0\0",
	         25);
	assert_int_equal(
	    proto_batch_open(&b, pb.pb_data + 5, pb.pb_len - 5, &why), 0);
	assert_int_equal(proto_batch_next(&b, &s, &why), -1);
	assert_non_null(s.s_series);
	assert_memory_equal(s.s_series, "c.d", 3);
	assert_non_null(strstr(why, "not a finite number"));
	/* Sequence 0 is never valid. */
	pbuf_reset(&pb);
	start = proto_batch_begin(&pb, 0);
	proto_batch_end(&pb, start, 0, NULL, 0);
	assert_int_equal(
	    proto_batch_open(&b, pb.pb_data + 5, pb.pb_len - 5, &why), -1);
	pbuf_free(&pb);
}

static void
test_frame_header(void **state)
{
	size_t flen;
	const char *why;
	uint8_t big[5] = {0x00, 0x40, 0x00, 0x01, PROTO_BATCH};
	uint8_t empty[5] = {0, 0, 0, 0, PROTO_BATCH};
	uint8_t unknown[6] = {0, 0, 0, 2, 99, 0};
	uint8_t ok[13] = {0, 0, 0, 9, PROTO_ACK, 0, 0, 0, 0, 0, 0, 0, 5};
	uint64_t v;

	(void)state;
	assert_int_equal(proto_frame_check(big, 5, &flen, &why), -1);
	assert_int_equal(proto_frame_check(empty, 5, &flen, &why), -1);
	assert_int_equal(proto_frame_check(unknown, 6, &flen, &why), -1);
	assert_int_equal(proto_frame_check(ok, 4, &flen, &why), 0);
	assert_int_equal(proto_frame_check(ok, 13, &flen, &why), 1);
	assert_int_equal(flen, 13);
	assert_int_equal(proto_get_u64(ok + 5, 8, &v, &why), 0);
	assert_int_equal(v, 5);
	assert_int_equal(proto_get_u64(ok + 5, 7, &v, &why), -1);
}

static void
test_text_clean(void **state)
{
	char t[] = "ok \xff caf\xc3\xa9 \xed\xa0\x80";

	(void)state;
	assert_false(proto_text_valid(t, strlen(t)));
	proto_text_clean(t, strlen(t));
	assert_true(proto_text_valid(t, strlen(t)));
	assert_string_equal(t, "ok ? caf\xc3\xa9 ???");
}

static void
test_hello_v2_actions(void **state)
{
	static struct proto_hello h, got;
	struct pbuf pb;
	const char *why;
	size_t i;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.h_version = 2;
	strcpy(h.h_name, "quote-01");
	strcpy(h.h_role, "quote");
	strcpy(h.h_software, "0.2.0");
	h.h_nactions = 2;
	strcpy(h.h_actions[0], "start-quoted");
	strcpy(h.h_actions[1], "stop-quoted");
	pbuf_init(&pb);
	proto_put_hello(&pb, &h);
	assert_int_equal(
	    proto_get_hello(pb.pb_data + 5, pb.pb_len - 5, &got, &why), 0);
	assert_int_equal(got.h_version, 2);
	assert_int_equal(got.h_nactions, 2);
	assert_string_equal(got.h_actions[0], "start-quoted");
	assert_string_equal(got.h_actions[1], "stop-quoted");
	/* Every shorter payload is refused. */
	for (i = 0; i < pb.pb_len - 5; i++)
		assert_int_equal(proto_get_hello(pb.pb_data + 5, i, &got, &why),
		                 -1);
	/* Trailing bytes too. */
	pbuf_add(&pb, "x", 1);
	assert_int_equal(
	    proto_get_hello(pb.pb_data + 5, pb.pb_len - 5, &got, &why), -1);

	/* A bad action name. */
	pbuf_reset(&pb);
	strcpy(h.h_actions[1], "rm -rf");
	proto_put_hello(&pb, &h);
	assert_int_equal(
	    proto_get_hello(pb.pb_data + 5, pb.pb_len - 5, &got, &why), -1);

	/* Version 1 has no action list; its decoder refuses one. */
	pbuf_reset(&pb);
	h.h_version = 1;
	proto_put_hello(&pb, &h);
	assert_int_equal(
	    proto_get_hello(pb.pb_data + 5, pb.pb_len - 5, &got, &why), 0);
	assert_int_equal(got.h_version, 1);
	assert_int_equal(got.h_nactions, 0);
	pbuf_add(&pb, "\0\0", 2);
	assert_int_equal(
	    proto_get_hello(pb.pb_data + 5, pb.pb_len - 5, &got, &why), -1);
	/* A later version decodes its common fields so it can be refused by
	 * number. */
	pb.pb_data[5] = 0;
	pb.pb_data[6] = 99;
	assert_int_equal(
	    proto_get_hello(pb.pb_data + 5, pb.pb_len - 5, &got, &why), 0);
	assert_int_equal(got.h_version, 99);
	pbuf_free(&pb);
}

static void
test_action_roundtrip(void **state)
{
	struct proto_action a = {0}, got;
	struct pbuf pb;
	size_t flen, i;
	const char *why;

	(void)state;
	a.a_request = 0x0102030405060708ULL;
	strcpy(a.a_name, "start-quoted");
	a.a_run = 42;
	strcpy(a.a_step, "start quoted on quote-01 \xc3\xa9");
	a.a_flags = PROTO_ACTION_DRILL;
	pbuf_init(&pb);
	proto_put_action(&pb, &a);
	assert_int_equal(proto_frame_check(pb.pb_data, pb.pb_len, &flen, &why),
	                 1);
	assert_int_equal(pb.pb_data[4], PROTO_ACTION);
	assert_int_equal(
	    proto_get_action(pb.pb_data + 5, pb.pb_len - 5, &got, &why), 0);
	assert_true(got.a_request == a.a_request);
	assert_string_equal(got.a_name, "start-quoted");
	assert_true(got.a_run == 42);
	assert_string_equal(got.a_step, a.a_step);
	assert_int_equal(got.a_flags, PROTO_ACTION_DRILL);
	for (i = 0; i < pb.pb_len - 5; i++)
		assert_int_equal(
		    proto_get_action(pb.pb_data + 5, i, &got, &why), -1);
	pbuf_add(&pb, "x", 1);
	assert_int_equal(
	    proto_get_action(pb.pb_data + 5, pb.pb_len - 5, &got, &why), -1);

	/* Unknown flags are refused. */
	pb.pb_data[pb.pb_len - 2] = 0x02;
	assert_int_equal(
	    proto_get_action(pb.pb_data + 5, pb.pb_len - 6, &got, &why), -1);
	pb.pb_data[pb.pb_len - 2] = PROTO_ACTION_DRILL;
	/* A name outside [A-Za-z0-9._-] is refused. */
	pbuf_reset(&pb);
	strcpy(a.a_name, "../x y");
	proto_put_action(&pb, &a);
	assert_int_equal(
	    proto_get_action(pb.pb_data + 5, pb.pb_len - 5, &got, &why), -1);
	/* A step that is not UTF-8 is refused. */
	pbuf_reset(&pb);
	strcpy(a.a_name, "ok");
	proto_put_action(&pb, &a);
	pb.pb_data[pb.pb_len - 2] = 0xff;
	assert_int_equal(
	    proto_get_action(pb.pb_data + 5, pb.pb_len - 5, &got, &why), -1);
	pbuf_free(&pb);
}

static void
test_action_result_roundtrip(void **state)
{
	static struct proto_action_result r, got;
	struct pbuf pb;
	size_t flen, i;
	const char *why;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.ar_request = 7;
	r.ar_outcome = PROTO_OUT_TIMEOUT;
	r.ar_status = -9;
	r.ar_duration_ms = 60012;
	/* Longer than the limit, and the cut falls inside a character. */
	memset(r.ar_output, 'a', PROTO_OUTPUT_MAX - 1);
	memcpy(r.ar_output + PROTO_OUTPUT_MAX - 1, "\xc3\xa9", 2);
	r.ar_output[PROTO_OUTPUT_MAX] = '\0';
	strcpy(r.ar_reason, "timed out after 60s");
	pbuf_init(&pb);
	proto_put_action_result(&pb, &r);
	assert_int_equal(proto_frame_check(pb.pb_data, pb.pb_len, &flen, &why),
	                 1);
	assert_int_equal(pb.pb_data[4], PROTO_ACTION_RESULT);
	assert_int_equal(
	    proto_get_action_result(pb.pb_data + 5, pb.pb_len - 5, &got, &why),
	    0);
	assert_true(got.ar_request == 7);
	assert_int_equal(got.ar_outcome, PROTO_OUT_TIMEOUT);
	assert_int_equal(got.ar_status, -9);
	assert_int_equal(got.ar_duration_ms, 60012);
	assert_int_equal(strlen(got.ar_output), PROTO_OUTPUT_MAX - 1);
	assert_string_equal(got.ar_reason, "timed out after 60s");
	assert_string_equal(proto_outcome_name(got.ar_outcome), "timeout");
	for (i = 0; i < pb.pb_len - 5; i += 97)
		assert_int_equal(
		    proto_get_action_result(pb.pb_data + 5, i, &got, &why), -1);
	/* Unknown outcome. */
	pb.pb_data[5 + 8] = 5;
	assert_int_equal(
	    proto_get_action_result(pb.pb_data + 5, pb.pb_len - 5, &got, &why),
	    -1);
	/* An output over 4 KiB on the wire is refused. */
	pbuf_reset(&pb);
	{
		uint8_t hdr[17] = {0};
		uint8_t n[2] = {0x10, 0x01}; /* 4097 */
		char big[4097];
		memset(big, 'b', sizeof(big));
		pbuf_add(&pb, hdr, sizeof(hdr));
		pbuf_add(&pb, n, 2);
		pbuf_add(&pb, big, sizeof(big));
		pbuf_add(&pb, "\0\0", 2);
		assert_int_equal(
		    proto_get_action_result(pb.pb_data, pb.pb_len, &got, &why),
		    -1);
	}
	pbuf_free(&pb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hello_roundtrip),
	    cmocka_unit_test(test_bad_names),
	    cmocka_unit_test(test_batch_roundtrip),
	    cmocka_unit_test(test_batch_lies),
	    cmocka_unit_test(test_frame_header),
	    cmocka_unit_test(test_text_clean),
	    cmocka_unit_test(test_hello_v2_actions),
	    cmocka_unit_test(test_action_roundtrip),
	    cmocka_unit_test(test_action_result_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
