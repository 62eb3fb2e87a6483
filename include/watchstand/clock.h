/* The monotonic clock, for intervals and timeouts (never for dates). */
#ifndef WATCHSTAND_CLOCK_H
#define WATCHSTAND_CLOCK_H

#include <stdint.h>

/* Seconds since an arbitrary point (CLOCK_MONOTONIC). */
double clock_mono_s(void);
/* The same in whole milliseconds. */
int64_t clock_mono_ms(void);

#endif
