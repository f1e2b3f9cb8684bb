//! Web console sessions: what a browser holds after signing in with an
//! account's e-mail and password.
//!
//! The browser's cookie carries a random secret (256 bits); the store
//! keeps only its SHA-256 digest, with the account and the contract the
//! session acts in. A session is short-lived: it ends after
//! [`IDLE_LIFETIME`] without use, and at the latest [`MAX_LIFETIME`] after
//! its sign-in; signing out deletes it, on every node at once. Requests
//! made with the cookie also carry a CSRF token derived from the secret
//! ([`csrf_token`]), which a page of another origin cannot know.

use std::fmt;
use std::sync::Arc;

use serde_json::json;
use subtle::ConstantTimeEq;
use tollgate_api::auth::ContractNumber;

use super::member::{AuthMethod, Member};
use crate::audit::Event;
use crate::clock::Clock;
use crate::secrets::{digest, random_secret};
use crate::store::{ConsoleSessionLookup, ConsoleSessionRecord, Membership, Store, StoreError};

/// A session unused for this long has ended (seconds).
pub const IDLE_LIFETIME: i64 = 30 * 60;

/// No session lasts longer than this after its sign-in (seconds).
pub const MAX_LIFETIME: i64 = 12 * 3600;

/// The CSRF token of the session whose cookie holds `secret`: a one-way,
/// domain-separated digest, so knowing it reveals nothing of the secret.
pub fn csrf_token(secret: &str) -> String {
    digest(&format!("tollgate console csrf\0{secret}"))[..32].to_owned()
}

/// Whether `presented` is the CSRF token of `secret`, compared in constant time.
pub fn csrf_matches(secret: &str, presented: &str) -> bool {
    csrf_token(secret)
        .as_bytes()
        .ct_eq(presented.as_bytes())
        .into()
}

/// A session just started: its record and the secret for the cookie
/// (shown to the browser once, never stored).
#[derive(Debug)]
pub struct StartedSession {
    pub record: ConsoleSessionRecord,
    pub secret: String,
}

/// Why a session was not started or switched.
#[derive(Debug)]
pub enum ConsoleSessionError {
    /// The account is no member of the contract asked for.
    NotAMember(ContractNumber),
    /// A switch asked for with another credential than a session.
    NotASession,
    Store(StoreError),
}

impl fmt::Display for ConsoleSessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConsoleSessionError::NotAMember(contract) => {
                write!(f, "you are not a member of contract {contract}")
            }
            ConsoleSessionError::NotASession => {
                f.write_str("only a console session can switch contracts: sign in to the console")
            }
            ConsoleSessionError::Store(e) => e.fmt(f),
        }
    }
}

impl From<StoreError> for ConsoleSessionError {
    fn from(e: StoreError) -> Self {
        ConsoleSessionError::Store(e)
    }
}

/// Why a presented session secret was refused.
#[derive(Debug)]
pub enum SessionRefusal {
    /// No such session, or it expired.
    Ended,
    Store(StoreError),
}

/// Starts, switches and ends console sessions.
pub struct ConsoleSessions {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl ConsoleSessions {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// A new session for `member` (who just proved their password).
    pub async fn start(&self, member: &Member) -> Result<StartedSession, ConsoleSessionError> {
        let now = self.clock.now();
        let started = new_session(member, member.contract(), now, now);
        let event = Event::by_member(
            member,
            now,
            "console.signed_in",
            ("console_session", &started.record.id[..16]),
            json!({}),
        );
        self.store
            .insert_console_session(&started.record, None, &event)
            .await?;
        Ok(started)
    }

    /// Replaces the session `member` acts in by one in `contract`, which
    /// they must be a member of; the old secret stops working at once.
    pub async fn switch(
        &self,
        member: &Member,
        contract: ContractNumber,
    ) -> Result<StartedSession, ConsoleSessionError> {
        let AuthMethod::Console { session } = &member.method else {
            return Err(ConsoleSessionError::NotASession);
        };
        let memberships = self.memberships(member).await?;
        let membership = memberships
            .into_iter()
            .find(|m| m.contract == contract)
            .ok_or(ConsoleSessionError::NotAMember(contract))?;
        let now = self.clock.now();
        let in_new_contract = Member {
            membership,
            ..member.clone()
        };
        let started = new_session(&in_new_contract, contract, session.created_at, now);
        let event = Event::by_member(
            &in_new_contract,
            now,
            "console.contract_switched",
            ("console_session", &started.record.id[..16]),
            json!({"from": member.contract().get()}),
        );
        self.store
            .insert_console_session(&started.record, Some(&session.id), &event)
            .await?;
        Ok(started)
    }

    /// Ends the session `member` acts in (sign out); a no-op for any
    /// other credential.
    pub async fn end(&self, member: &Member) -> Result<(), StoreError> {
        let AuthMethod::Console { session } = &member.method else {
            return Ok(());
        };
        let event = Event::by_member(
            member,
            self.clock.now(),
            "console.signed_out",
            ("console_session", &session.id[..16]),
            json!({}),
        );
        self.store
            .delete_console_session(&session.id, &event)
            .await?;
        Ok(())
    }

    /// The contracts `member`'s account belongs to, by number.
    pub async fn memberships(&self, member: &Member) -> Result<Vec<Membership>, StoreError> {
        Ok(self
            .store
            .account_by_email(member.email.as_str())
            .await?
            .map(|account| account.memberships)
            .unwrap_or_default())
    }
}

/// The live session whose cookie holds `secret`, kept alive by this use:
/// its expiry moves to [`IDLE_LIFETIME`] from `now` (within
/// [`MAX_LIFETIME`]) once half of the idle time has passed, so a session
/// in use costs a write at most every quarter of an hour.
pub(crate) async fn authenticate(
    store: &Store,
    secret: &str,
    now: i64,
) -> Result<ConsoleSessionLookup, SessionRefusal> {
    let mut found = store
        .console_session_lookup(&digest(secret))
        .await
        .map_err(SessionRefusal::Store)?
        .filter(|found| found.session.expires_at > now)
        .ok_or(SessionRefusal::Ended)?;
    let session = &mut found.session;
    let renewed = (now + IDLE_LIFETIME).min(session.created_at + MAX_LIFETIME);
    if renewed - session.expires_at >= IDLE_LIFETIME / 2 {
        store
            .extend_console_session(&session.id, renewed)
            .await
            .map_err(SessionRefusal::Store)?;
        session.expires_at = renewed;
    }
    Ok(found)
}

fn new_session(
    member: &Member,
    contract: ContractNumber,
    signed_in_at: i64,
    now: i64,
) -> StartedSession {
    let secret = random_secret(32);
    let record = ConsoleSessionRecord {
        id: digest(&secret),
        user_id: member.user_id.clone(),
        contract,
        created_at: signed_in_at,
        expires_at: (now + IDLE_LIFETIME).min(signed_in_at + MAX_LIFETIME),
    };
    StartedSession { record, secret }
}
