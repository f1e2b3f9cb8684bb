//! Refused logins: queued by the gate without waiting, written in batches
//! by a writer that runs beside the service.
//!
//! The queue is bounded, so a flood of wrong passwords costs memory only up
//! to that bound; what does not fit is dropped and counted, and the writer
//! logs the count. The writer finds the contract whose trail shows each
//! refusal: the registry's, or each contract of an account that exists (an
//! unknown account's refusals are the operator's alone).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::json;
use tokio::sync::mpsc;

use tollgate_api::auth::ContractNumber;
use tollgate_api::registry_rules::RegistryId;

use super::Event;
use crate::store::{ActorKind, AuditEvent, Outcome, Store};

/// Refusals held for the writer at most.
const QUEUE: usize = 10_000;

/// Refusals written per transaction at most.
const BATCH: usize = 500;

/// Who a refused login claimed to be.
#[derive(Debug, Clone)]
pub enum RefusedSubject {
    /// An account, by the e-mail presented.
    Account { email: String },
    /// An access token (Bearer).
    AccessToken,
    /// A web console session's cookie.
    ConsoleSession,
    /// A registry token, by the registry and the name presented.
    RegistryToken { registry: String, name: String },
    /// A registry's event notifications, by the registry named; `claimed`
    /// is what the audit trail shows as the actor.
    RegistryNotifications { registry: String, claimed: String },
}

/// One refused login.
#[derive(Debug, Clone)]
pub struct RefusedLogin {
    pub at: i64,
    /// Which kind of login (`basic`, `bearer`, `registry_basic`, ...).
    pub kind: &'static str,
    pub subject: RefusedSubject,
    pub address: IpAddr,
    /// Why, in words (never the credential).
    pub reason: &'static str,
    /// The delay this refusal started for further attempts, in seconds.
    pub throttled_for: Option<i64>,
}

/// The gate's end of the queue.
pub(super) struct RefusalQueue {
    sender: mpsc::Sender<RefusedLogin>,
    dropped: Arc<AtomicU64>,
}

impl RefusalQueue {
    pub(super) fn push(&self, refused: RefusedLogin) {
        if self.sender.try_send(refused).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What one batch already asked the store: the contracts of an e-mail,
/// the owner and id of a registry name.
#[derive(Default)]
struct Lookups {
    contracts: HashMap<String, Vec<ContractNumber>>,
    registries: HashMap<String, Option<(ContractNumber, RegistryId)>>,
}

/// Writes queued refusals to the store; run it beside the service.
pub struct RefusalWriter {
    receiver: mpsc::Receiver<RefusedLogin>,
    store: Store,
    dropped: Arc<AtomicU64>,
}

pub(super) fn queue(store: Store) -> (RefusalQueue, RefusalWriter) {
    let (sender, receiver) = mpsc::channel(QUEUE);
    let dropped = Arc::new(AtomicU64::new(0));
    (
        RefusalQueue {
            sender,
            dropped: dropped.clone(),
        },
        RefusalWriter {
            receiver,
            store,
            dropped,
        },
    )
}

impl RefusalWriter {
    /// Writes refusals as they come, in batches, until the queue closes.
    pub async fn run(mut self) {
        let mut batch = Vec::with_capacity(BATCH);
        while self.receiver.recv_many(&mut batch, BATCH).await > 0 {
            let mut events = Vec::with_capacity(batch.len());
            // A flood of refusals names the same few accounts and registries.
            let mut looked_up = Lookups::default();
            for refused in batch.drain(..) {
                events.extend(self.events_of(refused, &mut looked_up).await);
            }
            if let Err(e) = self.store.insert_audit_events(&events).await {
                tracing::warn!("cannot record {} refused logins: {e}", events.len());
            }
            let dropped = self.dropped.swap(0, Ordering::Relaxed);
            if dropped > 0 {
                tracing::warn!(
                    "{dropped} refused logins were not recorded: more arrived than the audit trail could queue"
                );
            }
        }
    }

    /// The events of one refusal: one per contract whose trail shows it.
    async fn events_of(&self, refused: RefusedLogin, looked_up: &mut Lookups) -> Vec<AuditEvent> {
        let detail = match refused.throttled_for {
            Some(seconds) => json!({
                "login": refused.kind,
                "reason": refused.reason,
                "throttledForSeconds": seconds,
            }),
            None => json!({"login": refused.kind, "reason": refused.reason}),
        };
        let event =
            |contract, actor_kind, actor: &str, resource: (&str, Option<String>)| AuditEvent {
                outcome: Outcome::Refused,
                actor_kind,
                actor: actor.to_owned(),
                address: Some(refused.address.to_string()),
                ..Event::event(
                    contract,
                    refused.at,
                    "login.refused",
                    resource,
                    detail.clone(),
                )
            };
        match &refused.subject {
            RefusedSubject::Account { email } => {
                let contracts = match looked_up.contracts.get(email) {
                    Some(contracts) => contracts.clone(),
                    None => {
                        let contracts: Vec<ContractNumber> =
                            match self.store.account_by_email(email).await {
                                Ok(Some(account)) => {
                                    account.memberships.iter().map(|m| m.contract).collect()
                                }
                                _ => Vec::new(),
                            };
                        looked_up.contracts.insert(email.clone(), contracts.clone());
                        contracts
                    }
                };
                if contracts.is_empty() {
                    return vec![event(None, ActorKind::Anonymous, email, ("account", None))];
                }
                contracts
                    .into_iter()
                    .map(|c| event(Some(c), ActorKind::Account, email, ("account", None)))
                    .collect()
            }
            RefusedSubject::AccessToken => {
                vec![event(
                    None,
                    ActorKind::Anonymous,
                    "(access token)",
                    ("auth_token", None),
                )]
            }
            RefusedSubject::ConsoleSession => {
                vec![event(
                    None,
                    ActorKind::Anonymous,
                    "(console session)",
                    ("console_session", None),
                )]
            }
            RefusedSubject::RegistryToken { registry, name }
            | RefusedSubject::RegistryNotifications {
                registry,
                claimed: name,
            } => {
                let kind = match &refused.subject {
                    RefusedSubject::RegistryToken { .. } => ActorKind::RegistryToken,
                    _ => ActorKind::Anonymous,
                };
                let found = match looked_up.registries.get(registry) {
                    Some(found) => found.clone(),
                    None => {
                        let found = self.store.registry_by_name(registry).await.ok().flatten();
                        looked_up.registries.insert(registry.clone(), found.clone());
                        found
                    }
                };
                match found {
                    Some((contract, id)) => vec![event(
                        Some(contract),
                        kind,
                        name,
                        ("registry", Some(id.to_string())),
                    )],
                    None => vec![event(None, ActorKind::Anonymous, name, ("registry", None))],
                }
            }
        }
    }
}
