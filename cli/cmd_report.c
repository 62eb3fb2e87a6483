/* report: the KPIs of a shift or a day (docs/kpis.md). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"

int
cmd_report(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	char path[160], day[16], from[CLI_TIME_LEN], to[CLI_TIME_LEN], num[40];
	json_t *out = NULL, *kpis, *k, *label;
	const char *l, *m;
	size_t i;
	time_t now;
	struct tm tm;

	(void)argc;
	(void)argv;
	if (a->shift != NULL) {
		if (cli_id("report --shift", "a shift id", a->shift) == -1)
			return 2;
		snprintf(path, sizeof(path), "/shifts/%s/report", a->shift);
	} else {
		/* Today on the calendar, not on this machine's clock face. */
		if (a->day == NULL) {
			cli_zone(c);
			now = time(NULL);
			localtime_r(&now, &tm);
			strftime(day, sizeof(day), "%Y-%m-%d", &tm);
		}
		snprintf(path, sizeof(path), "/report?day=%s",
		         a->day ? a->day : day);
	}
	if (cli_call(c, "GET", path, NULL, &out) != 200) {
		json_decref(out);
		return 1;
	}
	if (c->json)
		return cli_print_json(out);
	printf("KPIs from %s to %s\n",
	       cli_time_of(c, out, "from", from, sizeof(from)),
	       cli_time_of(c, out, "to", to, sizeof(to)));
	kpis = json_object_get(out, "kpis");
	for (i = 0; i < json_array_size(kpis); i++) {
		k = json_array_get(kpis, i);
		m = cli_str(k, "metric");
		label = json_object_get(k, "label");
		l = json_is_string(label) ? json_string_value(label) : "";
		/* As measured (15 digits), "-" for a KPI without a value (no
		 * alarms: no share acknowledged in time), never 0.000. */
		printf("  %-20s %-24s %12s\n", m, l,
		       cli_scalar(k, "value", num, sizeof(num)));
	}
	json_decref(out);
	return 0;
}
