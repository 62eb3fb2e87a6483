/*
 * Shift log commands: log (write a note, or read), tail (follow). Both
 * print an entry with log_entry_print, so tail says what log says.
 *
 * tail follows GET /events. The stream opens with the id of the newest
 * entry the collector has passed on; when the connection is lost (the
 * collector restarted), tail says so and connects again, and reads what
 * it missed, by the last id it printed, with GET /log?after=ID.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli.h"

/* One entry of the shift log, as GET /log and the stream give it. */
static void
log_entry_print(struct cli *c, json_t *e)
{
	char when[CLI_TIME_LEN];

	if (c->json) {
		char *t = json_dumps(e, JSON_COMPACT);
		printf("%s\n", t ? t : "null");
		free(t);
	} else
		printf("%s  %-6s %-12s %s\n",
		       cli_time_of(c, e, "ts", when, sizeof(when)),
		       cli_str(e, "kind"), cli_str(e, "actor"),
		       cli_str(e, "text"));
}

int
cmd_log(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	char path[192], since[128];
	json_t *out = NULL;
	size_t i;

	if (argc > 0) {
		long code = cli_call(c, "POST", "/log",
		                     json_pack("{s:s, s:b}", "text", argv[0],
		                               "carry", a->carry),
		                     &out);
		if (code == 201)
			printf("logged (entry %s)\n", cli_str(out, "id"));
		json_decref(out);
		return code == 201 ? 0 : 1;
	}
	snprintf(path, sizeof(path), "/log?since=%s",
	         cli_escape(a->since ? a->since : "8h", since, sizeof(since)));
	if (cli_call(c, "GET", path, NULL, &out) != 200) {
		json_decref(out);
		return 1;
	}
	if (c->json)
		return cli_print_json(out);
	/* Oldest first, as a log reads. */
	for (i = json_array_size(out); i-- > 0;)
		log_entry_print(c, json_array_get(out, i));
	json_decref(out);
	return 0;
}

/* tail: Server-Sent Events, one line per entry as they come. */
struct tail_state {
	struct cli *t_cli;
	char t_line[16384];
	size_t t_len;
	char t_id[24];  /* the block's id: field */
	json_t *t_data; /* the block's data: field */
	int t_open;     /* this connection's opening block was read */
	int t_ever;     /* a connection was open once */
	int t_away;     /* the last one was lost (and that was said) */
	int64_t t_last; /* the newest entry printed; -1: none yet */
};

static int64_t
tail_entry_id(json_t *e)
{
	char buf[32];
	const char *id = cli_scalar(e, "id", buf, sizeof(buf));

	return strcmp(id, "-") == 0 ? -1 : strtoll(id, NULL, 10);
}

/* An entry is printed once, in the order of ids. */
static void
tail_entry(struct tail_state *t, json_t *e)
{
	int64_t id = tail_entry_id(e);

	if (id >= 0 && id <= t->t_last)
		return;
	log_entry_print(t->t_cli, e);
	if (id >= 0)
		t->t_last = id;
}

/* The entries after t_last, from GET /log, oldest first. */
static void
tail_catch_up(struct tail_state *t)
{
	char path[96];
	json_t *out = NULL;
	size_t i, n;

	do {
		snprintf(path, sizeof(path), "/log?after=%" PRId64, t->t_last);
		if (cli_call(t->t_cli, "GET", path, NULL, &out) != 200) {
			fprintf(stderr,
			        "watchstand: entries written while the "
			        "collector was away may be missing; see "
			        "`watchstand log`\n");
			json_decref(out);
			return;
		}
		n = json_array_size(out);
		for (i = 0; i < n; i++)
			tail_entry(t, json_array_get(out, i));
		json_decref(out);
		out = NULL;
	} while (n >= 1000);
}

/* The first block of a connection: no data, the newest entry's id. */
static void
tail_opened(struct tail_state *t)
{
	int64_t head = t->t_id[0] != '\0' ? strtoll(t->t_id, NULL, 10) : -1;

	t->t_open = 1;
	fflush(stdout);
	if (!t->t_ever)
		fprintf(stderr, "watchstand: following the shift log at %s\n",
		        t->t_cli->url);
	else if (t->t_away)
		fprintf(stderr, "watchstand: reconnected\n");
	t->t_away = 0;
	t->t_ever = 1;
	if (t->t_last < 0)
		t->t_last = head; /* the first connection: from now on */
	else if (head < 0 || head > t->t_last)
		tail_catch_up(t);
}

/* A blank line ends a block (an event). */
static void
tail_block(struct tail_state *t)
{
	if (t->t_data != NULL) {
		if (!t->t_open)
			tail_opened(t);
		tail_entry(t, t->t_data);
		json_decref(t->t_data);
		t->t_data = NULL;
	} else if (!t->t_open)
		tail_opened(t);
	t->t_id[0] = '\0';
	fflush(stdout);
}

static void
tail_line(struct tail_state *t)
{
	json_error_t err;

	t->t_line[t->t_len] = '\0';
	if (t->t_len == 0)
		tail_block(t);
	else if (strncmp(t->t_line, "id: ", 4) == 0)
		snprintf(t->t_id, sizeof(t->t_id), "%s", t->t_line + 4);
	else if (strncmp(t->t_line, "data: ", 6) == 0) {
		json_decref(t->t_data);
		t->t_data = json_loads(t->t_line + 6, 0, &err);
	}
	/* ": comment" and "event: kind" say nothing more */
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
		} else if (p[i] != '\r' && t->t_len < sizeof(t->t_line) - 1)
			t->t_line[t->t_len++] = p[i];
	}
	return size * n;
}

/* One connection, until it ends. The HTTP status (0: none), why in err. */
static long
tail_connect(struct tail_state *t, char *err)
{
	struct cli *c = t->t_cli;
	CURL *e = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[1024], auth[200];
	long code = 0;

	snprintf(url, sizeof(url), "%s/api/v1/events", c->url);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
	h = curl_slist_append(h, auth);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, tail_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(e, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
	/* A collector gone without a word (its host died) is noticed. */
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	t->t_open = 0;
	t->t_len = 0;
	t->t_id[0] = '\0';
	if (curl_easy_perform(e) == CURLE_OK && err[0] == '\0')
		snprintf(err, CURL_ERROR_SIZE, "the stream ended");
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	json_decref(t->t_data);
	t->t_data = NULL;
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	return code;
}

int
cmd_tail(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	struct tail_state t;
	char err[CURL_ERROR_SIZE];
	unsigned pause = 1;
	long code;

	(void)a;
	(void)argc;
	(void)argv;
	memset(&t, 0, sizeof(t));
	t.t_cli = c;
	t.t_last = -1;
	for (;;) {
		err[0] = '\0';
		code = tail_connect(&t, err);
		if (code == 401 || code == 403 || code == 404) {
			fprintf(stderr, "watchstand: GET /events: %ld%s\n",
			        code,
			        code == 401 ? "; log in with `watchstand login`"
			                    : "");
			return 1;
		}
		if (t.t_open)
			pause = 1;
		/* Once per absence; tail_opened says when it is over. */
		if (!t.t_away) {
			fflush(stdout);
			if (t.t_ever)
				fprintf(stderr, "watchstand: collector went "
				                "away, reconnecting...\n");
			else
				fprintf(
				    stderr,
				    "watchstand: cannot reach the collector "
				    "at %s (%s), trying again...\n",
				    c->url, err);
			t.t_away = 1;
		}
		sleep(pause);
		if (pause < 4)
			pause *= 2;
	}
}
