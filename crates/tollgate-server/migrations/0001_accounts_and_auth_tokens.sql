-- Accounts, contracts, signing keys and Auth API tokens.
-- Portable DDL: the same text runs on SQLite and PostgreSQL.
-- Times are Unix seconds (BIGINT); ids are UUID text.

CREATE TABLE contracts (
    number     BIGINT PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE memberships (
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    contract_number BIGINT NOT NULL REFERENCES contracts (number),
    role            TEXT NOT NULL,
    privileges      TEXT NOT NULL,
    PRIMARY KEY (user_id, contract_number)
);

CREATE TABLE signing_keys (
    id              TEXT PRIMARY KEY,
    purpose         TEXT NOT NULL,
    private_key_pem TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);

CREATE TABLE auth_tokens (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL,
    contract_number BIGINT NOT NULL,
    signing_key_id  TEXT NOT NULL REFERENCES signing_keys (id),
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    FOREIGN KEY (user_id, contract_number)
        REFERENCES memberships (user_id, contract_number) ON DELETE CASCADE
);

CREATE INDEX auth_tokens_by_owner ON auth_tokens (user_id, contract_number, created_at);
