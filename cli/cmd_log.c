/* Shift log commands: log (write a note or read), tail. */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli.h"

int
cmd_log(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	char path[128];
	json_t *out = NULL, *e;
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
	         a->since ? a->since : "8h");
	if (cli_call(c, "GET", path, NULL, &out) != 200) {
		json_decref(out);
		return 1;
	}
	if (c->json)
		return cli_print_json(out);
	/* Oldest first, as a log reads. */
	for (i = json_array_size(out); i-- > 0;) {
		e = json_array_get(out, i);
		printf("%.19s  %-6s %-12s %s\n", cli_str(e, "ts"),
		       cli_str(e, "kind"), cli_str(e, "actor"),
		       cli_str(e, "text"));
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
		printf("%.19s  %-6s %-12s %s\n", cli_str(e, "ts"),
		       cli_str(e, "kind"), cli_str(e, "actor"),
		       cli_str(e, "text"));
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

int
cmd_tail(struct cli *c, const struct cli_args *a, int argc, char **argv)
{
	CURL *e = curl_easy_init();
	struct curl_slist *h = NULL;
	struct tail_state t;
	char url[1024], auth[200], err[CURL_ERROR_SIZE] = "";
	long code = 0;
	CURLcode rc;

	(void)a;
	(void)argc;
	(void)argv;
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
