-- users
-- The statements below are the exact bytes first shipped; do not reformat.
CREATE TABLE watchstand.users (  id serial PRIMARY KEY,  login text NOT NULL UNIQUE,  role text NOT NULL CHECK (role IN ('viewer', 'watchstander', 'lead', 'admin')),  name text,  phone text,  email text,  password_hash text NOT NULL,  created_at timestamptz NOT NULL DEFAULT now());
