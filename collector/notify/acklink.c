#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "watchstand/log.h"
#include "notify/acklink.h"

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
