/*
 * The CLI's client: where the server and token come from (environment,
 * then ~/.config/watchstand/cli.yaml), one HTTP call to the API over
 * libcurl, and the helpers the commands print with.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "watchstand/yconf.h"

#include "cli.h"

struct reply {
	char *data;
	size_t len;
};

static size_t
client_collect(char *p, size_t size, size_t n, void *arg)
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

const char *
cli_config_path(char *buf, size_t len)
{
	const char *home = getenv("HOME");

	snprintf(buf, len, "%s/.config/watchstand/cli.yaml", home ? home : ".");
	return buf;
}

/* Environment first, then the file `login` writes. */
void
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

/*
 * One call; returns the HTTP status (0 when unreachable), the parsed body
 * in *out (NULL when there is none or it is not JSON). An error status
 * prints the server's `error` text. The call owns (and frees) body.
 */
long
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
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, client_collect);
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
	json_decref(body);
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	return code;
}

/* Prints and releases. */
int
cli_print_json(json_t *j)
{
	char *t = json_dumps(j, JSON_INDENT(2));

	printf("%s\n", t ? t : "null");
	free(t);
	json_decref(j);
	return 0;
}

/* A string member, or "-". */
const char *
cli_str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "-";
}

/*
 * Any scalar member as text (a string, a number, true/false), "-" when it
 * is missing, null or not a scalar: the API may send an id as a number or
 * a string, a value as a number or a string.
 */
const char *
cli_scalar(json_t *o, const char *k, char *buf, size_t len)
{
	json_t *v = json_object_get(o, k);

	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_STRING:
		return json_string_value(v);
	case JSON_INTEGER:
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		return buf;
	case JSON_REAL:
		snprintf(buf, len, "%g", json_real_value(v));
		return buf;
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	default:
		return "-";
	}
}

/* A path segment, percent-encoded (names may hold any character). */
char *
cli_escape(const char *s, char *buf, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s != '\0' && o + 4 < len; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch) != NULL)
			buf[o++] = (char)ch;
		else {
			buf[o++] = '%';
			buf[o++] = hex[ch >> 4];
			buf[o++] = hex[ch & 15];
		}
	}
	buf[o] = '\0';
	return buf;
}

const char *
cli_sev_colour(struct cli *c, const char *sev)
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
