//! Tollgate's audit API, `GET /audit/v1/events`: the events of the
//! caller's contract, newest first, for its owners and admins; filtered by
//! time (`from`, `to`: RFC 3339), `action`, `resourceType` and
//! `resourceId`, paged with `offset` and `limit`.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use tollgate_api::audit::{AuditEvent, AuditEvents, EventActor, EventResource};
use tollgate_api::registry_rules::{self as rules};

use super::caller::Caller;
use super::error::ApiError;
use super::links::{offset_page_links, with_query};
use crate::clock::rfc3339;
use crate::http::AppState;
use crate::http::query::QueryParams;
use crate::store::{self, AuditQuery};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/audit/v1/events", get(events))
}

/// The filters a page is asked with, echoed into its links.
const FILTERS: [&str; 5] = ["from", "to", "action", "resourceType", "resourceId"];

/// `GET /audit/v1/events`
async fn events(
    State(state): State<Arc<AppState>>,
    Caller(caller): Caller,
    params: QueryParams,
) -> Result<Json<AuditEvents>, ApiError> {
    let text = |name: &str| params.get(name).filter(|v| !v.is_empty());
    let date = |name: &str| {
        text(name)
            .map(|raw| rules::parse_date_time(name, raw))
            .transpose()
    };
    let query = AuditQuery {
        contract: None,
        from: date("from")?,
        to: date("to")?,
        action: text("action").map(str::to_owned),
        resource_type: text("resourceType").map(str::to_owned),
        resource_id: text("resourceId").map(str::to_owned),
        offset: text("offset")
            .map(rules::parse_offset)
            .transpose()?
            .unwrap_or(0),
        limit: text("limit")
            .map(rules::parse_limit)
            .transpose()?
            .unwrap_or(100),
    };
    let (offset, limit) = (query.offset, query.limit);
    let (events, total) = state.audit.events(&caller, query).await?;
    let base = format!("{}/audit/v1/events", state.public_url);
    let page = |offset: u64| {
        let mut link = vec![("offset", offset.to_string()), ("limit", limit.to_string())];
        for name in FILTERS {
            if let Some(value) = text(name) {
                link.push((name, value.to_owned()));
            }
        }
        with_query(&base, &link)
    };
    let count = events.len() as u64;
    Ok(Json(AuditEvents {
        id: "events".into(),
        type_: "collection".into(),
        href: base.clone(),
        items: events.into_iter().map(to_wire).collect(),
        offset: offset as i64,
        limit: limit as i64,
        count: count as i64,
        total: total as i64,
        links: offset_page_links(offset, limit, count, total, page),
    }))
}

fn to_wire(event: store::AuditEvent) -> AuditEvent {
    AuditEvent {
        id: event.id,
        time: rfc3339(event.at),
        action: event.action,
        outcome: event.outcome.as_str().to_owned(),
        actor: EventActor {
            type_: event.actor_kind.as_str().to_owned(),
            name: event.actor,
            id: event.actor_id,
        },
        address: event.address,
        resource: EventResource {
            type_: event.resource_type,
            id: event.resource_id,
        },
        detail: event.detail,
    }
}
