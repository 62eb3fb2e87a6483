#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "watchstand/log.h"
#include "notify/acklink.h"
#include "alarm/alarm.h"
#include "web/api.h"
#include "collector.h"

#define ACKLINK_MAC_LEN 16 /* HMAC-SHA256 cut to 128 bits: a short link */
#define ACKLINK_TOKEN_MAX 512

int
acklink_key_load(const char *file, unsigned char *key, size_t *len, char *err,
                 size_t errlen)
{
	struct stat sb;
	ssize_t n;
	int fd;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT) {
		unsigned char fresh[32];
		fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd == -1 || RAND_bytes(fresh, sizeof(fresh)) != 1 ||
		    write(fd, fresh, sizeof(fresh)) != (ssize_t)sizeof(fresh) ||
		    fsync(fd) == -1) {
			snprintf(err, errlen, "%s: cannot create: %s", file,
			         strerror(errno));
			if (fd != -1)
				close(fd);
			return -1;
		}
		close(fd);
		log_info("notify: created a new link signing key in %s", file);
		fd = open(file, O_RDONLY | O_CLOEXEC);
	}
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == 0 && (sb.st_mode & 077) != 0)
		log_warnx("notify: %s can be read by others than its owner; "
		          "anyone who reads it can acknowledge alarms",
		          file);
	n = read(fd, key, ACKLINK_KEY_MAX);
	close(fd);
	if (n < 16) {
		snprintf(
		    err, errlen,
		    "%s: a signing key needs at least 16 bytes, it has %zd",
		    file, n < 0 ? 0 : n);
		return -1;
	}
	*len = (size_t)n;
	return 0;
}

static void
b64url(const unsigned char *in, size_t n, char *out)
{
	int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n), i;

	for (i = 0; i < len; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	while (len > 0 && out[len - 1] == '=')
		out[--len] = '\0';
}

/* -1 unless s is unpadded base64url; out gets the bytes, NUL ended. */
static int
b64url_decode(const char *s, size_t n, unsigned char *out, size_t outlen)
{
	char buf[ACKLINK_TOKEN_MAX];
	size_t i, padded = (n + 3) / 4 * 4, bytes = n / 4 * 3;
	int got;

	if (n % 4 == 1 || padded >= sizeof(buf))
		return -1;
	bytes += n % 4 == 2 ? 1 : n % 4 == 3 ? 2 : 0;
	if (bytes + 1 > outlen)
		return -1;
	for (i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == '-')
			ch = '+';
		else if (ch == '_')
			ch = '/';
		else if (!((ch >= 'A' && ch <= 'Z') ||
		           (ch >= 'a' && ch <= 'z') ||
		           (ch >= '0' && ch <= '9')))
			return -1;
		buf[i] = ch;
	}
	for (; i < padded; i++)
		buf[i] = '=';
	buf[padded] = '\0';
	got = EVP_DecodeBlock(out, (unsigned char *)buf, (int)padded);
	if (got < 0 || (size_t)got < bytes)
		return -1;
	out[bytes] = '\0';
	return (int)bytes;
}

static void
acklink_mac(const unsigned char *key, size_t keylen, const char *payload,
            size_t n, char *out)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)payload, n,
	     mac, &maclen);
	b64url(mac, ACKLINK_MAC_LEN, out);
}

char *
acklink_token(const unsigned char *key, size_t keylen, int64_t alarm,
              const char *recipient, time_t expires)
{
	char who[ACKLINK_RECIPIENT_MAX * 2], mac[64], *payload, *token;

	b64url((const unsigned char *)recipient,
	       strnlen(recipient, ACKLINK_RECIPIENT_MAX), who);
	if (asprintf(&payload, "%lld.%lld.%s", (long long)alarm,
	             (long long)expires, who) == -1)
		abort();
	acklink_mac(key, keylen, payload, strlen(payload), mac);
	if (asprintf(&token, "%s.%s", payload, mac) == -1)
		abort();
	free(payload);
	return token;
}

char *
acklink_url(const char *public_url, const unsigned char *key, size_t keylen,
            int64_t alarm, const char *recipient, time_t expires)
{
	char *token = acklink_token(key, keylen, alarm, recipient, expires);
	size_t n = strlen(public_url);
	char *url;

	while (n > 0 && public_url[n - 1] == '/')
		n--;
	if (asprintf(&url, "%.*s/ack/%s", (int)n, public_url, token) == -1)
		abort();
	free(token);
	return url;
}

/* A decimal number of at most 18 digits, nothing else. */
static int
parse_num(const char *s, size_t n, long long *out)
{
	size_t i;

	if (n == 0 || n > 18)
		return -1;
	*out = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*out = *out * 10 + (s[i] - '0');
	}
	return 0;
}

enum acklink_check
acklink_verify(const unsigned char *key, size_t keylen, const char *token,
               time_t now, int64_t *alarm, char *recipient, size_t rlen,
               char *sig, size_t siglen)
{
	char mac[64];
	const char *dot1, *dot2, *dot3;
	size_t tlen = strnlen(token, ACKLINK_TOKEN_MAX + 1);
	long long a, exp;

	if (tlen > ACKLINK_TOKEN_MAX || (dot3 = strrchr(token, '.')) == NULL)
		return ACKLINK_BAD;
	acklink_mac(key, keylen, token, (size_t)(dot3 - token), mac);
	if (strlen(dot3 + 1) != strlen(mac) ||
	    CRYPTO_memcmp(dot3 + 1, mac, strlen(mac)) != 0)
		return ACKLINK_BAD;
	/* Signed by us: the rest is well formed unless the key leaked. */
	dot1 = strchr(token, '.');
	dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	if (dot2 == NULL || dot2 >= dot3 ||
	    parse_num(token, (size_t)(dot1 - token), &a) == -1 ||
	    parse_num(dot1 + 1, (size_t)(dot2 - dot1 - 1), &exp) == -1 ||
	    b64url_decode(dot2 + 1, (size_t)(dot3 - dot2 - 1),
	                  (unsigned char *)recipient, rlen) < 1 ||
	    strlen(recipient) == 0)
		return ACKLINK_BAD;
	*alarm = a;
	snprintf(sig, siglen, "%s", mac);
	return (time_t)exp < now ? ACKLINK_EXPIRED : ACKLINK_OK;
}

/* ---- the pages behind the link ---- */


static void
html_escape(struct evbuffer *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			evbuffer_add_printf(out, "&lt;");
			break;
		case '>':
			evbuffer_add_printf(out, "&gt;");
			break;
		case '&':
			evbuffer_add_printf(out, "&amp;");
			break;
		case '"':
			evbuffer_add_printf(out, "&quot;");
			break;
		case '\'':
			evbuffer_add_printf(out, "&#39;");
			break;
		default:
			evbuffer_add(out, s, 1);
		}
	}
}

/* A small page; body is HTML already (escaped by the caller). */
static void
page_reply(struct evhttp_request *req, int code, const char *title,
           struct evbuffer *body)
{
	struct evbuffer *out = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", "text/html; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Content-Security-Policy",
	                  "default-src 'none'; style-src 'unsafe-inline'; "
	                  "form-action 'self'");
	evbuffer_add_printf(
	    out, "<!doctype html><html><head><meta charset=\"utf-8\"><meta "
	         "name=\"viewport\" content=\"width=device-width, "
	         "initial-scale=1\"><title>watchstand: ");
	html_escape(out, title);
	evbuffer_add_printf(
	    out, "</title><style>body{font:18px system-ui,sans-serif;margin:"
	         "1.5em;max-width:36em}button{font-size:1.2em;padding:.6em "
	         "1.4em}dt{font-weight:bold}</style></head><body><h1>");
	html_escape(out, title);
	evbuffer_add_printf(out, "</h1>");
	evbuffer_add_buffer(out, body);
	evbuffer_add_printf(out, "</body></html>\n");
	evhttp_send_reply(req, code, NULL, out);
	evbuffer_free(out);
	evbuffer_free(body);
}

static void
page_text(struct evhttp_request *req, int code, const char *title,
          const char *text)
{
	struct evbuffer *b = evbuffer_new();

	evbuffer_add_printf(b, "<p>");
	html_escape(b, text);
	evbuffer_add_printf(b, "</p>");
	page_reply(req, code, title, b);
}

static void
db_trouble(struct evhttp_request *req, PGresult *r)
{
	log_warnx("acklink: %s", r ? PQresultErrorMessage(r) : "no result");
	page_text(req, 503, "Try again",
	          "The collector cannot reach its database just now. "
	          "Acknowledge in the console or with the CLI.");
}

/* GET: what the alarm is, and a button. */
static void
confirm_page(struct evhttp_request *req, PGresult *r, const char *ctx)
{
	struct evbuffer *b;
	const char *state;
	static const char *const labels[] = {"Rule", "Host", "Series",
	                                     "Severity", "State"};
	int i;

	(void)ctx;
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
		db_trouble(req, r);
		return;
	}
	if (PQntuples(r) != 1) {
		page_text(req, 404, "No such alarm",
		          "This link names an alarm the collector does not "
		          "have.");
		return;
	}
	if (!PQgetisnull(r, 0, 6)) {
		char text[200];
		snprintf(text, sizeof(text),
		         "This link was already used (%s). A link works once.",
		         PQgetvalue(r, 0, 6));
		page_text(req, 403, "Link used", text);
		return;
	}
	state = PQgetvalue(r, 0, 4);
	b = evbuffer_new();
	evbuffer_add_printf(b, "<dl>");
	for (i = 0; i < 5; i++) {
		evbuffer_add_printf(b, "<dt>%s</dt><dd>", labels[i]);
		html_escape(b, PQgetvalue(r, 0, i));
		evbuffer_add_printf(b, "</dd>");
	}
	evbuffer_add_printf(b, "</dl>");
	if (strcmp(state, "active-unacknowledged") == 0 ||
	    strcmp(state, "cleared-unacknowledged") == 0)
		evbuffer_add_printf(
		    b, "<form method=\"post\"><button type=\"submit\">"
		       "Acknowledge</button></form>");
	else {
		evbuffer_add_printf(b, "<p>Nothing to acknowledge: the alarm "
		                       "is ");
		html_escape(b, state);
		if (*PQgetvalue(r, 0, 5)) {
			evbuffer_add_printf(b, " (acknowledged by ");
			html_escape(b, PQgetvalue(r, 0, 5));
			evbuffer_add_printf(b, ")");
		}
		evbuffer_add_printf(b, ".</p>");
	}
	page_reply(req, 200, "Alarm", b);
}

static void
acked_page(struct evhttp_request *req, PGresult *r, const char *ctx)
{
	char text[300];

	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
		db_trouble(req, r);
		return;
	}
	if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0)) {
		page_text(req, 404, "No such alarm",
		          "This link names an alarm the collector does not "
		          "have.");
		return;
	}
	if (!PQgetisnull(r, 0, 2)) {
		snprintf(text, sizeof(text),
		         "This link was already used (%s). A link works once.",
		         PQgetvalue(r, 0, 2));
		page_text(req, 403, "Link used", text);
		return;
	}
	if (PQgetisnull(r, 0, 1)) {
		snprintf(text, sizeof(text),
		         "Nothing was changed: the alarm is %s.",
		         PQgetvalue(r, 0, 0));
		page_text(req, 409, "Not acknowledged", text);
		return;
	}
	snprintf(text, sizeof(text), "Acknowledged as %s; the alarm is now %s.",
	         ctx, PQgetvalue(r, 0, 1));
	log_info("acklink: alarm acknowledged by %s via phone link", ctx);
	page_text(req, 200, "Acknowledged", text);
}

int
acklink_handle(struct collector *c, struct evhttp_request *req)
{
	const char *path =
	    evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	char who[ACKLINK_RECIPIENT_MAX + 1], sig[64], id[32], ctx[200];
	int64_t alarm;
	enum acklink_check ok;

	if (path == NULL || strncmp(path, "/ack/", 5) != 0)
		return 0;
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_POST) {
		page_text(req, 405, "Not allowed", "Open the link.");
		return 1;
	}
	ok = c->c_ack_keylen == 0
	         ? ACKLINK_BAD
	         : acklink_verify(c->c_ack_key, c->c_ack_keylen, path + 5,
	                          time(NULL), &alarm, who, sizeof(who), sig,
	                          sizeof(sig));
	if (ok == ACKLINK_BAD) {
		log_warnx("acklink: refused a link that is altered or not "
		          "ours (%s %s)",
		          cmd == EVHTTP_REQ_POST ? "POST" : "GET",
		          evhttp_request_get_host(req) ?: "");
		page_text(req, 403, "Link not valid",
		          "This link is not valid: it was altered, or it is "
		          "not from this collector.");
		return 1;
	}
	if (ok == ACKLINK_EXPIRED) {
		page_text(req, 403, "Link expired",
		          "This link has expired. Acknowledge in the console "
		          "or with the CLI.");
		return 1;
	}
	snprintf(id, sizeof(id), "%lld", (long long)alarm);
	if (cmd == EVHTTP_REQ_GET) {
		const char *params[2] = {id, sig};
		api_query_for(
		    c, req,
		    "SELECT a.rule, a.host, a.series, a.severity, a.state, "
		    "coalesce(a.acked_by, ''), (SELECT to_char(u.used_at, "
		    "'YYYY-MM-DD HH24:MI:SS TZ') FROM "
		    "watchstand.notify_links_used u WHERE u.signature = $2) "
		    "FROM watchstand.alarms a WHERE a.id = $1::bigint",
		    2, params, confirm_page, "");
	} else {
		/* The link is spent in the same statement, and only if it
		 * acknowledged. */
		const char *params[4] = {id, who, "via phone link", sig};
		snprintf(ctx, sizeof(ctx), "%s", who);
		api_query_for(c, req, alarm_ack_link_sql, 4, params, acked_page,
		              ctx);
	}
	return 1;
}
