-- Who pushed: the identity the registry names as an event's actor (the
-- registry token the push logged in with), first and last, for the
-- createdBy and lastModifiedBy of repositories and artifacts. Unknown
-- (NULL) for what only a resynchronisation found.

ALTER TABLE repositories ADD COLUMN created_by TEXT;

ALTER TABLE repositories ADD COLUMN last_pushed_by TEXT;

ALTER TABLE artifacts ADD COLUMN created_by TEXT;

ALTER TABLE artifacts ADD COLUMN last_pushed_by TEXT
