//! Assertions and decoders every test shares.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::Value;

/// Sends a request and reads its answer as JSON, whatever the status.
pub trait AnswerJson {
    fn answer_json(self) -> impl std::future::Future<Output = Value>;
}

impl AnswerJson for RequestBuilder {
    async fn answer_json(self) -> Value {
        self.send()
            .await
            .expect("the request is sent")
            .json()
            .await
            .expect("the answer is JSON")
    }
}

/// Asserts the status and the IONOS error body; answers the message.
pub async fn expect_error(response: Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status, "unexpected status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "error content type {content_type}"
    );
    let body: Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["httpStatus"], status.as_u16(), "httpStatus in {body}");
    let messages = body["messages"].as_array().expect("messages array");
    assert_eq!(messages.len(), 1, "one message in {body}");
    assert!(
        messages[0]["errorCode"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
    );
    let message = messages[0]["message"].as_str().expect("message").to_owned();
    assert!(!message.is_empty());
    message
}

/// Asserts a Docker-format error; answers its code.
pub async fn expect_token_error(response: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    let errors = body["errors"].as_array().expect("errors array");
    assert_eq!(errors.len(), 1, "{body}");
    assert!(
        errors[0]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(body.get("token").is_none());
    errors[0]["code"].as_str().unwrap().to_owned()
}

/// The decoded header and claims of a JWT, without verification.
pub fn jwt_parts(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let header = URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
    let claims = URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
    (
        serde_json::from_slice(&header).unwrap(),
        serde_json::from_slice(&claims).unwrap(),
    )
}

/// The token id (the JWT header's `kid`).
pub fn token_id(token: &str) -> String {
    jwt_parts(token).0["kid"].as_str().unwrap().to_owned()
}
