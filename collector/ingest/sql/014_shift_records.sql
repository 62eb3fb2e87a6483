-- Alarms and pages carry their shift; end-of-day reports; a kept roster (docs/shifts.md, docs/kpis.md)
-- A roster put through the API outlives a restart.
-- Privileges for watchstand_collector come from the default privileges of migration 008.

-- The shift open when the row was written: one trigger function for the
-- shift log (012 had its own, replaced here; the trigger keeps its name,
-- which orders it before the chain's) and for alarms and messages.
CREATE FUNCTION watchstand.assign_open_shift() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.shift_id IS NULL THEN
    SELECT id INTO NEW.shift_id FROM watchstand.shifts
      WHERE ended_at IS NULL ORDER BY id DESC LIMIT 1;
  END IF;
  RETURN NEW;
END $$;
DROP TRIGGER shift_log_assign_shift ON watchstand.shift_log;
CREATE TRIGGER shift_log_assign_shift BEFORE INSERT ON watchstand.shift_log
  FOR EACH ROW EXECUTE FUNCTION watchstand.assign_open_shift();
DROP FUNCTION watchstand.shift_log_assign_shift();

ALTER TABLE watchstand.alarms ADD COLUMN shift_id bigint;
CREATE TRIGGER alarms_assign_shift BEFORE INSERT ON watchstand.alarms
  FOR EACH ROW EXECUTE FUNCTION watchstand.assign_open_shift();
CREATE INDEX alarms_shift ON watchstand.alarms (shift_id);
-- Alarms raised before this migration: the shift whose window holds raised_at.
UPDATE watchstand.alarms a SET shift_id = s.id FROM watchstand.shifts s
  WHERE a.shift_id IS NULL AND a.raised_at >= s.started_at
    AND (s.ended_at IS NULL OR a.raised_at < s.ended_at);
CREATE OR REPLACE VIEW watchstand.v_alarms AS
  SELECT id, raised_at, host, rule, severity, state, acked_by,
    acked_at, cleared_at, shift_id FROM watchstand.alarms;

ALTER TABLE watchstand.notify_messages ADD COLUMN shift_id bigint;
CREATE TRIGGER notify_messages_assign_shift BEFORE INSERT ON watchstand.notify_messages
  FOR EACH ROW EXECUTE FUNCTION watchstand.assign_open_shift();
UPDATE watchstand.notify_messages m SET shift_id = s.id FROM watchstand.shifts s
  WHERE m.shift_id IS NULL AND m.created_at >= s.started_at
    AND (s.ended_at IS NULL OR m.created_at < s.ended_at);
CREATE OR REPLACE VIEW watchstand.v_notifications AS
  SELECT t.id, p.alarm_id, m.channel, m.recipient, t.attempt,
    t.status, t.error, t.at AS sent_at, m.shift_id
  FROM watchstand.notify_attempts t
  JOIN watchstand.notify_messages m ON m.id = t.message_id
  JOIN watchstand.notify_pages p ON p.message_id = m.id;

-- One end-of-day report per trading day, written at the day's last shift
-- boundary; like a handover it carries the shift log's head at the time.
CREATE TABLE watchstand.day_reports (
  day date PRIMARY KEY,
  from_ts timestamptz NOT NULL,
  to_ts timestamptz NOT NULL,
  written_at timestamptz NOT NULL DEFAULT now(),
  report jsonb NOT NULL,
  report_sha256 text NOT NULL,
  chain_head_id bigint,
  chain_head text);
CREATE VIEW watchstand.v_day_reports AS
  SELECT day, from_ts, to_ts, written_at, report, report_sha256,
    chain_head_id, chain_head FROM watchstand.day_reports;

-- The roster put through PUT /roster: in force until DELETE /roster, across
-- restarts and reloads. One row at most.
CREATE TABLE watchstand.roster_override (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  roster jsonb NOT NULL,
  by_user text NOT NULL,
  at timestamptz NOT NULL DEFAULT now());
