//! Preview dialing: the agent sees the next lead before it is dialed, then dials or skips it.
//! The lead is claimed through the hopper, as the dialer claims leads (its calling window, DNC
//! lists and 24-hour caps checked on the way), and held for the agent's session alone until
//! they dial it, skip it (due again in an hour) or log out (due again at once).

use crate::vocabulary::AgentState;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::hopper::{self, Filled};

/// How long a skipped lead rests before it is offered again.
pub const SKIP_MINUTES: i32 = 60;

#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("agent session {0} is not logged in")]
    NoSession(i64),
    #[error("the agent is {0}: preview a lead when ready or paused")]
    AgentBusy(AgentState),
    #[error("no lead can be called now: {0}")]
    Nothing(&'static str),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// Hands back the session's previewed lead, due again after `rest_minutes`, unless it was
/// dialed meanwhile.
pub async fn release(pool: &PgPool, session_id: i64, rest_minutes: i32) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let lead: Option<Option<i64>> =
        sqlx::query_scalar("SELECT preview_lead_id FROM agent_sessions WHERE id = $1 FOR UPDATE")
            .bind(session_id)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(Some(lead_id)) = lead {
        sqlx::query(
            "UPDATE leads SET next_attempt_at = now() + make_interval(mins => $2), updated_at = now()
             WHERE id = $1 AND next_attempt_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM call_attempts WHERE lead_id = $1 AND state <> 'resolved')",
        )
        .bind(lead_id)
        .bind(rest_minutes)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE agent_sessions SET preview_lead_id = NULL WHERE id = $1")
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The agent dialed the lead they previewed: it is the dialer's again (its outcome sets when
/// it is next due), and the session previews nothing.
pub async fn dialed(pool: &PgPool, session_id: i64, lead_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE agent_sessions SET preview_lead_id = NULL WHERE id = $1 AND preview_lead_id = $2",
    )
    .bind(session_id)
    .bind(lead_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Claims the campaign's next lead for the session to preview (handing back the one it had).
pub async fn next(
    pool: &PgPool,
    session_id: i64,
    node: &str,
    now: DateTime<Utc>,
) -> Result<i64, PreviewError> {
    let session: Option<(i64, AgentState)> = sqlx::query_as(
        "SELECT campaign_id, state FROM agent_sessions WHERE id = $1 AND logged_out_at IS NULL",
    )
    .bind(session_id)
    .fetch_optional(pool)
    .await?;
    let (campaign_id, state) = session.ok_or(PreviewError::NoSession(session_id))?;
    if !state.is_idle() {
        return Err(PreviewError::AgentBusy(state));
    }
    release(pool, session_id, 0).await?;
    match hopper::fill(pool, campaign_id, node, 1, now).await? {
        Filled::Inactive => return Err(PreviewError::Nothing("the campaign is not active")),
        Filled::NoLists => {
            return Err(PreviewError::Nothing(
                "the campaign has no active list with leads",
            ))
        }
        Filled::OutsideHours => {
            return Err(PreviewError::Nothing(
                "every callee is outside calling hours",
            ))
        }
        Filled::Leads(_) => {}
    }
    let lead = hopper::take(pool, campaign_id, node, None)
        .await?
        .ok_or(PreviewError::Nothing("no lead is due"))?;
    sqlx::query("UPDATE agent_sessions SET preview_lead_id = $2 WHERE id = $1")
        .bind(session_id)
        .bind(lead.lead_id)
        .execute(pool)
        .await?;
    Ok(lead.lead_id)
}
