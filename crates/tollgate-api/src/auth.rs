//! The Auth API v1 (`/auth/v1`): its models and its validated parameters.
//!
//! Field names follow the official contract (`Jwt`, `Token`, `Tokens`,
//! `DeleteResponse`); parameters parse from the strings a client sends and
//! refuse anything outside the documented range with a message a person can act on.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::parse::{ParseError, truncate};

/// `Jwt`: the answer of `GET /tokens/generate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwt {
    pub token: String,
}

/// `Token`: one access token as listed; never the JWT itself. Tollgate's
/// extension fields `lastUsedDate` and `lastUsedFrom`, which the official
/// SDKs ignore, are left out until the token was used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Token {
    pub id: String,
    pub href: String,
    pub created_date: String,
    pub expiration_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_from: Option<String>,
}

/// `Tokens`: the answer of `GET /tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    pub tokens: Vec<Token>,
}

/// `DeleteResponse`: the answer of both delete operations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteResponse {
    pub success: bool,
}

/// The name of the header that selects a contract.
pub const CONTRACT_HEADER: &str = "X-Contract-Number";

/// A contract number: a positive int32, as `X-Contract-Number` carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContractNumber(i32);

impl ContractNumber {
    /// Wraps a number that is already known to be positive.
    pub fn new(value: i32) -> Result<Self, ParseError> {
        if value > 0 {
            Ok(Self(value))
        } else {
            Err(ParseError(format!(
                "a contract number is a positive 32-bit integer, got {value}"
            )))
        }
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

impl FromStr for ContractNumber {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let value: i32 = s.trim().parse().map_err(|_| {
            ParseError(format!(
                "{CONTRACT_HEADER} must be a positive 32-bit integer, got {:?}",
                truncate(s)
            ))
        })?;
        Self::new(value)
    }
}

impl fmt::Display for ContractNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The lifetime of a generated token in seconds, within the documented bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ttl(u32);

impl Ttl {
    pub const MIN: u32 = 60;
    pub const MAX: u32 = 31_536_000;
    /// One year, the documented default.
    pub const DEFAULT: Ttl = Ttl(Self::MAX);

    pub fn seconds(self) -> u32 {
        self.0
    }
}

impl TryFrom<i64> for Ttl {
    type Error = ParseError;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        if (i64::from(Self::MIN)..=i64::from(Self::MAX)).contains(&value) {
            Ok(Self(value as u32))
        } else {
            Err(ParseError(format!(
                "ttl must be between {} and {} seconds, got {value}",
                Self::MIN,
                Self::MAX
            )))
        }
    }
}

impl FromStr for Ttl {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let value: i64 = s.parse().map_err(|_| {
            ParseError(format!(
                "ttl must be an integer number of seconds between {} and {}, got {:?}",
                Self::MIN,
                Self::MAX,
                truncate(s)
            ))
        })?;
        Self::try_from(value)
    }
}

/// Which tokens `DELETE /tokens?criteria=` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Criteria {
    /// Every token of the caller in the contract.
    All,
    /// The caller's tokens in the contract whose expiration date has passed.
    Expired,
    /// The token that authenticated this very request.
    Current,
}

impl Criteria {
    /// The value of the `criteria` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "ALL",
            Self::Expired => "EXPIRED",
            Self::Current => "CURRENT",
        }
    }
}

impl FromStr for Criteria {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ALL" => Ok(Self::All),
            "EXPIRED" => Ok(Self::Expired),
            "CURRENT" => Ok(Self::Current),
            other => Err(ParseError(format!(
                "criteria must be one of ALL, EXPIRED or CURRENT, got {:?}",
                truncate(other)
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_bounds_are_inclusive() {
        assert_eq!("60".parse::<Ttl>().unwrap().seconds(), 60);
        assert_eq!("31536000".parse::<Ttl>().unwrap().seconds(), 31_536_000);
        assert!("59".parse::<Ttl>().is_err());
        assert!("31536001".parse::<Ttl>().is_err());
        assert!("-5".parse::<Ttl>().is_err());
        assert!("1e3".parse::<Ttl>().is_err());
        assert!("".parse::<Ttl>().is_err());
    }

    #[test]
    fn contract_numbers_are_positive_int32() {
        assert_eq!("31".parse::<ContractNumber>().unwrap().get(), 31);
        assert!("0".parse::<ContractNumber>().is_err());
        assert!("abc".parse::<ContractNumber>().is_err());
        assert!("2147483648".parse::<ContractNumber>().is_err());
    }

    #[test]
    fn criteria_is_case_sensitive_as_documented() {
        assert_eq!("ALL".parse::<Criteria>().unwrap(), Criteria::All);
        assert_eq!("EXPIRED".parse::<Criteria>().unwrap(), Criteria::Expired);
        assert_eq!("CURRENT".parse::<Criteria>().unwrap(), Criteria::Current);
        assert!("all".parse::<Criteria>().is_err());
        assert!("SOME".parse::<Criteria>().is_err());
    }

    #[test]
    fn models_use_the_documented_field_names() {
        let token = Token {
            id: "k".into(),
            href: "h".into(),
            created_date: "c".into(),
            expiration_date: "e".into(),
            last_used_date: None,
            last_used_from: None,
        };
        let json = serde_json::to_value(&token).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id": "k", "href": "h", "createdDate": "c", "expirationDate": "e"})
        );
        let err = serde_json::to_value(crate::error::ErrorBody::new(404, "x", "y")).unwrap();
        assert_eq!(
            err,
            serde_json::json!({"httpStatus": 404, "messages": [{"errorCode": "x", "message": "y"}]})
        );
    }
}
