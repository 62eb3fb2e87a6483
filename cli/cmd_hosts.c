/*
 * Host commands: oos (out of service: the host's alarms held back for a
 * time, with a reason) and ins (back in service), over POST
 * /hosts/{name}/out-of-service and /in-service.
 */
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "cli.h"

int
cmd_oos(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	char path[512], host[384], when[CLI_TIME_LEN], n[32];
	json_t *out = NULL;
	int64_t minutes;
	long code;

	(void)argc;
	if (a->reason == NULL || a->reason[0] == '\0' ||
	    cli_minutes(a->dur, &minutes) == -1) {
		fprintf(stderr, "watchstand: oos HOST --for 4h --reason TEXT "
		                "(at least 1m, and a reason)\n");
		return 2;
	}
	snprintf(path, sizeof(path), "/hosts/%s/out-of-service",
	         cli_escape(argv[0], host, sizeof(host)));
	code = cli_call(c, "POST", path,
	                json_pack("{s:I, s:s}", "minutes", (json_int_t)minutes,
	                          "reason", a->reason),
	                &out);
	if (code != 200) {
		json_decref(out);
		return 1;
	}
	if (c->json)
		return cli_print_json(out);
	printf("host %s out of service until %s (%s alarm(s) held back)\n",
	       argv[0], cli_time_of(c, out, "until", when, sizeof(when)),
	       cli_scalar(out, "alarms", n, sizeof(n)));
	json_decref(out);
	return 0;
}

int
cmd_ins(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	char path[512], host[384], n[32];
	json_t *out = NULL;
	long code;

	(void)a;
	(void)argc;
	snprintf(path, sizeof(path), "/hosts/%s/in-service",
	         cli_escape(argv[0], host, sizeof(host)));
	code = cli_call(c, "POST", path, NULL, &out);
	if (code != 200) {
		json_decref(out);
		return 1;
	}
	if (c->json)
		return cli_print_json(out);
	printf("host %s back in service (%s held-back alarm(s) closed; its "
	       "series are evaluated afresh)\n",
	       argv[0], cli_scalar(out, "alarms", n, sizeof(n)));
	json_decref(out);
	return 0;
}
