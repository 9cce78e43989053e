//! Lists (the Lists page and `/api/v1/lists`): list, create, edit, reset and delete.

use serde_json::Value;
use sqlx::PgPool;

use crate::model::{ListRow, Page, Saved, PER_PAGE};

use super::actor::{Actor, OpError};
use super::search::{like_escape, offset, order_by};
use super::settings::{check_name, refusal};

const LIST_SORTS: &[(&str, &str)] = &[
    ("name", "l.name"),
    ("campaign", "c.name"),
    ("leads", "l.lead_count"),
    ("active", "l.active"),
    ("id", "l.id"),
];

pub async fn lists(
    pool: &PgPool,
    actor: &Actor<'_>,
    filter: &str,
    sort: &str,
    page: u32,
) -> Result<Page<ListRow>, OpError> {
    actor.staff()?;
    let pattern = format!("%{}%", like_escape(filter.trim()));
    let visible = "($1 OR l.campaign_id IN (SELECT campaign_id FROM user_campaigns WHERE user_id = $2)) AND l.name ILIKE $3";
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM lists l WHERE {visible}"))
        .bind(actor.viewer.is_admin())
        .bind(actor.viewer.user_id)
        .bind(&pattern)
        .fetch_one(pool)
        .await?;
    let rows: Vec<(i64, String, Option<String>, bool, String, i64)> = sqlx::query_as(&format!(
        "SELECT l.id, l.name, c.name, l.active, l.default_country::text, l.lead_count
         FROM lists l LEFT JOIN campaigns c ON c.id = l.campaign_id WHERE {visible} ORDER BY {}, l.id DESC LIMIT $4 OFFSET $5",
        order_by(if sort.is_empty() { "-id" } else { sort }, LIST_SORTS, "l.id")
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
            |(id, name, campaign, active, default_country, leads)| ListRow {
                id,
                name,
                campaign,
                active,
                default_country,
                leads,
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

pub async fn create_list(
    pool: &PgPool,
    actor: &Actor<'_>,
    name: &str,
    campaign_id: Option<i64>,
    country: &str,
) -> Result<Saved, OpError> {
    actor.admin()?;
    if let Some(field) = check_name(name) {
        return Ok(Saved::Invalid {
            fields: vec![field],
            form: None,
        });
    }
    let mut tx = pool.begin().await?;
    match dialtone_core::lists::create_in(&mut tx, name.trim(), campaign_id, country).await {
        Ok(id) => {
            actor.audit(&mut *tx, "create", "list", Some(id.to_string()), None, Some(serde_json::json!({"name": name.trim(), "campaign_id": campaign_id, "default_country": country}))).await?;
            tx.commit().await?;
            Ok(Saved::Ok {
                id,
                message: "List created: upload leads into it.".into(),
            })
        }
        Err(dialtone_core::lists::ListError::Country(c)) => Ok(Saved::Invalid {
            fields: vec![(
                "country".into(),
                format!("'{c}' is not a country code such as US"),
            )],
            form: None,
        }),
        Err(dialtone_core::lists::ListError::NoCampaign(_)) => Ok(Saved::Invalid {
            fields: vec![("campaign_id".into(), "no such campaign".into())],
            form: None,
        }),
        Err(dialtone_core::lists::ListError::NotFound(_)) => Err(OpError::NotFound),
        Err(dialtone_core::lists::ListError::Db(e)) => refusal(e, "name"),
    }
}

/// Moves a list to another campaign (or none) and turns it on or off.
pub async fn update_list(
    pool: &PgPool,
    actor: &Actor<'_>,
    id: i64,
    campaign_id: Option<i64>,
    active: bool,
) -> Result<Saved, OpError> {
    actor.admin()?;
    let mut tx = pool.begin().await?;
    let before: Option<Value> = sqlx::query_scalar("SELECT jsonb_build_object('campaign_id', campaign_id, 'active', active) FROM lists WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let before = before.ok_or(OpError::NotFound)?;
    let done = sqlx::query(
        "UPDATE lists SET campaign_id = $2, active = $3, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(campaign_id)
    .bind(active)
    .execute(&mut *tx)
    .await;
    if let Err(e) = done {
        return refusal(e, "campaign_id");
    }
    let after = serde_json::json!({"campaign_id": campaign_id, "active": active});
    actor
        .audit(
            &mut *tx,
            "update",
            "list",
            Some(id.to_string()),
            Some(before),
            Some(after),
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id,
        message: "Saved.".into(),
    })
}

/// Puts every lead of the list that is not finished back to NEW and due now, so it is dialed again.
pub async fn reset_list(pool: &PgPool, actor: &Actor<'_>, id: i64) -> Result<Saved, OpError> {
    actor.admin()?;
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "UPDATE leads SET status = 'NEW', next_attempt_at = now(), updated_at = now()
         WHERE list_id = $1 AND status NOT IN (SELECT code FROM statuses WHERE completed OR dnc OR sale)",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    actor
        .audit(
            &mut *tx,
            "update",
            "list",
            Some(id.to_string()),
            None,
            Some(serde_json::json!({"reset_leads": done.rows_affected()})),
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id,
        message: format!("{} leads will be dialed again.", done.rows_affected()),
    })
}

pub async fn delete_list(pool: &PgPool, actor: &Actor<'_>, id: i64) -> Result<Saved, OpError> {
    actor.admin()?;
    let mut tx = pool.begin().await?;
    let before: Option<Value> =
        sqlx::query_scalar("SELECT to_jsonb(l) FROM lists l WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let before = before.ok_or(OpError::NotFound)?;
    let in_use: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM hopper h JOIN leads l ON l.id = h.lead_id WHERE l.list_id = $1)").bind(id).fetch_one(&mut *tx).await?;
    if in_use {
        return Ok(Saved::refused(
            "Leads of this list are being dialed: deactivate the list and wait a minute first.",
        ));
    }
    if let Err(e) = sqlx::query("DELETE FROM lists WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
    {
        return match refusal(e, "name")? {
            Saved::Invalid { .. } => Ok(Saved::refused(
                "Calls or callbacks still refer to this list's leads: deactivate it instead.",
            )),
            ok => Ok(ok),
        };
    }
    actor
        .audit(
            &mut *tx,
            "delete",
            "list",
            Some(id.to_string()),
            Some(before),
            None,
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id,
        message: "List deleted with its leads.".into(),
    })
}
