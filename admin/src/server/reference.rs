//! Reference data every campaign uses: dispositions (statuses) and pause codes, which of them a
//! campaign offers, call times with their weekly windows, holidays, and the legal calling
//! rules per state. Admins only, except what a supervisor's own campaign offers; every change
//! is audited.

use std::collections::HashMap;

use serde_json::Value;
use sqlx::PgPool;

use super::actor::{Actor, OpError};
use super::settings::refusal;
use crate::model::{
    parse_hhmm, CallTimeRow, CampaignCodes, HolidayRow, PauseRow, RuleRow, Saved, StatusRow,
    STATUS_CATEGORIES, STATUS_FLAGS,
};

fn invalid(fields: Vec<(String, String)>) -> Saved {
    Saved::Invalid {
        fields,
        form: Some("Nothing was saved: correct the fields marked.".into()),
    }
}

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
    let flag = |f: &str| flags.iter().any(|x| x == f);
    let columns: Vec<&str> = STATUS_FLAGS.iter().map(|(f, _)| *f).collect();
    let placeholders: Vec<String> = (4..4 + columns.len()).map(|i| format!("${i}")).collect();
    let updates: Vec<String> = columns
        .iter()
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect();
    let sql = format!(
        "INSERT INTO statuses (code, name, category, {}) VALUES ($1, $2, $3, {})
         ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, category = EXCLUDED.category, {}
         RETURNING to_jsonb(statuses.*)",
        columns.join(", "),
        placeholders.join(", "),
        updates.join(", ")
    );
    let mut query = sqlx::query_scalar::<_, Value>(&sql)
        .bind(&code)
        .bind(name.trim())
        .bind(category);
    for c in &columns {
        query = query.bind(flag(c));
    }
    let after = match query.fetch_one(&mut *tx).await {
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
    let after: Value = sqlx::query_scalar(
        "INSERT INTO pause_codes (code, name, billable) VALUES ($1, $2, $3)
         ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, billable = EXCLUDED.billable RETURNING to_jsonb(pause_codes.*)",
    )
    .bind(&code)
    .bind(name.trim())
    .bind(billable)
    .fetch_one(&mut *tx)
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
    if !super::may_see_campaign(pool, actor.viewer, campaign).await? {
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
    sqlx::query("DELETE FROM campaign_dispositions WHERE campaign_id = $1")
        .bind(campaign)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM campaign_pause_codes WHERE campaign_id = $1")
        .bind(campaign)
        .execute(&mut *tx)
        .await?;
    let codes: Vec<String> = dispositions.iter().map(|d| d.0.clone()).collect();
    let hotkeys: Vec<Option<i16>> = dispositions.iter().map(|d| d.1).collect();
    let inserted = sqlx::query(
        "INSERT INTO campaign_dispositions (campaign_id, status_code, hotkey)
         SELECT $1, c, h FROM unnest($2::text[], $3::smallint[]) AS t(c, h) JOIN statuses s ON s.code = t.c AND s.selectable",
    )
    .bind(campaign)
    .bind(&codes)
    .bind(&hotkeys)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() != codes.len() as u64 {
        return Ok(Saved::refused(
            "A disposition is not one agents may choose; reload the page.",
        ));
    }
    sqlx::query("INSERT INTO campaign_pause_codes (campaign_id, pause_code) SELECT $1, p FROM unnest($2::text[]) p JOIN pause_codes c ON c.code = p AND NOT c.system")
        .bind(campaign)
        .bind(&pauses)
        .execute(&mut *tx)
        .await?;
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

pub async fn call_times(pool: &PgPool, actor: &Actor<'_>) -> Result<Vec<CallTimeRow>, OpError> {
    actor.admin()?;
    let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT ct.id, ct.name, ct.description, (SELECT count(*) FROM campaigns c WHERE c.call_time_id = ct.id) FROM call_times ct ORDER BY ct.name",
    )
    .fetch_all(pool)
    .await?;
    let windows: Vec<(i64, i16, String, String)> = sqlx::query_as(
        "SELECT call_time_id, weekday, to_char(opens_at, 'HH24:MI'), to_char(closes_at, 'HH24:MI') FROM call_time_windows ORDER BY call_time_id, weekday",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, description, campaigns)| CallTimeRow {
            windows: windows
                .iter()
                .filter(|w| w.0 == id)
                .map(|w| (w.1, w.2.clone(), w.3.clone()))
                .collect(),
            id,
            name,
            description,
            campaigns,
        })
        .collect())
}

/// Creates a call time, or replaces the weekly windows of the one named. `hours` has
/// `open:N` and `close:N` for weekday N (1 = Monday); a day left empty is closed.
pub async fn save_call_time(
    pool: &PgPool,
    actor: &Actor<'_>,
    name: &str,
    description: &str,
    hours: &HashMap<String, String>,
) -> Result<Saved, OpError> {
    actor.admin()?;
    let mut fields = Vec::new();
    if name.trim().is_empty() || name.chars().count() > 80 {
        fields.push(("name".to_string(), "1 to 80 characters".to_string()));
    }
    let mut windows: Vec<(i16, String, String)> = Vec::new();
    for day in 1..=7i16 {
        let open = hours
            .get(&format!("open:{day}"))
            .map(|s| s.trim())
            .unwrap_or("");
        let close = hours
            .get(&format!("close:{day}"))
            .map(|s| s.trim())
            .unwrap_or("");
        match (open.is_empty(), close.is_empty()) {
            (true, true) => {}
            (false, false) => match (parse_hhmm(open), parse_hhmm(close)) {
                (Some(o), Some(c)) if o < c => windows.push((day, o, c)),
                (Some(_), Some(_)) => {
                    fields.push((format!("day:{day}"), "opens before it closes".into()))
                }
                _ => fields.push((format!("day:{day}"), "times as HH:MM, e.g. 09:00".into())),
            },
            _ => fields.push((
                format!("day:{day}"),
                "both times, or neither for a closed day".into(),
            )),
        }
    }
    if !fields.is_empty() {
        return Ok(invalid(fields));
    }
    let mut tx = pool.begin().await?;
    let id: i64 = match sqlx::query_scalar(
        "INSERT INTO call_times (name, description) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description RETURNING id",
    )
    .bind(name.trim())
    .bind(description.trim())
    .fetch_one(&mut *tx)
    .await
    {
        Ok(id) => id,
        Err(e) => return refusal(e, "name"),
    };
    let before: Value = sqlx::query_scalar(
        "SELECT COALESCE(jsonb_agg(jsonb_build_array(weekday, to_char(opens_at, 'HH24:MI'), to_char(closes_at, 'HH24:MI')) ORDER BY weekday), '[]') FROM call_time_windows WHERE call_time_id = $1",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM call_time_windows WHERE call_time_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    for (day, open, close) in &windows {
        sqlx::query("INSERT INTO call_time_windows (call_time_id, weekday, opens_at, closes_at) VALUES ($1, $2, $3::time, $4::time)")
            .bind(id)
            .bind(day)
            .bind(open)
            .bind(close)
            .execute(&mut *tx)
            .await?;
    }
    let after = serde_json::to_value(&windows).unwrap_or(Value::Null);
    actor
        .audit(
            &mut *tx,
            "update",
            "call_time",
            Some(id.to_string()),
            Some(serde_json::json!({"windows": before})),
            Some(serde_json::json!({"name": name.trim(), "windows": after})),
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id,
        message: format!("Call time '{}' saved.", name.trim()),
    })
}

pub async fn holidays(pool: &PgPool, actor: &Actor<'_>) -> Result<Vec<HolidayRow>, OpError> {
    actor.admin()?;
    Ok(sqlx::query_as(
        "SELECT h.id, h.name, h.day::text AS day, h.country::text AS country, h.state, ct.name AS call_time
         FROM holidays h LEFT JOIN call_times ct ON ct.id = h.call_time_id WHERE h.day >= current_date - 31 ORDER BY h.day, h.name",
    )
    .fetch_all(pool)
    .await?)
}

pub async fn add_holiday(
    pool: &PgPool,
    actor: &Actor<'_>,
    name: &str,
    day: &str,
    state: &str,
    call_time: Option<i64>,
) -> Result<Saved, OpError> {
    actor.admin()?;
    let mut fields = Vec::new();
    if name.trim().is_empty() || name.chars().count() > 80 {
        fields.push(("name".to_string(), "1 to 80 characters".to_string()));
    }
    if chrono::NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").is_err() {
        fields.push(("day".into(), "a date such as 2026-12-25".into()));
    }
    let state = state.trim().to_ascii_uppercase();
    if !is_state_code(&state) {
        fields.push((
            "state".into(),
            "a two-letter state code, or empty for the whole country".into(),
        ));
    }
    if !fields.is_empty() {
        return Ok(invalid(fields));
    }
    let state = (!state.is_empty()).then_some(state);
    let mut tx = pool.begin().await?;
    let id: i64 = match sqlx::query_scalar("INSERT INTO holidays (name, day, state, call_time_id) VALUES ($1, $2::date, $3, $4) RETURNING id")
        .bind(name.trim())
        .bind(day.trim())
        .bind(&state)
        .bind(call_time)
        .fetch_one(&mut *tx)
        .await
    {
        Ok(id) => id,
        Err(e) => return refusal(e, "name"),
    };
    let after = serde_json::json!({"name": name.trim(), "day": day.trim(), "state": state, "call_time_id": call_time});
    actor
        .audit(
            &mut *tx,
            "create",
            "holiday",
            Some(id.to_string()),
            None,
            Some(after),
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id,
        message: format!("No calls on {}.", day.trim()),
    })
}

pub async fn remove_holiday(pool: &PgPool, actor: &Actor<'_>, id: i64) -> Result<Saved, OpError> {
    actor.admin()?;
    let mut tx = pool.begin().await?;
    let before: Option<Value> =
        sqlx::query_scalar("DELETE FROM holidays h WHERE id = $1 RETURNING to_jsonb(h)")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let before = before.ok_or(OpError::NotFound)?;
    actor
        .audit(
            &mut *tx,
            "delete",
            "holiday",
            Some(id.to_string()),
            Some(before),
            None,
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id,
        message: "Holiday removed.".into(),
    })
}

pub async fn rules(pool: &PgPool, actor: &Actor<'_>) -> Result<Vec<RuleRow>, OpError> {
    actor.admin()?;
    Ok(sqlx::query_as(
        "SELECT id, country::text AS country, state, to_char(opens_at, 'HH24:MI') AS opens, to_char(closes_at, 'HH24:MI') AS closes,
                closed_weekdays, max_attempts_24h, citation, active
         FROM calling_rules ORDER BY country, state NULLS FIRST",
    )
    .fetch_all(pool)
    .await?)
}

/// Sets the legal window of a country (empty state) or one state, replacing the one there.
#[allow(clippy::too_many_arguments)]
pub async fn save_rule(
    pool: &PgPool,
    actor: &Actor<'_>,
    country: &str,
    state: &str,
    opens: &str,
    closes: &str,
    max_attempts: &str,
    citation: &str,
) -> Result<Saved, OpError> {
    actor.admin()?;
    let mut fields = Vec::new();
    let country = country.trim().to_ascii_uppercase();
    if !(country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase())) {
        fields.push((
            "country".to_string(),
            "a two-letter country code".to_string(),
        ));
    }
    let state = state.trim().to_ascii_uppercase();
    if !is_state_code(&state) {
        fields.push((
            "state".into(),
            "a two-letter state code, or empty for the whole country".into(),
        ));
    }
    let (o, c) = (parse_hhmm(opens), parse_hhmm(closes));
    match (&o, &c) {
        (Some(o), Some(c)) if o < c => {}
        (Some(_), Some(_)) => fields.push(("closes".into(), "after the opening time".into())),
        _ => fields.push(("opens".into(), "times as HH:MM".into())),
    }
    let max = match max_attempts.trim() {
        "" => None,
        n => match n.parse::<i32>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                fields.push((
                    "max_attempts_24h".into(),
                    "a whole number above 0, or empty".into(),
                ));
                None
            }
        },
    };
    if !fields.is_empty() {
        return Ok(invalid(fields));
    }
    let state = (!state.is_empty()).then_some(state);
    let mut tx = pool.begin().await?;
    let before: Option<Value> = sqlx::query_scalar("SELECT to_jsonb(r) FROM calling_rules r WHERE country = $1 AND coalesce(state, '') = coalesce($2, '') FOR UPDATE")
        .bind(&country)
        .bind(&state)
        .fetch_optional(&mut *tx)
        .await?;
    let after: Value = sqlx::query_scalar(
        "INSERT INTO calling_rules (country, state, opens_at, closes_at, max_attempts_24h, citation) VALUES ($1, $2, $3::time, $4::time, $5, $6)
         ON CONFLICT (country, coalesce(state, '')) DO UPDATE SET opens_at = EXCLUDED.opens_at, closes_at = EXCLUDED.closes_at,
             max_attempts_24h = EXCLUDED.max_attempts_24h, citation = EXCLUDED.citation, active = true
         RETURNING to_jsonb(calling_rules.*)",
    )
    .bind(&country)
    .bind(&state)
    .bind(o)
    .bind(c)
    .bind(max)
    .bind(citation.trim())
    .fetch_one(&mut *tx)
    .await?;
    let action = if before.is_some() { "update" } else { "create" };
    actor
        .audit(
            &mut *tx,
            action,
            "calling_rule",
            after.get("id").map(|v| v.to_string()),
            before,
            Some(after),
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id: 0,
        message: "Calling rule saved.".into(),
    })
}

/// A two-letter state code, or empty for the whole country.
fn is_state_code(state: &str) -> bool {
    state.is_empty() || (state.len() == 2 && state.bytes().all(|b| b.is_ascii_uppercase()))
}
