-- Sessions of the web console: one row per signed-in browser. The cookie
-- holds a random secret; only its SHA-256 digest is stored (the id). A
-- session ends when its row is deleted (sign out, a new password) or it
-- expires; removing the membership it acts in removes it.

CREATE TABLE console_sessions (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL,
    contract_number BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    FOREIGN KEY (user_id, contract_number)
        REFERENCES memberships (user_id, contract_number) ON DELETE CASCADE
);

CREATE INDEX console_sessions_by_user ON console_sessions (user_id);

CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
