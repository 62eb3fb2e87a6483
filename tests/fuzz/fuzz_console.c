/*
 * libFuzzer: the console's path cleaning (a request's path, from
 * anyone) on arbitrary bytes. Whatever it accepts must be a relative
 * name with no dot-segment, no empty segment and no byte that could
 * lead elsewhere.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/console.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *raw = malloc(size + 1), out[256], *p;

	if (raw == NULL)
		return 0;
	memcpy(raw, data, size);
	raw[size] = '\0';
	if (console_path_clean(raw, out, sizeof(out)) == 0) {
		if (out[0] == '/' || strstr(out, "//") != NULL ||
		    strchr(out, '\\') != NULL)
			abort();
		for (p = out; *p; p++)
			if ((unsigned char)*p < 0x20 ||
			    (*p == '.' && (p == out || p[-1] == '/')))
				abort();
		if (out[0] != '\0' && out[strlen(out) - 1] == '/')
			abort();
	}
	free(raw);
	return 0;
}
