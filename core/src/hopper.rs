//! The hopper: leads claimed for dialing, by one node at a time.
//!
//! [`fill`] takes the campaign's due leads in its open calling window, locks them with
//! `FOR UPDATE SKIP LOCKED` (so several nodes filling at once each get different leads), drops
//! those a DNC list now forbids (they get DNCL/DNCC and are never dialed) and those over a
//! 24-hour attempt cap (due again in an hour), and moves the rest into `hopper`, taking them out
//! of the due index. All in one transaction.
//!
//! A claim lasts [`HOLD_SECS`]: a lead is claimed only if its zone's calling hours stay open that
//! long, [`take`] never hands out an older claim, and [`release_stale`] puts older claims (a
//! hopper larger than the dialer uses, or a node that stopped) back among the due leads, where
//! the next fill checks them again: calling hours, DNC lists and caps are never older than that.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::compliance;
use crate::leads::{self, DueQuery};

/// A lead in the hopper, ready to dial.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HopperLead {
    pub lead_id: i64,
    pub list_id: i64,
    pub phone_e164: String,
    pub state: Option<String>,
    pub attempt_count: i32,
}

/// Why a fill returned nothing, for the operator's screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filled {
    Leads(Vec<HopperLead>),
    /// The campaign is inactive or missing.
    Inactive,
    /// No active list, or no lead in any.
    NoLists,
    /// Every zone of its leads is outside calling hours now.
    OutsideHours,
}

#[derive(sqlx::FromRow)]
struct Campaign {
    active: bool,
    dial_statuses: Vec<String>,
    max_attempts: i32,
    call_time_id: Option<i64>,
    max_number_attempts_24h: Option<i32>,
}

/// How long a claim stays good, in seconds.
pub const HOLD_SECS: i32 = 60;

/// Claims up to `limit` due leads of the campaign for `node`.
pub async fn fill(
    pool: &PgPool,
    campaign_id: i64,
    node: &str,
    limit: i64,
    now: DateTime<Utc>,
) -> Result<Filled, sqlx::Error> {
    let campaign: Option<Campaign> =
        sqlx::query_as("SELECT active, dial_statuses, max_attempts, call_time_id, max_number_attempts_24h FROM campaigns WHERE id = $1")
            .bind(campaign_id)
            .fetch_optional(pool)
            .await?;
    let Some(campaign) = campaign.filter(|c| c.active) else {
        return Ok(Filled::Inactive);
    };
    let lists: Vec<(i64, Vec<String>)> = sqlx::query_as(
        "SELECT id, time_zones FROM lists WHERE campaign_id = $1 AND active AND (expires_on IS NULL OR expires_on >= $2::date)",
    )
    .bind(campaign_id)
    .bind(now)
    .fetch_all(pool)
    .await?;
    let list_ids: Vec<i64> = lists.iter().map(|(id, _)| *id).collect();
    let mut zones: Vec<String> = lists.into_iter().flat_map(|(_, z)| z).collect();
    zones.sort();
    zones.dedup();
    if list_ids.is_empty() || zones.is_empty() {
        return Ok(Filled::NoLists);
    }
    // Open now and still open when the claim runs out.
    let mut window = compliance::window(pool, campaign.call_time_id, &zones, now).await?;
    let until = compliance::window(
        pool,
        campaign.call_time_id,
        &zones,
        now + chrono::Duration::seconds(HOLD_SECS.into()),
    )
    .await?;
    window.open_zones.retain(|z| until.open_zones.contains(z));
    for state in until.closed_states {
        if !window.closed_states.contains(&state) {
            window.closed_states.push(state);
        }
    }
    if window.open_zones.is_empty() {
        return Ok(Filled::OutsideHours);
    }

    // Callbacks for anyone (CALLBK) are dialed when due, whatever statuses the campaign dials.
    let mut statuses = campaign.dial_statuses.clone();
    if !statuses.iter().any(|s| s == "CALLBK") {
        statuses.push("CALLBK".to_string());
    }
    let mut tx = pool.begin().await?;
    let query = DueQuery {
        list_ids: &list_ids,
        statuses: &statuses,
        open_zones: &window.open_zones,
        closed_states: &window.closed_states,
        max_attempts: campaign.max_attempts,
        now,
        limit,
    };
    // Lock the due candidates; what another node holds is skipped, what it took meanwhile no
    // longer passes the re-checked conditions.
    let locked: Vec<HopperLead> = sqlx::query_as(&format!(
        "WITH candidates AS ({due})
         SELECT l.id AS lead_id, l.list_id, l.phone_e164, l.state, l.attempt_count
         FROM leads l JOIN candidates c ON c.id = l.id
         WHERE l.next_attempt_at IS NOT NULL AND l.next_attempt_at <= $4 AND l.status = ANY($2)
         ORDER BY c.next_attempt_at, l.id
         FOR UPDATE OF l SKIP LOCKED",
        due = leads::NEXT_DUE_SQL
    ))
    .bind(query.list_ids)
    .bind(query.statuses)
    .bind(query.open_zones)
    .bind(query.now)
    .bind(query.max_attempts)
    .bind(query.closed_states)
    .bind(query.limit)
    .fetch_all(&mut *tx)
    .await?;
    if locked.is_empty() {
        tx.commit().await?;
        return Ok(Filled::Leads(Vec::new()));
    }

    // DNC, as of now: numbers listed since they were loaded never get dialed.
    let ids: Vec<i64> = locked.iter().map(|l| l.lead_id).collect();
    let phones: Vec<String> = locked.iter().map(|l| l.phone_e164.clone()).collect();
    let blocked: Vec<(i64, bool)> = sqlx::query_as(&format!(
        "SELECT c.id, bool_or(d.campaign_id IS NULL) FROM unnest($1::bigint[], $2::text[]) AS c(id, phone)
         JOIN dnc_entries d ON {}
         GROUP BY c.id",
        crate::dnc::blocks("c.phone", "$3")
    ))
    .bind(&ids)
    .bind(&phones)
    .bind(campaign_id)
    .fetch_all(&mut *tx)
    .await?;
    for (id, system) in &blocked {
        sqlx::query("UPDATE leads SET status = $2, next_attempt_at = NULL, updated_at = now() WHERE id = $1")
            .bind(id)
            .bind(if *system { "DNCL" } else { "DNCC" })
            .execute(&mut *tx)
            .await?;
    }

    // Attempts to the same number in the last 24 hours, against the strictest cap that applies.
    let over_cap: Vec<i64> = sqlx::query_scalar(
        "SELECT c.id FROM unnest($1::bigint[], $2::text[], $3::text[]) AS c(id, phone, state)
         CROSS JOIN LATERAL (
             SELECT min(cap) AS cap FROM (
                 SELECT max_attempts_24h AS cap FROM calling_rules WHERE active AND state = c.state AND max_attempts_24h IS NOT NULL
                 UNION ALL SELECT $4::integer WHERE $4::integer IS NOT NULL) caps) limit_
         WHERE limit_.cap IS NOT NULL
           AND (SELECT count(*) FROM call_attempts a WHERE a.phone_e164 = c.phone AND a.reserved_at > $5 - interval '24 hours') >= limit_.cap",
    )
    .bind(&ids)
    .bind(&phones)
    .bind(locked.iter().map(|l| l.state.clone().unwrap_or_default()).collect::<Vec<String>>())
    .bind(campaign.max_number_attempts_24h)
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    if !over_cap.is_empty() {
        sqlx::query("UPDATE leads SET next_attempt_at = $2 + interval '1 hour' WHERE id = ANY($1)")
            .bind(&over_cap)
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }

    let ready: Vec<HopperLead> = locked
        .into_iter()
        .filter(|l| {
            !blocked.iter().any(|(id, _)| *id == l.lead_id) && !over_cap.contains(&l.lead_id)
        })
        .collect();
    let ready_ids: Vec<i64> = ready.iter().map(|l| l.lead_id).collect();
    sqlx::query("UPDATE leads SET next_attempt_at = NULL, updated_at = now() WHERE id = ANY($1)")
        .bind(&ready_ids)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO hopper (lead_id, campaign_id, node) SELECT unnest($1::bigint[]), $2, $3",
    )
    .bind(&ready_ids)
    .bind(campaign_id)
    .bind(node)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Filled::Leads(ready))
}

/// Takes the next lead of this node's hopper for the campaign, if any, among claims younger
/// than [`HOLD_SECS`]. With `attempt`, the dial attempt of that id is reserved for the lead in
/// the same statement (as `attempts::reserve` would): a database outage between the two would
/// leave a lead out of the hopper, not due, and never dialed.
pub async fn take(
    pool: &PgPool,
    campaign_id: i64,
    node: &str,
    attempt: Option<uuid::Uuid>,
) -> Result<Option<HopperLead>, sqlx::Error> {
    sqlx::query_as(
        "WITH taken AS (
             DELETE FROM hopper WHERE lead_id = (
                 SELECT lead_id FROM hopper WHERE campaign_id = $1 AND node = $2 AND claimed_at > now() - make_interval(secs => $3)
                 ORDER BY priority DESC, claimed_at LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING lead_id
         ), lead AS (
             SELECT l.id AS lead_id, l.list_id, l.phone_e164, l.state, l.attempt_count FROM taken JOIN leads l ON l.id = taken.lead_id
         ), reserved AS (
             INSERT INTO call_attempts (call_id, campaign_id, lead_id, list_id, phone_e164, node)
             SELECT $4, $1, lead_id, list_id, phone_e164, $2 FROM lead WHERE $4::uuid IS NOT NULL
         )
         SELECT * FROM lead",
    )
    .bind(campaign_id)
    .bind(node)
    .bind(f64::from(HOLD_SECS))
    .bind(attempt)
    .fetch_optional(pool)
    .await
}

/// Puts the campaign's claims older than [`HOLD_SECS`], on any node, back among the due leads
/// (those still in a status the campaign dials; the others stay undialable). Returns how many.
pub async fn release_stale(pool: &PgPool, campaign_id: i64) -> Result<u64, sqlx::Error> {
    let released = sqlx::query(
        "WITH gone AS (
             DELETE FROM hopper WHERE campaign_id = $1 AND claimed_at <= now() - make_interval(secs => $2)
             RETURNING lead_id)
         UPDATE leads l SET next_attempt_at = now(), updated_at = now()
         FROM gone, campaigns c
         WHERE l.id = gone.lead_id AND c.id = $1 AND l.next_attempt_at IS NULL
           AND (l.status = ANY(c.dial_statuses) OR l.status = 'CALLBK')",
    )
    .bind(campaign_id)
    .bind(f64::from(HOLD_SECS))
    .execute(pool)
    .await?;
    Ok(released.rows_affected())
}
