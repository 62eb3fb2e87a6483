/* The collector's version, for logs, pages and /healthz. */
#ifndef WATCHSTAND_VERSION_H
#define WATCHSTAND_VERSION_H

#define COLLECTOR_VERSION "0.1.0"

#endif
