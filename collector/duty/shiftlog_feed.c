#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include "events.h"
#include "duty/shiftlog_feed.h"
#include "ingest/store.h"

/* Entries per query; more are fetched at once after. */
#define FEED_BATCH 500
#define FEED_STR_(x) #x
#define FEED_STR(x) FEED_STR_(x)
/* For a writer that did not announce its entry. */
#define FEED_POLL_S 2

struct shiftlog_feed {
	struct store *f_store;
	struct events *f_events;
	struct event *f_timer;
	int64_t f_last; /* newest entry published; -1: not known yet */
	int f_inflight; /* a query is queued */
	int f_again;    /* something was written while it was */
	int f_warned;   /* a failing query was logged */
};

static void feed_fetch(struct shiftlog_feed *f);

static void
feed_head_cb(void *arg, PGresult *r)
{
	struct shiftlog_feed *f = arg;

	f->f_inflight = 0;
	if (r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK &&
	    PQntuples(r) == 1)
		f->f_last = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	if (f->f_again && f->f_last >= 0)
		feed_fetch(f);
}

static void
feed_rows_cb(void *arg, PGresult *r)
{
	struct shiftlog_feed *f = arg;
	int i, n;

	f->f_inflight = 0;
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
		if (r != NULL && !f->f_warned)
			log_warnx("shift log feed: %s",
			          PQresultErrorMessage(r));
		f->f_warned = r != NULL;
		return; /* the timer asks again */
	}
	f->f_warned = 0;
	n = PQntuples(r);
	for (i = 0; i < n; i++) {
		struct event_msg m = {
		    .em_kind = EVENT_LOG,
		    .em_log_id = strtoll(PQgetvalue(r, i, 0), NULL, 10),
		    .em_ts = PQgetvalue(r, i, 1),
		    .em_shift_id =
		        PQgetisnull(r, i, 2) ? NULL : PQgetvalue(r, i, 2),
		    .em_log_kind = PQgetvalue(r, i, 3),
		    .em_actor = PQgetvalue(r, i, 4),
		    .em_text = PQgetvalue(r, i, 5),
		};
		if (m.em_log_id <= f->f_last)
			continue;
		f->f_last = m.em_log_id;
		events_publish(f->f_events, &m);
	}
	if (n == FEED_BATCH || f->f_again)
		feed_fetch(f);
}

/* One query at a time; what is written meanwhile is asked for after. */
static void
feed_fetch(struct shiftlog_feed *f)
{
	char last[24];
	const char *params[1] = {last};

	if (f->f_inflight) {
		f->f_again = 1;
		return;
	}
	f->f_again = 0;
	f->f_inflight = 1;
	if (f->f_last < 0) {
		store_query(f->f_store,
		            "SELECT coalesce(max(id), 0) FROM "
		            "watchstand.v_shift_log",
		            0, NULL, feed_head_cb, f);
		return;
	}
	snprintf(last, sizeof(last), "%" PRId64, f->f_last);
	/* The same columns, in the same text form, as GET /log. */
	store_query(f->f_store,
	            "SELECT id, ts, shift_id, kind, actor, text FROM "
	            "watchstand.v_shift_log WHERE id > $1::bigint ORDER BY id "
	            "LIMIT " FEED_STR(FEED_BATCH),
	            1, params, feed_rows_cb, f);
}

static void
feed_written(void *arg, const struct event_msg *m)
{
	(void)m;
	feed_fetch(arg);
}

static void
feed_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct shiftlog_feed *f = arg;

	(void)fd;
	(void)what;
	/* Nothing piles up while the database is away. */
	if (store_up(f->f_store) && !f->f_inflight)
		feed_fetch(f);
}

struct shiftlog_feed *
shiftlog_feed_new(struct event_base *base, struct store *st, struct events *ev)
{
	struct shiftlog_feed *f = xcalloc(1, sizeof(*f));

	f->f_store = st;
	f->f_events = ev;
	f->f_last = -1;
	/* The head first: entries queued after it are the feed's. */
	feed_fetch(f);
	events_subscribe(ev, EVENT_MASK(EVENT_LOG_WRITTEN), feed_written, f);
	f->f_timer = event_new(base, -1, EV_PERSIST, feed_timer_cb, f);
	event_add(f->f_timer, &(struct timeval){FEED_POLL_S, 0});
	return f;
}

void
shiftlog_feed_free(struct shiftlog_feed *f)
{
	if (f == NULL)
		return;
	events_unsubscribe(f->f_events, feed_written, f);
	event_free(f->f_timer);
	free(f);
}

int64_t
shiftlog_feed_last(const struct shiftlog_feed *f)
{
	return f != NULL ? f->f_last : -1;
}
