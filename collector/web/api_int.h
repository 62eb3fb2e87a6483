/*
 * Inside the web wing: what the API's files share. api.c keeps the
 * requests waiting for the database (api_send: 503 when the database is
 * down or does not take the request in time), routes.c the route table;
 * one file per resource holds its handlers (api_session.c, api_alarms.c,
 * api_hosts.c, api_log.c, api_status.c) and the ack pages (ackpage.c).
 */
#ifndef WATCHSTAND_API_INT_H
#define WATCHSTAND_API_INT_H

#include <stdint.h>
#include <time.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <uthash.h>

struct collector;
struct route_caps;
struct alarm_result;

#define API_SESSION_S (12 * 3600) /* a shift and then some */
#define API_BODY_MAX (64 * 1024)
/* A request not sent to the database by then answers 503 and is never
 * applied: the user's retry must not be the second copy. */
#define API_DB_DEADLINE_MS 800

/* A session, kept in memory for a synchronous check of every request and
 * in watchstand.sessions (hashed) so that it outlives a restart. */
struct api_session {
	UT_hash_handle hh;
	char s_hash[65]; /* SHA-256 of the token */
	char s_login[65];
	char s_csrf[65]; /* SHA-256 of the CSRF token */
	int s_role;
	time_t s_expires;
	int s_seen; /* by the last synchronisation with the database */
};

/* One API call, as its handler gets it. */
struct api_req {
	struct collector *ar_c;
	struct evhttp_request *ar_req;
	const struct api_session *ar_user; /* NULL on a public route */
	const struct route_caps *ar_caps;  /* {id}, {name} of the path */
	struct evkeyvalq ar_query;         /* ?a=b&c=d */
	json_t *ar_body;    /* the body as JSON; NULL when none or not JSON */
	size_t ar_body_len; /* 0: there was no body */
};

/* A request waiting for the database (or for the alarm wing). */
struct api_pending {
	struct api_pending *p_next;
	struct collector *p_c;
	struct evhttp_request *p_req; /* NULL once the client went away */
	/* A request evhttp left to us when its client went away (it is
	 * ours to free). */
	struct evhttp_request *p_orphan;
	struct evhttp_connection *p_evcon;
	void (*p_done)(struct api_pending *, PGresult *);
	struct api_session p_user;
	char p_login[65];
	char p_password[256];
	char p_text[1024];
	int p_shelving; /* shelve, not unshelve: for the 409's text */
	/* The alarm wing's result, while the client is there. */
	void (*p_adone)(struct api_pending *, const struct alarm_result *);
	/* api_query_for's reply */
	void (*p_fn)(struct evhttp_request *, PGresult *, const char *);
	/* Query parameters a bad value is named by: "since", ... */
	const char *p_pnames[4];
	char *p_pvalues[4];
};

/* api.c */
void api_error(struct evhttp_request *req, int code, const char *msg);
void api_db_unavailable(struct evhttp_request *req, struct collector *c);
struct api_pending *
api_pending_new(struct collector *c, struct evhttp_request *req,
                const struct api_session *user,
                void (*done)(struct api_pending *, PGresult *));
void api_pending_free(struct api_pending *p);
/* Sends sql for p; p_done gets the result while the client is there. */
void api_send(struct api_pending *p, const char *sql, int n,
              const char *const *params);
/* For a request waiting on something else than api_send: tracked while
 * it waits (p_req becomes NULL when the client goes away), then ended. */
/* The client of req closed: the request is NULL for its handler from now
 * on; when evhttp left it to us (detached), *orphan takes it, to be freed
 * with evhttp_request_free once nothing waits on it any more. */
void api_req_gone(struct evhttp_request **req, struct evhttp_request **orphan);
void api_pending_wait(struct api_pending *p);
void api_pending_end(struct api_pending *p);
/* A call into the alarm wing for p (p_adone set): rc is what the call
 * returned; api_alarm_result is its alarm_done_fn, with p as arg. Used as
 *	api_pending_wait(p);
 *	api_alarm_sent(p, alarm_ack(..., API_DB_DEADLINE_MS,
 *	                            api_alarm_result, p));
 */
void api_alarm_result(void *arg, const struct alarm_result *res);
void api_alarm_sent(struct api_pending *p, int rc);
void api_query(struct api_req *ar, const char *sql, int n,
               const char *const *params,
               void (*done)(struct api_pending *, PGresult *));
void api_name_params(struct api_pending *p, const char *const *names,
                     const char *const *values, int n);
void api_conn_closed(struct evhttp_connection *evcon, void *arg);
json_t *api_rows(PGresult *r);
void api_rows_done(struct api_pending *p, PGresult *r);
const char *api_minutes_reason(json_t *body, json_int_t max,
                               json_int_t *minutes, const char **reason,
                               char *err, size_t errlen);

/* Runs sql for a handler outside the API (the ack pages); fn gets the
 * result while the client is still there, with a copy of ctx. */
typedef void (*api_reply_fn)(struct evhttp_request *req, PGresult *r,
                             const char *ctx);
void api_query_for(struct collector *c, struct evhttp_request *req,
                   const char *sql, int n, const char *const *params,
                   api_reply_fn fn, const char *ctx);

/* api_session.c */
void api_session_init(struct collector *c);
void api_session_free(void);
/* The caller's session; NULL with *code 401 or 503 (sessions loading). */
const struct api_session *api_auth(struct evhttp_request *req, int *code);
/* After a 401 of api_auth: 1 when the token is being looked up in the
 * database (a session another collector made since the last sync); the
 * request is handled again once it is found, or answered 401. */
int api_session_lookup(struct collector *c, struct evhttp_request *req);
void api_login(struct api_req *ar);
void api_logout(struct api_req *ar);

/* api_forward.c: a follower hands leader-only writes to the leader. */
void api_forward_init(struct collector *c);
void api_forward_free(void);
/* 0 when this collector leads; else 1, req answered or forwarded. */
int api_forward(struct collector *c, struct evhttp_request *req);
/* The 503 naming the leader (NULL: unknown), with why. */
void api_forward_refuse(struct evhttp_request *req, const char *leader,
                        const char *why);
struct evbuffer;
void api_forward_metrics(struct evbuffer *out);

/* api_report.c */
void api_shift_report(struct api_req *ar);
void api_report(struct api_req *ar);
void api_alarm_get(struct api_req *ar);

/* api_log.c */
void api_log_init(struct collector *c);
void api_log_free(struct collector *c);
void api_log_closed(struct evhttp_connection *evcon);
void api_events(struct api_req *ar);
void api_log_get(struct api_req *ar);
void api_log_post(struct api_req *ar);
void api_log_clear(struct api_req *ar);

/* api_status.c */
void api_status(struct api_req *ar);
void api_reload(struct api_req *ar);
void api_agents(struct api_req *ar);
void api_series(struct api_req *ar);
void api_samples(struct api_req *ar);

/* api_alarms.c */
void api_alarms_get(struct api_req *ar);
void api_alarm_ack(struct api_req *ar);
void api_alarm_shelve(struct api_req *ar);
void api_alarm_unshelve(struct api_req *ar);

/* api_hosts.c */
void api_host_out_of_service(struct api_req *ar);
void api_host_in_service(struct api_req *ar);

/* api_checklists.c */
void api_checklists_get(struct api_req *ar);
void api_run_open(struct api_req *ar);
void api_runs_get(struct api_req *ar);
void api_run_get(struct api_req *ar);
void api_step_execute(struct api_req *ar);
void api_step_confirm(struct api_req *ar);
void api_step_skip(struct api_req *ar);

/* api_shifts.c */
void api_shift_current(struct api_req *ar);
void api_shifts_get(struct api_req *ar);
void api_shift_get(struct api_req *ar);
void api_roster_put(struct api_req *ar);
void api_roster_get(struct api_req *ar);
void api_roster_delete(struct api_req *ar);
void api_handover(struct api_req *ar);
void api_handover_accept(struct api_req *ar);

#endif
