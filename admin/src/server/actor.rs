//! Who acts in the admin, and what they may touch: the role checks, campaign visibility and
//! management, and the audit entry every change writes. Every record module asks here.

use dialtone_core::records::{self, Table};
use std::net::IpAddr;

use serde_json::Value;
use sqlx::PgPool;

use super::audit;
use crate::model::Viewer;

#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("your role may not do this")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// Who is acting, for the checks and the audit log.
pub struct Actor<'a> {
    pub viewer: &'a Viewer,
    pub ip: Option<IpAddr>,
}

impl Actor<'_> {
    /// Writes the audit entry of this actor's change, inside `db`'s transaction when it is one.
    pub async fn audit<'e>(
        &self,
        db: impl sqlx::PgExecutor<'e>,
        action: &str,
        entity: &str,
        entity_id: Option<String>,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Result<(), sqlx::Error> {
        audit::write(
            db,
            Some(self.viewer.user_id),
            self.ip,
            action,
            entity,
            entity_id,
            before,
            after,
        )
        .await
    }

    /// Deletes row `id` of `table` and writes its audit entry as `entity`, named by `name_of`
    /// the row as it was, in one transaction. Returns that row; `NotFound` when there is none.
    pub(crate) async fn delete_audited(
        &self,
        pool: &PgPool,
        table: Table,
        entity: &str,
        id: i64,
        name_of: impl FnOnce(&Value) -> String,
    ) -> Result<Value, OpError> {
        let mut tx = pool.begin().await?;
        let before = records::delete(&mut tx, table, id)
            .await?
            .ok_or(OpError::NotFound)?;
        let name = name_of(&before);
        self.audit(
            &mut *tx,
            "delete",
            entity,
            Some(name),
            Some(before.clone()),
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(before)
    }

    pub(crate) fn admin(&self) -> Result<(), OpError> {
        if self.viewer.is_admin() {
            Ok(())
        } else {
            Err(OpError::Forbidden)
        }
    }

    pub(crate) fn staff(&self) -> Result<(), OpError> {
        if self.viewer.role.is_staff() {
            Ok(())
        } else {
            Err(OpError::Forbidden)
        }
    }
}

pub(crate) async fn visible_campaign(
    pool: &PgPool,
    actor: &Actor<'_>,
    id: i64,
) -> Result<(), OpError> {
    actor.staff()?;
    if dialtone_core::visibility::sees_campaign(pool, actor.viewer.user_id, id).await? {
        Ok(())
    } else {
        Err(OpError::NotFound)
    }
}

/// Admins change any campaign; supervisors those granted to them (settings, on/off, what it
/// offers agents); anyone else none. Creating, copying and everything system-wide stay admins'.
pub async fn manage_campaign(pool: &PgPool, actor: &Actor<'_>, id: i64) -> Result<(), OpError> {
    actor.staff()?;
    if dialtone_core::visibility::sees_campaign(pool, actor.viewer.user_id, id).await? {
        Ok(())
    } else {
        Err(OpError::Forbidden)
    }
}

pub async fn list_visible(pool: &PgPool, actor: &Actor<'_>, id: i64) -> Result<(), OpError> {
    actor.staff()?;
    let campaign: Option<Option<i64>> =
        sqlx::query_scalar("SELECT campaign_id FROM lists WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    let campaign = campaign.ok_or(OpError::NotFound)?;
    match campaign {
        _ if actor.viewer.is_admin() => Ok(()),
        Some(c)
            if dialtone_core::visibility::sees_campaign(pool, actor.viewer.user_id, c).await? =>
        {
            Ok(())
        }
        _ => Err(OpError::NotFound),
    }
}
