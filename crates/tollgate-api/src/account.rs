//! Accounts as both APIs see them: the e-mail that is the login name, the
//! role and privileges a member holds in a contract, and account and
//! access-token ids.
//!
//! A value of [`Email`], [`Role`] or [`Privilege`] is valid by construction.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::parse::{ParseError, truncate};

/// A member's role in a contract, as access tokens carry it (`identity.role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::User => "user",
        }
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "user" => Ok(Role::User),
            other => Err(format!("unknown role {other:?}: use owner, admin or user")),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A privilege a member may hold beside their role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Privilege {
    /// Lets a plain user manage the contract's container registries.
    AccessAndManageRegistries,
}

impl Privilege {
    /// Every privilege this service knows.
    pub const ALL: [Privilege; 1] = [Privilege::AccessAndManageRegistries];

    pub fn as_str(self) -> &'static str {
        match self {
            Privilege::AccessAndManageRegistries => "accessAndManageRegistries",
        }
    }
}

impl FromStr for Privilege {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Privilege::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Privilege::ALL.iter().map(|p| p.as_str()).collect();
                format!(
                    "unknown privilege {s:?}: known privileges are {}",
                    known.join(", ")
                )
            })
    }
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An e-mail address used as a login name: trimmed, lower-cased, with a
/// local part and a domain, and no colon or whitespace (it travels in
/// Basic credentials as `email:password`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        Self::parse_owned(Self::normalise(s))
    }

    /// Like [`Self::parse`], keeping the string when it is normalised
    /// already (as every stored e-mail is).
    pub fn parse_owned(s: String) -> Result<Self, ParseError> {
        let normalised = s.trim().len() == s.len() && !s.chars().any(char::is_uppercase);
        let email = if normalised { s } else { Self::normalise(&s) };
        let ok = email.len() <= 254
            && !email.contains([':', ' ', '\t', '\r', '\n'])
            && email
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
        if ok {
            Ok(Self(email))
        } else {
            Err(ParseError::new(format!(
                "{:?} is not an e-mail address usable as a login (name@domain, no colon or spaces)",
                truncate(&email)
            )))
        }
    }

    /// An e-mail read back from the store, which only ever holds e-mails
    /// that [`Self::parse`] accepted: not checked again.
    pub fn stored(s: String) -> Self {
        Self(s)
    }

    /// What a login name is compared as: trimmed and lower-cased, so that
    /// `Ada@Example.COM` finds `ada@example.com`.
    pub fn normalise(s: &str) -> String {
        s.trim().to_lowercase()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// An account's id (a UUID the service generated).
    UserId
);

string_id!(
    /// An access token's id: its JWT `kid` and `jti`. Any text a client
    /// sends as one is only looked up, never trusted.
    AuthTokenId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_case_insensitive_and_checked() {
        assert_eq!(
            Email::parse(" Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in ["ada", "a:b@example.com", "@example.com", "ada@", "a b@c"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn roles_and_privileges_round_trip() {
        for role in [Role::Owner, Role::Admin, Role::User] {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
        assert_eq!(
            "accessAndManageRegistries".parse::<Privilege>().unwrap(),
            Privilege::AccessAndManageRegistries
        );
        assert!("sudo".parse::<Privilege>().is_err());
        assert_eq!(serde_json::to_value(Role::Owner).unwrap(), "owner");
    }
}
