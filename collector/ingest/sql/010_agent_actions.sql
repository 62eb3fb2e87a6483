-- agents' protocol version and action names
-- Filled by the hello: protocol 1 or 2; the names of the agent's actions (NULL for a version 1 agent).
ALTER TABLE watchstand.agents ADD COLUMN protocol smallint, ADD COLUMN actions text[];
