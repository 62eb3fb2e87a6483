/* The collector's version, for logs, pages and /healthz. */
#ifndef WATCHSTAND_COLLECTOR_VERSION_H
#define WATCHSTAND_COLLECTOR_VERSION_H

#include "watchstand/version.h"

#define COLLECTOR_VERSION WATCHSTAND_VERSION

#endif
