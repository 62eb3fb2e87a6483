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
/* 1 when host (as hostport_split gives it) is a loopback address:
 * 127.0.0.0/8, ::1, ::ffff:127.x.y.z, or the name localhost. An empty host
 * (every address) is not. */
int hostport_is_loopback(const char *host);

#endif
