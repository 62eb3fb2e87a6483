/*
 * exec probe: a Nagios-compatible plugin run without a shell, in its own
 * process group, killed as a group at its timeout. Exit 0..3 is the status;
 * perfdata becomes series; the summary becomes an event when the status
 * changes. Output that cannot be parsed gives status unknown and counts an
 * error; the agent carries on.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "watchstand/log.h"
#include "watchstand/proto.h"
#include "watchstand/xalloc.h"
#include "agent.h"
#include "child.h"
#include "perfdata.h"

enum { ST_OK, ST_WARNING, ST_CRITICAL, ST_UNKNOWN };
static const char *const state_names[] = {"OK", "WARNING", "CRITICAL",
                                          "UNKNOWN"};

struct exec_state {
	char **ex_argv;
	char **ex_env;
	size_t ex_nenv;
	char *ex_user;
	uid_t ex_uid;
	gid_t ex_gid;
	uint64_t ex_timeout_ms;
	struct child *ex_child;
	int64_t ex_started_us;
	int ex_last_status; /* -1 before the first run */
	uint64_t ex_errors;
	int ex_error_logged;
	int ex_skip_logged;
	struct probe *ex_probe;
};

static const char *const probe_exec_keys[] = {"command", "timeout", "user",
                                              "env", NULL};

static void
env_add(struct exec_state *st, const char *k, const char *v)
{
	st->ex_env = xrealloc(st->ex_env, (st->ex_nenv + 2) * sizeof(char *));
	if (asprintf(&st->ex_env[st->ex_nenv], "%s=%s", k, v) == -1)
		abort();
	st->ex_env[++st->ex_nenv] = NULL;
}

static int
probe_exec_configure(struct probe *p, struct yconf *yc, yaml_node_t *node,
                     const char *path)
{
	struct exec_state *st = xcalloc(1, sizeof(*st));
	yaml_node_t *env;
	yaml_node_pair_t *pair;
	char epath[256];

	p->pr_state = st;
	st->ex_probe = p;
	st->ex_last_status = -1;
	st->ex_timeout_ms = 10000;
	if (yconf_strlist(yc, node, path, "command", 1, &st->ex_argv, NULL) ==
	        1 &&
	    st->ex_argv[0][0] != '/')
		yconf_error(yc, yconf_get(yc, node, "command"),
		            "%s.command: the plugin must be an absolute path "
		            "(no shell runs it)",
		            path);
	if (yconf_duration(yc, node, path, "timeout", 0, &st->ex_timeout_ms) ==
	        1 &&
	    st->ex_timeout_ms < 100)
		yconf_error(yc, yconf_get(yc, node, "timeout"),
		            "%s.timeout: must be at least 100ms", path);
	if (yconf_str(yc, node, path, "user", 0, &st->ex_user) == 1) {
		struct passwd *pw = getpwnam(st->ex_user);
		if (pw == NULL)
			yconf_error(yc, yconf_get(yc, node, "user"),
			            "%s.user: no such user '%s'", path,
			            st->ex_user);
		else {
			st->ex_uid = pw->pw_uid;
			st->ex_gid = pw->pw_gid;
		}
	}
	/* A small, predictable environment, as NRPE gives plugins. */
	env_add(st, "PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
	env_add(st, "LC_ALL", "C");
	env = yconf_get(yc, node, "env");
	yconf_path(epath, sizeof(epath), path, "env");
	if (env != NULL && !yconf_is_map(env))
		yconf_error(yc, env, "%s: expected a mapping of NAME: value",
		            epath);
	else if (env != NULL)
		for (pair = env->data.mapping.pairs.start;
		     pair < env->data.mapping.pairs.top; pair++) {
			const char *k = yconf_scalar(yconf_node(yc, pair->key));
			const char *v =
			    yconf_scalar(yconf_node(yc, pair->value));
			if (k == NULL || v == NULL || k[0] == '\0' ||
			    strchr(k, '=') != NULL)
				yconf_error(
				    yc, yconf_node(yc, pair->key),
				    "%s: each entry must be NAME: value",
				    epath);
			else
				env_add(st, k, v);
		}
	return 0;
}

struct perf_ctx {
	struct probe *p;
};

/* Labels become series names: anything unusual turns into '_'. */
static void
probe_exec_perf(void *arg, const char *label, double value, const char *uom)
{
	struct perf_ctx *ctx = arg;
	char name[PROTO_NAME_MAX + 1];
	size_t i;

	(void)uom;
	snprintf(name, sizeof(name), "%s", label);
	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.' || c == '/'))
			name[i] = '_';
	}
	probe_sample(ctx->p, NULL, name, value);
}

static void
probe_exec_done(void *arg, const struct child_result *r)
{
	struct exec_state *st = arg;
	struct probe *p = st->ex_probe;
	struct perf_ctx ctx = {p};
	char summary[512], event[600];
	const char *why = NULL;
	int64_t now_us = p->pr_now_us;
	int status;

	st->ex_child = NULL;
	p->pr_now_us = st->ex_started_us;
	summary[0] = '\0';
	if (r->cr_timed_out) {
		status = ST_UNKNOWN;
		snprintf(
		    summary, sizeof(summary),
		    "UNKNOWN - plugin timed out after %.1f s and was killed",
		    st->ex_timeout_ms / 1000.0);
	} else if (!r->cr_exited) {
		status = ST_UNKNOWN;
		snprintf(summary, sizeof(summary),
		         "UNKNOWN - plugin killed by signal %d", r->cr_status);
	} else {
		status = r->cr_status <= 3 ? r->cr_status : ST_UNKNOWN;
		if (r->cr_len == 0)
			why = "no output";
		else if (perfdata_output(r->cr_output, summary, sizeof(summary),
		                         probe_exec_perf, &ctx, &why) != -1)
			why = NULL;
		if (why != NULL) {
			st->ex_errors++;
			status = ST_UNKNOWN;
			if (!st->ex_error_logged++)
				log_warnx("probe %s: %s: unusable output (%s)",
				          p->pr_name, st->ex_argv[0], why);
			if (summary[0] == '\0')
				snprintf(summary, sizeof(summary),
				         "UNKNOWN - unusable plugin output: %s",
				         why);
		} else
			st->ex_error_logged = 0;
	}
	probe_sample(p, NULL, "status", status);
	probe_sample(p, NULL, "duration_s", r->cr_seconds);
	probe_sample(p, NULL, "errors", (double)st->ex_errors);
	if (status != st->ex_last_status) {
		/* Plugins name their state in the summary already. */
		if (summary[0] != '\0')
			snprintf(event, sizeof(event), "%s", summary);
		else
			snprintf(event, sizeof(event), "%s",
			         state_names[status]);
		probe_event(p, event);
		st->ex_last_status = status;
	}
	p->pr_now_us = now_us;
}

static void
probe_exec_run(struct probe *p)
{
	struct exec_state *st = p->pr_state;
	struct child_spec cs;

	if (st->ex_child != NULL) {
		if (!st->ex_skip_logged++)
			log_warnx("probe %s: the last run has not ended, "
			          "skipping (interval shorter than the plugin "
			          "takes?)",
			          p->pr_name);
		return;
	}
	memset(&cs, 0, sizeof(cs));
	cs.cs_argv = st->ex_argv;
	cs.cs_env = st->ex_env;
	cs.cs_timeout_ms = st->ex_timeout_ms;
	if (st->ex_user != NULL && geteuid() == 0) {
		cs.cs_drop = 1;
		cs.cs_user = st->ex_user;
		cs.cs_uid = st->ex_uid;
		cs.cs_gid = st->ex_gid;
	}
	st->ex_started_us = p->pr_now_us;
	st->ex_child = child_spawn(p->pr_base, &cs, probe_exec_done, st);
	if (st->ex_child == NULL)
		log_warn("probe %s: cannot start %s", p->pr_name,
		         st->ex_argv[0]);
}

static void
probe_exec_free(struct probe *p)
{
	struct exec_state *st = p->pr_state;

	if (st == NULL)
		return;
	child_cancel(st->ex_child);
	yconf_strlist_free(st->ex_argv);
	yconf_strlist_free(st->ex_env);
	free(st->ex_user);
	free(st);
}

const struct probe_type probe_type_exec = {
    .pt_name = "exec",
    .pt_keys = probe_exec_keys,
    .pt_configure = probe_exec_configure,
    .pt_run = probe_exec_run,
    .pt_free = probe_exec_free,
};
