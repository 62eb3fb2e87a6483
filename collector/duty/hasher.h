/* Password checks off the event loop: one worker thread runs yescrypt
 * (libxcrypt) for a small bounded queue; each result comes back to the
 * loop through a pipe, so no libevent call is made from the worker. */
#ifndef WATCHSTAND_HASHER_H
#define WATCHSTAND_HASHER_H

#include <stdint.h>

struct event_base;
struct hasher;

/* ok is 1 when the password matched the hash. Runs on the loop. */
typedef void (*hasher_done_fn)(void *arg, int ok);

/* NULL when the thread or the pipe cannot be made. */
struct hasher *hasher_new(struct event_base *base, int queue_max);
/* Stops and joins the worker; checks not yet reported are dropped
 * without their callback. */
void hasher_free(struct hasher *h);
/* Queues a check (password and hash are copied; the copy of the password
 * is wiped after use). -1 when queue_max checks are already waiting. */
int hasher_check(struct hasher *h, const char *password, const char *hash,
                 hasher_done_fn done, void *arg);
/* 1 when a check would be refused now. */
int hasher_busy(struct hasher *h);
/* Hashes computed since the start. */
uint64_t hasher_count(struct hasher *h);

#endif
