#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "duty/users.h"

const char *const user_role_names[4] = {"viewer", "watchstander", "lead",
                                        "admin"};

int
user_role_parse(const char *s)
{
	int i;

	for (i = 0; i < 4; i++)
		if (strcmp(user_role_names[i], s) == 0)
			return i;
	return -1;
}

static void
hex(const unsigned char *b, size_t n, char *out, size_t olen)
{
	size_t i;

	for (i = 0; i < n && 2 * i + 2 < olen; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

void
users_token_hash(const char *token, char *hash, size_t hlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(token, strlen(token), md, &n, EVP_sha256(), NULL);
	hex(md, n, hash, hlen);
}

void
users_new_token(char *token, size_t tlen, char *hash, size_t hlen)
{
	unsigned char raw[32];

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		abort(); /* no randomness: no safe token */
	hex(raw, sizeof(raw), token, tlen);
	users_token_hash(token, hash, hlen);
}

int
users_check_password(const char *password, const char *hash)
{
	struct crypt_data cd;
	const char *out;

	memset(&cd, 0, sizeof(cd));
	out = crypt_rn(password, hash, &cd, sizeof(cd));
	return out != NULL && out[0] != '*' && strcmp(out, hash) == 0;
}

int
users_dummy_hash(char *out, size_t olen)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE], password[65], hash[65];
	struct crypt_data cd;
	const char *h;
	int rc = -1;

	/* The same method and cost as useradd, of a password nobody knows. */
	users_new_token(password, sizeof(password), hash, sizeof(hash));
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting)) ==
	    NULL)
		goto done;
	memset(&cd, 0, sizeof(cd));
	h = crypt_rn(password, setting, &cd, sizeof(cd));
	if (h != NULL && h[0] != '*' && strlen(h) < olen) {
		memcpy(out, h, strlen(h) + 1);
		rc = 0;
	}
	explicit_bzero(&cd, sizeof(cd));
done:
	explicit_bzero(password, sizeof(password));
	return rc;
}

int
users_add(const char *conninfo, const char *login, const char *role,
          const char *name, const char *phone, const char *email)
{
	char password[512], setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd;
	const char *hash, *params[6];
	PGconn *db;
	PGresult *r;
	size_t n;
	int rc = -1;

	if (user_role_parse(role) < 0) {
		fprintf(stderr,
		        "useradd: --role must be viewer, watchstander, "
		        "lead or admin, not '%s'\n",
		        role);
		return -1;
	}
	if (fgets(password, sizeof(password), stdin) == NULL) {
		fprintf(stderr, "useradd: no password on standard input\n");
		return -1;
	}
	n = strcspn(password, "\r\n");
	password[n] = '\0';
	if (n < 8) {
		fprintf(stderr, "useradd: the password needs at least 8 "
		                "characters\n");
		return -1;
	}
	/* yescrypt, libxcrypt's default and strongest. */
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting)) ==
	    NULL) {
		fprintf(stderr, "useradd: cannot make a salt\n");
		return -1;
	}
	memset(&cd, 0, sizeof(cd));
	hash = crypt_rn(password, setting, &cd, sizeof(cd));
	explicit_bzero(password, sizeof(password));
	if (hash == NULL || hash[0] == '*') {
		fprintf(stderr, "useradd: hashing failed\n");
		return -1;
	}
	db = PQconnectdb(conninfo);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "useradd: cannot connect: %s",
		        PQerrorMessage(db));
		goto done;
	}
	params[0] = login;
	params[1] = role;
	params[2] = name;
	params[3] = phone;
	params[4] = email;
	params[5] = hash;
	r = PQexecParams(db,
	                 "INSERT INTO watchstand.users (login, role, name, "
	                 "phone, email, password_hash) VALUES ($1, $2, $3, "
	                 "$4, $5, $6) ON CONFLICT (login) DO UPDATE SET role "
	                 "= EXCLUDED.role, name = coalesce(EXCLUDED.name, "
	                 "users.name), phone = coalesce(EXCLUDED.phone, "
	                 "users.phone), email = coalesce(EXCLUDED.email, "
	                 "users.email), password_hash = "
	                 "EXCLUDED.password_hash RETURNING (xmax = 0)",
	                 6, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fprintf(stderr, "useradd: %s", PQerrorMessage(db));
	else {
		printf("useradd: %s %s (%s)\n",
		       strcmp(PQgetvalue(r, 0, 0), "t") == 0 ? "added"
		                                             : "updated",
		       login, role);
		rc = 0;
	}
	PQclear(r);
done:
	PQfinish(db);
	explicit_bzero(&cd, sizeof(cd));
	return rc;
}
