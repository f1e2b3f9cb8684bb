//! When each token was last used, and from where.
//!
//! The gate notes every successful login with an Auth API token or a
//! registry token here. A token's use is marked for writing at most once a
//! minute; a writer beside the service stores the marked uses every few
//! seconds (`Config::last_use_flush_seconds`), in one transaction, so the request path only touches memory
//! and a crash loses at most the last of those minutes. Tokens not used
//! for a minute are forgotten by this node (the store keeps their last use).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tollgate_api::account::AuthTokenId;
use tollgate_api::auth::ContractNumber;
use tollgate_api::registry_rules::{RegistryId, TokenId};

use crate::clock::Clock;
use crate::store::{Store, TokenUse, UsedToken};

/// A token's use is written at most this often (seconds).
const WRITE_EVERY: i64 = 60;

/// The uses this node saw, by token id. Ids are random UUIDs the service
/// made, so a fast hasher is safe here; the two kinds keep their own maps.
pub struct TokenUseRecorder {
    clock: Arc<dyn Clock>,
    seen: Mutex<SeenTokens>,
}

#[derive(Default)]
struct SeenTokens {
    auth: ById,
    registry: ById,
}

type ById = HashMap<String, Seen, foldhash::fast::RandomState>;

/// One token's latest noted use.
struct Seen {
    token: UsedToken,
    at: i64,
    address: IpAddr,
    /// Not yet written to the store.
    marked: bool,
}

impl TokenUseRecorder {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            seen: Mutex::new(SeenTokens::default()),
        }
    }

    /// An Auth API token authenticated a request from `address`.
    pub fn auth_token(&self, id: &AuthTokenId, address: IpAddr) {
        self.note(
            |seen| &mut seen.auth,
            id.as_str(),
            address,
            || UsedToken::Auth(id.clone()),
        );
    }

    /// A registry token logged in from `address`.
    pub fn registry_token(
        &self,
        contract: ContractNumber,
        registry: &RegistryId,
        id: &TokenId,
        address: IpAddr,
    ) {
        // Token ids are random UUIDs: the id alone tells tokens apart.
        self.note(
            |seen| &mut seen.registry,
            id.as_str(),
            address,
            || UsedToken::Registry {
                contract,
                registry: registry.clone(),
                id: id.clone(),
            },
        );
    }

    fn note(
        &self,
        kind: impl FnOnce(&mut SeenTokens) -> &mut ById,
        id: &str,
        address: IpAddr,
        token: impl FnOnce() -> UsedToken,
    ) {
        let now = self.clock.now();
        let Ok(mut seen) = self.seen.lock() else {
            return;
        };
        let seen = kind(&mut seen);
        match seen.get_mut(id) {
            Some(entry) if now - entry.at < WRITE_EVERY => {}
            Some(entry) => {
                entry.at = now;
                entry.address = address;
                entry.marked = true;
            }
            None => {
                seen.insert(
                    id.to_owned(),
                    Seen {
                        token: token(),
                        at: now,
                        address,
                        marked: true,
                    },
                );
            }
        }
    }

    /// The marked uses, unmarked; uses older than a minute are forgotten.
    fn take_marked(&self) -> Vec<TokenUse> {
        let now = self.clock.now();
        let Ok(mut seen) = self.seen.lock() else {
            return Vec::new();
        };
        let mut marked = Vec::new();
        let SeenTokens { auth, registry } = &mut *seen;
        for by_id in [auth, registry] {
            by_id.retain(|_, entry| {
                if entry.marked {
                    entry.marked = false;
                    marked.push(TokenUse {
                        token: entry.token.clone(),
                        at: entry.at,
                        address: entry.address.to_string(),
                    });
                }
                now - entry.at < WRITE_EVERY
            });
        }
        marked
    }

    /// Writes the marked uses to `store`.
    pub async fn flush(&self, store: &Store) {
        let uses = self.take_marked();
        if uses.is_empty() {
            return;
        }
        if let Err(e) = store.record_token_uses(&uses).await {
            tracing::warn!("cannot record the last use of {} tokens: {e}", uses.len());
        }
    }

    /// Writes the marked uses every `period`, for as long as the service runs.
    pub async fn write_periodically(self: Arc<Self>, store: Store, period: Duration) {
        let mut ticks = tokio::time::interval(period);
        loop {
            ticks.tick().await;
            self.flush(&store).await;
        }
    }
}
