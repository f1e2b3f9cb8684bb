//! Seeding the store directly (no HTTP), in large transactions.

use std::sync::Arc;

use tollgate_api::account::{AuthTokenId, Role, UserId};
use tollgate_api::auth::ContractNumber;
use tollgate_api::registry_rules::{RegistryId, RegistryName, TokenId, TokenName, TokenStatus};
use tollgate_api::repository::{Action, RepositoryPattern, ScopeRule};
use tollgate_server::audit::Event;
use tollgate_server::auth::accounts::{AccountSpec, Accounts};
use tollgate_server::clock::SystemClock;
use tollgate_server::keys::AUTH_KEYS;
use tollgate_server::secrets;
use tollgate_server::store::{
    AuthTokenRecord, Change, RegistryRecord, RegistryTokenRecord, Stamps, Store, TokenSettings,
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
    pub user_id: UserId,
    pub list_registry: RegistryId,
    pub write_registry: RegistryId,
    pub reader_password: String,
}

fn contract() -> ContractNumber {
    ContractNumber::new(CONTRACT).expect("a positive contract number")
}

fn change(user_id: &UserId, now: i64) -> Change {
    Change {
        at: now,
        by: OWNER_EMAIL.into(),
        by_user_id: user_id.to_string(),
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
    let user_id = Accounts::new(store.clone(), Arc::new(SystemClock))
        .create(&spec)
        .await?;
    let mut ids = Vec::new();
    for name in [LIST_REGISTRY, WRITE_REGISTRY] {
        let id = RegistryId::generate();
        store
            .insert_registry(
                &RegistryRecord {
                    id: id.clone(),
                    contract: contract(),
                    name: RegistryName::parse("name", name)?,
                    location: "de/fra".into(),
                    settings: Default::default(),
                    stamps: Stamps::created(&change(&user_id, now)),
                    storage: Default::default(),
                },
                now,
                &Event::by_operator(
                    Some(contract()),
                    now,
                    "registry.created",
                    ("registry", id.as_str()),
                    serde_json::json!({"seeded": true}),
                ),
            )
            .await?;
        ids.push(id);
    }
    let reader_password = secrets::registry_token_password();
    store
        .insert_registry_tokens(
            &[token(
                &ids[0],
                READER,
                &secrets::digest(&reader_password),
                &user_id,
                now,
            )],
            &[],
        )
        .await?;
    let [list_registry, write_registry] = <[RegistryId; 2]>::try_from(ids)
        .map_err(|_| anyhow::anyhow!("two registries were seeded"))?;
    Ok(Seeded {
        user_id,
        list_registry,
        write_registry,
        reader_password,
    })
}

fn token(
    registry_id: &RegistryId,
    name: &str,
    digest: &str,
    user_id: &UserId,
    now: i64,
) -> RegistryTokenRecord {
    let everything = RepositoryPattern::parse("name", "*").expect("a valid pattern");
    RegistryTokenRecord {
        id: TokenId::generate(),
        contract: contract(),
        registry_id: registry_id.clone(),
        name: TokenName::parse("name", name).expect("a valid token name"),
        password_digest: digest.into(),
        settings: TokenSettings {
            status: TokenStatus::Enabled,
            expires_at: None,
            scopes: ScopeRule::new(everything, [Action::Pull])
                .into_iter()
                .collect(),
        },
        stamps: Stamps::created(&change(user_id, now)),
        last_use: Default::default(),
        previous_valid_until: None,
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
        store.insert_registry_tokens(&batch, &[]).await?;
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
                id: AuthTokenId::from(uuid::Uuid::now_v7().to_string()),
                user_id: seeded.user_id.clone(),
                contract: contract(),
                signing_key_id: key.id.clone(),
                created_at: now,
                expires_at: now + 31_536_000,
                last_use: Default::default(),
            })
            .collect();
        store.insert_auth_tokens(&batch).await?;
        done += n;
    }
    Ok(())
}
