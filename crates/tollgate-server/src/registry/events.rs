//! What registries report of themselves: CNCF Distribution's event
//! notifications (`notifications.endpoints` in its configuration), taken
//! in as repositories, artifacts, tags, pull and push counts and blob
//! sizes.
//!
//! Each registry's notifications authenticate with a secret of their own
//! (made by `tollgate admin registry-connect`; only its digest is
//! stored), named by the registry they claim to come from, so one
//! registry cannot write another's data. Distribution delivers at least
//! once, so every event's id is kept and a repeated one is skipped. What
//! counts: a manifest pushed (by tag or digest), a manifest downloaded
//! with `GET` (a `HEAD`, which clients send to check a tag, is no pull),
//! a manifest or tag deleted, a blob stored or mounted (its size, for the
//! storage usage). Events this service cannot read are skipped, never
//! refused: Distribution retries a refused delivery for ever, holding up
//! every event after it.

use std::sync::Arc;

use serde::Deserialize;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tollgate_api::auth::ContractNumber;
use tollgate_api::registry_rules::{RegistryId, RegistryName};
use tollgate_api::repository::RepositoryName;

use super::jwt::SELF_SUBJECT;
use super::login::Denied;
use crate::audit::Event;
use crate::clock::Clock;
use crate::ops::metrics::EventOutcomes;
use crate::secrets::{digest, random_secret};
use crate::store::{RegistryChange, Store, StoreError};

/// The media types of manifests (artifacts); every other pushed or pulled
/// object is a blob.
const MANIFEST_TYPES: [&str; 5] = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
];

/// The digest compared when a registry is unknown or has no secret, so
/// every refusal costs the same.
const NO_SUCH_DIGEST: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A registry whose notifications authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notifier {
    pub contract: ContractNumber,
    pub registry: RegistryId,
}

/// A delivery: Distribution's envelope (`application/vnd.docker.distribution.events.v1+json`).
#[derive(Debug, Deserialize)]
pub struct Envelope {
    /// Each event is read on its own, so one this service cannot read is
    /// skipped rather than refusing (and so blocking) the whole delivery.
    #[serde(default)]
    events: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Notification {
    id: String,
    #[serde(default)]
    timestamp: Option<String>,
    action: String,
    #[serde(default)]
    target: Target,
    #[serde(default)]
    request: Request,
    #[serde(default)]
    actor: Actor,
}

#[derive(Debug, Default, Deserialize)]
struct Actor {
    #[serde(default)]
    name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Target {
    #[serde(default)]
    media_type: String,
    #[serde(default)]
    size: i64,
    #[serde(default)]
    digest: String,
    #[serde(default)]
    repository: String,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    url: String,
}

#[derive(Debug, Default, Deserialize)]
struct Request {
    #[serde(default)]
    method: String,
}

/// Takes in registries' notifications and makes their secrets.
pub struct RegistryEvents {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl RegistryEvents {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Takes in one delivery from `from`; answers what became of its events.
    pub async fn take_in(
        &self,
        from: &Notifier,
        envelope: Envelope,
    ) -> Result<EventOutcomes, StoreError> {
        let now = self.clock.now();
        let received = envelope.events.len() as u64;
        let changes: Vec<(String, RegistryChange)> = envelope
            .events
            .into_iter()
            .filter_map(|event| {
                let event: Notification = serde_json::from_value(event).ok()?;
                let change = change_of(&event, now)?;
                Some((event.id, change))
            })
            .collect();
        let kept = changes.len() as u64;
        let taken = if changes.is_empty() {
            0
        } else {
            self.store
                .take_in_registry_changes(from.contract, &from.registry, &changes, now)
                .await? as u64
        };
        Ok(EventOutcomes {
            taken,
            repeated: kept - taken,
            ignored: received - kept,
        })
    }

    /// Connects the registry named `name` (the operator's `tollgate admin
    /// registry-connect`): a new notifications secret, replacing any
    /// earlier one, and the address of its HTTP API. Answers the secret;
    /// `None` when there is no such registry.
    pub async fn connect(
        &self,
        name: &RegistryName,
        api_url: &str,
    ) -> Result<Option<String>, ConnectError> {
        let api_url = registry_api_url(api_url)?;
        let api_url = api_url.as_str();
        let secret = random_secret(32);
        let now = self.clock.now();
        let made = self
            .store
            .connect_registry(name.as_str(), &digest(&secret), api_url, |contract, id| {
                Event::by_operator(
                    Some(contract),
                    now,
                    "registry.connected",
                    ("registry", id.as_str()),
                    serde_json::json!({"apiUrl": api_url}),
                )
            })
            .await?;
        Ok(made.map(|_| secret))
    }
}

/// How long the ids of events taken in are kept: Distribution repeats a
/// delivery within minutes (its queue lives only as long as it runs).
const EVENT_IDS_KEPT_SECONDS: i64 = 7 * 86_400;

/// Forgets old event ids every hour, for ever (`serve` runs it).
pub async fn forget_old_event_ids(store: Store, clock: Arc<dyn Clock>) {
    let mut ticks = tokio::time::interval(std::time::Duration::from_secs(3600));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(e) = store
            .forget_registry_events(clock.now() - EVENT_IDS_KEPT_SECONDS)
            .await
        {
            tracing::warn!("cannot forget old registry event ids: {e}");
        }
    }
}

/// Why a registry was not connected.
#[derive(Debug)]
pub enum ConnectError {
    /// The registry API's address is not one Tollgate will call.
    BadUrl(String),
    Store(StoreError),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::BadUrl(why) => f.write_str(why),
            ConnectError::Store(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ConnectError {}

impl From<StoreError> for ConnectError {
    fn from(e: StoreError) -> Self {
        ConnectError::Store(e)
    }
}

/// A registry API's address as Tollgate keeps it: `http` or `https`, a
/// host, no credentials, query or fragment (it is shown in the audit
/// trail), no trailing slash.
fn registry_api_url(raw: &str) -> Result<String, ConnectError> {
    let bad = |why: &str| ConnectError::BadUrl(format!("the registry's API address {raw:?} {why}"));
    let url = reqwest::Url::parse(raw).map_err(|_| bad("is no URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(bad("must be an http:// or https:// address of a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials (Tollgate issues its own)"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not carry a query or a fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// The `Authorization` header value a registry's notifications carry:
/// Basic, with the registry's name and its notifications secret.
pub fn notifications_authorization(registry: &RegistryName, secret: &str) -> String {
    use base64::Engine;
    let pair = format!("{registry}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// Checks the notifications secret presented for the registry named
/// `registry`: the same answer, at the same cost, for an unknown registry,
/// one without a secret, and a wrong secret.
pub(crate) async fn authenticate_notifier(
    store: &Store,
    registry: &str,
    secret: &str,
) -> Result<Notifier, Denied> {
    let found = store
        .registry_notifier(registry)
        .await
        .map_err(Denied::Store)?;
    let stored = found
        .as_ref()
        .and_then(|f| f.secret_digest.as_deref())
        .unwrap_or(NO_SUCH_DIGEST);
    let matches: bool = digest(secret).as_bytes().ct_eq(stored.as_bytes()).into();
    match found {
        Some(found) if matches && found.secret_digest.is_some() => Ok(Notifier {
            contract: found.contract,
            registry: found.id,
        }),
        _ => Err(Denied::BadCredentials),
    }
}

/// What one notification changes, if anything this service keeps.
fn change_of(event: &Notification, now: i64) -> Option<RegistryChange> {
    if event.actor.name == SELF_SUBJECT {
        // Tollgate's own calls (deleting, resynchronising) are no one's use.
        return None;
    }
    let target = &event.target;
    let repository = RepositoryName::parse("repository", &target.repository)
        .ok()?
        .as_str()
        .to_owned();
    let digest = Some(target.digest.clone()).filter(|d| valid_digest(d));
    let manifest =
        MANIFEST_TYPES.contains(&target.media_type.as_str()) || names_a_manifest(&target.url);
    let at = event
        .timestamp
        .as_deref()
        .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
        .map_or(now, |t| t.unix_timestamp());
    match event.action.as_str() {
        "push" if manifest => Some(RegistryChange::ManifestPushed {
            repository,
            digest: digest?,
            media_type: target.media_type.clone(),
            size: target.size.max(0),
            tag: target.tag.clone().filter(|t| valid_tag(t)),
            at,
            by: pusher(&event.actor.name),
        }),
        "push" | "mount" => Some(RegistryChange::BlobStored {
            digest: digest?,
            size: target.size.max(0),
        }),
        "pull" if manifest && event.request.method.eq_ignore_ascii_case("GET") => {
            Some(RegistryChange::ManifestPulled {
                repository,
                digest: digest?,
                at,
            })
        }
        "delete" => match (digest, target.tag.clone().filter(|t| valid_tag(t))) {
            (Some(digest), _) => Some(RegistryChange::Deleted { repository, digest }),
            (None, Some(tag)) => Some(RegistryChange::Untagged { repository, tag }),
            (None, None) => None,
        },
        _ => None,
    }
}

/// Who pushed, as the registry names them (the registry token's name,
/// with Tollgate's token service): kept if it is a plausible name.
fn pusher(actor: &str) -> Option<String> {
    let plausible = (1..=MAX_PUSHER_CHARS).contains(&actor.chars().count())
        && !actor.chars().any(char::is_control);
    plausible.then(|| actor.to_owned())
}

/// The longest pusher's name kept.
const MAX_PUSHER_CHARS: usize = 255;

/// Whether a target's URL is a manifest's: `.../v2/<name>/manifests/<reference>`
/// (a repository may itself be named `.../manifests/...`).
fn names_a_manifest(url: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let mut segments = path.rsplit('/');
    let _reference = segments.next();
    segments.next() == Some("manifests")
}

/// `algorithm:hex`, as Distribution writes digests (at most 128 characters).
pub(crate) fn valid_digest(digest: &str) -> bool {
    digest.len() <= 128
        && digest.split_once(':').is_some_and(|(algorithm, hex)| {
            !algorithm.is_empty()
                && algorithm
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b))
                && hex.len() >= 32
                && hex.bytes().all(|b| b.is_ascii_hexdigit())
        })
}

/// Distribution's tag grammar: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub(crate) fn valid_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    (1..=128).contains(&bytes.len())
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(action: &str, method: &str, target: serde_json::Value) -> Notification {
        serde_json::from_value(serde_json::json!({
            "id": "e1",
            "timestamp": "2026-11-30T10:00:00.123456789+01:00",
            "action": action,
            "target": target,
            "request": {"method": method},
            "actor": {"name": "ci-pusher"}
        }))
        .unwrap()
    }

    const DIGEST: &str = "sha256:4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b";

    #[test]
    fn a_manifest_push_by_tag_is_an_artifact_and_its_tag() {
        let pushed = event(
            "push",
            "PUT",
            serde_json::json!({"mediaType": MANIFEST_TYPES[0], "size": 528, "digest": DIGEST,
                "repository": "team/app", "tag": "v1", "url": "http://r/v2/team/app/manifests/sha256:4a"}),
        );
        assert_eq!(
            change_of(&pushed, 0),
            Some(RegistryChange::ManifestPushed {
                repository: "team/app".into(),
                digest: DIGEST.into(),
                media_type: MANIFEST_TYPES[0].into(),
                size: 528,
                tag: Some("v1".into()),
                at: 1_796_029_200,
                by: Some("ci-pusher".into()),
            })
        );
    }

    #[test]
    fn only_a_plausible_pusher_is_kept() {
        assert_eq!(pusher("ci-pusher"), Some("ci-pusher".into()));
        assert_eq!(pusher(""), None);
        assert_eq!(pusher("a\nb"), None);
        assert_eq!(pusher(&"x".repeat(MAX_PUSHER_CHARS + 1)), None);
    }

    #[test]
    fn a_head_is_no_pull_and_a_blob_pull_is_nothing() {
        let manifest = serde_json::json!({"mediaType": MANIFEST_TYPES[2], "digest": DIGEST,
            "repository": "team/app", "url": "http://r/v2/team/app/manifests/x"});
        assert_eq!(change_of(&event("pull", "HEAD", manifest.clone()), 0), None);
        assert!(matches!(
            change_of(&event("pull", "GET", manifest), 0),
            Some(RegistryChange::ManifestPulled { .. })
        ));
        let blob = serde_json::json!({"mediaType": "application/octet-stream", "digest": DIGEST,
            "size": 10, "repository": "team/app", "url": "http://r/v2/team/app/blobs/x"});
        assert_eq!(change_of(&event("pull", "GET", blob.clone()), 0), None);
        assert_eq!(
            change_of(&event("push", "PUT", blob), 0),
            Some(RegistryChange::BlobStored {
                digest: DIGEST.into(),
                size: 10
            })
        );
    }

    #[test]
    fn a_blob_of_a_repository_named_manifests_is_no_manifest() {
        let blob = serde_json::json!({"mediaType": "application/octet-stream", "digest": DIGEST,
            "size": 10, "repository": "team/manifests/app",
            "url": "http://r/v2/team/manifests/app/blobs/sha256:4a"});
        assert!(matches!(
            change_of(&event("push", "PUT", blob), 0),
            Some(RegistryChange::BlobStored { .. })
        ));
        assert!(names_a_manifest("http://r/v2/team/app/manifests/v1"));
        assert!(!names_a_manifest(
            "http://r/v2/team/manifests/app/blobs/sha256:4a"
        ));
    }

    #[test]
    fn deletes_name_a_digest_or_a_tag() {
        let by_digest = serde_json::json!({"digest": DIGEST, "repository": "team/app"});
        assert!(matches!(
            change_of(&event("delete", "DELETE", by_digest), 0),
            Some(RegistryChange::Deleted { .. })
        ));
        let by_tag = serde_json::json!({"tag": "v1", "repository": "team/app"});
        assert!(matches!(
            change_of(&event("delete", "DELETE", by_tag), 0),
            Some(RegistryChange::Untagged { .. })
        ));
    }

    #[test]
    fn what_cannot_be_read_is_skipped() {
        for target in [
            serde_json::json!({"mediaType": MANIFEST_TYPES[0], "digest": DIGEST, "repository": "Team/App"}),
            serde_json::json!({"mediaType": MANIFEST_TYPES[0], "digest": "sha256:xyz", "repository": "team/app"}),
            serde_json::json!({"mediaType": MANIFEST_TYPES[0], "repository": "team/app"}),
        ] {
            assert_eq!(change_of(&event("push", "PUT", target), 0), None);
        }
        assert_eq!(
            change_of(&event("mystery", "GET", serde_json::json!({})), 0),
            None
        );
    }
}
