/*
 * Checklists and their runs: GET /checklists, opening a run, the runs
 * and their steps, and a person's execute, confirm and skip. The engine
 * (duty/checklists.h) decides; the database answers the reads.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "collector.h"
#include "duty/checklists.h"
#include "web/api_int.h"
#include "web/routes.h"

void
api_checklists_get(struct api_req *ar)
{
	const struct checklists_conf *cc = &ar->ar_c->c_conf.cc_checklists;
	json_t *out = json_array();
	size_t i, j;

	for (i = 0; i < cc->ck_n; i++) {
		const struct checklist *cl = &cc->ck_lists[i];
		json_t *steps = json_array();
		for (j = 0; j < cl->cl_nsteps; j++) {
			const struct checklist_step *s = &cl->cl_steps[j];
			json_t *after = json_array();
			size_t k;
			for (k = 0; k < s->cs_npred; k++)
				json_array_append_new(
				    after,
				    json_string(
				        cl->cl_steps[s->cs_pred[k]].cs_name));
			json_array_append_new(
			    steps,
			    json_pack("{s:s, s:s?, s:s?, s:s?, s:o, s:b, s:s?}",
			              "name", s->cs_name, "host", s->cs_host,
			              "action", s->cs_action, "manual",
			              s->cs_manual, "after", after,
			              "two_person", s->cs_two_person, "verify",
			              s->cs_verify.cv_series));
		}
		json_array_append_new(
		    out, json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:o}", "name",
		                   cl->cl_name, "kind",
		                   checklist_kind_names[cl->cl_kind], "phase",
		                   cl->cl_phase, "reverse_of",
		                   cl->cl_reverse_of, "description",
		                   cl->cl_description, "steps", steps));
	}
	http_reply_json(ar->ar_req, 200, out);
}

static void
api_run_opened(void *arg, int code, int64_t id, const char *err)
{
	struct api_pending *p = arg;

	if (p->p_req != NULL) {
		if (code == 201)
			http_reply_json(
			    p->p_req, 201,
			    json_pack("{s:I}", "id", (json_int_t)id));
		else
			api_error(p->p_req, code, err);
	}
	api_pending_end(p);
}

void
api_run_open(struct api_req *ar)
{
	struct api_pending *p;
	char err[256];
	int drill = 0, rc;

	if (ar->ar_body_len > 0 &&
	    (ar->ar_body == NULL ||
	     json_unpack(ar->ar_body, "{s?b}", "drill", &drill) != 0)) {
		api_error(ar->ar_req, 400,
		          "expected a JSON body {\"drill\": true|false}");
		return;
	}
	p = api_pending_new(ar->ar_c, ar->ar_req, ar->ar_user, NULL);
	api_pending_wait(p);
	rc = checklists_open(ar->ar_c->c_checklists, ar->ar_caps->rc_name,
	                     drill, ar->ar_user->s_login, api_run_opened, p,
	                     err, sizeof(err));
	if (rc != 0) {
		api_error(ar->ar_req, rc, err);
		api_pending_end(p);
	}
}

void
api_runs_get(struct api_req *ar)
{
	const char *params[1] = {evhttp_find_header(&ar->ar_query, "state")};

	api_query(ar,
	          "SELECT id, checklist, kind, drill, state, opened_by, "
	          "started_at, finished_at, extract(epoch FROM "
	          "coalesce(finished_at, now()) - started_at)::float8 AS "
	          "duration_s FROM watchstand.checklist_runs WHERE $1::text "
	          "IS NULL OR state = $1 ORDER BY id DESC LIMIT 500",
	          1, params, api_rows_done);
}

static void
api_run_done(struct api_pending *p, PGresult *r)
{
	json_t *o, *steps;
	json_error_t jerr;

	if (PQntuples(r) != 1) {
		api_error(p->p_req, 404, "no such run");
		return;
	}
	steps = json_loads(PQgetvalue(r, 0, 9), 0, &jerr);
	o = json_pack("{s:I, s:s, s:s, s:s, s:b, s:s, s:s, s:o, s:o, s:o}",
	              "id", (json_int_t)strtoll(PQgetvalue(r, 0, 0), NULL, 10),
	              "checklist", PQgetvalue(r, 0, 1), "kind",
	              PQgetvalue(r, 0, 2), "state", PQgetvalue(r, 0, 3),
	              "drill", strcmp(PQgetvalue(r, 0, 4), "t") == 0,
	              "opened_by", PQgetvalue(r, 0, 5), "started_at",
	              PQgetvalue(r, 0, 6), "finished_at",
	              PQgetisnull(r, 0, 7) ? json_null()
	                                   : json_string(PQgetvalue(r, 0, 7)),
	              "report",
	              PQgetisnull(r, 0, 8) ? json_null()
	                                   : json_string(PQgetvalue(r, 0, 8)),
	              "steps", steps ? steps : json_array());
	http_reply_json(p->p_req, 200, o);
}

void
api_run_get(struct api_req *ar)
{
	char id[32];
	const char *params[1] = {id};

	snprintf(id, sizeof(id), "%" PRId64, (int64_t)ar->ar_caps->rc_id);
	api_query(ar,
	          "SELECT r.id, r.checklist, r.kind, r.state, r.drill, "
	          "r.opened_by, r.started_at, r.finished_at, r.report, "
	          "coalesce((SELECT json_agg(json_build_object('name', "
	          "s.step, 'state', s.state, 'host', s.host, 'action', "
	          "s.action, 'manual', s.manual, 'executed_by', "
	          "s.executed_by, 'executed_at', s.executed_at, "
	          "'confirmed_by', s.confirmed_by, 'confirmed_at', "
	          "s.confirmed_at, 'skipped_by', s.skipped_by, "
	          "'skip_reason', s.skip_reason, 'value', s.value, "
	          "'value_at', s.value_at, 'result', s.result, 'error', "
	          "s.error, 'finished_at', s.finished_at, 'request_id', "
	          "s.request_id) ORDER BY s.ord) FROM "
	          "watchstand.checklist_steps s WHERE s.run_id = r.id), "
	          "'[]')::text FROM watchstand.checklist_runs r WHERE r.id = "
	          "$1::bigint",
	          1, params, api_run_done);
}

static void
api_step(struct api_req *ar, enum checklists_op op)
{
	const char *reason = NULL;
	char err[300];
	int rc;

	if (op == CHK_SKIP &&
	    (ar->ar_body == NULL ||
	     json_unpack(ar->ar_body, "{s:s}", "reason", &reason) != 0 ||
	     reason[0] == '\0')) {
		api_error(ar->ar_req, 400,
		          "expected a JSON body {\"reason\": \"why\"}");
		return;
	}
	rc = checklists_step(ar->ar_c->c_checklists, ar->ar_caps->rc_id,
	                     ar->ar_caps->rc_name, op, ar->ar_user->s_login,
	                     (enum user_role)ar->ar_user->s_role, reason, err,
	                     sizeof(err));
	if (rc != 0) {
		api_error(ar->ar_req, rc, err);
		return;
	}
	http_reply_json(ar->ar_req, 200,
	                json_pack("{s:I, s:s}", "run",
	                          (json_int_t)ar->ar_caps->rc_id, "step",
	                          ar->ar_caps->rc_name));
}

void
api_step_execute(struct api_req *ar)
{
	api_step(ar, CHK_EXECUTE);
}

void
api_step_confirm(struct api_req *ar)
{
	api_step(ar, CHK_CONFIRM);
}

void
api_step_skip(struct api_req *ar)
{
	api_step(ar, CHK_SKIP);
}
