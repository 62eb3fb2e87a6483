/*
 * The agent's bounded on-disk spool of batches not yet acknowledged by a
 * collector. Records are checksummed and kept in segment files; they
 * survive a restart and are read back in sequence order for replay.
 */
#ifndef WATCHSTAND_SPOOL_H
#define WATCHSTAND_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "watchstand/proto.h"

struct spool;

struct spool *spool_open(const char *dir, uint64_t max_size,
                         uint64_t max_age_us);
/* Frees without syncing: as a kill -9 would leave it (tests). */
void spool_free(struct spool *sp);
/* Syncs, saves the state and frees: a clean shutdown. */
void spool_close(struct spool *sp);
/* fdatasyncs what was appended and saves the acknowledged position. Appends
 * are written at once but reach the disk only here: a kill -9 loses
 * nothing, a power cut what came since the last sync. */
int spool_sync(struct spool *sp);
/* Random id of this spool's sequence stream; a new spool starts anew. */
uint64_t spool_stream(struct spool *sp);
/* The next sequence number to assign. */
uint64_t spool_next_seq(struct spool *sp);
/* Appends a whole encoded batch frame with sequence seq. */
int spool_append(struct spool *sp, uint64_t seq, uint32_t nsamples,
                 const uint8_t *frame, size_t len, int64_t now_us);
/* A batch that could not be written: counted as dropped, never silent. */
void spool_count_lost(struct spool *sp, uint32_t nsamples);
/* Everything up to seq is stored by a collector: forget it. */
void spool_ack(struct spool *sp, uint64_t seq);
/* Reads the first record after seq into out; 1 found, 0 none, -1 error. */
int spool_read_after(struct spool *sp, uint64_t seq, uint64_t *rec_seq,
                     struct pbuf *out);
/* Applies max_age to what is pending. */
void spool_expire(struct spool *sp, int64_t now_us);

struct spool_stats {
	uint64_t ss_pending_batches;
	uint64_t ss_bytes;
	uint64_t ss_dropped_batches;
	uint64_t ss_dropped_samples;
	uint64_t ss_acked_seq;
};
void spool_stats(struct spool *sp, struct spool_stats *st);

#endif
