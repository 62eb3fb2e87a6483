/*
 * The console at /: the files of dashboards/console/, built into the
 * binary (console_files, generated at build time), or with --console DIR
 * read from that folder at each request so a developer edits and reloads.
 * A path that names no file and has no extension is a client-side route
 * and answers index.html; /api/ stays the API's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "watchstand/log.h"
#include "watchstand/xalloc.h"
#include "collector.h"
#include "web/console.h"

#define CONSOLE_PATH_MAX 512
#define CONSOLE_FILE_MAX (32 << 20) /* a folder's file, read whole */
#define CONSOLE_ETAG_HEX 32         /* as embed_console.cmake cuts it */

static const char console_csp[] =
    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'";

static const struct {
	const char *ct_ext;
	const char *ct_type;
} console_types[] = {
    {"html", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"webmanifest", "application/manifest+json"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/plain; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/x-icon"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"wav", "audio/wav"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
};

const char *
console_content_type(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash + 1 : path, '.');
	size_t i;

	if (dot != NULL)
		for (i = 0;
		     i < sizeof(console_types) / sizeof(console_types[0]); i++)
			if (strcasecmp(dot + 1, console_types[i].ct_ext) == 0)
				return console_types[i].ct_type;
	/* With nosniff, the browser will not run or style it. */
	return "application/octet-stream";
}

int
console_path_clean(const char *raw, char *out, size_t outlen)
{
	char *dec, *seg, *save = NULL;
	size_t n = 0, declen, seglen, i;
	int rc = -1;

	if (raw == NULL || raw[0] != '/' || outlen == 0)
		return -1;
	if ((dec = evhttp_uridecode(raw, 0, &declen)) == NULL)
		return -1;
	/* %00 would cut the name short of what was asked for. */
	if (strlen(dec) != declen)
		goto done;
	for (i = 0; i < declen; i++)
		if ((unsigned char)dec[i] < 0x20 || dec[i] == 0x7f ||
		    dec[i] == '\\')
			goto done;
	for (seg = strtok_r(dec, "/", &save); seg != NULL;
	     seg = strtok_r(NULL, "/", &save)) {
		if (seg[0] == '.')
			goto done;
		seglen = strlen(seg);
		if (n + (n > 0) + seglen + 1 > outlen)
			goto done;
		if (n > 0)
			out[n++] = '/';
		memcpy(out + n, seg, seglen);
		n += seglen;
	}
	out[n] = '\0';
	rc = 0;
done:
	free(dec);
	return rc;
}

/* A route for the client (no extension) rather than a missing file. */
static int
console_has_extension(const char *path)
{
	const char *slash = strrchr(path, '/');

	return strchr(slash ? slash + 1 : path, '.') != NULL;
}

char *
console_dir_open(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	char *real;

	if ((real = realpath(dir, NULL)) == NULL) {
		snprintf(err, errlen, "--console %s: %s", dir, strerror(errno));
		return NULL;
	}
	if (stat(real, &st) == -1 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "--console %s: not a folder", dir);
		free(real);
		return NULL;
	}
	return real;
}

/*
 * Reads DIR/path whole into out, with its ETag. 1 when served, 0 when
 * there is no such file, -1 when the name leads out of the folder (a
 * symbolic link) or the file cannot be read.
 */
static int
console_dir_read(const char *dir, const char *path, struct evbuffer *out,
                 char *etag, size_t etaglen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char full[PATH_MAX], hex[CONSOLE_ETAG_HEX + 1], *real;
	size_t dirlen = strlen(dir), got = 0;
	unsigned char *data = NULL;
	struct stat st;
	ssize_t r;
	int fd = -1, rc = -1, i;

	if ((size_t)snprintf(full, sizeof(full), "%s/%s", dir, path) >=
	    sizeof(full))
		return 0;
	if ((real = realpath(full, NULL)) == NULL)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	if (strncmp(real, dir, dirlen) != 0 || real[dirlen] != '/') {
		log_warnx("console: %s leads out of %s", path, dir);
		goto done;
	}
	if ((fd = open(real, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		log_warn("console: %s", real);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = 0; /* a folder: perhaps a client route */
		goto done;
	}
	if (st.st_size > CONSOLE_FILE_MAX) {
		log_warnx("console: %s: over %d MiB", real,
		          CONSOLE_FILE_MAX >> 20);
		goto done;
	}
	data = xmalloc(st.st_size + 1);
	while (got < (size_t)st.st_size &&
	       (r = read(fd, data + got, st.st_size - got)) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			log_warn("console: %s", real);
			goto done;
		}
		got += r;
	}
	EVP_Digest(data, got, md, NULL, EVP_sha256(), NULL);
	/* The same form as the embedded files' (embed_console.cmake). */
	for (i = 0; i < CONSOLE_ETAG_HEX / 2; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(etag, etaglen, "\"%s\"", hex);
	evbuffer_add(out, data, got);
	rc = 1;
done:
	if (fd != -1)
		close(fd);
	free(data);
	free(real);
	return rc;
}

static const struct console_file *
console_embedded(const char *path)
{
	int i;

	for (i = 0; i < console_files_n; i++)
		if (strcmp(console_files[i].cf_path, path) == 0)
			return &console_files[i];
	return NULL;
}

/* Looks path up in the folder or the binary; as console_dir_read. */
static int
console_find(struct collector *c, const char *path, struct evbuffer *out,
             char *etag, size_t etaglen)
{
	const struct console_file *f;

	if (c->c_console_dir != NULL)
		return console_dir_read(c->c_console_dir, path, out, etag,
		                        etaglen);
	if ((f = console_embedded(path)) == NULL)
		return 0;
	evbuffer_add_reference(out, f->cf_data, f->cf_len, NULL, NULL);
	snprintf(etag, etaglen, "%s", f->cf_etag);
	return 1;
}

/* Whether If-None-Match names this ETag (or is "*"): W/ or not, as a
 * weak comparison allows. */
static int
console_not_modified(struct evhttp_request *req, const char *etag)
{
	const char *inm = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "If-None-Match");

	if (inm == NULL)
		return 0;
	while (*inm == ' ')
		inm++;
	return strcmp(inm, "*") == 0 || strstr(inm, etag) != NULL;
}

static void
console_send(struct evhttp_request *req, const char *path,
             struct evbuffer *body, const char *etag)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char len[24];

	evhttp_add_header(h, "Content-Type", console_content_type(path));
	evhttp_add_header(h, "ETag", etag);
	/* The names carry no hash: every use revalidates (a 304 on a
	 * LAN), so a new build's files are taken together at once. */
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_add_header(h, "Content-Security-Policy", console_csp);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	if (console_not_modified(req, etag)) {
		evhttp_send_reply(req, 304, "Not Modified", NULL);
	} else if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		/* evhttp 2.1 would send a HEAD's body: the length only. */
		snprintf(len, sizeof(len), "%zu", evbuffer_get_length(body));
		evhttp_add_header(h, "Content-Length", len);
		evhttp_send_reply(req, 200, "OK", NULL);
	} else
		evhttp_send_reply(req, 200, "OK", body);
}

static void
console_error(struct evhttp_request *req, int code, const char *msg)
{
	evhttp_add_header(evhttp_request_get_output_headers(req),
	                  "X-Content-Type-Options", "nosniff");
	http_reply_json(req, code, json_pack("{s:s}", "error", msg));
}

int
console_handle(struct collector *c, struct evhttp_request *req)
{
	const char *raw =
	    evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	char path[CONSOLE_PATH_MAX], etag[CONSOLE_ETAG_HEX + 3];
	const char *name;
	struct evbuffer *body;
	int found;

	if (raw == NULL || strcmp(raw, "/api") == 0 ||
	    strncmp(raw, "/api/", 5) == 0)
		return 0;
	if (console_path_clean(raw, path, sizeof(path)) == -1) {
		console_error(req, 400, "bad path");
		return 1;
	}
	/* Decoded, it may still be the API's: its 404, not a page. */
	if (strcmp(path, "api") == 0 || strncmp(path, "api/", 4) == 0)
		return 0;
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		                  "Allow", "GET, HEAD");
		console_error(req, 405, "GET or HEAD only");
		return 1;
	}
	name = path[0] != '\0' ? path : "index.html";
	body = evbuffer_new();
	found = console_find(c, name, body, etag, sizeof(etag));
	if (found == 0 && !console_has_extension(name)) {
		name = "index.html";
		found = console_find(c, name, body, etag, sizeof(etag));
	}
	if (found == 1)
		console_send(req, name, body, etag);
	else if (found == 0)
		console_error(req, 404, "no such file");
	else
		console_error(req, 404, "cannot serve this file");
	evbuffer_free(body);
	return 1;
}
