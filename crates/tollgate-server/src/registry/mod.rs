//! The Container Registry domain: registries and their tokens as services
//! ([`Registries`], [`RegistryTokens`]), and the registry token service's
//! rules: logins ([`login`]), granted access ([`access`]) and the JWTs
//! registries verify ([`jwt`]); what registries hold, from their own event
//! notifications ([`events`]), read as repositories and artifacts
//! ([`Repositories`]), and the registries' own APIs, for deleting
//! repositories and resynchronising ([`distribution`], [`resync`]).
//!
//! Managing registries takes a [`Manager`]: a member who holds the owner or
//! admin role or the `accessAndManageRegistries` privilege in their
//! contract. Everything a manager reaches is filtered by that contract, so
//! other contracts' registries and tokens do not exist for them.

pub mod access;
pub mod distribution;
pub mod events;
pub mod jwt;
pub mod login;
mod registries;
mod repositories;
pub mod resync;
mod tokens;

use std::fmt;

use tollgate_api::account::Privilege;
use tollgate_api::auth::ContractNumber;

pub use registries::{NewRegistry, Registries, RegistryError};
pub use repositories::{Repositories, RepositoryError};
pub use tokens::{CreatedToken, NewToken, RegistryTokenError, RegistryTokens};

use crate::auth::Member;
use crate::store::Change;

/// A member allowed to manage the registries of their contract.
#[derive(Debug, Clone)]
pub struct Manager(Member);

/// A member who may not manage registries.
#[derive(Debug, Clone, Copy)]
pub struct NotAManager(pub ContractNumber);

impl fmt::Display for NotAManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "managing registries needs the owner or admin role or the {} privilege in contract {}",
            Privilege::AccessAndManageRegistries,
            self.0
        )
    }
}

impl TryFrom<Member> for Manager {
    type Error = NotAManager;

    fn try_from(member: Member) -> Result<Self, NotAManager> {
        if member.may_manage_registries() {
            Ok(Manager(member))
        } else {
            Err(NotAManager(member.contract()))
        }
    }
}

impl Manager {
    pub fn member(&self) -> &Member {
        &self.0
    }

    pub fn contract(&self) -> ContractNumber {
        self.0.contract()
    }

    fn change(&self, at: i64) -> Change {
        self.0.change(at)
    }
}

/// What a `PUT` did: created the resource (201) or replaced it (200).
#[derive(Debug)]
pub enum Put<Created, Replaced = Created> {
    Created(Created),
    Replaced(Replaced),
}
