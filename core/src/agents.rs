//! Agent sessions as the call flows see them: connecting an agent's phone, and handing a live
//! call to a ready agent (the campaign's `agent_selection` says which) without two nodes ever
//! handing out the same agent.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::vocabulary::AgentState;

/// An agent reserved for one call.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ClaimedAgent {
    pub session_id: i64,
    pub user_id: i64,
    /// The agent's own ConfBridge, where their phone waits.
    pub conference: String,
}

/// The conference an agent session's phone sits in for the whole session.
pub fn conference_name(session_id: i64) -> String {
    format!("agent-{session_id}")
}

/// How recently an agent's page must have been heard from for them to get calls.
pub const LIVENESS_SECS: i32 = 5;

/// Reserves a ready agent of `campaign` for `call_id`, if any, as its `agent_selection` says:
/// the longest idle (`longest_idle`), the one with the fewest calls since midnight UTC
/// (`fewest_calls`, the longest idle among equals) or any (`random`). `FOR UPDATE SKIP LOCKED`
/// makes concurrent claims from several nodes take different agents, never one twice.
pub async fn claim_ready(
    pool: &PgPool,
    campaign_id: i64,
    call_id: uuid::Uuid,
) -> Result<Option<ClaimedAgent>, sqlx::Error> {
    // The campaign's choice is read once (an InitPlan), and the count runs only when chosen.
    claim(
        pool,
        "UPDATE agent_sessions SET state = 'reserved', state_since = now(), current_call_id = $1
         WHERE id = (
             SELECT s.id FROM agent_sessions s
             WHERE s.campaign_id = $2 AND s.state = 'ready' AND s.last_seen_at > now() - make_interval(secs => $3)
             ORDER BY CASE (SELECT agent_selection FROM campaigns WHERE id = $2)
                          WHEN 'random' THEN random()
                          WHEN 'fewest_calls' THEN (SELECT count(*) FROM calls c
                                                    WHERE c.agent_user_id = s.user_id AND c.created_at >= date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')
                          ELSE 0 END,
                      s.state_since
             LIMIT 1
             FOR UPDATE OF s SKIP LOCKED)
         RETURNING id AS session_id, user_id, conference",
        call_id,
        campaign_id,
    )
    .await
}

/// Runs a claim statement (`$1` the call, `$2` the campaign or group, `$3` the liveness window)
/// and records the reserved agent's new state in the same transaction.
async fn claim(
    pool: &PgPool,
    sql: &str,
    call_id: uuid::Uuid,
    scope_id: i64,
) -> Result<Option<ClaimedAgent>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let claimed: Option<ClaimedAgent> = sqlx::query_as(sql)
        .bind(call_id)
        .bind(scope_id)
        .bind(f64::from(LIVENESS_SECS))
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(agent) = &claimed {
        record_state(
            &mut tx,
            agent.session_id,
            AgentState::Reserved,
            Some(call_id),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(claimed)
}

/// Closes the session's open history row and opens one for `state`.
pub(crate) async fn record_state(
    tx: &mut sqlx::PgConnection,
    session_id: i64,
    state: AgentState,
    call_id: Option<uuid::Uuid>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE agent_state_history SET ended_at = now() WHERE session_id = $1 AND ended_at IS NULL")
        .bind(session_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO agent_state_history (session_id, user_id, campaign_id, state, pause_code, call_id, started_at)
         SELECT id, user_id, campaign_id, $2, pause_code, $3, now() FROM agent_sessions WHERE id = $1",
    )
    .bind(session_id)
    .bind(state)
    .bind(call_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Moves a session to `state` (with `pause_code` when pausing), recording the change.
pub async fn set_state(
    pool: &PgPool,
    session_id: i64,
    state: AgentState,
    pause_code: Option<&str>,
) -> Result<bool, sqlx::Error> {
    change_state(pool, session_id, None, None, state, pause_code).await
}

/// Moves a session to `state` only from one of `from`, so a page's "pause" cannot undo the
/// reservation a call flow made a moment before. False when the session was not in `from`.
pub async fn transition(
    pool: &PgPool,
    session_id: i64,
    from: &[AgentState],
    state: AgentState,
    pause_code: Option<&str>,
) -> Result<bool, sqlx::Error> {
    change_state(pool, session_id, Some(from), None, state, pause_code).await
}

/// [`change_state_in`] in a transaction of its own.
async fn change_state(
    pool: &PgPool,
    session_id: i64,
    from: Option<&[AgentState]>,
    call: Option<uuid::Uuid>,
    state: AgentState,
    pause_code: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let done = change_state_in(&mut tx, session_id, from, call, state, pause_code).await?;
    tx.commit().await?;
    Ok(done)
}

/// The caller the agent was reserved for left before reaching them: the agent is ready again.
/// False when they were not reserved for that call any more.
pub async fn unreserve(
    pool: &PgPool,
    session_id: i64,
    call_id: uuid::Uuid,
) -> Result<bool, sqlx::Error> {
    change_state(
        pool,
        session_id,
        Some(&[AgentState::Reserved]),
        Some(call_id),
        AgentState::Ready,
        None,
    )
    .await
}

/// The call `call_id` the agent was reserved for reached them: they are on it. False when they
/// are no longer reserved for it.
pub(crate) async fn call_connected(
    tx: &mut sqlx::PgConnection,
    session_id: i64,
    call_id: uuid::Uuid,
) -> Result<bool, sqlx::Error> {
    change_state_in(
        tx,
        session_id,
        Some(&[AgentState::Reserved]),
        Some(call_id),
        AgentState::OnCall,
        None,
    )
    .await
}

/// Where an agent goes once their call is both dispositioned and over: paused (`AFTCAL`) when
/// they asked to or their campaign pauses agents after each call, otherwise ready.
pub fn after_call(pause: bool) -> (AgentState, Option<&'static str>) {
    if pause {
        (AgentState::Paused, Some("AFTCAL"))
    } else {
        (AgentState::Ready, None)
    }
}

/// The call `call_id` ended, in the transaction that closes it (so no agent is left on a closed
/// call): an agent on it goes to wrap-up, or past it when they set the disposition during the
/// call ([`after_call`]); one only reserved for it (the caller left on the way)
/// goes back to ready, or to wrap-up after their own manual dial (`reserved_to`), which they
/// disposition whether or not it was answered. The agent is found by the call, since a call
/// names its agent only once connected.
pub(crate) async fn call_ended(
    tx: &mut sqlx::PgConnection,
    call_id: uuid::Uuid,
    reserved_to: AgentState,
) -> Result<(), sqlx::Error> {
    let sessions: Vec<(i64, AgentState, bool, bool)> = sqlx::query_as(
        "SELECT s.id, s.state, c.disposition IS NOT NULL, s.pause_after_call OR coalesce(cp.pause_after_each_call, false)
         FROM agent_sessions s JOIN calls c ON c.id = s.current_call_id LEFT JOIN campaigns cp ON cp.id = s.campaign_id
         WHERE s.current_call_id = $1 AND s.state IN ('reserved', 'on_call') FOR UPDATE OF s",
    )
    .bind(call_id)
    .fetch_all(&mut *tx)
    .await?;
    for (session_id, state, dispositioned, pause) in sessions {
        let (to, pause_code) = match state {
            AgentState::Reserved => (reserved_to, None),
            _ if dispositioned => after_call(pause),
            _ => (AgentState::Wrapup, None),
        };
        change_state_in(
            tx,
            session_id,
            Some(&[AgentState::Reserved, AgentState::OnCall]),
            Some(call_id),
            to,
            pause_code,
        )
        .await?;
    }
    Ok(())
}

/// The one state change: from any open state (`from` None) or from one of `from`, and only
/// while on `call` when one is given.
async fn change_state_in(
    tx: &mut sqlx::PgConnection,
    session_id: i64,
    from: Option<&[AgentState]>,
    call: Option<uuid::Uuid>,
    state: AgentState,
    pause_code: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let from: Option<Vec<&str>> = from.map(|f| f.iter().map(|s| s.as_str()).collect());
    let done = sqlx::query(
        "UPDATE agent_sessions SET state = $2, pause_code = $3, state_since = now(),
                current_call_id = CASE WHEN $2 IN ('on_call', 'wrapup', 'reserved') THEN current_call_id END,
                calls_taken = calls_taken + CASE WHEN $2 = 'on_call' THEN 1 ELSE 0 END
         WHERE id = $1 AND state <> 'logged_out' AND ($4::text[] IS NULL OR state = ANY($4))
           AND ($5::uuid IS NULL OR current_call_id = $5)",
    )
    .bind(session_id)
    .bind(state)
    .bind(pause_code)
    .bind(from)
    .bind(call)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    record_state(tx, session_id, state, None).await?;
    Ok(true)
}

/// The agent's phone reached their conference: the session is connected, paused until the
/// agent goes ready. False when there is no such open session.
pub async fn phone_connected(pool: &PgPool, session_id: i64) -> Result<bool, sqlx::Error> {
    let open: Option<AgentState> = sqlx::query_scalar(
        "SELECT state FROM agent_sessions WHERE id = $1 AND logged_out_at IS NULL",
    )
    .bind(session_id)
    .fetch_optional(pool)
    .await?;
    match open {
        Some(AgentState::Connecting) => {
            set_state(pool, session_id, AgentState::Paused, Some("LOGIN")).await
        }
        Some(_) => Ok(true),
        None => Ok(false),
    }
}

/// Ends a session (the phone hung up, the agent logged out, a supervisor forced it).
pub async fn log_out(pool: &PgPool, session_id: i64, reason: &str) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "UPDATE agent_sessions SET state = 'logged_out', pause_code = NULL, state_since = now(), logged_out_at = now(),
                logout_reason = $2, current_call_id = NULL
         WHERE id = $1 AND logged_out_at IS NULL",
    )
    .bind(session_id)
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    record_state(&mut tx, session_id, AgentState::LoggedOut, None).await?;
    sqlx::query("UPDATE agent_state_history SET ended_at = now() WHERE session_id = $1 AND ended_at IS NULL").bind(session_id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(true)
}

/// Opens a session for `user_id` in `campaign_id` (the agent page's login does this, then rings
/// the phone). Fails if the user already has an open session.
pub async fn open_session(
    pool: &PgPool,
    user_id: i64,
    campaign_id: i64,
    node: &str,
    phone_dial_string: &str,
) -> Result<i64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // The id is drawn first: the conference is named after it, and its name must be one from the
    // start (a CHECK holds what reaches Asterisk).
    let id: i64 =
        sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('agent_sessions', 'id'))")
            .fetch_one(&mut *tx)
            .await?;
    sqlx::query(
        "INSERT INTO agent_sessions (id, user_id, campaign_id, node, phone_dial_string, conference)
         OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(user_id)
    .bind(campaign_id)
    .bind(node)
    .bind(phone_dial_string)
    .bind(conference_name(id))
    .execute(&mut *tx)
    .await?;
    record_state(&mut tx, id, AgentState::Connecting, None).await?;
    tx.commit().await?;
    Ok(id)
}

/// Agents' pages heard from, as (user, when): each one's open session is alive until then.
/// The live hub writes a batch of these once a second; a time never moves back. Returns
/// how many sessions moved.
pub async fn seen(pool: &PgPool, heard: &[(i64, DateTime<Utc>)]) -> Result<u64, sqlx::Error> {
    let (users, times): (Vec<i64>, Vec<DateTime<Utc>>) = heard.iter().copied().unzip();
    let done = sqlx::query(
        "UPDATE agent_sessions s SET last_seen_at = h.at
         FROM unnest($1::bigint[], $2::timestamptz[]) AS h(user_id, at)
         WHERE s.user_id = h.user_id AND s.logged_out_at IS NULL AND s.last_seen_at < h.at",
    )
    .bind(&users)
    .bind(&times)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// The agent's phone is being rung again (Asterisk restarted): the session waits, paused,
/// until the phone is back in its conference. Not while the agent is on a call.
pub async fn phone_reconnecting(pool: &PgPool, session_id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE agent_sessions SET state = 'connecting', pause_code = NULL, state_since = now()
         WHERE id = $1 AND logged_out_at IS NULL AND current_call_id IS NULL",
    )
    .bind(session_id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Reserves an agent for a queued inbound call, when the call is at the head of its group's
/// queue: the longest-idle ready agent logged in to the group who has no waiting call in another
/// of their groups with a higher priority (or the same priority and an older caller). So each
/// free agent takes the most urgent caller they can serve: priority first, then arrival.
pub async fn claim_for_inbound(
    pool: &PgPool,
    call_id: uuid::Uuid,
    group_id: i64,
) -> Result<Option<ClaimedAgent>, sqlx::Error> {
    claim(
        pool,
        "WITH me AS (
             SELECT c.queued_at, ig.queue_priority FROM calls c JOIN inbound_groups ig ON ig.id = c.inbound_group_id
             WHERE c.id = $1 AND c.state = 'queued'
         ), head AS (
             SELECT 1 FROM me WHERE NOT EXISTS (
                 SELECT 1 FROM calls c WHERE c.inbound_group_id = $2 AND c.state = 'queued' AND c.id <> $1 AND c.queued_at < me.queued_at)
         ), agent AS (
             SELECT s.id FROM agent_sessions s
             JOIN agent_session_groups g ON g.session_id = s.id AND g.group_id = $2
             CROSS JOIN me
             WHERE EXISTS (SELECT 1 FROM head) AND s.state = 'ready' AND s.last_seen_at > now() - make_interval(secs => $3)
               -- A campaign switched to outbound only stops its agents' inbound calls at once.
               AND (SELECT allow_inbound FROM campaigns WHERE id = s.campaign_id)
               AND NOT EXISTS (
                   SELECT 1 FROM agent_session_groups g2
                   JOIN inbound_groups ig2 ON ig2.id = g2.group_id
                   JOIN calls c2 ON c2.inbound_group_id = g2.group_id AND c2.state = 'queued'
                   WHERE g2.session_id = s.id AND g2.group_id <> $2
                     AND (ig2.queue_priority > me.queue_priority OR (ig2.queue_priority = me.queue_priority AND c2.queued_at < me.queued_at)))
             ORDER BY s.state_since
             LIMIT 1
             FOR UPDATE OF s SKIP LOCKED
         )
         UPDATE agent_sessions SET state = 'reserved', state_since = now(), current_call_id = $1
         FROM agent WHERE agent_sessions.id = agent.id
         RETURNING agent_sessions.id AS session_id, agent_sessions.user_id, agent_sessions.conference",
        call_id,
        group_id,
    )
    .await
}

/// The inbound groups a session takes calls from.
pub async fn join_groups(
    pool: &PgPool,
    session_id: i64,
    group_ids: &[i64],
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO agent_session_groups (session_id, group_id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING")
        .bind(session_id)
        .bind(group_ids)
        .execute(pool)
        .await?;
    Ok(())
}

/// Ends wrap-ups that have lasted the campaign's `wrapup_secs`: the agent is ready again, or
/// paused (AFTCAL) where the campaign pauses agents after each call. Returns how many.
pub async fn end_wrapups(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let due: Vec<(i64, bool)> = sqlx::query_as(
        "SELECT s.id, c.pause_after_each_call FROM agent_sessions s JOIN campaigns c ON c.id = s.campaign_id
         WHERE s.state = 'wrapup' AND s.state_since <= now() - make_interval(secs => c.wrapup_secs)",
    )
    .fetch_all(pool)
    .await?;
    let mut ended = 0;
    for (session, pause) in due {
        let (state, pause_code) = after_call(pause);
        // Only if still wrapping up: a disposition saved meanwhile has moved them already.
        let changed = transition(pool, session, &[AgentState::Wrapup], state, pause_code).await?;
        ended += u64::from(changed);
    }
    Ok(ended)
}
