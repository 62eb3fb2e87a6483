-- reporting views for Grafana: v_hosts, v_notify_messages; v_shift_kpis for a read-only role (docs/dashboards.md)
-- A reporting role gets USAGE on the schema and SELECT on the v_* views, nothing else: a view reads its
-- tables with its owner's rights, but a function called in it runs as the caller, so kpis() (behind
-- v_shift_kpis) runs as its owner too, with a fixed search_path (every name in it is qualified). It
-- returns aggregates only; only roles with USAGE on the schema can reach it.
-- A later migration that re-creates kpis() must say SECURITY DEFINER again (tests/integration/it_grafana.sh fails otherwise).
ALTER FUNCTION watchstand.kpis(timestamptz, timestamptz) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
-- The agents, for a dashboard's host list without scanning samples, and whether a host is out of service now.
CREATE VIEW watchstand.v_hosts AS SELECT a.name AS host, a.role, a.version, a.first_seen, a.last_seen, o.reason AS out_of_service_reason, o.until AS out_of_service_until FROM watchstand.agents a LEFT JOIN watchstand.hosts_out_of_service o ON o.host = a.name AND o.until > now();
-- One row per message (one or more pages to one recipient on one channel) with its outcome: status
-- pending, sent or failed, the attempts it took, how long delivery took, the last error.
CREATE VIEW watchstand.v_notify_messages AS SELECT m.id, m.created_at, m.channel, m.recipient, m.status, m.attempts, m.sent_at, extract(epoch FROM m.sent_at - m.created_at)::double precision AS delivery_s, m.deadline, m.last_error, p.pages, p.kinds, p.alarm_ids FROM watchstand.notify_messages m LEFT JOIN LATERAL (SELECT count(*) AS pages, array_agg(DISTINCT x.kind ORDER BY x.kind) AS kinds, array_agg(DISTINCT x.alarm_id ORDER BY x.alarm_id) FILTER (WHERE x.alarm_id IS NOT NULL) AS alarm_ids FROM watchstand.notify_pages x WHERE x.message_id = m.id) p ON true;
-- The collector reads them like the other views (008's default privileges cover it when the same owner migrates).
DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'watchstand_collector') THEN GRANT SELECT ON watchstand.v_hosts, watchstand.v_notify_messages TO watchstand_collector; END IF; END $$;
