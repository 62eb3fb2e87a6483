/*
 * Probe families whose libraries are heavy (net-snmp, libpq, libcurl) are
 * loadable modules installed beside the agent binary (or in lib/watchstand
 * beside its bin/, as the packages do), opened on first use: an agent maps
 * those libraries only when its config uses those probes.
 */
#ifndef WATCHSTAND_MODULE_H
#define WATCHSTAND_MODULE_H

#include <stddef.h>

/*
 * The address of symbol in module NAME (watchstand-agent-NAME.so in
 * $WATCHSTAND_MODULE_DIR, else beside the binary, else in lib/watchstand
 * next to the binary's bin/), or in the program itself when it is linked
 * in (tests). NULL with the reason in err.
 */
void *module_symbol(const char *name, const char *symbol, char *err,
                    size_t errlen);
/* Where module NAME is looked for: the first place that has it, else the
 * last place tried. */
void module_path(const char *name, char *buf, size_t len);

#endif
