/*
 * Alarms: the ISA-18.2 lifecycle of rule outcomes, kept in memory for
 * decisions and written to PostgreSQL (alarms, shift log) through the
 * store's ordered queue. Host silence raises one host alarm and
 * suppresses that host's other alarms until it returns.
 */
#ifndef WATCHSTAND_ALARM_H
#define WATCHSTAND_ALARM_H

#include "alarm/rules.h"

struct collector;
struct alarms;

struct alarms *alarms_new(struct collector *c);
void alarms_free(struct alarms *a);
/* A rules_fn: a rule's transition on one series. */
void alarms_outcome(void *arg, const struct rule *r, const char *host,
                    const char *series, const struct rule_outcome *o);
/* The agent of host fell silent (1) or is back (0). */
void alarms_host_silent(struct alarms *a, const char *host, int silent,
                        const char *why);
int alarms_open(struct alarms *a);
/* Acknowledges alarm $1 as $2 with comment $3 (may be NULL), with its
 * shift log entry; returns (state before, state after or NULL). */
extern const char alarm_ack_sql[];
extern const char alarm_ack_link_sql[];

#endif
