/* Failed-attempt throttling: a pure core (see throttle.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "watchstand/xalloc.h"
#include "duty/throttle.h"

struct throttle_entry {
	UT_hash_handle hh;
	char te_key[THROTTLE_KEY_MAX];
	unsigned te_failures;
	int64_t te_last_ms;    /* last failure */
	int64_t te_blocked_ms; /* refused until then */
};

/* Entries are kept in the order of their last failure (uthash keeps
 * insertion order; a failure moves its entry to the end), so the
 * least recently failed is the head. */
struct throttle {
	struct throttle_conf t_conf;
	struct throttle_entry *t_entries;
};

struct throttle *
throttle_new(const struct throttle_conf *conf)
{
	struct throttle *t = xcalloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->t_conf = *conf;
	if (t->t_conf.tc_max_failures == 0)
		t->t_conf.tc_max_failures = 1;
	if (t->t_conf.tc_max_entries == 0)
		t->t_conf.tc_max_entries = 1;
	if (t->t_conf.tc_max_backoff_ms < t->t_conf.tc_backoff_ms)
		t->t_conf.tc_max_backoff_ms = t->t_conf.tc_backoff_ms;
	return t;
}

static void
throttle_remove(struct throttle *t, struct throttle_entry *e)
{
	HASH_DEL(t->t_entries, e);
	free(e);
}

void
throttle_free(struct throttle *t)
{
	struct throttle_entry *e, *tmp;

	if (t == NULL)
		return;
	HASH_ITER(hh, t->t_entries, e, tmp)
	{
		throttle_remove(t, e);
	}
	free(t);
}

/* 1 when the entry no longer refuses nor counts anything. */
static int
throttle_stale(const struct throttle *t, const struct throttle_entry *e,
               int64_t now_ms)
{
	return now_ms >= e->te_blocked_ms &&
	       now_ms - e->te_last_ms >= t->t_conf.tc_window_ms;
}

/* The entry for key, forgotten first when it has gone stale. */
static struct throttle_entry *
throttle_find(struct throttle *t, const char *key, int64_t now_ms)
{
	struct throttle_entry *e;
	char k[THROTTLE_KEY_MAX];

	snprintf(k, sizeof(k), "%s", key);
	HASH_FIND_STR(t->t_entries, k, e);
	if (e != NULL && throttle_stale(t, e, now_ms)) {
		throttle_remove(t, e);
		e = NULL;
	}
	return e;
}

int64_t
throttle_wait(struct throttle *t, const char *key, int64_t now_ms)
{
	struct throttle_entry *e = throttle_find(t, key, now_ms);

	return e != NULL && e->te_blocked_ms > now_ms
	           ? e->te_blocked_ms - now_ms
	           : 0;
}

unsigned
throttle_failures(struct throttle *t, const char *key, int64_t now_ms)
{
	struct throttle_entry *e = throttle_find(t, key, now_ms);

	return e != NULL ? e->te_failures : 0;
}

/* backoff doubled for each failure past max_failures, capped. */
static int64_t
throttle_backoff(const struct throttle *t, unsigned failures)
{
	unsigned over = failures - t->t_conf.tc_max_failures;
	int64_t b = t->t_conf.tc_backoff_ms;

	while (over-- > 0 && b < t->t_conf.tc_max_backoff_ms)
		b *= 2;
	return b < t->t_conf.tc_max_backoff_ms ? b
	                                       : t->t_conf.tc_max_backoff_ms;
}

/* Still full after expiry: the least recently failed key that is not
 * refused makes room; only when every key is refused, the oldest. */
static struct throttle_entry *
throttle_victim(struct throttle *t, int64_t now_ms)
{
	struct throttle_entry *e;

	for (e = t->t_entries; e != NULL; e = e->hh.next)
		if (e->te_blocked_ms <= now_ms)
			return e;
	return t->t_entries;
}

int64_t
throttle_fail(struct throttle *t, const char *key, int64_t now_ms, int *episode)
{
	struct throttle_entry *e = throttle_find(t, key, now_ms);
	int64_t block = 0;

	*episode = 0;
	if (e == NULL) {
		if (HASH_COUNT(t->t_entries) >= t->t_conf.tc_max_entries)
			throttle_expire(t, now_ms);
		while (t->t_entries != NULL &&
		       HASH_COUNT(t->t_entries) >= t->t_conf.tc_max_entries)
			throttle_remove(t, throttle_victim(t, now_ms));
		if ((e = xcalloc(1, sizeof(*e))) == NULL)
			return 0;
		snprintf(e->te_key, sizeof(e->te_key), "%s", key);
	} else
		HASH_DEL(t->t_entries, e);
	HASH_ADD_STR(t->t_entries, te_key, e);
	e->te_last_ms = now_ms;
	if (e->te_failures < UINT32_MAX)
		e->te_failures++;
	if (e->te_failures >= t->t_conf.tc_max_failures) {
		block = throttle_backoff(t, e->te_failures);
		if (now_ms + block > e->te_blocked_ms)
			e->te_blocked_ms = now_ms + block;
		*episode = e->te_failures == t->t_conf.tc_max_failures;
	}
	return block;
}

void
throttle_success(struct throttle *t, const char *key)
{
	struct throttle_entry *e;
	char k[THROTTLE_KEY_MAX];

	snprintf(k, sizeof(k), "%s", key);
	HASH_FIND_STR(t->t_entries, k, e);
	if (e != NULL)
		throttle_remove(t, e);
}

void
throttle_expire(struct throttle *t, int64_t now_ms)
{
	struct throttle_entry *e, *tmp;

	HASH_ITER(hh, t->t_entries, e, tmp)
	{
		if (throttle_stale(t, e, now_ms))
			throttle_remove(t, e);
	}
}

size_t
throttle_size(const struct throttle *t)
{
	return HASH_COUNT(t->t_entries);
}
