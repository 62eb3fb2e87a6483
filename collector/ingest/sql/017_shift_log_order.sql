-- Shift log ids drawn under the chain's lock, so the id order is the chain's order
-- The chain's order is the order of its lock (pg_advisory_xact_lock in
-- shift_log_chain). The id must follow that order too: taken from the
-- column default it was drawn before the lock, so two writers at once (two
-- collectors, docs/ha.md) could commit ids out of chain order, and
-- verify-log, which walks the chain by id, would report a break that is
-- no tampering. The id is now drawn under the lock.
ALTER TABLE watchstand.shift_log ALTER COLUMN id DROP DEFAULT;
CREATE OR REPLACE FUNCTION watchstand.shift_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(7730002);
  IF NEW.id IS NULL THEN
    NEW.id := nextval('watchstand.shift_log_id_seq');
  END IF;
  SELECT hash INTO NEW.prev_hash FROM watchstand.shift_log
    ORDER BY id DESC LIMIT 1;
  NEW.ts := clock_timestamp();
  NEW.hash := sha256(coalesce(NEW.prev_hash, ''::bytea) ||
    watchstand.shift_log_payload(NEW));
  RETURN NEW;
END $$;
