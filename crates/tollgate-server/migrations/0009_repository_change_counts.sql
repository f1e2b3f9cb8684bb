-- How many times events have changed each repository's artifacts or tags.
-- A resynchronisation notes the count before it reads a repository from
-- the registry's API and applies what it read only if the count has not
-- moved since: an event taken in meanwhile is newer than what it read.

ALTER TABLE repositories ADD COLUMN changes BIGINT NOT NULL DEFAULT 0
