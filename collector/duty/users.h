/* Users of the desk: roles, yescrypt password hashes (libxcrypt), and the
 * bearer tokens of their sessions (stored hashed). */
#ifndef WATCHSTAND_USERS_H
#define WATCHSTAND_USERS_H

#include <stddef.h>

enum user_role { ROLE_VIEWER, ROLE_WATCHSTANDER, ROLE_LEAD, ROLE_ADMIN };
extern const char *const user_role_names[4];
int user_role_parse(const char *s);

/* useradd: the password comes on stdin. Blocking: the command line only. */
int users_add(const char *conninfo, const char *login, const char *role,
              const char *name, const char *phone, const char *email);
/* 1 when password matches the stored hash. */
int users_check_password(const char *password, const char *hash);
/* A yescrypt hash of a random password, made like useradd's: checking an
 * unknown login against it costs what checking a known one does. */
int users_dummy_hash(char *out, size_t olen);
/* A new random token (hex) and its SHA-256 (hex) for storing. */
void users_new_token(char *token, size_t tlen, char *hash, size_t hlen);
void users_token_hash(const char *token, char *hash, size_t hlen);

#endif
