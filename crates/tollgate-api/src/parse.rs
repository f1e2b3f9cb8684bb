//! The error every validated type answers, phrased for the person who sent the value.

use std::fmt;

/// Why a value was refused; the message names the field and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl ParseError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

/// Echoes at most 64 characters of untrusted input back in a message.
pub fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}
