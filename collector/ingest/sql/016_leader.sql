-- Two collectors on one database: who leads, the fencing epoch, the feed
-- of the follower's batches (docs/ha.md). Privileges for watchstand_collector come from the default
-- privileges of migration 008.

-- One row: the epoch rises at every takeover; the leader renews renewed_at
-- every second while it holds advisory lock 7730016 on its lead connection.
CREATE TABLE watchstand.leader (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  epoch bigint NOT NULL DEFAULT 0,
  holder text,
  url text,
  since timestamptz,
  renewed_at timestamptz);
INSERT INTO watchstand.leader (one) VALUES (true);

-- Batches committed by a follower, for the leader's rules (the leader
-- LISTENs on watchstand_batch and reads them by id). Kept a minute.
CREATE TABLE watchstand.batch_feed (
  id bigserial PRIMARY KEY,
  collector text NOT NULL,
  host text NOT NULL,
  role text NOT NULL,
  payload bytea NOT NULL,
  at timestamptz NOT NULL DEFAULT now());
CREATE INDEX batch_feed_at ON watchstand.batch_feed (at);

-- The lock, tried on the lead connection; taken, the epoch rises. A
-- session that stops talking for 4 s loses it (a paused or cut-off
-- leader): idle_session_timeout ends the session, which frees the lock.
CREATE FUNCTION watchstand.lead_try(p_holder text, p_url text,
  OUT epoch bigint, OUT feed_id bigint, OUT prev_holder text,
  OUT prev_age double precision) LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('idle_session_timeout', '4000', false);
  IF NOT pg_try_advisory_lock(7730016) THEN
    RETURN;
  END IF;
  SELECT l.holder, extract(epoch FROM now() - l.renewed_at)
    INTO lead_try.prev_holder, lead_try.prev_age FROM watchstand.leader l;
  UPDATE watchstand.leader l SET epoch = l.epoch + 1, holder = p_holder,
    url = p_url, since = now(), renewed_at = now()
    RETURNING l.epoch INTO lead_try.epoch;
  SELECT coalesce(max(id), 0) INTO lead_try.feed_id FROM watchstand.batch_feed;
END $$;

-- The heartbeat: false when the epoch is no longer this leader's.
CREATE FUNCTION watchstand.lead_renew(p_epoch bigint) RETURNS boolean
  LANGUAGE plpgsql AS $$
BEGIN
  UPDATE watchstand.leader SET renewed_at = now() WHERE epoch = p_epoch;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  DELETE FROM watchstand.batch_feed WHERE at < now() - interval '1 minute';
  RETURN true;
END $$;

-- The fence (the triggers below). A collector's store connection says which epoch it led in
-- (SET watchstand.epoch; 0 when it never led); a leader-only write from
-- an older epoch is refused. Connections without the setting (psql,
-- migrate) are not collectors and pass.
CREATE FUNCTION watchstand.fence() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM watchstand.fence_check();
  RETURN NULL;
END $$;

CREATE FUNCTION watchstand.fence_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM watchstand.fence_check();
  RETURN NEW;
END $$;

CREATE FUNCTION watchstand.fence_check() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  mine text := current_setting('watchstand.epoch', true);
  cur watchstand.leader;
BEGIN
  IF mine IS NULL OR mine = '' THEN
    RETURN;
  END IF;
  SELECT * INTO cur FROM watchstand.leader;
  IF mine::bigint < cur.epoch THEN
    RAISE EXCEPTION 'this collector does not lead (its epoch %, epoch % leads since %)',
      mine, cur.epoch, cur.since
      USING ERRCODE = 'WSHA1',
        HINT = 'the leader is ' || coalesce(cur.url, cur.holder, 'unknown');
  END IF;
END $$;

-- What only the leader writes: alarm transitions, notification steps and
-- messages, checklist runs, and its own shift log entries.
CREATE TRIGGER alarms_fence BEFORE INSERT OR UPDATE OR DELETE ON
  watchstand.alarms FOR EACH STATEMENT EXECUTE FUNCTION watchstand.fence();
CREATE TRIGGER notify_steps_fence BEFORE INSERT OR UPDATE OR DELETE ON
  watchstand.notify_steps FOR EACH STATEMENT EXECUTE FUNCTION watchstand.fence();
CREATE TRIGGER notify_messages_fence BEFORE INSERT OR UPDATE OR DELETE ON
  watchstand.notify_messages FOR EACH STATEMENT EXECUTE FUNCTION watchstand.fence();
CREATE TRIGGER notify_pages_fence BEFORE INSERT OR UPDATE OR DELETE ON
  watchstand.notify_pages FOR EACH STATEMENT EXECUTE FUNCTION watchstand.fence();
CREATE TRIGGER checklist_runs_fence BEFORE INSERT OR UPDATE OR DELETE ON
  watchstand.checklist_runs FOR EACH STATEMENT EXECUTE FUNCTION watchstand.fence();
CREATE TRIGGER checklist_steps_fence BEFORE INSERT OR UPDATE OR DELETE ON
  watchstand.checklist_steps FOR EACH STATEMENT EXECUTE FUNCTION watchstand.fence();
CREATE TRIGGER shift_log_fence BEFORE INSERT ON watchstand.shift_log
  FOR EACH ROW WHEN (NEW.kind IN ('phase', 'report', 'notify', 'checklist'))
  EXECUTE FUNCTION watchstand.fence_row();
