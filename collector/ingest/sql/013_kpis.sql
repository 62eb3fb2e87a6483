-- KPIs (ISA-18.2 / EEMUA 191) over a time window, per shift and per day (docs/kpis.md)
-- watchstand.shifts is also created by 012 (the shifts branch) with the same definition; both use IF NOT EXISTS.
CREATE TABLE IF NOT EXISTS watchstand.shifts (id bigserial primary key, name text not null, started_at timestamptz not null, ended_at timestamptz, lead text, on_duty text[] not null default '{}');
-- collector.ack_target, written by the collector at start and on reload.
CREATE TABLE IF NOT EXISTS watchstand.ack_targets (severity text PRIMARY KEY, target interval NOT NULL);
CREATE OR REPLACE VIEW watchstand.v_checklist_runs AS SELECT id, checklist, started_at, finished_at, state, kind, drill FROM watchstand.checklist_runs;
CREATE OR REPLACE FUNCTION watchstand.kpis(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (metric text, label text, value double precision)
LANGUAGE sql STABLE AS $$
WITH
w AS (SELECT greatest(extract(epoch FROM p_to - p_from), 1)::double precision AS secs),
raised AS (SELECT a.* FROM watchstand.alarms a WHERE a.raised_at >= p_from AND a.raised_at < p_to),
active_end AS (SELECT a.* FROM watchstand.alarms a WHERE a.raised_at < p_to AND (a.cleared_at IS NULL OR a.cleared_at >= p_to) AND (a.closed_at IS NULL OR a.closed_at >= p_to)),
buckets AS (SELECT floor(extract(epoch FROM r.raised_at - p_from) / 600) AS b, count(*) AS n FROM raised r GROUP BY 1),
total AS (SELECT count(*)::double precision AS n FROM raised),
ranked AS (SELECT r.rule, count(*) AS n, row_number() OVER (ORDER BY count(*) DESC, r.rule) AS rk FROM raised r GROUP BY r.rule)
SELECT 'alarms_raised', r.severity, count(*)::double precision FROM raised r GROUP BY r.severity
UNION ALL SELECT 'alarms_raised', NULL, (SELECT n FROM total)
UNION ALL SELECT 'alarms_per_10min', NULL, (SELECT n FROM total) / ((SELECT secs FROM w) / 600)
UNION ALL SELECT 'peak_10min', NULL, coalesce((SELECT max((SELECT count(*) FROM raised y WHERE y.raised_at >= x.raised_at AND y.raised_at < x.raised_at + interval '10 minutes')) FROM raised x), 0)::double precision
UNION ALL SELECT 'floods', NULL, (SELECT count(*) FROM buckets WHERE n > 10)::double precision
UNION ALL SELECT 'flood_time_share', NULL, least(1.0, (SELECT count(*) FROM buckets WHERE n > 10) * 600 / (SELECT secs FROM w))
UNION ALL SELECT 'chattering', NULL, (SELECT count(*) FROM raised WHERE chattering)::double precision
UNION ALL SELECT 'stale', NULL, (SELECT count(*) FROM active_end WHERE raised_at <= p_to - interval '24 hours')::double precision
UNION ALL SELECT 'standing', NULL, (SELECT count(*) FROM active_end)::double precision
UNION ALL SELECT 'noisiest_rule', k.rule, k.n::double precision FROM ranked k WHERE k.rk <= 10
UNION ALL SELECT 'noisiest_share', k.rule, k.n / (SELECT n FROM total) FROM ranked k WHERE k.rk <= 10
UNION ALL SELECT 'ack_time_p50', r.severity, percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.acked_at - r.raised_at)) FROM raised r WHERE r.acked_at IS NOT NULL GROUP BY r.severity
UNION ALL SELECT 'ack_time_p90', r.severity, percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM r.acked_at - r.raised_at)) FROM raised r WHERE r.acked_at IS NOT NULL GROUP BY r.severity
UNION ALL SELECT 'clear_time_p50', r.severity, percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.cleared_at - r.raised_at)) FROM raised r WHERE r.cleared_at IS NOT NULL GROUP BY r.severity
UNION ALL SELECT 'clear_time_p90', r.severity, percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM r.cleared_at - r.raised_at)) FROM raised r WHERE r.cleared_at IS NOT NULL GROUP BY r.severity
UNION ALL SELECT 'ack_within_target', r.severity, avg(CASE WHEN r.acked_at IS NOT NULL AND r.acked_at - r.raised_at <= t.target THEN 1.0 ELSE 0.0 END)::double precision FROM raised r JOIN watchstand.ack_targets t ON t.severity = r.severity GROUP BY r.severity
UNION ALL SELECT 'pages', n.recipient, count(*)::double precision FROM watchstand.v_notifications n WHERE n.status = 'sent' AND n.sent_at >= p_from AND n.sent_at < p_to GROUP BY n.recipient
UNION ALL SELECT 'checklist_runs', c.state, count(*)::double precision FROM watchstand.v_checklist_runs c WHERE c.started_at >= p_from AND c.started_at < p_to AND NOT c.drill GROUP BY c.state
UNION ALL SELECT 'drills', c.state, count(*)::double precision FROM watchstand.v_checklist_runs c WHERE c.started_at >= p_from AND c.started_at < p_to AND c.drill GROUP BY c.state
UNION ALL SELECT 'drill_duration', c.checklist || '#' || c.id, extract(epoch FROM c.finished_at - c.started_at)::double precision FROM watchstand.v_checklist_runs c WHERE c.started_at >= p_from AND c.started_at < p_to AND c.drill AND c.finished_at IS NOT NULL
$$;
CREATE OR REPLACE VIEW watchstand.v_shift_kpis AS SELECT s.id AS shift_id, s.name, s.started_at, k.metric, k.label, k.value FROM watchstand.shifts s CROSS JOIN LATERAL watchstand.kpis(s.started_at, coalesce(s.ended_at, now())) k;
