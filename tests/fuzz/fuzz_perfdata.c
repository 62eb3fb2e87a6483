/* libFuzzer: Nagios plugin output (summary and perfdata) parsing. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "perfdata.h"

static void
sink(void *arg, const char *label, double value, const char *uom)
{
	(void)arg;
	(void)label;
	(void)value;
	(void)uom;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), summary[64];
	const char *why;

	memcpy(s, data, size);
	s[size] = '\0';
	perfdata_output(s, summary, sizeof(summary), sink, NULL, &why);
	free(s);
	return 0;
}
