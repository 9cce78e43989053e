//! Whether a call time is open at a moment, in a given time zone: its weekly windows, less its
//! holidays.

use chrono::{DateTime, Datelike, NaiveTime, Utc};
use chrono_tz::Tz;
use sqlx::PgPool;

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
