//! The registry token service's rules: which registry token may do what.
//!
//! A registry (CNCF Distribution or any registry speaking Docker's token
//! auth) sends clients here with `service` = a registry's hostname and
//! `scope`s such as `repository:team/app:pull,push`. A registry token's
//! credentials are checked (password digest in constant time, status,
//! expiry, the registry's `apiSubnetAllowList`), then the granted access is
//! the requested actions intersected with the token's scopes, which
//! [`crate::registry_jwt`] signs into the answer.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tollgate_api::registry_rules::{Action, RegistryName, ScopeRule, Subnet};

use crate::secrets;
use crate::store::{LoginToken, Store, StoreError};

/// How many `scope` parameters one request may carry.
pub const MAX_SCOPES: usize = 32;

/// The longest `scope` string accepted.
pub const MAX_SCOPE_LEN: usize = 512;

/// One requested scope, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestedScope {
    /// `repository:<name>:<actions>` (also `repository(plugin):...`).
    Repository { name: String, actions: Vec<String> },
    /// `registry:catalog:*`.
    Catalog,
}

/// A `scope` string that is not `type:name:actions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedScope(pub String);

/// Parses one `scope` value: the name is everything between the first and
/// the last colon, so names with a registry port (`host:5000/app`) parse.
pub fn parse_scope(raw: &str) -> Result<RequestedScope, MalformedScope> {
    let malformed = |why: &str| {
        MalformedScope(format!(
            "scope {:?} {why}",
            raw.chars().take(64).collect::<String>()
        ))
    };
    if raw.len() > MAX_SCOPE_LEN {
        return Err(malformed("is too long"));
    }
    let (kind, rest) = raw
        .split_once(':')
        .ok_or_else(|| malformed("is not type:name:actions"))?;
    let (name, actions) = rest
        .rsplit_once(':')
        .ok_or_else(|| malformed("is not type:name:actions"))?;
    let actions: Vec<String> = actions
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect();
    if actions.is_empty() {
        return Err(malformed("names no action"));
    }
    match kind {
        "repository" | "repository(plugin)" => {
            if !is_repository_name(name) {
                return Err(malformed("does not name a valid repository"));
            }
            Ok(RequestedScope::Repository {
                name: name.to_owned(),
                actions,
            })
        }
        "registry" if name == "catalog" => Ok(RequestedScope::Catalog),
        "registry" => Err(malformed(
            "names an unknown registry resource (only catalog exists)",
        )),
        _ => Err(malformed(
            "has an unknown resource type (use repository or registry)",
        )),
    }
}

/// Distribution's repository name grammar: lower-case path components of
/// `[a-z0-9]` separated by `.`, `_`, `__` or `-`s, joined by `/`.
fn is_repository_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.split('/').all(|component| {
            let b = component.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-".contains(c))
        })
}

/// Whether a scope name or pattern matches a repository; `*` matches any
/// run of characters, `/` included.
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && p[pi] == b'*' {
            backtrack = Some((pi, ni));
            pi += 1;
        } else if pi < p.len() && p[pi] == n[ni] {
            pi += 1;
            ni += 1;
        } else if let Some((star, matched)) = backtrack {
            pi = star + 1;
            ni = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

/// One entry of the JWT's `access` claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    #[serde(rename = "type")]
    pub type_: String,
    pub name: String,
    pub actions: Vec<String>,
}

/// What the token's scopes allow of what was requested. Unknown or
/// ungranted actions are left out; a scope with nothing granted is dropped.
pub fn grant(requested: &[RequestedScope], scopes: &[ScopeRule]) -> Vec<Access> {
    let mut granted: Vec<Access> = Vec::new();
    for request in requested {
        match request {
            RequestedScope::Repository { name, actions } => {
                let allowed: Vec<String> = [Action::Pull, Action::Push, Action::Delete]
                    .into_iter()
                    .filter(|action| actions.iter().any(|a| a == action.as_str() || a == "*"))
                    .filter(|action| {
                        scopes
                            .iter()
                            .any(|s| s.actions.contains(action) && pattern_matches(&s.name, name))
                    })
                    .map(|action| action.as_str().to_owned())
                    .collect();
                if allowed.is_empty() {
                    continue;
                }
                match granted
                    .iter_mut()
                    .find(|g| g.type_ == "repository" && g.name == *name)
                {
                    Some(existing) => {
                        for action in allowed {
                            if !existing.actions.contains(&action) {
                                existing.actions.push(action);
                            }
                        }
                    }
                    None => granted.push(Access {
                        type_: "repository".into(),
                        name: name.clone(),
                        actions: allowed,
                    }),
                }
            }
            RequestedScope::Catalog => {
                let covers_all = scopes
                    .iter()
                    .any(|s| s.name == "*" && s.actions.contains(&Action::Pull));
                if covers_all && !granted.iter().any(|g| g.type_ == "registry") {
                    granted.push(Access {
                        type_: "registry".into(),
                        name: "catalog".into(),
                        actions: vec!["*".into()],
                    });
                }
            }
        }
    }
    granted
}

/// Why a login was refused. Every variant answers the same 401 to the
/// client, except a service that cannot be a registry of this service; the
/// variant is only logged.
#[derive(Debug)]
pub enum Denied {
    /// Not `<registry name>.<registry domain>`: no store lookup can tell
    /// anything about it.
    UnknownService,
    /// A wrong password, an unknown token, or an unknown registry: all look
    /// the same, so that registry names cannot be probed.
    BadCredentials,
    /// A refresh token issued for a credential that no longer exists in
    /// that form (deleted, re-created under the same id, or its password
    /// changed).
    StaleRefresh,
    Disabled,
    Expired,
    AddressNotAllowed,
    Store(StoreError),
}

/// The registry token whose credentials were just proven.
#[derive(Debug, Clone)]
pub struct Proven {
    pub token: LoginToken,
}

/// The digest compared when the username is unknown, so both cases cost the same.
const NO_SUCH_DIGEST: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Checks a registry token's credentials for `service` (a registry
/// hostname under `registry_domain`), and that it may be used now, from `client`.
pub async fn authenticate(
    store: &Store,
    registry_domain: &str,
    service: &str,
    username: &str,
    password: &str,
    client: IpAddr,
    now: i64,
) -> Result<Proven, Denied> {
    let registry_name = registry_name_of(service, registry_domain).ok_or(Denied::UnknownService)?;
    // One lookup, one digest and one comparison, whether or not the
    // registry and the token exist: the answer and its timing are the same.
    let found = store
        .registry_token_for_login(registry_name, username)
        .await
        .map_err(Denied::Store)?;
    let presented = secrets::digest(password);
    let expected = found
        .as_ref()
        .map(|token| token.password_digest.as_str())
        .unwrap_or(NO_SUCH_DIGEST);
    let matches: bool = presented.as_bytes().ct_eq(expected.as_bytes()).into();
    let token = found.filter(|_| matches).ok_or(Denied::BadCredentials)?;
    usable(token, client, now)
}

/// What a refresh token names: the registry token, by id and name, and the
/// fingerprint of the credential it was issued for.
#[derive(Debug, Clone, Copy)]
pub struct RefreshGrant<'a> {
    pub token_id: &'a str,
    pub token_name: &'a str,
    pub credential: &'a str,
}

/// Re-checks the registry token a refresh token names: it must still exist
/// with the same name and the same password (so a refresh token dies with
/// its credential: deletion, re-creation under the same id, a new
/// password), be enabled, unexpired, and used from an allowed address.
pub async fn authenticate_refresh(
    store: &Store,
    registry_domain: &str,
    service: &str,
    grant: RefreshGrant<'_>,
    client: IpAddr,
    now: i64,
) -> Result<Proven, Denied> {
    let registry_name = registry_name_of(service, registry_domain).ok_or(Denied::UnknownService)?;
    let token = store
        .registry_token_by_id_for_login(registry_name, grant.token_id)
        .await
        .map_err(Denied::Store)?
        .ok_or(Denied::BadCredentials)?;
    let fingerprint = secrets::credential_fingerprint(&token.password_digest);
    let same_credential: bool = fingerprint
        .as_bytes()
        .ct_eq(grant.credential.as_bytes())
        .into();
    if !same_credential || token.name != grant.token_name {
        return Err(Denied::StaleRefresh);
    }
    usable(token, client, now)
}

/// The registry name in a service (`<name>.<registry_domain>`), if it is
/// one a registry could have.
fn registry_name_of<'a>(service: &'a str, registry_domain: &str) -> Option<&'a str> {
    let name = service.strip_suffix(registry_domain)?.strip_suffix('.')?;
    RegistryName::parse("service", name).ok().map(|_| name)
}

/// Status, expiry and the registry's allow list, at `now`, from `client`.
fn usable(token: LoginToken, client: IpAddr, now: i64) -> Result<Proven, Denied> {
    if token.settings.status != "enabled" {
        return Err(Denied::Disabled);
    }
    if token.settings.expires_at.is_some_and(|at| at <= now) {
        return Err(Denied::Expired);
    }
    let allowed = token.allow_list.is_empty()
        || token
            .allow_list
            .iter()
            .filter_map(|entry| Subnet::parse("apiSubnetAllowList", entry).ok())
            .any(|subnet| subnet.contains(client));
    if !allowed {
        return Err(Denied::AddressNotAllowed);
    }
    Ok(Proven { token })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, actions: &[Action]) -> ScopeRule {
        ScopeRule {
            name: name.into(),
            actions: actions.to_vec(),
        }
    }

    fn repo(name: &str, actions: &[&str]) -> RequestedScope {
        RequestedScope::Repository {
            name: name.into(),
            actions: actions.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn scopes_parse_with_ports_and_plugins_and_refuse_garbage() {
        assert_eq!(
            parse_scope("repository:team/app:pull,push").unwrap(),
            repo("team/app", &["pull", "push"])
        );
        assert_eq!(
            parse_scope("repository(plugin):a/b:pull").unwrap(),
            repo("a/b", &["pull"])
        );
        assert_eq!(
            parse_scope("registry:catalog:*").unwrap(),
            RequestedScope::Catalog
        );
        for bad in [
            "",
            "repository",
            "repository:app",
            "repository:app:",
            "repository::pull",
            "repository:App:pull",
            "repository:a//b:pull",
            "image:app:pull",
            "registry:other:*",
            "repository:-a:pull",
        ] {
            assert!(parse_scope(bad).is_err(), "{bad}");
        }
        assert!(parse_scope(&format!("repository:{}:pull", "a".repeat(600))).is_err());
    }

    #[test]
    fn patterns_match_like_globs_across_slashes() {
        assert!(pattern_matches("*", "team/app"));
        assert!(pattern_matches("team/*", "team/app"));
        assert!(pattern_matches("team/*", "team/sub/app"));
        assert!(!pattern_matches("team/*", "other/app"));
        assert!(!pattern_matches("team/*", "team"));
        assert!(pattern_matches("team/app", "team/app"));
        assert!(!pattern_matches("team/app", "team/app2"));
        assert!(pattern_matches("*/app", "team/app"));
        assert!(pattern_matches("a*b*c", "axxbyyc"));
        assert!(!pattern_matches("a*b*c", "axxbyy"));
    }

    #[test]
    fn access_is_the_intersection_of_request_and_scopes() {
        let scopes = [
            rule("team/*", &[Action::Pull, Action::Push]),
            rule("*", &[Action::Pull]),
        ];
        let granted = grant(
            &[
                repo("team/app", &["pull", "push", "delete"]),
                repo("other/app", &["pull", "push"]),
                repo("secret", &["delete"]),
            ],
            &scopes,
        );
        assert_eq!(
            granted,
            [
                Access {
                    type_: "repository".into(),
                    name: "team/app".into(),
                    actions: vec!["pull".into(), "push".into()]
                },
                Access {
                    type_: "repository".into(),
                    name: "other/app".into(),
                    actions: vec!["pull".into()]
                },
            ]
        );
    }

    #[test]
    fn catalog_needs_a_scope_over_every_repository() {
        assert!(
            grant(
                &[RequestedScope::Catalog],
                &[rule("team/*", &[Action::Pull])]
            )
            .is_empty()
        );
        let granted = grant(&[RequestedScope::Catalog], &[rule("*", &[Action::Pull])]);
        assert_eq!(granted[0].name, "catalog");
        assert_eq!(granted[0].actions, ["*"]);
    }

    #[test]
    fn delete_is_granted_only_where_the_token_has_it() {
        let granted = grant(
            &[repo("app", &["delete"])],
            &[rule("*", &[Action::Pull, Action::Push])],
        );
        assert!(granted.is_empty());
        let granted = grant(
            &[repo("app", &["*"])],
            &[rule("app", &[Action::Pull, Action::Delete])],
        );
        assert_eq!(granted[0].actions, ["pull", "delete"]);
    }
}
