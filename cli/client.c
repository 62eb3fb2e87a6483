/*
 * The CLI's client: where the server and token come from (environment,
 * then the file `login` writes), one HTTP call to the API over libcurl,
 * and the helpers the commands print with: times in the calendar's
 * timezone, numbers as measured, ids checked before they are sent.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "watchstand/units.h"
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

/* WATCHSTAND_CONFIG, else ~/.config/watchstand/cli.yaml. */
const char *
cli_config_path(char *buf, size_t len)
{
	const char *home = getenv("HOME"), *file = getenv("WATCHSTAND_CONFIG");

	if (file != NULL && file[0] != '\0')
		snprintf(buf, len, "%s", file);
	else
		snprintf(buf, len, "%s/.config/watchstand/cli.yaml",
		         home ? home : ".");
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
 * prints the server's `error` text unless quiet. The call owns (and
 * frees) body.
 */
static long
client_call(struct cli *c, const char *method, const char *path, json_t *body,
            json_t **out, int quiet)
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
	if (curl_easy_perform(e) != CURLE_OK) {
		if (!quiet)
			fprintf(stderr, "watchstand: %s: %s\n", c->url, err);
	} else
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	*out = r.data ? json_loads(r.data, 0, &jerr) : NULL;
	if (code >= 400 && !quiet) {
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

long
cli_call(struct cli *c, const char *method, const char *path, json_t *body,
         json_t **out)
{
	return client_call(c, method, path, body, out, 0);
}

long
cli_call_quiet(struct cli *c, const char *method, const char *path,
               json_t *body, json_t **out)
{
	return client_call(c, method, path, body, out, 1);
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
		snprintf(buf, len, "%.15g", json_real_value(v));
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

/*
 * The zone times are printed in: the calendar's, by its IANA name. The C
 * library does the rest (DST, historical offsets) from the zone files.
 */
void
cli_zone_set(struct cli *c, const char *tz)
{
	c->zone_known = 1;
	if (tz == NULL || tz[0] == '\0' || strcmp(tz, "-") == 0)
		return; /* an older collector: this machine's zone */
	setenv("TZ", tz, 1);
	tzset();
}

/* Asked once per run, quietly: the command's own call says what fails. */
void
cli_zone(struct cli *c)
{
	json_t *out = NULL;

	if (c->zone_known)
		return;
	c->zone_known = 1;
	if (cli_call_quiet(c, "GET", "/status", NULL, &out) == 200)
		cli_zone_set(c, cli_str(out, "timezone"));
	json_decref(out);
}

/*
 * A time as the API gives it: PostgreSQL's "2026-11-24 06:05:03.123+00",
 * ISO 8601 "2026-11-24T06:05:03Z" or "...+08:00". -1 when it is neither.
 */
static int
client_time_parse(const char *s, time_t *t)
{
	struct tm tm, zone;
	const char *p;

	memset(&tm, 0, sizeof(tm));
	memset(&zone, 0, sizeof(zone));
	if ((p = strptime(s, "%Y-%m-%d", &tm)) == NULL ||
	    (*p != ' ' && *p != 'T') ||
	    (p = strptime(p + 1, "%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			; /* a fraction of a second: not printed */
	if ((p = strptime(p, "%z", &zone)) == NULL || *p != '\0')
		return -1;
	*t = timegm(&tm) - zone.tm_gmtoff;
	return 0;
}

/* "2026-11-24 14:05:03 +08:00"; what is not a time, as it is. */
const char *
cli_time(struct cli *c, const char *ts, char *buf, size_t len)
{
	char off[8];
	struct tm tm;
	time_t t;
	size_t n;

	if (ts == NULL)
		return "-";
	if (client_time_parse(ts, &t) == -1)
		return ts;
	cli_zone(c);
	if (localtime_r(&t, &tm) == NULL ||
	    (n = strftime(buf, len, "%Y-%m-%d %H:%M:%S ", &tm)) == 0 ||
	    strftime(off, sizeof(off), "%z", &tm) != 5)
		return ts;
	/* strftime's +0800 as +08:00 */
	snprintf(buf + n, len - n, "%.3s:%.2s", off, off + 3);
	return buf;
}

const char *
cli_time_of(struct cli *c, json_t *o, const char *k, char *buf, size_t len)
{
	return cli_time(c, json_string_value(json_object_get(o, k)), buf, len);
}

/*
 * A double carries 15 significant decimal digits faithfully: a value a
 * probe measured as 51.04 comes back as 51.04, and the noise arithmetic
 * leaves past those digits (51.039999999999964) is not printed.
 */
const char *
cli_number(const char *s, char *buf, size_t len)
{
	char *end;
	double v;

	if (s == NULL)
		return "-";
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !isfinite(v))
		return s;
	snprintf(buf, len, "%.15g", v);
	return buf;
}

int
cli_id(const char *cmd, const char *what, const char *s)
{
	const char *p = s;

	while (isdigit((unsigned char)*p))
		p++;
	if (p != s && *p == '\0' && strspn(s, "0") != strlen(s) &&
	    strlen(s) <= 18)
		return 0;
	fprintf(stderr,
	        "watchstand: %s: '%s' is not %s (ids are whole "
	        "numbers)\n",
	        cmd, s, what);
	return -1;
}

int
cli_minutes(const char *dur, int64_t *minutes)
{
	uint64_t ms;
	const char *why;

	if (dur == NULL || units_duration_ms(dur, &ms, &why) == -1 ||
	    ms < 60000)
		return -1;
	*minutes = (int64_t)((ms + 59999) / 60000);
	return 0;
}
