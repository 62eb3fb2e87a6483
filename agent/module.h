/*
 * Probe families whose libraries are heavy (net-snmp, libpq, libcurl) are
 * loadable modules installed beside the agent binary, opened on first use:
 * an agent maps those libraries only when its config uses those probes.
 */
#ifndef WATCHSTAND_MODULE_H
#define WATCHSTAND_MODULE_H

#include <stddef.h>

/*
 * The address of symbol in module NAME (watchstand-agent-NAME.so beside the
 * binary, or in $WATCHSTAND_MODULE_DIR), or in the program itself when it
 * is linked in (tests). NULL with the reason in err.
 */
void *module_symbol(const char *name, const char *symbol, char *err,
                    size_t errlen);
/* Where module NAME is looked for. */
void module_path(const char *name, char *buf, size_t len);

#endif
