-- shelving
-- The statements below are the exact bytes first shipped; do not reformat.
ALTER TABLE watchstand.alarms ADD COLUMN shelved_until timestamptz,  ADD COLUMN shelved_by text, ADD COLUMN shelve_reason text,  ADD COLUMN shelved_from text;
