#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "watchstand/xalloc.h"

/* The one way out: a message on stderr (the log may need memory too). */
static void
xalloc_die(size_t n)
{
	fprintf(stderr, "watchstand: out of memory (%zu bytes)\n", n);
	abort();
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		xalloc_die(size);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p;

	if (n == 0 || size == 0)
		n = size = 1;
	if ((p = calloc(n, size)) == NULL)
		xalloc_die(size > 0 && n > SIZE_MAX / size ? SIZE_MAX
		                                           : n * size);
	return p;
}

void *
xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);

	if (q == NULL)
		xalloc_die(size);
	return q;
}

char *
xstrdup(const char *s)
{
	char *p;

	if (s == NULL)
		return NULL; /* an absent string stays absent */
	p = strdup(s);

	if (p == NULL)
		xalloc_die(strlen(s) + 1);
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		xalloc_die(n + 1);
	return p;
}
