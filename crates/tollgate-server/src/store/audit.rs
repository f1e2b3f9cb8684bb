//! The audit trail as stored: one row per credential lifecycle change (written
//! in the transaction of the change itself) and per refused login (written
//! in batches), read per contract, and removed after the retention period.

use std::fmt;
use std::str::FromStr;

use tollgate_api::auth::ContractNumber;

use super::columns::{Columns, contract_number, parsed};
use super::query::{Count, FromRow, Param, bind};
use super::{Store, StoreResult};

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// An account, by its e-mail.
    Account,
    /// A registry token, by its name.
    RegistryToken,
    /// The operator, through `tollgate admin`.
    Operator,
    /// Someone whose credential was not recognised.
    Anonymous,
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Refused,
}

macro_rules! text_enum {
    ($type:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $type {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($type::$variant => $text),*
                }
            }
        }

        impl FromStr for $type {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($type::$variant),)*
                    other => Err(format!("unknown {} {other:?}", stringify!($type))),
                }
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(ActorKind {
    Account => "account",
    RegistryToken => "registry_token",
    Operator => "operator",
    Anonymous => "anonymous",
});

text_enum!(Outcome {
    Success => "success",
    Refused => "refused",
});

/// One event of the audit trail. Never holds a secret.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// A UUIDv7: events sort by it in time order.
    pub id: String,
    pub at: i64,
    /// The contract whose trail shows it; `None`: only the operator's.
    pub contract: Option<ContractNumber>,
    /// What happened, e.g. `registry.created`, `login.refused`.
    pub action: String,
    pub outcome: Outcome,
    pub actor_kind: ActorKind,
    /// An e-mail, a registry token's name, `operator`, or the name presented.
    pub actor: String,
    pub actor_id: Option<String>,
    pub address: Option<String>,
    pub resource_type: String,
    pub resource_id: Option<String>,
    /// What changed, or why a login was refused: a JSON object.
    pub detail: serde_json::Value,
}

/// Which events to read, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// One contract's trail; `None`: every event (the operator's view).
    pub contract: Option<ContractNumber>,
    /// Unix seconds, inclusive.
    pub from: Option<i64>,
    /// Unix seconds, exclusive.
    pub to: Option<i64>,
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub offset: u64,
    pub limit: u64,
}

macro_rules! event_columns {
    () => {
        "id, at, contract_number, action, outcome, actor_kind, actor, actor_id, address, \
         resource_type, resource_id, detail"
    };
}

const INSERT: &str = concat!(
    "INSERT INTO audit_events (",
    event_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
);

impl AuditEvent {
    fn params(&self) -> Vec<Param<'_>> {
        vec![
            Param::str(&self.id),
            Param::int(self.at),
            Param::opt_int(self.contract.map(|c| i64::from(c.get()))),
            Param::str(&self.action),
            Param::str(self.outcome.as_str()),
            Param::str(self.actor_kind.as_str()),
            Param::str(&self.actor),
            Param::opt_str(self.actor_id.as_deref()),
            Param::opt_str(self.address.as_deref()),
            Param::str(&self.resource_type),
            Param::opt_str(self.resource_id.as_deref()),
            Param::string(self.detail.to_string()),
        ]
    }
}

/// Writes `events` inside the transaction of the change they record.
pub(super) async fn insert_events(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    events: &[AuditEvent],
) -> StoreResult<()> {
    for event in events {
        let params = event.params();
        bind(sqlx::query(INSERT), &params)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

impl Store {
    /// Writes events that record no change of the store (refused logins),
    /// in one transaction.
    pub async fn insert_audit_events(&self, events: &[AuditEvent]) -> StoreResult<()> {
        let mut tx = self.pool().begin().await?;
        insert_events(&mut tx, events).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A page of the events `query` selects, newest first, and how many it selects.
    pub async fn audit_events(&self, query: &AuditQuery) -> StoreResult<(Vec<AuditEvent>, u64)> {
        let mut conditions: Vec<String> = Vec::new();
        let mut params: Vec<Param<'_>> = Vec::new();
        let mut condition = |sql: &str, param: Param<'static>| {
            params.push(param);
            conditions.push(sql.replace('?', &format!("${}", params.len())));
        };
        if let Some(contract) = query.contract {
            condition("contract_number = ?", Param::contract(contract));
        }
        if let Some(from) = query.from {
            condition("at >= ?", Param::int(from));
        }
        if let Some(to) = query.to {
            condition("at < ?", Param::int(to));
        }
        if let Some(action) = &query.action {
            condition("action = ?", Param::string(action.clone()));
        }
        if let Some(resource_type) = &query.resource_type {
            condition("resource_type = ?", Param::string(resource_type.clone()));
        }
        if let Some(resource_id) = &query.resource_id {
            condition("resource_id = ?", Param::string(resource_id.clone()));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let count: Option<Count> = self
            .read_optional(
                &format!("SELECT COUNT(*) AS n FROM audit_events{filter}"),
                &params,
            )
            .await?;
        let n = params.len();
        let page = format!(
            "SELECT {} FROM audit_events{filter} ORDER BY at DESC, id DESC LIMIT ${} OFFSET ${}",
            event_columns!(),
            n + 1,
            n + 2
        );
        params.push(Param::int(query.limit as i64));
        params.push(Param::int(query.offset.min(i64::MAX as u64) as i64));
        let events = self.read_all(&page, &params).await?;
        Ok((events, count.map_or(0, |c| c.0.max(0) as u64)))
    }

    /// Deletes up to `batch` events older than `before`; answers how many.
    pub async fn delete_audit_events_before(&self, before: i64, batch: u64) -> StoreResult<u64> {
        self.execute(
            "DELETE FROM audit_events WHERE id IN \
             (SELECT id FROM audit_events WHERE at < $1 ORDER BY at LIMIT $2)",
            &[Param::int(before), Param::int(batch as i64)],
        )
        .await
    }
}

impl FromRow for AuditEvent {
    fn from_row(row: &impl Columns) -> StoreResult<Self> {
        let id = row.get("id")?;
        let at = row.get("at")?;
        let contract: Option<i64> = row.get("contract_number")?;
        let action = row.get("action")?;
        let outcome: String = row.get("outcome")?;
        let actor_kind: String = row.get("actor_kind")?;
        let actor = row.get("actor")?;
        let actor_id = row.get("actor_id")?;
        let address = row.get("address")?;
        let resource_type = row.get("resource_type")?;
        let resource_id = row.get("resource_id")?;
        let detail: String = row.get("detail")?;
        Ok(AuditEvent {
            id,
            at,
            contract: contract
                .map(|c| contract_number("contract_number", c))
                .transpose()?,
            action,
            outcome: parsed("outcome", outcome.parse())?,
            actor_kind: parsed("actor_kind", actor_kind.parse())?,
            actor,
            actor_id,
            address,
            resource_type,
            resource_id,
            detail: parsed("detail", serde_json::from_str(&detail))?,
        })
    }
}
