//! Calling hours: call times with their weekly windows, holidays, and the legal calling rules
//! per state: the Hours page (`pages/calltimes.rs`) and `/api/v1/call-times`,
//! `/api/v1/holidays`, `/api/v1/calling-rules`. Admins only; every change is audited.

use dialtone_core::records::Table;
use std::collections::HashMap;

use dialtone_core::calltimes;
use serde_json::Value;
use sqlx::PgPool;

use super::actor::{Actor, OpError};
use super::settings::{invalid, refusal};
use crate::model::{parse_hhmm, CallTimeRow, HolidayRow, RuleRow, Saved};

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
    let id = match calltimes::save_in(&mut tx, name.trim(), description.trim()).await {
        Ok(id) => id,
        Err(e) => return refusal(e, "name"),
    };
    let before: Value = sqlx::query_scalar(
        "SELECT COALESCE(jsonb_agg(jsonb_build_array(weekday, to_char(opens_at, 'HH24:MI'), to_char(closes_at, 'HH24:MI')) ORDER BY weekday), '[]') FROM call_time_windows WHERE call_time_id = $1",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    dialtone_core::calltimes::set_windows_in(&mut tx, id, &windows).await?;
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
    let holiday = calltimes::Holiday {
        name: name.trim(),
        day: day.trim(),
        state: state.as_deref(),
        call_time_id: call_time,
    };
    let id = match calltimes::add_holiday_in(&mut tx, &holiday).await {
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
    actor
        .delete_audited(pool, Table::Holidays, "holiday", id, |_| id.to_string())
        .await?;
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
    let rule = calltimes::CallingRule {
        country: &country,
        state: state.as_deref(),
        opens: o.as_deref().unwrap_or_default(),
        closes: c.as_deref().unwrap_or_default(),
        max_attempts_24h: max,
        citation: citation.trim(),
    };
    let after = calltimes::save_rule_in(&mut tx, &rule).await?;
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
