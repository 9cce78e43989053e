//! Campaigns (the Campaigns page and `/api/v1/campaigns`): list, read, create, copy, save and
//! switch on or off. Each call checks the actor's role and campaign access, and each change
//! writes the audit log in its transaction.

use std::collections::HashMap;

use serde_json::Value;
use sqlx::PgPool;

use crate::model::{CampaignRow, Page, Saved, SettingsForm, PER_PAGE};

use super::actor::{manage_campaign, visible_campaign, Actor, OpError};
use super::search::{like_escape, offset, order_by};
use super::settings::{self, check_name, refusal};

const CAMPAIGN_SORTS: &[(&str, &str)] = &[
    ("name", "c.name"),
    ("method", "c.dial_method"),
    ("active", "c.active"),
    ("updated", "c.updated_at"),
    ("id", "c.id"),
];

pub async fn campaigns(
    pool: &PgPool,
    actor: &Actor<'_>,
    filter: &str,
    sort: &str,
    page: u32,
) -> Result<Page<CampaignRow>, OpError> {
    actor.staff()?;
    let pattern = format!("%{}%", like_escape(filter.trim()));
    let visible = "($1 OR c.id IN (SELECT campaign_id FROM user_campaigns WHERE user_id = $2)) AND c.name ILIKE $3";
    let total: i64 =
        sqlx::query_scalar(&format!("SELECT count(*) FROM campaigns c WHERE {visible}"))
            .bind(actor.viewer.is_admin())
            .bind(actor.viewer.user_id)
            .bind(&pattern)
            .fetch_one(pool)
            .await?;
    let rows: Vec<(i64, String, bool, String, i64, i64, String)> = sqlx::query_as(&format!(
        "SELECT c.id, c.name, c.active, c.dial_method,
                (SELECT count(*) FROM lists l WHERE l.campaign_id = c.id),
                (SELECT count(*) FROM agent_sessions s WHERE s.campaign_id = c.id AND s.logged_out_at IS NULL),
                to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')
         FROM campaigns c WHERE {visible} ORDER BY {} LIMIT $4 OFFSET $5",
        order_by(sort, CAMPAIGN_SORTS, "c.name")
    ))
    .bind(actor.viewer.is_admin())
    .bind(actor.viewer.user_id)
    .bind(&pattern)
    .bind(i64::from(PER_PAGE))
    .bind(offset(page))
    .fetch_all(pool)
    .await?;
    let rows = rows
        .into_iter()
        .map(
            |(id, name, active, dial_method, lists, agents_logged_in, updated_at)| CampaignRow {
                id,
                name,
                active,
                dial_method,
                lists,
                agents_logged_in,
                updated_at,
            },
        )
        .collect();
    Ok(Page {
        rows,
        total,
        page: page.max(1),
        per_page: PER_PAGE,
    })
}

pub async fn campaign(pool: &PgPool, actor: &Actor<'_>, id: i64) -> Result<SettingsForm, OpError> {
    visible_campaign(pool, actor, id).await?;
    settings::form(pool, &settings::CAMPAIGN, id).await
}

pub async fn save_campaign(
    pool: &PgPool,
    actor: &Actor<'_>,
    id: i64,
    version: &str,
    input: &HashMap<String, String>,
) -> Result<Saved, OpError> {
    manage_campaign(pool, actor, id).await?;
    settings::save(pool, actor, &settings::CAMPAIGN, id, version, input).await
}

/// The call time a new campaign starts with (shipped in the seed migration).
const DEFAULT_CALL_TIME: &str = "9am-9pm";

pub async fn create_campaign(
    pool: &PgPool,
    actor: &Actor<'_>,
    name: &str,
    dial_method: &str,
) -> Result<Saved, OpError> {
    actor.admin()?;
    let mut fields: Vec<(String, String)> = check_name(name).into_iter().collect();
    let method = match dial_method {
        "manual" => Some(dialtone_core::campaigns::DialMethod::Manual),
        "preview" => Some(dialtone_core::campaigns::DialMethod::Preview),
        "progressive" => Some(dialtone_core::campaigns::DialMethod::Progressive),
        "ratio" => Some(dialtone_core::campaigns::DialMethod::Ratio),
        "predictive" => Some(dialtone_core::campaigns::DialMethod::Predictive),
        _ => None,
    };
    if method.is_none() {
        fields.push(("dial_method".into(), "choose a dial method".into()));
    }
    let Some(method) = method.filter(|_| fields.is_empty()) else {
        return Ok(Saved::Invalid { fields, form: None });
    };
    let mut tx = pool.begin().await?;
    let id =
        match dialtone_core::campaigns::create_in(&mut tx, name.trim(), method, DEFAULT_CALL_TIME)
            .await
        {
            Ok(id) => id,
            Err(e) => return refusal(e, "name"),
        };
    let after: Option<Value> =
        sqlx::query_scalar("SELECT to_jsonb(c) FROM campaigns c WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    actor
        .audit(
            &mut *tx,
            "create",
            "campaign",
            Some(id.to_string()),
            None,
            after,
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id,
        message: "Campaign created: it is inactive until you activate it.".into(),
    })
}

/// A new inactive campaign with every setting, disposition and pause code of `id`.
pub async fn clone_campaign(
    pool: &PgPool,
    actor: &Actor<'_>,
    id: i64,
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
    let row: Option<Value> = sqlx::query_scalar(
        "SELECT to_jsonb(c) - 'id' - 'created_at' - 'updated_at' FROM campaigns c WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(mut copy) = row else {
        return Err(OpError::NotFound);
    };
    if let Some(obj) = copy.as_object_mut() {
        obj.insert("name".into(), Value::String(name.trim().to_string()));
        obj.insert("active".into(), Value::Bool(false));
    }
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns
         WHERE table_name = 'campaigns' AND column_name NOT IN ('id', 'created_at', 'updated_at') ORDER BY ordinal_position",
    )
    .fetch_all(&mut *tx)
    .await?;
    let columns = columns.join(", ");
    let created = sqlx::query_scalar::<_, i64>(&format!(
        "INSERT INTO campaigns ({columns}) SELECT {columns} FROM jsonb_populate_record(NULL::campaigns, $1) RETURNING id"
    ))
    .bind(&copy)
    .fetch_one(&mut *tx)
    .await;
    let new_id = match created {
        Ok(new_id) => new_id,
        Err(e) => return refusal(e, "name"),
    };
    for table in [
        "campaign_dispositions",
        "campaign_pause_codes",
        "campaign_retry_rules",
        "campaign_inbound_groups",
    ] {
        let columns: Vec<String> = sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns WHERE table_name = $1 AND column_name <> 'campaign_id' ORDER BY ordinal_position",
        )
        .bind(table)
        .fetch_all(&mut *tx)
        .await?;
        let columns = columns.join(", ");
        sqlx::query(&format!("INSERT INTO {table} (campaign_id, {columns}) SELECT $1, {columns} FROM {table} WHERE campaign_id = $2"))
            .bind(new_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    actor
        .audit(
            &mut *tx,
            "create",
            "campaign",
            Some(new_id.to_string()),
            None,
            Some(serde_json::json!({"cloned_from": id, "name": name.trim()})),
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id: new_id,
        message: "Copied: the new campaign is inactive.".into(),
    })
}

pub async fn set_campaign_active(
    pool: &PgPool,
    actor: &Actor<'_>,
    id: i64,
    active: bool,
) -> Result<Saved, OpError> {
    manage_campaign(pool, actor, id).await?;
    settings::set_active(pool, actor, &settings::CAMPAIGN, id, active).await?;
    let message = if active {
        "Activated: the dialer starts within seconds."
    } else {
        "Deactivated: no new calls are dialed."
    };
    Ok(Saved::Ok {
        id,
        message: message.into(),
    })
}

/// Campaigns to choose from in forms: (id, name).
pub async fn campaign_choices(
    pool: &PgPool,
    actor: &Actor<'_>,
) -> Result<Vec<(i64, String)>, OpError> {
    actor.staff()?;
    Ok(sqlx::query_as(
        "SELECT id, name FROM campaigns c WHERE $1 OR id IN (SELECT campaign_id FROM user_campaigns WHERE user_id = $2) ORDER BY name",
    )
    .bind(actor.viewer.is_admin())
    .bind(actor.viewer.user_id)
    .fetch_all(pool)
    .await?)
}
