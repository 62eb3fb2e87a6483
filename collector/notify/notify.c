/*
 * The notifier. Four stages, each a row before it is an action:
 *   route    an alarm matches a route: its escalation steps become
 *            notify_steps rows with a due time (the primary key makes a
 *            step happen once per alarm, across restarts too);
 *   step     when due, a step fires only if the alarm still wants it
 *            (decided in the same UPDATE that marks it fired) and makes
 *            one page per channel and recipient (notify_pages, keyed);
 *   outbox   pages wait per channel and recipient: the first goes at
 *            once, later ones within group_wait go as one message, and
 *            over the rate limit they are folded into a digest;
 *   message  sent through libcurl's multi interface on the event loop,
 *            every attempt recorded, transient failures retried with
 *            exponential backoff and jitter until the deadline.
 * After a restart waiting steps, unsent pages and pending messages are
 * read back and carry on.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <libpq-fe.h>
#include <openssl/rand.h>
#include <uthash.h>

#include "watchstand/curlev.h"
#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include "notify/acklink.h"
#include "notify/channel.h"
#include "events.h"
#include "alarm/rules.h"
#include "notify/notify.h"
#include "duty/shiftlog.h"
#include "ingest/store.h"

/* A waiting escalation step. */
struct step_job {
	struct step_job *sj_next;
	struct notifier *sj_n;
	struct event *sj_timer;
	int64_t sj_alarm;
	char *sj_route; /* by name: a reload may renumber the routes */
	int sj_step;
};

/* A message on its way: pages to one recipient on one channel. */
struct message {
	struct message *m_next;
	struct notifier *m_n;
	const struct notify_channel *m_ch;
	int64_t m_id;
	int m_attempts;
	int64_t m_deadline_ms;
	json_t *m_json; /* {recipient, phone, email, mentions, pages} */
	struct event *m_timer;
	CURL *m_easy;
	struct channel_request m_req;
};

/* Pages waiting to go to one recipient on one channel. */
struct outbox {
	UT_hash_handle hh;
	struct notifier *ob_n;
	const struct notify_channel *ob_ch;
	json_t *ob_held; /* pages */
	struct event *ob_timer;
	int64_t ob_last_ms;
	int64_t *ob_sent; /* ring of send times, for the rate limit */
	size_t ob_nsent;
	size_t ob_head;
	char ob_key[]; /* channel \1 recipient */
};

struct notifier {
	struct notifier_deps n_d; /* what it works with, all main's */
	const struct notify_conf *n_conf;
	struct curlev *n_curl;
	struct step_job *n_jobs;
	struct message *n_messages;
	struct outbox *n_outboxes;
	json_t *n_users; /* [{login, role, phone, email}] */
	struct event *n_users_timer;
	struct event *n_sweep_timer;
	uint64_t n_sent, n_failed, n_retried;
};

static int64_t
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static struct timeval
ms_tv(int64_t ms)
{
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return tv;
}

static int
result_ok(PGresult *r)
{
	return r != NULL && (PQresultStatus(r) == PGRES_TUPLES_OK ||
	                     PQresultStatus(r) == PGRES_COMMAND_OK);
}

static const struct notify_route *
route_by_name(const struct notify_conf *nc, const char *name, size_t *index)
{
	size_t i;

	for (i = 0; i < nc->nc_nroutes; i++)
		if (strcmp(nc->nc_routes[i].nr_name, name) == 0) {
			*index = i;
			return &nc->nc_routes[i];
		}
	return NULL;
}

/* Step k of a route; past the last, repeats of the last. */
static const struct notify_step *
route_step(const struct notify_route *r, int k)
{
	return &r->nr_steps[(size_t)k < r->nr_nsteps ? (size_t)k
	                                             : r->nr_nsteps - 1];
}

/* ---- users: who is reachable how, refreshed every minute ---- */

static void
users_loaded(void *arg, PGresult *r)
{
	struct notifier *n = arg;
	int i;

	if (!result_ok(r))
		return;
	json_decref(n->n_users);
	n->n_users = json_array();
	for (i = 0; i < PQntuples(r); i++)
		json_array_append_new(n->n_users,
		                      json_pack("{s:s, s:s, s:s, s:s}", "login",
		                                PQgetvalue(r, i, 0), "role",
		                                PQgetvalue(r, i, 1), "phone",
		                                PQgetvalue(r, i, 2), "email",
		                                PQgetvalue(r, i, 3)));
}

static void
users_refresh(evutil_socket_t fd, short what, void *arg)
{
	struct notifier *n = arg;

	(void)fd;
	(void)what;
	store_query(n->n_d.nd_store,
	            "SELECT login, role, coalesce(phone, ''), "
	            "coalesce(email, '') FROM watchstand.users ORDER BY login",
	            0, NULL, users_loaded, n);
}

/* Appends {recipient, phone, email} for each person `to` names. */
static void
recipients_resolve(json_t *users, char **to, json_t *out)
{
	json_t *u;
	size_t i;

	for (; to != NULL && *to != NULL; to++) {
		const char *t = *to;
		json_t *literal = notify_recipient_literal(t);
		int found = 0;

		if (literal != NULL) {
			json_array_append_new(out, literal);
			continue;
		}
		json_array_foreach(users, i, u)
		{
			const char *login =
			    json_string_value(json_object_get(u, "login"));
			const char *role =
			    json_string_value(json_object_get(u, "role"));
			if ((strncmp(t, "role:", 5) == 0 &&
			     strcmp(role, t + 5) == 0) ||
			    strcmp(login, t) == 0) {
				json_array_append_new(
				    out,
				    json_pack(
				        "{s:s, s:O, s:O}", "recipient", login,
				        "phone", json_object_get(u, "phone"),
				        "email", json_object_get(u, "email")));
				found = 1;
			}
		}
		if (!found) {
			log_warnx("notify: '%s' is no user and no role with "
			          "users; the page will fail",
			          t);
			json_array_append_new(
			    out, json_pack("{s:s, s:s, s:s}", "recipient", t,
			                   "phone", "", "email", ""));
		}
	}
}


/* `on-duty` and `lead` become the current shift's logins (asked now, so
 * a page near a boundary follows the roster at sending time); an empty
 * roster falls back to role:lead and says so, never paging nobody. */
static void
recipients_expand(struct notifier *n, char **to, json_t *out)
{
	json_t *logins = json_array(), *v;
	char **list, *lead_role[] = {"role:lead", NULL};
	size_t i, k = 0, cap = 0;

	for (list = to; list != NULL && *list != NULL; list++)
		cap++;
	list = xcalloc(cap + 1, sizeof(*list));
	for (; to != NULL && *to != NULL; to++) {
		int lead = strcmp(*to, "lead") == 0;
		if (!lead && strcmp(*to, "on-duty") != 0) {
			list[k++] = *to;
			continue;
		}
		json_array_clear(logins);
		if (n->n_d.nd_roster != NULL)
			n->n_d.nd_roster(n->n_d.nd_roster_arg, lead, logins);
		if (json_array_size(logins) == 0) {
			char msg[160];
			snprintf(msg, sizeof(msg),
			         "notify: nobody is rostered for '%s' now; "
			         "paging role:lead instead",
			         *to);
			log_warnx("%s", msg);
			shiftlog_add(n->n_d.nd_store, n->n_d.nd_events,
			             "notify", "collector", msg);
			recipients_resolve(n->n_users, lead_role, out);
			continue;
		}
		json_array_foreach(logins, i, v)
		{
			char *one[] = {(char *)json_string_value(v), NULL};
			if (one[0] != NULL)
				recipients_resolve(n->n_users, one, out);
		}
	}
	recipients_resolve(n->n_users, list, out);
	free(list);
	json_decref(logins);
}

/* ---- stage 4: messages ---- */

static void message_send(struct message *m);

/* A message's document: the recipient of its pages, and the pages
 * (taken). */
static json_t *
message_json(json_t *to, json_t *pages)
{
	json_t *mentions = json_object_get(to, "mentions");

	return json_pack("{s:O?, s:O?, s:O?, s:o, s:o}", "recipient",
	                 json_object_get(to, "recipient"), "phone",
	                 json_object_get(to, "phone"), "email",
	                 json_object_get(to, "email"), "mentions",
	                 mentions ? json_incref(mentions) : json_array(),
	                 "pages", pages);
}

static void
message_free(struct message *m)
{
	struct message **mp;

	for (mp = &m->m_n->n_messages; *mp != NULL; mp = &(*mp)->m_next)
		if (*mp == m) {
			*mp = m->m_next;
			break;
		}
	if (m->m_easy != NULL) {
		curlev_remove(m->m_n->n_curl, m->m_easy);
		curl_easy_cleanup(m->m_easy);
	}
	if (m->m_timer != NULL)
		event_free(m->m_timer);
	channel_request_free(&m->m_req);
	json_decref(m->m_json);
	free(m);
}

static void
message_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	message_send(arg);
}

static struct message *
message_new(struct notifier *n, const struct notify_channel *ch, int64_t id,
            json_t *json)
{
	struct message *m = xcalloc(1, sizeof(*m));

	m->m_n = n;
	m->m_ch = ch;
	m->m_id = id;
	m->m_json = json;
	m->m_timer = evtimer_new(n->n_d.nd_base, message_timer_cb, m);
	m->m_next = n->n_messages;
	n->n_messages = m;
	return m;
}

/* "PAGED"/"PAGE FAILED" entries name the alarms a message carried. */
static void
message_log(struct message *m, const char *what, const char *detail)
{
	json_t *pages = json_object_get(m->m_json, "pages"), *p;
	char text[1024], ids[256] = "";
	size_t i, off = 0;

	json_array_foreach(pages, i, p)
	{
		if (off < sizeof(ids))
			off += (size_t)snprintf(
			    ids + off, sizeof(ids) - off, "%s%lld",
			    i ? ", " : "",
			    (long long)json_integer_value(
			        json_object_get(p, "alarm_id")));
	}
	snprintf(text, sizeof(text),
	         "%s %s by %s (%zu page%s, attempt %d)%s%s "
	         "[alarm %s]",
	         what,
	         json_string_value(json_object_get(m->m_json, "recipient")),
	         m->m_ch->ch_name, json_array_size(pages),
	         json_array_size(pages) == 1 ? "" : "s", m->m_attempts,
	         detail ? ": " : "", detail ? detail : "", ids);
	shiftlog_add(m->m_n->n_d.nd_store, m->m_n->n_d.nd_events, "notify",
	             "system", text);
}

static void
message_record(struct message *m, const char *attempt_status,
               const char *status, const char *error, int64_t retry_ms)
{
	char id[32], attempt[16], delay[32];
	const char *params[6] = {id,    attempt, attempt_status,
	                         error, status,  delay};

	snprintf(id, sizeof(id), "%lld", (long long)m->m_id);
	snprintf(attempt, sizeof(attempt), "%d", m->m_attempts);
	snprintf(delay, sizeof(delay), "%lld", (long long)retry_ms);
	store_sql(m->m_n->n_d.nd_store,
	          "WITH a AS (INSERT INTO watchstand.notify_attempts "
	          "(message_id, attempt, status, error) VALUES ($1::bigint, "
	          "$2::int, $3, $4)) UPDATE watchstand.notify_messages SET "
	          "attempts = $2::int, status = $5, next_at = now() + "
	          "$6::bigint * interval '1 millisecond', sent_at = CASE WHEN "
	          "$5 = 'sent' THEN now() END, last_error = $4 WHERE id = "
	          "$1::bigint",
	          6, params);
}

/* The outcome of one attempt. */
static void
message_outcome(struct message *m, enum channel_verdict v, const char *err)
{
	struct notifier *n = m->m_n;
	const char *who =
	    json_string_value(json_object_get(m->m_json, "recipient"));
	int64_t delay, now = now_ms();
	uint32_t jitter;

	if (v == CV_SENT) {
		n->n_sent++;
		message_record(m, "sent", "sent", NULL, 0);
		log_info("notify: message %lld to %s by %s delivered (attempt "
		         "%d)",
		         (long long)m->m_id, who, m->m_ch->ch_name,
		         m->m_attempts);
		message_log(m, "PAGED", NULL);
		message_free(m);
		return;
	}
	/* Exponential backoff, "full jitter" in its upper half. */
	delay = (int64_t)n->n_conf->nc_retry_first_ms;
	for (int i = 1; i < m->m_attempts && delay < INT64_MAX / 4; i++)
		delay *= 2;
	if (delay > (int64_t)n->n_conf->nc_retry_max_ms)
		delay = (int64_t)n->n_conf->nc_retry_max_ms;
	RAND_bytes((unsigned char *)&jitter, sizeof(jitter));
	delay = delay / 2 + (int64_t)(jitter % (uint32_t)(delay / 2 + 1));
	if (v == CV_RETRY && now + delay < m->m_deadline_ms) {
		n->n_retried++;
		message_record(m, "retry", "pending", err, delay);
		log_warnx("notify: message %lld to %s by %s: %s; retry in "
		          "%lld ms",
		          (long long)m->m_id, who, m->m_ch->ch_name, err,
		          (long long)delay);
		struct timeval tv = ms_tv(delay);
		evtimer_add(m->m_timer, &tv);
		return;
	}
	n->n_failed++;
	message_record(m, "failed", "failed", err, 0);
	log_warnx("notify: message %lld to %s by %s failed for good: %s",
	          (long long)m->m_id, who, m->m_ch->ch_name, err);
	message_log(m, "PAGE FAILED to", err);
	message_free(m);
}

static void
message_done(void *arg, CURL *easy, CURLcode rc)
{
	struct message *m = arg;
	char err[512] = "";
	long code = 0;
	enum channel_verdict v;

	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	v = channel_judge(m->m_ch, rc, code, &m->m_req, err, sizeof(err));
	curl_easy_cleanup(easy);
	m->m_easy = NULL;
	channel_request_free(&m->m_req);
	message_outcome(m, v, err);
}

/* Fills each page's ack_url: a link only that recipient's message has. */
static void
message_links(struct message *m)
{
	const struct notifier_deps *d = &m->m_n->n_d;
	json_t *pages = json_object_get(m->m_json, "pages"), *p;
	const char *who =
	    json_string_value(json_object_get(m->m_json, "recipient"));
	time_t expires =
	    time(NULL) + (time_t)(m->m_n->n_conf->nc_ack_ttl_ms / 1000);
	size_t i;

	json_array_foreach(pages, i, p)
	{
		const char *kind =
		    json_string_value(json_object_get(p, "kind"));
		char *url;
		if (d->nd_public_url == NULL || d->nd_ack_keylen == 0 ||
		    kind == NULL || strcmp(kind, "clear") == 0) {
			json_object_set_new(p, "ack_url", json_string(""));
			continue;
		}
		url = acklink_url(
		    d->nd_public_url, d->nd_ack_key, d->nd_ack_keylen,
		    json_integer_value(json_object_get(p, "alarm_id")), who,
		    expires);
		json_object_set_new(p, "ack_url", json_string(url));
		free(url);
	}
}

static void
message_send(struct message *m)
{
	char id[32];

	m->m_attempts++;
	snprintf(id, sizeof(id), "ws-%lld-%d", (long long)m->m_id,
	         m->m_attempts);
	message_links(m);
	channel_request_free(&m->m_req);
	if (channel_render(m->m_ch, m->m_json, time(NULL), id, &m->m_req) ==
	    -1) {
		char err[256];
		snprintf(err, sizeof(err), "%s", m->m_req.cr_error);
		message_outcome(m, CV_FAILED, err);
		return;
	}
	m->m_easy = curl_easy_init();
	channel_easy_setup(m->m_ch, m->m_easy, &m->m_req);
	if (curlev_add(m->m_n->n_curl, m->m_easy, message_done, m) == -1) {
		curl_easy_cleanup(m->m_easy);
		m->m_easy = NULL;
		message_outcome(m, CV_RETRY, "libcurl refused the transfer");
	}
}

/* ---- stage 3: outboxes ---- */

struct message_ctx {
	struct notifier *mc_n;
	char *mc_channel; /* by name: a reload may come before the answer */
	json_t *mc_json;
};

static void
message_created(void *arg, PGresult *r)
{
	struct message_ctx *mc = arg;
	const struct notify_channel *ch =
	    notify_channel_find(mc->mc_n->n_conf, mc->mc_channel);
	struct message *m;

	if (result_ok(r) && PQntuples(r) == 1 && ch == NULL) {
		const char *params[2] = {PQgetvalue(r, 0, 0),
		                         "the channel was removed by a config "
		                         "reload"};
		log_warnx("notify: message %s by %s: %s", params[0],
		          mc->mc_channel, params[1]);
		store_sql(mc->mc_n->n_d.nd_store,
		          "UPDATE watchstand.notify_messages SET status = "
		          "'failed', last_error = $2 WHERE id = $1::bigint",
		          2, params);
		json_decref(mc->mc_json);
		free(mc->mc_channel);
		free(mc);
		return;
	}
	if (!result_ok(r) || PQntuples(r) != 1) {
		/* Pages stay unsent in the table; a restart sends them. */
		log_warnx("notify: a message to %s could not be recorded: %s",
		          json_string_value(
		              json_object_get(mc->mc_json, "recipient")),
		          r ? PQresultErrorMessage(r) : "database away");
		json_decref(mc->mc_json);
		free(mc->mc_channel);
		free(mc);
		return;
	}
	m = message_new(mc->mc_n, ch, atoll(PQgetvalue(r, 0, 0)), mc->mc_json);
	m->m_deadline_ms =
	    now_ms() + (int64_t)mc->mc_n->n_conf->nc_retry_deadline_ms;
	free(mc->mc_channel);
	free(mc);
	message_send(m);
}

static int
page_severity(json_t *p)
{
	return severity_parse(json_string_value(json_object_get(p, "severity"))
	                          ?: "info");
}

static int
page_cmp(const void *a, const void *b)
{
	json_t *pa = *(json_t *const *)a, *pb = *(json_t *const *)b;

	return page_severity(pb) - page_severity(pa);
}

/* The held pages become one message, most severe first. */
static void
outbox_flush(struct outbox *ob)
{
	struct notifier *n = ob->ob_n;
	size_t count = json_array_size(ob->ob_held), i;
	json_t **sorted, *pages, *keys, *first, *to;
	struct message_ctx *mc;
	char deadline[32], *keys_s;
	const char *params[4];

	if (count == 0)
		return;
	sorted = xcalloc(count, sizeof(*sorted));
	for (i = 0; i < count; i++)
		sorted[i] = json_array_get(ob->ob_held, i);
	qsort(sorted, count, sizeof(*sorted), page_cmp);
	pages = json_array();
	keys = json_array();
	for (i = 0; i < count; i++) {
		json_array_append(pages, sorted[i]);
		json_array_append(keys, json_object_get(sorted[i], "key"));
	}
	free(sorted);
	first = json_array_get(pages, 0);
	to = json_object_get(first, "to");
	mc = xcalloc(1, sizeof(*mc));
	mc->mc_n = n;
	mc->mc_channel = xstrdup(ob->ob_ch->ch_name);
	mc->mc_json = message_json(to, pages);
	json_array_clear(ob->ob_held);
	ob->ob_last_ms = now_ms();
	if (ob->ob_ch->ch_rate_count > 0) {
		ob->ob_sent[ob->ob_head] = ob->ob_last_ms;
		ob->ob_head = (ob->ob_head + 1) % ob->ob_ch->ch_rate_count;
		if (ob->ob_nsent < ob->ob_ch->ch_rate_count)
			ob->ob_nsent++;
	}
	snprintf(deadline, sizeof(deadline), "%llu",
	         (unsigned long long)n->n_conf->nc_retry_deadline_ms);
	keys_s = json_dumps(keys, JSON_COMPACT);
	json_decref(keys);
	params[0] = ob->ob_ch->ch_name;
	params[1] = json_string_value(json_object_get(to, "recipient"));
	params[2] = deadline;
	params[3] = keys_s;
	store_query(n->n_d.nd_store,
	            "WITH m AS (INSERT INTO watchstand.notify_messages "
	            "(channel, recipient, deadline) VALUES ($1, $2, now() + "
	            "$3::bigint * interval '1 millisecond') RETURNING id), p "
	            "AS (UPDATE watchstand.notify_pages SET message_id = "
	            "(SELECT id FROM m) WHERE key IN (SELECT "
	            "json_array_elements_text($4::json))) SELECT id FROM m",
	            4, params, message_created, mc);
	free(keys_s);
}

static void
outbox_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	outbox_flush(arg);
}

/* When the held pages may go: after the group window of the last
 * message, and when the rate limit has room again. */
static int64_t
outbox_due(const struct outbox *ob, int64_t now)
{
	const struct notify_channel *ch = ob->ob_ch;
	int64_t due = now;

	if (ob->ob_last_ms > 0 &&
	    ob->ob_last_ms + (int64_t)ch->ch_group_wait_ms > now)
		due = ob->ob_last_ms + (int64_t)ch->ch_group_wait_ms;
	if (ch->ch_rate_count > 0 && ob->ob_nsent == ch->ch_rate_count) {
		/* The ring is full: its oldest entry is at the head. */
		int64_t oldest = ob->ob_sent[ob->ob_head];
		if (oldest + (int64_t)ch->ch_rate_per_ms > due)
			due = oldest + (int64_t)ch->ch_rate_per_ms;
	}
	return due;
}

static void
outbox_add(struct notifier *n, const struct notify_channel *ch, json_t *page)
{
	const char *who = json_string_value(
	    json_object_get(json_object_get(page, "to"), "recipient"));
	char key[512];
	struct outbox *ob;
	size_t len;
	int64_t now = now_ms(), due;
	struct timeval tv;
	json_t *held;
	size_t i;

	len = (size_t)snprintf(key, sizeof(key), "%s\1%s", ch->ch_name,
	                       who ? who : "");
	if (len >= sizeof(key))
		len = sizeof(key) - 1;
	HASH_FIND(hh, n->n_outboxes, key, len, ob);
	if (ob == NULL) {
		ob = xcalloc(1, sizeof(*ob) + len + 1);
		memcpy(ob->ob_key, key, len);
		ob->ob_n = n;
		ob->ob_ch = ch;
		ob->ob_held = json_array();
		ob->ob_timer = evtimer_new(n->n_d.nd_base, outbox_timer_cb, ob);
		if (ch->ch_rate_count > 0)
			ob->ob_sent =
			    xcalloc(ch->ch_rate_count, sizeof(*ob->ob_sent));
		HASH_ADD(hh, n->n_outboxes, ob_key[0], len, ob);
	}
	json_array_foreach(ob->ob_held, i, held)
	{
		if (json_equal(json_object_get(held, "key"),
		               json_object_get(page, "key")))
			return; /* held already (found again by the sweep) */
	}
	json_array_append(ob->ob_held, page);
	if (evtimer_pending(ob->ob_timer, NULL))
		return;
	/* Even when it may go now, it goes on the next turn of the loop, so
	 * pages that arrive together leave together. */
	due = outbox_due(ob, now);
	if (due - now > (int64_t)ch->ch_group_wait_ms)
		log_info("notify: %s by %s is over its rate limit; pages are "
		         "held for a digest",
		         who, ch->ch_name);
	tv = ms_tv(due - now);
	evtimer_add(ob->ob_timer, &tv);
}

/* Pages written (or found unsent after a restart) go to their outboxes. */
static void
pages_queued(void *arg, PGresult *r)
{
	struct notifier *n = arg;
	int i;

	if (!result_ok(r))
		return;
	for (i = 0; i < PQntuples(r); i++) {
		const struct notify_channel *ch =
		    notify_channel_find(n->n_conf, PQgetvalue(r, i, 0));
		json_t *page = json_loads(PQgetvalue(r, i, 1), 0, NULL);

		if (ch == NULL || page == NULL) {
			log_warnx("notify: a page for channel '%s' is left "
			          "unsent: %s",
			          PQgetvalue(r, i, 0),
			          ch == NULL
			              ? "the channel is no longer configured"
			              : "its stored form is unreadable");
			json_decref(page);
			continue;
		}
		outbox_add(n, ch, page);
		json_decref(page);
	}
}

/* Writes pages (ON CONFLICT: one page per key, ever) and queues the new
 * ones. */
static void
pages_write(struct notifier *n, json_t *pages)
{
	char *s;
	const char *params[1];

	if (json_array_size(pages) == 0) {
		json_decref(pages);
		return;
	}
	s = json_dumps(pages, JSON_COMPACT);
	json_decref(pages);
	params[0] = s;
	store_query(n->n_d.nd_store,
	            "INSERT INTO watchstand.notify_pages (key, alarm_id, "
	            "channel, recipient, kind, info) SELECT x->>'key', "
	            "(x->>'alarm_id')::bigint, x->>'channel', "
	            "x->'to'->>'recipient', x->>'kind', x FROM "
	            "jsonb_array_elements($1::jsonb) x ON CONFLICT (key) DO "
	            "NOTHING RETURNING channel, info::text",
	            1, params, pages_queued, n);
	free(s);
}

/* ---- stage 2: steps ---- */

static void step_schedule(struct notifier *n, int64_t alarm, size_t route,
                          int step, int64_t due_ms, int rearm);

struct step_ctx {
	struct notifier *sc_n;
	int64_t sc_alarm;
	char *sc_route; /* by name: a reload may come before the answer */
	int sc_step;
};

static void
step_ctx_free(struct step_ctx *sc)
{
	free(sc->sc_route);
	free(sc);
}

/* Chat rooms get one message per step; people get their own. */
static int
channel_is_room(const struct notify_channel *ch, char **to)
{
	switch (ch->ch_type) {
	case CH_WECOM:
	case CH_DINGTALK:
	case CH_FEISHU:
	case CH_SLACK:
		return 1;
	case CH_WEBHOOK:
		return to == NULL || *to == NULL;
	default:
		return 0;
	}
}

/* The alarm as a page carries it: columns of step_fire's query. */
static json_t *
page_info(PGresult *r, const char *kind, const char *phase)
{
	char summary[1024];
	const char *desc = PQgetvalue(r, 0, 9);

	snprintf(summary, sizeof(summary), "%s on %s: %s = %s%s%s",
	         PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 4),
	         PQgetvalue(r, 0, 6), *desc ? " -- " : "", desc);
	return json_pack(
	    "{s:I, s:s, s:s, s:s, s:s, s:s, s:f, s:s, s:s, s:s, s:s, s:s, "
	    "s:s, s:s}",
	    "alarm_id", (json_int_t)atoll(PQgetvalue(r, 0, 11)), "rule",
	    PQgetvalue(r, 0, 1), "host", PQgetvalue(r, 0, 2), "role",
	    PQgetvalue(r, 0, 3), "series", PQgetvalue(r, 0, 4), "severity",
	    PQgetvalue(r, 0, 5), "value", atof(PQgetvalue(r, 0, 6)), "state",
	    PQgetvalue(r, 0, 7), "time", PQgetvalue(r, 0, 8), "runbook",
	    PQgetvalue(r, 0, 10), "summary", summary, "kind", kind, "phase",
	    phase ? phase : "", "last_note",
	    PQnfields(r) > 12 ? PQgetvalue(r, 0, 12) : "");
}

/* One page per channel of the step and per person it names. */
static void
step_pages(struct notifier *n, const struct notify_route *rt, int k,
           json_t *info, json_t *out)
{
	const struct notify_step *s = route_step(rt, k);
	char **ch_name;
	size_t i;

	for (ch_name = s->ns_channels; ch_name && *ch_name; ch_name++) {
		const struct notify_channel *ch =
		    notify_channel_find(n->n_conf, *ch_name);
		char **to = s->ns_to && *s->ns_to ? s->ns_to : ch->ch_to;
		json_t *people = json_array(), *p, *targets;

		recipients_expand(n, to, people);
		if (channel_is_room(ch, to)) {
			json_t *phones = json_array();
			json_array_foreach(people, i, p)
			{
				const char *ph = json_string_value(
				    json_object_get(p, "phone"));
				if (ph && *ph)
					json_array_append(
					    phones,
					    json_object_get(p, "phone"));
			}
			targets = json_pack(
			    "[{s:s, s:s, s:s, s:o}]", "recipient", ch->ch_name,
			    "phone", "", "email", "", "mentions", phones);
			json_decref(people);
		} else
			targets = people;
		json_array_foreach(targets, i, p)
		{
			json_t *page = json_deep_copy(info);
			char key[600];
			snprintf(
			    key, sizeof(key), "%lld/%s/%d/%s/%s",
			    (long long)json_integer_value(
			        json_object_get(info, "alarm_id")),
			    rt->nr_name, k, ch->ch_name,
			    json_string_value(json_object_get(p, "recipient")));
			json_object_set_new(page, "key", json_string(key));
			json_object_set_new(page, "channel",
			                    json_string(ch->ch_name));
			json_object_set_new(page, "route",
			                    json_string(rt->nr_name));
			json_object_set_new(page, "step", json_integer(k));
			json_object_set(page, "to", p);
			json_array_append_new(out, page);
		}
		json_decref(targets);
	}
}

static void
step_fired(void *arg, PGresult *r)
{
	struct step_ctx *sc = arg;
	struct notifier *n = sc->sc_n;
	size_t route = 0;
	const struct notify_route *rt =
	    route_by_name(n->n_conf, sc->sc_route, &route);
	json_t *info, *pages;
	int k = sc->sc_step;

	if (!result_ok(r) || PQntuples(r) != 1) {
		/* Fired already (a restart in between) or no such alarm. */
		step_ctx_free(sc);
		return;
	}
	if (rt == NULL) {
		log_warnx("notify: step %d of route '%s' for alarm %lld: the "
		          "route was removed by a reload; no pages",
		          k, sc->sc_route, (long long)sc->sc_alarm);
		step_ctx_free(sc);
		return;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "fired") != 0) {
		log_debug("notify: step %d of %s for alarm %lld not taken: "
		          "the alarm is %s",
		          k, rt->nr_name, (long long)sc->sc_alarm,
		          PQgetvalue(r, 0, 7));
		step_ctx_free(sc);
		return;
	}
	info = page_info(r, (size_t)k < rt->nr_nsteps ? "page" : "repeat",
	                 *n->n_d.nd_phase);
	pages = json_array();
	step_pages(n, rt, k, info, pages);
	json_decref(info);
	pages_write(n, pages);
	/* After the last step, the repeats while nobody acknowledges. */
	if (rt->nr_repeat_ms > 0 && (size_t)k + 1 >= rt->nr_nsteps)
		step_schedule(n, sc->sc_alarm, route, k + 1,
		              now_ms() + (int64_t)rt->nr_repeat_ms, 0);
	step_ctx_free(sc);
}

static void
step_fire(struct notifier *n, int64_t alarm, const char *name, int k)
{
	size_t route;
	const struct notify_route *rt = route_by_name(n->n_conf, name, &route);
	struct step_ctx *sc;
	char id[32], step[16];
	const char *params[4] = {id, name, step, "f"};

	snprintf(id, sizeof(id), "%lld", (long long)alarm);
	snprintf(step, sizeof(step), "%d", k);
	if (rt == NULL) {
		/* Removed by a reload: the step will never be taken. */
		log_warnx("notify: route '%s' of a waiting step (alarm %lld) "
		          "is no longer configured; step cancelled",
		          name, (long long)alarm);
		store_sql(n->n_d.nd_store,
		          "UPDATE watchstand.notify_steps SET state = "
		          "'cancelled' WHERE alarm_id = $1::bigint AND route = "
		          "$2 AND step = $3::int AND state = 'waiting'",
		          3, params);
		return;
	}
	params[3] = route_step(rt, k)->ns_unacked ? "t" : "f";
	sc = xcalloc(1, sizeof(*sc));
	sc->sc_n = n;
	sc->sc_alarm = alarm;
	sc->sc_route = xstrdup(name);
	sc->sc_step = k;
	/* The alarm decides in the same statement that marks the step:
	 * acknowledged, shelved, suppressed or closed alarms page nobody. */
	store_query(
	    n->n_d.nd_store,
	    "WITH s AS (UPDATE watchstand.notify_steps s SET state = CASE "
	    "WHEN a.state = 'active-unacknowledged' OR (NOT $4::bool AND "
	    "a.state = 'active-acknowledged') THEN 'fired' ELSE 'cancelled' "
	    "END, fired_at = now() FROM watchstand.alarms a WHERE s.alarm_id "
	    "= $1::bigint AND s.route = $2 AND s.step = $3::int AND s.state "
	    "= 'waiting' AND a.id = s.alarm_id RETURNING s.state AS "
	    "step_state, a.*) SELECT s.step_state, s.rule, s.host, "
	    "coalesce(g.role, ''), s.series, s.severity, coalesce(s.value, "
	    "0), s.state, to_char(s.raised_at AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), coalesce(s.description, ''), "
	    "coalesce(s.runbook, ''), s.id, coalesce((SELECT (SELECT CASE "
	    "WHEN l.kind = 'note' THEN l.text ELSE substring(l.text FROM ' -- "
	    "(.*) \\[alarm [0-9]+, now [^]]*\\]$') END FROM "
	    "watchstand.shift_log l WHERE (l.kind = 'note' AND l.ts >= "
	    "p.raised_at AND l.ts <= coalesce(p.cleared_at, p.closed_at, "
	    "now())) OR (l.kind = 'alarm' AND l.text LIKE 'ACK % -- %[alarm ' "
	    "|| p.id || ', now %') ORDER BY l.id DESC LIMIT 1) FROM "
	    "watchstand.alarms p WHERE p.rule = s.rule AND p.host = s.host AND "
	    "p.id <> s.id AND p.raised_at <= s.raised_at ORDER BY p.raised_at "
	    "DESC, p.id DESC LIMIT 1), '') FROM s LEFT JOIN "
	    "watchstand.agents g ON g.name = s.host",
	    4, params, step_fired, sc);
}

static void
step_job_cb(evutil_socket_t fd, short what, void *arg)
{
	struct step_job *j = arg, **jp;
	struct notifier *n = j->sj_n;

	(void)fd;
	(void)what;
	for (jp = &n->n_jobs; *jp != NULL; jp = &(*jp)->sj_next)
		if (*jp == j) {
			*jp = j->sj_next;
			break;
		}
	step_fire(n, j->sj_alarm, j->sj_route, j->sj_step);
	event_free(j->sj_timer);
	free(j->sj_route);
	free(j);
}

static void
step_job_add(struct notifier *n, int64_t alarm, const char *route, int step,
             int64_t due_ms)
{
	struct step_job *j;
	struct timeval tv = ms_tv(due_ms - now_ms());

	for (j = n->n_jobs; j != NULL; j = j->sj_next)
		if (j->sj_alarm == alarm && strcmp(j->sj_route, route) == 0 &&
		    j->sj_step == step)
			return; /* the sweep found one we wait for already */
	j = xcalloc(1, sizeof(*j));
	j->sj_n = n;
	j->sj_alarm = alarm;
	j->sj_route = xstrdup(route);
	j->sj_step = step;
	j->sj_timer = evtimer_new(n->n_d.nd_base, step_job_cb, j);
	j->sj_next = n->n_jobs;
	n->n_jobs = j;
	evtimer_add(j->sj_timer, &tv);
}

/* Steps written now (RETURNING only the new ones) get their timers. */
static void
steps_written(void *arg, PGresult *r)
{
	struct notifier *n = arg;
	size_t route;
	int i;

	if (!result_ok(r))
		return;
	for (i = 0; i < PQntuples(r); i++) {
		if (route_by_name(n->n_conf, PQgetvalue(r, i, 1), &route) ==
		    NULL) {
			log_warnx("notify: route '%s' of a waiting step is no "
			          "longer configured; step dropped",
			          PQgetvalue(r, i, 1));
			continue;
		}
		step_job_add(n, atoll(PQgetvalue(r, i, 0)),
		             n->n_conf->nc_routes[route].nr_name,
		             atoi(PQgetvalue(r, i, 2)),
		             atoll(PQgetvalue(r, i, 3)));
	}
}

/* A step's row and timer; a step taken already is never taken again.
 * rearm: a step cancelled (the alarm was shelved) waits again. */
static void
step_schedule(struct notifier *n, int64_t alarm, size_t route, int step,
              int64_t due_ms, int rearm)
{
	const struct notify_route *rt = &n->n_conf->nc_routes[route];
	char id[32], s[16], due[32];
	const char *params[5] = {id, rt->nr_name, s, due, rearm ? "t" : "f"};

	snprintf(id, sizeof(id), "%lld", (long long)alarm);
	snprintf(s, sizeof(s), "%d", step);
	snprintf(due, sizeof(due), "%lld", (long long)due_ms);
	store_query(
	    n->n_d.nd_store,
	    "INSERT INTO watchstand.notify_steps AS s (alarm_id, route, "
	    "step, due_at) VALUES ($1::bigint, $2, $3::int, "
	    "to_timestamp($4::bigint / 1000.0)) ON CONFLICT (alarm_id, "
	    "route, step) DO UPDATE SET state = 'waiting', due_at = "
	    "EXCLUDED.due_at, fired_at = NULL WHERE $5::bool AND "
	    "s.state = 'cancelled' RETURNING alarm_id, route, step, "
	    "$4::bigint",
	    5, params, steps_written, n);
}

/* ---- stage 1: routes ---- */

void
notify_alarm(struct notifier *n, const struct notify_alarm *a)
{
	const struct notify_conf *nc;
	int64_t now = now_ms();
	size_t i, k;

	if (n == NULL)
		return;
	nc = n->n_conf;
	for (i = 0; i < nc->nc_nroutes; i++) {
		const struct notify_route *rt = &nc->nc_routes[i];
		if (!notify_route_matches(rt, a->na_severity, *n->n_d.nd_phase,
		                          a->na_role, a->na_host, a->na_rule))
			continue;
		for (k = 0; k < rt->nr_nsteps; k++)
			step_schedule(n, a->na_id, i, (int)k,
			              now +
			                  (int64_t)rt->nr_steps[k].ns_after_ms,
			              a->na_rearm);
		if (!rt->nr_continue)
			break;
	}
}

static void
alarm_returned(void *arg, PGresult *r)
{
	struct notifier *n = arg;
	int i;

	for (i = 0; result_ok(r) && i < PQntuples(r); i++) {
		struct notify_alarm na = {
		    .na_id = atoll(PQgetvalue(r, i, 0)),
		    .na_rule = PQgetvalue(r, i, 1),
		    .na_host = PQgetvalue(r, i, 2),
		    .na_role = PQgetvalue(r, i, 3),
		    .na_severity = severity_parse(PQgetvalue(r, i, 4)),
		    .na_rearm = 1,
		};
		if (strcmp(PQgetvalue(r, i, 5), "active-unacknowledged") == 0)
			notify_alarm(n, &na);
	}
}

void
notify_alarm_returned(struct notifier *n, int64_t alarm_id)
{
	char id[32];
	const char *params[1] = {id};

	if (n == NULL)
		return;
	snprintf(id, sizeof(id), "%lld", (long long)alarm_id);
	store_query(n->n_d.nd_store,
	            "SELECT a.id, a.rule, a.host, coalesce(g.role, ''), "
	            "a.severity, a.state FROM watchstand.alarms a "
	            "LEFT JOIN watchstand.agents g ON g.name = a.host WHERE "
	            "a.id = $1::bigint",
	            1, params, alarm_returned, n);
}

struct clear_ctx {
	struct notifier *cc_n;
	double cc_value;
};

static void
clear_pages(void *arg, PGresult *r)
{
	struct clear_ctx *cc = arg;
	struct notifier *n = cc->cc_n;
	json_t *pages = json_array();
	size_t route;
	int i;

	for (i = 0; result_ok(r) && i < PQntuples(r); i++) {
		json_t *page = json_loads(PQgetvalue(r, i, 0), 0, NULL);
		const char *rname =
		    json_string_value(json_object_get(page, "route"));
		const struct notify_route *rt =
		    rname ? route_by_name(n->n_conf, rname, &route) : NULL;
		char key[700], summary[512];

		if (page == NULL || rt == NULL || !rt->nr_send_clear) {
			json_decref(page);
			continue;
		}
		snprintf(key, sizeof(key), "%lld/%s/clear/%s/%s",
		         (long long)json_integer_value(
		             json_object_get(page, "alarm_id")),
		         rname,
		         json_string_value(json_object_get(page, "channel")),
		         json_string_value(json_object_get(
		             json_object_get(page, "to"), "recipient")));
		json_object_set_new(page, "key", json_string(key));
		json_object_set_new(page, "kind", json_string("clear"));
		json_object_set_new(page, "state", json_string("cleared"));
		/* As page_info words it, with the value it cleared at. */
		snprintf(summary, sizeof(summary), "%s on %s: %s = %g",
		         json_string_value(json_object_get(page, "rule")),
		         json_string_value(json_object_get(page, "host")),
		         json_string_value(json_object_get(page, "series")),
		         cc->cc_value);
		json_object_set_new(page, "summary", json_string(summary));
		json_object_set_new(page, "value", json_real(cc->cc_value));
		json_array_append_new(pages, page);
	}
	pages_write(n, pages);
	free(cc);
}

void
notify_alarm_cleared(struct notifier *n, int64_t alarm_id, double value)
{
	struct clear_ctx *cc;
	char id[32];
	const char *params[1] = {id};
	size_t i;
	int any = 0;

	if (n == NULL)
		return;
	for (i = 0; i < n->n_conf->nc_nroutes; i++)
		any |= n->n_conf->nc_routes[i].nr_send_clear;
	if (!any)
		return;
	cc = xcalloc(1, sizeof(*cc));
	cc->cc_n = n;
	cc->cc_value = value;
	snprintf(id, sizeof(id), "%lld", (long long)alarm_id);
	/* Whoever got a page about it hears that it is over. */
	store_query(n->n_d.nd_store,
	            "SELECT DISTINCT ON (channel, recipient) info::text FROM "
	            "watchstand.notify_pages WHERE alarm_id = $1::bigint AND "
	            "kind IN ('page', 'repeat') ORDER BY channel, recipient",
	            1, params, clear_pages, cc);
}

/* ---- after a restart ---- */

static void
pending_loaded(void *arg, PGresult *r)
{
	struct notifier *n = arg;
	int i;

	if (!result_ok(r))
		return;
	for (i = 0; i < PQntuples(r); i++) {
		const struct notify_channel *ch =
		    notify_channel_find(n->n_conf, PQgetvalue(r, i, 1));
		json_t *pages = json_loads(PQgetvalue(r, i, 5), 0, NULL);
		json_t *to = json_object_get(json_array_get(pages, 0), "to");
		struct message *m;
		struct timeval tv;

		for (m = n->n_messages; m != NULL; m = m->m_next)
			if (m->m_id == atoll(PQgetvalue(r, i, 0)))
				break;
		if (m != NULL) { /* on its way already */
			json_decref(pages);
			continue;
		}
		if (ch == NULL || to == NULL) {
			log_warnx("notify: pending message %s for channel '%s' "
			          "left: the channel is no longer configured",
			          PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
			json_decref(pages);
			continue;
		}
		m = message_new(n, ch, atoll(PQgetvalue(r, i, 0)),
		                message_json(to, pages));
		m->m_attempts = atoi(PQgetvalue(r, i, 2));
		m->m_deadline_ms = atoll(PQgetvalue(r, i, 4));
		tv = ms_tv(atoll(PQgetvalue(r, i, 3)) - now_ms());
		evtimer_add(m->m_timer, &tv);
		log_info("notify: message %lld to %s by %s resumes (%d "
		         "attempts so far)",
		         (long long)m->m_id, PQgetvalue(r, i, 6), ch->ch_name,
		         m->m_attempts);
	}
}

/* Waiting steps, unsent pages and pending messages, read back: all of
 * them at start, and every half minute those overdue by lag (the database
 * was away when they were due). What is in hand already is skipped. */
static void
notifier_resume(struct notifier *n, const char *lag)
{
	struct store *st = n->n_d.nd_store;
	const char *params[1] = {lag};

	store_query(st,
	            "SELECT alarm_id, route, step, (extract(epoch FROM due_at) "
	            "* 1000)::bigint FROM watchstand.notify_steps WHERE state "
	            "= 'waiting' AND ($1::interval = interval '0' OR due_at "
	            "<= now() - $1::interval)",
	            1, params, steps_written, n);
	store_query(st,
	            "SELECT m.id, m.channel, m.attempts, (extract(epoch FROM "
	            "m.next_at) * 1000)::bigint, (extract(epoch FROM "
	            "m.deadline) * 1000)::bigint, json_agg(p.info ORDER BY "
	            "p.created_at)::text, m.recipient FROM "
	            "watchstand.notify_messages m JOIN watchstand.notify_pages "
	            "p ON p.message_id = m.id WHERE m.status = 'pending' AND "
	            "($1::interval = interval '0' OR m.next_at <= now() - "
	            "$1::interval) GROUP BY m.id",
	            1, params, pending_loaded, n);
	store_query(st,
	            "SELECT channel, info::text FROM watchstand.notify_pages "
	            "WHERE message_id IS NULL AND created_at > now() - "
	            "interval '1 day' AND created_at <= now() - $1::interval "
	            "ORDER BY created_at",
	            1, params, pages_queued, n);
}

static void
notifier_sweep(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	notifier_resume(arg, "30 seconds");
}

/* What the alarms say on the bus, routed (raised), told to whoever was
 * paged (cleared), or paged again (returned from shelving). */
static void
notify_on_alarm(void *arg, const struct event_msg *m)
{
	struct notifier *n = arg;

	switch (m->em_kind) {
	case EVENT_ALARM_RAISED: {
		struct notify_alarm na = {
		    .na_id = m->em_alarm_id,
		    .na_rule = m->em_rule,
		    .na_host = m->em_host,
		    .na_role = m->em_role,
		    .na_severity = m->em_severity,
		};
		notify_alarm(n, &na);
		break;
	}
	case EVENT_ALARM_CLEARED:
		notify_alarm_cleared(n, m->em_alarm_id, m->em_value);
		break;
	case EVENT_ALARM_RETURNED:
		notify_alarm_returned(n, m->em_alarm_id);
		break;
	default:
		break;
	}
}

struct notifier *
notifier_new(const struct notifier_deps *d)
{
	struct notifier *n;

	if (d->nd_conf->nc_nchannels == 0)
		return NULL;
	n = xcalloc(1, sizeof(*n));
	if (n == NULL)
		fatalx("out of memory");
	n->n_d = *d;
	n->n_conf = d->nd_conf;
	n->n_users = json_array();
	n->n_curl = curlev_new(d->nd_base);
	/* Users first: the first step may fire right after. */
	users_refresh(-1, 0, n);
	n->n_users_timer =
	    event_new(d->nd_base, -1, EV_PERSIST, users_refresh, n);
	event_add(n->n_users_timer, &(struct timeval){60, 0});
	notifier_resume(n, "0");
	n->n_sweep_timer =
	    event_new(d->nd_base, -1, EV_PERSIST, notifier_sweep, n);
	event_add(n->n_sweep_timer, &(struct timeval){30, 0});
	events_subscribe(n->n_d.nd_events,
	                 EVENT_MASK(EVENT_ALARM_RAISED) |
	                     EVENT_MASK(EVENT_ALARM_CLEARED) |
	                     EVENT_MASK(EVENT_ALARM_RETURNED),
	                 notify_on_alarm, n);
	return n;
}

void
notifier_free(struct notifier *n)
{
	struct step_job *j;
	struct outbox *ob, *tmp;

	if (n == NULL)
		return;
	events_unsubscribe(n->n_d.nd_events, notify_on_alarm, n);
	/* Whatever is unsent stays in the tables for the next start. */
	while (n->n_messages != NULL)
		message_free(n->n_messages);
	while ((j = n->n_jobs) != NULL) {
		n->n_jobs = j->sj_next;
		event_free(j->sj_timer);
		free(j->sj_route);
		free(j);
	}
	HASH_ITER(hh, n->n_outboxes, ob, tmp)
	{
		HASH_DEL(n->n_outboxes, ob);
		event_free(ob->ob_timer);
		json_decref(ob->ob_held);
		free(ob->ob_sent);
		free(ob);
	}
	event_free(n->n_users_timer);
	event_free(n->n_sweep_timer);
	curlev_free(n->n_curl);
	json_decref(n->n_users);
	free(n);
}

void
notifier_metrics(struct notifier *n, struct evbuffer *out)
{
	struct message *m;
	struct outbox *ob;
	size_t pending = 0;

	if (n == NULL)
		return;
	for (m = n->n_messages; m != NULL; m = m->m_next)
		pending++;
	for (ob = n->n_outboxes; ob != NULL; ob = ob->hh.next)
		pending += json_array_size(ob->ob_held);
	evbuffer_add_printf(
	    out,
	    "# HELP watchstand_notifications_sent_total Messages delivered.\n"
	    "# TYPE watchstand_notifications_sent_total counter\n"
	    "watchstand_notifications_sent_total %llu\n"
	    "# HELP watchstand_notifications_failed_total Messages given up "
	    "(permanent error or deadline passed).\n"
	    "# TYPE watchstand_notifications_failed_total counter\n"
	    "watchstand_notifications_failed_total %llu\n"
	    "# HELP watchstand_notifications_retried_total Attempts that "
	    "failed and were retried.\n"
	    "# TYPE watchstand_notifications_retried_total counter\n"
	    "watchstand_notifications_retried_total %llu\n"
	    "# HELP watchstand_notifications_pending Messages on their way "
	    "and pages held for grouping or the rate limit.\n"
	    "# TYPE watchstand_notifications_pending gauge\n"
	    "watchstand_notifications_pending %zu\n",
	    (unsigned long long)n->n_sent, (unsigned long long)n->n_failed,
	    (unsigned long long)n->n_retried, pending);
}

/* A reload: routes are found by name when a step fires, so waiting steps
 * carry on; messages and outboxes follow their channel by name. A message
 * whose channel is gone fails with that reason (recorded), an outbox's
 * held pages stay unsent in the table. Call before the old conf is freed
 * (its channels are still read here). */
void
notifier_reconfigure(struct notifier *n, const struct notify_conf *nc,
                     const char *public_url)
{
	struct message *m, *mnext;
	struct outbox *ob, *tmp;

	if (n == NULL)
		return;
	n->n_conf = nc;
	n->n_d.nd_conf = nc;
	n->n_d.nd_public_url = public_url;
	for (m = n->n_messages; m != NULL; m = mnext) {
		const struct notify_channel *ch =
		    notify_channel_find(nc, m->m_ch->ch_name);
		mnext = m->m_next;
		if (ch != NULL) {
			m->m_ch = ch;
			continue;
		}
		n->n_failed++;
		message_record(m, "failed", "failed",
		               "the channel was removed by a config reload", 0);
		log_warnx("notify: message %lld by %s given up: the channel "
		          "was removed by a config reload",
		          (long long)m->m_id, m->m_ch->ch_name);
		message_log(m, "PAGE FAILED to",
		            "the channel was removed by a config reload");
		message_free(m);
	}
	HASH_ITER(hh, n->n_outboxes, ob, tmp)
	{
		const struct notify_channel *ch =
		    notify_channel_find(nc, ob->ob_ch->ch_name);
		if (ch != NULL &&
		    ch->ch_rate_count == ob->ob_ch->ch_rate_count) {
			ob->ob_ch = ch;
			continue;
		}
		if (ch != NULL) {
			/* Another rate limit: its window starts afresh. */
			free(ob->ob_sent);
			ob->ob_sent = ch->ch_rate_count > 0
			                  ? xcalloc(ch->ch_rate_count,
			                            sizeof(*ob->ob_sent))
			                  : NULL;
			ob->ob_nsent = ob->ob_head = 0;
			ob->ob_ch = ch;
			continue;
		}
		if (json_array_size(ob->ob_held) > 0)
			log_warnx("notify: %zu page%s for %s left unsent: the "
			          "channel was removed by a config reload",
			          json_array_size(ob->ob_held),
			          json_array_size(ob->ob_held) == 1 ? "" : "s",
			          ob->ob_ch->ch_name);
		HASH_DEL(n->n_outboxes, ob);
		event_free(ob->ob_timer);
		json_decref(ob->ob_held);
		free(ob->ob_sent);
		free(ob);
	}
}
