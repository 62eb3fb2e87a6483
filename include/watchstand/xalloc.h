/*
 * Allocation policy: running out of memory is not a condition the agent
 * or the collector recovers from, so these abort with a message instead
 * of returning NULL. A size of 0 asks for 1 byte (never NULL);
 * xstrdup(NULL) is NULL.
 */
#ifndef WATCHSTAND_XALLOC_H
#define WATCHSTAND_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
