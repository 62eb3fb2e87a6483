/* The on-disk spool: order, restart, acknowledgement, bounds, torn tails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "spool.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ws-spool-XXXXXX");
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
append(struct spool *sp, size_t len)
{
	uint8_t buf[8192];
	uint64_t seq = spool_next_seq(sp);

	memset(buf, (int)(seq & 0xff), len);
	assert_int_equal(spool_append(sp, seq, 10, buf, len, 1000), 0);
}

static void
test_order_restart_ack(void **state)
{
	struct spool *sp = spool_open(dir, 1 << 20, 0);
	struct pbuf pb;
	uint64_t seq, stream;
	int i;

	(void)state;
	assert_non_null(sp);
	stream = spool_stream(sp);
	assert_true(stream != 0);
	assert_int_equal(spool_next_seq(sp), 1);
	for (i = 0; i < 10; i++)
		append(sp, 100);
	pbuf_init(&pb);
	assert_int_equal(spool_read_after(sp, 0, &seq, &pb), 1);
	assert_int_equal(seq, 1);
	assert_int_equal(pb.pb_len, 100);
	assert_int_equal(pb.pb_data[0], 1);
	assert_int_equal(spool_read_after(sp, 9, &seq, &pb), 1);
	assert_int_equal(seq, 10);
	assert_int_equal(spool_read_after(sp, 10, &seq, &pb), 0);
	spool_ack(sp, 3);
	spool_close(sp);

	/* After a restart: same stream, pending from 4, numbering goes on. */
	sp = spool_open(dir, 1 << 20, 0);
	assert_true(spool_stream(sp) == stream);
	assert_int_equal(spool_next_seq(sp), 11);
	assert_int_equal(spool_read_after(sp, 0, &seq, &pb), 1);
	assert_int_equal(seq, 4);
	assert_int_equal(pb.pb_data[0], 4);
	spool_ack(sp, 10);
	assert_int_equal(spool_read_after(sp, 0, &seq, &pb), 0);
	spool_close(sp);
	sp = spool_open(dir, 1 << 20, 0);
	assert_int_equal(spool_next_seq(sp), 11); /* never reused */
	assert_int_equal(spool_read_after(sp, 0, &seq, &pb), 0);
	spool_close(sp);
	pbuf_free(&pb);
}

/*
 * Killed (no sync, no close): every appended record is still there from
 * the page cache, the ack not yet synced is replayed (the collector
 * acknowledges it without storing it again), and numbering goes on above
 * the lease, so no number a collector may hold is ever given again.
 */
static void
test_killed(void **state)
{
	struct spool *sp = spool_open(dir, 1 << 20, 0);
	struct pbuf pb;
	uint64_t seq, n = 0, next;
	int i;

	(void)state;
	for (i = 0; i < 5; i++)
		append(sp, 100);
	spool_ack(sp, 2);
	assert_int_equal(spool_sync(sp), 0); /* acked 2 is durable */
	for (i = 0; i < 5; i++)
		append(sp, 100);
	spool_ack(sp, 7); /* not synced */
	spool_free(sp);

	sp = spool_open(dir, 1 << 20, 0);
	pbuf_init(&pb);
	seq = 0;
	while (spool_read_after(sp, seq, &seq, &pb) == 1) {
		assert_int_equal(pb.pb_data[0], seq);
		n++;
	}
	assert_int_equal(n, 8); /* 3..10 */
	next = spool_next_seq(sp);
	assert_true(next > 10);
	append(sp, 100);
	assert_int_equal(spool_read_after(sp, 10, &seq, &pb), 1);
	assert_int_equal(seq, next);
	spool_close(sp);

	/* A clean close leaves no gap. */
	sp = spool_open(dir, 1 << 20, 0);
	assert_int_equal(spool_next_seq(sp), next + 1);
	spool_close(sp);
	pbuf_free(&pb);
}

static void
test_bound_drops_oldest_and_counts(void **state)
{
	struct spool *sp = spool_open(dir, 64 * 1024, 0);
	struct spool_stats st;
	struct pbuf pb;
	uint64_t seq;
	int i;

	(void)state;
	for (i = 0; i < 100; i++)
		append(sp, 4000);
	spool_stats(sp, &st);
	assert_true(st.ss_bytes <= 64 * 1024 + 8 * 1024 + 4100);
	assert_true(st.ss_dropped_batches > 0);
	assert_int_equal(st.ss_dropped_samples, st.ss_dropped_batches * 10);
	assert_int_equal(st.ss_pending_batches + st.ss_dropped_batches, 100);
	/* What is left is the newest, still in order. */
	pbuf_init(&pb);
	assert_int_equal(spool_read_after(sp, 0, &seq, &pb), 1);
	assert_int_equal(seq, st.ss_dropped_batches + 1);
	pbuf_free(&pb);
	spool_free(sp);
}

static void
test_max_age(void **state)
{
	struct spool *sp = spool_open(dir, 1 << 20, 1000000);
	struct spool_stats st;

	(void)state;
	append(sp, 10); /* created at t=1000 us */
	spool_expire(sp, 500000);
	spool_stats(sp, &st);
	assert_int_equal(st.ss_pending_batches, 1);
	spool_expire(sp, 5000000);
	spool_stats(sp, &st);
	assert_int_equal(st.ss_pending_batches, 0);
	assert_int_equal(st.ss_dropped_batches, 1);
	spool_free(sp);
}

static void
test_torn_tail(void **state)
{
	struct spool *sp = spool_open(dir, 1 << 20, 0);
	struct pbuf pb;
	char path[128];
	uint64_t seq, next;
	FILE *fp;

	(void)state;
	append(sp, 50);
	append(sp, 50);
	spool_free(sp);
	/* A crash in the middle of a write leaves half a record. */
	snprintf(path, sizeof(path), "%s/0000000001.seg", dir);
	fp = fopen(path, "a");
	fwrite("WSP1garbage", 1, 11, fp);
	fclose(fp);
	sp = spool_open(dir, 1 << 20, 0);
	pbuf_init(&pb);
	assert_int_equal(spool_read_after(sp, 0, &seq, &pb), 1);
	assert_int_equal(seq, 1);
	assert_int_equal(spool_read_after(sp, 1, &seq, &pb), 1);
	assert_int_equal(seq, 2);
	assert_int_equal(spool_read_after(sp, 2, &seq, &pb), 0);
	next = spool_next_seq(sp); /* above the lease: after a crash */
	assert_true(next > 2);
	append(sp, 50);
	assert_int_equal(spool_read_after(sp, 2, &seq, &pb), 1);
	assert_int_equal(seq, next);
	pbuf_free(&pb);
	spool_close(sp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_order_restart_ack, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_bound_drops_oldest_and_counts,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_max_age, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_killed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
