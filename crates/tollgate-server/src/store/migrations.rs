//! Versioned schema migrations, applied in order, each in its own transaction.

use super::Store;

/// Every migration this build knows, in order. Never edit one that has shipped:
/// add a new file instead.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../migrations/0001_accounts_and_auth_tokens.sql"),
    ),
    (
        2,
        include_str!("../../migrations/0002_registries_and_registry_tokens.sql"),
    ),
    (
        3,
        include_str!("../../migrations/0003_signing_key_lifecycle.sql"),
    ),
    (
        4,
        include_str!("../../migrations/0004_registry_token_counts.sql"),
    ),
    (
        5,
        include_str!("../../migrations/0005_contract_scoped_ids_and_name_claims.sql"),
    ),
    (
        6,
        include_str!("../../migrations/0006_audit_last_use_rotation.sql"),
    ),
    (
        7,
        include_str!("../../migrations/0007_console_sessions.sql"),
    ),
    (
        8,
        include_str!("../../migrations/0008_repositories_and_artifacts.sql"),
    ),
    (
        9,
        include_str!("../../migrations/0009_repository_versions.sql"),
    ),
    (10, include_str!("../../migrations/0010_who_pushed.sql")),
    (11, include_str!("../../migrations/0011_blob_sightings.sql")),
];

/// The schema version once every migration is applied.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

pub(super) async fn apply(store: &Store) -> anyhow::Result<()> {
    let pool = store.pool();
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .execute(pool)
    .await?;
    for &(version, sql) in MIGRATIONS {
        let mut tx = pool.begin().await?;
        // Claiming the version first serialises nodes that start together:
        // the loser's insert conflicts and it skips the migration.
        let claimed = sqlx::query(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING",
        )
        .bind(version)
        .bind(unix_now())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            tx.rollback().await?;
            continue;
        }
        for statement in statements(sql) {
            sqlx::query(&statement)
                .execute(&mut *tx)
                .await
                .map_err(|e| anyhow::anyhow!("migration {version} failed: {e}"))?;
        }
        tx.commit().await?;
    }
    Ok(())
}

/// The statements of a migration file: `--` comment lines dropped, split on
/// `;` (so migration files keep semicolons out of literals).
fn statements(sql: &str) -> Vec<String> {
    let without_comments: String = sql
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    without_comments
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}
