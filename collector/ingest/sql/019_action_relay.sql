-- Actions for agents connected to the other collector of a pair, relayed through the database
-- The leader runs checklists; an agent may be connected to the follower.
-- The leader writes the request here (fenced: leaders only) and NOTIFYs
-- watchstand_action; the collector that has the agent claims the row (one
-- UPDATE ... WHERE state = 'new', so it is sent once), sends the action
-- with the leader's request id, and writes the result back (NOTIFY
-- watchstand_action_result); the leader takes the row (DELETE ...
-- RETURNING) and resolves the step. collector/relay.c, docs/ha.md.
CREATE TABLE watchstand.action_relay (
  request numeric(20,0) PRIMARY KEY,
  leader text NOT NULL,
  host text NOT NULL,
  action text NOT NULL,
  run_id bigint NOT NULL,
  step text NOT NULL,
  drill boolean NOT NULL DEFAULT false,
  state text NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'sent', 'done')),
  relayed_by text,
  outcome smallint,
  status integer,
  duration_ms bigint,
  output text,
  reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  done_at timestamptz);
CREATE INDEX action_relay_host ON watchstand.action_relay (host) WHERE state = 'new';
CREATE TRIGGER action_relay_fence BEFORE INSERT ON watchstand.action_relay
  FOR EACH STATEMENT EXECUTE FUNCTION watchstand.fence();

-- The heartbeat also drops relayed requests nobody took within a day.
CREATE OR REPLACE FUNCTION watchstand.lead_renew(p_epoch bigint)
  RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  UPDATE watchstand.leader SET renewed_at = now() WHERE epoch = p_epoch;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  DELETE FROM watchstand.batch_feed WHERE at < now() - interval '10 minutes';
  DELETE FROM watchstand.action_relay WHERE created_at < now() - interval '1 day';
  RETURN true;
END $$;
