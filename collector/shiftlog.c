#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <openssl/evp.h>

#define SHA256_DIGEST_LENGTH 32

#include "api.h"
#include "shiftlog.h"
#include "store.h"

void
shiftlog_add(struct store *st, const char *kind, const char *actor,
             const char *text)
{
	const char *params[3] = {kind, actor, text};

	store_sql(st,
	          "INSERT INTO watchstand.shift_log (kind, actor, text) "
	          "VALUES ($1, $2, $3)",
	          3, params);
	api_publish(kind, actor, text);
}

static int
hex_decode(const char *hex, unsigned char *out, size_t max)
{
	size_t n = strlen(hex), i;

	/* bytea's hex output: \x followed by two digits per byte */
	if (n < 2 || hex[0] != '\\' || hex[1] != 'x' || (n - 2) / 2 > max)
		return -1;
	for (i = 0; i < (n - 2) / 2; i++) {
		unsigned v;
		if (sscanf(hex + 2 + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return (int)i;
}

int
shiftlog_verify(const char *conninfo)
{
	PGconn *db = PQconnectdb(conninfo);
	PGresult *r;
	unsigned char prev[SHA256_DIGEST_LENGTH], hash[SHA256_DIGEST_LENGTH],
	    want[SHA256_DIGEST_LENGTH], stored_prev[SHA256_DIGEST_LENGTH];
	int have_prev = 0, rows, i, rc = 0;

	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "verify-log: cannot connect: %s",
		        PQerrorMessage(db));
		PQfinish(db);
		return -1;
	}
	/* The same fields, in the same text form, as the trigger hashes. */
	r = PQexec(db, "SELECT id, to_char(ts AT TIME ZONE 'UTC', "
	               "'YYYY-MM-DD\"T\"HH24:MI:SS.US'), coalesce(shift_id::"
	               "text, ''), kind, actor, text, prev_hash, hash FROM "
	               "watchstand.shift_log ORDER BY id");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "verify-log: %s", PQerrorMessage(db));
		PQclear(r);
		PQfinish(db);
		return -1;
	}
	rows = PQntuples(r);
	for (i = 0; i < rows; i++) {
		const char *id = PQgetvalue(r, i, 0);
		EVP_MD_CTX *ctx;
		unsigned int wlen = 0;
		int n;

		/* Its link to the entry before. */
		if (PQgetisnull(r, i, 6)
		        ? have_prev
		        : (!have_prev ||
		           hex_decode(PQgetvalue(r, i, 6), stored_prev,
		                      sizeof(stored_prev)) !=
		               SHA256_DIGEST_LENGTH ||
		           memcmp(stored_prev, prev, sizeof(prev)) != 0)) {
			printf("shift log: entry %s does not follow the entry "
			       "before it (an entry was removed or replaced)\n",
			       id);
			rc = 1;
			break;
		}
		ctx = EVP_MD_CTX_new();
		EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
		if (have_prev)
			EVP_DigestUpdate(ctx, prev, sizeof(prev));
		for (n = 0; n < 6; n++) {
			const char *f = PQgetvalue(r, i, n);
			if (n > 0)
				EVP_DigestUpdate(ctx, "|", 1);
			EVP_DigestUpdate(ctx, f, strlen(f));
		}
		EVP_DigestFinal_ex(ctx, want, &wlen);
		EVP_MD_CTX_free(ctx);
		if (hex_decode(PQgetvalue(r, i, 7), hash, sizeof(hash)) !=
		        SHA256_DIGEST_LENGTH ||
		    memcmp(hash, want, sizeof(hash)) != 0) {
			printf("shift log: entry %s was altered after it was "
			       "written (its hash does not match)\n",
			       id);
			rc = 1;
			break;
		}
		memcpy(prev, hash, sizeof(prev));
		have_prev = 1;
	}
	if (rc == 0)
		printf("shift log: %d entries, chain intact\n", rows);
	PQclear(r);
	PQfinish(db);
	return rc;
}
