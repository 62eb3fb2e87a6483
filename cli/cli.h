/*
 * watchstand CLI: what the command files share. The client (config, token
 * file, HTTP calls, output helpers) is cli/client.c; the command table and
 * option parsing are cli/main.c; each command group is a cmd_*.c file.
 */
#ifndef WATCHSTAND_CLI_H
#define WATCHSTAND_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct cli {
	char url[512];
	char token[128];
	int json;
	int colour;
	int zone_known; /* the calendar's timezone was asked for (TZ set) */
};

/* The options, parsed once in main.c; each command reads the ones it takes. */
struct cli_args {
	const char *state;  /* --state */
	const char *since;  /* --since */
	const char *msg;    /* -m, --message */
	const char *dur;    /* --for */
	const char *reason; /* --reason */
	int drill;          /* --drill */
	const char *shift;  /* --shift */
	const char *day;    /* --day */
	int carry;          /* --carry */
};

/* A command: the positional arguments after its name in argv[0..argc). */
typedef int (*cmd_fn)(struct cli *, const struct cli_args *, int argc,
                      char **argv);

struct cmd_entry {
	const char *name;
	const char *usage;   /* the arguments, e.g. "ID [-m TEXT]" */
	const char *summary; /* what it does, for `watchstand help` */
	int args_min;
	int args_max; /* -1: any number */
	cmd_fn exec;
};

/* client.c */
const char *cli_config_path(char *, size_t);
void cli_load(struct cli *);
long cli_call(struct cli *, const char *, const char *, json_t *, json_t **);
/* The same without a word on stderr when it fails. */
long cli_call_quiet(struct cli *, const char *, const char *, json_t *,
                    json_t **);
int cli_print_json(json_t *);
const char *cli_str(json_t *, const char *);
const char *cli_scalar(json_t *, const char *, char *, size_t);
char *cli_escape(const char *, char *, size_t);
const char *cli_sev_colour(struct cli *, const char *);
/* Times: the calendar's timezone (from GET /status, asked once) names
 * the zone every time is printed in, with its offset. */
void cli_zone_set(struct cli *, const char *);
void cli_zone(struct cli *); /* asks GET /status, once */
const char *cli_time(struct cli *, const char *, char *, size_t);
/* A member that is a time, printed so; "-" when missing or null. */
const char *cli_time_of(struct cli *, json_t *, const char *, char *, size_t);
#define CLI_TIME_LEN 32
/* A number as measured: no digits past what a double holds. */
const char *cli_number(const char *, char *, size_t);
/* 0 when s is an id (a whole number above 0); else says so (what: "an
 * alarm id") and -1. */
int cli_id(const char *cmd, const char *what, const char *s);
/* --for as whole minutes (rounded up, at least 1); -1 when malformed. */
int cli_minutes(const char *dur, int64_t *minutes);

/* cmd_session.c */
int cmd_login(struct cli *, const struct cli_args *, int, char **);
int cmd_logout(struct cli *, const struct cli_args *, int, char **);

/* cmd_alarms.c */
int cmd_status(struct cli *, const struct cli_args *, int, char **);
int cmd_alarms(struct cli *, const struct cli_args *, int, char **);
int cmd_ack(struct cli *, const struct cli_args *, int, char **);
int cmd_shelve(struct cli *, const struct cli_args *, int, char **);
int cmd_unshelve(struct cli *, const struct cli_args *, int, char **);

/* cmd_log.c */
int cmd_log(struct cli *, const struct cli_args *, int, char **);
int cmd_tail(struct cli *, const struct cli_args *, int, char **);

/* cmd_hosts.c */
int cmd_oos(struct cli *, const struct cli_args *, int, char **);
int cmd_ins(struct cli *, const struct cli_args *, int, char **);
/* cmd_shifts.c */
int cmd_shift(struct cli *, const struct cli_args *, int, char **);
int cmd_handover(struct cli *, const struct cli_args *, int, char **);
int cmd_accept(struct cli *, const struct cli_args *, int, char **);

/* cmd_report.c */
int cmd_report(struct cli *, const struct cli_args *, int, char **);

/* cmd_checklists.c */
int cmd_checklists(struct cli *, const struct cli_args *, int, char **);
int cmd_run(struct cli *, const struct cli_args *, int, char **);
int cmd_runs(struct cli *, const struct cli_args *, int, char **);
int cmd_steps(struct cli *, const struct cli_args *, int, char **);
int cmd_exec(struct cli *, const struct cli_args *, int, char **);
int cmd_confirm(struct cli *, const struct cli_args *, int, char **);
int cmd_skip(struct cli *, const struct cli_args *, int, char **);

#endif
