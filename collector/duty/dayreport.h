/*
 * The end-of-day report and the KPI targets (docs/kpis.md): what the
 * KPIs, computed in SQL, need from the collector. The report of a trading
 * day is written once, at its last shift boundary, to watchstand.day_reports
 * and to the shift log, carrying the chain's head like a handover does.
 */
#ifndef WATCHSTAND_DAYREPORT_H
#define WATCHSTAND_DAYREPORT_H

#include <stdint.h>

#include "alarm/rules.h"
#include "duty/shifts.h"

struct store;
struct events;

/* Makes watchstand.ack_targets say what collector.ack_target says
 * (0: no target for that severity). At start and on reload. */
void kpi_targets_store(struct store *st, const uint64_t ms[SEV_N]);

/* Writes the report of trading day `day` unless it exists or the
 * collector saw none of that day (no shift began in it). Called at
 * every shift opening with the day before the current shift's. */
void dayreport_write(struct store *st, struct events *ev,
                     const struct shifts_conf *sc, const struct calendar *cal,
                     int64_t day);

#endif
