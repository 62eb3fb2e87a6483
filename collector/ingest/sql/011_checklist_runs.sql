-- checklist runs and their steps (docs/checklists.md, "Runs")
-- Privileges for watchstand_collector come from the default privileges of migration 008.
CREATE TABLE watchstand.checklist_runs (  id bigserial PRIMARY KEY,  checklist text NOT NULL,  kind text NOT NULL,  drill boolean NOT NULL DEFAULT false,  state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done', 'failed')),  opened_by text NOT NULL,  started_at timestamptz NOT NULL DEFAULT now(),  finished_at timestamptz,  report text);
CREATE UNIQUE INDEX checklist_runs_open ON watchstand.checklist_runs (checklist) WHERE state = 'open';
CREATE TABLE watchstand.checklist_steps (  run_id bigint NOT NULL REFERENCES watchstand.checklist_runs (id),  step text NOT NULL,  ord integer NOT NULL,  host text,  action text,  manual text,  state text NOT NULL DEFAULT 'pending',  request_id numeric(20,0),  executed_by text,  executed_at timestamptz,  confirmed_by text,  confirmed_at timestamptz,  skipped_by text,  skip_reason text,  value double precision,  value_at timestamptz,  result text,  error text,  finished_at timestamptz,  PRIMARY KEY (run_id, step));
CREATE INDEX checklist_steps_request ON watchstand.checklist_steps (request_id) WHERE request_id IS NOT NULL;
CREATE TABLE watchstand.checklist_baselines (  run_id bigint NOT NULL REFERENCES watchstand.checklist_runs (id),  host text NOT NULL,  series text NOT NULL,  value double precision NOT NULL,  PRIMARY KEY (run_id, host, series));
CREATE VIEW watchstand.v_checklist_runs AS  SELECT id, checklist, started_at, finished_at, state FROM watchstand.checklist_runs;
CREATE VIEW watchstand.v_checklist_steps AS  SELECT run_id, step, host, state, executed_by, executed_at, confirmed_by, confirmed_at, value, error FROM watchstand.checklist_steps;
