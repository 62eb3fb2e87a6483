/*
 * Agent actions over the link. One child per action name at a time; the
 * runner is the child's owner and reports once through the send hook.
 */
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include "watchstand/proto.h"
#include "action.h"
#include "agent.h"
#include "child.h"

#define ACTION_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"

/* One action being run: at most one per name. Kept by name, not by
 * position in the config, which a reload (SIGHUP) replaces. */
struct action_run {
	struct action_run *ru_next;
	struct action_runner *ru_runner;
	uint64_t ru_timeout_ms;
	struct child *ru_child;
	struct proto_action ru_req;
};

struct action_runner {
	struct event_base *ar_base;
	const struct agent_conf *ar_conf;
	action_send_fn ar_send;
	void *ar_arg;
	char **ar_env;
	struct action_run *ar_runs; /* running now */
};

const struct agent_action *
action_find(const struct agent_conf *conf, const char *name)
{
	size_t i;

	for (i = 0; i < conf->ac_nactions; i++)
		if (strcmp(conf->ac_actions[i].ac_name, name) == 0)
			return &conf->ac_actions[i];
	return NULL;
}

size_t
action_tail(const char *out, size_t len, char *dst, size_t dstlen)
{
	size_t max = dstlen - 1, skip = 0;

	if (max > PROTO_OUTPUT_MAX)
		max = PROTO_OUTPUT_MAX;
	if (len > max) {
		out += len - max;
		len = max;
		/* The cut may land inside a character: start at the next. */
		while (skip < 3 && skip < len &&
		       ((unsigned char)out[skip] & 0xc0) == 0x80)
			skip++;
		out += skip;
		len -= skip;
	}
	memcpy(dst, out, len);
	dst[len] = '\0';
	/* A NUL in the output would end the string early: make it '?'. */
	proto_text_clean(dst, len);
	return len;
}

void
action_result_from(const struct child_result *cr, uint64_t timeout_ms,
                   struct proto_action_result *r)
{
	double ms = cr->cr_seconds * 1000.0;

	r->ar_status = cr->cr_exited ? cr->cr_status : -cr->cr_status;
	r->ar_duration_ms = ms < 0 ? 0 : ms > 4e9 ? 4000000000u : (uint32_t)ms;
	action_tail(cr->cr_output, cr->cr_len, r->ar_output,
	            sizeof(r->ar_output));
	r->ar_reason[0] = '\0';
	if (cr->cr_timed_out) {
		r->ar_outcome = PROTO_OUT_TIMEOUT;
		snprintf(r->ar_reason, sizeof(r->ar_reason),
		         "timed out after %.1f s; its process group was killed",
		         timeout_ms / 1000.0);
	} else if (cr->cr_exited && cr->cr_status == 0)
		r->ar_outcome = PROTO_OUT_OK;
	else {
		r->ar_outcome = PROTO_OUT_FAILED;
		if (!cr->cr_exited)
			snprintf(r->ar_reason, sizeof(r->ar_reason),
			         "killed by signal %d", cr->cr_status);
	}
}

char **
action_env(const char *path, const char *lang)
{
	char **env = xcalloc(3, sizeof(*env));
	size_t n = 0;

	if (asprintf(&env[n++], "PATH=%s",
	             path != NULL && path[0] != '\0'
	                 ? path
	                 : ACTION_DEFAULT_PATH) == -1)
		abort();
	if (lang != NULL && lang[0] != '\0' &&
	    asprintf(&env[n++], "LANG=%s", lang) == -1)
		abort();
	return env;
}

/* Sends a result that needs no child: refused or error. */
static void
action_answer(struct action_runner *ar, const struct proto_action *a,
              int outcome, const char *reason)
{
	static struct proto_action_result r;

	memset(&r, 0, sizeof(r));
	r.ar_request = a->a_request;
	r.ar_outcome = outcome;
	snprintf(r.ar_reason, sizeof(r.ar_reason), "%s", reason);
	proto_text_clean(r.ar_reason, strlen(r.ar_reason));
	log_warnx("action %s (request %" PRIu64 ", run %" PRIu64
	          ", step %s): %s: %s",
	          a->a_name, a->a_request, a->a_run, a->a_step,
	          proto_outcome_name(outcome), reason);
	ar->ar_send(ar->ar_arg, &r);
}

static void
action_done(void *arg, const struct child_result *cr)
{
	struct action_run *ru = arg;
	struct action_runner *ar = ru->ru_runner;
	static struct proto_action_result r;

	struct action_run **pp;

	memset(&r, 0, sizeof(r));
	r.ar_request = ru->ru_req.a_request;
	action_result_from(cr, ru->ru_timeout_ms, &r);
	ru->ru_child = NULL;
	for (pp = &ar->ar_runs; *pp != NULL; pp = &(*pp)->ru_next)
		if (*pp == ru) {
			*pp = ru->ru_next;
			break;
		}
	if (r.ar_outcome == PROTO_OUT_OK)
		log_info("action %s (request %" PRIu64 ", run %" PRIu64
		         ", step %s): ok in %" PRIu32 " ms",
		         ru->ru_req.a_name, ru->ru_req.a_request,
		         ru->ru_req.a_run, ru->ru_req.a_step, r.ar_duration_ms);
	else
		log_warnx("action %s (request %" PRIu64 ", run %" PRIu64
		          ", step %s): %s, status %" PRId32 " after %" PRIu32
		          " ms%s%s",
		          ru->ru_req.a_name, ru->ru_req.a_request,
		          ru->ru_req.a_run, ru->ru_req.a_step,
		          proto_outcome_name(r.ar_outcome), r.ar_status,
		          r.ar_duration_ms, r.ar_reason[0] ? ": " : "",
		          r.ar_reason);
	ar->ar_send(ar->ar_arg, &r);
	free(ru);
}

void
action_request(struct action_runner *ar, const struct proto_action *a)
{
	const struct agent_action *ac = action_find(ar->ar_conf, a->a_name);
	struct action_run *ru;
	struct child_spec cs;
	char reason[PROTO_REASON_MAX];

	if (ac == NULL) {
		snprintf(reason, sizeof(reason), "no action '%s' on agent %s",
		         a->a_name, ar->ar_conf->ac_name);
		action_answer(ar, a, PROTO_OUT_REFUSED, reason);
		return;
	}
	if ((a->a_flags & PROTO_ACTION_DRILL) && !ac->ac_drill) {
		/* A rehearsal must not start or stop the real thing. */
		snprintf(
		    reason, sizeof(reason),
		    "DRILL: action '%s' on agent %s does not run in drills "
		    "(drill: false)",
		    a->a_name, ar->ar_conf->ac_name);
		action_answer(ar, a, PROTO_OUT_REFUSED, reason);
		return;
	}
	for (ru = ar->ar_runs; ru != NULL; ru = ru->ru_next)
		if (strcmp(ru->ru_req.a_name, a->a_name) == 0)
			break;
	if (ru != NULL) {
		/* Not queued: a second start while one runs is a mistake. */
		snprintf(reason, sizeof(reason),
		         "action '%s' is already running on agent %s (request "
		         "%" PRIu64 ")",
		         a->a_name, ar->ar_conf->ac_name, ru->ru_req.a_request);
		action_answer(ar, a, PROTO_OUT_REFUSED, reason);
		return;
	}
	memset(&cs, 0, sizeof(cs));
	cs.cs_argv = ac->ac_run;
	cs.cs_env = ar->ar_env;
	cs.cs_timeout_ms = ac->ac_timeout_ms;
	cs.cs_stderr = 1;
	cs.cs_tail = PROTO_OUTPUT_MAX;
	cs.cs_grace_ms = ACTION_GRACE_MS;
	if (ac->ac_user != NULL) {
		struct passwd *pw = getpwnam(ac->ac_user);
		if (pw == NULL) {
			snprintf(reason, sizeof(reason), "no user '%s'",
			         ac->ac_user);
			action_answer(ar, a, PROTO_OUT_ERROR, reason);
			return;
		}
		if (geteuid() == 0) {
			cs.cs_drop = 1;
			cs.cs_user = ac->ac_user;
			cs.cs_uid = pw->pw_uid;
			cs.cs_gid = pw->pw_gid;
		} else if (pw->pw_uid != geteuid()) {
			snprintf(reason, sizeof(reason),
			         "cannot run as user '%s': the agent does not "
			         "run as root",
			         ac->ac_user);
			action_answer(ar, a, PROTO_OUT_ERROR, reason);
			return;
		}
	}
	ru = xcalloc(1, sizeof(*ru));
	ru->ru_runner = ar;
	ru->ru_timeout_ms = ac->ac_timeout_ms;
	ru->ru_req = *a;
	ru->ru_child = child_spawn(ar->ar_base, &cs, action_done, ru);
	if (ru->ru_child == NULL) {
		snprintf(reason, sizeof(reason), "cannot start %s: %s",
		         ac->ac_run[0], strerror(errno));
		free(ru);
		action_answer(ar, a, PROTO_OUT_ERROR, reason);
		return;
	}
	ru->ru_next = ar->ar_runs;
	ar->ar_runs = ru;
	log_info("action %s (request %" PRIu64 ", run %" PRIu64
	         ", step %s): started %s",
	         a->a_name, a->a_request, a->a_run, a->a_step, ac->ac_run[0]);
}

void
action_request_cb(void *arg, const struct proto_action *a)
{
	action_request(arg, a);
}

struct action_runner *
action_runner_new(struct event_base *base, const struct agent_conf *conf,
                  action_send_fn send, void *arg)
{
	struct action_runner *ar = xcalloc(1, sizeof(*ar));

	ar->ar_base = base;
	ar->ar_conf = conf;
	ar->ar_send = send;
	ar->ar_arg = arg;
	/* The agent's own PATH and LANG, nothing else of its environment. */
	ar->ar_env = action_env(getenv("PATH"), getenv("LANG"));
	return ar;
}

void
action_runner_free(struct action_runner *ar)
{
	struct action_run *ru;
	size_t i;

	if (ar == NULL)
		return;
	while ((ru = ar->ar_runs) != NULL) {
		ar->ar_runs = ru->ru_next;
		log_warnx("action %s: killed, the agent is stopping",
		          ru->ru_req.a_name);
		child_cancel(ru->ru_child);
		free(ru);
	}
	for (i = 0; ar->ar_env[i] != NULL; i++)
		free(ar->ar_env[i]);
	free(ar->ar_env);
	free(ar);
}
