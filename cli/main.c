/*
 * watchstand: the watchstander's terminal tool, over the collector's HTTP
 * API. Server and token from WATCHSTAND_URL / WATCHSTAND_TOKEN or
 * ~/.config/watchstand/cli.yaml (written by `watchstand login`).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <yaml.h>

#include "watchstand/units.h"
#include "watchstand/yconf.h"

struct cli {
	char url[512];
	char token[128];
	int json;
	int colour;
};

struct reply {
	char *data;
	size_t len;
};

static size_t
cli_collect(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	char *d = realloc(r->data, r->len + size * n + 1);

	if (d == NULL)
		return 0;
	r->data = d;
	memcpy(r->data + r->len, p, size * n);
	r->len += size * n;
	r->data[r->len] = '\0';
	return size * n;
}

static const char *
cli_config_path(char *buf, size_t len)
{
	const char *home = getenv("HOME");

	snprintf(buf, len, "%s/.config/watchstand/cli.yaml", home ? home : ".");
	return buf;
}

/* Environment first, then the file `login` writes. */
static void
cli_load(struct cli *c)
{
	const char *u = getenv("WATCHSTAND_URL"),
	           *t = getenv("WATCHSTAND_TOKEN");
	char path[512];
	struct yconf yc;

	if (access(cli_config_path(path, sizeof(path)), R_OK) == 0 &&
	    yconf_load(&yc, path) == 0) {
		char *url = NULL, *token = NULL;
		yconf_str(&yc, yconf_root(&yc), "", "url", 0, &url);
		yconf_str(&yc, yconf_root(&yc), "", "token", 0, &token);
		if (url)
			snprintf(c->url, sizeof(c->url), "%s", url);
		if (token)
			snprintf(c->token, sizeof(c->token), "%s", token);
		free(url);
		free(token);
		yconf_free(&yc);
	}
	if (u != NULL)
		snprintf(c->url, sizeof(c->url), "%s", u);
	if (t != NULL)
		snprintf(c->token, sizeof(c->token), "%s", t);
	if (c->url[0] == '\0')
		snprintf(c->url, sizeof(c->url), "http://127.0.0.1:8080");
}

/* One call; returns the HTTP status (0 when unreachable), body in *out. */
static long
cli_call(struct cli *c, const char *method, const char *path, json_t *body,
         json_t **out)
{
	CURL *e = curl_easy_init();
	struct curl_slist *h = NULL;
	struct reply r = {NULL, 0};
	char url[1024], auth[200], err[CURL_ERROR_SIZE] = "";
	char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
	long code = 0;
	json_error_t jerr;

	snprintf(url, sizeof(url), "%s/api/v1%s", c->url, path);
	h = curl_slist_append(h, "Content-Type: application/json");
	if (c->token[0] != '\0') {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		         c->token);
		h = curl_slist_append(h, auth);
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, cli_collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
	if (payload != NULL)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, payload);
	if (curl_easy_perform(e) != CURLE_OK)
		fprintf(stderr, "watchstand: %s: %s\n", c->url, err);
	else
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	*out = r.data ? json_loads(r.data, 0, &jerr) : NULL;
	if (code >= 400) {
		const char *msg = NULL;
		if (*out == NULL ||
		    json_unpack(*out, "{s:s}", "error", &msg) != 0)
			msg = "unexpected answer";
		fprintf(stderr, "watchstand: %s %s: %ld %s\n", method, path,
		        code, msg);
		if (code == 401)
			fprintf(stderr, "watchstand: log in with `watchstand "
			                "login`\n");
	}
	free(r.data);
	free(payload);
	json_decref(body); /* the call owns the body it sends */
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	return code;
}

static const char *
sev_colour(struct cli *c, const char *sev)
{
	if (!c->colour || sev == NULL)
		return "";
	if (strcmp(sev, "critical") == 0)
		return "\033[1;31m";
	if (strcmp(sev, "major") == 0)
		return "\033[31m";
	if (strcmp(sev, "minor") == 0)
		return "\033[33m";
	if (strcmp(sev, "warning") == 0)
		return "\033[36m";
	return "";
}

static const char *
str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "-";
}

/* Prints and releases. */
static int
cli_print_json(json_t *j)
{
	char *t = json_dumps(j, JSON_INDENT(2));
	printf("%s\n", t);
	free(t);
	json_decref(j);
	return 0;
}

static int
cli_login(struct cli *c, const char *login)
{
	char user[128], pass[256], path[512], dir[512];
	struct termios old, quiet;
	int tty = isatty(0);
	json_t *out = NULL;
	FILE *fp;

	if (login == NULL) {
		fprintf(stderr, "login: ");
		if (fgets(user, sizeof(user), stdin) == NULL)
			return 1;
		user[strcspn(user, "\r\n")] = '\0';
		login = user;
	}
	if (tty) {
		fprintf(stderr, "password for %s: ", login);
		tcgetattr(0, &old);
		quiet = old;
		quiet.c_lflag &= ~ECHO;
		tcsetattr(0, TCSANOW, &quiet);
	}
	if (fgets(pass, sizeof(pass), stdin) == NULL)
		pass[0] = '\0';
	if (tty) {
		tcsetattr(0, TCSANOW, &old);
		fprintf(stderr, "\n");
	}
	pass[strcspn(pass, "\r\n")] = '\0';
	c->token[0] = '\0';
	if (cli_call(c, "POST", "/login",
	             json_pack("{s:s, s:s}", "login", login, "password", pass),
	             &out) != 200) {
		json_decref(out);
		return 1;
	}
	cli_config_path(path, sizeof(path));
	snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(path, '/') - path),
	         path);
	/* mkdir -p, private */
	for (char *p = dir + 1; *p != '\0'; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(dir, 0700);
			*p = '/';
		}
	mkdir(dir, 0700);
	fp = fopen(path, "w");
	if (fp == NULL) {
		fprintf(stderr, "watchstand: %s: %s\n", path, strerror(errno));
		json_decref(out);
		return 1;
	}
	fchmod(fileno(fp), 0600);
	fprintf(fp, "url: \"%s\"\ntoken: \"%s\"\n", c->url, str(out, "token"));
	fclose(fp);
	printf("logged in as %s (%s); token saved in %s\n", str(out, "login"),
	       str(out, "role"), path);
	json_decref(out);
	return 0;
}

static int
cli_alarms(struct cli *c, const char *state)
{
	char path[128];
	json_t *out = NULL, *a;
	size_t i;

	snprintf(path, sizeof(path), "/alarms%s%s", state ? "?state=" : "",
	         state ? state : "");
	if (cli_call(c, "GET", path, NULL, &out) != 200) {
		json_decref(out);
		return 1;
	}
	if (c->json)
		return cli_print_json(out);
	printf("%-6s %-9s %-23s %-14s %-22s %-24s %10s  %s\n", "ID", "SEVERITY",
	       "STATE", "HOST", "RULE", "SERIES", "VALUE", "RAISED");
	json_array_foreach(out, i, a)
	{
		printf("%-6s %s%-9s%s %-23s %-14s %-22s %-24s %10.10s  %.19s\n",
		       str(a, "id"), sev_colour(c, str(a, "severity")),
		       str(a, "severity"), c->colour ? "\033[0m" : "",
		       str(a, "state"), str(a, "host"), str(a, "rule"),
		       str(a, "series"), str(a, "value"), str(a, "raised_at"));
	}
	if (json_array_size(out) == 0)
		printf("no open alarms\n");
	json_decref(out);
	return 0;
}

static int
cli_status(struct cli *c)
{
	json_t *out = NULL, *counts, *v;
	const char *k;

	if (cli_call(c, "GET", "/status", NULL, &out) != 200) {
		json_decref(out);
		return 1;
	}
	if (c->json)
		return cli_print_json(out);
	printf("phase: %s   user: %s\n", str(out, "phase"), str(out, "user"));
	counts = json_object_get(out, "alarms");
	json_object_foreach(counts, k, v)
	    printf("  %-24s %lld\n", k, (long long)json_integer_value(v));
	if (json_object_size(counts) == 0)
		printf("  no open alarms\n");
	json_decref(out);
	return 0;
}

static int
cli_ack(struct cli *c, const char *id, const char *text)
{
	char path[128];
	json_t *out = NULL;
	long code;

	snprintf(path, sizeof(path), "/alarms/%s/ack", id);
	code =
	    cli_call(c, "POST", path,
	             text ? json_pack("{s:s}", "comment", text) : NULL, &out);
	if (code == 200)
		printf("alarm %s acknowledged: now %s\n", id,
		       str(out, "state"));
	json_decref(out);
	return code == 200 ? 0 : 1;
}

static int
cli_shelve(struct cli *c, const char *id, const char *dur, const char *reason,
           int unshelve)
{
	char path[128];
	json_t *out = NULL;
	uint64_t ms = 0;
	const char *why;
	long code;

	if (!unshelve &&
	    (dur == NULL || reason == NULL ||
	     units_duration_ms(dur, &ms, &why) == -1 || ms < 60000)) {
		fprintf(stderr, "watchstand: shelve ID --for 30m --reason TEXT "
		                "(at least 1m, and a reason)\n");
		return 2;
	}
	snprintf(path, sizeof(path), "/alarms/%s/%s", id,
	         unshelve ? "unshelve" : "shelve");
	code = cli_call(c, "POST", path,
	                unshelve ? NULL
	                         : json_pack("{s:I, s:s}", "minutes",
	                                     (json_int_t)((ms + 59999) / 60000),
	                                     "reason", reason),
	                &out);
	if (code == 200)
		printf("alarm %s %s: now %s%s%s\n", id,
		       unshelve ? "unshelved" : "shelved", str(out, "state"),
		       unshelve ? "" : " until ",
		       unshelve ? "" : str(out, "shelved_until"));
	json_decref(out);
	return code == 200 ? 0 : 1;
}

static int
cli_log(struct cli *c, const char *text, const char *since)
{
	char path[128];
	json_t *out = NULL, *e;
	size_t i;

	if (text != NULL) {
		long code = cli_call(c, "POST", "/log",
		                     json_pack("{s:s}", "text", text), &out);
		if (code == 201)
			printf("logged (entry %s)\n", str(out, "id"));
		json_decref(out);
		return code == 201 ? 0 : 1;
	}
	snprintf(path, sizeof(path), "/log?since=%s", since ? since : "8h");
	if (cli_call(c, "GET", path, NULL, &out) != 200) {
		json_decref(out);
		return 1;
	}
	if (c->json)
		return cli_print_json(out);
	/* Oldest first, as a log reads. */
	for (i = json_array_size(out); i-- > 0;) {
		e = json_array_get(out, i);
		printf("%.19s  %-6s %-12s %s\n", str(e, "ts"), str(e, "kind"),
		       str(e, "actor"), str(e, "text"));
	}
	json_decref(out);
	return 0;
}

/* tail: Server-Sent Events, one line per event as they come. */
struct tail_state {
	struct cli *t_cli;
	char t_line[8192];
	size_t t_len;
};

static void
tail_line(struct tail_state *t)
{
	json_t *e;
	json_error_t err;

	t->t_line[t->t_len] = '\0';
	if (strncmp(t->t_line, "data: ", 6) != 0)
		return;
	if ((e = json_loads(t->t_line + 6, 0, &err)) == NULL)
		return;
	if (t->t_cli->json)
		printf("%s\n", t->t_line + 6);
	else
		printf("%.19s  %-6s %-12s %s\n", str(e, "ts"), str(e, "kind"),
		       str(e, "actor"), str(e, "text"));
	fflush(stdout);
	json_decref(e);
}

static size_t
tail_write(char *p, size_t size, size_t n, void *arg)
{
	struct tail_state *t = arg;
	size_t i;

	for (i = 0; i < size * n; i++) {
		if (p[i] == '\n') {
			tail_line(t);
			t->t_len = 0;
		} else if (t->t_len < sizeof(t->t_line) - 1)
			t->t_line[t->t_len++] = p[i];
	}
	return size * n;
}

static int
cli_tail(struct cli *c)
{
	CURL *e = curl_easy_init();
	struct curl_slist *h = NULL;
	struct tail_state t;
	char url[1024], auth[200], err[CURL_ERROR_SIZE] = "";
	long code = 0;
	CURLcode rc;

	memset(&t, 0, sizeof(t));
	t.t_cli = c;
	snprintf(url, sizeof(url), "%s/api/v1/events", c->url);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
	h = curl_slist_append(h, auth);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, tail_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, err);
	rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK)
		fprintf(stderr, "watchstand: %s: %s\n", c->url, err);
	else if (code != 200)
		fprintf(stderr, "watchstand: GET /events: %ld\n", code);
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	return rc == CURLE_OK && code == 200 ? 0 : 1;
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: watchstand [--json] COMMAND\n"
	        "  login [LOGIN]            log in (password on the terminal "
	        "or stdin)\n"
	        "  status                   phase and open alarm counts\n"
	        "  alarms [--state STATE]   open alarms\n"
	        "  ack ID [-m TEXT]         acknowledge an alarm\n"
	        "  shelve ID --for 30m --reason TEXT\n"
	        "  unshelve ID\n"
	        "  log TEXT                 write a note in the shift log\n"
	        "  log [--since 8h]         read the shift log\n"
	        "  tail                     follow alarms and the log as they "
	        "happen\n");
	exit(2);
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
	    {NULL, 0, NULL, 0}};
	struct cli c;
	const char *state = NULL, *since = NULL, *msg = NULL, *cmd, *dur = NULL,
	           *reason = NULL;
	int ch, rc = 2;

	memset(&c, 0, sizeof(c));
	while ((ch = getopt_long(argc, argv, "jm:", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			c.json = 1;
			break;
		case 's':
			state = optarg;
			break;
		case 'S':
			since = optarg;
			break;
		case 'm':
			msg = optarg;
			break;
		case 'f':
			dur = optarg;
			break;
		case 'R':
			reason = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	cmd = argv[optind++];
	c.colour = isatty(1) && getenv("NO_COLOR") == NULL;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	cli_load(&c);
	if (strcmp(cmd, "login") == 0)
		rc = cli_login(&c, optind < argc ? argv[optind] : NULL);
	else if (strcmp(cmd, "status") == 0)
		rc = cli_status(&c);
	else if (strcmp(cmd, "alarms") == 0)
		rc = cli_alarms(&c, state);
	else if (strcmp(cmd, "ack") == 0 && optind < argc)
		rc = cli_ack(&c, argv[optind], msg);
	else if (strcmp(cmd, "shelve") == 0 && optind < argc)
		rc = cli_shelve(&c, argv[optind], dur, reason, 0);
	else if (strcmp(cmd, "unshelve") == 0 && optind < argc)
		rc = cli_shelve(&c, argv[optind], NULL, NULL, 1);
	else if (strcmp(cmd, "tail") == 0)
		rc = cli_tail(&c);
	else if (strcmp(cmd, "log") == 0)
		rc = cli_log(&c, optind < argc ? argv[optind] : NULL, since);
	else
		usage();
	curl_global_cleanup();
	return rc;
}
