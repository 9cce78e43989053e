//! Campaigns (the Campaigns page and `/api/v1/campaigns`): list, read, create, copy, save and
//! switch on or off. Each call checks the actor's role and campaign access, and each change
//! writes the audit log in its transaction.

use std::collections::HashMap;

use dialtone_core::visibility;
use dialtone_core::vocabulary::DialMethod;
use serde_json::Value;
use sqlx::PgPool;

use crate::model::{CampaignRow, Page, Saved, PER_PAGE};
use crate::schema::SettingsForm;

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
    let seen = visibility::campaigns(pool, actor.viewer.user_id).await?;
    let visible = "($1::bigint[] IS NULL OR c.id = ANY($1)) AND c.name ILIKE $2";
    let total: i64 =
        sqlx::query_scalar(&format!("SELECT count(*) FROM campaigns c WHERE {visible}"))
            .bind(seen.ids())
            .bind(&pattern)
            .fetch_one(pool)
            .await?;
    let rows: Vec<(i64, String, bool, DialMethod, i64, i64, String)> = sqlx::query_as(&format!(
        "SELECT c.id, c.name, c.active, c.dial_method,
                (SELECT count(*) FROM lists l WHERE l.campaign_id = c.id),
                (SELECT count(*) FROM agent_sessions s WHERE s.campaign_id = c.id AND s.logged_out_at IS NULL),
                to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')
         FROM campaigns c WHERE {visible} ORDER BY {} LIMIT $3 OFFSET $4",
        order_by(sort, CAMPAIGN_SORTS, "c.name")
    ))
    .bind(seen.ids())
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
    let method = dial_method.parse::<DialMethod>().ok();
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
    let new_id = match dialtone_core::campaigns::clone_in(&mut tx, id, name.trim()).await {
        Ok(Some(new_id)) => new_id,
        Ok(None) => return Err(OpError::NotFound),
        Err(e) => return refusal(e, "name"),
    };
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
    let seen = visibility::campaigns(pool, actor.viewer.user_id).await?;
    Ok(sqlx::query_as(
        "SELECT id, name FROM campaigns WHERE $1::bigint[] IS NULL OR id = ANY($1) ORDER BY name",
    )
    .bind(seen.ids())
    .fetch_all(pool)
    .await?)
}

/// The start page: each visible campaign's day at a glance.
pub async fn overview(
    pool: &PgPool,
    actor: &Actor<'_>,
) -> Result<Vec<crate::pages::home::CampaignDay>, OpError> {
    actor.staff()?;
    let seen = visibility::campaigns(pool, actor.viewer.user_id).await?;
    Ok(sqlx::query_as(
        "SELECT c.id, c.name, c.active, c.dial_method,
                (SELECT count(*) FROM agent_sessions s WHERE s.campaign_id = c.id AND s.logged_out_at IS NULL) AS agents,
                (SELECT count(*) FROM call_attempts a WHERE a.campaign_id = c.id AND a.reserved_at >= date_trunc('day', now())) AS dials_today,
                COALESCE((SELECT 100.0 * count(*) FILTER (WHERE kind = 'abandon') / NULLIF(count(*) FILTER (WHERE kind IN ('live_answer', 'abandon')), 0)
                          FROM abandon_ledger l WHERE l.campaign_id = c.id AND l.occurred_at > now() - interval '30 days'), 0)::float8 AS abandon_rate_30d,
                c.abandon_cap_pct::float8 AS cap_pct
         FROM campaigns c
         WHERE $1::bigint[] IS NULL OR c.id = ANY($1)
         ORDER BY c.active DESC, c.name LIMIT 200",
    )
    .bind(seen.ids())
    .fetch_all(pool)
    .await?)
}
