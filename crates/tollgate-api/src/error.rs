//! The IONOS error body that every 4xx and 5xx answer carries.

use serde::{Deserialize, Serialize};

/// `{"httpStatus": N, "messages": [{"errorCode": "...", "message": "..."}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub http_status: u16,
    pub messages: Vec<ErrorMessage>,
}

/// One entry of [`ErrorBody::messages`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorMessage {
    pub error_code: String,
    pub message: String,
}

impl ErrorBody {
    /// A body with a single message.
    pub fn new(
        http_status: u16,
        error_code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            http_status,
            messages: vec![ErrorMessage {
                error_code: error_code.into(),
                message: message.into(),
            }],
        }
    }
}
