//! Calls an agent places by hand (manual and preview dial): of a lead, or of a number typed in.
//! Every one goes through [`compliance::clear_to_call`] first, so the agent screen cannot dial
//! a DNC number or a callee outside calling hours, whatever it sends.

use crate::vocabulary::AgentState;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::compliance::{self, ClearanceError, Refusal};
use crate::phone::{self, PhoneError};

/// What the agent asked to dial.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Target {
    Lead(i64),
    /// A number as typed; read in the campaign's country.
    Number(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ManualError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("agent session {0} is not logged in")]
    NoSession(i64),
    #[error("the agent is {0}, not ready or paused")]
    AgentBusy(AgentState),
    #[error("lead {0} does not exist in the agent's campaign")]
    NoLead(i64),
    #[error("lead {0} is being dialed already")]
    LeadBusy(i64),
    #[error("not a number that can be dialed: {0}")]
    BadNumber(#[from] PhoneError),
    #[error("no calling window is known for {0}: its time zone cannot be told")]
    UnknownZone(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Dnc(#[from] crate::dnc::DncError),
}

impl From<ClearanceError> for ManualError {
    fn from(e: ClearanceError) -> Self {
        match e {
            ClearanceError::Refused(r) => ManualError::Refused(r),
            ClearanceError::Db(e) => ManualError::Db(e),
            ClearanceError::Dnc(e) => ManualError::Dnc(e),
        }
    }
}

/// A manual call recorded and ready to be originated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// The call's id, its attempt's, and the Originate's ChannelId.
    pub call_id: Uuid,
    pub campaign_id: i64,
    pub lead_id: Option<i64>,
    pub phone_e164: String,
    /// The agent's conference, where the callee is sent on answer.
    pub conference: String,
}

/// Checks and records a manual call for the agent's session: the attempt (counted in the
/// 24-hour caps like any dial), the call, and the agent reserved for it. The caller then
/// originates it.
pub async fn place(
    pool: &PgPool,
    session_id: i64,
    node: &str,
    target: &Target,
    now: DateTime<Utc>,
) -> Result<Placed, ManualError> {
    let session: Option<(i64, i64, String, AgentState)> =
        sqlx::query_as("SELECT campaign_id, user_id, conference, state FROM agent_sessions WHERE id = $1 AND logged_out_at IS NULL")
            .bind(session_id)
            .fetch_optional(pool)
            .await?;
    let (campaign_id, user_id, conference, state) =
        session.ok_or(ManualError::NoSession(session_id))?;
    if !state.is_idle() {
        return Err(ManualError::AgentBusy(state));
    }
    let (lead_id, number, zone, callee_state) = match target {
        Target::Lead(id) => {
            // Only the campaign's own leads: an agent cannot reach into another campaign's lists.
            let lead: Option<(String, String, Option<String>)> = sqlx::query_as(
                "SELECT l.phone_e164, l.time_zone, l.state FROM leads l JOIN lists li ON li.id = l.list_id WHERE l.id = $1 AND li.campaign_id = $2",
            )
            .bind(id)
            .bind(campaign_id)
            .fetch_optional(pool)
            .await?;
            let (number, zone, state) = lead.ok_or(ManualError::NoLead(*id))?;
            (Some(*id), number, zone, state)
        }
        Target::Number(raw) => {
            let country = crate::campaigns::typing_country(pool, campaign_id).await?;
            let e164 = phone::normalize(raw, phone::country(&country)?)?;
            let located = crate::geo::locate(&e164, None, None)
                .map_err(|_| ManualError::UnknownZone(e164.number.clone()))?;
            (
                None,
                e164.number,
                located.time_zone.name().to_string(),
                located.state.map(str::to_string),
            )
        }
    };
    compliance::clear_to_call(
        pool,
        campaign_id,
        &number,
        &zone,
        callee_state.as_deref(),
        now,
    )
    .await?;

    let call_id = Uuid::new_v4();
    let mut tx = pool.begin().await?;
    let still: Option<AgentState> = sqlx::query_scalar(
        "SELECT state FROM agent_sessions WHERE id = $1 AND logged_out_at IS NULL FOR UPDATE",
    )
    .bind(session_id)
    .fetch_optional(&mut *tx)
    .await?;
    match still {
        None => return Err(ManualError::NoSession(session_id)),
        Some(s) if !s.is_idle() => return Err(ManualError::AgentBusy(s)),
        Some(_) => {}
    }
    if let Some(id) = lead_id {
        // The dialer must not have the lead too: not in a hopper, no dial open.
        let busy: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM hopper WHERE lead_id = $1)
                 OR EXISTS (SELECT 1 FROM call_attempts WHERE lead_id = $1 AND state <> 'resolved')
             FROM leads WHERE id = $1 FOR UPDATE",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if busy {
            return Err(ManualError::LeadBusy(id));
        }
    }
    sqlx::query(
        "INSERT INTO call_attempts (call_id, campaign_id, lead_id, list_id, phone_e164, node, state, dialed_at)
         VALUES ($1, $2, $3, (SELECT list_id FROM leads WHERE id = $3), $4, $5, 'originating', now())",
    )
    .bind(call_id)
    .bind(campaign_id)
    .bind(lead_id)
    .bind(&number)
    .bind(node)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO calls (id, direction, campaign_id, lead_id, agent_user_id, agent_session_id, node, phone_e164, state, attempt_id)
         VALUES ($1, 'manual', $2, $3, $4, $5, $6, $7, 'dialing', (SELECT id FROM call_attempts WHERE call_id = $1))",
    )
    .bind(call_id)
    .bind(campaign_id)
    .bind(lead_id)
    .bind(user_id)
    .bind(session_id)
    .bind(node)
    .bind(&number)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE agent_sessions SET state = 'reserved', pause_code = NULL, state_since = now(), current_call_id = $2 WHERE id = $1")
        .bind(session_id)
        .bind(call_id)
        .execute(&mut *tx)
        .await?;
    crate::agents::record_state(&mut tx, session_id, AgentState::Reserved, Some(call_id)).await?;
    tx.commit().await?;
    Ok(Placed {
        call_id,
        campaign_id,
        lead_id,
        phone_e164: number,
        conference,
    })
}

/// The callee of a manual call answered (Asterisk's OriginateResponse): the agent is on the
/// call. False when it is not a manual call still dialing.
pub async fn answered(
    pool: &PgPool,
    call_id: Uuid,
    channel: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // The channel, for call control (hold, transfer, hang up); its Uniqueid is the call's id.
    let session: Option<Option<i64>> = sqlx::query_scalar(
        "UPDATE calls SET state = 'connected', answered_at = now(), agent_connected_at = now(), outcome = 'answered',
                channel = coalesce($2, channel), uniqueid = coalesce(uniqueid, $1::text)
         WHERE id = $1 AND direction = 'manual' AND state = 'dialing' RETURNING agent_session_id",
    )
    .bind(call_id)
    .bind(channel)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(session) = session else {
        return Ok(false);
    };
    sqlx::query(
        "UPDATE call_attempts SET answered_at = coalesce(answered_at, now()) WHERE call_id = $1",
    )
    .bind(call_id)
    .execute(&mut *tx)
    .await?;
    // A recording the dial started (the campaign records every call) has sound from now.
    sqlx::query("UPDATE recordings SET started_at = now() WHERE call_id = $1 AND ended_at IS NULL")
        .bind(call_id)
        .execute(&mut *tx)
        .await?;
    // In the same transaction: the agent reserved for this call is on it.
    if let Some(session_id) = session {
        crate::agents::call_connected(&mut tx, session_id, call_id).await?;
    }
    tx.commit().await?;
    Ok(true)
}
