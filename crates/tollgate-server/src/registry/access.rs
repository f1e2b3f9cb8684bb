//! What a proven registry token may do: the `scope`s a registry asks for
//! (`repository:team/app:pull,push`, `registry:catalog:*`), and the access
//! granted, which is the requested actions intersected with the token's
//! scopes; [`super::jwt`] signs it into the answer. Credentials are checked
//! before, in [`super::login`].

use serde::{Deserialize, Serialize};
use tollgate_api::parse::truncate;
use tollgate_api::repository::{Action, RepositoryName, ScopeRule};

/// How many `scope` parameters one request may carry.
pub const MAX_SCOPES: usize = 32;

/// The longest `scope` string accepted.
pub const MAX_SCOPE_LEN: usize = 512;

/// One requested scope, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestedScope {
    /// `repository:<name>:<actions>` (also `repository(plugin):...`).
    Repository {
        name: RepositoryName,
        actions: Vec<String>,
    },
    /// `registry:catalog:*`.
    Catalog,
}

/// A `scope` string that is not `type:name:actions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedScope(pub String);

/// Parses one `scope` value: the name is everything between the first and
/// the last colon, so names with a registry port (`host:5000/app`) parse.
pub fn parse_scope(raw: &str) -> Result<RequestedScope, MalformedScope> {
    let malformed = |why: &str| MalformedScope(format!("scope {:?} {why}", truncate(raw)));
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
            let name = RepositoryName::parse("scope", name)
                .map_err(|_| malformed("does not name a valid repository"))?;
            Ok(RequestedScope::Repository { name, actions })
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
                            .any(|s| s.allows(*action) && s.pattern().matches(name))
                    })
                    .map(|action| action.as_str().to_owned())
                    .collect();
                if allowed.is_empty() {
                    continue;
                }
                match granted
                    .iter_mut()
                    .find(|g| g.type_ == "repository" && g.name == name.as_str())
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
                        name: name.to_string(),
                        actions: allowed,
                    }),
                }
            }
            RequestedScope::Catalog => {
                let covers_all = scopes
                    .iter()
                    .any(|s| s.pattern().covers_all() && s.allows(Action::Pull));
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

#[cfg(test)]
mod tests {
    use super::*;

    use tollgate_api::repository::RepositoryPattern;

    fn rule(name: &str, actions: &[Action]) -> ScopeRule {
        let pattern = RepositoryPattern::parse("name", name).unwrap();
        ScopeRule::new(pattern, actions.iter().copied()).unwrap()
    }

    fn repo(name: &str, actions: &[&str]) -> RequestedScope {
        RequestedScope::Repository {
            name: RepositoryName::parse("name", name).unwrap(),
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
