/* Leadership on a dedicated, non-blocking libpq connection (lead.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "watchstand/clock.h"
#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include "lead.h"

#define LEAD_TICK_S 1
/* Without a renewed heartbeat for this long the leader steps down; the
 * server frees the lock only after idle_session_timeout (4 s, set by
 * watchstand.lead_try), so two leaders never overlap. */
#define LEAD_LEASE_S 2.5
#define LEAD_CONNECT_S 5
/* Feed rows per query: small enough that a backlog (a follower restarted,
 * agents replaying their spools) leaves room for the heartbeat between
 * pages, which lead_tick sends first when due. */
#define LEAD_FEED_ROWS 100

enum lead_state { LS_DOWN, LS_CONNECTING, LS_READY };
enum lead_query { LQ_NONE, LQ_LISTEN, LQ_TRY, LQ_RENEW, LQ_FEED };

struct lead {
	struct lead_deps l_d;
	char *l_conninfo;
	char *l_holder;
	char *l_url;
	PGconn *l_db;
	struct event *l_ev; /* the connection's socket */
	short l_ev_what;
	struct event *l_timer;
	enum lead_state l_state;
	enum lead_query l_query; /* in flight */
	double l_sent;           /* when it was sent (or the connect began) */
	int l_leading;
	int64_t l_epoch;
	double l_renewed; /* the last heartbeat that came back */
	time_t l_since;
	int l_tick_due;        /* the tick found the connection busy */
	int l_feed_due;        /* a NOTIFY came: batches to read */
	char l_leader_url[512]; /* who leads, as the last try saw it */
	char l_complaint[512]; /* so one fault is logged once */
};

static void lead_io_cb(evutil_socket_t fd, short what, void *arg);

static void
lead_complain(struct lead *l, const char *what, const char *why)
{
	char msg[sizeof(l->l_complaint)];

	snprintf(msg, sizeof(msg), "%s: %s", what, why);
	msg[strcspn(msg, "\n")] = '\0';
	if (strcmp(msg, l->l_complaint) == 0)
		return;
	snprintf(l->l_complaint, sizeof(l->l_complaint), "%s", msg);
	log_warnx("lead: %s", msg);
}

static void
lead_watch(struct lead *l, short what)
{
	if (l->l_ev != NULL && l->l_ev_what == what &&
	    event_get_fd(l->l_ev) == PQsocket(l->l_db))
		return;
	if (l->l_ev != NULL)
		event_free(l->l_ev);
	l->l_ev = event_new(l->l_d.ld_base, PQsocket(l->l_db),
	                    what | EV_PERSIST, lead_io_cb, l);
	l->l_ev_what = what;
	event_add(l->l_ev, NULL);
}

static void
lead_step_down(struct lead *l, const char *reason)
{
	if (!l->l_leading)
		return;
	l->l_leading = 0;
	l->l_since = time(NULL);
	log_warnx("lead: epoch %" PRId64 ": stepping down: %s", l->l_epoch,
	          reason);
	l->l_d.ld_changed(l->l_d.ld_arg, 0, l->l_epoch, reason);
}

/* The connection is gone (or given up, to free the lock). */
static void
lead_drop(struct lead *l, const char *why_arg)
{
	char reason[600], why[512];

	/* why is often PQerrorMessage(l_db): copy it before PQfinish. */
	snprintf(why, sizeof(why), "%s", why_arg);
	if (l->l_ev != NULL)
		event_free(l->l_ev);
	l->l_ev = NULL;
	if (l->l_db != NULL)
		PQfinish(l->l_db);
	l->l_db = NULL;
	l->l_state = LS_DOWN;
	l->l_query = LQ_NONE;
	snprintf(reason, sizeof(reason), "the lead connection was lost (%s)",
	         why);
	reason[strcspn(reason, "\n")] = '\0';
	if (l->l_leading)
		lead_step_down(l, reason);
	else
		lead_complain(l, "connection", why);
}

static void
lead_send(struct lead *l, enum lead_query q, const char *sql, int n,
          const char *const *params)
{
	int f, ok;

	/* LISTEN is several statements: the simple protocol. */
	ok = q == LQ_LISTEN
	         ? PQsendQuery(l->l_db, sql)
	         : PQsendQueryParams(l->l_db, sql, n, NULL, params, NULL, NULL, 0);
	if (!ok) {
		lead_drop(l, PQerrorMessage(l->l_db));
		return;
	}
	l->l_query = q;
	l->l_sent = clock_mono_s();
	if ((f = PQflush(l->l_db)) == -1)
		lead_drop(l, PQerrorMessage(l->l_db));
	else
		lead_watch(l, f == 1 ? EV_READ | EV_WRITE : EV_READ);
}

/* The lock while following, the heartbeat while leading. */
static void
lead_beat(struct lead *l)
{
	char epoch[32];
	const char *params[2];

	l->l_tick_due = 0;
	if (l->l_leading) {
		snprintf(epoch, sizeof(epoch), "%" PRId64, l->l_epoch);
		params[0] = epoch;
		lead_send(l, LQ_RENEW, "SELECT watchstand.lead_renew($1)", 1,
		          params);
		return;
	}
	params[0] = l->l_holder;
	params[1] = l->l_url;
	lead_send(l, LQ_TRY,
	          "SELECT epoch, prev_holder, prev_age, "
	          "leader_holder, leader_url FROM watchstand.lead_try($1, $2)",
	          2, params);
}

/* The feed is a queue: the leader takes (deletes) what it reads, so rows
 * committed out of id order (two followers) are read all the same. */
static void
lead_feed(struct lead *l)
{
	char rows[16];
	const char *params[2] = {l->l_holder, rows};

	l->l_feed_due = 0;
	snprintf(rows, sizeof(rows), "%d", LEAD_FEED_ROWS);
	lead_send(l, LQ_FEED,
	          "WITH d AS (DELETE FROM watchstand.batch_feed WHERE id IN "
	          "(SELECT id FROM watchstand.batch_feed WHERE collector <> $1 "
	          "ORDER BY id LIMIT $2::int) RETURNING id, agent_id, payload) "
	          "SELECT d.id, a.name, a.role, d.payload FROM d JOIN "
	          "watchstand.agents a ON a.id = d.agent_id ORDER BY d.id",
	          2, params);
}

/* The connection is free: what is due goes next, the heartbeat first. */
static void
lead_next(struct lead *l)
{
	if (l->l_state != LS_READY || l->l_query != LQ_NONE)
		return;
	if (l->l_tick_due)
		lead_beat(l);
	else if (l->l_feed_due && l->l_leading)
		lead_feed(l);
}

static void
lead_took(struct lead *l, PGresult *r)
{
	char reason[512];

	l->l_leading = 1;
	snprintf(l->l_leader_url, sizeof(l->l_leader_url), "%s", l->l_url);
	l->l_epoch = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	l->l_renewed = l->l_sent; /* as for a renewal: from the asking */
	l->l_since = time(NULL);
	l->l_complaint[0] = '\0';
	l->l_feed_due = 1; /* what the followers fed meanwhile */
	if (PQgetisnull(r, 0, 1))
		snprintf(reason, sizeof(reason),
		         "%s leads in epoch %" PRId64 " (no leader before)",
		         l->l_holder, l->l_epoch);
	else
		snprintf(reason, sizeof(reason),
		         "%s leads in epoch %" PRId64 ": the lock was free; "
		         "the previous leader %s last renewed its heartbeat "
		         "%.1f s ago",
		         l->l_holder, l->l_epoch, PQgetvalue(r, 0, 1),
		         atof(PQgetvalue(r, 0, 2)));
	log_info("lead: %s", reason);
	l->l_d.ld_changed(l->l_d.ld_arg, 1, l->l_epoch, reason);
}

static void
lead_fed(struct lead *l, PGresult *r)
{
	int i, n = PQntuples(r);

	for (i = 0; i < n && l->l_leading; i++) {
		size_t len;
		unsigned char *p = PQunescapeBytea(
		    (const unsigned char *)PQgetvalue(r, i, 3), &len);
		if (p == NULL)
			continue;
		l->l_d.ld_batch(l->l_d.ld_arg, PQgetvalue(r, i, 1),
		                PQgetvalue(r, i, 2), p, len);
		PQfreemem(p);
	}
	if (n == LEAD_FEED_ROWS)
		l->l_feed_due = 1;
}

/* One result of the query in flight. */
static void
lead_result(struct lead *l, PGresult *r)
{
	ExecStatusType s = PQresultStatus(r);

	if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
		const char *what = l->l_query == LQ_TRY     ? "taking the lock"
		                   : l->l_query == LQ_RENEW ? "the heartbeat"
		                   : l->l_query == LQ_FEED  ? "the batch feed"
		                                            : "LISTEN";
		lead_complain(l, what, PQresultErrorMessage(r));
		if (l->l_query == LQ_RENEW) {
			/* The session still holds the lock: close it, or the
			 * next try takes it again and the peer never can. */
			lead_step_down(l, "the heartbeat failed");
			lead_drop(l, "stepped down: the heartbeat failed");
		}
		return;
	}
	switch (l->l_query) {
	case LQ_TRY:
		if (PQntuples(r) != 1)
			break;
		if (!PQgetisnull(r, 0, 0))
			lead_took(l, r);
		else
			snprintf(l->l_leader_url, sizeof(l->l_leader_url),
			         "%s", PQgetvalue(r, 0, 4));
		break;
	case LQ_RENEW:
		/* The lease counts from when the renewal was sent: a reply
		 * read late (after a pause) must not extend it. */
		if (PQntuples(r) == 1 &&
		    strcmp(PQgetvalue(r, 0, 0), "t") == 0) {
			l->l_renewed = l->l_sent;
		} else {
			lead_step_down(l, "the epoch is no longer this "
			                  "collector's");
			lead_drop(l, "stepped down: the epoch moved on");
		}
		break;
	case LQ_FEED:
		lead_fed(l, r);
		break;
	default:
		break;
	}
}

static void
lead_connected(struct lead *l)
{
	switch (PQconnectPoll(l->l_db)) {
	case PGRES_POLLING_READING:
		lead_watch(l, EV_READ);
		return;
	case PGRES_POLLING_WRITING:
		lead_watch(l, EV_WRITE);
		return;
	case PGRES_POLLING_OK:
		break;
	default:
		lead_drop(l, PQerrorMessage(l->l_db));
		return;
	}
	PQsetnonblocking(l->l_db, 1);
	l->l_state = LS_READY;
	lead_send(l, LQ_LISTEN,
	          "LISTEN watchstand_batch; LISTEN watchstand_action; LISTEN "
	          "watchstand_action_result",
	          0, NULL);
	l->l_tick_due = 1; /* try for the lock right after */
}

static void
lead_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lead *l = arg;
	PGnotify *nt;
	PGresult *r;
	int f;

	(void)fd;
	if (l->l_state == LS_CONNECTING) {
		lead_connected(l);
		return;
	}
	if (what & EV_WRITE) {
		if ((f = PQflush(l->l_db)) == -1) {
			lead_drop(l, PQerrorMessage(l->l_db));
			return;
		}
		if (f == 0)
			lead_watch(l, EV_READ);
	}
	if (!(what & EV_READ))
		return;
	if (!PQconsumeInput(l->l_db)) {
		lead_drop(l, PQerrorMessage(l->l_db));
		return;
	}
	while (l->l_query != LQ_NONE && !PQisBusy(l->l_db)) {
		if ((r = PQgetResult(l->l_db)) == NULL) {
			l->l_query = LQ_NONE;
			break;
		}
		lead_result(l, r);
		PQclear(r);
		if (l->l_db == NULL)
			return;
	}
	while ((nt = PQnotifies(l->l_db)) != NULL) {
		if (strcmp(nt->relname, "watchstand_batch") == 0)
			l->l_feed_due = 1;
		else if (l->l_d.ld_notified != NULL)
			l->l_d.ld_notified(l->l_d.ld_arg, nt->relname);
		PQfreemem(nt);
	}
	if (PQstatus(l->l_db) == CONNECTION_BAD) {
		lead_drop(l, PQerrorMessage(l->l_db));
		return;
	}
	lead_next(l);
}

static void
lead_connect(struct lead *l)
{
	const char *keys[] = {"dbname", "connect_timeout", NULL};
	const char *vals[] = {l->l_conninfo, "2", NULL};

	l->l_db = PQconnectStartParams(keys, vals, 1);
	if (l->l_db == NULL) {
		lead_complain(l, "connection", "out of memory");
		return;
	}
	if (PQstatus(l->l_db) == CONNECTION_BAD) {
		lead_drop(l, PQerrorMessage(l->l_db));
		return;
	}
	l->l_state = LS_CONNECTING;
	l->l_sent = clock_mono_s();
	lead_watch(l, EV_WRITE);
}

static void
lead_tick(evutil_socket_t fd, short what, void *arg)
{
	struct lead *l = arg;
	double now = clock_mono_s();

	(void)fd;
	(void)what;
	/* The lease first: a leader whose heartbeat is late gives up the
	 * connection (and with it the lock) before anyone may take it. */
	if (l->l_leading && now - l->l_renewed > LEAD_LEASE_S) {
		lead_step_down(l, "the heartbeat was not renewed within the "
		                  "lease (2.5 s)");
		lead_drop(l, "the lease ran out");
	}
	switch (l->l_state) {
	case LS_DOWN:
		lead_connect(l);
		break;
	case LS_CONNECTING:
		if (now - l->l_sent > LEAD_CONNECT_S)
			lead_drop(l, "no connection within 5 s");
		break;
	case LS_READY:
		l->l_tick_due = 1;
		if (l->l_query != LQ_NONE && now - l->l_sent > LEAD_LEASE_S)
			lead_drop(l, "the database did not answer within "
			             "2.5 s");
		else
			lead_next(l);
		break;
	}
}

struct lead *
lead_new(const struct lead_deps *d)
{
	struct lead *l = xcalloc(1, sizeof(*l));

	l->l_d = *d;
	l->l_conninfo = xstrdup(d->ld_conninfo);
	l->l_holder = xstrdup(d->ld_holder);
	l->l_url = xstrdup(d->ld_url);
	l->l_since = time(NULL);
	l->l_timer = event_new(d->ld_base, -1, EV_PERSIST, lead_tick, l);
	event_add(l->l_timer, &(struct timeval){LEAD_TICK_S, 0});
	lead_connect(l);
	return l;
}

void
lead_free(struct lead *l)
{
	if (l == NULL)
		return;
	event_free(l->l_timer);
	if (l->l_ev != NULL)
		event_free(l->l_ev);
	if (l->l_db != NULL)
		PQfinish(l->l_db);
	free(l->l_conninfo);
	free(l->l_holder);
	free(l->l_url);
	free(l);
}

int
lead_leading(const struct lead *l)
{
	return l != NULL && l->l_leading;
}

int
lead_lease_valid(const struct lead *l)
{
	return lead_leading(l) && clock_mono_s() - l->l_renewed <= LEAD_LEASE_S;
}

int
lead_may_act(void *l)
{
	return lead_lease_valid(l);
}

int64_t
lead_epoch(const struct lead *l)
{
	return l != NULL ? l->l_epoch : 0;
}

time_t
lead_since(const struct lead *l)
{
	return l != NULL ? l->l_since : 0;
}

const char *
lead_leader_url(const struct lead *l)
{
	return l != NULL && l->l_leader_url[0] != '\0' ? l->l_leader_url
	                                                : NULL;
}

const char *
lead_role(const struct lead *l)
{
	return lead_leading(l) ? "leader" : "follower";
}

json_t *
lead_json(const struct lead *l)
{
	char since[32];
	time_t t = lead_since(l);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_pack("{s:s, s:I, s:s, s:s?}", "role", lead_role(l),
	                 "epoch", (json_int_t)lead_epoch(l), "since", since,
	                 "leader_url", lead_leader_url(l));
}

void
lead_metrics(const struct lead *l, struct evbuffer *out)
{
	evbuffer_add_printf(
	    out,
	    "# HELP watchstand_leader Whether this collector leads (1) or "
	    "follows (0).\n# TYPE watchstand_leader gauge\n"
	    "watchstand_leader %d\n"
	    "# HELP watchstand_leader_epoch The epoch this collector leads, or "
	    "last led, in (0: never).\n# TYPE watchstand_leader_epoch gauge\n"
	    "watchstand_leader_epoch %" PRId64 "\n"
	    "# HELP watchstand_leader_since_seconds Since when (Unix time) it "
	    "leads or follows.\n# TYPE watchstand_leader_since_seconds "
	    "gauge\nwatchstand_leader_since_seconds %lld\n",
	    lead_leading(l), lead_epoch(l), (long long)lead_since(l));
}
