/*
 * Nagios plugin output: the summary line and performance data as the
 * plugin development guidelines define them:
 *   TEXT | 'label'=value[UOM];[warn];[crit];[min];[max] ...
 *   LONG TEXT ... | more perfdata
 *   more perfdata
 * Values are normalised: s/ms/us to seconds, B/KB/MB/GB/TB to bytes
 * (1024-based, as check_disk counts).
 */
#ifndef WATCHSTAND_PERFDATA_H
#define WATCHSTAND_PERFDATA_H

#include <stddef.h>

typedef void (*perfdata_fn)(void *arg, const char *label, double value,
                            const char *uom);

/*
 * Parses space-separated items. Calls fn for each item with a value ("U",
 * undetermined, is skipped). Returns the number of items, or -1 with a
 * reason at the first malformed one (items before it were reported).
 */
int perfdata_parse(const char *s, perfdata_fn fn, void *arg, const char **why);

/*
 * Splits a whole plugin output: the first line's text into summary (trimmed,
 * at most slen - 1 bytes), all perfdata through fn. Returns the number of
 * perfdata items or -1 with a reason.
 */
int perfdata_output(const char *out, char *summary, size_t slen, perfdata_fn fn,
                    void *arg, const char **why);

#endif
