/*
 * Checklist commands: checklists, run, runs, steps, exec, confirm, skip,
 * over GET /checklists, POST /checklists/{name}/runs, GET /runs,
 * GET /runs/{id} and POST /runs/{id}/steps/{step}/execute|confirm|skip.
 * The answers are read tolerantly: members the CLI does not know are
 * ignored, a missing one prints "-", ids and values may be numbers or
 * strings. An error (a 409 refusal too) prints the server's text and
 * exits 1; --json prints the answer as it came.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

/* The array of an answer: the answer itself, or its member `key`. */
static json_t *
checklists_list(json_t *out, const char *key)
{
	if (json_is_array(out))
		return out;
	return json_object_get(out, key);
}

/* How many steps: a count, or the length of a list of steps. */
static const char *
checklists_nsteps(json_t *cl, char *buf, size_t len)
{
	json_t *s = json_object_get(cl, "steps");

	if (json_is_array(s)) {
		snprintf(buf, len, "%zu", json_array_size(s));
		return buf;
	}
	return cli_scalar(cl, "steps", buf, len);
}

/* A schedule: {"phase": P} prints P; a string as it is. */
static const char *
checklists_schedule(json_t *cl, char *buf, size_t len)
{
	json_t *s = json_object_get(cl, "schedule");

	if (json_is_object(s))
		return cli_scalar(s, "phase", buf, len);
	return cli_scalar(cl, "schedule", buf, len);
}

/* The open run: an id, or an object with one, under a few likely names. */
static const char *
checklists_open_run(json_t *cl, char *buf, size_t len)
{
	static const char *keys[] = {"open_run", "run", "open_run_id",
	                             "run_id"};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *r = json_object_get(cl, keys[i]);
		if (r == NULL || json_is_null(r))
			continue;
		if (json_is_object(r))
			return cli_scalar(r, "id", buf, len);
		return cli_scalar(cl, keys[i], buf, len);
	}
	return "-";
}

static int
checklists_is_drill(json_t *o)
{
	return json_is_true(json_object_get(o, "drill"));
}

int
cmd_checklists(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	char b1[64], b2[64], b3[64];
	json_t *out = NULL, *list, *cl;
	size_t i;

	(void)a;
	(void)argc;
	(void)argv;
	if (cli_call(c, "GET", "/checklists", NULL, &out) != 200) {
		json_decref(out);
		return 1;
	}
	if (c->json)
		return cli_print_json(out);
	list = checklists_list(out, "checklists");
	if (json_array_size(list) > 0)
		printf("%-24s %-10s %5s  %-12s %s\n", "NAME", "KIND", "STEPS",
		       "SCHEDULE", "OPEN RUN");
	json_array_foreach(list, i, cl)
	{
		printf("%-24s %-10s %5s  %-12s %s\n", cli_str(cl, "name"),
		       cli_str(cl, "kind"),
		       checklists_nsteps(cl, b1, sizeof(b1)),
		       checklists_schedule(cl, b2, sizeof(b2)),
		       checklists_open_run(cl, b3, sizeof(b3)));
	}
	if (json_array_size(list) == 0)
		printf("no checklists\n");
	json_decref(out);
	return 0;
}

int
cmd_run(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	char path[512], name[384], id[64];
	json_t *out = NULL;
	long code;

	(void)argc;
	snprintf(path, sizeof(path), "/checklists/%s/runs",
	         cli_escape(argv[0], name, sizeof(name)));
	code = cli_call(c, "POST", path,
	                a->drill ? json_pack("{s:b}", "drill", 1) : NULL, &out);
	if (code < 200 || code > 299) {
		json_decref(out);
		return 1;
	}
	if (c->json)
		return cli_print_json(out);
	printf("run %s opened: %s%s\n", cli_scalar(out, "id", id, sizeof(id)),
	       argv[0], a->drill || checklists_is_drill(out) ? " DRILL" : "");
	json_decref(out);
	return 0;
}

int
cmd_runs(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	char path[256], st[128], id[64], from[CLI_TIME_LEN], to[CLI_TIME_LEN];
	json_t *out = NULL, *list, *r;
	size_t i;

	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "/runs%s%s", a->state ? "?state=" : "",
	         a->state ? cli_escape(a->state, st, sizeof(st)) : "");
	if (cli_call(c, "GET", path, NULL, &out) != 200) {
		json_decref(out);
		return 1;
	}
	if (c->json)
		return cli_print_json(out);
	list = checklists_list(out, "runs");
	if (json_array_size(list) > 0)
		printf("%-6s %-24s %-10s %-8s %-26s  %s\n", "ID", "CHECKLIST",
		       "KIND", "STATE", "STARTED", "FINISHED");
	json_array_foreach(list, i, r)
	{
		printf("%-6s %-24s %-10s %-8s %-26s  %s%s\n",
		       cli_scalar(r, "id", id, sizeof(id)),
		       cli_str(r, "checklist"), cli_str(r, "kind"),
		       cli_str(r, "state"),
		       cli_time_of(c, r, "started_at", from, sizeof(from)),
		       cli_time_of(c, r, "finished_at", to, sizeof(to)),
		       checklists_is_drill(r) ? "  DRILL" : "");
	}
	if (json_array_size(list) == 0)
		printf("no runs\n");
	json_decref(out);
	return 0;
}

#define STEP_COLS 7
#define STEP_VALUE 5 /* a number, printed as measured */

static const char *
steps_cell(json_t *s, const char *key, int k, char *buf, size_t len)
{
	char raw[64];
	const char *v = cli_scalar(s, key, raw, sizeof(raw));

	if (k == STEP_VALUE)
		return cli_number(v, buf, len);
	snprintf(buf, len, "%s", v);
	return buf;
}

int
cmd_steps(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	static const char *keys[STEP_COLS] = {
	    "name",         "host",  "state", "executed_by",
	    "confirmed_by", "value", "error"};
	static const char *heads[STEP_COLS] = {
	    "STEP",         "HOST",  "STATE", "EXECUTED BY",
	    "CONFIRMED BY", "VALUE", "ERROR"};
	char path[256], rid[64], buf[1024];
	int width[STEP_COLS];
	json_t *out = NULL, *steps, *s;
	size_t i;
	int k;

	(void)a;
	(void)argc;
	if (cli_id("steps", "a run id", argv[0]) == -1)
		return 2;
	snprintf(path, sizeof(path), "/runs/%s",
	         cli_escape(argv[0], rid, sizeof(rid)));
	if (cli_call(c, "GET", path, NULL, &out) != 200) {
		json_decref(out);
		return 1;
	}
	if (c->json)
		return cli_print_json(out);
	printf("run %s: %s (%s) %s%s\n",
	       cli_scalar(out, "id", rid, sizeof(rid)),
	       cli_str(out, "checklist"), cli_str(out, "kind"),
	       cli_str(out, "state"), checklists_is_drill(out) ? " DRILL" : "");
	steps = json_object_get(out, "steps");
	/* Aligned: each column as wide as its widest cell. */
	for (k = 0; k < STEP_COLS; k++)
		width[k] = (int)strlen(heads[k]);
	json_array_foreach(steps, i, s)
	{
		for (k = 0; k < STEP_COLS; k++) {
			int w = (int)strlen(
			    steps_cell(s, keys[k], k, buf, sizeof(buf)));
			if (w > width[k])
				width[k] = w;
		}
	}
	if (json_array_size(steps) == 0) {
		printf("no steps\n");
		json_decref(out);
		return 0;
	}
	for (k = 0; k < STEP_COLS - 1; k++)
		printf("%-*s  ", width[k], heads[k]);
	printf("%s\n", heads[k]);
	json_array_foreach(steps, i, s)
	{
		for (k = 0; k < STEP_COLS - 1; k++)
			printf("%-*s  ", width[k],
			       steps_cell(s, keys[k], k, buf, sizeof(buf)));
		printf("%s\n", steps_cell(s, keys[k], k, buf, sizeof(buf)));
	}
	json_decref(out);
	return 0;
}

/*
 * The state a step is in after a call: the answer may be the step, or the
 * run with its steps.
 */
static const char *
checklists_step_state(json_t *out, const char *step)
{
	json_t *steps = json_object_get(out, "steps"), *s;
	size_t i;

	json_array_foreach(steps, i, s)
	{
		if (strcmp(cli_str(s, "name"), step) == 0)
			return cli_str(s, "state");
	}
	if (json_is_string(json_object_get(out, "step_state")))
		return cli_str(out, "step_state");
	return cli_str(out, "state");
}

static int
checklists_step_call(struct cli *c, const char *run, const char *step,
                     const char *verb, json_t *body, const char *done)
{
	char path[1024], er[64], es[384];
	json_t *out = NULL;
	long code;

	if (cli_id(strcmp(verb, "execute") == 0 ? "exec" : verb, "a run id",
	           run) == -1) {
		json_decref(body);
		return 2;
	}
	snprintf(path, sizeof(path), "/runs/%s/steps/%s/%s",
	         cli_escape(run, er, sizeof(er)),
	         cli_escape(step, es, sizeof(es)), verb);
	code = cli_call(c, "POST", path, body, &out);
	if (code < 200 || code > 299) {
		json_decref(out);
		return 1;
	}
	if (c->json)
		return cli_print_json(out);
	{
		/* The answer may carry the step's new state, or only say
		 * what was done: `watchstand steps` shows the rest. */
		const char *st = checklists_step_state(out, step);
		if (strcmp(st, "-") == 0)
			printf("run %s step %s %s\n", run, step, done);
		else
			printf("run %s step %s %s: now %s\n", run, step, done,
			       st);
	}
	json_decref(out);
	return 0;
}

int
cmd_exec(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	(void)a;
	(void)argc;
	return checklists_step_call(c, argv[0], argv[1], "execute", NULL,
	                            "executed");
}

int
cmd_confirm(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	(void)a;
	(void)argc;
	return checklists_step_call(c, argv[0], argv[1], "confirm", NULL,
	                            "confirmed");
}

int
cmd_skip(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	(void)argc;
	if (a->reason == NULL || a->reason[0] == '\0') {
		fprintf(stderr,
		        "watchstand: skip RUN STEP --reason TEXT (a reason)\n");
		return 2;
	}
	return checklists_step_call(c, argv[0], argv[1], "skip",
	                            json_pack("{s:s}", "reason", a->reason),
	                            "skipped");
}
