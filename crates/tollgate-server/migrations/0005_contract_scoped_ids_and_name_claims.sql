-- Registry ids are unique per contract and token ids per registry, no longer
-- across contracts: a PUT that creates with a client-chosen id then behaves
-- the same whether or not another contract uses that id, so it reveals nothing.
-- Registry names stay unique everywhere, and are claimed in registry_names:
-- a deleted registry's name stays held (released_at in the future) for its
-- former contract during the quarantine, so no other contract can take over
-- a hostname that registries may still trust.

CREATE TABLE registries_v5 (
    contract_number        BIGINT NOT NULL REFERENCES contracts (number),
    id                     TEXT NOT NULL,
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
    modified_by_user_id    TEXT,
    token_count            BIGINT NOT NULL DEFAULT 0,
    tokens_version         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (contract_number, id)
);

INSERT INTO registries_v5 (contract_number, id, name, location, gc_days, gc_time,
    vulnerability_scanning, api_subnet_allow_list, created_at, created_by,
    created_by_user_id, modified_at, modified_by, modified_by_user_id,
    token_count, tokens_version)
SELECT contract_number, id, name, location, gc_days, gc_time,
    vulnerability_scanning, api_subnet_allow_list, created_at, created_by,
    created_by_user_id, modified_at, modified_by, modified_by_user_id,
    token_count, tokens_version
FROM registries;

CREATE TABLE registry_tokens_v5 (
    contract_number     BIGINT NOT NULL,
    registry_id         TEXT NOT NULL,
    id                  TEXT NOT NULL,
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
    PRIMARY KEY (contract_number, registry_id, id),
    UNIQUE (contract_number, registry_id, name),
    FOREIGN KEY (contract_number, registry_id)
        REFERENCES registries_v5 (contract_number, id) ON DELETE CASCADE
);

INSERT INTO registry_tokens_v5 (contract_number, registry_id, id, name,
    password_digest, status, expires_at, scopes, created_at, created_by,
    created_by_user_id, modified_at, modified_by, modified_by_user_id)
SELECT r.contract_number, t.registry_id, t.id, t.name,
    t.password_digest, t.status, t.expires_at, t.scopes, t.created_at, t.created_by,
    t.created_by_user_id, t.modified_at, t.modified_by, t.modified_by_user_id
FROM registry_tokens t JOIN registries r ON r.id = t.registry_id;

DROP TABLE registry_tokens;

DROP TABLE registries;

ALTER TABLE registries_v5 RENAME TO registries;

ALTER TABLE registry_tokens_v5 RENAME TO registry_tokens;

CREATE INDEX registries_by_contract ON registries (contract_number, created_at, id);

CREATE INDEX registry_tokens_page ON registry_tokens (contract_number, registry_id, created_at, id);

CREATE TABLE registry_names (
    name            TEXT PRIMARY KEY,
    contract_number BIGINT NOT NULL,
    released_at     BIGINT
);

INSERT INTO registry_names (name, contract_number, released_at)
SELECT name, contract_number, NULL FROM registries
