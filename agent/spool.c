#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include <openssl/rand.h>

#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include "spool.h"

#define SPOOL_MAGIC 0x57535031u /* "WSP1" */
#define SPOOL_HDR_LEN 32
#define SPOOL_SEG_MAX (4u << 20)
/*
 * Sequence numbers are leased: the state file durably names a number above
 * any assigned, so after a power cut that lost the newest records (and with
 * them the highest number a collector may have stored) numbering goes on
 * above the lease, never reusing one. A clean close leaves no gap.
 */
#define SPOOL_LEASE (1u << 20)

/* On disk, big-endian: magic, len, crc, seq, created_us, nsamples. */
struct spool_rec {
	uint64_t r_seq;
	uint32_t r_seg;
	uint32_t r_off; /* of the header */
	uint32_t r_len; /* payload */
	uint32_t r_nsamples;
	int64_t r_created_us;
};

struct spool_seg {
	uint32_t sg_id;
	int sg_fd;
	uint64_t sg_size;
	uint64_t sg_last_seq;
	int64_t sg_newest_us;
	int sg_dirty; /* written since the last fdatasync */
};

struct spool {
	char *sp_dir;
	uint64_t sp_max_size;
	uint64_t sp_max_age_us;
	uint64_t sp_segmax;
	uint64_t sp_stream;
	uint64_t sp_acked;
	uint64_t sp_last_seq;
	uint64_t sp_lease; /* no seq above it without first saving a new one */
	int sp_state_dirty; /* acked moved since the state was saved */
	int sp_dir_dirty; /* a segment was created since the last sync */
	struct spool_rec *sp_recs;
	size_t sp_head, sp_nrecs, sp_cap; /* pending = [head, nrecs) */
	struct spool_seg *sp_segs;
	size_t sp_nsegs;
	uint64_t sp_bytes;
	uint64_t sp_dropped_batches;
	uint64_t sp_dropped_samples;
};

static void
be_put(uint8_t *b, uint64_t v, int n)
{
	while (n-- > 0) {
		b[n] = v & 0xff;
		v >>= 8;
	}
}

static uint64_t
be_get(const uint8_t *b, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = v << 8 | b[i];
	return v;
}

static uint32_t
spool_crc(const uint8_t *hdr, const uint8_t *payload, size_t len)
{
	uLong crc = crc32(0L, Z_NULL, 0);

	crc = crc32(crc, hdr + 12, SPOOL_HDR_LEN - 12);
	crc = crc32(crc, payload, len);
	return (uint32_t)crc;
}

/* fsync of the directory, so a new or renamed file's name lasts. */
static int
spool_sync_dir(struct spool *sp)
{
	int fd = open(sp->sp_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Writes the state file whole and durably: stream, acked, lease. */
static int
spool_save_state(struct spool *sp)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/state", sp->sp_dir);
	snprintf(tmp, sizeof(tmp), "%s/state.tmp", sp->sp_dir);
	if ((fp = fopen(tmp, "w")) == NULL) {
		log_warn("spool: %s", tmp);
		return -1;
	}
	fprintf(fp,
	        "stream %016" PRIx64 "\nacked %" PRIu64 "\nlease %" PRIu64
	        "\n",
	        sp->sp_stream, sp->sp_acked, sp->sp_lease);
	if (fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
		log_warn("spool: %s", tmp);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	if (rename(tmp, path) == -1) {
		log_warn("spool: rename %s", tmp);
		return -1;
	}
	if (spool_sync_dir(sp) == -1)
		log_warn("spool: fsync %s", sp->sp_dir);
	sp->sp_state_dirty = 0;
	return 0;
}

static void
spool_load_state(struct spool *sp)
{
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/state", sp->sp_dir);
	if ((fp = fopen(path, "r")) != NULL) {
		if (fscanf(fp, "stream %" SCNx64 " acked %" SCNu64,
		           &sp->sp_stream, &sp->sp_acked) != 2) {
			log_warnx("spool: %s is damaged, starting a new stream",
			          path);
			sp->sp_stream = 0;
			sp->sp_acked = 0;
		} else if (fscanf(fp, " lease %" SCNu64, &sp->sp_lease) != 1)
			sp->sp_lease = 0; /* written before leases */
		fclose(fp);
	}
	if (sp->sp_stream == 0) {
		if (RAND_bytes((unsigned char *)&sp->sp_stream,
		               sizeof(sp->sp_stream)) != 1)
			sp->sp_stream = (uint64_t)time(NULL) ^ getpid();
		sp->sp_stream |= 1; /* never 0 */
		sp->sp_acked = 0;
		sp->sp_lease = 0;
	}
	sp->sp_last_seq = sp->sp_acked;
}

static void
spool_push_rec(struct spool *sp, const struct spool_rec *r)
{
	if (sp->sp_nrecs == sp->sp_cap) {
		/* Reclaim acknowledged slots before growing. */
		if (sp->sp_head > 0) {
			memmove(sp->sp_recs, sp->sp_recs + sp->sp_head,
			        (sp->sp_nrecs - sp->sp_head) * sizeof(*r));
			sp->sp_nrecs -= sp->sp_head;
			sp->sp_head = 0;
		}
		if (sp->sp_nrecs == sp->sp_cap) {
			sp->sp_cap = sp->sp_cap ? sp->sp_cap * 2 : 256;
			sp->sp_recs =
			    xrealloc(sp->sp_recs, sp->sp_cap * sizeof(*r));
		}
	}
	sp->sp_recs[sp->sp_nrecs++] = *r;
}

static void
spool_seg_path(struct spool *sp, uint32_t id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%010u.seg", sp->sp_dir, id);
}

static struct spool_seg *
spool_seg_add(struct spool *sp, uint32_t id, int fd, uint64_t size)
{
	struct spool_seg *sg;

	sp->sp_segs =
	    xrealloc(sp->sp_segs, (sp->sp_nsegs + 1) * sizeof(*sp->sp_segs));
	sg = &sp->sp_segs[sp->sp_nsegs++];
	memset(sg, 0, sizeof(*sg));
	sg->sg_id = id;
	sg->sg_fd = fd;
	sg->sg_size = size;
	return sg;
}

/* Drops the oldest segment; counts what was still pending in it. */
static void
spool_seg_drop_oldest(struct spool *sp, int count_drops)
{
	struct spool_seg *sg = &sp->sp_segs[0];
	char path[PATH_MAX];
	uint64_t batches = 0, samples = 0;

	while (sp->sp_head < sp->sp_nrecs &&
	       sp->sp_recs[sp->sp_head].r_seg == sg->sg_id) {
		batches++;
		samples += sp->sp_recs[sp->sp_head].r_nsamples;
		sp->sp_head++;
	}
	if (count_drops && batches > 0) {
		sp->sp_dropped_batches += batches;
		sp->sp_dropped_samples += samples;
		log_warnx("spool: full or too old, dropped %" PRIu64
		          " batches (%" PRIu64 " samples) never delivered",
		          batches, samples);
	}
	close(sg->sg_fd);
	spool_seg_path(sp, sg->sg_id, path, sizeof(path));
	unlink(path);
	sp->sp_bytes -= sg->sg_size;
	memmove(sp->sp_segs, sp->sp_segs + 1, (sp->sp_nsegs - 1) * sizeof(*sg));
	sp->sp_nsegs--;
}

/* Reads one segment's records; cuts a torn tail left by a crash. */
static void
spool_scan(struct spool *sp, struct spool_seg *sg, const char *path)
{
	uint8_t hdr[SPOOL_HDR_LEN];
	uint8_t *payload = NULL;
	uint64_t off = 0;

	for (;;) {
		struct spool_rec r;
		ssize_t n = pread(sg->sg_fd, hdr, sizeof(hdr), off);
		uint32_t len;

		if (n == 0)
			break;
		if (n != sizeof(hdr) || be_get(hdr, 4) != SPOOL_MAGIC)
			goto torn;
		len = be_get(hdr + 4, 4);
		if (len > PROTO_FRAME_MAX + PROTO_HDR_LEN)
			goto torn;
		payload = xrealloc(payload, len ? len : 1);
		if (pread(sg->sg_fd, payload, len, off + SPOOL_HDR_LEN) !=
		    (ssize_t)len)
			goto torn;
		if (spool_crc(hdr, payload, len) != be_get(hdr + 8, 4))
			goto torn;
		r.r_seq = be_get(hdr + 12, 8);
		r.r_created_us = (int64_t)be_get(hdr + 20, 8);
		r.r_nsamples = be_get(hdr + 28, 4);
		r.r_seg = sg->sg_id;
		r.r_off = off;
		r.r_len = len;
		if (r.r_seq > sp->sp_last_seq)
			sp->sp_last_seq = r.r_seq;
		if (r.r_seq > sg->sg_last_seq)
			sg->sg_last_seq = r.r_seq;
		if (r.r_created_us > sg->sg_newest_us)
			sg->sg_newest_us = r.r_created_us;
		if (r.r_seq > sp->sp_acked)
			spool_push_rec(sp, &r);
		off += SPOOL_HDR_LEN + len;
	}
	free(payload);
	sg->sg_size = off;
	return;
torn:
	log_warnx("spool: %s: damaged record at offset %" PRIu64
	          ", keeping the %" PRIu64 " bytes before it",
	          path, off, off);
	if (ftruncate(sg->sg_fd, off) == -1)
		log_warn("spool: truncate %s", path);
	free(payload);
	sg->sg_size = off;
}

static int
seg_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

struct spool *
spool_open(const char *dir, uint64_t max_size, uint64_t max_age_us)
{
	struct spool *sp = xcalloc(1, sizeof(*sp));
	uint32_t *ids = NULL;
	size_t nids = 0, i;
	struct dirent *de;
	DIR *d;

	sp->sp_dir = xstrdup(dir);
	sp->sp_max_size = max_size;
	sp->sp_max_age_us = max_age_us;
	/* Small segments so the size bound is kept closely. */
	sp->sp_segmax =
	    max_size / 8 < SPOOL_SEG_MAX ? max_size / 8 : SPOOL_SEG_MAX;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		log_warn("spool: cannot create %s", dir);
		goto fail;
	}
	spool_load_state(sp);
	if ((d = opendir(dir)) == NULL) {
		log_warn("spool: %s", dir);
		goto fail;
	}
	while ((de = readdir(d)) != NULL) {
		unsigned id;
		char tail[8];
		if (sscanf(de->d_name, "%10u.%3s", &id, tail) == 2 &&
		    strcmp(tail, "seg") == 0) {
			ids = xrealloc(ids, (nids + 1) * sizeof(*ids));
			ids[nids++] = id;
		}
	}
	closedir(d);
	if (nids > 0)
		qsort(ids, nids, sizeof(*ids), seg_cmp);
	for (i = 0; i < nids; i++) {
		char path[PATH_MAX];
		int fd;
		struct spool_seg *sg;

		spool_seg_path(sp, ids[i], path, sizeof(path));
		if ((fd = open(path, O_RDWR | O_CLOEXEC)) == -1) {
			log_warn("spool: %s", path);
			continue;
		}
		sg = spool_seg_add(sp, ids[i], fd, 0);
		spool_scan(sp, sg, path);
		sp->sp_bytes += sg->sg_size;
	}
	free(ids);
	/* Segments holding only acknowledged records go at once. */
	while (sp->sp_nsegs > 0 && sp->sp_segs[0].sg_last_seq <= sp->sp_acked)
		spool_seg_drop_oldest(sp, 0);
	/* Not closed cleanly: go on above the lease (a gap, never a reuse). */
	if (sp->sp_lease > sp->sp_last_seq)
		sp->sp_last_seq = sp->sp_lease;
	sp->sp_lease = sp->sp_last_seq + SPOOL_LEASE;
	if (spool_save_state(sp) == -1)
		goto fail;
	if (sp->sp_nrecs > sp->sp_head)
		log_info("spool: %zu batches pending from before the restart",
		         sp->sp_nrecs - sp->sp_head);
	return sp;
fail:
	spool_free(sp);
	return NULL;
}

void
spool_free(struct spool *sp)
{
	size_t i;

	if (sp == NULL)
		return;
	for (i = 0; i < sp->sp_nsegs; i++)
		close(sp->sp_segs[i].sg_fd);
	free(sp->sp_segs);
	free(sp->sp_recs);
	free(sp->sp_dir);
	free(sp);
}

int
spool_sync(struct spool *sp)
{
	int rc = 0;
	size_t i;

	for (i = 0; i < sp->sp_nsegs; i++) {
		struct spool_seg *sg = &sp->sp_segs[i];
		if (!sg->sg_dirty)
			continue;
		if (fdatasync(sg->sg_fd) == -1) {
			log_warn("spool: fdatasync segment %u", sg->sg_id);
			rc = -1;
		} else
			sg->sg_dirty = 0;
	}
	if (sp->sp_dir_dirty) {
		if (spool_sync_dir(sp) == -1) {
			log_warn("spool: fsync %s", sp->sp_dir);
			rc = -1;
		} else
			sp->sp_dir_dirty = 0;
	}
	if (sp->sp_state_dirty && spool_save_state(sp) == -1)
		rc = -1;
	return rc;
}

void
spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	/* All is on disk: the next open goes on with no gap in numbering. */
	if (spool_sync(sp) == 0) {
		sp->sp_lease = sp->sp_last_seq;
		spool_save_state(sp);
	}
	spool_free(sp);
}

uint64_t
spool_stream(struct spool *sp)
{
	return sp->sp_stream;
}

uint64_t
spool_next_seq(struct spool *sp)
{
	return sp->sp_last_seq + 1;
}

int
spool_append(struct spool *sp, uint64_t seq, uint32_t nsamples,
             const uint8_t *frame, size_t len, int64_t now_us)
{
	uint8_t hdr[SPOOL_HDR_LEN];
	struct spool_seg *sg;
	struct spool_rec r;
	struct iovec iov[2];

	if (sp->sp_nsegs == 0 ||
	    sp->sp_segs[sp->sp_nsegs - 1].sg_size >= sp->sp_segmax) {
		uint32_t id =
		    sp->sp_nsegs ? sp->sp_segs[sp->sp_nsegs - 1].sg_id + 1 : 1;
		char path[PATH_MAX];
		int fd;

		spool_seg_path(sp, id, path, sizeof(path));
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd == -1) {
			log_warn("spool: %s", path);
			return -1;
		}
		spool_seg_add(sp, id, fd, 0);
		sp->sp_dir_dirty = 1;
	}
	if (seq > sp->sp_lease) {
		uint64_t held = sp->sp_lease;
		/* A number above the lease is used only once the lease is
		 * on disk: a failed save leaves it as it was. */
		sp->sp_lease = seq + SPOOL_LEASE;
		if (spool_save_state(sp) == -1) {
			sp->sp_lease = held;
			return -1;
		}
	}
	sg = &sp->sp_segs[sp->sp_nsegs - 1];
	be_put(hdr, SPOOL_MAGIC, 4);
	be_put(hdr + 4, len, 4);
	be_put(hdr + 12, seq, 8);
	be_put(hdr + 20, (uint64_t)now_us, 8);
	be_put(hdr + 28, nsamples, 4);
	be_put(hdr + 8, spool_crc(hdr, frame, len), 4);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)frame;
	iov[1].iov_len = len;
	if (pwritev(sg->sg_fd, iov, 2, sg->sg_size) !=
	    (ssize_t)(sizeof(hdr) + len)) {
		log_warn("spool: write to segment %u", sg->sg_id);
		/* Leave the size alone: the next write overwrites the tail. */
		return -1;
	}
	/* In the page cache now, which outlives a kill -9 of the agent;
	 * spool_sync() makes it outlive a power cut. */
	sg->sg_dirty = 1;
	r.r_seq = seq;
	r.r_seg = sg->sg_id;
	r.r_off = sg->sg_size;
	r.r_len = len;
	r.r_nsamples = nsamples;
	r.r_created_us = now_us;
	spool_push_rec(sp, &r);
	sg->sg_size += sizeof(hdr) + len;
	sg->sg_last_seq = seq;
	sg->sg_newest_us = now_us;
	sp->sp_bytes += sizeof(hdr) + len;
	sp->sp_last_seq = seq;
	/* At the bound the oldest goes, counted and reported, never silent. */
	while (sp->sp_bytes > sp->sp_max_size && sp->sp_nsegs > 1)
		spool_seg_drop_oldest(sp, 1);
	return 0;
}

void
spool_count_lost(struct spool *sp, uint32_t nsamples)
{
	sp->sp_dropped_batches++;
	sp->sp_dropped_samples += nsamples;
}

void
spool_ack(struct spool *sp, uint64_t seq)
{
	if (seq <= sp->sp_acked)
		return;
	if (seq > sp->sp_last_seq)
		seq = sp->sp_last_seq;
	sp->sp_acked = seq;
	while (sp->sp_head < sp->sp_nrecs &&
	       sp->sp_recs[sp->sp_head].r_seq <= seq)
		sp->sp_head++;
	/* Keep the segment being written; it is reused until full. */
	while (sp->sp_nsegs > 1 && sp->sp_segs[0].sg_last_seq <= seq)
		spool_seg_drop_oldest(sp, 0);
	/* Saved by the next spool_sync(): an ack lost with it only means a
	 * replay, which the collector acknowledges without storing again. */
	sp->sp_state_dirty = 1;
}

void
spool_expire(struct spool *sp, int64_t now_us)
{
	while (sp->sp_nsegs > 1 && sp->sp_max_age_us > 0 &&
	       sp->sp_segs[0].sg_newest_us + (int64_t)sp->sp_max_age_us <
	           now_us)
		spool_seg_drop_oldest(sp, 1);
	/* The last segment too, once all in it is older than max_age. */
	if (sp->sp_nsegs == 1 && sp->sp_max_age_us > 0 &&
	    sp->sp_head < sp->sp_nrecs &&
	    sp->sp_segs[0].sg_newest_us + (int64_t)sp->sp_max_age_us < now_us) {
		uint64_t last = sp->sp_recs[sp->sp_nrecs - 1].r_seq;
		uint64_t b = 0, s = 0;
		while (sp->sp_head < sp->sp_nrecs) {
			b++;
			s += sp->sp_recs[sp->sp_head++].r_nsamples;
		}
		sp->sp_dropped_batches += b;
		sp->sp_dropped_samples += s;
		log_warnx("spool: dropped %" PRIu64 " batches older than "
		          "max_age",
		          b);
		sp->sp_acked = last;
		sp->sp_state_dirty = 1;
	}
}

int
spool_read_after(struct spool *sp, uint64_t seq, uint64_t *rec_seq,
                 struct pbuf *out)
{
	size_t lo = sp->sp_head, hi = sp->sp_nrecs, i;
	const struct spool_rec *r;
	uint8_t hdr[SPOOL_HDR_LEN];

	/* First pending record with r_seq > seq (records are in order). */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sp->sp_recs[mid].r_seq <= seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == sp->sp_nrecs)
		return 0;
	r = &sp->sp_recs[lo];
	for (i = 0; i < sp->sp_nsegs; i++)
		if (sp->sp_segs[i].sg_id == r->r_seg)
			break;
	if (i == sp->sp_nsegs)
		return -1;
	pbuf_reset(out);
	if (out->pb_cap < r->r_len) {
		out->pb_data = xrealloc(out->pb_data, r->r_len);
		out->pb_cap = r->r_len;
	}
	if (pread(sp->sp_segs[i].sg_fd, hdr, sizeof(hdr), r->r_off) !=
	        sizeof(hdr) ||
	    pread(sp->sp_segs[i].sg_fd, out->pb_data, r->r_len,
	          r->r_off + SPOOL_HDR_LEN) != (ssize_t)r->r_len ||
	    spool_crc(hdr, out->pb_data, r->r_len) != be_get(hdr + 8, 4)) {
		log_warnx("spool: record %" PRIu64 " unreadable, skipped",
		          r->r_seq);
		*rec_seq = r->r_seq;
		return -1;
	}
	out->pb_len = r->r_len;
	*rec_seq = r->r_seq;
	return 1;
}

void
spool_stats(struct spool *sp, struct spool_stats *st)
{
	st->ss_pending_batches = sp->sp_nrecs - sp->sp_head;
	st->ss_bytes = sp->sp_bytes;
	st->ss_dropped_batches = sp->sp_dropped_batches;
	st->ss_dropped_samples = sp->sp_dropped_samples;
	st->ss_acked_seq = sp->sp_acked;
}
