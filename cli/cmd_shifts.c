/* Shift commands: shift (the current one), handover, accept. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

int
cmd_shift(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	json_t *out = NULL, *od;
	size_t i;
	char id[32], from[CLI_TIME_LEN], to[CLI_TIME_LEN];

	(void)a;
	(void)argc;
	(void)argv;
	if (cli_call(c, "GET", "/shifts/current", NULL, &out) != 200) {
		json_decref(out);
		return 1;
	}
	if (c->json)
		return cli_print_json(out);
	printf("shift %s (%s): %s until %s, %s\n", cli_str(out, "name"),
	       cli_scalar(out, "id", id, sizeof(id)),
	       cli_time_of(c, out, "started_at", from, sizeof(from)),
	       cli_time_of(c, out, "ends_at", to, sizeof(to)),
	       cli_str(out, "state"));
	printf("on duty:");
	od = json_object_get(out, "on_duty");
	for (i = 0; i < json_array_size(od); i++)
		printf("%s %s", i ? "," : "",
		       json_string_value(json_array_get(od, i)));
	printf("%s\nlead: %s\n", json_array_size(od) ? "" : " nobody",
	       cli_str(out, "lead"));
	json_decref(out);
	return 0;
}

int
cmd_handover(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	json_t *out = NULL;
	long code;
	char id[32], sid[32];

	(void)argc;
	(void)argv;
	code =
	    cli_call(c, "POST", "/shifts/handover",
	             json_pack("{s:s}", "notes", a->msg ? a->msg : ""), &out);
	if (code == 201) {
		if (c->json)
			return cli_print_json(out);
		printf("handover %s of shift %s: report sha256 %s, chain head "
		       "%s:%s\n",
		       cli_scalar(out, "id", id, sizeof(id)),
		       cli_scalar(out, "shift_id", sid, sizeof(sid)),
		       cli_str(out, "report_sha256"),
		       cli_str(out, "chain_head_id"),
		       cli_str(out, "chain_head"));
	}
	json_decref(out);
	return code == 201 ? 0 : 1;
}

int
cmd_accept(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	json_t *out = NULL;
	char path[96];
	long code;

	(void)argc;
	if (cli_id("accept", "a shift id", argv[0]) == -1)
		return 2;
	snprintf(path, sizeof(path), "/shifts/%s/accept", argv[0]);
	code =
	    cli_call(c, "POST", path,
	             json_pack("{s:s}", "notes", a->msg ? a->msg : ""), &out);
	if (code == 200)
		printf("accepted the handover of shift %s (report sha256 %s)\n",
		       argv[0], cli_str(out, "report_sha256"));
	json_decref(out);
	return code == 200 ? 0 : 1;
}
