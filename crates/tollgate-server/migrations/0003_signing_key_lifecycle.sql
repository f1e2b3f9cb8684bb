-- Signing keys get a lifecycle: next (published, not yet signing),
-- current (the latest activated) and retired (still verifying, no longer published).

ALTER TABLE signing_keys ADD COLUMN activated_at BIGINT;

ALTER TABLE signing_keys ADD COLUMN retired_at BIGINT;

UPDATE signing_keys SET activated_at = created_at
