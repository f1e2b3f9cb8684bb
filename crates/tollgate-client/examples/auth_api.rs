//! The Auth API with the SDK: generate an access token, list, look it up,
//! revoke it. Configured from the environment like the official SDKs:
//!
//! ```sh
//! IONOS_API_URL=http://127.0.0.1:8080 IONOS_USERNAME=owner@example.com \
//! IONOS_PASSWORD=... cargo run -p tollgate-client --example auth_api
//! ```

use tollgate_client::{Client, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let client = Client::from_env()?;
    let jwt = client.tokens_generate().ttl(600).send().await?;
    let with_token = client.with_token(&jwt.token);

    let tokens = with_token.tokens_get().await?.tokens;
    println!("{} access tokens in this contract:", tokens.len());
    for token in &tokens {
        println!(
            "  {}  created {}  expires {}",
            token.id, token.created_date, token.expiration_date
        );
    }
    let newest = tokens
        .iter()
        .max_by(|a, b| a.created_date.cmp(&b.created_date))
        .ok_or_else(|| Error::Usage("the new token is not listed".into()))?;
    let found = with_token.tokens_find_by_id(&newest.id).await?;
    println!("looked up {}", found.href);
    let deleted = client.tokens_delete_by_id(&found.id).await?;
    println!("revoked it: {}", deleted.success);
    Ok(())
}
