#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "watchstand/xalloc.h"
#include "notify/channel.h"
#include "version.h"

const char *const template_names[] = {
    "severity", "host",  "role",      "rule",      "series",  "value",
    "phase",    "state", "summary",   "runbook",   "ack_url", "alarm_id",
    "time",     "phone", "email",     "recipient", "count",   "text",
    "title",    "kind",  "last_note", NULL};

/* Calls fn for each {{name}}; the text between goes to lit. -1 when a
 * placeholder is not closed. */
static int
template_walk(const char *t, void (*lit)(void *, const char *, size_t),
              void (*var)(void *, const char *, size_t), void *arg)
{
	const char *open, *close, *b, *e;

	while ((open = strstr(t, "{{")) != NULL) {
		if ((close = strstr(open + 2, "}}")) == NULL)
			return -1;
		lit(arg, t, (size_t)(open - t));
		for (b = open + 2; b < close && *b == ' '; b++)
			;
		for (e = close; e > b && e[-1] == ' '; e--)
			;
		var(arg, b, (size_t)(e - b));
		t = close + 2;
	}
	lit(arg, t, strlen(t));
	return 0;
}

static int
template_known(const char *name, size_t n)
{
	int i;

	for (i = 0; template_names[i] != NULL; i++)
		if (strlen(template_names[i]) == n &&
		    memcmp(template_names[i], name, n) == 0)
			return 1;
	return 0;
}

struct check_state {
	char *err;
	size_t len;
	int bad;
};

static void
check_lit(void *arg, const char *s, size_t n)
{
	(void)arg;
	(void)s;
	(void)n;
}

static void
check_var(void *arg, const char *name, size_t n)
{
	struct check_state *cs = arg;

	if (!cs->bad && !template_known(name, n)) {
		snprintf(cs->err, cs->len,
		         "unknown placeholder {{%.*s}} (known: severity, host, "
		         "role, rule, series, value, phase, state, summary, "
		         "runbook, ack_url, alarm_id, time, phone, email, "
		         "recipient, count, text, title, kind, last_note)",
		         (int)(n > 40 ? 40 : n), name);
		cs->bad = 1;
	}
}

int
template_check(const char *tmpl, char *err, size_t len)
{
	struct check_state cs = {err, len, 0};

	if (template_walk(tmpl, check_lit, check_var, &cs) == -1) {
		snprintf(err, len, "a {{ is not closed by }}");
		return -1;
	}
	return cs.bad ? -1 : 0;
}

struct render_state {
	FILE *out;
	json_t *vars;
	enum template_escape esc;
};

static void
render_lit(void *arg, const char *s, size_t n)
{
	struct render_state *rs = arg;

	fwrite(s, 1, n, rs->out);
}

static void
put_escaped(FILE *out, const char *s, enum template_escape esc)
{
	char *e;

	switch (esc) {
	case ESC_NONE:
		fputs(s, out);
		break;
	case ESC_JSON: {
		json_t *j = json_string(s);
		e = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
		if (e != NULL && strlen(e) >= 2)
			fwrite(e + 1, 1, strlen(e) - 2, out);
		free(e);
		json_decref(j);
		break;
	}
	case ESC_URL:
		e = curl_easy_escape(NULL, s, 0);
		if (e != NULL)
			fputs(e, out);
		curl_free(e);
		break;
	}
}

static void
render_var(void *arg, const char *name, size_t n)
{
	struct render_state *rs = arg;
	char key[32], num[64];
	json_t *v;

	if (n >= sizeof(key))
		return;
	memcpy(key, name, n);
	key[n] = '\0';
	v = json_object_get(rs->vars, key);
	if (json_is_string(v))
		put_escaped(rs->out, json_string_value(v), rs->esc);
	else if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld",
		         (long long)json_integer_value(v));
		fputs(num, rs->out);
	} else if (json_is_real(v)) {
		snprintf(num, sizeof(num), "%g", json_real_value(v));
		fputs(num, rs->out);
	}
}

char *
template_render(const char *tmpl, json_t *vars, enum template_escape esc)
{
	struct render_state rs;
	char *buf = NULL;
	size_t len = 0;

	rs.out = open_memstream(&buf, &len);
	rs.vars = vars;
	rs.esc = esc;
	if (rs.out == NULL)
		abort();
	template_walk(tmpl, render_lit, render_var, &rs);
	fclose(rs.out);
	return buf;
}

static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* Keeps at most max characters (not bytes) of s, ending in "…". */
static void
utf8_truncate(char *s, size_t max)
{
	size_t chars = 0, i, cut = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (((unsigned char)s[i] & 0xC0) == 0x80)
			continue;
		if (chars == (max > 0 ? max - 1 : 0))
			cut = i;
		chars++;
	}
	if (chars <= max)
		return;
	strcpy(s + cut, max > 0 ? "\xE2\x80\xA6" : "");
}

static const char *
page_label(json_t *page, char *buf, size_t len)
{
	const char *kind = jstr(page, "kind");
	size_t i;

	if (strcmp(kind, "clear") == 0)
		snprintf(buf, len, "CLEARED");
	else if (strcmp(kind, "test") == 0)
		snprintf(buf, len, "TEST");
	else {
		snprintf(buf, len, "%s", jstr(page, "severity"));
		for (i = 0; buf[i]; i++)
			buf[i] = (char)toupper((unsigned char)buf[i]);
	}
	return buf;
}

enum text_style { TS_PLAIN, TS_MARKDOWN, TS_SLACK };

/* The message as text: a paragraph per page, each with its own link. */
static char *
message_text(json_t *msg, enum text_style style)
{
	json_t *pages = json_object_get(msg, "pages"), *p;
	char *buf = NULL, label[32];
	size_t len = 0, i;
	FILE *out = open_memstream(&buf, &len);

	if (out == NULL)
		abort();
	json_array_foreach(pages, i, p)
	{
		const char *ack = jstr(p, "ack_url"), *rb = jstr(p, "runbook"),
		           *ln = jstr(p, "last_note");
		page_label(p, label, sizeof(label));
		if (i > 0)
			fputs("\n\n", out);
		switch (style) {
		case TS_PLAIN:
			fprintf(out, "%s %s\n", label, jstr(p, "summary"));
			fprintf(out, "phase %s, state %s, at %s\n",
			        jstr(p, "phase"), jstr(p, "state"),
			        jstr(p, "time"));
			if (*rb)
				fprintf(out, "runbook: %s\n", rb);
			if (*ln)
				fprintf(out, "last time: %s\n", ln);
			if (*ack)
				fprintf(out, "acknowledge: %s\n", ack);
			break;
		case TS_MARKDOWN:
			fprintf(out, "**%s** %s\n\n", label,
			        jstr(p, "summary"));
			fprintf(out, "phase %s · state %s · %s",
			        jstr(p, "phase"), jstr(p, "state"),
			        jstr(p, "time"));
			if (*rb)
				fprintf(out, "\n\nrunbook: %s", rb);
			if (*ln)
				fprintf(out, "\n\nlast time: %s", ln);
			if (*ack)
				fprintf(out, "\n\n[Acknowledge](%s)", ack);
			break;
		case TS_SLACK:
			fprintf(out, "*%s* %s\nphase %s · state %s · %s", label,
			        jstr(p, "summary"), jstr(p, "phase"),
			        jstr(p, "state"), jstr(p, "time"));
			if (*rb)
				fprintf(out, "\nrunbook: %s", rb);
			if (*ln)
				fprintf(out, "\nlast time: %s", ln);
			if (*ack)
				fprintf(out, "\n<%s|Acknowledge>", ack);
			break;
		}
	}
	fclose(out);
	return buf;
}

static void
message_title(json_t *msg, char *buf, size_t len)
{
	json_t *pages = json_object_get(msg, "pages");
	json_t *first = json_array_get(pages, 0);
	char label[32];

	page_label(first, label, sizeof(label));
	if (json_array_size(pages) > 1)
		snprintf(buf, len, "[%s] %zu alarms, first %s on %s", label,
		         json_array_size(pages), jstr(first, "rule"),
		         jstr(first, "host"));
	else
		snprintf(buf, len, "[%s] %s on %s", label, jstr(first, "rule"),
		         jstr(first, "host"));
}

json_t *
channel_vars(const struct notify_channel *ch, json_t *msg)
{
	json_t *pages = json_object_get(msg, "pages");
	json_t *vars = json_deep_copy(json_array_get(pages, 0)), *p;
	char title[512], *text, *summary = NULL;
	size_t n = json_array_size(pages), i, len = 0;
	FILE *out;

	if (vars == NULL)
		vars = json_object();
	message_title(msg, title, sizeof(title));
	json_object_set_new(vars, "title", json_string(title));
	json_object_set_new(vars, "count", json_integer((json_int_t)n));
	json_object_set(vars, "recipient", json_object_get(msg, "recipient"));
	json_object_set(vars, "phone", json_object_get(msg, "phone"));
	json_object_set(vars, "email", json_object_get(msg, "email"));
	if (n > 1) {
		out = open_memstream(&summary, &len);
		fprintf(out, "%zu alarms:", n);
		json_array_foreach(pages, i, p)
		{
			char label[32];
			fprintf(out, "%s %s %s", i ? ";" : "",
			        page_label(p, label, sizeof(label)),
			        jstr(p, "summary"));
		}
		fclose(out);
		json_object_set_new(vars, "summary", json_string(summary));
	}
	if (ch->ch_type == CH_SMS) {
		/* One short text: the summary, cut so the link still fits. */
		const char *ack = jstr(vars, "ack_url");
		const char *sum = jstr(vars, "summary");
		size_t max = ch->ch_max_length, linklen = strlen(ack) + 1;
		char *s, label[32];

		page_label(json_array_get(pages, 0), label, sizeof(label));
		if ((n > 1 ? asprintf(&s, "%s", sum)
		           : asprintf(&s, "%s %s", label, sum)) == -1)
			abort();
		if (*ack && linklen + 20 <= max) {
			char *t;
			utf8_truncate(s, max - linklen);
			if (asprintf(&t, "%s %s", s, ack) == -1)
				abort();
			free(s);
			s = t;
		} else
			utf8_truncate(s, max);
		json_object_set_new(vars, "text", json_string(s));
		free(s);
	} else {
		text = message_text(msg, TS_PLAIN);
		json_object_set_new(vars, "text", json_string(text));
		free(text);
	}
	free(summary);
	return vars;
}

static char *
b64(const unsigned char *in, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	return out;
}

static char *
hmac_b64(const char *key, size_t keylen, const char *data, size_t n)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)data, n,
	     mac, &maclen);
	return b64(mac, maclen);
}

char *
channel_sign_dingtalk(const char *secret, long long ts_ms)
{
	char *data, *sig;

	if (asprintf(&data, "%lld\n%s", ts_ms, secret) == -1)
		abort();
	sig = hmac_b64(secret, strlen(secret), data, strlen(data));
	free(data);
	return sig;
}

char *
channel_sign_feishu(const char *secret, long long ts_s)
{
	char *key, *sig;

	/* Feishu signs nothing with "timestamp\nsecret" as the key. */
	if (asprintf(&key, "%lld\n%s", ts_s, secret) == -1)
		abort();
	sig = hmac_b64(key, strlen(key), "", 0);
	free(key);
	return sig;
}

static const char *
header_value(char **headers, const char *name)
{
	size_t n = strlen(name);

	for (; headers != NULL && *headers != NULL; headers++)
		if (strncasecmp(*headers, name, n) == 0 && (*headers)[n] == ':')
			return *headers + n + 1;
	return NULL;
}

static char *
dump_json(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	return s;
}

/* The webhook's own document when no body template is given. */
static json_t *
default_webhook_body(json_t *vars, json_t *msg)
{
	json_t *doc = json_deep_copy(vars);

	json_object_set_new(doc, "version", json_integer(1));
	json_object_set(doc, "alarms", json_object_get(msg, "pages"));
	return doc;
}

static void
http_body(const struct notify_channel *ch, json_t *vars, json_t *msg,
          struct channel_request *req)
{
	const char *ctype = header_value(ch->ch_headers, "Content-Type");
	enum template_escape esc = ESC_NONE;
	const char *t;

	if (ch->ch_body == NULL) {
		if (ch->ch_type == CH_SMS)
			req->cr_body = dump_json(
			    json_pack("{s:O?, s:O?}", "to",
			              json_object_get(vars, "phone"), "text",
			              json_object_get(vars, "text")));
		else
			req->cr_body =
			    dump_json(default_webhook_body(vars, msg));
		if (ctype == NULL)
			req->cr_headers = curl_slist_append(
			    req->cr_headers, "Content-Type: application/json");
		return;
	}
	for (t = ch->ch_body; isspace((unsigned char)*t); t++)
		;
	if (ctype != NULL && strcasestr(ctype, "json") != NULL)
		esc = ESC_JSON;
	else if (ctype != NULL && strcasestr(ctype, "urlencoded") != NULL)
		esc = ESC_URL;
	else if (ctype == NULL && (*t == '{' || *t == '[')) {
		esc = ESC_JSON;
		req->cr_headers = curl_slist_append(
		    req->cr_headers, "Content-Type: application/json");
	} else if (ctype == NULL)
		req->cr_headers = curl_slist_append(
		    req->cr_headers, "Content-Type: text/plain; charset=utf-8");
	req->cr_body = template_render(ch->ch_body, vars, esc);
}

static json_t *
mentions(json_t *msg)
{
	json_t *m = json_object_get(msg, "mentions");

	return m ? json_incref(m) : json_array();
}

static void
chat_body(const struct notify_channel *ch, json_t *vars, json_t *msg,
          time_t now, struct channel_request *req)
{
	const char *title = jstr(vars, "title");
	char *md =
	    message_text(msg, ch->ch_type == CH_SLACK ? TS_SLACK : TS_MARKDOWN);
	char *sig, *esc;
	json_t *doc = NULL;

	switch (ch->ch_type) {
	case CH_WECOM:
		doc = json_pack("{s:s, s:{s:s}}", "msgtype", "markdown",
		                "markdown", "content", md);
		break;
	case CH_DINGTALK: {
		char *text;
		if (asprintf(&text, "### %s\n\n%s", title, md) == -1)
			abort();
		doc = json_pack("{s:s, s:{s:s, s:s}, s:{s:o, s:b}}", "msgtype",
		                "markdown", "markdown", "title", title, "text",
		                text, "at", "atMobiles", mentions(msg),
		                "isAtAll", 0);
		free(text);
		sig =
		    channel_sign_dingtalk(ch->ch_secret, (long long)now * 1000);
		esc = curl_easy_escape(NULL, sig, 0);
		free(req->cr_url);
		if (asprintf(&req->cr_url, "%s%ctimestamp=%lld&sign=%s",
		             ch->ch_url, strchr(ch->ch_url, '?') ? '&' : '?',
		             (long long)now * 1000, esc) == -1)
			abort();
		curl_free(esc);
		free(sig);
		break;
	}
	case CH_FEISHU: {
		char ts[32];
		snprintf(ts, sizeof(ts), "%lld", (long long)now);
		sig = channel_sign_feishu(ch->ch_secret, (long long)now);
		doc = json_pack(
		    "{s:s, s:s, s:s, s:{s:{s:{s:s, s:s}, s:s}, s:[{s:s, "
		    "s:s}]}}",
		    "timestamp", ts, "sign", sig, "msg_type", "interactive",
		    "card", "header", "title", "tag", "plain_text", "content",
		    title, "template",
		    strcmp(jstr(vars, "kind"), "clear") == 0 ? "green" : "red",
		    "elements", "tag", "markdown", "content", md);
		free(sig);
		break;
	}
	case CH_SLACK:
		doc = json_pack("{s:s}", "text", md);
		break;
	default:
		break;
	}
	free(md);
	req->cr_body = dump_json(doc);
	req->cr_headers = curl_slist_append(
	    req->cr_headers, "Content-Type: application/json; charset=utf-8");
}

/* RFC 5322 atext, plus UTF-8 bytes (RFC 6531). */
static int
mail_atext(unsigned char c)
{
	return isalnum(c) || c >= 0x80 || strchr("!#$%&'*+/=?^_`{|}~-", c);
}

int
channel_mail_addr_ok(const char *addr, char *why, size_t len)
{
	const unsigned char *s = (const unsigned char *)addr, *at, *p;
	size_t label = 0;

	if (strpbrk(addr, "\r\n") != NULL) {
		snprintf(why, len, "contains a line break");
		return 0;
	}
	at = (const unsigned char *)strrchr(addr, '@');
	if (at == NULL || at == s || at[1] == '\0') {
		snprintf(why, len, "is not local@domain");
		return 0;
	}
	if (at - s > 64 || strlen(addr) > 254) {
		snprintf(why, len, "is too long");
		return 0;
	}
	/* The local part: a dot-atom (no quoted strings, no comments). */
	for (p = s; p < at; p++)
		if (!(mail_atext(*p) ||
		      (*p == '.' && p > s && p + 1 < at && p[1] != '.'))) {
			snprintf(why, len,
			         "has a character a mail address "
			         "may not have before the @");
			return 0;
		}
	/* The domain: labels of letters, digits and inner hyphens. */
	for (p = at + 1;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || label > 63 || p[-1] == '-') {
				snprintf(why, len, "has no usable domain");
				return 0;
			}
			if (*p == '\0')
				return 1;
			label = 0;
			continue;
		}
		if (!(isalnum(*p) || *p >= 0x80 || (*p == '-' && label > 0))) {
			snprintf(why, len, "has no usable domain");
			return 0;
		}
		label++;
	}
}

static struct curl_slist *
mail_header(struct curl_slist *h, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return curl_slist_append(h, line);
}

/*
 * The headers and the text; libcurl's MIME API makes the message of them
 * at setup (Content-Type, the transfer encoding, the boundary). The
 * addresses were checked by channel_render.
 */
static void
smtp_mail(const struct notify_channel *ch, json_t *vars, json_t *msg,
          time_t now, const char *message_id, struct channel_request *req)
{
	const char *to = jstr(vars, "email");
	char date[64], *subject, *rcpt;
	struct curl_slist *h = NULL;
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	/* RFC 2047: the subject in UTF-8, base64. */
	subject = b64((const unsigned char *)jstr(vars, "title"),
	              strlen(jstr(vars, "title")));
	h = mail_header(h, "Date: %s", date);
	h = mail_header(h, "From: %s", ch->ch_from);
	h = mail_header(h, "To: %s", to);
	h = mail_header(h, "Message-ID: <%s@watchstand>", message_id);
	h = mail_header(h, "Subject: =?UTF-8?B?%s?=", subject);
	h = mail_header(h, "Auto-Submitted: auto-generated");
	h = mail_header(
	    h, "X-Watchstand-Alarm: %lld",
	    (long long)json_integer_value(json_object_get(vars, "alarm_id")));
	free(subject);
	req->cr_mail_headers = h;
	req->cr_body = ch->ch_body
	                   ? template_render(ch->ch_body, vars, ESC_NONE)
	                   : message_text(msg, TS_PLAIN);
	req->cr_len = strlen(req->cr_body);
	if (asprintf(&req->cr_from, "<%s>", ch->ch_from) == -1 ||
	    asprintf(&rcpt, "<%s>", to) == -1)
		abort();
	req->cr_rcpt = curl_slist_append(NULL, rcpt);
	free(rcpt);
}

int
channel_render(const struct notify_channel *ch, json_t *msg, time_t now,
               const char *message_id, struct channel_request *req)
{
	json_t *vars = channel_vars(ch, msg);
	char hdr[128];
	char **h;

	memset(req, 0, sizeof(*req));
	if (ch->ch_type == CH_SMS && *jstr(vars, "phone") == '\0') {
		snprintf(req->cr_error, sizeof(req->cr_error),
		         "%s has no phone number", jstr(vars, "recipient"));
		json_decref(vars);
		return -1;
	}
	if (ch->ch_type == CH_SMTP && *jstr(vars, "email") == '\0') {
		snprintf(req->cr_error, sizeof(req->cr_error),
		         "%s has no mail address", jstr(vars, "recipient"));
		json_decref(vars);
		return -1;
	}
	/* The address goes into a header and the envelope: from the users
	 * table, so checked here, whoever entered it. */
	if (ch->ch_type == CH_SMTP) {
		char why[96];

		if (!channel_mail_addr_ok(jstr(vars, "email"), why,
		                          sizeof(why))) {
			snprintf(req->cr_error, sizeof(req->cr_error),
			         "the mail address of %s %s",
			         jstr(vars, "recipient"), why);
			json_decref(vars);
			return -1;
		}
		if (!channel_mail_addr_ok(ch->ch_from, why, sizeof(why))) {
			snprintf(req->cr_error, sizeof(req->cr_error),
			         "the from address of channel %s %s",
			         ch->ch_name, why);
			json_decref(vars);
			return -1;
		}
	}
	req->cr_url = template_render(ch->ch_url, vars, ESC_URL);
	req->cr_method = xstrdup(ch->ch_method ? ch->ch_method : "POST");
	for (h = ch->ch_headers; h != NULL && *h != NULL; h++)
		req->cr_headers = curl_slist_append(req->cr_headers, *h);
	switch (ch->ch_type) {
	case CH_WEBHOOK:
	case CH_SMS:
		http_body(ch, vars, msg, req);
		/* Receivers can drop a repeat of a message they have. */
		snprintf(hdr, sizeof(hdr), "X-Watchstand-Message: %s",
		         message_id);
		req->cr_headers = curl_slist_append(req->cr_headers, hdr);
		break;
	case CH_SMTP:
		smtp_mail(ch, vars, msg, now, message_id, req);
		break;
	default:
		chat_body(ch, vars, msg, now, req);
		break;
	}
	if (ch->ch_type != CH_SMTP) {
		req->cr_len = strlen(req->cr_body);
		req->cr_headers = curl_slist_append(req->cr_headers, "Expect:");
	}
	json_decref(vars);
	return 0;
}

void
channel_request_free(struct channel_request *req)
{
	free(req->cr_url);
	free(req->cr_method);
	curl_slist_free_all(req->cr_headers);
	free(req->cr_body);
	free(req->cr_from);
	curl_slist_free_all(req->cr_rcpt);
	curl_slist_free_all(req->cr_mail_headers);
	curl_mime_free(req->cr_mime);
	memset(req, 0, sizeof(*req));
}

static size_t
channel_write(char *buf, size_t size, size_t n, void *arg)
{
	struct channel_request *req = arg;
	size_t room = sizeof(req->cr_resp) - 1 - req->cr_resp_len;
	size_t take = size * n < room ? size * n : room;

	memcpy(req->cr_resp + req->cr_resp_len, buf, take);
	req->cr_resp_len += take;
	req->cr_resp[req->cr_resp_len] = '\0';
	return size * n;
}

void
channel_easy_setup(const struct notify_channel *ch, CURL *easy,
                   struct channel_request *req)
{
	curl_easy_setopt(easy, CURLOPT_URL, req->cr_url);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)ch->ch_timeout_ms);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
	                 (long)ch->ch_timeout_ms);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, req->cr_curl_error);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, channel_write);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, req);
	curl_easy_setopt(easy, CURLOPT_USERAGENT,
	                 "watchstand-collector/" COLLECTOR_VERSION);
	if (ch->ch_ca != NULL)
		curl_easy_setopt(easy, CURLOPT_CAINFO, ch->ch_ca);
	if (ch->ch_username != NULL)
		curl_easy_setopt(easy, CURLOPT_USERNAME, ch->ch_username);
	if (ch->ch_password != NULL)
		curl_easy_setopt(easy, CURLOPT_PASSWORD, ch->ch_password);
	if (ch->ch_type == CH_SMTP) {
		curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
		curl_easy_setopt(easy, CURLOPT_MAIL_FROM, req->cr_from);
		curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, req->cr_rcpt);
		/* One text part; libcurl writes the MIME structure, the
		 * transfer encoding and the line ends SMTP wants. */
		curl_mime_free(req->cr_mime);
		req->cr_mime = curl_mime_init(easy);
		{
			curl_mimepart *part = curl_mime_addpart(req->cr_mime);
			curl_mime_data(part, req->cr_body, req->cr_len);
			curl_mime_type(part, "text/plain; charset=UTF-8");
			curl_mime_encoder(part, "quoted-printable");
		}
		curl_easy_setopt(easy, CURLOPT_MIMEPOST, req->cr_mime);
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER,
		                 req->cr_mail_headers);
		if (ch->ch_starttls)
			curl_easy_setopt(easy, CURLOPT_USE_SSL,
			                 (long)CURLUSESSL_ALL);
		return;
	}
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, req->cr_headers);
	if (strcmp(req->cr_method, "GET") == 0)
		curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
	else {
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req->cr_body);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE,
		                 (long)req->cr_len);
		if (strcmp(req->cr_method, "PUT") == 0)
			curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "PUT");
	}
}

/* Chat robots answer 200 with an error code in the body. */
static enum channel_verdict
judge_chat(const struct notify_channel *ch, const char *body, char *err,
           size_t len)
{
	/* Rate limits of the robots: try again later. */
	static const long slow[] = {130101, 45009, 9499, 11232};
	json_t *j = json_loads(body, 0, NULL);
	json_t *code = j ? json_object_get(j, "errcode") : NULL;
	const char *msg;
	long c;
	size_t i;

	if (code == NULL && j != NULL)
		code = json_object_get(j, "code");
	if (!json_is_integer(code) || json_integer_value(code) == 0) {
		json_decref(j);
		return CV_SENT;
	}
	c = (long)json_integer_value(code);
	msg = json_string_value(json_object_get(j, "errmsg"));
	if (msg == NULL)
		msg = json_string_value(json_object_get(j, "msg"));
	snprintf(err, len, "%s answered error %ld: %s", ch->ch_name, c,
	         msg ? msg : "(no message)");
	json_decref(j);
	for (i = 0; i < sizeof(slow) / sizeof(slow[0]); i++)
		if (c == slow[i])
			return CV_RETRY;
	return CV_FAILED;
}

enum channel_verdict
channel_judge(const struct notify_channel *ch, CURLcode rc, long code,
              const struct channel_request *req, char *err, size_t len)
{
	if (ch->ch_type == CH_SMTP) {
		if (rc == CURLE_OK)
			return CV_SENT;
		snprintf(err, len, "smtp: %s%s%s (reply %ld)",
		         curl_easy_strerror(rc),
		         req->cr_curl_error[0] ? ": " : "", req->cr_curl_error,
		         code);
		if (rc == CURLE_LOGIN_DENIED || rc == CURLE_URL_MALFORMAT ||
		    rc == CURLE_UNSUPPORTED_PROTOCOL || code >= 500)
			return CV_FAILED;
		return CV_RETRY;
	}
	if (rc != CURLE_OK) {
		snprintf(err, len, "%s%s%s", curl_easy_strerror(rc),
		         req->cr_curl_error[0] ? ": " : "", req->cr_curl_error);
		if (rc == CURLE_URL_MALFORMAT ||
		    rc == CURLE_UNSUPPORTED_PROTOCOL ||
		    rc == CURLE_LOGIN_DENIED)
			return CV_FAILED;
		return CV_RETRY;
	}
	if (code >= 200 && code < 300) {
		if (ch->ch_type == CH_WECOM || ch->ch_type == CH_DINGTALK ||
		    ch->ch_type == CH_FEISHU)
			return judge_chat(ch, req->cr_resp, err, len);
		return CV_SENT;
	}
	snprintf(err, len, "HTTP %ld%s%.160s", code,
	         req->cr_resp_len ? ": " : "", req->cr_resp);
	/* Timeouts and throttling at the far end pass; other 4xx do not. */
	if (code >= 500 || code == 408 || code == 425 || code == 429)
		return CV_RETRY;
	return CV_FAILED;
}
