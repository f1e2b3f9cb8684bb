-- What each registry holds, as its own event notifications report it:
-- repositories, artifacts (manifests) and their tags, blob sizes for the
-- storage usage, and the ids of the events already taken in (Distribution
-- delivers at least once). A registry's notifications authenticate with a
-- secret whose digest the registry row keeps, beside the address of its
-- HTTP API (for deleting repositories and resynchronising).

CREATE TABLE repositories (
    contract_number BIGINT NOT NULL,
    registry_id     TEXT NOT NULL,
    name            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    push_count      BIGINT NOT NULL,
    pull_count      BIGINT NOT NULL,
    last_pushed_at  BIGINT,
    last_pulled_at  BIGINT,
    PRIMARY KEY (contract_number, registry_id, name),
    FOREIGN KEY (contract_number, registry_id)
        REFERENCES registries (contract_number, id) ON DELETE CASCADE
);

CREATE TABLE artifacts (
    contract_number BIGINT NOT NULL,
    registry_id     TEXT NOT NULL,
    repository      TEXT NOT NULL,
    digest          TEXT NOT NULL,
    media_type      TEXT NOT NULL,
    size            BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    push_count      BIGINT NOT NULL,
    pull_count      BIGINT NOT NULL,
    last_pushed_at  BIGINT NOT NULL,
    last_pulled_at  BIGINT,
    PRIMARY KEY (contract_number, registry_id, repository, digest),
    FOREIGN KEY (contract_number, registry_id, repository)
        REFERENCES repositories (contract_number, registry_id, name) ON DELETE CASCADE
);

CREATE TABLE artifact_tags (
    contract_number BIGINT NOT NULL,
    registry_id     TEXT NOT NULL,
    repository      TEXT NOT NULL,
    tag             TEXT NOT NULL,
    digest          TEXT NOT NULL,
    PRIMARY KEY (contract_number, registry_id, repository, tag),
    FOREIGN KEY (contract_number, registry_id, repository, digest)
        REFERENCES artifacts (contract_number, registry_id, repository, digest) ON DELETE CASCADE
);

CREATE TABLE registry_blobs (
    contract_number BIGINT NOT NULL,
    registry_id     TEXT NOT NULL,
    digest          TEXT NOT NULL,
    size            BIGINT NOT NULL,
    PRIMARY KEY (contract_number, registry_id, digest),
    FOREIGN KEY (contract_number, registry_id)
        REFERENCES registries (contract_number, id) ON DELETE CASCADE
);

CREATE TABLE registry_events (
    contract_number BIGINT NOT NULL,
    registry_id     TEXT NOT NULL,
    id              TEXT NOT NULL,
    received_at     BIGINT NOT NULL,
    PRIMARY KEY (contract_number, registry_id, id),
    FOREIGN KEY (contract_number, registry_id)
        REFERENCES registries (contract_number, id) ON DELETE CASCADE
);

CREATE INDEX registry_events_by_time ON registry_events (received_at);

ALTER TABLE registries ADD COLUMN storage_bytes BIGINT NOT NULL DEFAULT 0;

ALTER TABLE registries ADD COLUMN storage_updated_at BIGINT;

ALTER TABLE registries ADD COLUMN events_secret_digest TEXT;

ALTER TABLE registries ADD COLUMN api_url TEXT
