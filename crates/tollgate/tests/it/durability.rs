//! What was acknowledged survives `kill -9`: the real binary, killed and restarted.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::process::Served;
use crate::support::{AnswerJson, OWNER_EMAIL, OWNER_PASSWORD, token_id};

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_generation_and_deletion_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("tollgate.db").display());
    let client = reqwest::Client::new();

    let first = Served::start(&database_url).await;
    let generate = |base: String| {
        let client = client.clone();
        async move {
            let body: Value = client
                .get(format!("{base}/auth/v1/tokens/generate"))
                .basic_auth(OWNER_EMAIL, Some(OWNER_PASSWORD))
                .answer_json()
                .await;
            body["token"].as_str().unwrap().to_owned()
        }
    };
    let kept = generate(first.base.clone()).await;
    let deleted = generate(first.base.clone()).await;
    let response = client
        .delete(format!(
            "{}/auth/v1/tokens/{}",
            first.base,
            token_id(&deleted)
        ))
        .bearer_auth(&kept)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    first.kill_hard();

    let second = Served::start(&database_url).await;
    let response = client
        .get(format!("{}/auth/v1/tokens", second.base))
        .bearer_auth(&kept)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the kept token still works after restart"
    );
    let body: Value = response.json().await.unwrap();
    let ids: Vec<&str> = body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [token_id(&kept)]);
    let response = client
        .get(format!("{}/auth/v1/tokens", second.base))
        .bearer_auth(&deleted)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "the deleted token stays deleted"
    );
}
