-- hosts out of service
-- The statements below are the exact bytes first shipped; do not reformat.
CREATE TABLE watchstand.hosts_out_of_service (  host text PRIMARY KEY,  reason text NOT NULL,  since timestamptz NOT NULL DEFAULT now(),  until timestamptz NOT NULL,  by_user text NOT NULL);
