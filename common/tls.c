#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "watchstand/tls.h"

const char *
tls_error(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, len, "unknown");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* The certificate chain and its key into ctx; errors name the keys
 * under prefix ("tls", "http_tls"). */
static int
tls_ctx_load_pair(SSL_CTX *ctx, const char *prefix, const char *cert,
                  const char *key, char *err, size_t errlen)
{
	char why[256];

	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		snprintf(err, errlen, "%s.cert %s: %s", prefix, cert,
		         tls_error(why, sizeof(why)));
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		snprintf(err, errlen, "%s.key %s: %s", prefix, key,
		         tls_error(why, sizeof(why)));
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "%s.key %s does not match %s.cert %s",
		         prefix, key, prefix, cert);
		return -1;
	}
	return 0;
}

SSL_CTX *
tls_ctx_new(const char *ca, const char *cert, const char *key, int server,
            char *err, size_t errlen)
{
	SSL_CTX *ctx;
	char why[256];

	ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (ctx == NULL) {
		snprintf(err, errlen, "SSL_CTX_new: %s",
		         tls_error(why, sizeof(why)));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		snprintf(err, errlen, "tls.ca %s: %s", ca,
		         tls_error(why, sizeof(why)));
		goto fail;
	}
	if (tls_ctx_load_pair(ctx, "tls", cert, key, err, errlen) == -1)
		goto fail;
	/* Both sides must present a certificate signed by our CA. */
	SSL_CTX_set_verify(ctx,
	                   SSL_VERIFY_PEER |
	                       (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
	                   NULL);
	if (server) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
		if (names != NULL)
			SSL_CTX_set_client_CA_list(ctx, names);
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
tls_web_ctx_new(const char *cert, const char *key, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	char why[256];

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		snprintf(err, errlen, "SSL_CTX_new: %s",
		         tls_error(why, sizeof(why)));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (tls_ctx_load_pair(ctx, "collector.http_tls", cert, key, err,
	                      errlen) == -1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

const char *
tls_peer_cn(SSL *ssl, char *buf, size_t len)
{
	X509 *peer = SSL_get1_peer_certificate(ssl);

	buf[0] = '\0';
	if (peer == NULL)
		return buf;
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(peer),
	                              NID_commonName, buf, len) < 0)
		buf[0] = '\0';
	X509_free(peer);
	return buf;
}

int
tls_peer_is(SSL *ssl, const char *name)
{
	X509 *peer = SSL_get1_peer_certificate(ssl);
	GENERAL_NAMES *sans;
	char cn[256];
	int ok = 0, i;

	if (peer == NULL)
		return 0;
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(peer),
	                              NID_commonName, cn, sizeof(cn)) > 0 &&
	    strcmp(cn, name) == 0)
		ok = 1;
	sans = X509_get_ext_d2i(peer, NID_subject_alt_name, NULL, NULL);
	for (i = 0; !ok && sans != NULL && i < sk_GENERAL_NAME_num(sans); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
		if (gn->type != GEN_DNS)
			continue;
		const unsigned char *d = ASN1_STRING_get0_data(gn->d.dNSName);
		int n = ASN1_STRING_length(gn->d.dNSName);
		/* Exact match only: a wildcard must not stand for an agent. */
		if ((size_t)n == strlen(name) && memcmp(d, name, n) == 0)
			ok = 1;
	}
	GENERAL_NAMES_free(sans);
	X509_free(peer);
	return ok;
}
