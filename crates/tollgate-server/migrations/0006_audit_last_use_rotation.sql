-- The audit trail, when each token was last used and from where, and a
-- registry token's previous password, which keeps working for a grace
-- period after a rotation.

CREATE TABLE audit_events (
    id              TEXT PRIMARY KEY,
    at              BIGINT NOT NULL,
    contract_number BIGINT,
    action          TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    actor_kind      TEXT NOT NULL,
    actor           TEXT NOT NULL,
    actor_id        TEXT,
    address         TEXT,
    resource_type   TEXT NOT NULL,
    resource_id     TEXT,
    detail          TEXT NOT NULL
);

CREATE INDEX audit_events_by_contract ON audit_events (contract_number, at, id);

CREATE INDEX audit_events_by_time ON audit_events (at);

ALTER TABLE auth_tokens ADD COLUMN last_used_at BIGINT;

ALTER TABLE auth_tokens ADD COLUMN last_used_from TEXT;

ALTER TABLE registry_tokens ADD COLUMN last_used_at BIGINT;

ALTER TABLE registry_tokens ADD COLUMN last_used_from TEXT;

ALTER TABLE registry_tokens ADD COLUMN previous_password_digest TEXT;

ALTER TABLE registry_tokens ADD COLUMN previous_valid_until BIGINT
