//! Whether a call time is open at a moment, in a given time zone: its weekly windows, less its
//! holidays.

use chrono::{DateTime, Datelike, NaiveTime, Utc};
use chrono_tz::Tz;
use sqlx::PgPool;

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
