#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>
#include <openssl/evp.h>

#define SHA256_DIGEST_LENGTH 32

#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include "events.h"
#include "duty/shiftlog.h"
#include "ingest/store.h"

void
shiftlog_add(struct store *st, struct events *ev, const char *kind,
             const char *actor, const char *text)
{
	const char *params[3] = {kind, actor, text};

	store_sql(st,
	          "INSERT INTO watchstand.shift_log (kind, actor, text) "
	          "VALUES ($1, $2, $3)",
	          3, params);
	events_log_written(ev);
}

static int
anchor_path(char *buf, size_t len, const char *dir, const char *suffix)
{
	int n =
	    snprintf(buf, len, "%s/%s%s", dir, SHIFTLOG_ANCHOR_FILE, suffix);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int
is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

int
shiftlog_anchor_read(const char *dir, struct shiftlog_anchor_rec *a, char *err,
                     size_t errlen)
{
	char path[4096], line[256];
	int have_id = 0, have_hash = 0;
	FILE *f;

	memset(a, 0, sizeof(*a));
	if (anchor_path(path, sizeof(path), dir, "") == -1) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *v;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if ((v = strchr(line, ' ')) == NULL)
			continue;
		*v++ = '\0';
		if (strcmp(line, "id") == 0) {
			char *end;
			long long id = strtoll(v, &end, 10);
			if (*end == '\0' && id > 0) {
				a->ar_id = id;
				have_id = 1;
			}
		} else if (strcmp(line, "hash") == 0 && is_hex64(v)) {
			memcpy(a->ar_hash, v, 65);
			have_hash = 1;
		} else if (strcmp(line, "written") == 0)
			snprintf(a->ar_written, sizeof(a->ar_written), "%s", v);
	}
	fclose(f);
	if (!have_id || !have_hash) {
		snprintf(err, errlen,
		         "%s: not a shift log anchor (it needs an id and a "
		         "SHA-256 hash)",
		         path);
		return -1;
	}
	if (a->ar_written[0] == '\0')
		snprintf(a->ar_written, sizeof(a->ar_written),
		         "an unknown time");
	return 1;
}

int
shiftlog_anchor_write(const char *dir, int64_t id, const char *hash_hex,
                      char *err, size_t errlen)
{
	char path[4096], tmp[4096], body[256], when[32];
	time_t now = time(NULL);
	struct tm tm;
	int fd, n, dfd;

	if (anchor_path(path, sizeof(path), dir, "") == -1 ||
	    anchor_path(tmp, sizeof(tmp), dir, ".tmp") == -1) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(body, sizeof(body),
	             "# watchstand shift log anchor: the newest entry the "
	             "collector saw (verify-log checks the database against "
	             "it)\nid %" PRId64 "\nhash %s\nwritten %s\n",
	             id, hash_hex, when);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || write(fd, body, (size_t)n) != n || fsync(fd) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd != -1)
			close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	/* The rename itself survives a crash only once the folder is synced. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(dfd) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	close(dfd);
	return 0;
}

/* The head, and the anchored entry as the database has it now ($1). */
#define ANCHOR_HEAD_SQL                                                        \
	"SELECT h.id, encode(h.hash, 'hex'), a.id IS NOT NULL, "               \
	"coalesce(encode(a.hash, 'hex'), '') FROM (SELECT id, hash FROM "      \
	"watchstand.shift_log ORDER BY id DESC LIMIT 1) h LEFT JOIN "          \
	"watchstand.shift_log a ON a.id = $1"

struct shiftlog_anchor {
	struct event *an_timer;
	struct store *an_store;
	char *an_dir;
	struct shiftlog_anchor_rec an_rec;
	int an_have;     /* an_rec holds the anchor on disk */
	int an_inflight; /* a head query is queued */
	int an_warned;   /* the gap or rewrite was logged */
	int an_write_failed;
};

/* Moves the anchor to the head the result names, unless the anchored
 * entry is gone or changed. -1 when the anchor cannot move. */
static int
anchor_apply(const char *dir, struct shiftlog_anchor_rec *rec, int *have,
             PGresult *r, int *warned, int *write_failed)
{
	const char *head_hash, *at_hash;
	char err[512];
	int64_t head;

	if (PQntuples(r) == 0)
		return 0;
	head = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	head_hash = PQgetvalue(r, 0, 1);
	at_hash = PQgetvalue(r, 0, 3);
	if (*have) {
		if (head == rec->ar_id && strcmp(head_hash, rec->ar_hash) == 0)
			return 0;
		if (strcmp(PQgetvalue(r, 0, 2), "t") != 0 ||
		    strcmp(at_hash, rec->ar_hash) != 0) {
			if (!*warned)
				log_warnx(
				    "shift log: entry %" PRId64 " named by the "
				    "anchor in %s/%s is %s (the newest entry "
				    "is "
				    "%" PRId64 "): the anchor is kept as "
				    "evidence; run verify-log",
				    rec->ar_id, dir, SHIFTLOG_ANCHOR_FILE,
				    strcmp(PQgetvalue(r, 0, 2), "t") != 0
				        ? "missing from the database"
				        : "not what it was (the chain was "
				          "rewritten)",
				    head);
			*warned = 1;
			return -1;
		}
	}
	if (shiftlog_anchor_write(dir, head, head_hash, err, sizeof(err)) ==
	    -1) {
		if (!*write_failed)
			log_warnx("shift log: cannot write the anchor: %s",
			          err);
		*write_failed = 1;
		return -1;
	}
	if (*write_failed)
		log_info("shift log: the anchor is written again");
	*write_failed = 0;
	rec->ar_id = head;
	snprintf(rec->ar_hash, sizeof(rec->ar_hash), "%s", head_hash);
	*have = 1;
	log_debug("shift log: anchored entry %" PRId64, head);
	return 0;
}

static void
anchor_head_cb(void *arg, PGresult *r)
{
	struct shiftlog_anchor *an = arg;

	an->an_inflight = 0;
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK)
		return;
	anchor_apply(an->an_dir, &an->an_rec, &an->an_have, r, &an->an_warned,
	             &an->an_write_failed);
}

static void
anchor_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct shiftlog_anchor *an = arg;
	char id[24];
	const char *params[1] = {id};

	(void)fd;
	(void)what;
	if (an->an_inflight)
		return;
	/* Stuck on a gap: once someone moved the anchor away or replaced it
	 * (after looking into it), the file is taken as it is now. */
	if (an->an_warned) {
		struct shiftlog_anchor_rec rec;
		char err[512];
		int rc =
		    shiftlog_anchor_read(an->an_dir, &rec, err, sizeof(err));
		if (rc == -1 || (rc == 1 && rec.ar_id == an->an_rec.ar_id &&
		                 strcmp(rec.ar_hash, an->an_rec.ar_hash) == 0))
			return;
		log_info("shift log: the anchor was %s; following the head of "
		         "the chain again",
		         rc == 0 ? "moved away" : "replaced");
		an->an_rec = rec;
		an->an_have = rc == 1;
		an->an_warned = 0;
	}
	snprintf(id, sizeof(id), "%" PRId64,
	         an->an_have ? an->an_rec.ar_id : 0);
	an->an_inflight = 1;
	store_query(an->an_store, ANCHOR_HEAD_SQL, 1, params, anchor_head_cb,
	            an);
}

struct shiftlog_anchor *
shiftlog_anchor_new(struct event_base *base, struct store *st, const char *dir)
{
	struct shiftlog_anchor *an = xcalloc(1, sizeof(*an));
	char err[512];
	int rc;

	if (an == NULL)
		return NULL;
	an->an_store = st;
	an->an_dir = xstrdup(dir);
	rc = shiftlog_anchor_read(dir, &an->an_rec, err, sizeof(err));
	if (rc == -1)
		log_warnx("shift log: %s (it will be replaced by the head of "
		          "the chain)",
		          err);
	an->an_have = rc == 1;
	an->an_timer = event_new(base, -1, EV_PERSIST, anchor_timer_cb, an);
	event_add(an->an_timer, &(struct timeval){1, 0});
	return an;
}

void
shiftlog_anchor_free(struct shiftlog_anchor *an)
{
	if (an == NULL)
		return;
	event_free(an->an_timer);
	free(an->an_dir);
	free(an);
}

int
shiftlog_add_now(PGconn *db, const char *dir, const char *kind,
                 const char *actor, const char *text)
{
	const char *params[3] = {kind, actor, text};
	struct shiftlog_anchor_rec rec;
	char err[512], id[24];
	const char *hp[1] = {id};
	PGresult *r;
	int have, warned = 0, failed = 0, rc;

	r = PQexecParams(db,
	                 "INSERT INTO watchstand.shift_log (kind, actor, text) "
	                 "VALUES ($1, $2, $3)",
	                 3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		log_warnx("shift log: cannot write '%s': %s", text,
		          PQresultErrorMessage(r));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	if ((have = shiftlog_anchor_read(dir, &rec, err, sizeof(err))) == -1) {
		log_warnx("shift log: %s", err);
		have = 0;
	}
	snprintf(id, sizeof(id), "%" PRId64, have ? rec.ar_id : 0);
	r = PQexecParams(db, ANCHOR_HEAD_SQL, 1, NULL, hp, NULL, NULL, 0);
	rc = PQresultStatus(r) == PGRES_TUPLES_OK
	         ? anchor_apply(dir, &rec, &have, r, &warned, &failed)
	         : -1;
	PQclear(r);
	return rc;
}

/* A bytea field as bytes (libpq reads either output format); its length,
 * or -1 when it does not decode or is longer than max. */
static int
bytea_get(const PGresult *r, int row, int col, unsigned char *out, size_t max)
{
	unsigned char *b;
	size_t n;

	b = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &n);
	if (b == NULL)
		return -1;
	if (n > max) {
		PQfreemem(b);
		return -1;
	}
	memcpy(out, b, n);
	PQfreemem(b);
	return (int)n;
}

static void
hex_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
}

int
shiftlog_verify(const char *conninfo, const char *state_dir)
{
	PGconn *db;
	PGresult *r;
	struct shiftlog_anchor_rec an;
	unsigned char prev[SHA256_DIGEST_LENGTH], hash[SHA256_DIGEST_LENGTH],
	    want[SHA256_DIGEST_LENGTH], stored_prev[SHA256_DIGEST_LENGTH];
	char err[512], hex[2 * SHA256_DIGEST_LENGTH + 1];
	int have_prev = 0, rows, i, rc = 0, have_anchor, anchor_seen = 0;
	int64_t before = 0, after = 0, id = 0;

	have_anchor = shiftlog_anchor_read(state_dir, &an, err, sizeof(err));
	if (have_anchor == -1) {
		fprintf(stderr, "verify-log: cannot read the anchor: %s\n",
		        err);
		return -1;
	}
	if (have_anchor == 0)
		printf("warning: shift log anchor not found (%s/%s): entries "
		       "removed from the end, or a chain recomputed after an "
		       "edit, cannot be detected\n",
		       state_dir, SHIFTLOG_ANCHOR_FILE);
	db = PQconnectdb(conninfo);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "verify-log: cannot connect: %s",
		        PQerrorMessage(db));
		PQfinish(db);
		return -1;
	}
	/* The same fields, in the same text form, as the trigger hashes. */
	r = PQexec(db, "SELECT id, to_char(ts AT TIME ZONE 'UTC', "
	               "'YYYY-MM-DD\"T\"HH24:MI:SS.US'), coalesce(shift_id::"
	               "text, ''), kind, actor, text, prev_hash, hash FROM "
	               "watchstand.shift_log ORDER BY id");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "verify-log: %s", PQerrorMessage(db));
		PQclear(r);
		PQfinish(db);
		return -1;
	}
	rows = PQntuples(r);
	for (i = 0; i < rows; i++) {
		const char *ids = PQgetvalue(r, i, 0);
		EVP_MD_CTX *ctx;
		unsigned int wlen = 0;
		int n;

		id = strtoll(ids, NULL, 10);
		/* Its link to the entry before. */
		if (PQgetisnull(r, i, 6)
		        ? have_prev
		        : (!have_prev ||
		           bytea_get(r, i, 6, stored_prev,
		                     sizeof(stored_prev)) !=
		               SHA256_DIGEST_LENGTH ||
		           memcmp(stored_prev, prev, sizeof(prev)) != 0)) {
			printf("shift log: entry %s does not follow the entry "
			       "before it (an entry was removed or replaced)\n",
			       ids);
			rc = 1;
			break;
		}
		ctx = EVP_MD_CTX_new();
		EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
		if (have_prev)
			EVP_DigestUpdate(ctx, prev, sizeof(prev));
		for (n = 0; n < 6; n++) {
			const char *f = PQgetvalue(r, i, n);
			if (n > 0)
				EVP_DigestUpdate(ctx, "|", 1);
			EVP_DigestUpdate(ctx, f, strlen(f));
		}
		EVP_DigestFinal_ex(ctx, want, &wlen);
		EVP_MD_CTX_free(ctx);
		if (bytea_get(r, i, 7, hash, sizeof(hash)) !=
		        SHA256_DIGEST_LENGTH ||
		    memcmp(hash, want, sizeof(hash)) != 0) {
			printf("shift log: entry %s was altered after it was "
			       "written (its hash does not match)\n",
			       ids);
			rc = 1;
			break;
		}
		memcpy(prev, hash, sizeof(prev));
		have_prev = 1;
		if (have_anchor && id < an.ar_id)
			before = id;
		else if (have_anchor && id == an.ar_id) {
			/* A chain recomputed after an edit is consistent in
			 * itself: only the hash kept outside tells. */
			hex_encode(hash, sizeof(hash), hex);
			if (strcmp(hex, an.ar_hash) != 0) {
				printf("shift log: the chain was rewritten: "
				       "entry %s has hash %s, but the anchor "
				       "written at %s names hash %s (an entry "
				       "up to %s was changed and the hashes "
				       "after it recomputed)\n",
				       ids, hex, an.ar_written, an.ar_hash,
				       ids);
				rc = 1;
				break;
			}
			anchor_seen = 1;
		} else if (have_anchor)
			after++;
	}
	if (rc == 0 && have_anchor && !anchor_seen) {
		if (before + 1 == an.ar_id)
			printf("shift log: entry %" PRId64 " is missing: the "
			       "anchor written at %s names entry %" PRId64 "\n",
			       an.ar_id, an.ar_written, an.ar_id);
		else
			printf("shift log: entries %" PRId64 "..%" PRId64
			       " are missing: the anchor written at %s names "
			       "entry %" PRId64 "\n",
			       before + 1, an.ar_id, an.ar_written, an.ar_id);
		rc = 1;
	}
	if (rc == 0 && have_anchor)
		printf("shift log: %d entries, chain intact up to the anchor "
		       "(entry %" PRId64 ", written at %s); %" PRId64
		       " entr%s after it\n",
		       rows, an.ar_id, an.ar_written, after,
		       after == 1 ? "y" : "ies");
	else if (rc == 0)
		printf("shift log: %d entries, chain intact\n", rows);
	PQclear(r);
	PQfinish(db);
	return rc;
}
