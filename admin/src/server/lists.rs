//! Lists (the Lists page and `/api/v1/lists`): list, create, edit, reset and delete.

use dialtone_core::visibility;
use serde_json::Value;
use sqlx::PgPool;

use crate::model::{ImportRow, ListRow, Page, Saved, PER_PAGE};
use crate::pages::lists::ListDetailData;

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
    let seen = visibility::campaigns(pool, actor.viewer.user_id).await?;
    let visible = "($1::bigint[] IS NULL OR l.campaign_id = ANY($1)) AND l.name ILIKE $2";
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM lists l WHERE {visible}"))
        .bind(seen.ids())
        .bind(&pattern)
        .fetch_one(pool)
        .await?;
    let rows: Vec<(i64, String, Option<String>, bool, String, i64)> = sqlx::query_as(&format!(
        "SELECT l.id, l.name, c.name, l.active, l.default_country::text, l.lead_count
         FROM lists l LEFT JOIN campaigns c ON c.id = l.campaign_id WHERE {visible} ORDER BY {}, l.id DESC LIMIT $3 OFFSET $4",
        order_by(if sort.is_empty() { "-id" } else { sort }, LIST_SORTS, "l.id")
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
    if let Err(e) = dialtone_core::lists::update_in(&mut tx, id, campaign_id, active).await {
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
    let reset = dialtone_core::lists::reset(&mut tx, id).await?;
    actor
        .audit(
            &mut *tx,
            "update",
            "list",
            Some(id.to_string()),
            None,
            Some(serde_json::json!({"reset_leads": reset})),
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id,
        message: format!("{reset} leads will be dialed again."),
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
    if dialtone_core::lists::being_dialed(&mut tx, id).await? {
        return Ok(Saved::refused(
            "Leads of this list are being dialed: deactivate the list and wait a minute first.",
        ));
    }
    if let Err(e) = dialtone_core::lists::delete_in(&mut tx, id).await {
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

/// A list's page: its settings, its leads (counted by status on demand: that reads every lead
/// of the list), its last imports, and the campaigns it may move to.
pub async fn list_detail(
    pool: &PgPool,
    actor: &Actor<'_>,
    id: i64,
    counts: bool,
) -> Result<ListDetailData, OpError> {
    use dialtone_core::lists::{self, ListError};
    let list_error = |e| match e {
        ListError::Db(e) => OpError::Db(e),
        _ => OpError::NotFound,
    };
    super::actor::list_visible(pool, actor, id).await?;
    let list = lists::get(pool, id).await.map_err(list_error)?;
    let leads: i64 = sqlx::query_scalar("SELECT lead_count FROM lists WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await?;
    let counts = if counts {
        Some(lists::counts(pool, id).await.map_err(list_error)?)
    } else {
        None
    };
    let imports: Vec<ImportRow> = sqlx::query_as(
        "SELECT id, file_name, live_status AS status, rows_inserted AS inserted, rows_updated AS updated, rows_duplicate AS duplicate,
                rows_dnc AS dnc, rows_rejected AS rejected, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS started_at,
                CASE WHEN live_status = 'interrupted' THEN 'stopped with its server: import the same file into this list again to resume'
                     ELSE error END AS error
         FROM import_jobs_live WHERE list_id = $1 ORDER BY started_at DESC LIMIT 20",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let campaigns = super::campaigns::campaign_choices(pool, actor).await?;
    Ok(ListDetailData {
        id,
        name: list.name,
        campaign_id: list.campaign_id,
        active: list.active,
        default_country: list.default_country,
        leads,
        dialable: counts.as_ref().map(|c| c.dialable),
        by_status: counts.map(|c| c.by_status),
        imports,
        campaigns,
    })
}
