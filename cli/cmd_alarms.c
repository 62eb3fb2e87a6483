/* Alarm commands: status, alarms, ack, shelve, unshelve. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

int
cmd_status(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	json_t *out = NULL, *counts, *v;
	const char *k;

	(void)a;
	(void)argc;
	(void)argv;
	if (cli_call(c, "GET", "/status", NULL, &out) != 200) {
		json_decref(out);
		return 1;
	}
	if (c->json)
		return cli_print_json(out);
	cli_zone_set(c, cli_str(out, "timezone"));
	printf("phase: %s   user: %s   timezone: %s\n", cli_str(out, "phase"),
	       cli_str(out, "user"), cli_str(out, "timezone"));
	counts = json_object_get(out, "alarms");
	json_object_foreach(counts, k, v)
	    printf("  %-24s %lld\n", k, (long long)json_integer_value(v));
	if (json_object_size(counts) == 0)
		printf("  no open alarms\n");
	json_decref(out);
	return 0;
}

int
cmd_alarms(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	char path[192], st[128], value[64], when[CLI_TIME_LEN];
	json_t *out = NULL, *al;
	size_t i;

	(void)argc;
	(void)argv;
	/* A state the collector does not know: it answers with the list. */
	snprintf(path, sizeof(path), "/alarms%s%s", a->state ? "?state=" : "",
	         a->state ? cli_escape(a->state, st, sizeof(st)) : "");
	if (cli_call(c, "GET", path, NULL, &out) != 200) {
		json_decref(out);
		return 1;
	}
	if (c->json)
		return cli_print_json(out);
	if (json_array_size(out) == 0) {
		if (a->state != NULL)
			printf("no alarms %s\n", a->state);
		else
			printf("no open alarms\n");
		json_decref(out);
		return 0;
	}
	printf("%-6s %-9s %-23s %-14s %-22s %-24s %10s  %s\n", "ID", "SEVERITY",
	       "STATE", "HOST", "RULE", "SERIES", "VALUE", "RAISED");
	json_array_foreach(out, i, al)
	{
		printf(
		    "%-6s %s%-9s%s %-23s %-14s %-22s %-24s %10s  %s\n",
		    cli_str(al, "id"),
		    cli_sev_colour(c, cli_str(al, "severity")),
		    cli_str(al, "severity"), c->colour ? "\033[0m" : "",
		    cli_str(al, "state"), cli_str(al, "host"),
		    cli_str(al, "rule"), cli_str(al, "series"),
		    cli_number(json_string_value(json_object_get(al, "value")),
		               value, sizeof(value)),
		    cli_time_of(c, al, "raised_at", when, sizeof(when)));
	}
	json_decref(out);
	return 0;
}

int
cmd_ack(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	char path[128], id[64];
	json_t *out = NULL;
	long code;

	(void)argc;
	if (cli_id("ack", "an alarm id", argv[0]) == -1)
		return 2;
	snprintf(path, sizeof(path), "/alarms/%s/ack",
	         cli_escape(argv[0], id, sizeof(id)));
	code = cli_call(c, "POST", path,
	                a->msg ? json_pack("{s:s}", "comment", a->msg) : NULL,
	                &out);
	if (code == 200)
		printf("alarm %s acknowledged: now %s\n", argv[0],
		       cli_str(out, "state"));
	json_decref(out);
	return code == 200 ? 0 : 1;
}

static int
alarms_shelve(struct cli *c, const char *id, const char *dur,
              const char *reason, int unshelve)
{
	char path[128], eid[64], when[CLI_TIME_LEN];
	json_t *out = NULL;
	int64_t minutes = 0;
	long code;

	if (cli_id(unshelve ? "unshelve" : "shelve", "an alarm id", id) == -1)
		return 2;
	if (!unshelve && (reason == NULL || reason[0] == '\0' ||
	                  cli_minutes(dur, &minutes) == -1)) {
		fprintf(stderr, "watchstand: shelve ID --for 30m --reason TEXT "
		                "(at least 1m, and a reason)\n");
		return 2;
	}
	snprintf(path, sizeof(path), "/alarms/%s/%s",
	         cli_escape(id, eid, sizeof(eid)),
	         unshelve ? "unshelve" : "shelve");
	code = cli_call(c, "POST", path,
	                unshelve
	                    ? NULL
	                    : json_pack("{s:I, s:s}", "minutes",
	                                (json_int_t)minutes, "reason", reason),
	                &out);
	if (code == 200)
		printf("alarm %s %s: now %s%s%s\n", id,
		       unshelve ? "unshelved" : "shelved",
		       cli_str(out, "state"), unshelve ? "" : " until ",
		       unshelve ? ""
		                : cli_time_of(c, out, "shelved_until", when,
		                              sizeof(when)));
	json_decref(out);
	return code == 200 ? 0 : 1;
}

int
cmd_shelve(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	(void)argc;
	return alarms_shelve(c, argv[0], a->dur, a->reason, 0);
}

int
cmd_unshelve(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	(void)a;
	(void)argc;
	return alarms_shelve(c, argv[0], NULL, NULL, 1);
}
