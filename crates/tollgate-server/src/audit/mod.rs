//! The audit trail: who changed which credential, when, from where, and
//! every refused login with its reason. Never a secret.
//!
//! Lifecycle changes are recorded by the service that makes them, in the
//! same transaction as the change ([`Event`] builds the row). Refused logins
//! change nothing, so the gate hands them to [`AuditTrail::refused_login`],
//! which queues them (bounded) for a writer that stores them in batches off
//! the request path; under a flood the queue drops what it cannot hold and
//! says how many in the log. Owners and admins read their contract's trail
//! ([`AuditTrail::events`]); the operator reads everything with
//! `tollgate admin audit`. Events older than the retention period are
//! removed in the background, in small batches.

mod refusals;

use std::sync::Arc;

use serde_json::Value;
use tollgate_api::account::Role;
use tollgate_api::auth::ContractNumber;

pub use refusals::{RefusalWriter, RefusedLogin, RefusedSubject};

use crate::auth::Member;
use crate::clock::Clock;
use crate::store::{ActorKind, AuditEvent, AuditQuery, Outcome, Store, StoreError};

/// An event of a change, built by the service that makes the change.
pub struct Event;

impl Event {
    /// A change `by` a member of their contract.
    pub fn by_member(
        by: &Member,
        at: i64,
        action: &str,
        resource: (&str, &str),
        detail: Value,
    ) -> AuditEvent {
        AuditEvent {
            actor_kind: ActorKind::Account,
            actor: by.email.to_string(),
            actor_id: Some(by.user_id.to_string()),
            address: Some(by.address.to_string()),
            ..Self::by_operator(Some(by.contract()), at, action, resource, detail)
        }
    }

    /// A change the operator made with `tollgate admin`, shown in `contract`'s trail.
    pub fn by_operator(
        contract: Option<ContractNumber>,
        at: i64,
        action: &str,
        resource: (&str, &str),
        detail: Value,
    ) -> AuditEvent {
        Self::event(
            contract,
            at,
            action,
            (resource.0, Some(resource.1.to_owned())),
            detail,
        )
    }

    /// What every event has: a new id, when, whose trail shows it, what
    /// happened to which resource. Made by the operator, successfully,
    /// unless the caller says otherwise.
    fn event(
        contract: Option<ContractNumber>,
        at: i64,
        action: &str,
        resource: (&str, Option<String>),
        detail: Value,
    ) -> AuditEvent {
        AuditEvent {
            id: uuid::Uuid::now_v7().to_string(),
            at,
            contract,
            action: action.to_owned(),
            outcome: Outcome::Success,
            actor_kind: ActorKind::Operator,
            actor: "operator".to_owned(),
            actor_id: None,
            address: None,
            resource_type: resource.0.to_owned(),
            resource_id: resource.1,
            detail,
        }
    }
}

/// Why the trail could not be read.
#[derive(Debug)]
pub enum AuditError {
    /// Only owners and admins read their contract's trail.
    Forbidden(ContractNumber),
    Store(StoreError),
}

impl std::fmt::Display for AuditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuditError::Forbidden(contract) => write!(
                f,
                "reading the audit trail needs the owner or admin role in contract {contract}"
            ),
            AuditError::Store(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for AuditError {}

impl From<StoreError> for AuditError {
    fn from(e: StoreError) -> Self {
        AuditError::Store(e)
    }
}

/// The audit trail of the store.
pub struct AuditTrail {
    store: Store,
    clock: Arc<dyn Clock>,
    refusals: refusals::RefusalQueue,
    retention_seconds: i64,
}

/// How often expired events are looked for, and how many go per statement.
const RETENTION_PERIOD: std::time::Duration = std::time::Duration::from_secs(3600);
const RETENTION_BATCH: u64 = 5_000;

impl AuditTrail {
    /// The trail, and the writer of refused logins to run beside the service.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        retention_days: u32,
    ) -> (AuditTrail, RefusalWriter) {
        let (refusals, writer) = refusals::queue(store.clone());
        let trail = AuditTrail {
            store,
            clock,
            refusals,
            retention_seconds: i64::from(retention_days) * 86_400,
        };
        (trail, writer)
    }

    /// Queues a refused login for the writer; never waits.
    pub fn refused_login(&self, refused: RefusedLogin) {
        self.refusals.push(refused);
    }

    /// A page of `reader`'s contract's events, newest first, and how many match.
    pub async fn events(
        &self,
        reader: &Member,
        mut query: AuditQuery,
    ) -> Result<(Vec<AuditEvent>, u64), AuditError> {
        if !matches!(reader.membership.role, Role::Owner | Role::Admin) {
            return Err(AuditError::Forbidden(reader.contract()));
        }
        query.contract = Some(reader.contract());
        Ok(self.store.audit_events(&query).await?)
    }

    /// Every event `query` selects, for the operator (`tollgate admin audit`).
    pub async fn all_events(
        &self,
        query: &AuditQuery,
    ) -> Result<(Vec<AuditEvent>, u64), AuditError> {
        Ok(self.store.audit_events(query).await?)
    }

    /// Removes events older than the retention period, every hour, a batch
    /// at a time so that no statement holds the store for long.
    pub async fn expire_old_events(self: Arc<Self>) {
        let mut ticks = tokio::time::interval(RETENTION_PERIOD);
        loop {
            ticks.tick().await;
            let before = self.clock.now() - self.retention_seconds;
            loop {
                match self
                    .store
                    .delete_audit_events_before(before, RETENTION_BATCH)
                    .await
                {
                    Ok(n) if n == RETENTION_BATCH => tokio::task::yield_now().await,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!("cannot remove expired audit events: {e}");
                        break;
                    }
                }
            }
        }
    }
}
