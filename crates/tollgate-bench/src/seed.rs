//! Seeding the store directly (no HTTP), in large transactions.

use tollgate_api::registry_rules::{Action, ScopeRule};
use tollgate_server::identity::{self, AccountSpec, Role};
use tollgate_server::keys::AUTH_KEYS;
use tollgate_server::secrets;
use tollgate_server::store::{
    Audit, AuthTokenRecord, Change, RegistryRecord, RegistrySettings, RegistryTokenRecord, Store,
    TokenSettings,
};

pub const OWNER_EMAIL: &str = "bench@example.com";
pub const OWNER_PASSWORD: &str = "bench password";
pub const CONTRACT: i32 = 20_000_001;
pub const LIST_REGISTRY: &str = "bench";
pub const WRITE_REGISTRY: &str = "bench-writes";
pub const READER: &str = "reader";
const BATCH: usize = 10_000;

/// What the scenarios need to know about the seeded store.
pub struct Seeded {
    pub user_id: String,
    pub list_registry: String,
    pub write_registry: String,
    pub reader_password: String,
}

fn change(user_id: &str, now: i64) -> Change {
    Change {
        at: now,
        by: OWNER_EMAIL.into(),
        by_user_id: user_id.into(),
    }
}

/// The owner, a registry to list (with a pull token to log in with) and a registry to write to.
pub async fn base(store: &Store, now: i64) -> anyhow::Result<Seeded> {
    let spec = AccountSpec {
        email: OWNER_EMAIL.into(),
        password: OWNER_PASSWORD.into(),
        contracts: vec![CONTRACT],
        role: Role::Owner,
        privileges: vec![],
    };
    let user_id = identity::create_account(store, &spec, now).await?;
    let mut ids = Vec::new();
    for name in [LIST_REGISTRY, WRITE_REGISTRY] {
        let id = uuid_v7();
        store
            .insert_registry(
                &RegistryRecord {
                    id: id.clone(),
                    contract_number: CONTRACT,
                    name: name.into(),
                    location: "de/fra".into(),
                    settings: RegistrySettings {
                        gc_days: vec![],
                        gc_time: "00:00:00+00:00".into(),
                        vulnerability_scanning: false,
                        api_subnet_allow_list: vec![],
                    },
                    audit: Audit::created(&change(&user_id, now)),
                },
                now,
            )
            .await?;
        ids.push(id);
    }
    let reader_password = secrets::registry_token_password();
    store
        .insert_registry_token(&token(
            &ids[0],
            READER,
            &secrets::digest(&reader_password),
            &user_id,
            now,
        ))
        .await?;
    Ok(Seeded {
        user_id,
        write_registry: ids.pop().unwrap_or_default(),
        list_registry: ids.pop().unwrap_or_default(),
        reader_password,
    })
}

fn uuid_v7() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn token(
    registry_id: &str,
    name: &str,
    digest: &str,
    user_id: &str,
    now: i64,
) -> RegistryTokenRecord {
    RegistryTokenRecord {
        id: uuid_v7(),
        contract_number: CONTRACT,
        registry_id: registry_id.into(),
        name: name.into(),
        password_digest: digest.into(),
        settings: TokenSettings {
            status: "enabled".into(),
            expires_at: None,
            scopes: vec![ScopeRule {
                name: "*".into(),
                actions: vec![Action::Pull],
            }],
        },
        audit: Audit::created(&change(user_id, now)),
    }
}

/// Adds registry tokens `seed-<from>` .. `seed-<to - 1>` to a registry.
pub async fn registry_tokens(
    store: &Store,
    seeded: &Seeded,
    from: u64,
    to: u64,
    now: i64,
) -> anyhow::Result<()> {
    let digest = secrets::digest("seeded tokens share one unused password");
    let mut start = from;
    while start < to {
        let end = (start + BATCH as u64).min(to);
        let batch: Vec<RegistryTokenRecord> = (start..end)
            .map(|i| {
                token(
                    &seeded.list_registry,
                    &format!("seed-{i}"),
                    &digest,
                    &seeded.user_id,
                    now,
                )
            })
            .collect();
        store.insert_registry_tokens(&batch).await?;
        start = end;
    }
    Ok(())
}

/// Adds `count` Auth API token rows for the owner (valid rows; no JWT is minted).
pub async fn auth_tokens(
    store: &Store,
    seeded: &Seeded,
    count: u64,
    now: i64,
) -> anyhow::Result<()> {
    let key = store
        .signing_keys(AUTH_KEYS)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no auth signing key yet: start the server first"))?;
    let mut done = 0;
    while done < count {
        let n = (count - done).min(BATCH as u64);
        let batch: Vec<AuthTokenRecord> = (0..n)
            .map(|_| AuthTokenRecord {
                id: uuid_v7(),
                user_id: seeded.user_id.clone(),
                contract_number: CONTRACT,
                signing_key_id: key.id.clone(),
                created_at: now,
                expires_at: now + 31_536_000,
            })
            .collect();
        store.insert_auth_tokens(&batch).await?;
        done += n;
    }
    Ok(())
}
