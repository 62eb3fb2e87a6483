/* What the ingest and its store count, read by /metrics and /healthz. */
#ifndef WATCHSTAND_INGEST_STATS_H
#define WATCHSTAND_INGEST_STATS_H

#include <stdint.h>

/* Histogram buckets for database write latency, in seconds. */
#define STATS_LAT_BUCKETS 10
extern const double stats_lat_bounds[STATS_LAT_BUCKETS];

struct collector_stats {
	uint64_t st_samples;       /* stored */
	uint64_t st_events;        /* stored */
	uint64_t st_batches;       /* committed */
	uint64_t st_batches_dup;   /* replays stored before: acked only */
	uint64_t st_samples_range; /* outside retention or in the future */
	uint64_t st_rejected;      /* connections refused */
	uint64_t st_transactions;
	uint64_t st_db_errors;
	uint64_t st_lat_count;
	double st_lat_sum;
	uint64_t st_lat_bucket[STATS_LAT_BUCKETS];
	int st_db_up;
	uint64_t st_queue_bytes;
};

#endif
