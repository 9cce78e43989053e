//! The next-leads query: which leads are due for a dial now, longest overdue first.
//!
//! Urgency is the due time itself: a callback, a retry or a priority lead is made urgent by
//! giving it an earlier `next_attempt_at`, which keeps one order that an index can serve.
//!
//! It never scans the leads table. For each (list, status, time zone) that may be called it walks
//! the `leads_due` index in due order and stops at `limit`; the union of those short runs is
//! ordered once. The caller works out which zones are open (calling hours in the callee's zone)
//! and which states are closed, so the query itself stays a set of index range reads.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

/// What the hopper asks for.
#[derive(Debug, Clone)]
pub struct DueQuery<'a> {
    pub list_ids: &'a [i64],
    pub statuses: &'a [String],
    /// IANA zones where calling hours are open now.
    pub open_zones: &'a [String],
    /// States whose own rules close them now, though their zone is open.
    pub closed_states: &'a [String],
    /// Leads with this many attempts or more are skipped.
    pub max_attempts: i32,
    pub now: DateTime<Utc>,
    pub limit: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DueLead {
    pub id: i64,
    pub list_id: i64,
    pub phone_e164: String,
    pub time_zone: String,
    pub state: Option<String>,
    pub attempt_count: i32,
    pub priority: i16,
    pub next_attempt_at: DateTime<Utc>,
}

/// The SQL of [`next_due`], public so benchmarks can EXPLAIN it.
///
/// Each (list, status, zone) run is read from `leads_due` alone (an index-only scan: `id` and the
/// filtered columns are in the index); only the leads finally chosen are read from the table.
pub const NEXT_DUE_SQL: &str = "
    WITH due AS (
        SELECT d.id, d.next_attempt_at FROM unnest($1::bigint[]) AS li(list_id)
        CROSS JOIN unnest($2::text[]) AS st(status)
        CROSS JOIN unnest($3::text[]) AS tz(zone)
        CROSS JOIN LATERAL (
            SELECT l.id, l.next_attempt_at
            FROM leads l
            WHERE l.list_id = li.list_id AND l.status = st.status AND l.time_zone = tz.zone
              AND l.next_attempt_at IS NOT NULL AND l.next_attempt_at <= $4
              AND l.attempt_count < $5
              AND (l.state IS NULL OR l.state <> ALL($6))
            ORDER BY l.next_attempt_at
            LIMIT $7
        ) d
        ORDER BY d.next_attempt_at, d.id
        LIMIT $7
    )
    SELECT l.id, l.list_id, l.phone_e164, l.time_zone, l.state, l.attempt_count, l.priority, l.next_attempt_at
    FROM due JOIN leads l ON l.id = due.id
    ORDER BY due.next_attempt_at, due.id";

/// The leads due now, longest overdue first, at most `limit`.
pub async fn next_due<'e>(
    db: impl PgExecutor<'e>,
    q: &DueQuery<'_>,
) -> Result<Vec<DueLead>, sqlx::Error> {
    sqlx::query_as(NEXT_DUE_SQL)
        .bind(q.list_ids)
        .bind(q.statuses)
        .bind(q.open_zones)
        .bind(q.now)
        .bind(q.max_attempts)
        .bind(q.closed_states)
        .bind(q.limit)
        .fetch_all(db)
        .await
}
