-- The follower's feed written in its ingest transaction and taken as a queue; followers learn the leader's URL
-- A batch a follower stores and its feed row now commit together (COPY in
-- the same transaction, NOTIFY delivered at the commit): the leader's rules
-- never miss a stored batch because the follower died in between. The row
-- names the agent by id; the leader reads its name and role by a join,
-- and deletes what it reads (a queue), so rows committed out of id order
-- are read all the same.
DROP TABLE watchstand.batch_feed;
CREATE TABLE watchstand.batch_feed (
  id bigserial PRIMARY KEY,
  collector text NOT NULL,
  agent_id integer NOT NULL,
  payload bytea NOT NULL,
  at timestamptz NOT NULL DEFAULT now());
CREATE INDEX batch_feed_at ON watchstand.batch_feed (at);

-- The same try, answering a follower with who leads and where (for the
-- API's forwarding, and its 503 when that fails). A new leader reads what
-- the followers fed before it took over (feed rows of its own, written
-- while it followed, are dropped: their samples went through nobody's
-- rules and are stale now).
DROP FUNCTION watchstand.lead_try(text, text);
CREATE FUNCTION watchstand.lead_try(p_holder text, p_url text,
  OUT epoch bigint, OUT prev_holder text, OUT prev_age double precision,
  OUT leader_holder text, OUT leader_url text) LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('idle_session_timeout', '4000', false);
  IF NOT pg_try_advisory_lock(7730016) THEN
    SELECT l.holder, l.url INTO lead_try.leader_holder, lead_try.leader_url
      FROM watchstand.leader l;
    RETURN;
  END IF;
  SELECT l.holder, extract(epoch FROM now() - l.renewed_at)
    INTO lead_try.prev_holder, lead_try.prev_age FROM watchstand.leader l;
  UPDATE watchstand.leader l SET epoch = l.epoch + 1, holder = p_holder,
    url = p_url, since = now(), renewed_at = now()
    RETURNING l.epoch INTO lead_try.epoch;
  DELETE FROM watchstand.batch_feed WHERE collector = p_holder;
  lead_try.leader_holder := p_holder;
  lead_try.leader_url := p_url;
END $$;

-- The heartbeat drops feed rows nobody read for ten minutes (no leader
-- that long); the leader deletes the rows it reads itself.
CREATE OR REPLACE FUNCTION watchstand.lead_renew(p_epoch bigint)
  RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  UPDATE watchstand.leader SET renewed_at = now() WHERE epoch = p_epoch;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  DELETE FROM watchstand.batch_feed WHERE at < now() - interval '10 minutes';
  RETURN true;
END $$;
