/* "host:port" and "[v6]:port" as the configs write addresses. */
#ifndef WATCHSTAND_HOSTPORT_H
#define WATCHSTAND_HOSTPORT_H

#include <stddef.h>

/*
 * Splits s at its last colon: host (brackets of a v6 literal dropped)
 * into host[hlen], the port (0..65535, digits only) into
 * *port. -1 when s is not that shape or the host does not fit; callers
 * that need a port above 0 check it.
 */
int hostport_split(const char *s, char *host, size_t hlen, int *port);

#endif
