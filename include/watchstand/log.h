/* Tiny logging API after relayd's log.c: one line per event, to stderr. */
#ifndef WATCHSTAND_LOG_H
#define WATCHSTAND_LOG_H

#include <stdarg.h>

void log_init(const char *ident, int verbose);
void log_setverbose(int verbose);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends strerror(errno); log_warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* fatal* exit the process: only for start-up failures. */
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
