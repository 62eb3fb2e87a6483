/*
 * watchstand: the watchstander's terminal tool, over the collector's HTTP
 * API. Server and token from WATCHSTAND_URL / WATCHSTAND_TOKEN or the
 * file `watchstand login` writes (WATCHSTAND_CONFIG, or
 * ~/.config/watchstand/cli.yaml).
 *
 * Options are parsed here, once, for every command; the command is looked
 * up in cmd_table[] (name, usage, how many arguments, handler) and its
 * handler, in the cmd_*.c file of its group, gets the arguments after its
 * name. A new command is a row here and a function there.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "watchstand/version.h"

#include "cli.h"

static int cmd_help(struct cli *, const struct cli_args *, int, char **);

static const struct cmd_entry cmd_table[] = {
    {"login", "[LOGIN]", "log in (password on the terminal or stdin)", 0, 1,
     cmd_login},
    {"logout", "", "end the session and forget the token", 0, 0, cmd_logout},
    {"status", "", "phase and open alarm counts", 0, 0, cmd_status},
    {"alarms", "[--state STATE]", "open alarms", 0, 0, cmd_alarms},
    {"ack", "ID [-m TEXT]", "acknowledge an alarm", 1, 1, cmd_ack},
    {"shelve", "ID --for 30m --reason TEXT", "shelve an alarm for a time", 1, 1,
     cmd_shelve},
    {"unshelve", "ID", "back to the state it was shelved from", 1, 1,
     cmd_unshelve},
    {"log", "[[--carry] TEXT | --since 8h]",
     "write a note in the shift log (--carry: into every handover until "
     "cleared), or read it",
     0, 1, cmd_log},
    {"shift", "", "the current shift: who is on duty, who leads", 0, 0,
     cmd_shift},
    {"handover", "[-m NOTES]", "hand the current shift over; prints its report",
     0, 0, cmd_handover},
    {"accept", "ID [-m NOTES]", "accept the handover of shift ID", 1, 1,
     cmd_accept},
    {"tail", "", "follow the shift log as it is written (alarms, acks, notes)",
     0, 0, cmd_tail},
    {"oos", "HOST --for 4h --reason TEXT",
     "take a host out of service: its alarms held back for a time", 1, 1,
     cmd_oos},
    {"ins", "HOST", "put a host back in service", 1, 1, cmd_ins},
    {"checklists", "", "checklists: kind, steps, schedule, open run", 0, 0,
     cmd_checklists},
    {"run", "NAME [--drill]", "open a run of a checklist; prints its id", 1, 1,
     cmd_run},
    {"runs", "[--state STATE]", "checklist runs", 0, 0, cmd_runs},
    {"steps", "RUN", "a run's steps: state, who executed and confirmed", 1, 1,
     cmd_steps},
    {"exec", "RUN STEP", "execute a step (or mark a manual step done)", 2, 2,
     cmd_exec},
    {"confirm", "RUN STEP", "confirm a two-person step (a second person)", 2, 2,
     cmd_confirm},
    {"skip", "RUN STEP --reason TEXT", "skip a step (a lead)", 2, 2, cmd_skip},
    {"report", "[--shift ID | --day DATE]", "KPIs of a shift or a day", 0, 0,
     cmd_report},
    {"help", "", "this list", 0, 0, cmd_help},
};

#define CMD_COUNT (sizeof(cmd_table) / sizeof(cmd_table[0]))

static void
cmd_usage_print(FILE *fp)
{
	char left[64];
	size_t i;

	fprintf(fp, "usage: watchstand [--json] COMMAND [ARGUMENTS]\n"
	            "       watchstand COMMAND --help | --version\n");
	for (i = 0; i < CMD_COUNT; i++) {
		const struct cmd_entry *ce = &cmd_table[i];
		snprintf(left, sizeof(left), "%s%s%s", ce->name,
		         ce->usage[0] != '\0' ? " " : "", ce->usage);
		if (strlen(left) > 28)
			fprintf(fp, "  %s\n  %-28s %s\n", left, "",
			        ce->summary);
		else
			fprintf(fp, "  %-28s %s\n", left, ce->summary);
	}
}

static int
cmd_help(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	(void)c;
	(void)a;
	(void)argc;
	(void)argv;
	cmd_usage_print(stdout);
	return 0;
}

static void
usage(void)
{
	cmd_usage_print(stderr);
	exit(2);
}

static void
cmd_usage_one(FILE *fp, const struct cmd_entry *ce)
{
	fprintf(fp, "usage: watchstand %s%s%s\n  %s\n", ce->name,
	        ce->usage[0] != '\0' ? " " : "", ce->usage, ce->summary);
}

static const struct cmd_entry *
cmd_find(const char *name)
{
	size_t i;

	for (i = 0; i < CMD_COUNT; i++)
		if (strcmp(cmd_table[i].name, name) == 0)
			return &cmd_table[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"state", required_argument, NULL, 's'},
	    {"since", required_argument, NULL, 'S'},
	    {"message", required_argument, NULL, 'm'},
	    {"for", required_argument, NULL, 'f'},
	    {"reason", required_argument, NULL, 'R'},
	    {"drill", no_argument, NULL, 'D'},
	    {"shift", required_argument, NULL, 'T'},
	    {"day", required_argument, NULL, 'Y'},
	    {"carry", no_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0}};
	const struct cmd_entry *ce;
	struct cli_args a;
	struct cli c;
	int ch, n, rc, help = 0;

	memset(&c, 0, sizeof(c));
	memset(&a, 0, sizeof(a));
	while ((ch = getopt_long(argc, argv, "jm:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			c.json = 1;
			break;
		case 's':
			a.state = optarg;
			break;
		case 'S':
			a.since = optarg;
			break;
		case 'm':
			a.msg = optarg;
			break;
		case 'f':
			a.dur = optarg;
			break;
		case 'R':
			a.reason = optarg;
			break;
		case 'D':
			a.drill = 1;
			break;
		case 'T':
			a.shift = optarg;
			break;
		case 'Y':
			a.day = optarg;
			break;
		case 'C':
			a.carry = 1;
			break;
		case 'h':
			help = 1;
			break;
		case 'V':
			printf("watchstand %s\n", WATCHSTAND_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (help && optind >= argc) {
		cmd_usage_print(stdout);
		return 0;
	}
	if (optind >= argc)
		usage();
	if ((ce = cmd_find(argv[optind])) == NULL) {
		fprintf(stderr, "watchstand: unknown command '%s'\n",
		        argv[optind]);
		usage();
	}
	/* watchstand ack --help: that command's usage */
	if (help) {
		cmd_usage_one(stdout, ce);
		return 0;
	}
	optind++;
	n = argc - optind;
	if (n < ce->args_min || (ce->args_max >= 0 && n > ce->args_max)) {
		cmd_usage_one(stderr, ce);
		return 2;
	}
	c.colour = isatty(1) && getenv("NO_COLOR") == NULL;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	cli_load(&c);
	rc = ce->exec(&c, &a, n, argv + optind);
	curl_global_cleanup();
	return rc;
}
