/* The version of watchstand: the agent, the collector and the CLI are
 * released together and say the same with --version. */
#ifndef WATCHSTAND_VERSION_H
#define WATCHSTAND_VERSION_H

#define WATCHSTAND_VERSION "0.1.0"

#endif
