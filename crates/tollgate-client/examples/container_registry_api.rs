//! The Container Registry API with the SDK: create a registry and a pull
//! token, list every token (all pages), disable the token, delete both.
//!
//! ```sh
//! IONOS_API_URL=http://127.0.0.1:8080 IONOS_USERNAME=owner@example.com \
//! IONOS_PASSWORD=... cargo run -p tollgate-client --example container_registry_api
//! ```

use futures_util::TryStreamExt;
use tollgate_client::api::registry::{
    PatchTokenInput, PostRegistryInput, PostRegistryProperties, PostTokenInput,
    PostTokenProperties, Scope,
};
use tollgate_client::{Client, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let client = Client::from_env()?;
    let location = client.locations_get().await?.items.remove(0).id;
    let name = format!("sdk-example-{}", std::process::id());
    if client.names_check_usage(&name).await? {
        return Err(Error::Usage(format!("the name {name} is taken")));
    }
    let registry = client
        .registries_post(&PostRegistryInput {
            properties: PostRegistryProperties {
                name: name.clone(),
                location,
                garbage_collection_schedule: None,
                features: None,
                api_subnet_allow_list: None,
            },
        })
        .await?;
    println!(
        "registry {} at {}",
        registry.id, registry.properties.hostname
    );

    let token = client
        .registries_tokens_post(
            &registry.id,
            &PostTokenInput {
                properties: PostTokenProperties {
                    name: "ci-pull".into(),
                    expiry_date: None,
                    scopes: Some(vec![Scope {
                        type_: "repository".into(),
                        name: "app/*".into(),
                        actions: vec!["pull".into()],
                    }]),
                    status: None,
                },
            },
        )
        .await?;
    println!(
        "token {}: docker login {} -u {} --password-stdin (password shown once)",
        token.id, registry.properties.hostname, token.properties.credentials.username
    );

    let all: Vec<_> = client
        .registries_tokens_get_all(&registry.id)
        .try_collect()
        .await?;
    println!("{} token(s) in the registry", all.len());
    let disabled = client
        .registries_tokens_patch(
            &registry.id,
            &token.id,
            &PatchTokenInput {
                status: Some("disabled".into()),
                ..Default::default()
            },
        )
        .await?;
    println!("token is now {}", disabled.properties.status);

    client
        .registries_tokens_delete(&registry.id, &token.id)
        .await?;
    client.registries_delete(&registry.id).await?;
    println!("deleted the token and the registry");
    Ok(())
}
