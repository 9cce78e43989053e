//! Dispositions (statuses) and pause codes, and which of them a campaign offers its agents:
//! the Dispositions page (`pages/codes.rs`) and `/api/v1/statuses`, `/api/v1/pause-codes`.
//! Admins only, except what a supervisor's own campaign offers; every change is audited.

use std::collections::HashMap;

use serde_json::Value;
use sqlx::PgPool;

use super::actor::{Actor, OpError};
use super::settings::{invalid, refusal};
use dialtone_core::vocabulary::{STATUS_CATEGORIES, STATUS_FLAGS};

use crate::model::{CampaignCodes, PauseRow, Saved, StatusRow};

/// A status or pause code: 1 to 12 capitals, digits or `_`.
fn valid_code(code: &str) -> bool {
    (1..=12).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

pub async fn statuses(pool: &PgPool, actor: &Actor<'_>) -> Result<Vec<StatusRow>, OpError> {
    actor.admin()?;
    let rows: Vec<(Value,)> =
        sqlx::query_as("SELECT to_jsonb(s) FROM statuses s ORDER BY s.system DESC, s.code")
            .fetch_all(pool)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(j,)| StatusRow {
            code: j["code"].as_str().unwrap_or_default().to_string(),
            name: j["name"].as_str().unwrap_or_default().to_string(),
            category: j["category"].as_str().unwrap_or_default().to_string(),
            system: j["system"].as_bool().unwrap_or(false),
            flags: STATUS_FLAGS
                .iter()
                .filter(|(f, _)| j[*f].as_bool() == Some(true))
                .map(|(f, _)| f.to_string())
                .collect(),
        })
        .collect())
}

/// Creates a status or changes one that is not the dialer's own. `flags` holds the set flags.
pub async fn save_status(
    pool: &PgPool,
    actor: &Actor<'_>,
    code: &str,
    name: &str,
    category: &str,
    flags: &[String],
) -> Result<Saved, OpError> {
    actor.admin()?;
    let code = code.trim().to_ascii_uppercase();
    let mut fields = Vec::new();
    if !valid_code(&code) {
        fields.push(("code".into(), "1 to 12 of A-Z 0-9 _".into()));
    }
    if name.trim().is_empty() || name.chars().count() > 60 {
        fields.push(("name".into(), "1 to 60 characters".into()));
    }
    if let Some(unknown) = flags
        .iter()
        .find(|f| !STATUS_FLAGS.iter().any(|(k, _)| k == f))
    {
        fields.push((
            "flags".into(),
            format!(
                "'{unknown}' is not a flag; flags are {}",
                STATUS_FLAGS
                    .iter()
                    .map(|(k, _)| *k)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if !STATUS_CATEGORIES.contains(&category) {
        fields.push((
            "category".into(),
            format!("one of {}", STATUS_CATEGORIES.join(", ")),
        ));
    }
    if !fields.is_empty() {
        return Ok(invalid(fields));
    }
    let mut tx = pool.begin().await?;
    let before: Option<(Value, bool)> =
        sqlx::query_as("SELECT to_jsonb(s), s.system FROM statuses s WHERE code = $1 FOR UPDATE")
            .bind(&code)
            .fetch_optional(&mut *tx)
            .await?;
    if before.as_ref().is_some_and(|(_, system)| *system) {
        return Ok(Saved::refused(format!(
            "{code} is set by the dialer itself and cannot be changed."
        )));
    }
    let status = dialtone_core::dispositions::Status {
        code: &code,
        name: name.trim(),
        category,
        flags,
    };
    let after = match dialtone_core::dispositions::save_status_in(&mut tx, &status).await {
        Ok(after) => after,
        Err(e) => return refusal(e, "code"),
    };
    let action = if before.is_some() { "update" } else { "create" };
    actor
        .audit(
            &mut *tx,
            action,
            "status",
            Some(code.clone()),
            before.map(|b| b.0),
            Some(after),
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id: 0,
        message: format!("Status {code} saved."),
    })
}

pub async fn pause_codes(pool: &PgPool, actor: &Actor<'_>) -> Result<Vec<PauseRow>, OpError> {
    actor.admin()?;
    Ok(sqlx::query_as(
        "SELECT code, name, billable, system FROM pause_codes ORDER BY system DESC, code",
    )
    .fetch_all(pool)
    .await?)
}

pub async fn save_pause_code(
    pool: &PgPool,
    actor: &Actor<'_>,
    code: &str,
    name: &str,
    billable: bool,
) -> Result<Saved, OpError> {
    actor.admin()?;
    let code = code.trim().to_ascii_uppercase();
    let mut fields = Vec::new();
    if !valid_code(&code) {
        fields.push(("code".into(), "1 to 12 of A-Z 0-9 _".into()));
    }
    if name.trim().is_empty() || name.chars().count() > 60 {
        fields.push(("name".into(), "1 to 60 characters".into()));
    }
    if !fields.is_empty() {
        return Ok(invalid(fields));
    }
    let mut tx = pool.begin().await?;
    let before: Option<(Value, bool)> = sqlx::query_as(
        "SELECT to_jsonb(p), p.system FROM pause_codes p WHERE code = $1 FOR UPDATE",
    )
    .bind(&code)
    .fetch_optional(&mut *tx)
    .await?;
    if before.as_ref().is_some_and(|(_, system)| *system) {
        return Ok(Saved::refused(format!(
            "{code} is set by the system and cannot be changed."
        )));
    }
    let after =
        dialtone_core::dispositions::save_pause_code_in(&mut tx, &code, name.trim(), billable)
            .await?;
    let action = if before.is_some() { "update" } else { "create" };
    actor
        .audit(
            &mut *tx,
            action,
            "pause_code",
            Some(code.clone()),
            before.map(|b| b.0),
            Some(after),
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id: 0,
        message: format!("Pause code {code} saved."),
    })
}

/// Supervisors see, and change, what their own campaigns offer.
pub async fn campaign_codes(
    pool: &PgPool,
    actor: &Actor<'_>,
    campaign: i64,
) -> Result<CampaignCodes, OpError> {
    actor.staff()?;
    if !dialtone_core::visibility::sees_campaign(pool, actor.viewer.user_id, campaign).await? {
        return Err(OpError::NotFound);
    }
    let dispositions: Vec<(String, String, bool, Option<i16>)> = sqlx::query_as(
        "SELECT s.code, s.name, d.status_code IS NOT NULL, d.hotkey
         FROM statuses s LEFT JOIN campaign_dispositions d ON d.status_code = s.code AND d.campaign_id = $1
         WHERE s.selectable ORDER BY s.code",
    )
    .bind(campaign)
    .fetch_all(pool)
    .await?;
    let pause_codes: Vec<(String, String, bool)> = sqlx::query_as(
        "SELECT p.code, p.name, c.pause_code IS NOT NULL
         FROM pause_codes p LEFT JOIN campaign_pause_codes c ON c.pause_code = p.code AND c.campaign_id = $1
         WHERE NOT p.system ORDER BY p.code",
    )
    .bind(campaign)
    .fetch_all(pool)
    .await?;
    Ok(CampaignCodes {
        dispositions,
        pause_codes,
    })
}

/// What the campaign offers: `offer` holds `disposition:CODE` and `pause:CODE` keys that are
/// ticked, `hotkey:CODE` the digit 1 to 9 for a disposition.
pub async fn set_campaign_codes(
    pool: &PgPool,
    actor: &Actor<'_>,
    campaign: i64,
    offer: &HashMap<String, String>,
) -> Result<Saved, OpError> {
    super::actor::manage_campaign(pool, actor, campaign).await?;
    let mut dispositions: Vec<(String, Option<i16>)> = Vec::new();
    let mut pauses: Vec<String> = Vec::new();
    let mut fields = Vec::new();
    for (key, value) in offer {
        if let Some(code) = key.strip_prefix("disposition:") {
            let hotkey = offer
                .get(&format!("hotkey:{code}"))
                .map(|h| h.trim())
                .filter(|h| !h.is_empty());
            let hotkey = match hotkey.map(|h| h.parse::<i16>()) {
                None => None,
                Some(Ok(n)) if (1..=9).contains(&n) => Some(n),
                Some(_) => {
                    fields.push((format!("hotkey:{code}"), "a digit 1 to 9".to_string()));
                    None
                }
            };
            if value == "on" {
                dispositions.push((code.to_string(), hotkey));
            }
        } else if let Some(code) = key.strip_prefix("pause:") {
            if value == "on" {
                pauses.push(code.to_string());
            }
        }
    }
    let mut keys: Vec<i16> = dispositions.iter().filter_map(|d| d.1).collect();
    keys.sort_unstable();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        fields.push(("hotkeys".into(), "each hotkey once".into()));
    }
    if dispositions.is_empty() {
        fields.push((
            "dispositions".into(),
            "offer at least one disposition".into(),
        ));
    }
    if !fields.is_empty() {
        return Ok(invalid(fields));
    }
    dispositions.sort();
    pauses.sort();
    let mut tx = pool.begin().await?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM campaigns WHERE id = $1)")
        .bind(campaign)
        .fetch_one(&mut *tx)
        .await?;
    if !exists {
        return Err(OpError::NotFound);
    }
    let before: Value = sqlx::query_scalar(
        "SELECT jsonb_build_object(
            'dispositions', COALESCE((SELECT jsonb_agg(status_code ORDER BY status_code) FROM campaign_dispositions WHERE campaign_id = $1), '[]'),
            'pause_codes', COALESCE((SELECT jsonb_agg(pause_code ORDER BY pause_code) FROM campaign_pause_codes WHERE campaign_id = $1), '[]'))",
    )
    .bind(campaign)
    .fetch_one(&mut *tx)
    .await?;
    if !dialtone_core::dispositions::offer_in(&mut tx, campaign, &dispositions, &pauses).await? {
        return Ok(Saved::refused(
            "A disposition is not one agents may choose; reload the page.",
        ));
    }
    let codes: Vec<&str> = dispositions.iter().map(|d| d.0.as_str()).collect();
    let after = serde_json::json!({"dispositions": codes, "pause_codes": pauses});
    actor
        .audit(
            &mut *tx,
            "update",
            "campaign_codes",
            Some(campaign.to_string()),
            Some(before),
            Some(after),
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id: campaign,
        message: "Dispositions and pause codes saved.".into(),
    })
}
