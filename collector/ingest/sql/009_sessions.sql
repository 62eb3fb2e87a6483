-- sessions stored hashed, so they outlive a restart
-- sessions.token_hash is the SHA-256 of the token, hex. The collector's own role, where there is one, may use them.
-- The statements below are the exact bytes first shipped; do not reformat.
CREATE TABLE watchstand.sessions (  token_hash text PRIMARY KEY,  login text NOT NULL REFERENCES watchstand.users (login)    ON DELETE CASCADE,  role text NOT NULL,  csrf_hash text NOT NULL,  created_at timestamptz NOT NULL DEFAULT now(),  expires_at timestamptz NOT NULL);CREATE INDEX sessions_expires ON watchstand.sessions (expires_at);DO $$ BEGIN  IF EXISTS (SELECT 1 FROM pg_roles      WHERE rolname = 'watchstand_collector') THEN    GRANT SELECT, INSERT, DELETE ON watchstand.sessions      TO watchstand_collector;  END IF;END $$;
