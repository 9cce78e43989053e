//! Whether a call time is open at a moment, in a given time zone: its weekly windows, less its
//! holidays.

use chrono::{DateTime, Datelike, NaiveTime, Utc};
use chrono_tz::Tz;
use sqlx::PgPool;

/// Creates the call time `name`, or changes the description of the one of that name, in the
/// caller's transaction; its windows are [`set_windows_in`]'s.
pub async fn save_in(
    tx: &mut sqlx::PgConnection,
    name: &str,
    description: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO call_times (name, description) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description RETURNING id",
    )
    .bind(name)
    .bind(description)
    .fetch_one(tx)
    .await
}

/// A day no call goes out: everywhere, or in one state; for every call time, or for one.
pub struct Holiday<'a> {
    pub name: &'a str,
    /// `YYYY-MM-DD`.
    pub day: &'a str,
    pub state: Option<&'a str>,
    pub call_time_id: Option<i64>,
}

/// Adds a holiday in the caller's transaction.
pub async fn add_holiday_in(
    tx: &mut sqlx::PgConnection,
    holiday: &Holiday<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO holidays (name, day, state, call_time_id) VALUES ($1, $2::date, $3, $4) RETURNING id",
    )
    .bind(holiday.name)
    .bind(holiday.day)
    .bind(holiday.state)
    .bind(holiday.call_time_id)
    .fetch_one(tx)
    .await
}

/// The hours the law allows calls in a country or one of its states, and its cap on attempts.
pub struct CallingRule<'a> {
    pub country: &'a str,
    pub state: Option<&'a str>,
    /// `HH:MM`.
    pub opens: &'a str,
    pub closes: &'a str,
    pub max_attempts_24h: Option<i32>,
    /// The law that sets them.
    pub citation: &'a str,
}

/// Sets the rule of its country and state (replacing one there was, and making it active
/// again), in the caller's transaction: the rule as stored, for the audit.
pub async fn save_rule_in(
    tx: &mut sqlx::PgConnection,
    rule: &CallingRule<'_>,
) -> Result<serde_json::Value, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO calling_rules (country, state, opens_at, closes_at, max_attempts_24h, citation) VALUES ($1, $2, $3::time, $4::time, $5, $6)
         ON CONFLICT (country, coalesce(state, '')) DO UPDATE SET opens_at = EXCLUDED.opens_at, closes_at = EXCLUDED.closes_at,
             max_attempts_24h = EXCLUDED.max_attempts_24h, citation = EXCLUDED.citation, active = true
         RETURNING to_jsonb(calling_rules.*)",
    )
    .bind(rule.country)
    .bind(rule.state)
    .bind(rule.opens)
    .bind(rule.closes)
    .bind(rule.max_attempts_24h)
    .bind(rule.citation)
    .fetch_one(tx)
    .await
}

/// Replaces a call time's weekly windows, in the caller's transaction: (weekday, opens,
/// closes) with times as `HH:MM`.
pub async fn set_windows_in(
    tx: &mut sqlx::PgConnection,
    call_time_id: i64,
    windows: &[(i16, String, String)],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM call_time_windows WHERE call_time_id = $1")
        .bind(call_time_id)
        .execute(&mut *tx)
        .await?;
    for (day, opens, closes) in windows {
        sqlx::query(
            "INSERT INTO call_time_windows (call_time_id, weekday, opens_at, closes_at) VALUES ($1, $2, $3::time, $4::time)",
        )
        .bind(call_time_id)
        .bind(day)
        .bind(opens)
        .bind(closes)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Open when `call_time_id` has a window for the local weekday containing the local time and
/// the local date is not one of its holidays (or a country-wide one). No call time: always open.
pub async fn is_open(
    pool: &PgPool,
    call_time_id: Option<i64>,
    zone: Tz,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let Some(call_time) = call_time_id else {
        return Ok(true);
    };
    let local = now.with_timezone(&zone);
    let weekday = local.weekday().number_from_monday() as i16;
    let window: Option<(NaiveTime, NaiveTime)> =
        sqlx::query_as("SELECT opens_at, closes_at FROM call_time_windows WHERE call_time_id = $1 AND weekday = $2")
            .bind(call_time)
            .bind(weekday)
            .fetch_optional(pool)
            .await?;
    let time = local.time();
    let Some((opens, closes)) = window else {
        return Ok(false);
    };
    if time < opens || time >= closes {
        return Ok(false);
    }
    let holiday: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM holidays WHERE day = $1 AND state IS NULL AND (call_time_id = $2 OR call_time_id IS NULL))",
    )
    .bind(local.date_naive())
    .bind(call_time)
    .fetch_one(pool)
    .await?;
    Ok(!holiday)
}
