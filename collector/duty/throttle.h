/* Failed-attempt throttling, keyed by a string (a login, a client address).
 * Pure: time is an argument, nothing here reads a clock or does I/O.
 *
 * A key that fails max_failures times, each within window of the one
 * before, is refused for backoff; every further failure (allowed once the
 * refusal is over) doubles it, up to max_backoff. The key is forgotten
 * once window has passed since its last failure and no refusal is in
 * force, or when throttle_success clears it. Memory is bounded: past
 * max_entries, expired keys go first, then the least recently failed. */
#ifndef WATCHSTAND_THROTTLE_H
#define WATCHSTAND_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#define THROTTLE_KEY_MAX 128 /* longer keys are cut */

struct throttle_conf {
	unsigned tc_max_failures;
	int64_t tc_window_ms;
	int64_t tc_backoff_ms;
	int64_t tc_max_backoff_ms;
	size_t tc_max_entries;
};

struct throttle;

struct throttle *throttle_new(const struct throttle_conf *conf);
void throttle_free(struct throttle *t);
/* Milliseconds before key may try again; 0 when it may try now. */
int64_t throttle_wait(struct throttle *t, const char *key, int64_t now_ms);
/* Records a failure of key. Returns the refusal it starts in ms (0 when
 * none). *episode is set to 1 when this failure starts a throttle episode
 * (the max_failures-th in a row), 0 otherwise: report once per episode. */
int64_t throttle_fail(struct throttle *t, const char *key, int64_t now_ms,
                      int *episode);
/* Failures of key in its current count (0 when unknown). */
unsigned throttle_failures(struct throttle *t, const char *key, int64_t now_ms);
/* A success forgets key. */
void throttle_success(struct throttle *t, const char *key);
/* Forgets every key that has nothing left to say. */
void throttle_expire(struct throttle *t, int64_t now_ms);
size_t throttle_size(const struct throttle *t);

#endif
