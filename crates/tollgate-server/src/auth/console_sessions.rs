//! Web console sessions: what a browser holds after signing in with an
//! account's e-mail and password.
//!
//! The browser's cookie carries a random secret (256 bits); the store
//! keeps only its SHA-256 digest, with the account and the contract the
//! session acts in. A session is short-lived: it ends after
//! [`IDLE_LIFETIME`] to [`RENEWED_FOR`] without use, and at the latest
//! [`MAX_LIFETIME`] after its sign-in; signing out (or a new password)
//! deletes it, on every node at once. Requests
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
use crate::store::{
    ConsoleSessionLookup, ConsoleSessionRecord, Membership, Replaces, Store, StoreError,
};

/// A session lives at least this long after its last use (seconds).
pub const IDLE_LIFETIME: i64 = 30 * 60;

/// How long a use renews a session for, when less than [`IDLE_LIFETIME`]
/// is left: so a session in use is written at most once per quarter
/// hour, and one left alone ends 30 to 45 minutes after its last use.
pub const RENEWED_FOR: i64 = IDLE_LIFETIME + IDLE_LIFETIME / 2;

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
/// (shown to the browser once, never stored; left out of `Debug`).
pub struct StartedSession {
    pub record: ConsoleSessionRecord,
    pub secret: String,
    /// The membership the session acts in.
    pub membership: Membership,
}

impl fmt::Debug for StartedSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StartedSession")
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

/// Why a session was not started or switched.
#[derive(Debug)]
pub enum ConsoleSessionError {
    /// The account is no member of the contract asked for.
    NotAMember(ContractNumber),
    /// A switch asked for with another credential than a session.
    NotASession,
    /// The session was signed out while the switch was asked for.
    Ended,
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
            ConsoleSessionError::Ended => {
                f.write_str("the console session has ended or was signed out: sign in again")
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

    /// A new session for `member` (who just proved their password); the
    /// session the browser held before, if it sent one, ends.
    pub async fn start(
        &self,
        member: &Member,
        previous: Option<&str>,
    ) -> Result<StartedSession, ConsoleSessionError> {
        let now = self.clock.now();
        let started = new_session(member, member.membership.clone(), now, now);
        let event = Event::by_member(
            member,
            now,
            "console.signed_in",
            ("console_session", &started.record.id[..16]),
            json!({}),
        );
        let previous = previous.map(digest);
        let replaces = previous
            .as_deref()
            .map_or(Replaces::Nothing, Replaces::IfAny);
        self.store
            .insert_console_session(&started.record, replaces, now, &event)
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
        let membership = self
            .memberships(member)
            .await?
            .into_iter()
            .find(|m| m.contract == contract)
            .ok_or(ConsoleSessionError::NotAMember(contract))?;
        let now = self.clock.now();
        let started = new_session(member, membership, session.created_at, now);
        let in_new_contract = Member {
            membership: started.membership.clone(),
            ..member.clone()
        };
        let event = Event::by_member(
            &in_new_contract,
            now,
            "console.contract_switched",
            ("console_session", &started.record.id[..16]),
            json!({"from": member.contract().get()}),
        );
        let replaced = self
            .store
            .insert_console_session(&started.record, Replaces::Exactly(&session.id), now, &event)
            .await?;
        if replaced {
            Ok(started)
        } else {
            Err(ConsoleSessionError::Ended)
        }
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
/// when less than [`IDLE_LIFETIME`] is left, its expiry moves to
/// [`RENEWED_FOR`] from `now` (within [`MAX_LIFETIME`] of its sign-in).
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
    let renewed = (now + RENEWED_FOR).min(session.created_at + MAX_LIFETIME);
    if session.expires_at - now < IDLE_LIFETIME && renewed > session.expires_at {
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
    membership: Membership,
    signed_in_at: i64,
    now: i64,
) -> StartedSession {
    let secret = random_secret(32);
    let record = ConsoleSessionRecord {
        id: digest(&secret),
        user_id: member.user_id.clone(),
        contract: membership.contract,
        created_at: signed_in_at,
        expires_at: (now + RENEWED_FOR).min(signed_in_at + MAX_LIFETIME),
    };
    StartedSession {
        record,
        secret,
        membership,
    }
}
