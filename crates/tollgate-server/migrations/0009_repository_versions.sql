-- A version of each repository's artifacts and tags: every event that
-- changes them sets a new random one (random, so that a repository deleted
-- and pushed again never takes up a version an older reading noted). A
-- resynchronisation notes the version before it reads a repository from
-- the registry's API and applies what it read only if the version is still
-- the one noted: an event taken in meanwhile is newer than what it read.

ALTER TABLE repositories ADD COLUMN version BIGINT NOT NULL DEFAULT 0
