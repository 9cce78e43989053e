//! When a campaign may call whom: its own call time intersected with the law's calling hours,
//! in each callee's time zone. The law's rules (`calling_rules`) cannot be widened by a
//! campaign; where a rule is unclear about a callee, the stricter reading wins.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, NaiveTime, Utc};
use chrono_tz::Tz;
use sqlx::PgPool;

/// Where calls may go now, as the next-leads query takes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Window {
    /// Zones whose local time is inside the campaign's hours and every country-wide rule.
    pub open_zones: Vec<String>,
    /// States whose own rule is closed now in at least one of the open zones. A state can span
    /// zones (Florida); closing it everywhere then is the safe reading.
    pub closed_states: Vec<String>,
}

#[derive(Debug, sqlx::FromRow)]
struct Rule {
    state: Option<String>,
    opens_at: NaiveTime,
    closes_at: NaiveTime,
    closed_weekdays: Vec<i16>,
}

impl Rule {
    fn allows(&self, weekday: i16, time: NaiveTime) -> bool {
        !self.closed_weekdays.contains(&weekday) && self.opens_at <= time && time < self.closes_at
    }
}

/// The calling window at `now` for a campaign with `call_time_id`, over `zones` (the zones of
/// the lists it dials). Country-wide rules apply in every zone: the shipped rules are the US
/// federal hours, and holding any callee to them is never unlawful.
pub async fn window(
    pool: &PgPool,
    call_time_id: Option<i64>,
    zones: &[String],
    now: DateTime<Utc>,
) -> Result<Window, sqlx::Error> {
    let rules: Vec<Rule> = sqlx::query_as(
        "SELECT state, opens_at, closes_at, closed_weekdays FROM calling_rules WHERE active",
    )
    .fetch_all(pool)
    .await?;
    let (country_rules, state_rules): (Vec<&Rule>, Vec<&Rule>) =
        rules.iter().partition(|r| r.state.is_none());
    let mut open_zones = Vec::new();
    let mut closed_states = BTreeSet::new();
    for name in zones {
        // An unknown zone name cannot be placed in time: it is never called.
        let Ok(zone) = name.parse::<Tz>() else {
            continue;
        };
        let local = now.with_timezone(&zone);
        let (weekday, time) = (local.weekday().number_from_monday() as i16, local.time());
        if !country_rules.iter().all(|r| r.allows(weekday, time)) {
            continue;
        }
        if !crate::calltimes::is_open(pool, call_time_id, zone, now).await? {
            continue;
        }
        for rule in &state_rules {
            if !rule.allows(weekday, time) {
                if let Some(state) = &rule.state {
                    closed_states.insert(state.clone());
                }
            }
        }
        open_zones.push(name.clone());
    }
    Ok(Window {
        open_zones,
        closed_states: closed_states.into_iter().collect(),
    })
}

/// A number's attempts in the last 24 hours, across every campaign.
pub async fn attempts_last_24h(
    pool: &PgPool,
    phone_e164: &str,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM call_attempts WHERE phone_e164 = $1 AND reserved_at > $2 - interval '24 hours'")
        .bind(phone_e164)
        .bind(now)
        .fetch_one(pool)
        .await
}

/// The strictest attempts-per-24-hours cap on a callee: their state's rule, the campaign's own.
pub async fn attempt_cap_24h(
    pool: &PgPool,
    campaign_id: i64,
    state: Option<&str>,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT min(cap)::bigint FROM (
             SELECT max_attempts_24h AS cap FROM calling_rules WHERE active AND state = $2 AND max_attempts_24h IS NOT NULL
             UNION ALL
             SELECT max_number_attempts_24h FROM campaigns WHERE id = $1 AND max_number_attempts_24h IS NOT NULL
         ) caps",
    )
    .bind(campaign_id)
    .bind(state)
    .fetch_one(pool)
    .await
}

/// Why a call to a number may not be placed now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{number} is on a do-not-call list ({entry})")]
    DoNotCall { number: String, entry: String },
    #[error("it is outside calling hours for {number} ({zone}{})", state.as_deref().map(|s| format!(", {s}")).unwrap_or_default())]
    OutsideHours {
        number: String,
        zone: String,
        state: Option<String>,
    },
    #[error("{number} has had {attempts} calls in 24 hours; the limit is {cap}")]
    AttemptCap {
        number: String,
        attempts: i64,
        cap: i64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ClearanceError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Dnc(#[from] crate::dnc::DncError),
}

/// The one check every call a person asks for goes through (manual and preview dial,
/// transfers to numbers): the DNC lists, the calling window in the callee's zone and state, and
/// the 24-hour attempt caps, exactly as the hopper applies them to the dialer's calls.
pub async fn clear_to_call(
    pool: &PgPool,
    campaign_id: i64,
    number: &str,
    zone: &str,
    state: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), ClearanceError> {
    if let Some(hit) = crate::dnc::check(pool, Some(campaign_id), number).await? {
        return Err(Refusal::DoNotCall {
            number: number.to_string(),
            entry: hit.value,
        }
        .into());
    }
    let call_time: Option<i64> =
        sqlx::query_scalar("SELECT call_time_id FROM campaigns WHERE id = $1")
            .bind(campaign_id)
            .fetch_optional(pool)
            .await?
            .flatten();
    let window = window(pool, call_time, &[zone.to_string()], now).await?;
    let state_closed = state.is_some_and(|s| window.closed_states.iter().any(|c| c == s));
    if window.open_zones.is_empty() || state_closed {
        return Err(Refusal::OutsideHours {
            number: number.to_string(),
            zone: zone.to_string(),
            state: state.map(str::to_string),
        }
        .into());
    }
    if let Some(cap) = attempt_cap_24h(pool, campaign_id, state).await? {
        let attempts = attempts_last_24h(pool, number, now).await?;
        if attempts >= cap {
            return Err(Refusal::AttemptCap {
                number: number.to_string(),
                attempts,
                cap,
            }
            .into());
        }
    }
    Ok(())
}
