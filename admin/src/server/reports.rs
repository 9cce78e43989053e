//! The reports' queries: one per report, each over one date range (whole UTC days, both ends
//! included) and only the campaigns and inbound groups the viewer may see. Every query starts
//! from an index on (campaign or group or agent, time): `= ANY(ids)` over the visible ids keeps
//! "every campaign" an index scan too.

pub mod csv;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use dialtone_core::visibility;
use sqlx::types::Json;
use sqlx::PgPool;
use std::collections::BTreeMap;

use super::actor::{Actor, OpError};
use crate::model::Page;
use crate::pages::reports::{AgentRow, Args, CdrRow, DayRow, DispositionRow, ServiceRow, Summary};

/// The longest range a report covers (a leap year).
pub const MAX_DAYS: i64 = 366;
/// Calls per page of the call detail report.
pub const CALLS_PER_PAGE: u32 = 100;
/// The service level threshold when none is given, seconds.
pub const DEFAULT_SECS: i32 = 20;

/// What was wrong with the filter, in words for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("'{0}' is not a date; use YYYY-MM-DD")]
    Date(String),
    #[error("the range ends ({to}) before it starts ({from})")]
    Reversed { from: NaiveDate, to: NaiveDate },
    #[error("a report covers at most {MAX_DAYS} days; this range has {0}")]
    TooLong(i64),
    #[error("'{0}' is not a campaign or group number")]
    Id(String),
    #[error("the service level threshold is 1 to 3600 seconds, not '{0}'")]
    Secs(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("you may not see that campaign's reports")]
    Campaign,
    #[error("you may not see that inbound group's reports")]
    Group,
    #[error(transparent)]
    Op(#[from] OpError),
}

impl From<sqlx::Error> for ReportError {
    fn from(e: sqlx::Error) -> Self {
        ReportError::Op(OpError::Db(e))
    }
}

/// The checked filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub campaign: Option<i64>,
    pub group: Option<i64>,
    pub secs: i32,
    pub page: u32,
}

impl Filter {
    /// Reads the address's filter; an empty range is the 7 days ending `today`.
    pub fn parse(args: &Args, today: NaiveDate) -> Result<Filter, FilterError> {
        // Years far out are refused too: the range's arithmetic stays inside chrono's dates.
        let date = |raw: &str| {
            NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
                .ok()
                .filter(|d| (1970..=9999).contains(&chrono::Datelike::year(d)))
                .ok_or_else(|| FilterError::Date(raw.trim().chars().take(40).collect()))
        };
        let id = |raw: &str| match raw.trim() {
            "" => Ok(None),
            t => t
                .parse::<i64>()
                .map(Some)
                .map_err(|_| FilterError::Id(t.chars().take(40).collect())),
        };
        let to = match args.to.trim() {
            "" => today,
            t => date(t)?,
        };
        let from = match args.from.trim() {
            "" => to - Duration::days(6),
            f => date(f)?,
        };
        if to < from {
            return Err(FilterError::Reversed { from, to });
        }
        let days = (to - from).num_days() + 1;
        if days > MAX_DAYS {
            return Err(FilterError::TooLong(days));
        }
        let secs = match args.secs.trim() {
            "" => DEFAULT_SECS,
            s => s
                .parse::<i32>()
                .ok()
                .filter(|n| (1..=3600).contains(n))
                .ok_or_else(|| FilterError::Secs(s.chars().take(40).collect()))?,
        };
        Ok(Filter {
            from,
            to,
            campaign: id(&args.campaign)?,
            group: id(&args.group)?,
            secs,
            page: args.page.max(1),
        })
    }

    /// The first instant of the range.
    pub fn start(&self) -> DateTime<Utc> {
        self.from.and_time(chrono::NaiveTime::MIN).and_utc()
    }

    /// The instant after the range (midnight UTC after `to`).
    pub fn end(&self) -> DateTime<Utc> {
        (self.to + Duration::days(1))
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
    }

    /// The filter with its defaults filled in, as the form shows it.
    pub fn args(&self) -> Args {
        Args {
            from: self.from.to_string(),
            to: self.to.to_string(),
            campaign: self.campaign.map(|c| c.to_string()).unwrap_or_default(),
            group: self.group.map(|g| g.to_string()).unwrap_or_default(),
            secs: self.secs.to_string(),
            page: self.page,
        }
    }
}

/// The campaign and group ids a report reads. A chosen campaign (or group) narrows to it alone;
/// with neither chosen, everything the viewer may see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub campaigns: Vec<i64>,
    pub groups: Vec<i64>,
}

pub async fn scope(
    pool: &PgPool,
    actor: &Actor<'_>,
    filter: &Filter,
) -> Result<Scope, ReportError> {
    actor.staff()?;
    let viewer = actor.viewer;
    if let Some(c) = filter.campaign {
        if !visibility::sees_campaign(pool, viewer.user_id, c).await? {
            return Err(ReportError::Campaign);
        }
    }
    if let Some(g) = filter.group {
        if !visibility::sees_group(pool, viewer.user_id, g).await? {
            return Err(ReportError::Group);
        }
    }
    let everything = filter.campaign.is_none() && filter.group.is_none();
    let campaigns = match filter.campaign {
        Some(c) => vec![c],
        None if everything => {
            let seen = visibility::campaigns(pool, viewer.user_id).await?;
            sqlx::query_scalar(
                "SELECT id FROM campaigns WHERE $1::bigint[] IS NULL OR id = ANY($1) ORDER BY id",
            )
            .bind(seen.ids())
            .fetch_all(pool)
            .await?
        }
        None => Vec::new(),
    };
    let groups = match filter.group {
        Some(g) => vec![g],
        None if everything => {
            let seen = visibility::groups(pool, viewer.user_id).await?;
            sqlx::query_scalar(
                "SELECT id FROM inbound_groups WHERE $1::bigint[] IS NULL OR id = ANY($1) ORDER BY id",
            )
            .bind(seen.ids())
            .fetch_all(pool)
            .await?
        }
        None => Vec::new(),
    };
    Ok(Scope { campaigns, groups })
}

/// Inbound groups the viewer may report on: (id, name). Admins all; others those in
/// `user_inbound_groups`.
pub async fn group_choices(
    pool: &PgPool,
    actor: &Actor<'_>,
) -> Result<Vec<(i64, String)>, OpError> {
    actor.staff()?;
    let seen = visibility::groups(pool, actor.viewer.user_id).await?;
    Ok(sqlx::query_as(
        "SELECT id, name FROM inbound_groups WHERE $1::bigint[] IS NULL OR id = ANY($1) ORDER BY name",
    )
    .bind(seen.ids())
    .fetch_all(pool)
    .await?)
}

/// The campaigns of a campaign-only report: the chosen one, or all visible (a group is ignored).
async fn campaign_scope(
    pool: &PgPool,
    actor: &Actor<'_>,
    filter: &Filter,
) -> Result<Vec<i64>, ReportError> {
    let only_campaign = Filter {
        group: None,
        ..filter.clone()
    };
    Ok(scope(pool, actor, &only_campaign).await?.campaigns)
}

/// Dials per day by outcome (`call_attempts`), and the rolling 30-day FTC abandon rate as of
/// each day's end (`abandon_ledger`).
pub async fn summary(
    pool: &PgPool,
    actor: &Actor<'_>,
    filter: &Filter,
) -> Result<Summary, ReportError> {
    let campaigns = campaign_scope(pool, actor, filter).await?;
    let days: Vec<DayRow> = sqlx::query_as(
        "WITH attempts AS (
             SELECT (reserved_at AT TIME ZONE 'UTC')::date AS day, count(*) AS dials,
                    count(*) FILTER (WHERE outcome = 'answered_human') AS human,
                    count(*) FILTER (WHERE outcome = 'answered_machine') AS machine,
                    count(*) FILTER (WHERE outcome = 'no_answer') AS no_answer,
                    count(*) FILTER (WHERE outcome = 'busy') AS busy,
                    count(*) FILTER (WHERE outcome = 'congestion') AS congestion,
                    count(*) FILTER (WHERE outcome = 'abandoned') AS abandoned
             FROM call_attempts
             WHERE campaign_id = ANY($1) AND reserved_at >= $2 AND reserved_at < $3
             GROUP BY 1
         ), ledger AS (
             SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day,
                    count(*) FILTER (WHERE kind = 'live_answer') AS live,
                    count(*) FILTER (WHERE kind = 'abandon') AS abandons
             FROM abandon_ledger
             WHERE campaign_id = ANY($1) AND occurred_at >= $6 AND occurred_at < $3
             GROUP BY 1
         ), rolling AS (
             SELECT $4::date + i AS day,
                    sum(coalesce(l.live, 0)) OVER w AS live_30d,
                    sum(coalesce(l.abandons, 0)) OVER w AS abandons_30d
             FROM generate_series(-29, $5::date - $4::date) i
             LEFT JOIN ledger l ON l.day = $4::date + i
             WINDOW w AS (ORDER BY i ROWS BETWEEN 29 PRECEDING AND CURRENT ROW)
         )
         SELECT r.day::text AS day, coalesce(a.dials, 0) AS dials, coalesce(a.human, 0) AS human,
                coalesce(a.machine, 0) AS machine, coalesce(a.no_answer, 0) AS no_answer, coalesce(a.busy, 0) AS busy,
                coalesce(a.congestion, 0) AS congestion, coalesce(a.abandoned, 0) AS abandoned,
                coalesce(a.dials - a.human - a.machine - a.no_answer - a.busy - a.congestion - a.abandoned, 0) AS other,
                r.live_30d::bigint AS live_30d, r.abandons_30d::bigint AS abandons_30d
         FROM rolling r LEFT JOIN attempts a ON a.day = r.day
         WHERE r.day >= $4::date
         ORDER BY r.day",
    )
    .bind(&campaigns)
    .bind(filter.start())
    .bind(filter.end())
    .bind(filter.from)
    .bind(filter.to)
    .bind(filter.start() - Duration::days(29))
    .fetch_all(pool)
    .await?;
    let cap_pct: Option<f64> =
        sqlx::query_scalar("SELECT min(abandon_cap_pct)::float8 FROM campaigns WHERE id = ANY($1)")
            .bind(&campaigns)
            .fetch_one(pool)
            .await?;
    Ok(Summary {
        days,
        cap_pct: cap_pct.unwrap_or(3.0),
    })
}

#[derive(sqlx::FromRow)]
struct AgentTimes {
    user_id: i64,
    agent: String,
    logged_in: f64,
    talk: f64,
    wait: f64,
    pause: f64,
    wrapup: f64,
    pauses: Json<BTreeMap<String, f64>>,
    calls: i64,
    dispositions: Json<BTreeMap<String, i64>>,
}

/// Each agent's time by state from `agent_state_history`, clipped to the range (an open state
/// ends now), with the calls they handled and the dispositions they set.
///
/// States are looked up by their start (the index): a state that began more than a day before
/// the range is not counted; no state lasts that long while an agent is logged in.
pub async fn agents(
    pool: &PgPool,
    actor: &Actor<'_>,
    filter: &Filter,
) -> Result<Vec<AgentRow>, ReportError> {
    let scope = scope(
        pool,
        actor,
        &Filter {
            group: None,
            ..filter.clone()
        },
    )
    .await?;
    let rows: Vec<AgentTimes> = sqlx::query_as(
        "WITH spans AS (
             SELECT h.user_id, h.state, h.pause_code,
                    extract(epoch FROM least(coalesce(h.ended_at, now()), $3) - greatest(h.started_at, $2))::float8 AS secs
             FROM agent_state_history h
             WHERE h.campaign_id = ANY($1) AND h.started_at >= $2 - interval '24 hours' AND h.started_at < $3
               AND coalesce(h.ended_at, now()) > $2
         ), by_code AS (
             SELECT user_id, state, pause_code, sum(secs) AS secs FROM spans WHERE secs > 0 GROUP BY 1, 2, 3
         ), times AS (
             SELECT user_id,
                    coalesce(sum(secs) FILTER (WHERE state <> 'logged_out'), 0) AS logged_in,
                    coalesce(sum(secs) FILTER (WHERE state = 'on_call'), 0) AS talk,
                    coalesce(sum(secs) FILTER (WHERE state = 'ready'), 0) AS wait,
                    coalesce(sum(secs) FILTER (WHERE state = 'paused'), 0) AS pause,
                    coalesce(sum(secs) FILTER (WHERE state = 'wrapup'), 0) AS wrapup,
                    coalesce(jsonb_object_agg(coalesce(pause_code, '(none)'), secs) FILTER (WHERE state = 'paused'), '{}') AS pauses
             FROM by_code GROUP BY user_id
         ), handled AS (
             SELECT c.agent_user_id AS user_id, c.disposition, count(*) AS n
             FROM calls c
             WHERE c.agent_user_id = ANY(ARRAY(SELECT user_id FROM times)) AND c.created_at >= $2 AND c.created_at < $3
               AND (c.campaign_id = ANY($1) OR c.inbound_group_id = ANY($4))
             GROUP BY 1, 2
         ), calls AS (
             SELECT user_id, sum(n)::bigint AS calls,
                    coalesce(jsonb_object_agg(disposition, n) FILTER (WHERE disposition IS NOT NULL), '{}') AS dispositions
             FROM handled GROUP BY user_id
         )
         SELECT t.user_id, u.username AS agent, t.logged_in, t.talk, t.wait, t.pause, t.wrapup, t.pauses,
                coalesce(c.calls, 0) AS calls, coalesce(c.dispositions, '{}') AS dispositions
         FROM times t JOIN users u ON u.id = t.user_id LEFT JOIN calls c ON c.user_id = t.user_id
         ORDER BY u.username",
    )
    .bind(&scope.campaigns)
    .bind(filter.start())
    .bind(filter.end())
    .bind(&scope.groups)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut pauses: Vec<(String, f64)> = r.pauses.0.into_iter().collect();
            pauses.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let mut dispositions: Vec<(String, i64)> = r.dispositions.0.into_iter().collect();
            dispositions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            AgentRow {
                user_id: r.user_id,
                agent: r.agent,
                logged_in: r.logged_in,
                talk: r.talk,
                wait: r.wait,
                pause: r.pause,
                wrapup: r.wrapup,
                pauses,
                calls: r.calls,
                dispositions,
            }
        })
        .collect())
}

/// Which calls the call-level reports read: the scope's campaigns or groups, in the range.
/// `IS NOT NULL` lets the planner use the partial group index.
const CALLS_IN_SCOPE: &str =
    "(c.campaign_id = ANY($1) OR (c.inbound_group_id IS NOT NULL AND c.inbound_group_id = ANY($2)))
     AND c.created_at >= $3 AND c.created_at < $4";

/// Calls by the status code agents set, with its name and share of all dispositioned calls.
pub async fn dispositions(
    pool: &PgPool,
    actor: &Actor<'_>,
    filter: &Filter,
) -> Result<Vec<DispositionRow>, ReportError> {
    let scope = scope(pool, actor, filter).await?;
    Ok(sqlx::query_as(&format!(
        "SELECT c.disposition AS code, coalesce(s.name, '') AS name, count(*) AS calls,
                (100.0 * count(*) / sum(count(*)) OVER ())::float8 AS share_pct
         FROM calls c LEFT JOIN statuses s ON s.code = c.disposition
         WHERE {CALLS_IN_SCOPE} AND c.disposition IS NOT NULL
         GROUP BY c.disposition, s.name
         ORDER BY calls DESC, code"
    ))
    .bind(&scope.campaigns)
    .bind(&scope.groups)
    .bind(filter.start())
    .bind(filter.end())
    .fetch_all(pool)
    .await?)
}

/// Per inbound group: calls offered, answered, answered within `secs`, abandoned (the caller
/// hung up before an agent, or the queue timed out), and the mean wait of answered calls.
pub async fn service_level(
    pool: &PgPool,
    actor: &Actor<'_>,
    filter: &Filter,
) -> Result<Vec<ServiceRow>, ReportError> {
    let groups = scope(
        pool,
        actor,
        &Filter {
            campaign: None,
            ..filter.clone()
        },
    )
    .await?
    .groups;
    Ok(sqlx::query_as(
        "SELECT g.id AS group_id, g.name AS group_name, count(c.id) AS offered,
                count(c.id) FILTER (WHERE c.agent_connected_at IS NOT NULL) AS answered,
                count(c.id) FILTER (WHERE c.agent_connected_at IS NOT NULL AND c.wait_secs <= $4) AS within,
                count(c.id) FILTER (WHERE c.agent_connected_at IS NULL AND c.outcome IN ('caller_hangup', 'queue_timeout')) AS abandons,
                (avg(c.wait_secs) FILTER (WHERE c.agent_connected_at IS NOT NULL))::float8 AS avg_wait
         FROM inbound_groups g
         LEFT JOIN calls c ON c.inbound_group_id = g.id AND c.created_at >= $2 AND c.created_at < $3
         WHERE g.id = ANY($1)
         GROUP BY g.id, g.name
         ORDER BY g.name",
    )
    .bind(&groups)
    .bind(filter.start())
    .bind(filter.end())
    .bind(filter.secs)
    .fetch_all(pool)
    .await?)
}

/// The call detail query, newest first; `LIMIT $5 OFFSET $6`. An inbound call counts as
/// answered when an agent took it (the switch answers every caller at once).
pub(crate) fn cdr_sql() -> String {
    format!(
        "SELECT c.id::text AS id, to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS started, c.direction,
                cp.name AS campaign, g.name AS group_name, coalesce(c.phone_e164, c.caller_id) AS number, u.username AS agent,
                c.outcome, c.disposition,
                to_char(CASE WHEN c.direction = 'inbound' THEN c.agent_connected_at ELSE c.answered_at END AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS answered,
                to_char(c.ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS ended,
                c.wait_secs::float8 AS wait_secs, c.talk_secs::float8 AS talk_secs, r.id AS recording_id
         FROM calls c
         LEFT JOIN campaigns cp ON cp.id = c.campaign_id
         LEFT JOIN inbound_groups g ON g.id = c.inbound_group_id
         LEFT JOIN users u ON u.id = c.agent_user_id
         LEFT JOIN LATERAL (SELECT id FROM recordings WHERE call_id = c.id ORDER BY started_at LIMIT 1) r ON true
         WHERE {CALLS_IN_SCOPE}
         ORDER BY c.created_at DESC, c.id
         LIMIT $5 OFFSET $6"
    )
}

/// One page of calls, newest first. Counts no total (a year of calls is many rows): one row
/// more than a page says there is a next page.
pub async fn calls(
    pool: &PgPool,
    actor: &Actor<'_>,
    filter: &Filter,
) -> Result<Page<CdrRow>, ReportError> {
    let scope = scope(pool, actor, filter).await?;
    let per = i64::from(CALLS_PER_PAGE);
    let mut rows: Vec<CdrRow> = sqlx::query_as(&cdr_sql())
        .bind(&scope.campaigns)
        .bind(&scope.groups)
        .bind(filter.start())
        .bind(filter.end())
        .bind(per + 1)
        .bind(i64::from(filter.page - 1) * per)
        .fetch_all(pool)
        .await?;
    let more = rows.len() as i64 > per;
    rows.truncate(CALLS_PER_PAGE as usize);
    let seen = i64::from(filter.page - 1) * per + rows.len() as i64;
    Ok(Page {
        total: seen + i64::from(more),
        rows,
        page: filter.page,
        per_page: CALLS_PER_PAGE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(from: &str, to: &str) -> Args {
        Args {
            from: from.into(),
            to: to.into(),
            ..Args::default()
        }
    }

    #[test]
    fn filters() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).expect("date");
        let f = Filter::parse(&args("", ""), today).expect("defaults");
        assert_eq!(
            (f.from.to_string(), f.to.to_string(), f.secs, f.page),
            ("2026-11-20".into(), "2026-11-26".into(), 20, 1)
        );
        assert_eq!(f.end() - f.start(), Duration::days(7));
        assert!(matches!(
            Filter::parse(&args("2026-11-02", "2026-11-01"), today),
            Err(FilterError::Reversed { .. })
        ));
        assert_eq!(
            Filter::parse(&args("2025-01-01", "2026-01-02"), today),
            Err(FilterError::TooLong(367))
        );
        assert!(Filter::parse(&args("2025-01-01", "2025-12-31"), today).is_ok());
        assert!(matches!(
            Filter::parse(&args("yesterday", ""), today),
            Err(FilterError::Date(_))
        ));
        let bad_secs = Args {
            secs: "0".into(),
            ..args("", "")
        };
        assert!(matches!(
            Filter::parse(&bad_secs, today),
            Err(FilterError::Secs(_))
        ));
        let bad_id = Args {
            campaign: "x".into(),
            ..args("", "")
        };
        assert!(matches!(
            Filter::parse(&bad_id, today),
            Err(FilterError::Id(_))
        ));
    }
}
