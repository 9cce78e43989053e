//! Inbound groups and their numbers (the Inbound page, `/api/v1/inbound-groups` and `/api/v1/dids`).

use dialtone_core::records::Table;
use std::collections::HashMap;

use serde_json::Value;
use sqlx::PgPool;

use dialtone_core::asterisk_values::Kind as Asterisk;

use crate::model::{DidRow, InboundRow, Saved};
use crate::schema::SettingsForm;

use super::actor::{Actor, OpError};
use super::settings::{self, check_name, refusal};

pub async fn inbound_groups(pool: &PgPool, actor: &Actor<'_>) -> Result<Vec<InboundRow>, OpError> {
    actor.admin()?;
    Ok(sqlx::query_as(
        "SELECT g.id, g.name, g.active, c.name AS campaign, g.max_wait_secs, g.service_level_secs,
                COALESCE(ARRAY(SELECT d.number FROM dids d WHERE d.group_id = g.id ORDER BY d.number), '{}') AS dids,
                (SELECT count(*) FROM user_inbound_groups u WHERE u.group_id = g.id) AS agents
         FROM inbound_groups g LEFT JOIN campaigns c ON c.id = g.campaign_id ORDER BY g.name",
    )
    .fetch_all(pool)
    .await?)
}

pub async fn create_inbound_group(
    pool: &PgPool,
    actor: &Actor<'_>,
    name: &str,
) -> Result<Saved, OpError> {
    actor.admin()?;
    if let Some(field) = check_name(name) {
        return Ok(Saved::Invalid {
            fields: vec![field],
            form: None,
        });
    }
    let mut tx = pool.begin().await?;
    let after = match dialtone_core::inbound::create_group_in(&mut tx, name.trim()).await {
        Ok(after) => after,
        Err(e) => return refusal(e, "name"),
    };
    let id = after.get("id").and_then(Value::as_i64).unwrap_or(0);
    actor
        .audit(
            &mut *tx,
            "create",
            "inbound_group",
            Some(id.to_string()),
            None,
            Some(after),
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id,
        message: "Group created: set its routes and hours, then give it a number.".into(),
    })
}

pub async fn inbound_group(
    pool: &PgPool,
    actor: &Actor<'_>,
    id: i64,
) -> Result<SettingsForm, OpError> {
    actor.admin()?;
    settings::form(pool, &settings::INBOUND_GROUP, id).await
}

pub async fn save_inbound_group(
    pool: &PgPool,
    actor: &Actor<'_>,
    id: i64,
    version: &str,
    input: &HashMap<String, String>,
) -> Result<Saved, OpError> {
    actor.admin()?;
    settings::save(pool, actor, &settings::INBOUND_GROUP, id, version, input).await
}

pub async fn set_inbound_active(
    pool: &PgPool,
    actor: &Actor<'_>,
    id: i64,
    active: bool,
) -> Result<Saved, OpError> {
    actor.admin()?;
    settings::set_active(pool, actor, &settings::INBOUND_GROUP, id, active).await?;
    let message = if active {
        "Open: calls to its numbers are queued."
    } else {
        "Closed: its numbers get the closed route."
    };
    Ok(Saved::Ok {
        id,
        message: message.into(),
    })
}

pub async fn dids(pool: &PgPool, actor: &Actor<'_>) -> Result<Vec<DidRow>, OpError> {
    actor.admin()?;
    Ok(sqlx::query_as(
        "SELECT d.id, d.number, d.description, g.name AS group_name, d.active FROM dids d JOIN inbound_groups g ON g.id = d.group_id ORDER BY d.number",
    )
    .fetch_all(pool)
    .await?)
}

/// A number callers dial, routed to a group. Digits as the carrier presents them (with an
/// optional +), or a dialplan pattern's * and #.
pub async fn add_did(
    pool: &PgPool,
    actor: &Actor<'_>,
    number: &str,
    description: &str,
    group_id: Option<i64>,
) -> Result<Saved, OpError> {
    actor.admin()?;
    let number = number.trim().replace([' ', '-', '(', ')', '.'], "");
    let mut fields = Vec::new();
    if !Asterisk::Did.accepts(&number) {
        fields.push((
            "number".to_string(),
            "digits as the carrier sends them, optional +".to_string(),
        ));
    }
    if description.chars().count() > 200 {
        fields.push(("description".into(), "at most 200 characters".into()));
    }
    let Some(group_id) = group_id else {
        fields.push(("group_id".into(), "choose the group it rings".into()));
        return Ok(Saved::Invalid { fields, form: None });
    };
    if !fields.is_empty() {
        return Ok(Saved::Invalid { fields, form: None });
    }
    let mut tx = pool.begin().await?;
    let id =
        match dialtone_core::inbound::add_did_in(&mut tx, &number, description.trim(), group_id)
            .await
        {
            Ok(id) => id,
            Err(e) => return refusal(e, "number"),
        };
    let after = serde_json::json!({"number": number, "group_id": group_id, "description": description.trim()});
    actor
        .audit(
            &mut *tx,
            "create",
            "did",
            Some(id.to_string()),
            None,
            Some(after),
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id,
        message: format!("{number} now rings the group."),
    })
}

pub async fn remove_did(pool: &PgPool, actor: &Actor<'_>, id: i64) -> Result<Saved, OpError> {
    actor.admin()?;
    actor
        .delete_audited(pool, Table::Dids, "did", id, |_| id.to_string())
        .await?;
    Ok(Saved::Ok {
        id,
        message: "Number removed.".into(),
    })
}

/// Inbound groups to choose from in forms: (id, name).
pub async fn group_choices(
    pool: &PgPool,
    actor: &Actor<'_>,
) -> Result<Vec<(i64, String)>, OpError> {
    actor.admin()?;
    Ok(
        sqlx::query_as("SELECT id, name FROM inbound_groups ORDER BY name")
            .fetch_all(pool)
            .await?,
    )
}
