//! Repositories: their names, the patterns a registry token's scopes use,
//! and the scopes themselves. The one place where the repository-name
//! grammar lives.
//!
//! A [`RepositoryName`] is what a registry names (`team/app`): CNCF
//! Distribution's grammar. A [`RepositoryPattern`] is what a scope names: a
//! name where `*` stands for any run of characters, `/` included (`*`,
//! `team/*`). A [`ScopeRule`] pairs a pattern with a non-empty set of
//! [`Action`]s. All are valid by construction.

use std::fmt;
use std::str::FromStr;

use crate::parse::{ParseError, truncate};
use crate::registry::Scope;

/// The longest repository name or pattern accepted.
const MAX_LEN: usize = 255;

/// A repository name: lower-case path components of `[a-z0-9]` separated
/// by `.`, `_`, `__` or runs of `-`, joined by `/` (Distribution's grammar).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepositoryName(String);

impl RepositoryName {
    pub fn parse(field: &str, s: &str) -> Result<Self, ParseError> {
        if s.len() > MAX_LEN {
            Err(ParseError::new(format!(
                "{field} is {} characters long: a repository name has at most {MAX_LEN}",
                s.len()
            )))
        } else if is_repository_name(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ParseError::new(format!(
                "{field} {:?} is not a repository name: lower-case path components of a-z and 0-9, \
                 separated inside by '.', '_' or '-', joined by '/'",
                truncate(s)
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RepositoryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_repository_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_LEN
        && name.split('/').all(|component| {
            let b = component.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-".contains(c))
        })
}

/// A repository name or a pattern where `*` matches any run of characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepositoryPattern(String);

impl RepositoryPattern {
    pub fn parse(field: &str, s: &str) -> Result<Self, ParseError> {
        Self::parse_owned(field, s.to_owned())
    }

    /// Like [`Self::parse`], keeping the string.
    pub fn parse_owned(field: &str, s: String) -> Result<Self, ParseError> {
        let ok = !s.is_empty()
            && s.len() <= MAX_LEN
            && s.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-/*".contains(&c))
            && !s.starts_with('/')
            && !s.ends_with('/')
            && !s.contains("//");
        if ok {
            Ok(Self(s))
        } else {
            Err(ParseError::new(format!(
                "{field} {:?} is not a repository name or pattern: use a-z, 0-9, '.', '_', '-', '/' between path components, and '*' as a wildcard",
                truncate(&s)
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this pattern covers every repository (`*`).
    pub fn covers_all(&self) -> bool {
        self.0 == "*"
    }

    /// Whether the pattern matches `name`; `*` matches any run of
    /// characters, `/` included.
    pub fn matches(&self, name: &RepositoryName) -> bool {
        glob_matches(self.0.as_bytes(), name.as_str().as_bytes())
    }
}

impl fmt::Display for RepositoryPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Linear-time glob matching with `*` only (greedy with one backtrack point).
fn glob_matches(pattern: &[u8], name: &[u8]) -> bool {
    let (p, n) = (pattern, name);
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

/// What a registry token may do in a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Pull,
    Push,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
            Action::Delete => "delete",
        }
    }
}

impl FromStr for Action {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "pull" => Ok(Action::Pull),
            "push" => Ok(Action::Push),
            "delete" => Ok(Action::Delete),
            _ => Err(()),
        }
    }
}

/// A scope of a registry token: a repository pattern and a non-empty set
/// of actions in canonical order (pull, push, delete).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeRule {
    pattern: RepositoryPattern,
    actions: Vec<Action>,
}

impl ScopeRule {
    /// A scope of `actions` on `pattern`; `None` without any action.
    pub fn new(
        pattern: RepositoryPattern,
        actions: impl IntoIterator<Item = Action>,
    ) -> Option<Self> {
        let mut actions: Vec<Action> = actions.into_iter().collect();
        actions.sort_unstable();
        actions.dedup();
        (!actions.is_empty()).then_some(Self { pattern, actions })
    }

    /// Parses `scopes[index]` of a request.
    pub fn parse(field: &str, scope: &Scope) -> Result<Self, ParseError> {
        if scope.type_ != "repository" {
            return Err(ParseError::new(format!(
                "{field}.type must be \"repository\", got {:?}",
                truncate(&scope.type_)
            )));
        }
        let pattern = RepositoryPattern::parse(&format!("{field}.name"), &scope.name)?;
        let mut actions = Vec::with_capacity(3);
        for action in &scope.actions {
            let parsed: Action = action.parse().map_err(|()| {
                ParseError::new(format!(
                    "{field}.actions contains {:?}: allowed actions are pull, push and delete",
                    truncate(action)
                ))
            })?;
            actions.push(parsed);
        }
        Self::new(pattern, actions).ok_or_else(|| {
            ParseError::new(format!(
                "{field}.actions must name at least one of pull, push, delete"
            ))
        })
    }

    pub fn pattern(&self) -> &RepositoryPattern {
        &self.pattern
    }

    /// The actions, in canonical order, without repeats.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    pub fn allows(&self, action: Action) -> bool {
        self.actions.contains(&action)
    }

    /// The wire form.
    pub fn to_wire(&self) -> Scope {
        Scope {
            type_: "repository".to_owned(),
            name: self.pattern.as_str().to_owned(),
            actions: self.actions.iter().map(|a| a.as_str().to_owned()).collect(),
        }
    }
}

/// The most scopes one registry token may hold.
pub const MAX_SCOPES: usize = 100;

/// Parses a request's scope list (`null` or absent means none).
pub fn parse_scopes(field: &str, scopes: Option<&[Scope]>) -> Result<Vec<ScopeRule>, ParseError> {
    let scopes = scopes.unwrap_or_default();
    if scopes.len() > MAX_SCOPES {
        return Err(ParseError::new(format!(
            "{field} may hold at most {MAX_SCOPES} scopes"
        )));
    }
    scopes
        .iter()
        .enumerate()
        .map(|(i, s)| ScopeRule::parse(&format!("{field}[{i}]"), s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(type_: &str, name: &str, actions: &[&str]) -> Scope {
        Scope {
            type_: type_.into(),
            name: name.into(),
            actions: actions.iter().map(|a| a.to_string()).collect(),
        }
    }

    fn name(s: &str) -> RepositoryName {
        RepositoryName::parse("n", s).unwrap()
    }

    fn pattern(s: &str) -> RepositoryPattern {
        RepositoryPattern::parse("p", s).unwrap()
    }

    #[test]
    fn scopes_need_repository_type_known_actions_and_a_sane_name() {
        let rule = ScopeRule::parse(
            "s",
            &scope("repository", "team/*", &["push", "pull", "push"]),
        )
        .unwrap();
        assert_eq!(rule.actions(), [Action::Pull, Action::Push]);
        assert!(ScopeRule::parse("s", &scope("registry", "*", &["pull"])).is_err());
        assert!(ScopeRule::parse("s", &scope("repository", "*", &[])).is_err());
        assert!(ScopeRule::parse("s", &scope("repository", "*", &["admin"])).is_err());
        for bad in ["", "/a", "a/", "a//b", "A", "a b"] {
            assert!(
                ScopeRule::parse("s", &scope("repository", bad, &["pull"])).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn repository_names_follow_distribution() {
        for ok in ["app", "team/app", "a.b_c-d/e__f", "a--b", "0/1"] {
            assert!(RepositoryName::parse("n", ok).is_ok(), "{ok}");
        }
        for bad in ["", "App", "a//b", "-a", "a-", "a/", "a:b", &"a".repeat(256)] {
            assert!(RepositoryName::parse("n", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn patterns_match_like_globs_across_slashes() {
        assert!(pattern("*").matches(&name("team/app")));
        assert!(pattern("team/*").matches(&name("team/app")));
        assert!(pattern("team/*").matches(&name("team/sub/app")));
        assert!(!pattern("team/*").matches(&name("other/app")));
        assert!(!pattern("team/*").matches(&name("team")));
        assert!(pattern("team/app").matches(&name("team/app")));
        assert!(!pattern("team/app").matches(&name("team/app2")));
        assert!(pattern("*/app").matches(&name("team/app")));
        assert!(pattern("a*b*c").matches(&name("axxbyyc")));
        assert!(!pattern("a*b*c").matches(&name("axxbyy")));
    }
}
