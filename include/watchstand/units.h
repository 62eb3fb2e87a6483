/* Parsing of the unit-bearing values in our configs: durations, sizes, rates.
 */
#ifndef WATCHSTAND_UNITS_H
#define WATCHSTAND_UNITS_H

#include <stdint.h>

/* Each returns 0 on success, -1 with a short reason in *why on failure. */
int units_duration_ms(const char *s, uint64_t *ms, const char **why);
int units_size_bytes(const char *s, uint64_t *bytes, const char **why);
int units_rate_bps(const char *s, uint64_t *bps, const char **why);

#endif
