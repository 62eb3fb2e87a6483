-- shifts, handovers, carried items (docs/shifts.md)
-- Privileges for watchstand_collector come from the default privileges of migration 008.
CREATE TABLE watchstand.shifts (
  id bigserial primary key,
  name text not null,
  started_at timestamptz not null,
  ended_at timestamptz,
  lead text,
  on_duty text[] not null default '{}');
CREATE TABLE watchstand.handovers (
  id bigserial PRIMARY KEY,
  shift_id bigint NOT NULL REFERENCES watchstand.shifts (id),
  by_user text NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  notes text NOT NULL DEFAULT '',
  report jsonb NOT NULL,
  report_sha256 text NOT NULL,
  chain_head_id bigint,
  chain_head text,
  accepted_by text,
  accepted_at timestamptz,
  accept_notes text);
CREATE INDEX handovers_shift ON watchstand.handovers (shift_id);
CREATE TABLE watchstand.carry_items (
  id bigserial PRIMARY KEY,
  log_id bigint,
  text text NOT NULL,
  by_user text NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  cleared_by text,
  cleared_at timestamptz);
-- Every shift log entry carries the shift it fell in. BEFORE INSERT
-- triggers fire in name order: shift_log_assign_shift runs before
-- shift_log_chain, so the hash covers shift_id.
CREATE FUNCTION watchstand.shift_log_assign_shift() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.shift_id IS NULL THEN
    SELECT id INTO NEW.shift_id FROM watchstand.shifts
      WHERE ended_at IS NULL ORDER BY id DESC LIMIT 1;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER shift_log_assign_shift BEFORE INSERT ON watchstand.shift_log
  FOR EACH ROW EXECUTE FUNCTION watchstand.shift_log_assign_shift();
CREATE VIEW watchstand.v_shifts AS
  SELECT id, name, started_at, ended_at, lead, on_duty FROM watchstand.shifts;
