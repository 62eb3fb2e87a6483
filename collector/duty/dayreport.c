#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "duty/dayreport.h"
#include "events.h"
#include "ingest/store.h"
#include "watchstand/xalloc.h"

void
kpi_targets_store(struct store *st, const uint64_t ms[SEV_N])
{
	json_t *o = json_object();
	const char *params[1];
	char *doc;
	int s;

	for (s = 0; s < SEV_N; s++)
		if (ms[s] > 0)
			json_object_set_new(o, severity_names[s],
			                    json_integer((json_int_t)ms[s]));
	doc = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	params[0] = doc;
	store_sql(st,
	          "WITH t AS (SELECT key AS severity, (value || ' "
	          "milliseconds')::interval AS target FROM "
	          "jsonb_each_text($1::jsonb)), d AS (DELETE FROM "
	          "watchstand.ack_targets x WHERE NOT EXISTS (SELECT 1 FROM t "
	          "WHERE t.severity = x.severity)) INSERT INTO "
	          "watchstand.ack_targets (severity, target) SELECT severity, "
	          "target FROM t ON CONFLICT (severity) DO UPDATE SET target = "
	          "EXCLUDED.target",
	          1, params);
	free(doc);
}

struct dayreport {
	struct events *dr_events;
	char dr_day[16];
	char dr_window[96];
};

/* One row when the report was written now, with its shift log entry. */
static void
dayreport_done(void *arg, PGresult *r)
{
	struct dayreport *dr = arg;

	if (r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK &&
	    PQntuples(r) == 1)
		events_log_written(dr->dr_events);
	free(dr);
}

/* The KPIs are computed once (the CTE k), kept whole in the report and
 * summed up in the shift log entry, written by the same statement: a
 * report never exists without its entry (a fenced, deposed leader writes
 * neither). */
#define DAYREPORT_SQL                                                          \
	"WITH k AS (SELECT * FROM watchstand.kpis(to_timestamp($2), "          \
	"to_timestamp($3))), rep AS (SELECT jsonb_build_object('day', "        \
	"$1::text, 'from', to_timestamp($2), 'to', to_timestamp($3), 'kpis', " \
	"coalesce((SELECT jsonb_agg(jsonb_build_object('metric', metric, "     \
	"'label', label, 'value', value) ORDER BY metric, label) FROM k), "    \
	"'[]'::jsonb)) AS r), head AS (SELECT id, encode(hash, 'hex') AS h "   \
	"FROM watchstand.shift_log ORDER BY id DESC LIMIT 1), ins AS (INSERT " \
	"INTO watchstand.day_reports (day, from_ts, to_ts, report, "           \
	"report_sha256, chain_head_id, chain_head) SELECT $1::date, "          \
	"to_timestamp($2), to_timestamp($3), r, encode(sha256(convert_to("     \
	"r::text, 'UTF8')), 'hex'), (SELECT id FROM head), (SELECT h FROM "    \
	"head) FROM rep WHERE EXISTS (SELECT 1 FROM watchstand.shifts WHERE "  \
	"started_at >= to_timestamp($2) AND started_at < to_timestamp($3)) "   \
	"ON CONFLICT (day) DO NOTHING RETURNING report_sha256, "               \
	"chain_head_id, chain_head), txt AS (SELECT format('end-of-day "       \
	"report %s (%s): %s alarms raised%s, peak %s in 10 min, %s flood "     \
	"periods, %s standing; acknowledged within target: %s; %s pages; "     \
	"checklist runs: %s; report sha256 %s, chain head %s:%s', $1::text, "  \
	"$4::text, (SELECT value::bigint FROM k WHERE metric = "               \
	"'alarms_raised' AND label IS NULL), coalesce(' (' || (SELECT "        \
	"string_agg(label || ' ' || value::bigint, ', ' ORDER BY "             \
	"array_position(ARRAY['critical', 'major', 'minor', 'warning', "       \
	"'info'], label)) FROM k WHERE metric = 'alarms_raised' AND label IS " \
	"NOT NULL) || ')', ''), (SELECT value::bigint FROM k WHERE metric = "  \
	"'peak_10min'), (SELECT value::bigint FROM k WHERE metric = "          \
	"'floods'), (SELECT value::bigint FROM k WHERE metric = 'standing'), " \
	"coalesce((SELECT string_agg(label || ' ' || round(value * 100) || "   \
	"'%', ', ' ORDER BY label) FROM k WHERE metric = "                     \
	"'ack_within_target'), 'no target'), coalesce((SELECT "                \
	"sum(value)::bigint FROM k WHERE metric = 'pages'), 0), "              \
	"coalesce((SELECT string_agg(label || ' ' || value::bigint, ', ' "     \
	"ORDER BY label) FROM k WHERE metric = 'checklist_runs'), 'none'), "   \
	"ins.report_sha256, coalesce(ins.chain_head_id::text, '-'), "          \
	"coalesce(ins.chain_head, '-')) AS t FROM ins) INSERT INTO "           \
	"watchstand.shift_log (kind, actor, text) SELECT 'report', "           \
	"'collector', t FROM txt RETURNING id"

void
dayreport_write(struct store *st, struct events *ev,
                const struct shifts_conf *sc, const struct calendar *cal,
                int64_t day)
{
	struct dayreport *dr;
	char from[24], to[24], lfrom[40], lto[40];
	const char *params[4];
	time_t tf, tt;
	int y, m, d;

	if (shifts_day_window(sc, cal, day, &tf, &tt) == -1)
		return;
	dr = xcalloc(1, sizeof(*dr));
	dr->dr_events = ev;
	calendar_civil(day, &y, &m, &d);
	snprintf(dr->dr_day, sizeof(dr->dr_day), "%04d-%02d-%02d", y, m, d);
	if (calendar_local_format(cal, tf, lfrom, sizeof(lfrom)) == -1 ||
	    calendar_local_format(cal, tt, lto, sizeof(lto)) == -1)
		snprintf(lfrom, sizeof(lfrom), "?");
	snprintf(dr->dr_window, sizeof(dr->dr_window), "%s to %s", lfrom,
	         lto);
	snprintf(from, sizeof(from), "%lld", (long long)tf);
	snprintf(to, sizeof(to), "%lld", (long long)tt);
	params[0] = dr->dr_day;
	params[1] = from;
	params[2] = to;
	params[3] = dr->dr_window;
	store_query(st, DAYREPORT_SQL, 4, params, dayreport_done, dr);
}
