//! A member: an account the gate authenticated, acting within one contract,
//! from one address. Every service that acts for an account takes one.

use std::net::IpAddr;

use tollgate_api::account::{Email, Privilege, Role, UserId};
use tollgate_api::auth::ContractNumber;

use crate::store::{AuthTokenRecord, Change, ConsoleSessionRecord, Membership};

/// An authenticated account acting within one contract.
#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: UserId,
    pub email: Email,
    pub membership: Membership,
    pub method: AuthMethod,
    /// The client's address, as the service sees the TCP peer.
    pub address: IpAddr,
}

/// How the member proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// E-mail and password.
    Basic,
    /// An access token, as stored.
    Bearer { token: AuthTokenRecord },
    /// A web console session (its cookie), as stored.
    Console { session: ConsoleSessionRecord },
}

impl Member {
    pub fn contract(&self) -> ContractNumber {
        self.membership.contract
    }

    /// Owners, admins and holders of `accessAndManageRegistries` manage the
    /// contract's registries.
    pub fn may_manage_registries(&self) -> bool {
        matches!(self.membership.role, Role::Owner | Role::Admin)
            || self
                .membership
                .privileges
                .contains(&Privilege::AccessAndManageRegistries)
    }

    /// A change this member makes at `at`: what the store records of it.
    pub fn change(&self, at: i64) -> Change {
        Change {
            at,
            by: self.email.to_string(),
            by_user_id: self.user_id.to_string(),
        }
    }

    /// The access token that authenticated this request, if one did.
    pub fn bearer_token(&self) -> Option<&AuthTokenRecord> {
        match &self.method {
            AuthMethod::Bearer { token } => Some(token),
            AuthMethod::Basic | AuthMethod::Console { .. } => None,
        }
    }
}
