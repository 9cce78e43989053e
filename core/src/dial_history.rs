//! What the predictive pacer reads from the database: the floor as it is now, and the
//! campaign's recent dials, talk and wrap-up times and ledger entries to learn from. The pacer
//! itself (`pacing::Pacer`) is pure; this is its only way in.

use crate::vocabulary::AgentState;
use sqlx::PgPool;

use crate::agents::LIVENESS_SECS;
use crate::pacing::estimates::{DIAL_WINDOW, TALK_WINDOW};
use crate::pacing::{Floor, Pacer};

/// The floor now, as seconds elapsed (see [`Floor`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FloorNow {
    pub ready: u32,
    pub waiting: u32,
    pub talking: Vec<f64>,
    pub wrapping: Vec<f64>,
    pub pending: Vec<f64>,
}

impl FloorNow {
    pub fn as_floor(&self) -> Floor<'_> {
        Floor {
            ready: self.ready,
            waiting: self.waiting,
            talking: &self.talking,
            wrapping: &self.wrapping,
            pending: &self.pending,
        }
    }
}

/// The campaign's agents (those whose page is alive), this node's dials not yet answered, and
/// its answered calls still waiting for an agent.
pub async fn floor(pool: &PgPool, campaign_id: i64, node: &str) -> Result<FloorNow, sqlx::Error> {
    let agents: Vec<(AgentState, f64)> = sqlx::query_as(
        "SELECT state, extract(epoch FROM now() - state_since)::float8 FROM agent_sessions
         WHERE campaign_id = $1 AND logged_out_at IS NULL AND state IN ('ready', 'reserved', 'on_call', 'wrapup')
           AND last_seen_at > now() - make_interval(secs => $2)",
    )
    .bind(campaign_id)
    .bind(f64::from(LIVENESS_SECS))
    .fetch_all(pool)
    .await?;
    let mut now = FloorNow::default();
    for (state, secs) in agents {
        match state {
            AgentState::Ready => now.ready += 1,
            AgentState::Wrapup => now.wrapping.push(secs),
            _ => now.talking.push(secs),
        }
    }
    now.pending = sqlx::query_scalar(
        "SELECT extract(epoch FROM now() - coalesce(dialed_at, reserved_at))::float8 FROM call_attempts
         WHERE campaign_id = $1 AND node = $2 AND state = 'originating' AND answered_at IS NULL",
    )
    .bind(campaign_id)
    .bind(node)
    .fetch_all(pool)
    .await?;
    let waiting: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM calls WHERE campaign_id = $1 AND node = $2 AND direction = 'outbound'
           AND state IN ('answered', 'queued') AND agent_connected_at IS NULL",
    )
    .bind(campaign_id)
    .bind(node)
    .fetch_one(pool)
    .await?;
    now.waiting = u32::try_from(waiting).unwrap_or(u32::MAX);
    Ok(now)
}

/// Loads the campaign's recent history into `pacer`'s estimates, replacing what they held.
pub async fn learn(pool: &PgPool, campaign_id: i64, pacer: &mut Pacer) -> Result<(), sqlx::Error> {
    // A dial is live when it reached the point of needing an agent: a person connected or
    // abandoned. It settled when the call came to us (after AMD), or when it ended.
    let dials: Vec<(f64, bool, f64)> = sqlx::query_as(
        "SELECT extract(epoch FROM dialed_at)::float8, outcome IN ('answered_human', 'abandoned'),
                extract(epoch FROM coalesce(answered_at, resolved_at) - dialed_at)::float8
         FROM call_attempts
         WHERE campaign_id = $1 AND state = 'resolved' AND dialed_at IS NOT NULL AND outcome <> 'cancelled'
         ORDER BY reserved_at DESC LIMIT $2",
    )
    .bind(campaign_id)
    .bind(DIAL_WINDOW as i64)
    .fetch_all(pool)
    .await?;
    let talks: Vec<f64> = sqlx::query_scalar(
        "SELECT talk_secs::float8 FROM calls
         WHERE campaign_id = $1 AND agent_connected_at IS NOT NULL AND talk_secs IS NOT NULL
         ORDER BY created_at DESC LIMIT $2",
    )
    .bind(campaign_id)
    .bind(TALK_WINDOW as i64)
    .fetch_all(pool)
    .await?;
    let wraps: Vec<f64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM ended_at - started_at)::float8 FROM agent_state_history
         WHERE campaign_id = $1 AND state = 'wrapup' AND ended_at IS NOT NULL
         ORDER BY id DESC LIMIT 100",
    )
    .bind(campaign_id)
    .fetch_all(pool)
    .await?;
    pacer.clear_estimates();
    for (dialed_at, live, settle) in dials.into_iter().rev() {
        pacer.observe_dial(dialed_at, live, settle);
    }
    for secs in talks.into_iter().rev() {
        pacer.observe_talk(secs);
    }
    for secs in wraps.into_iter().rev() {
        pacer.observe_wrap(secs);
    }
    Ok(())
}

/// Live answers recorded in the ledger after row `after`, oldest first: (row, abandoned).
pub async fn answers_since(
    pool: &PgPool,
    campaign_id: i64,
    after: i64,
) -> Result<Vec<(i64, bool)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, kind = 'abandon' FROM abandon_ledger
         WHERE campaign_id = $1 AND id > $2 AND kind IN ('live_answer', 'abandon')
         ORDER BY id LIMIT 10000",
    )
    .bind(campaign_id)
    .bind(after)
    .fetch_all(pool)
    .await
}

/// The pacer's saved limit and ledger cursor; for a campaign without one, the ledger's end (its
/// history is already in the 30-day counts).
pub async fn load_state(
    pool: &PgPool,
    campaign_id: i64,
) -> Result<(Option<f64>, i64), sqlx::Error> {
    let saved: Option<(f64, i64)> =
        sqlx::query_as("SELECT theta, ledger_cursor FROM pacer_state WHERE campaign_id = $1")
            .bind(campaign_id)
            .fetch_optional(pool)
            .await?;
    match saved {
        Some((theta, cursor)) => Ok((Some(theta), cursor)),
        None => {
            let end: Option<i64> =
                sqlx::query_scalar("SELECT max(id) FROM abandon_ledger WHERE campaign_id = $1")
                    .bind(campaign_id)
                    .fetch_one(pool)
                    .await?;
            Ok((None, end.unwrap_or(0)))
        }
    }
}

pub async fn save_state(
    pool: &PgPool,
    campaign_id: i64,
    theta: f64,
    cursor: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO pacer_state (campaign_id, theta, ledger_cursor) VALUES ($1, $2, $3)
         ON CONFLICT (campaign_id) DO UPDATE SET theta = EXCLUDED.theta, ledger_cursor = EXCLUDED.ledger_cursor, updated_at = now()",
    )
    .bind(campaign_id)
    .bind(theta)
    .bind(cursor)
    .execute(pool)
    .await?;
    Ok(())
}
