-- Container registries and their tokens.
-- Lists are stored as text: gc_days comma-separated, allow list and scopes as JSON.

CREATE TABLE registries (
    id                     TEXT PRIMARY KEY,
    contract_number        BIGINT NOT NULL REFERENCES contracts (number),
    name                   TEXT NOT NULL UNIQUE,
    location               TEXT NOT NULL,
    gc_days                TEXT NOT NULL,
    gc_time                TEXT NOT NULL,
    vulnerability_scanning BIGINT NOT NULL,
    api_subnet_allow_list  TEXT NOT NULL,
    created_at             BIGINT NOT NULL,
    created_by             TEXT NOT NULL,
    created_by_user_id     TEXT NOT NULL,
    modified_at            BIGINT,
    modified_by            TEXT,
    modified_by_user_id    TEXT
);

CREATE INDEX registries_by_contract ON registries (contract_number, created_at, id);

CREATE TABLE registry_tokens (
    id                  TEXT PRIMARY KEY,
    registry_id         TEXT NOT NULL REFERENCES registries (id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    password_digest     TEXT NOT NULL,
    status              TEXT NOT NULL,
    expires_at          BIGINT,
    scopes              TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    created_by          TEXT NOT NULL,
    created_by_user_id  TEXT NOT NULL,
    modified_at         BIGINT,
    modified_by         TEXT,
    modified_by_user_id TEXT,
    UNIQUE (registry_id, name)
);

CREATE INDEX registry_tokens_page ON registry_tokens (registry_id, created_at, id);
