/* OpenSSL contexts for the mutually authenticated agent <-> collector link,
 * and for the collector's HTTPS listener. */
#ifndef WATCHSTAND_TLS_H
#define WATCHSTAND_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

/* NULL with a reason in err when a file is missing or does not match. */
SSL_CTX *tls_ctx_new(const char *ca, const char *cert, const char *key,
                     int server, char *err, size_t errlen);
/* A server context for browsers: this certificate chain and key, no
 * client certificate asked for; NULL with a reason naming
 * collector.http_tls.cert or .key. */
SSL_CTX *tls_web_ctx_new(const char *cert, const char *key, char *err,
                         size_t errlen);
/* 1 when the peer certificate's CN or one of its DNS SANs equals name. */
int tls_peer_is(SSL *ssl, const char *name);
/* The peer certificate's CN, for log lines. */
const char *tls_peer_cn(SSL *ssl, char *buf, size_t len);
/* The first queued OpenSSL error as text, or "unknown". */
const char *tls_error(char *buf, size_t len);

#endif
