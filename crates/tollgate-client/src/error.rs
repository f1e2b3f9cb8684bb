//! What can go wrong with a call, in words a person can act on.

use std::fmt;

use tollgate_api::error::{ErrorBody, ErrorMessage};

/// A failed call.
#[derive(Debug)]
pub enum Error {
    /// The server refused the request: its status and its messages (the
    /// IONOS error body; empty when the answer had none, as `HEAD` answers).
    Api {
        /// The HTTP status, e.g. 404.
        status: u16,
        /// The error body's messages, each with its `errorCode`.
        messages: Vec<ErrorMessage>,
    },
    /// No answer in time.
    Timeout,
    /// The server could not be reached, or the connection broke.
    Transport(reqwest::Error),
    /// The answer was not the JSON the operation returns.
    Decode {
        /// The HTTP status of the answer.
        status: u16,
        /// What did not match.
        detail: String,
    },
    /// The call was not made: a setting or an argument is wrong.
    Usage(String),
}

impl Error {
    /// The HTTP status of a refused request.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// A refusal from `status` and the answer's body.
    pub(crate) fn refused(status: u16, body: &[u8]) -> Error {
        let messages = serde_json::from_slice::<ErrorBody>(body)
            .map(|body| body.messages)
            .unwrap_or_default();
        Error::Api { status, messages }
    }

    pub(crate) fn transport(error: reqwest::Error) -> Error {
        if error.is_timeout() {
            Error::Timeout
        } else {
            Error::Transport(error)
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api { status, messages } if messages.is_empty() => {
                write!(
                    f,
                    "the server refused the request ({status} {})",
                    reason(*status)
                )
            }
            Error::Api { status, messages } => {
                let said: Vec<&str> = messages.iter().map(|m| m.message.as_str()).collect();
                write!(f, "{} ({status} {})", said.join("; "), reason(*status))
            }
            Error::Timeout => f.write_str("the server did not answer in time"),
            Error::Transport(e) => {
                write!(f, "cannot reach the server: {e}")?;
                let mut source = std::error::Error::source(e);
                while let Some(cause) = source {
                    write!(f, ": {cause}")?;
                    source = cause.source();
                }
                Ok(())
            }
            Error::Decode { status, detail } => {
                write!(
                    f,
                    "the server's answer ({status}) was not understood: {detail}"
                )
            }
            Error::Usage(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

fn reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_reads_as_the_servers_sentence_and_status() {
        let body = br#"{"httpStatus": 404, "messages": [{"errorCode": "404", "message": "no token with this id"}]}"#;
        let error = Error::refused(404, body);
        assert_eq!(error.status(), Some(404));
        assert_eq!(error.to_string(), "no token with this id (404 Not Found)");
        assert_eq!(
            Error::refused(401, b"").to_string(),
            "the server refused the request (401 Unauthorized)"
        );
    }
}
