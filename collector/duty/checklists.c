/* The checklist run engine and the order watch: see checklists.h. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <event2/event.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <uthash.h>

#include "watchstand/log.h"
#include "watchstand/proto.h"
#include "watchstand/xalloc.h"
#include "events.h"
#include "alarm/alarm.h"
#include "alarm/calendar.h"
#include "duty/checklists.h"
#include "duty/orderwatch.h"
#include "duty/run.h"
#include "duty/shiftlog.h"
#include "ingest/ingest.h"
#include "ingest/store.h"

#define ORDER_RULE "order-violation"

/* The newest value of a series on a host. */
struct latest {
	UT_hash_handle hh;
	char *l_key; /* host \x1f series */
	double l_value;
	int64_t l_at;
};

struct silent {
	UT_hash_handle hh;
	char *s_host;
};

struct erun {
	struct erun *er_next;
	struct checklists *er_e;
	int64_t er_id; /* 0 until the database gave it */
	struct run *er_run;
	uint64_t *er_request; /* per step: the action's request id, 0 none */
	char *er_opened_by;
	int er_scheduled; /* opened by its phase */
	int er_out;       /* a change run's hosts are out of service */
	int er_reported;  /* the report is written */
	checklists_open_fn er_cb;
	void *er_cb_arg;
};

struct checklists {
	struct checklists_deps e_d;
	struct erun *e_runs;
	struct latest *e_latest;
	struct silent *e_silent;
	struct orderwatch *e_ow;
	struct event *e_tick;
	int e_stopped; /* the ingest and the API are going away */
	/* Configurations replaced by a reload while runs pointed into them:
	 * freed with the engine. */
	struct checklists_conf *e_retired;
	size_t e_nretired;
	/* Checks whose checklist-not-done alarm is raised: cleared when a
	 * run of the same check is done. */
	char **e_notdone;
	size_t e_nnotdone;
};

static int
notdone_find(struct checklists *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->e_nnotdone; i++)
		if (strcmp(e->e_notdone[i], name) == 0)
			return (int)i;
	return -1;
}

static int64_t
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static const double *
latest_get(struct checklists *e, const char *host, const char *series,
           int64_t *at)
{
	char key[512];
	struct latest *l;

	snprintf(key, sizeof(key), "%s\x1f%s", host, series);
	HASH_FIND_STR(e->e_latest, key, l);
	if (l == NULL)
		return NULL;
	if (at != NULL)
		*at = l->l_at;
	return &l->l_value;
}

static int
host_alive(struct checklists *e, const char *host)
{
	struct silent *s;

	HASH_FIND_STR(e->e_silent, host, s);
	return s == NULL;
}

/* Whether any checklist step (or a change baseline) reads series. */
static int
series_used(const struct checklists_conf *cc, const char *series)
{
	size_t i, j;

	for (i = 0; i < cc->ck_n; i++) {
		const struct checklist *cl = &cc->ck_lists[i];
		for (j = 0; j < cl->cl_nsteps; j++) {
			const char *s = cl->cl_steps[j].cs_verify.cv_series;
			if (s != NULL && strcmp(s, series) == 0)
				return 1;
		}
		for (j = 0; j < cl->cl_nbaseline; j++)
			if (strcmp(cl->cl_baseline[j], series) == 0)
				return 1;
	}
	return 0;
}

static void
ms_text(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%H:%M:%SZ", &tm);
}

static void seed_latest(struct checklists *e);
static void elog(struct erun *er, const char *actor, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A shift log entry about a run: "run 12 start-of-day (DRILL): ...". */
static void
elog(struct erun *er, const char *actor, const char *fmt, ...)
{
	char text[1024], body[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	snprintf(text, sizeof(text), "%srun %" PRId64 " %s: %s",
	         er->er_run->r_drill ? "DRILL " : "", er->er_id,
	         er->er_run->r_cl->cl_name, body);
	shiftlog_add(er->er_e->e_d.cd_store, er->er_e->e_d.cd_events,
	             "checklist", actor ? actor : "collector", text);
}

static void
json_ms(json_t *o, const char *k, int64_t ms)
{
	json_object_set_new(o, k, ms ? json_integer(ms) : json_null());
}

static void
json_str(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, v ? json_string(v) : json_null());
}

static const char step_sql[] =
    "UPDATE watchstand.checklist_steps SET state = j->>'state', "
    "executed_by = j->>'executed_by', executed_at = "
    "to_timestamp((j->>'executed_at')::float8 / 1000), confirmed_by = "
    "j->>'confirmed_by', confirmed_at = "
    "to_timestamp((j->>'confirmed_at')::float8 / 1000), skipped_by = "
    "j->>'skipped_by', skip_reason = j->>'skip_reason', value = "
    "(j->>'value')::float8, value_at = "
    "to_timestamp((j->>'value_at')::float8 / 1000), result = "
    "j->>'result', error = j->>'error', finished_at = "
    "to_timestamp((j->>'finished_at')::float8 / 1000), request_id = "
    "coalesce((j->>'request')::numeric, request_id) FROM (SELECT $3::jsonb "
    "AS j) x WHERE run_id = $1 AND step = $2";

static void
store_step(struct erun *er, size_t i)
{
	const struct run_step *rs = &er->er_run->r_steps[i];
	json_t *o = json_object();
	char id[32], req[32], *js;
	const char *params[3];

	json_str(o, "state", step_state_names[rs->rs_state]);
	json_str(o, "executed_by", rs->rs_executed_by);
	json_ms(o, "executed_at", rs->rs_executed_by ? rs->rs_executed_at : 0);
	json_str(o, "confirmed_by", rs->rs_confirmed_by);
	json_ms(o, "confirmed_at",
	        rs->rs_confirmed_by ? rs->rs_confirmed_at : 0);
	json_str(o, "skipped_by", rs->rs_skipped_by);
	json_str(o, "skip_reason", rs->rs_skip_reason);
	json_object_set_new(o, "value",
	                    rs->rs_has_value ? json_real(rs->rs_value)
	                                     : json_null());
	json_ms(o, "value_at", rs->rs_has_value ? rs->rs_value_at : 0);
	json_str(o, "result", rs->rs_result);
	json_str(o, "error", rs->rs_error);
	json_ms(o, "finished_at", rs->rs_finished_at);
	if (er->er_request[i] != 0) {
		snprintf(req, sizeof(req), "%" PRIu64, er->er_request[i]);
		json_str(o, "request", req);
	}
	js = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	snprintf(id, sizeof(id), "%" PRId64, er->er_id);
	params[0] = id;
	params[1] = er->er_run->r_cl->cl_steps[i].cs_name;
	params[2] = js;
	store_sql(er->er_e->e_d.cd_store, step_sql, 3, params);
	free(js);
}

/* The report: every step, who executed and confirmed it, its result,
 * the value seen, the times. */
static char *
run_report(struct erun *er)
{
	const struct run *r = er->er_run;
	const struct checklist *cl = r->r_cl;
	size_t cap = 4096, len = 0, i;
	char *buf = xmalloc(cap), t1[16], t2[16];
	int n;

#define APPEND(...)                                                            \
	do {                                                                   \
		for (;;) {                                                     \
			n = snprintf(buf + len, cap - len, __VA_ARGS__);       \
			if (n >= 0 && (size_t)n < cap - len)                   \
				break;                                         \
			cap *= 2;                                              \
			buf = xrealloc(buf, cap);                               \
		}                                                              \
		len += (size_t)n;                                              \
	} while (0)
	ms_text(r->r_opened_at, t1, sizeof(t1));
	ms_text(r->r_finished_at ? r->r_finished_at : now_ms(), t2, sizeof(t2));
	APPEND("%s%s %s %s: %s, opened %s by %s, finished %s (%llds)",
	       r->r_drill ? "DRILL " : "", checklist_kind_names[cl->cl_kind],
	       cl->cl_name, "report", run_state_names[r->r_state], t1,
	       er->er_opened_by, t2,
	       (long long)(((r->r_finished_at ? r->r_finished_at : now_ms()) -
	                    r->r_opened_at) /
	                   1000));
	for (i = 0; i < cl->cl_nsteps; i++) {
		const struct run_step *rs = &r->r_steps[cl->cl_order[i]];
		const struct checklist_step *s = &cl->cl_steps[cl->cl_order[i]];
		APPEND("; %s: %s", s->cs_name, step_state_names[rs->rs_state]);
		if (rs->rs_executed_by) {
			ms_text(rs->rs_executed_at, t1, sizeof(t1));
			APPEND(", executed by %s at %s", rs->rs_executed_by,
			       t1);
		}
		if (rs->rs_confirmed_by) {
			ms_text(rs->rs_confirmed_at, t1, sizeof(t1));
			APPEND(", confirmed by %s at %s", rs->rs_confirmed_by,
			       t1);
		}
		if (rs->rs_skipped_by)
			APPEND(", skipped by %s (%s)", rs->rs_skipped_by,
			       rs->rs_skip_reason ? rs->rs_skip_reason : "");
		if (rs->rs_result)
			APPEND(", result: %.200s", rs->rs_result);
		if (rs->rs_has_value) {
			ms_text(rs->rs_value_at, t1, sizeof(t1));
			APPEND(", %s = %g at %s", s->cs_verify.cv_series,
			       rs->rs_value, t1);
		}
		if (s->cs_verify.cv_baseline) {
			/* A change's post-check: before and after side by
			 * side. */
			const double *b =
			    run_baseline(r, s->cs_host, s->cs_verify.cv_series);
			if (b != NULL)
				APPEND(" (before: %g)", *b);
			else
				APPEND(" (before: no baseline)");
		}
		if (rs->rs_error)
			APPEND(", error: %.200s", rs->rs_error);
	}
#undef APPEND
	return buf;
}

static void
service_done(void *arg, const struct alarm_result *res)
{
	(void)arg;
	(void)res;
}

static void
run_ended(struct erun *er)
{
	struct checklists *e = er->er_e;
	char id[32], *rep;
	const char *params[3];
	size_t i;
	int k;

	if (er->er_out) {
		for (i = 0; i < er->er_run->r_cl->cl_nhosts; i++)
			alarms_host_in_service(
			    e->e_d.cd_alarms, er->er_run->r_cl->cl_hosts[i],
			    "checklist", 0, service_done, NULL);
		er->er_out = 0;
	}
	if (er->er_run->r_state == RUN_DONE &&
	    (k = notdone_find(e, er->er_run->r_cl->cl_name)) >= 0) {
		char series[200];
		snprintf(series, sizeof(series), "checklist:%s",
		         er->er_run->r_cl->cl_name);
		alarms_clear_external(e->e_d.cd_alarms, "checklist-not-done",
		                      "collector", series,
		                      "a run of the check is done");
		free(e->e_notdone[k]);
		e->e_notdone[k] = e->e_notdone[--e->e_nnotdone];
	}
	if (er->er_reported)
		return;
	er->er_reported = 1;
	rep = run_report(er);
	snprintf(id, sizeof(id), "%" PRId64, er->er_id);
	params[0] = id;
	params[1] = run_state_names[er->er_run->r_state];
	params[2] = rep;
	store_sql(e->e_d.cd_store,
	          "UPDATE watchstand.checklist_runs SET state = $2, "
	          "finished_at = now(), report = $3 WHERE id = $1",
	          3, params);
	shiftlog_add(e->e_d.cd_store, e->e_d.cd_events, "report", "collector",
	             rep);
	free(rep);
}

static void
store_run_state(struct erun *er)
{
	char id[32];
	const char *params[2];

	snprintf(id, sizeof(id), "%" PRId64, er->er_id);
	params[0] = id;
	params[1] = run_state_names[er->er_run->r_state];
	store_sql(
	    er->er_e->e_d.cd_store,
	    "UPDATE watchstand.checklist_runs SET state = $2 WHERE id = $1", 2,
	    params);
}

/* After any verdict applied to step i. */
static void
after_verdict(struct erun *er, size_t i, const struct run_verdict *v)
{
	store_step(er, i);
	if (!v->rv_run_changed)
		return;
	if (v->rv_run == RUN_DONE)
		run_ended(er);
	else
		store_run_state(er);
}

static void check_verifying(struct erun *er, size_t i, int64_t now);

static void
action_done(void *arg, const struct action_result *ax)
{
	struct erun *er = arg;
	struct run_verdict v;
	enum action_outcome oc;
	const char *text;
	char buf[600];
	int i;

	i = checklist_step_find(er->er_run->r_cl, ax->ax_step);
	if (i < 0)
		return;
	er->er_request[i] = 0;
	switch (ax->ax_outcome) {
	case PROTO_OUT_OK:
		oc = ACTION_OK;
		break;
	case PROTO_OUT_REFUSED:
		oc = ax->ax_reason && strncmp(ax->ax_reason, "DRILL", 5) == 0
		         ? ACTION_DRILL
		         : ACTION_REFUSED;
		break;
	default:
		oc = ACTION_FAILED;
	}
	if (ax->ax_reason != NULL && ax->ax_reason[0] != '\0')
		text = ax->ax_reason;
	else {
		snprintf(buf, sizeof(buf), "%s, status %d, %ums: %.400s",
		         proto_outcome_name(ax->ax_outcome), (int)ax->ax_status,
		         (unsigned)ax->ax_duration_ms,
		         ax->ax_output ? ax->ax_output : "");
		text = buf;
	}
	elog(er, ax->ax_host, "step %s: action %s %s: %s", ax->ax_step,
	     ax->ax_action ? ax->ax_action : "",
	     proto_outcome_name(ax->ax_outcome), text);
	if (run_action_result(er->er_run, (size_t)i, oc, text, now_ms(), &v) !=
	    0)
		return;
	after_verdict(er, (size_t)i, &v);
	if (v.rv_to == STEP_FAILED)
		elog(er, "collector", "step %s failed: %s", ax->ax_step,
		     er->er_run->r_steps[i].rs_error
		         ? er->er_run->r_steps[i].rs_error
		         : "");
	if (v.rv_watch || v.rv_to == STEP_VERIFYING)
		check_verifying(er, (size_t)i, now_ms());
}

/* A verifying step against the newest value, and its deadline. */
static void
check_verifying(struct erun *er, size_t i, int64_t now)
{
	struct checklists *e = er->er_e;
	const struct checklist_step *s = &er->er_run->r_cl->cl_steps[i];
	struct run_step *rs = &er->er_run->r_steps[i];
	const struct checklist_verify *cv = &s->cs_verify;
	struct run_verdict v;
	const double *val = NULL;
	int64_t at = 0;

	if (rs->rs_state != STEP_VERIFYING || er->er_id == 0)
		return;
	/* A silent host's newest value is old news. */
	if (cv->cv_series != NULL && s->cs_host != NULL &&
	    host_alive(e, s->cs_host))
		val = latest_get(e, s->cs_host, cv->cv_series, &at);
	/* A value from before the verification began proves nothing about
	 * what the action did; a check without `within` takes the newest. */
	if (val != NULL &&
	    (cv->cv_within_ms == 0 || at >= rs->rs_verify_since) &&
	    checklist_verify_holds(
	        cv, *val,
	        run_baseline(er->er_run, s->cs_host, cv->cv_series))) {
		if (run_verified(er->er_run, i, *val, at, &v) == 0) {
			elog(er, "collector", "step %s verified: %s = %g",
			     s->cs_name, cv->cv_series, *val);
			after_verdict(er, i, &v);
		}
		return;
	}
	if (now >= run_verify_deadline(er->er_run, i) &&
	    run_verify_timeout(er->er_run, i, val, now, &v) == 0) {
		elog(er, "collector", "step %s failed: %s", s->cs_name,
		     rs->rs_error ? rs->rs_error : "");
		after_verdict(er, i, &v);
	}
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct checklists *e = arg;
	struct erun *er;
	int64_t now = now_ms();
	size_t i;

	(void)fd;
	(void)what;
	for (er = e->e_runs; er != NULL; er = er->er_next)
		if (er->er_run->r_state != RUN_DONE && !er->er_run->r_closed)
			for (i = 0; i < er->er_run->r_cl->cl_nsteps; i++)
				check_verifying(er, i, now);
}

/* ---- the order watch ---- */

/* critical while trading; major in the other phases of the calendar
 * (pre-open, ...), minor in its default phase (closed): a process out of
 * order matters most when orders flow. */
enum severity
checklists_order_severity(const char *phase, const char *default_phase)
{
	if (phase == NULL || strcmp(phase, "trading") == 0)
		return SEV_CRITICAL;
	if (default_phase != NULL && strcmp(phase, default_phase) == 0)
		return SEV_MINOR;
	return SEV_MAJOR;
}

static enum severity
order_severity(struct checklists *e)
{
	return checklists_order_severity(
	    e->e_d.cd_phase ? *e->e_d.cd_phase : NULL,
	    e->e_d.cd_cal ? e->e_d.cd_cal->cal_default : NULL);
}

static void
order_raise(struct checklists *e, const struct checklist *cl, size_t step,
            size_t pred, const char *text)
{
	char series[300];

	snprintf(series, sizeof(series), "order:%s:%s:%s", cl->cl_name,
	         cl->cl_steps[step].cs_name, cl->cl_steps[pred].cs_name);
	alarms_raise_external(e->e_d.cd_alarms, ORDER_RULE,
	                      cl->cl_steps[step].cs_host, series,
	                      order_severity(e),
	                      "a process started before its predecessor", text);
}

/* Clears every raised violation (the watch is about to be rebuilt). */
static void
order_clear_all(struct checklists *e, const struct checklists_conf *cc)
{
	size_t i, s, p;

	for (i = 0; i < cc->ck_n; i++) {
		const struct checklist *cl = &cc->ck_lists[i];
		if (cl->cl_kind != CK_STARTUP || !cl->cl_valid)
			continue;
		for (s = 0; s < cl->cl_nsteps; s++)
			for (p = 0; p < cl->cl_nsteps; p++) {
				char series[300];
				if (!orderwatch_active(e->e_ow, cl, s, p))
					continue;
				snprintf(series, sizeof(series),
				         "order:%s:%s:%s", cl->cl_name,
				         cl->cl_steps[s].cs_name,
				         cl->cl_steps[p].cs_name);
				alarms_clear_external(
				    e->e_d.cd_alarms, ORDER_RULE,
				    cl->cl_steps[s].cs_host, series,
				    "the checklists were reloaded");
			}
	}
}

void
checklists_reconfigure(struct checklists *e, struct checklists_conf *old)
{
	struct erun *er;
	int open = 0;

	if (e->e_ow != NULL)
		order_clear_all(e, old);
	orderwatch_free(e->e_ow);
	e->e_ow = orderwatch_new(e->e_d.cd_conf);
	seed_latest(e); /* series the new checklists read first */
	for (er = e->e_runs; er != NULL; er = er->er_next)
		open = 1;
	if (!open)
		return;
	e->e_retired =
	    xrealloc(e->e_retired, (e->e_nretired + 1) * sizeof(*e->e_retired));
	e->e_retired[e->e_nretired++] = *old;
	memset(old, 0, sizeof(*old));
}

/* The phase changed: the raised violations take its severity. */
static void
order_reseverity(struct checklists *e)
{
	const struct checklists_conf *cc = e->e_d.cd_conf;
	size_t i, s, p;

	if (e->e_ow == NULL)
		return;
	for (i = 0; i < cc->ck_n; i++) {
		const struct checklist *cl = &cc->ck_lists[i];
		if (cl->cl_kind != CK_STARTUP || !cl->cl_valid)
			continue;
		for (s = 0; s < cl->cl_nsteps; s++)
			for (p = 0; p < cl->cl_nsteps; p++) {
				struct ow_decision d = {
				    .od_cl = cl,
				    .od_step = s,
				    .od_pred = p,
				    .od_host = cl->cl_steps[s].cs_host};
				char text[512];
				if (!orderwatch_active(e->e_ow, cl, s, p))
					continue;
				orderwatch_text(&d, text, sizeof(text));
				order_raise(e, cl, s, p, text);
			}
	}
}

static void
order_update(struct checklists *e, const struct checklist *cl)
{
	struct ow_decisions d = {0};
	enum ow_holds *holds;
	size_t i;

	if (e->e_ow == NULL || cl->cl_kind != CK_STARTUP || !cl->cl_valid)
		return;
	holds = xcalloc(cl->cl_nsteps, sizeof(*holds));
	for (i = 0; i < cl->cl_nsteps; i++) {
		const struct checklist_step *s = &cl->cl_steps[i];
		const double *val = NULL;
		if (s->cs_verify.cv_series == NULL || s->cs_host == NULL)
			continue;
		val = latest_get(e, s->cs_host, s->cs_verify.cv_series, NULL);
		holds[i] = orderwatch_holds(s, host_alive(e, s->cs_host), val);
	}
	orderwatch_update(e->e_ow, cl, holds, &d);
	for (i = 0; i < d.n; i++) {
		const struct ow_decision *od = &d.od[i];
		char series[300], text[512];
		snprintf(series, sizeof(series), "order:%s:%s:%s", cl->cl_name,
		         cl->cl_steps[od->od_step].cs_name,
		         cl->cl_steps[od->od_pred].cs_name);
		orderwatch_text(od, text, sizeof(text));
		if (od->od_what == OW_RAISE)
			order_raise(e, cl, od->od_step, od->od_pred, text);
		else
			alarms_clear_external(e->e_d.cd_alarms, ORDER_RULE,
			                      od->od_host, series, text);
	}
	ow_decisions_free(&d);
	free(holds);
}

static void
order_host(struct checklists *e, const char *host)
{
	const struct checklists_conf *cc = e->e_d.cd_conf;
	size_t i, j;

	for (i = 0; i < cc->ck_n; i++) {
		const struct checklist *cl = &cc->ck_lists[i];
		if (cl->cl_kind != CK_STARTUP)
			continue;
		for (j = 0; j < cl->cl_nsteps; j++)
			if (cl->cl_steps[j].cs_host != NULL &&
			    strcmp(cl->cl_steps[j].cs_host, host) == 0) {
				order_update(e, cl);
				break;
			}
	}
}

/* ---- the engine ---- */

/* The series the checklists read, as a JSON array, NULL when none. */
static char *
series_json(const struct checklists_conf *cc)
{
	json_t *a = json_array();
	char *out = NULL;
	size_t i, j;

	for (i = 0; i < cc->ck_n; i++) {
		const struct checklist *cl = &cc->ck_lists[i];
		for (j = 0; j < cl->cl_nsteps; j++) {
			const char *s = cl->cl_steps[j].cs_verify.cv_series;
			if (s != NULL)
				json_array_append_new(a, json_string(s));
		}
		for (j = 0; j < cl->cl_nbaseline; j++)
			json_array_append_new(a,
			                      json_string(cl->cl_baseline[j]));
	}
	if (json_array_size(a) > 0)
		out = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return out;
}

/* The newest stored values: taken only where nothing newer came live. */
static void
seed_cb(void *arg, PGresult *r)
{
	struct checklists *e = arg;
	int i, n = 0;

	if (e->e_stopped || r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK)
		return;
	for (i = 0; i < PQntuples(r); i++) {
		const char *host = PQgetvalue(r, i, 0);
		const char *series = PQgetvalue(r, i, 1);
		int64_t at = strtoll(PQgetvalue(r, i, 3), NULL, 10);
		int64_t known;

		if (latest_get(e, host, series, &known) != NULL && known >= at)
			continue;
		checklists_sample(e, host, series, strlen(series),
		                  strtod(PQgetvalue(r, i, 2), NULL), at);
		n++;
	}
	if (n > 0)
		log_info("checklists: %d newest values read from the database",
		         n);
}

/*
 * A new leader, or a restarted collector, knows no value yet: a check
 * opened now, or the order watch, would find nothing until every agent
 * has sent again (and a check verifies at once). The newest stored value
 * of each series the checklists read stands in, from the agents the
 * database still counts alive (the hosts whose silence is judged here);
 * a dead host's old value is not taken.
 */
static void
seed_latest(struct checklists *e)
{
	char *series = series_json(e->e_d.cd_conf), ms[32];
	const char *params[2] = {series, ms};

	if (series == NULL)
		return;
	snprintf(ms, sizeof(ms), "%" PRId64, e->e_d.cd_agent_silence_ms);
	store_query(
	    e->e_d.cd_store,
	    "SELECT a.name, x.series, s.value, (extract(epoch FROM s.ts) * "
	    "1000)::int8 FROM watchstand.agents a CROSS JOIN (SELECT DISTINCT "
	    "jsonb_array_elements_text($1::jsonb) AS series) x CROSS JOIN "
	    "LATERAL (SELECT value, ts FROM watchstand.samples WHERE agent_id "
	    "= a.id AND series = x.series AND ts > now() - interval '1 day' "
	    "ORDER BY ts DESC LIMIT 1) s WHERE a.last_seen > now() - "
	    "$2::bigint * interval '1 millisecond'",
	    2, params, seed_cb, e);
	free(series);
}

struct checklists *
checklists_new(const struct checklists_deps *d)
{
	struct checklists *e = xcalloc(1, sizeof(*e));

	e->e_d = *d;
	e->e_ow = orderwatch_new(d->cd_conf);
	/* Runs open before a restart are not resumed: closed (failed), so
	 * their checklists can open again. Late action results are still
	 * recorded against their steps by request id. */
	store_sql(
	    d->cd_store,
	    "WITH r AS (UPDATE watchstand.checklist_runs SET state = "
	    "'failed', finished_at = now(), report = coalesce(report, "
	    "'closed: the collector restarted (or the lead changed hands) "
	    "while the run was open') "
	    "WHERE state = 'open' RETURNING id, checklist, drill), "
	    "s AS (UPDATE watchstand.checklist_steps SET state = 'failed', "
	    "error = 'leader changed', finished_at = now() WHERE state = "
	    "'running' AND run_id IN (SELECT id FROM r)) "
	    "INSERT INTO watchstand.shift_log (kind, actor, text) SELECT "
	    "'checklist', 'collector', CASE WHEN drill THEN 'DRILL ' ELSE "
	    "'' END || 'run ' || id || ' ' || checklist || ': closed, the "
	    "collector restarted (or the lead changed hands) while it was "
	    "open' FROM r",
	    0, NULL);
	events_log_written(d->cd_events);
	seed_latest(e);
	e->e_tick = event_new(d->cd_base, -1, EV_PERSIST, tick_cb, e);
	event_add(e->e_tick, &(struct timeval){0, 250000});
	return e;
}

static void
erun_free(struct erun *er)
{
	size_t i;

	for (i = 0; i < er->er_run->r_cl->cl_nsteps; i++)
		if (er->er_request[i] != 0 && !er->er_e->e_stopped)
			ingest_action_cancel(er->er_e->e_d.cd_ingest,
			                     er->er_request[i]);
	run_free(er->er_run);
	free(er->er_request);
	free(er->er_opened_by);
	free(er);
}

void
checklists_stop(struct checklists *e)
{
	struct erun *er;
	size_t i;

	if (e == NULL)
		return;
	for (er = e->e_runs; er != NULL; er = er->er_next) {
		er->er_cb = NULL;
		for (i = 0; i < er->er_run->r_cl->cl_nsteps; i++)
			if (er->er_request[i] != 0)
				ingest_action_cancel(e->e_d.cd_ingest,
				                     er->er_request[i]);
	}
	e->e_stopped = 1;
	event_del(e->e_tick);
}

void
checklists_free(struct checklists *e)
{
	struct erun *er, *next;
	struct latest *l, *lt;
	struct silent *s, *st;
	size_t i;

	if (e == NULL)
		return;
	event_free(e->e_tick);
	for (er = e->e_runs; er != NULL; er = next) {
		next = er->er_next;
		erun_free(er);
	}
	HASH_ITER(hh, e->e_latest, l, lt)
	{
		HASH_DEL(e->e_latest, l);
		free(l->l_key);
		free(l);
	}
	HASH_ITER(hh, e->e_silent, s, st)
	{
		HASH_DEL(e->e_silent, s);
		free(s->s_host);
		free(s);
	}
	orderwatch_free(e->e_ow);
	for (i = 0; i < e->e_nretired; i++)
		checklists_conf_free(&e->e_retired[i]);
	free(e->e_retired);
	for (i = 0; i < e->e_nnotdone; i++)
		free(e->e_notdone[i]);
	free(e->e_notdone);
	free(e);
}

void
checklists_sample(struct checklists *e, const char *host, const char *series,
                  size_t series_len, double value, int64_t now)
{
	char key[512], name[256];
	struct latest *l;
	struct erun *er;
	size_t i;

	if (series_len >= sizeof(name))
		return;
	memcpy(name, series, series_len);
	name[series_len] = '\0';
	if (!series_used(e->e_d.cd_conf, name))
		return;
	snprintf(key, sizeof(key), "%s\x1f%s", host, name);
	HASH_FIND_STR(e->e_latest, key, l);
	if (l == NULL) {
		l = xcalloc(1, sizeof(*l));
		l->l_key = xstrdup(key);
		HASH_ADD_KEYPTR(hh, e->e_latest, l->l_key, strlen(l->l_key), l);
	}
	l->l_value = value;
	l->l_at = now;
	for (er = e->e_runs; er != NULL; er = er->er_next)
		for (i = 0; i < er->er_run->r_cl->cl_nsteps; i++) {
			const struct checklist_step *s =
			    &er->er_run->r_cl->cl_steps[i];
			if (s->cs_host && s->cs_verify.cv_series &&
			    strcmp(s->cs_host, host) == 0 &&
			    strcmp(s->cs_verify.cv_series, name) == 0)
				check_verifying(er, i, now);
		}
	order_host(e, host);
}

void
checklists_host_silent(struct checklists *e, const char *host, int silent)
{
	struct silent *s;

	HASH_FIND_STR(e->e_silent, host, s);
	if (silent && s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->s_host = xstrdup(host);
		HASH_ADD_KEYPTR(hh, e->e_silent, s->s_host, strlen(s->s_host),
		                s);
	} else if (!silent && s != NULL) {
		HASH_DEL(e->e_silent, s);
		free(s->s_host);
		free(s);
	}
	order_host(e, host);
}

static struct erun *
run_by_id(struct checklists *e, int64_t id)
{
	struct erun *er;

	for (er = e->e_runs; er != NULL; er = er->er_next)
		if (er->er_id == id && id != 0)
			return er;
	return NULL;
}

static struct erun *
run_open_of(struct checklists *e, const char *name)
{
	struct erun *er;

	for (er = e->e_runs; er != NULL; er = er->er_next)
		if (strcmp(er->er_run->r_cl->cl_name, name) == 0 &&
		    er->er_run->r_state != RUN_DONE && !er->er_run->r_closed)
			return er;
	return NULL;
}

static void
erun_unlink(struct checklists *e, struct erun *er)
{
	struct erun **pp;

	for (pp = &e->e_runs; *pp != NULL; pp = &(*pp)->er_next)
		if (*pp == er) {
			*pp = er->er_next;
			return;
		}
}

/* A PostgreSQL text array literal of v (NULL elements allowed). */
static char *
text_array(const char *const *v, size_t n)
{
	size_t cap = 64, len = 0, i;
	char *buf = xmalloc(cap);
	const char *p;

#define PUT(ch)                                                                \
	do {                                                                   \
		if (len + 2 > cap)                                             \
			buf = xrealloc(buf, cap *= 2);                          \
		buf[len++] = (ch);                                             \
	} while (0)
	PUT('{');
	for (i = 0; i < n; i++) {
		if (i)
			PUT(',');
		if (v[i] == NULL) {
			PUT('N');
			PUT('U');
			PUT('L');
			PUT('L');
			continue;
		}
		PUT('"');
		for (p = v[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				PUT('\\');
			PUT(*p);
		}
		PUT('"');
	}
	PUT('}');
#undef PUT
	buf[len] = '\0';
	return buf;
}

static void
opened_cb(void *arg, PGresult *res)
{
	struct erun *er = arg;
	struct checklists *e = er->er_e;
	const struct checklist *cl = er->er_run->r_cl;
	int64_t now = now_ms();
	size_t i, j;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1) {
		const char *why = res ? PQresultErrorMessage(res)
		                      : "the database is not reachable";
		int dup = res && strstr(why, "checklist_runs_open") != NULL;
		log_warnx("checklists: cannot open a run of %s: %s",
		          cl->cl_name, why);
		if (er->er_cb)
			er->er_cb(er->er_cb_arg, dup ? 409 : 503, 0,
			          dup ? "the checklist has an open run"
			              : "the database is not available");
		erun_unlink(e, er);
		erun_free(er);
		return;
	}
	er->er_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	elog(er, er->er_opened_by, "opened%s",
	     er->er_scheduled ? " (scheduled)" : "");
	if (cl->cl_kind == CK_CHANGE) {
		for (i = 0; i < cl->cl_nhosts; i++)
			for (j = 0; j < cl->cl_nbaseline; j++) {
				const double *v =
				    latest_get(e, cl->cl_hosts[i],
				               cl->cl_baseline[j], NULL);
				char id[32], val[40];
				const char *p[4];
				if (v == NULL)
					continue;
				run_set_baseline(er->er_run, cl->cl_hosts[i],
				                 cl->cl_baseline[j], *v);
				snprintf(id, sizeof(id), "%" PRId64, er->er_id);
				snprintf(val, sizeof(val), "%.17g", *v);
				p[0] = id;
				p[1] = cl->cl_hosts[i];
				p[2] = cl->cl_baseline[j];
				p[3] = val;
				store_sql(
				    e->e_d.cd_store,
				    "INSERT INTO "
				    "watchstand.checklist_baselines "
				    "(run_id, host, series, value) VALUES "
				    "($1, $2, $3, $4::float8)",
				    4, p);
				elog(er, "collector", "baseline %s on %s = %g",
				     cl->cl_baseline[j], cl->cl_hosts[i], *v);
			}
		for (i = 0; i < cl->cl_nhosts; i++)
			alarms_host_out_of_service(
			    e->e_d.cd_alarms, cl->cl_hosts[i], "checklist",
			    7 * 24 * 60, cl->cl_name, 0, service_done, NULL);
		er->er_out = cl->cl_nhosts > 0;
	}
	if (er->er_cb)
		er->er_cb(er->er_cb_arg, 201, er->er_id, NULL);
	er->er_cb = NULL;
	for (i = 0; i < cl->cl_nsteps; i++) {
		if (er->er_run->r_steps[i].rs_state != STEP_PENDING)
			store_step(er, i);
		check_verifying(er, i, now);
	}
}

static int
open_run(struct checklists *e, const struct checklist *cl, int drill,
         const char *who, int scheduled, checklists_open_fn cb, void *arg,
         char *err, size_t errlen)
{
	static const char sql[] =
	    "WITH r AS (INSERT INTO watchstand.checklist_runs (checklist, "
	    "kind, drill, opened_by) VALUES ($1, $2, $3::boolean, $4) "
	    "RETURNING id), s AS (INSERT INTO watchstand.checklist_steps "
	    "(run_id, step, ord, host, action, manual) SELECT r.id, x.step, "
	    "x.ord, x.host, x.action, x.manual FROM r, unnest($5::text[], "
	    "$6::text[], $7::text[], $8::text[]) WITH ORDINALITY AS x(step, "
	    "host, action, manual, ord)) SELECT id FROM r";
	struct erun *er;
	const char **names, **hosts, **actions, **manuals;
	const char *params[8];
	char *arr[4];
	size_t i;
	int k;

	if (!cl->cl_valid) {
		snprintf(err, errlen, "checklist %s is not valid", cl->cl_name);
		return 409;
	}
	if ((er = run_open_of(e, cl->cl_name)) != NULL) {
		snprintf(err, errlen,
		         "checklist %s has an open run (%" PRId64 ")",
		         cl->cl_name, er->er_id);
		return 409;
	}
	if (!store_up(e->e_d.cd_store)) {
		snprintf(err, errlen, "the database is not available");
		return 503;
	}
	er = xcalloc(1, sizeof(*er));
	er->er_e = e;
	er->er_run = run_new(cl, drill, now_ms());
	er->er_request = xcalloc(cl->cl_nsteps + 1, sizeof(*er->er_request));
	er->er_opened_by = xstrdup(who);
	er->er_scheduled = scheduled;
	er->er_cb = cb;
	er->er_cb_arg = arg;
	er->er_next = e->e_runs;
	e->e_runs = er;
	names = xcalloc(cl->cl_nsteps + 1, sizeof(char *));
	hosts = xcalloc(cl->cl_nsteps + 1, sizeof(char *));
	actions = xcalloc(cl->cl_nsteps + 1, sizeof(char *));
	manuals = xcalloc(cl->cl_nsteps + 1, sizeof(char *));
	for (i = 0; i < cl->cl_nsteps; i++) {
		const struct checklist_step *s = &cl->cl_steps[cl->cl_order[i]];
		names[i] = s->cs_name;
		hosts[i] = s->cs_host;
		actions[i] = s->cs_action;
		manuals[i] = s->cs_manual;
	}
	arr[0] = text_array(names, cl->cl_nsteps);
	arr[1] = text_array(hosts, cl->cl_nsteps);
	arr[2] = text_array(actions, cl->cl_nsteps);
	arr[3] = text_array(manuals, cl->cl_nsteps);
	params[0] = cl->cl_name;
	params[1] = checklist_kind_names[cl->cl_kind];
	params[2] = drill ? "true" : "false";
	params[3] = who;
	for (k = 0; k < 4; k++)
		params[4 + k] = arr[k];
	store_query(e->e_d.cd_store, sql, 8, params, opened_cb, er);
	for (k = 0; k < 4; k++)
		free(arr[k]);
	free(names);
	free(hosts);
	free(actions);
	free(manuals);
	return 0;
}

int
checklists_open(struct checklists *e, const char *name, int drill,
                const char *who, checklists_open_fn cb, void *arg, char *err,
                size_t errlen)
{
	const struct checklist *cl;

	if (e == NULL) {
		snprintf(err, errlen,
		         "this collector does not lead: runs "
		         "are opened on the leader (GET "
		         "/api/v1/status names it)");
		return 503;
	}
	if ((cl = checklist_find(e->e_d.cd_conf, name)) == NULL) {
		snprintf(err, errlen, "no checklist %s", name);
		return 404;
	}
	return open_run(e, cl, drill, who, 0, cb, arg, err, errlen);
}

/* Ends the scheduled runs of phase old that are not done: an alarm. */
static void
phase_ended(struct checklists *e, const char *old)
{
	struct erun *er;
	struct run_verdict v;

	for (er = e->e_runs; er != NULL; er = er->er_next) {
		const struct checklist *cl = er->er_run->r_cl;
		char series[200], text[300];
		if (!er->er_scheduled || cl->cl_phase == NULL ||
		    strcmp(cl->cl_phase, old) != 0 || er->er_id == 0 ||
		    er->er_run->r_state == RUN_DONE || er->er_run->r_closed)
			continue;
		if (run_close(er->er_run, now_ms(), &v) == 0) {
			elog(er, "calendar", "not done by the end of %s", old);
			store_run_state(er);
			run_ended(er);
		}
		if (cl->cl_kind != CK_CHECK)
			continue;
		snprintf(series, sizeof(series), "checklist:%s", cl->cl_name);
		snprintf(text, sizeof(text),
		         "%scheck run %" PRId64
		         " of %s not done by the end of %s",
		         er->er_run->r_drill ? "DRILL " : "", er->er_id,
		         cl->cl_name, old);
		alarms_raise_external(e->e_d.cd_alarms, "checklist-not-done",
		                      "collector", series, SEV_MAJOR,
		                      "a scheduled check was not done in its "
		                      "phase",
		                      text);
		if (notdone_find(e, cl->cl_name) < 0) {
			e->e_notdone =
			    xrealloc(e->e_notdone, (e->e_nnotdone + 1) *
			                              sizeof(*e->e_notdone));
			e->e_notdone[e->e_nnotdone++] = xstrdup(cl->cl_name);
		}
	}
}

void
checklists_phase(struct checklists *e, const char *old, const char *now)
{
	const struct checklists_conf *cc = e->e_d.cd_conf;
	char err[256];
	size_t i;

	if (old != NULL) {
		phase_ended(e, old);
		order_reseverity(e);
	}
	/* The default phase is what holidays and weekends are: a schedule
	 * opens runs only when a trading phase begins. At start (old NULL)
	 * nothing opens: the phase did not begin now. */
	if (old == NULL || now == NULL ||
	    (e->e_d.cd_cal && e->e_d.cd_cal->cal_default &&
	     strcmp(now, e->e_d.cd_cal->cal_default) == 0))
		return;
	for (i = 0; i < cc->ck_n; i++) {
		const struct checklist *cl = &cc->ck_lists[i];
		if (cl->cl_phase == NULL || strcmp(cl->cl_phase, now) != 0)
			continue;
		if (open_run(e, cl, 0, "calendar", 1, NULL, NULL, err,
		             sizeof(err)) != 0)
			log_warnx("checklists: %s does not open at %s: %s",
			          cl->cl_name, now, err);
	}
}

static void
send_action(struct erun *er, size_t i)
{
	struct checklists *e = er->er_e;
	const struct checklist_step *s = &er->er_run->r_cl->cl_steps[i];
	struct run_verdict v;
	char err[256];
	uint64_t req = 0;

	/* A leader whose lease lapsed (lead.h) sends nothing: the step
	 * fails rather than run twice. */
	if (e->e_d.cd_may_act != NULL &&
	    !e->e_d.cd_may_act(e->e_d.cd_may_act_arg))
		snprintf(err, sizeof(err), "leader changed");
	else if (ingest_action(e->e_d.cd_ingest, s->cs_host, s->cs_action,
	                       (uint64_t)er->er_id, s->cs_name,
	                       er->er_run->r_drill, action_done, er, &req, err,
	                       sizeof(err)) == 0) {
		er->er_request[i] = req;
		elog(er, "collector",
		     "step %s: action %s sent to %s (request "
		     "%" PRIu64 ")",
		     s->cs_name, s->cs_action, s->cs_host, req);
		store_step(er, i);
		return;
	}
	elog(er, "collector", "step %s failed: %s", s->cs_name, err);
	if (run_action_result(er->er_run, i, ACTION_FAILED, err, now_ms(),
	                      &v) == 0)
		after_verdict(er, i, &v);
}

int
checklists_step(struct checklists *e, int64_t run_id, const char *step,
                enum checklists_op op, const char *who, enum user_role role,
                const char *reason, char *err, size_t errlen)
{
	struct erun *er;
	struct run_verdict v;
	int64_t now = now_ms();
	int i, rc;

	if (e == NULL) {
		snprintf(err, errlen,
		         "this collector does not lead: runs "
		         "are worked on the leader (GET "
		         "/api/v1/status names it)");
		return 503;
	}
	if ((er = run_by_id(e, run_id)) == NULL) {
		snprintf(err, errlen, "run %" PRId64 " is not open", run_id);
		return 404;
	}
	if ((i = checklist_step_find(er->er_run->r_cl, step)) < 0) {
		snprintf(err, errlen, "run %" PRId64 " has no step %s", run_id,
		         step);
		return 404;
	}
	switch (op) {
	case CHK_EXECUTE:
		rc = run_execute(er->er_run, (size_t)i, who, role, now, &v);
		break;
	case CHK_CONFIRM:
		rc = run_confirm(er->er_run, (size_t)i, who, role, now, &v);
		break;
	default:
		rc =
		    run_skip(er->er_run, (size_t)i, who, role, reason, now, &v);
		/* A result of the action, if it still comes, is not this
		 * step's any more. */
		if (rc == 0 && v.rv_code == 0 && er->er_request[i] != 0) {
			ingest_action_cancel(e->e_d.cd_ingest,
			                     er->er_request[i]);
			er->er_request[i] = 0;
		}
	}
	if (rc != 0 || v.rv_code != 0) {
		snprintf(err, errlen, "%s", v.rv_reason);
		return v.rv_code ? v.rv_code : 409;
	}
	switch (op) {
	case CHK_EXECUTE:
		elog(er, who, "step %s executed by %s", step, who);
		break;
	case CHK_CONFIRM:
		elog(er, who, "step %s confirmed by %s", step, who);
		break;
	default:
		elog(er, who, "step %s skipped by %s: %s", step, who,
		     reason ? reason : "");
	}
	after_verdict(er, (size_t)i, &v);
	if (v.rv_send_action)
		send_action(er, (size_t)i);
	else if (v.rv_watch || v.rv_to == STEP_VERIFYING)
		check_verifying(er, (size_t)i, now);
	return 0;
}

void
checklists_action_late(struct checklists *e, const struct action_result *r)
{
	static const char sql[] =
	    "WITH s AS (UPDATE watchstand.checklist_steps SET result = $3, "
	    "error = CASE WHEN $4 THEN NULL ELSE $3 END, state = CASE WHEN "
	    "state = 'running' THEN CASE WHEN $4 THEN 'verifying' ELSE "
	    "'failed' END ELSE state END WHERE request_id = $1::numeric AND "
	    "host = $2 RETURNING run_id, step) INSERT INTO "
	    "watchstand.shift_log (kind, actor, text) SELECT 'checklist', $2, "
	    "'run ' || run_id || ': step ' || step || ': action result after "
	    "a restart: ' || $3 FROM s";
	char req[32], text[600];
	const char *params[4];

	snprintf(req, sizeof(req), "%" PRIu64, r->ax_request);
	snprintf(text, sizeof(text), "%s, status %d: %.400s",
	         proto_outcome_name(r->ax_outcome), (int)r->ax_status,
	         r->ax_reason && *r->ax_reason ? r->ax_reason
	         : r->ax_output                ? r->ax_output
	                                       : "");
	params[0] = req;
	params[1] = r->ax_host;
	params[2] = text;
	params[3] = r->ax_outcome == PROTO_OUT_OK ? "true" : "false";
	store_sql(e->e_d.cd_store, sql, 4, params);
	events_log_written(e->e_d.cd_events);
}

const char *
checklists_procedure(const struct checklists_conf *cc, const char *runbook)
{
	const struct checklist *cl;

	if (runbook == NULL)
		return NULL;
	cl = checklist_find(cc, runbook);
	return cl != NULL && cl->cl_kind == CK_PROCEDURE ? cl->cl_name : NULL;
}
