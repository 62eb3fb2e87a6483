#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "watchstand/units.h"

struct unit {
	const char *u_name;
	double u_factor;
};

static const struct unit units_duration[] = {{"ms", 1},       {"s", 1000},
                                             {"m", 60000},    {"h", 3600000},
                                             {"d", 86400000}, {NULL, 0}};
static const struct unit units_size[] = {{"B", 1},
                                         {"KiB", 1024.0},
                                         {"MiB", 1024.0 * 1024},
                                         {"GiB", 1024.0 * 1024 * 1024},
                                         {"TiB", 1024.0 * 1024 * 1024 * 1024},
                                         {NULL, 0}};
static const struct unit units_rate[] = {{"bit", 1},     {"Kbit", 1e3},
                                         {"Mbit", 1e6},  {"Gbit", 1e9},
                                         {"Tbit", 1e12}, {NULL, 0}};

/* A value is a non-negative decimal number followed directly by a unit. */
static int
units_parse(const char *s, const struct unit *table, const char *expect,
            uint64_t *out, const char **why)
{
	char *end;
	double v;
	const struct unit *u;

	if (s == NULL || !isdigit((unsigned char)s[0])) {
		*why = expect;
		return -1;
	}
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || !isfinite(v)) {
		*why = expect;
		return -1;
	}
	if (*end == '\0') {
		*why = expect;
		return -1;
	}
	for (u = table; u->u_name != NULL; u++) {
		if (strcmp(end, u->u_name) == 0) {
			double r = v * u->u_factor;
			if (r > 1.8e19) {
				*why = "value too large";
				return -1;
			}
			*out = (uint64_t)llround(r);
			return 0;
		}
	}
	*why = expect;
	return -1;
}

int
units_duration_ms(const char *s, uint64_t *ms, const char **why)
{
	return units_parse(
	    s, units_duration,
	    "expected a duration such as 500ms, 1s, 5m, 2h or 30d", ms, why);
}

int
units_size_bytes(const char *s, uint64_t *bytes, const char **why)
{
	return units_parse(s, units_size,
	                   "expected a size such as 512B, 64KiB, 64MiB or 1GiB",
	                   bytes, why);
}

int
units_rate_bps(const char *s, uint64_t *bps, const char **why)
{
	return units_parse(s, units_rate,
	                   "expected a rate such as 64Kbit, 10Mbit or 1Gbit",
	                   bps, why);
}
