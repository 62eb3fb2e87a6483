#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "watchstand/clock.h"
#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include "ingest/migrate.h"
#include "ingest/stats.h"
#include "ingest/store.h"

#define STORE_RETRY_S 2
#define STORE_TXN_MAX_SAMPLES 250000
#define STORE_HIGH_BYTES (64u << 20)
#define STORE_LOW_BYTES (16u << 20)
#define STORE_MAINT_S 3600
#define STORE_SWEEP_MS 100
#define PG_EPOCH_US 946684800000000LL /* 2000-01-01 in Unix microseconds */

struct store_item {
	struct store_item *si_next;
	int si_kind; /* hello or batch */
	uint64_t si_conn;
	/* hello */
	struct proto_hello *si_hello; /* only hellos: it is large */
	char si_addr[64];
	/* batch */
	int si_agent;
	uint64_t si_stream;
	uint64_t si_seq;
	uint32_t si_count;
	int si_dup;
	uint8_t *si_payload;
	size_t si_len;
	/* sql */
	char *si_sql;
	char *si_params[STORE_SQL_PARAMS];
	int si_nparams;
	store_query_fn si_cb; /* called once with the result (or NULL) */
	void *si_arg;
	int si_called;
	/* A caller who is waiting (an API request): by this monotonic time
	 * the statement is sent, or it is dropped and never sent. 0: none. */
	double si_deadline;
};

enum { ITEM_HELLO, ITEM_BATCH, ITEM_SQL };

enum store_state {
	ST_DOWN,       /* waiting to reconnect */
	ST_CONNECTING, /* PQconnectPoll */
	ST_IDLE,
	ST_BUSY, /* results pending for the current step */
	ST_COPY, /* sending COPY data */
};

enum store_step {
	STEP_CHECK, /* schema version */
	STEP_HELLO,
	STEP_BEGIN,
	STEP_LOCK,       /* lock the agents' rows; read their seqs */
	STEP_PARTITIONS, /* day partitions the samples need */
	STEP_COPY,       /* COPY samples */
	STEP_EVENTS,     /* COPY events */
	STEP_FEED,       /* COPY the batches for the leader (a follower) */
	STEP_UPDATE,     /* the agents' new seqs */
	STEP_COMMIT,
	STEP_ROLLBACK,
	STEP_MAINT,
	STEP_SQL, /* one statement from elsewhere (alarms, the shift log) */
};

struct store_q {
	struct store_item *q_head, *q_tail;
};

struct store {
	struct collector_stats *s_stats; /* the collector's, shared */
	struct event_base *s_base;
	char *s_conninfo;
	uint64_t s_retention_ms;
	struct store_callbacks s_cb;
	PGconn *s_db;
	struct event *s_ev;
	struct event *s_retry;
	struct event *s_maint;
	struct event *s_sweep; /* drops waited-for statements past due */
	enum store_state s_state;
	enum store_step s_step;
	int s_want_write;
	int s_failed; /* an error result in this step */
	char s_error[512];
	char s_last_complaint[1024]; /* so one fault is logged once */
	char s_fatal[256];           /* what the server said before it closed */
	int s_maint_due;
	struct store_q s_hellos;
	struct store_q s_sql;
	struct store_q s_batches;
	struct store_q s_inflight;
	uint64_t s_queue_bytes;
	int s_paused_reported;
	/* The current transaction. */
	struct pbuf s_copy;
	struct pbuf s_events; /* COPY data of the events, sent second */
	struct pbuf s_feed;   /* COPY data of batch_feed, sent third */
	uint64_t s_txn_feed_rows;
	int s_txn_fed; /* this transaction feeds the leader (store_set_feed) */
	char *s_feed_collector; /* NULL: this collector leads, no feed */
	uint64_t s_txn_events;
	size_t s_copy_off;
	int s_copy_ended;
	double s_txn_start;
	uint64_t s_txn_samples;
	/* Days (UTC, days since the epoch) known to have a partition. */
	int64_t *s_days;
	size_t s_ndays;
	PGresult *s_lock_result;
	char *s_txn_agents; /* {id,...} of the agents in this transaction */
	char *s_txn_days; /* {day,...} (days since 1970) needing a partition */
	/* watchstand.epoch on every connection: the leader epoch the
	 * database fences this collector's leader-only writes by (lead.h). */
	char s_epoch[24];
};

static void store_next(struct store *st);
static void store_feed_late(struct store *st, const struct store_item *b);
static void store_copy_samples(struct store *st);
static void store_io(struct store *st);

const double stats_lat_bounds[STATS_LAT_BUCKETS] = {
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};

static void
store_kick(struct store *st)
{
	if (st->s_state == ST_BUSY)
		store_io(st);
}

static void
q_push(struct store_q *q, struct store_item *it)
{
	it->si_next = NULL;
	if (q->q_tail != NULL)
		q->q_tail->si_next = it;
	else
		q->q_head = it;
	q->q_tail = it;
}

static struct store_item *
q_pop(struct store_q *q)
{
	struct store_item *it = q->q_head;

	if (it != NULL) {
		q->q_head = it->si_next;
		if (q->q_head == NULL)
			q->q_tail = NULL;
	}
	return it;
}

/* Puts the whole of src back in front of dst, keeping the order. */
static void
q_prepend(struct store_q *dst, struct store_q *src)
{
	if (src->q_head == NULL)
		return;
	src->q_tail->si_next = dst->q_head;
	if (dst->q_tail == NULL)
		dst->q_tail = src->q_tail;
	dst->q_head = src->q_head;
	src->q_head = src->q_tail = NULL;
}

static void
item_free(struct store_item *it)
{
	int i;

	if (it == NULL)
		return;
	free(it->si_hello);
	free(it->si_payload);
	free(it->si_sql);
	for (i = 0; i < it->si_nparams; i++)
		free(it->si_params[i]);
	free(it);
}

static void
store_set_up(struct store *st, int up)
{
	st->s_stats->st_db_up = up;
}

/* 1 when a statement is on the wire now: the head of the SQL queue. */
static int
store_sql_sent(const struct store *st, const struct store_item *it)
{
	return it == st->s_sql.q_head && st->s_state == ST_BUSY &&
	       st->s_step == STEP_SQL;
}

/*
 * Statements someone waits for leave the queue unsent when the database
 * is gone (all == 1) or when they are past their deadline: the caller is
 * told (cb with NULL) and nothing of them is applied later. One on the
 * wire when the connection drops has an unknown fate; it is not sent
 * again either, so a retry by the user cannot apply it twice.
 */
static void
store_drop_waited(struct store *st, int all, int include_sent)
{
	struct store_item **pp = &st->s_sql.q_head, *it, *prev = NULL;
	struct store_q gone = {NULL, NULL};
	double now = clock_mono_s();

	while ((it = *pp) != NULL) {
		int sent = store_sql_sent(st, it);
		if (it->si_deadline > 0 && (!sent || include_sent) &&
		    (all || now >= it->si_deadline)) {
			*pp = it->si_next;
			if (st->s_sql.q_tail == it)
				st->s_sql.q_tail = prev;
			q_push(&gone, it);
			continue;
		}
		prev = it;
		pp = &it->si_next;
	}
	/* Callbacks last: they may queue more work. */
	while ((it = q_pop(&gone)) != NULL) {
		if (it->si_cb != NULL && !it->si_called) {
			it->si_called = 1;
			it->si_cb(it->si_arg, NULL);
		}
		item_free(it);
	}
}

/* Logs a database fault once until a different one (or recovery). */
static void
store_complain(struct store *st, const char *why, int retrying)
{
	if (strncmp(st->s_last_complaint, why,
	            sizeof(st->s_last_complaint) - 1) == 0)
		return;
	snprintf(st->s_last_complaint, sizeof(st->s_last_complaint), "%s", why);
	if (retrying)
		log_warnx("database: %s; retrying every %d s, agents keep "
		          "spooling",
		          why, STORE_RETRY_S);
	else
		log_warnx("database: %s", why);
}

static void
store_disconnect(struct store *st, const char *why)
{
	struct timeval tv = {STORE_RETRY_S, 0};
	char reason[512];

	/* why is often PQerrorMessage(st->s_db), which PQfinish frees. */
	snprintf(reason, sizeof(reason), "%s", why);
	reason[strcspn(reason, "\n")] = '\0';
	if (st->s_ev != NULL) {
		event_free(st->s_ev);
		st->s_ev = NULL;
	}
	if (st->s_db != NULL) {
		PQfinish(st->s_db);
		st->s_db = NULL;
	}
	if (st->s_lock_result != NULL) {
		PQclear(st->s_lock_result);
		st->s_lock_result = NULL;
	}
	/* Unacknowledged work goes back to the queue, in order. */
	q_prepend(&st->s_batches, &st->s_inflight);
	pbuf_reset(&st->s_copy);
	store_complain(st, reason, 1);
	store_set_up(st, 0);
	st->s_state = ST_DOWN;
	evtimer_add(st->s_retry, &tv);
	/* Last: the callbacks may queue more, which waits for the retry. */
	store_drop_waited(st, 1, 1);
}

/*
 * The connection broke. The server often said why before it closed
 * ("terminating connection due to administrator command"): that reason
 * is in the input libpq already read, as an error result; libpq's own
 * "server closed the connection unexpectedly" only if there is none.
 */
static void
store_lost(struct store *st)
{
	char why[512];
	PGresult *r;
	int i;

	snprintf(why, sizeof(why), "%s",
	         st->s_fatal[0] ? st->s_fatal : PQerrorMessage(st->s_db));
	for (i = 0; i < 8 && (r = PQgetResult(st->s_db)) != NULL; i++) {
		const char *sev =
		    PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
		const char *msg =
		    PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		if (sev != NULL && msg != NULL &&
		    (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0)) {
			snprintf(why, sizeof(why), "%s", msg);
			PQclear(r);
			break;
		}
		PQclear(r);
	}
	store_disconnect(st, why);
}

static void
store_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store *st = arg;

	(void)fd;
	(void)what;
	store_io(st);
}

/* Re-arms the socket event for what libpq needs next. */
static void
store_watch(struct store *st, short what)
{
	if (st->s_ev != NULL)
		event_free(st->s_ev);
	st->s_ev =
	    event_new(st->s_base, PQsocket(st->s_db), what, store_ev_cb, st);
	event_add(st->s_ev, NULL);
}

/* Server notices ("already exists, skipping") are not for the log; an
 * error while idle is the server saying why it is about to close. */
static void
store_notice(void *arg, const PGresult *r)
{
	struct store *st = arg;
	const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);

	if (sev != NULL && msg != NULL &&
	    (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0))
		snprintf(st->s_fatal, sizeof(st->s_fatal), "%s", msg);
	log_debug("database: %s", PQresultErrorMessage(r));
}

static void
store_connect_poll(struct store *st)
{
	switch (PQconnectPoll(st->s_db)) {
	case PGRES_POLLING_READING:
		store_watch(st, EV_READ);
		return;
	case PGRES_POLLING_WRITING:
		store_watch(st, EV_WRITE);
		return;
	case PGRES_POLLING_OK:
		break;
	default: {
		char why[512];
		snprintf(why, sizeof(why), "cannot connect: %s",
		         PQerrorMessage(st->s_db));
		why[strcspn(why, "\n")] = '\0';
		store_disconnect(st, why);
		return;
	}
	}
	PQsetnonblocking(st->s_db, 1);
	PQsetNoticeReceiver(st->s_db, store_notice, st);
	st->s_fatal[0] = '\0';
	st->s_state = ST_IDLE;
	store_watch(st, EV_READ | EV_PERSIST);
	/* First make sure the schema is what this collector expects. */
	st->s_step = STEP_CHECK;
	if (!PQsendQueryParams(st->s_db,
	                       "SELECT coalesce(max(version), 0), "
	                       "set_config('watchstand.epoch', $1, false) FROM "
	                       "watchstand.schema_migrations",
	                       1, NULL, (const char *const[]){st->s_epoch},
	                       NULL, NULL, 0)) {
		store_disconnect(st, PQerrorMessage(st->s_db));
		return;
	}
	st->s_state = ST_BUSY;
	st->s_want_write = 1;
	st->s_failed = 0;
	store_io(st);
}

static void
store_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	/* A network cut sends no reset: TCP keepalives and a user timeout
	 * end a connection that went silent, so the API answers 503 and the
	 * batches wait for the next connection. The configured conninfo
	 * comes last and may set these itself. */
	static const char *const keys[] = {
	    "keepalives",       "keepalives_idle", "keepalives_interval",
	    "keepalives_count", "tcp_user_timeout", "dbname",
	    NULL};
	struct store *st = arg;
	const char *vals[] = {"1", "10", "5", "3", "30000", st->s_conninfo,
	                      NULL};

	(void)fd;
	(void)what;
	st->s_db = PQconnectStartParams(keys, vals, 1);
	if (st->s_db == NULL || PQstatus(st->s_db) == CONNECTION_BAD) {
		store_disconnect(st, st->s_db ? PQerrorMessage(st->s_db)
		                              : "out of memory");
		return;
	}
	st->s_state = ST_CONNECTING;
	store_connect_poll(st);
}

static void
store_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	store_drop_waited(arg, 0, 0);
}

static void
store_maint_cb(evutil_socket_t fd, short what, void *arg)
{
	struct store *st = arg;

	(void)fd;
	(void)what;
	st->s_maint_due = 1;
	if (st->s_state == ST_IDLE)
		store_next(st);
}

static int
store_send(struct store *st, enum store_step step, const char *sql)
{
	st->s_step = step;
	st->s_failed = 0;
	st->s_error[0] = '\0';
	if (!PQsendQuery(st->s_db, sql)) {
		store_disconnect(st, PQerrorMessage(st->s_db));
		return -1;
	}
	st->s_state = ST_BUSY;
	st->s_want_write = 1;
	return 0;
}

/* One statement with parameters (text), so no value is ever spliced into
 * SQL. */
static int
store_send_params(struct store *st, enum store_step step, const char *sql,
                  int n, const char *const *params)
{
	st->s_step = step;
	st->s_failed = 0;
	st->s_error[0] = '\0';
	if (!PQsendQueryParams(st->s_db, sql, n, NULL, params, NULL, NULL, 0)) {
		store_disconnect(st, PQerrorMessage(st->s_db));
		return -1;
	}
	st->s_state = ST_BUSY;
	st->s_want_write = 1;
	return 0;
}

char *
store_array_text(const int64_t *v, size_t n)
{
	/* 20 digits and a sign, a comma each, the braces and NUL */
	char *out = xmalloc(n * 22 + 3), *p = out;
	size_t i;

	if (out == NULL)
		abort();
	*p++ = '{';
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s%" PRId64, i ? "," : "", v[i]);
	*p++ = '}';
	*p = '\0';
	return out;
}

/* A hello's action names as a text[] literal; names are [A-Za-z0-9._-],
 * quoted so that one called NULL stays a name. */
static char *
store_array_names(const struct proto_hello *h)
{
	char *out = xmalloc((size_t)h->h_nactions * (PROTO_NAME_MAX + 3) + 3);
	char *p = out;
	uint16_t i;

	if (out == NULL)
		abort();
	*p++ = '{';
	for (i = 0; i < h->h_nactions; i++)
		p += sprintf(p, "%s\"%s\"", i ? "," : "", h->h_actions[i]);
	*p++ = '}';
	*p = '\0';
	return out;
}

static void
store_hello_step(struct store *st)
{
	struct store_item *it = st->s_hellos.q_head;
	const struct proto_hello *h = it->si_hello;
	char proto[8], *actions = NULL;
	const char *params[6] = {h->h_name,     h->h_role, it->si_addr,
	                         h->h_software, proto,     NULL};
	int ok;

	snprintf(proto, sizeof(proto), "%u", h->h_version);
	/* Version 1 does not say which actions it has: NULL, not {}. */
	if (h->h_version >= 2)
		params[5] = actions = store_array_names(h);
	st->s_step = STEP_HELLO;
	st->s_failed = 0;
	ok = PQsendQueryParams(
	    st->s_db,
	    "INSERT INTO watchstand.agents (name, role, address, version,"
	    "  protocol, actions)"
	    " VALUES ($1, $2, $3, $4, $5, $6)"
	    " ON CONFLICT (name) DO UPDATE SET role = EXCLUDED.role,"
	    "  address = EXCLUDED.address, version = EXCLUDED.version,"
	    "  protocol = EXCLUDED.protocol, actions = EXCLUDED.actions,"
	    "  last_seen = now()"
	    " RETURNING id, stream_id, last_seq",
	    6, NULL, params, NULL, NULL, 0);
	free(actions);
	if (!ok) {
		store_disconnect(st, PQerrorMessage(st->s_db));
		return;
	}
	st->s_state = ST_BUSY;
	st->s_want_write = 1;
}

/* Starts a transaction with as many queued batches as fit. */
static void
store_txn_begin(struct store *st)
{
	struct store_item *it;
	uint64_t samples = 0;
	int64_t *ids = NULL;
	size_t nids = 0, i;

	while (st->s_batches.q_head != NULL &&
	       (samples == 0 || samples + st->s_batches.q_head->si_count <=
	                            STORE_TXN_MAX_SAMPLES)) {
		it = q_pop(&st->s_batches);
		samples += it->si_count;
		q_push(&st->s_inflight, it);
		for (i = 0; i < nids; i++)
			if (ids[i] == it->si_agent)
				break;
		if (i == nids) {
			ids = xrealloc(ids, (nids + 1) * sizeof(*ids));
			ids[nids++] = it->si_agent;
		}
	}
	free(st->s_txn_agents);
	st->s_txn_agents = store_array_text(ids, nids);
	free(ids);
	st->s_txn_start = clock_mono_s();
	st->s_txn_samples = 0;
	st->s_txn_events = 0;
	store_send(st, STEP_BEGIN, "BEGIN");
}

static void
store_txn_lock(struct store *st)
{
	const char *params[1] = {st->s_txn_agents};

	store_send_params(st, STEP_LOCK,
	                  "SELECT id, stream_id, last_seq FROM "
	                  "watchstand.agents WHERE id = ANY($1::int[]) ORDER "
	                  "BY id FOR UPDATE",
	                  1, params);
}

static void
copy_be(struct pbuf *pb, uint64_t v, int n)
{
	uint8_t b[8];
	int i;

	for (i = n - 1; i >= 0; i--) {
		b[i] = v & 0xff;
		v >>= 8;
	}
	pbuf_add(pb, b, n);
}

static int
store_day_known(struct store *st, int64_t day)
{
	size_t i;

	for (i = 0; i < st->s_ndays; i++)
		if (st->s_days[i] == day)
			return 1;
	return 0;
}

/*
 * With the agents' rows locked: drop batches already stored (replays),
 * build the COPY data for the rest and make sure their days' partitions
 * exist.
 */
static void
store_txn_copy(struct store *st)
{
	PGresult *r = st->s_lock_result;
	struct store_item *it;
	int64_t now_us = (int64_t)time(NULL) * 1000000;
	int64_t oldest = now_us - (int64_t)st->s_retention_ms * 1000;
	int64_t newest = now_us + 86400LL * 1000000;
	int64_t *newdays = NULL;
	size_t nnew = 0, i;
	int row;

	pbuf_reset(&st->s_copy);
	pbuf_add(&st->s_copy, "PGCOPY\n\377\r\n\0", 11);
	copy_be(&st->s_copy, 0, 4);
	copy_be(&st->s_copy, 0, 4);
	pbuf_reset(&st->s_events);
	pbuf_add(&st->s_events, st->s_copy.pb_data, st->s_copy.pb_len);
	pbuf_reset(&st->s_feed);
	pbuf_add(&st->s_feed, st->s_copy.pb_data, st->s_copy.pb_len);
	st->s_txn_feed_rows = 0;
	st->s_txn_fed = st->s_feed_collector != NULL;
	for (it = st->s_inflight.q_head; it != NULL; it = it->si_next) {
		struct proto_batch b;
		struct proto_sample s;
		struct proto_event e;
		const char *why;
		uint64_t dbstream = 0, dbseq = 0;

		for (row = 0; row < PQntuples(r); row++)
			if (atoi(PQgetvalue(r, row, 0)) == it->si_agent) {
				dbstream =
				    strtoull(PQgetvalue(r, row, 1), NULL, 10);
				dbseq =
				    strtoull(PQgetvalue(r, row, 2), NULL, 10);
			}
		/* A batch of the same stream stored earlier in this txn. */
		struct store_item *jt;
		for (jt = st->s_inflight.q_head; jt != it; jt = jt->si_next)
			if (!jt->si_dup && jt->si_agent == it->si_agent &&
			    jt->si_stream == it->si_stream) {
				if ((int64_t)dbstream != (int64_t)jt->si_stream)
					dbseq = 0;
				dbstream = jt->si_stream;
				if (jt->si_seq > dbseq)
					dbseq = jt->si_seq;
			}
		/* The stream id is stored as a signed bigint. */
		if ((int64_t)dbstream == (int64_t)it->si_stream &&
		    it->si_seq <= dbseq) {
			it->si_dup = 1;
			continue;
		}
		if (proto_batch_open(&b, it->si_payload, it->si_len, &why) ==
		    -1)
			continue;
		if (st->s_txn_fed) {
			size_t n = strlen(st->s_feed_collector);
			copy_be(&st->s_feed, 3, 2);
			copy_be(&st->s_feed, n, 4);
			pbuf_add(&st->s_feed, st->s_feed_collector, n);
			copy_be(&st->s_feed, 4, 4);
			copy_be(&st->s_feed, (uint32_t)it->si_agent, 4);
			copy_be(&st->s_feed, it->si_len, 4);
			pbuf_add(&st->s_feed, it->si_payload, it->si_len);
			st->s_txn_feed_rows++;
		}
		while (proto_batch_next(&b, &s, &why) == 1) {
			uint64_t bits;
			int64_t day;

			if (s.s_ts_us < oldest || s.s_ts_us > newest) {
				st->s_stats->st_samples_range++;
				continue;
			}
			day = s.s_ts_us >= 0
			          ? s.s_ts_us / 86400000000LL
			          : -1 - (-s.s_ts_us - 1) / 86400000000LL;
			if (!store_day_known(st, day)) {
				for (i = 0; i < nnew; i++)
					if (newdays[i] == day)
						break;
				if (i == nnew) {
					newdays = xrealloc(newdays,
					                  (nnew + 1) *
					                      sizeof(*newdays));
					newdays[nnew++] = day;
				}
			}
			memcpy(&bits, &s.s_value, 8);
			copy_be(&st->s_copy, 4, 2);
			copy_be(&st->s_copy, 8, 4);
			copy_be(&st->s_copy,
			        (uint64_t)(s.s_ts_us - PG_EPOCH_US), 8);
			copy_be(&st->s_copy, 4, 4);
			copy_be(&st->s_copy, (uint32_t)it->si_agent, 4);
			copy_be(&st->s_copy, s.s_series_len, 4);
			pbuf_add(&st->s_copy, s.s_series, s.s_series_len);
			copy_be(&st->s_copy, 8, 4);
			copy_be(&st->s_copy, bits, 8);
			st->s_txn_samples++;
		}
		while (proto_batch_next_event(&b, &e, &why) == 1) {
			if (e.e_ts_us < oldest || e.e_ts_us > newest)
				continue;
			copy_be(&st->s_events, 4, 2);
			copy_be(&st->s_events, 8, 4);
			copy_be(&st->s_events,
			        (uint64_t)(e.e_ts_us - PG_EPOCH_US), 8);
			copy_be(&st->s_events, 4, 4);
			copy_be(&st->s_events, (uint32_t)it->si_agent, 4);
			copy_be(&st->s_events, e.e_probe_len, 4);
			pbuf_add(&st->s_events, e.e_probe, e.e_probe_len);
			copy_be(&st->s_events, e.e_text_len, 4);
			pbuf_add(&st->s_events, e.e_text, e.e_text_len);
			st->s_txn_events++;
		}
	}
	copy_be(&st->s_copy, 0xffff, 2);
	copy_be(&st->s_events, 0xffff, 2);
	copy_be(&st->s_feed, 0xffff, 2);
	st->s_copy_off = 0;
	st->s_copy_ended = 0;
	/* Forgotten again if this transaction fails (see store_step_done). */
	st->s_days =
	    xrealloc(st->s_days, (st->s_ndays + nnew + 1) * sizeof(*st->s_days));
	for (i = 0; i < nnew; i++)
		st->s_days[st->s_ndays + i] = newdays[i];
	st->s_ndays += nnew;
	if (nnew > 0) {
		const char *params[1];
		free(st->s_txn_days);
		st->s_txn_days = store_array_text(newdays, nnew);
		params[0] = st->s_txn_days;
		store_send_params(st, STEP_PARTITIONS,
		                  "SELECT watchstand.ensure_partition(date "
		                  "'1970-01-01' + d) FROM unnest($1::int[]) d",
		                  1, params);
	} else
		store_copy_samples(st);
	free(newdays);
}

static void
store_copy_samples(struct store *st)
{
	store_send(st, STEP_COPY,
	           st->s_txn_samples > 0
	               ? "COPY watchstand.samples (ts, agent_id, series, "
	                 "value) FROM STDIN (FORMAT binary)"
	               : "SELECT 1");
}

/* Each agent's newest sequence, on the stream of its first batch here. */
static void
store_txn_commit(struct store *st)
{
	struct store_item *it, *jt;
	int64_t *ids, *streams, *seqs;
	size_t n = 0, cap = 0;
	char *text[3];
	const char *params[3];
	int i;

	for (it = st->s_inflight.q_head; it != NULL; it = it->si_next)
		cap++;
	ids = xcalloc(cap + 1, sizeof(*ids));
	streams = xcalloc(cap + 1, sizeof(*streams));
	seqs = xcalloc(cap + 1, sizeof(*seqs));
	if (ids == NULL || streams == NULL || seqs == NULL)
		abort();
	for (it = st->s_inflight.q_head; it != NULL; it = it->si_next) {
		uint64_t max = it->si_seq;
		int first = 1;

		for (jt = st->s_inflight.q_head; jt != it; jt = jt->si_next)
			if (jt->si_agent == it->si_agent)
				first = 0;
		if (!first)
			continue;
		for (jt = it; jt != NULL; jt = jt->si_next)
			if (jt->si_agent == it->si_agent && jt->si_seq > max)
				max = jt->si_seq;
		ids[n] = it->si_agent;
		/* The stream id and sequence are stored as signed bigints. */
		streams[n] = (int64_t)it->si_stream;
		seqs[n] = (int64_t)max;
		n++;
	}
	text[0] = store_array_text(ids, n);
	text[1] = store_array_text(streams, n);
	text[2] = store_array_text(seqs, n);
	for (i = 0; i < 3; i++)
		params[i] = text[i];
	/* A follower's feed is announced in the same transaction: the
	 * leader hears it at the commit, not before. */
	store_send_params(
	    st, STEP_UPDATE,
	    st->s_txn_feed_rows > 0
	        ? "WITH u AS (UPDATE watchstand.agents a SET stream_id = "
	          "v.stream, last_seq = GREATEST(CASE WHEN a.stream_id = "
	          "v.stream THEN a.last_seq ELSE 0 END, v.seq), last_seen = "
	          "now() FROM unnest($1::int[], $2::bigint[], $3::bigint[]) "
	          "AS v(id, stream, seq) WHERE a.id = v.id) SELECT "
	          "pg_notify('watchstand_batch', '')"
	        : "UPDATE watchstand.agents a SET stream_id = v.stream, "
	          "last_seq = GREATEST(CASE WHEN a.stream_id = v.stream THEN "
	          "a.last_seq ELSE 0 END, v.seq), last_seen = now() FROM "
	          "unnest($1::int[], $2::bigint[], $3::bigint[]) AS v(id, "
	          "stream, seq) WHERE a.id = v.id",
	    3, params);
	for (i = 0; i < 3; i++)
		free(text[i]);
	free(ids);
	free(streams);
	free(seqs);
}

static void
store_txn_done(struct store *st)
{
	struct collector_stats *cs = st->s_stats;
	struct store_item *it;
	double lat = clock_mono_s() - st->s_txn_start;
	int b;

	cs->st_transactions++;
	cs->st_samples += st->s_txn_samples;
	cs->st_events += st->s_txn_events;
	cs->st_lat_count++;
	cs->st_lat_sum += lat;
	for (b = 0; b < STATS_LAT_BUCKETS; b++)
		if (lat <= stats_lat_bounds[b])
			cs->st_lat_bucket[b]++;
	while ((it = q_pop(&st->s_inflight)) != NULL) {
		if (it->si_dup)
			cs->st_batches_dup++;
		else
			cs->st_batches++;
		st->s_queue_bytes -= it->si_len;
		if (st->s_cb.sc_committed != NULL)
			st->s_cb.sc_committed(
			    st->s_cb.sc_arg, it->si_conn, it->si_agent,
			    it->si_seq, it->si_payload, it->si_len, it->si_dup);
		if (!it->si_dup && !st->s_txn_fed && st->s_feed_collector)
			store_feed_late(st, it);
		item_free(it);
	}
	cs->st_queue_bytes = st->s_queue_bytes;
	if (st->s_queue_bytes < STORE_LOW_BYTES && st->s_cb.sc_drained != NULL)
		st->s_cb.sc_drained(st->s_cb.sc_arg);
}

/* A step of the ingest transaction failed: roll back, and try the same
 * batches again shortly. The days are forgotten: their partitions may not
 * exist. */
static void
store_txn_abort(struct store *st)
{
	st->s_ndays = 0;
	store_send(st, STEP_ROLLBACK, "ROLLBACK");
}

/* The next COPY of the transaction: buf's data goes out as the COPY
 * buffer (swapped, nothing copied). */
static void
store_copy_next(struct store *st, struct pbuf *buf, enum store_step step,
                const char *sql)
{
	struct pbuf tmp = st->s_copy;

	st->s_copy = *buf;
	*buf = tmp;
	st->s_copy_off = 0;
	st->s_copy_ended = 0;
	store_send(st, step, sql);
}

static void
store_copy_feed(struct store *st)
{
	if (st->s_txn_feed_rows > 0)
		store_copy_next(st, &st->s_feed, STEP_FEED,
		                "COPY watchstand.batch_feed (collector, "
		                "agent_id, payload) FROM STDIN (FORMAT binary)");
	else
		store_txn_commit(st);
}

/* The transaction's steps, in order: BEGIN, lock the agents' rows,
 * partitions (when new days), COPY samples, COPY events (when any), COPY
 * the feed (a follower's, when any), the agents' sequences, COMMIT. */
static void
store_txn_next(struct store *st)
{
	switch (st->s_step) {
	case STEP_BEGIN:
		store_txn_lock(st);
		break;
	case STEP_LOCK:
		store_txn_copy(st);
		break;
	case STEP_PARTITIONS:
		store_copy_samples(st);
		break;
	case STEP_COPY:
		if (st->s_txn_events > 0)
			store_copy_next(st, &st->s_events, STEP_EVENTS,
			                "COPY watchstand.events (ts, agent_id, "
			                "probe, text) FROM STDIN (FORMAT binary)");
		else
			store_copy_feed(st);
		break;
	case STEP_EVENTS:
		store_copy_feed(st);
		break;
	case STEP_FEED:
		store_txn_commit(st);
		break;
	case STEP_UPDATE:
		store_send(st, STEP_COMMIT, "COMMIT");
		break;
	default:
		break;
	}
}

/* A step's results are all in: decide what comes next. */
static void
store_step_done(struct store *st)
{
	struct store_item *it;

	if (st->s_failed) {
		st->s_stats->st_db_errors++;
		if (st->s_step != STEP_CHECK)
			store_complain(st, st->s_error, 0);
	}
	st->s_state = ST_IDLE;
	switch (st->s_step) {
	case STEP_CHECK:
		if (st->s_failed) {
			char why[600];
			snprintf(why, sizeof(why),
			         "%s: run 'watchstand-collector migrate'",
			         st->s_error);
			store_disconnect(st, why);
			return;
		}
		log_info("database: connected, schema version %d",
		         migrate_latest());
		st->s_last_complaint[0] = '\0';
		store_set_up(st, 1);
		break;
	case STEP_HELLO:
		it = q_pop(&st->s_hellos);
		if (st->s_failed && st->s_cb.sc_hello != NULL)
			st->s_cb.sc_hello(st->s_cb.sc_arg, it->si_conn, -1, 0);
		item_free(it);
		break;
	case STEP_BEGIN:
	case STEP_LOCK:
	case STEP_PARTITIONS:
	case STEP_COPY:
	case STEP_EVENTS:
	case STEP_FEED:
	case STEP_UPDATE:
		if (st->s_failed)
			store_txn_abort(st);
		else
			store_txn_next(st);
		store_kick(st);
		return;
	case STEP_COMMIT:
		if (st->s_failed) {
			store_txn_abort(st);
			store_kick(st);
			return;
		}
		store_txn_done(st);
		break;
	case STEP_ROLLBACK:
		/* Retry the same batches shortly, in the same order. */
		q_prepend(&st->s_batches, &st->s_inflight);
		if (st->s_lock_result != NULL) {
			PQclear(st->s_lock_result);
			st->s_lock_result = NULL;
		}
		{
			struct timeval tv = {1, 0};
			evtimer_add(st->s_retry, &tv);
			/* Reconnect path doubles as the retry delay. */
			PQfinish(st->s_db);
			st->s_db = NULL;
			event_free(st->s_ev);
			st->s_ev = NULL;
			st->s_state = ST_DOWN;
		}
		return;
	case STEP_SQL: {
		struct store_item *it = q_pop(&st->s_sql);
		if (it->si_cb != NULL && !it->si_called)
			it->si_cb(it->si_arg, NULL);
		/* A failed statement is logged once and dropped: it was
		 * refused as written, retrying would not change that. */
		item_free(it);
		break;
	}
	case STEP_MAINT:
		break;
	}
	if (st->s_lock_result != NULL && st->s_step != STEP_LOCK) {
		PQclear(st->s_lock_result);
		st->s_lock_result = NULL;
	}
	store_next(st);
}

/* Picks the next job: hellos first (agents wait on them), then data. */
static void
store_next(struct store *st)
{
	if (st->s_state != ST_IDLE)
		return;
	/* Never send what its caller has stopped waiting for. */
	store_drop_waited(st, 0, 0);
	if (st->s_state != ST_IDLE)
		return;
	if (st->s_hellos.q_head != NULL)
		store_hello_step(st);
	else if (st->s_sql.q_head != NULL) {
		struct store_item *it = st->s_sql.q_head;
		/* A payload is one more parameter, in binary (bytea). */
		const char *vals[STORE_SQL_PARAMS + 1];
		int lens[STORE_SQL_PARAMS + 1] = {0};
		int fmts[STORE_SQL_PARAMS + 1] = {0};
		int n = it->si_nparams;

		memcpy(vals, it->si_params, n * sizeof(*vals));
		if (it->si_payload != NULL) {
			vals[n] = (const char *)it->si_payload;
			lens[n] = (int)it->si_len;
			fmts[n++] = 1;
		}
		st->s_step = STEP_SQL;
		st->s_failed = 0;
		if (!PQsendQueryParams(st->s_db, it->si_sql, n, NULL, vals,
		                       lens, fmts, 0)) {
			store_disconnect(st, PQerrorMessage(st->s_db));
			return;
		}
		st->s_state = ST_BUSY;
		st->s_want_write = 1;
	} else if (st->s_maint_due) {
		char secs[32];
		const char *params[1] = {secs};
		st->s_maint_due = 0;
		snprintf(secs, sizeof(secs), "%" PRIu64,
		         st->s_retention_ms / 1000);
		store_send_params(st, STEP_MAINT,
		                  "SELECT watchstand.maintain($1::bigint * "
		                  "interval '1 second')",
		                  1, params);
	} else if (st->s_batches.q_head != NULL)
		store_txn_begin(st);
	if (st->s_state == ST_BUSY)
		store_io(st);
}

static void
store_result(struct store *st, PGresult *r)
{
	ExecStatusType s = PQresultStatus(r);

	if (st->s_step == STEP_SQL && st->s_sql.q_head != NULL &&
	    st->s_sql.q_head->si_cb != NULL && !st->s_sql.q_head->si_called) {
		struct store_item *it = st->s_sql.q_head;
		it->si_called = 1;
		it->si_cb(it->si_arg, r);
	}
	if (s == PGRES_FATAL_ERROR) {
		if (!st->s_failed) {
			snprintf(st->s_error, sizeof(st->s_error), "%s",
			         PQresultErrorMessage(r));
			st->s_error[strcspn(st->s_error, "\n")] = '\0';
		}
		st->s_failed = 1;
		PQclear(r);
		return;
	}
	switch (st->s_step) {
	case STEP_CHECK:
		if (s == PGRES_TUPLES_OK &&
		    atoi(PQgetvalue(r, 0, 0)) < migrate_latest()) {
			snprintf(
			    st->s_error, sizeof(st->s_error),
			    "schema at version %s, this collector needs %d",
			    PQgetvalue(r, 0, 0), migrate_latest());
			st->s_failed = 1;
		}
		break;
	case STEP_HELLO:
		if (s == PGRES_TUPLES_OK && PQntuples(r) == 1) {
			struct store_item *it = st->s_hellos.q_head;
			int64_t stream = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
			uint64_t seq = strtoull(PQgetvalue(r, 0, 2), NULL, 10);
			/* A new stream (spool reset) starts from nothing. */
			if (stream != (int64_t)it->si_hello->h_stream)
				seq = 0;
			if (st->s_cb.sc_hello != NULL)
				st->s_cb.sc_hello(st->s_cb.sc_arg, it->si_conn,
				                  atoi(PQgetvalue(r, 0, 0)),
				                  seq);
		}
		break;
	case STEP_LOCK:
		if (s == PGRES_TUPLES_OK) {
			if (st->s_lock_result != NULL)
				PQclear(st->s_lock_result);
			st->s_lock_result = r;
			return;
		}
		break;
	case STEP_MAINT:
		if (s == PGRES_TUPLES_OK && atoi(PQgetvalue(r, 0, 0)) > 0)
			log_info("database: dropped %s day partitions older "
			         "than the retention",
			         PQgetvalue(r, 0, 0));
		break;
	default:
		break;
	}
	PQclear(r);
}

static void
store_io(struct store *st)
{
	if (st->s_state == ST_CONNECTING) {
		store_connect_poll(st);
		return;
	}
	if (st->s_db == NULL)
		return;
	if (!PQconsumeInput(st->s_db)) {
		store_lost(st);
		return;
	}
	for (;;) {
		if (st->s_state == ST_COPY) {
			while (st->s_copy_off < st->s_copy.pb_len) {
				size_t n = st->s_copy.pb_len - st->s_copy_off;
				int rc;
				if (n > 256 * 1024)
					n = 256 * 1024;
				rc = PQputCopyData(
				    st->s_db,
				    (const char *)st->s_copy.pb_data +
				        st->s_copy_off,
				    (int)n);
				if (rc == -1) {
					store_disconnect(
					    st, PQerrorMessage(st->s_db));
					return;
				}
				if (rc == 0)
					goto flush;
				st->s_copy_off += n;
			}
			if (!st->s_copy_ended) {
				int rc = PQputCopyEnd(st->s_db, NULL);
				if (rc == -1) {
					store_disconnect(
					    st, PQerrorMessage(st->s_db));
					return;
				}
				if (rc == 0)
					goto flush;
				st->s_copy_ended = 1;
			}
			st->s_state = ST_BUSY;
			st->s_want_write = 1;
		}
	flush:
		if (st->s_want_write || st->s_state == ST_COPY) {
			int rc = PQflush(st->s_db);
			if (rc == -1) {
				store_disconnect(st, PQerrorMessage(st->s_db));
				return;
			}
			if (rc == 1) {
				/* Wait until the socket takes more. */
				store_watch(st, EV_READ | EV_WRITE);
				return;
			}
			st->s_want_write = 0;
			store_watch(st, EV_READ | EV_PERSIST);
			if (st->s_state == ST_COPY)
				continue;
		}
		if (st->s_state != ST_BUSY) {
			/* Idle: let libpq read what the server says anyway
			 * (a notice, or why it is closing). */
			if (st->s_state == ST_IDLE)
				(void)PQisBusy(st->s_db);
			return;
		}
		while (!PQisBusy(st->s_db)) {
			PGresult *r = PQgetResult(st->s_db);
			if (r == NULL) {
				store_step_done(st);
				return;
			}
			if (PQresultStatus(r) == PGRES_COPY_IN) {
				PQclear(r);
				st->s_state = ST_COPY;
				break;
			}
			store_result(st, r);
		}
		if (st->s_state != ST_COPY)
			return;
	}
}

void
store_set_callbacks(struct store *st, const struct store_callbacks *cb)
{
	static const struct store_callbacks none;

	st->s_cb = cb != NULL ? *cb : none;
}

struct store *
store_new(struct event_base *base, struct collector_stats *stats,
          const char *conninfo, uint64_t retention_ms)
{
	struct store *st = xcalloc(1, sizeof(*st));
	struct timeval now = {0, 0}, maint = {STORE_MAINT_S, 0};

	st->s_stats = stats;
	st->s_base = base;
	st->s_conninfo = xstrdup(conninfo);
	snprintf(st->s_epoch, sizeof(st->s_epoch), "0");
	st->s_retention_ms = retention_ms;
	st->s_retry = evtimer_new(st->s_base, store_retry_cb, st);
	st->s_maint = event_new(st->s_base, -1, EV_PERSIST, store_maint_cb, st);
	st->s_sweep = event_new(st->s_base, -1, EV_PERSIST, store_sweep_cb, st);
	event_add(st->s_sweep, &(struct timeval){0, STORE_SWEEP_MS * 1000});
	st->s_maint_due = 1;
	pbuf_init(&st->s_copy);
	pbuf_init(&st->s_events);
	pbuf_init(&st->s_feed);
	event_add(st->s_maint, &maint);
	evtimer_add(st->s_retry, &now);
	return st;
}

void
store_free(struct store *st)
{
	struct store_item *it;

	if (st == NULL)
		return;
	if (st->s_ev != NULL)
		event_free(st->s_ev);
	event_free(st->s_retry);
	event_free(st->s_maint);
	event_free(st->s_sweep);
	if (st->s_lock_result != NULL)
		PQclear(st->s_lock_result);
	if (st->s_db != NULL)
		PQfinish(st->s_db);
	while ((it = q_pop(&st->s_hellos)) != NULL)
		item_free(it);
	while ((it = q_pop(&st->s_sql)) != NULL)
		item_free(it);
	while ((it = q_pop(&st->s_batches)) != NULL)
		item_free(it);
	while ((it = q_pop(&st->s_inflight)) != NULL)
		item_free(it);
	pbuf_free(&st->s_copy);
	pbuf_free(&st->s_events);
	pbuf_free(&st->s_feed);
	free(st->s_feed_collector);
	free(st->s_days);
	free(st->s_txn_agents);
	free(st->s_txn_days);
	free(st->s_conninfo);
	free(st);
}

void
store_hello(struct store *st, uint64_t conn_id, const struct proto_hello *h,
            const char *address)
{
	struct store_item *it = xcalloc(1, sizeof(*it));

	it->si_kind = ITEM_HELLO;
	it->si_conn = conn_id;
	if ((it->si_hello = xmalloc(sizeof(*h))) == NULL)
		abort();
	*it->si_hello = *h;
	snprintf(it->si_addr, sizeof(it->si_addr), "%s", address);
	q_push(&st->s_hellos, it);
	if (st->s_state == ST_IDLE)
		store_next(st);
}

void
store_batch(struct store *st, uint64_t conn_id, int agent_id, uint64_t stream,
            uint64_t seq, uint32_t count, const uint8_t *payload, size_t len)
{
	struct store_item *it = xcalloc(1, sizeof(*it));

	it->si_kind = ITEM_BATCH;
	it->si_conn = conn_id;
	it->si_agent = agent_id;
	it->si_stream = stream;
	it->si_seq = seq;
	it->si_count = count;
	it->si_payload = xmalloc(len ? len : 1);
	memcpy(it->si_payload, payload, len);
	it->si_len = len;
	st->s_queue_bytes += len;
	st->s_stats->st_queue_bytes = st->s_queue_bytes;
	q_push(&st->s_batches, it);
	if (st->s_state == ST_IDLE)
		store_next(st);
}

/* A batch committed without its feed row, though this collector now
 * follows (its transaction began while it led): the row and the NOTIFY
 * right after the commit, the one case outside the transaction. */
static void
store_feed_late(struct store *st, const struct store_item *b)
{
	struct store_item *it = xcalloc(1, sizeof(*it));
	char agent[16];

	snprintf(agent, sizeof(agent), "%d", b->si_agent);
	it->si_kind = ITEM_SQL;
	it->si_sql = xstrdup(
	    "WITH f AS (INSERT INTO watchstand.batch_feed (collector, agent_id, "
	    "payload) VALUES ($1, $2::int, $3::bytea) RETURNING id) SELECT "
	    "pg_notify('watchstand_batch', '') FROM f");
	it->si_params[0] = xstrdup(st->s_feed_collector);
	it->si_params[1] = xstrdup(agent);
	it->si_nparams = 2;
	it->si_payload = xmalloc(b->si_len ? b->si_len : 1);
	memcpy(it->si_payload, b->si_payload, b->si_len);
	it->si_len = b->si_len;
	q_push(&st->s_sql, it);
}

void
store_set_feed(struct store *st, const char *collector)
{
	free(st->s_feed_collector);
	st->s_feed_collector = collector != NULL ? xstrdup(collector) : NULL;
}

void
store_sql(struct store *st, const char *sql, int nparams,
          const char *const *params)
{
	store_query(st, sql, nparams, params, NULL, NULL);
}

void
store_query(struct store *st, const char *sql, int nparams,
            const char *const *params, store_query_fn cb, void *arg)
{
	store_query_by(st, sql, nparams, params, cb, arg, 0);
}

void
store_set_epoch(struct store *st, int64_t epoch)
{
	const char *params[1] = {st->s_epoch};

	snprintf(st->s_epoch, sizeof(st->s_epoch), "%" PRId64, epoch);
	store_sql(st, "SELECT set_config('watchstand.epoch', $1, false)", 1,
	          params);
}

int
store_up(const struct store *st)
{
	return st->s_stats->st_db_up;
}

int
store_query_by(struct store *st, const char *sql, int nparams,
               const char *const *params, store_query_fn cb, void *arg,
               int deadline_ms)
{
	struct store_item *it;
	int i;

	if (deadline_ms > 0 && !store_up(st))
		return -1;
	it = xcalloc(1, sizeof(*it));
	if (deadline_ms > 0)
		it->si_deadline = clock_mono_s() + deadline_ms / 1000.0;
	it->si_cb = cb;
	it->si_arg = arg;
	it->si_kind = ITEM_SQL;
	it->si_sql = xstrdup(sql);
	it->si_nparams =
	    nparams < STORE_SQL_PARAMS ? nparams : STORE_SQL_PARAMS;
	for (i = 0; i < it->si_nparams; i++)
		it->si_params[i] = params[i] ? xstrdup(params[i]) : NULL;
	q_push(&st->s_sql, it);
	if (st->s_state == ST_IDLE)
		store_next(st);
	return 0;
}

int
store_full(struct store *st)
{
	return st->s_queue_bytes > STORE_HIGH_BYTES;
}

void
store_set_retention(struct store *st, uint64_t retention_ms)
{
	st->s_retention_ms = retention_ms;
}
