//! When tokens were last used, written in batches (see `auth::last_use`).

use tollgate_api::account::AuthTokenId;
use tollgate_api::auth::ContractNumber;
use tollgate_api::registry_rules::{RegistryId, TokenId};

use super::query::{Param, bind};
use super::{Store, StoreResult};

/// A token whose use is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsedToken {
    Auth(AuthTokenId),
    Registry {
        contract: ContractNumber,
        registry: RegistryId,
        id: TokenId,
    },
}

/// One token's latest use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUse {
    pub token: UsedToken,
    pub at: i64,
    pub address: String,
}

/// When a token was last used, and from where, as answers show it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastUse {
    pub at: Option<i64>,
    pub from: Option<String>,
}

impl Store {
    /// Records the latest uses of tokens, in one transaction; a token
    /// deleted meanwhile is skipped, and an older use never overwrites a newer.
    pub async fn record_token_uses(&self, uses: &[TokenUse]) -> StoreResult<()> {
        let mut tx = self.pool().begin().await?;
        for used in uses {
            match &used.token {
                UsedToken::Auth(id) => {
                    let params = [
                        Param::int(used.at),
                        Param::str(&used.address),
                        Param::str(id.as_str()),
                    ];
                    bind(
                        sqlx::query(
                            "UPDATE auth_tokens SET last_used_at = $1, last_used_from = $2 \
                             WHERE id = $3 AND (last_used_at IS NULL OR last_used_at < $1)",
                        ),
                        &params,
                    )
                    .execute(&mut *tx)
                    .await?;
                }
                UsedToken::Registry {
                    contract,
                    registry,
                    id,
                } => {
                    let params = [
                        Param::int(used.at),
                        Param::str(&used.address),
                        Param::contract(*contract),
                        Param::str(registry.as_str()),
                        Param::str(id.as_str()),
                    ];
                    bind(
                        sqlx::query(
                            "UPDATE registry_tokens SET last_used_at = $1, last_used_from = $2 \
                             WHERE contract_number = $3 AND registry_id = $4 AND id = $5 \
                             AND (last_used_at IS NULL OR last_used_at < $1)",
                        ),
                        &params,
                    )
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
