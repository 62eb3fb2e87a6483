/* Agent actions across a collector pair, through the database (relay.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "watchstand/clock.h"
#include "watchstand/log.h"
#include "watchstand/proto.h"
#include "watchstand/xalloc.h"
#include "ingest/ingest.h"
#include "ingest/store.h"
#include "ingest/relay.h"

/* A request no collector claimed by then fails: nobody has the agent. */
#define RELAY_CLAIM_S 5
/* A claimed request whose result never came back through the table (the
 * agent moved here and answered directly) is forgotten after this. */
#define RELAY_FORGET_S 3600

/* A request the leader relayed, until its result is back: while there
 * are any, the leader looks for results (and expires the unclaimed). */
struct relay_req {
	struct relay_req *q_next;
	uint64_t q_request;
	char q_host[PROTO_NAME_MAX + 1];
	double q_at;
	int q_checking; /* the expiry's query is in flight */
	int q_claimed;  /* a collector took it: its result will come */
};

struct relay {
	struct store *r_store;
	struct ingest *r_ingest;
	char *r_holder;
	struct event *r_tick;
	int r_leading;
	struct relay_req *r_reqs;
	int r_claiming, r_claim_again;
	int r_collecting, r_collect_again;
};

/* An expiry's query: the request it asks about. */
struct relay_check {
	struct relay *c_r;
	uint64_t c_request;
};

static void relay_claim(struct relay *r);
static void relay_collect(struct relay *r);

/* The leader's ingest: an action for an agent that is not connected here. */
static int
relay_out(void *arg, const char *host, const struct proto_action *a,
          char *err, size_t errlen)
{
	struct relay *r = arg;
	struct relay_req *q;
	char request[24], run[24];
	const char *params[7] = {request, r->r_holder, host, a->a_name,
	                         run, a->a_step,
	                         a->a_flags & PROTO_ACTION_DRILL ? "t" : "f"};

	if (!store_up(r->r_store)) {
		snprintf(err, errlen,
		         "agent %s is not connected here, and the database is "
		         "down: it cannot be relayed",
		         host);
		return -1;
	}
	snprintf(request, sizeof(request), "%" PRIu64, a->a_request);
	snprintf(run, sizeof(run), "%" PRIu64, a->a_run);
	store_sql(r->r_store,
	          "WITH i AS (INSERT INTO watchstand.action_relay (request, "
	          "leader, host, action, run_id, step, drill) VALUES "
	          "($1::numeric, $2, $3, $4, $5::bigint, $6, $7::boolean) "
	          "RETURNING 1) SELECT pg_notify('watchstand_action', '') FROM i",
	          7, params);
	q = xcalloc(1, sizeof(*q));
	q->q_request = a->a_request;
	snprintf(q->q_host, sizeof(q->q_host), "%s", host);
	q->q_at = clock_mono_s();
	q->q_next = r->r_reqs;
	r->r_reqs = q;
	return 0;
}

static void
relay_forget(struct relay *r, uint64_t request)
{
	struct relay_req **pp, *q;

	for (pp = &r->r_reqs; (q = *pp) != NULL; pp = &q->q_next)
		if (q->q_request == request) {
			*pp = q->q_next;
			free(q);
			return;
		}
}

/* The follower's side: how the action it sent for the leader ended. */
static void
relay_write_result(struct relay *r, const struct action_result *res)
{
	char request[24], outcome[8], status[16], duration[16];
	const char *params[6] = {request, outcome, status, duration,
	                         res->ax_output ? res->ax_output : "",
	                         res->ax_reason ? res->ax_reason : ""};

	snprintf(request, sizeof(request), "%" PRIu64, res->ax_request);
	snprintf(outcome, sizeof(outcome), "%d", res->ax_outcome);
	snprintf(status, sizeof(status), "%" PRId32, res->ax_status);
	snprintf(duration, sizeof(duration), "%" PRIu32, res->ax_duration_ms);
	store_sql(r->r_store,
	          "WITH u AS (UPDATE watchstand.action_relay SET state = "
	          "'done', outcome = $2::smallint, status = $3::int, "
	          "duration_ms = $4::bigint, output = $5, reason = $6, done_at "
	          "= now() WHERE request = $1::numeric RETURNING 1) SELECT "
	          "pg_notify('watchstand_action_result', '') FROM u",
	          6, params);
}

static void
relay_sent_done(void *arg, const struct action_result *res)
{
	relay_write_result(arg, res);
}

/* Requests of the leader for agents connected here, claimed: sent. */
static void
relay_claimed(void *arg, PGresult *res)
{
	struct relay *r = arg;
	struct proto_action a;
	struct action_result fail;
	char err[256];
	int i;

	r->r_claiming = 0;
	for (i = 0; res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
	            i < PQntuples(res);
	     i++) {
		const char *host = PQgetvalue(res, i, 1);

		memset(&a, 0, sizeof(a));
		a.a_request = strtoull(PQgetvalue(res, i, 0), NULL, 10);
		snprintf(a.a_name, sizeof(a.a_name), "%s",
		         PQgetvalue(res, i, 2));
		a.a_run = strtoull(PQgetvalue(res, i, 3), NULL, 10);
		snprintf(a.a_step, sizeof(a.a_step), "%s",
		         PQgetvalue(res, i, 4));
		a.a_flags = strcmp(PQgetvalue(res, i, 5), "t") == 0
		                ? PROTO_ACTION_DRILL
		                : 0;
		log_info("relay: action %s for %s claimed for the leader "
		         "(request %" PRIu64 ")",
		         a.a_name, host, a.a_request);
		if (ingest_action_send(r->r_ingest, host, &a, relay_sent_done,
		                       r, err, sizeof(err)) == 0)
			continue;
		/* Gone between the claim and now: the leader hears why. */
		memset(&fail, 0, sizeof(fail));
		fail.ax_host = host;
		fail.ax_request = a.a_request;
		fail.ax_outcome = PROTO_OUT_ERROR;
		fail.ax_output = "";
		fail.ax_reason = err;
		relay_write_result(r, &fail);
	}
	if (r->r_claim_again) {
		r->r_claim_again = 0;
		relay_claim(r);
	}
}

static void
relay_claim(struct relay *r)
{
	char *hosts;
	const char *params[2];

	if (r->r_leading)
		return;
	if (r->r_claiming) {
		r->r_claim_again = 1;
		return;
	}
	hosts = ingest_connected_json(r->r_ingest);
	if (hosts == NULL || strcmp(hosts, "[]") == 0) {
		free(hosts);
		return;
	}
	params[0] = r->r_holder;
	params[1] = hosts;
	r->r_claiming = 1; /* before: the store may answer at once */
	/* Only the current leader's: a deposed one's requests are moot (its
	 * steps were failed by the new leader). */
	store_query(r->r_store,
	            "UPDATE watchstand.action_relay SET state = 'sent', "
	            "relayed_by = $1 WHERE state = 'new' AND host IN (SELECT "
	            "jsonb_array_elements_text($2::jsonb)) AND leader = "
	            "(SELECT holder FROM watchstand.leader) RETURNING request, "
	            "host, action, run_id, step, drill",
	            2, params, relay_claimed, r);
	free(hosts);
}

/* Results the other collector wrote back: to the waiting steps. */
static void
relay_collected(void *arg, PGresult *res)
{
	struct relay *r = arg;
	struct action_result ar;
	int i;

	r->r_collecting = 0;
	for (i = 0; res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
	            i < PQntuples(res);
	     i++) {
		memset(&ar, 0, sizeof(ar));
		ar.ax_request = strtoull(PQgetvalue(res, i, 0), NULL, 10);
		ar.ax_host = PQgetvalue(res, i, 1);
		ar.ax_outcome = atoi(PQgetvalue(res, i, 2));
		ar.ax_status = atoi(PQgetvalue(res, i, 3));
		ar.ax_duration_ms = strtoul(PQgetvalue(res, i, 4), NULL, 10);
		ar.ax_output = PQgetvalue(res, i, 5);
		ar.ax_reason = PQgetvalue(res, i, 6);
		relay_forget(r, ar.ax_request);
		ingest_action_resolve(r->r_ingest, &ar);
	}
	if (r->r_collect_again) {
		r->r_collect_again = 0;
		relay_collect(r);
	}
}

static void
relay_collect(struct relay *r)
{
	const char *params[1] = {r->r_holder};

	if (!r->r_leading)
		return;
	if (r->r_collecting) {
		r->r_collect_again = 1;
		return;
	}
	r->r_collecting = 1;
	store_query(r->r_store,
	            "DELETE FROM watchstand.action_relay WHERE leader = $1 AND "
	            "state = 'done' RETURNING request, host, outcome, status, "
	            "duration_ms, coalesce(output, ''), coalesce(reason, '')",
	            1, params, relay_collected, r);
}

/* A request nobody claimed in time: taken back (if still unclaimed) and
 * failed, so the step does not wait for ever and is never run late. */
static void
relay_expired(void *arg, PGresult *res)
{
	struct relay_check *ck = arg;
	struct relay *r = ck->c_r;
	struct relay_req *q;
	struct action_result ar;
	char reason[PROTO_REASON_MAX + 1];

	for (q = r->r_reqs; q != NULL; q = q->q_next)
		if (q->q_request == ck->c_request)
			break;
	if (q == NULL) {
		free(ck);
		return;
	}
	q->q_checking = 0;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		free(ck);
		return; /* asked again at the next tick */
	}
	if (PQntuples(res) == 0) {
		q->q_claimed = 1; /* its result comes back through the table */
		free(ck);
		return;
	}
	snprintf(reason, sizeof(reason),
	         "agent %s is not connected to any collector (nobody took the "
	         "request within %d s)",
	         q->q_host, RELAY_CLAIM_S);
	memset(&ar, 0, sizeof(ar));
	ar.ax_host = q->q_host;
	ar.ax_request = q->q_request;
	ar.ax_outcome = PROTO_OUT_ERROR;
	ar.ax_output = "";
	ar.ax_reason = reason;
	log_warnx("relay: request %" PRIu64 ": %s", q->q_request, reason);
	ingest_action_resolve(r->r_ingest, &ar);
	relay_forget(r, ck->c_request);
	free(ck);
}

static void
relay_expire(struct relay *r)
{
	struct relay_req *q, *next;
	struct relay_check *ck;
	char request[24];
	const char *params[1] = {request};
	double now = clock_mono_s();

	for (q = r->r_reqs; q != NULL; q = next) {
		next = q->q_next;
		if (q->q_claimed && now - q->q_at > RELAY_FORGET_S) {
			relay_forget(r, q->q_request);
			continue;
		}
		if (q->q_claimed || q->q_checking ||
		    now - q->q_at < RELAY_CLAIM_S)
			continue;
		ck = xcalloc(1, sizeof(*ck));
		ck->c_r = r;
		ck->c_request = q->q_request;
		q->q_checking = 1;
		snprintf(request, sizeof(request), "%" PRIu64, q->q_request);
		store_query(r->r_store,
		            "DELETE FROM watchstand.action_relay WHERE request "
		            "= $1::numeric AND state = 'new' RETURNING host",
		            1, params, relay_expired, ck);
	}
}

/* Every second: what a missed NOTIFY would have said. */
static void
relay_tick(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;

	(void)fd;
	(void)what;
	if (!store_up(r->r_store))
		return;
	if (r->r_leading) {
		/* Nothing relayed, nothing to look for: a single collector
		 * never asks. */
		if (r->r_reqs != NULL) {
			relay_collect(r);
			relay_expire(r);
		}
	} else
		relay_claim(r);
}

struct relay *
relay_new(struct event_base *base, struct store *st, struct ingest *in,
          const char *holder)
{
	struct relay *r = xcalloc(1, sizeof(*r));

	r->r_store = st;
	r->r_ingest = in;
	r->r_holder = xstrdup(holder);
	r->r_tick = event_new(base, -1, EV_PERSIST, relay_tick, r);
	event_add(r->r_tick, &(struct timeval){1, 0});
	return r;
}

void
relay_free(struct relay *r)
{
	struct relay_req *q;

	if (r == NULL)
		return;
	event_free(r->r_tick);
	while ((q = r->r_reqs) != NULL) {
		r->r_reqs = q->q_next;
		free(q);
	}
	free(r->r_holder);
	free(r);
}

void
relay_set_leading(struct relay *r, int leading)
{
	const char *params[1] = {r->r_holder};
	struct relay_req *q;

	r->r_leading = leading;
	ingest_set_relay(r->r_ingest, leading ? relay_out : NULL, r);
	while ((q = r->r_reqs) != NULL) {
		r->r_reqs = q->q_next;
		free(q);
	}
	/* Requests of an earlier leader nobody took: moot now. */
	if (leading)
		store_sql(r->r_store,
		          "DELETE FROM watchstand.action_relay WHERE leader <> $1 "
		          "AND state = 'new'",
		          1, params);
}

void
relay_notified(struct relay *r, const char *channel)
{
	if (strcmp(channel, "watchstand_action") == 0)
		relay_claim(r);
	else if (strcmp(channel, "watchstand_action_result") == 0)
		relay_collect(r);
}
