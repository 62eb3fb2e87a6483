/*
 * Acknowledgement links: public_url/ack/TOKEN, where the token carries an
 * alarm, a recipient and an expiry, signed with HMAC-SHA256 under a key
 * kept in a file outside the database. Opening the link shows a page;
 * only its form (a POST) acknowledges, so a chat app's link preview
 * acknowledges nothing. A link works once.
 */
#ifndef WATCHSTAND_ACKLINK_H
#define WATCHSTAND_ACKLINK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ACKLINK_KEY_MAX 64
#define ACKLINK_RECIPIENT_MAX 128

/* Reads the key, creating the file (0600, 32 random bytes) if missing.
 * -1 with err filled when it cannot. */
int acklink_key_load(const char *file, unsigned char *key, size_t *len,
                     char *err, size_t errlen);
/* The token alone; acklink_url prefixes public_url + "/ack/". */
char *acklink_token(const unsigned char *key, size_t keylen, int64_t alarm,
                    const char *recipient, time_t expires);
char *acklink_url(const char *public_url, const unsigned char *key,
                  size_t keylen, int64_t alarm, const char *recipient,
                  time_t expires);

enum acklink_check { ACKLINK_OK, ACKLINK_BAD, ACKLINK_EXPIRED };
/* Checks a token; on OK (and EXPIRED) fills alarm, recipient and the
 * signature (its one-use identity). */
enum acklink_check acklink_verify(const unsigned char *key, size_t keylen,
                                  const char *token, time_t now, int64_t *alarm,
                                  char *recipient, size_t rlen, char *sig,
                                  size_t siglen);

#endif
