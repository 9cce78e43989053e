//! The wallboard on the server: a campaign's floor read in one go ([`board`]), and what a
//! supervisor may do to an agent from it (listen, whisper, barge; pause; log out).

use dialtone_core::calls::AbandonRate;
use dialtone_core::remote::{Command, Monitor};
use dialtone_core::vocabulary::{AgentState, DialMethod};
use dialtone_core::{agents, visibility};
use sqlx::PgPool;

use super::actor::Actor;
use super::agent::{end_session, AgentActions, AgentError};
use crate::model::wallboard::{Board, BoardAgent, BoardHour, BoardScope};

#[derive(sqlx::FromRow)]
struct AgentRow {
    session_id: i64,
    user_id: i64,
    name: String,
    state: AgentState,
    pause_code: Option<String>,
    state_ms_ago: i64,
    call: Option<String>,
    page_lost: bool,
    calls_today: i64,
}

#[derive(sqlx::FromRow)]
struct Totals {
    campaign: String,
    dial_method: DialMethod,
    cap_pct: f64,
    hourly_cap_pct: Option<f64>,
    ringing: i64,
    waiting: i64,
    answers_today: i64,
    abandons_today: i64,
    live_30d: i64,
    abandons_30d: i64,
    live_hour: i64,
    abandons_hour: i64,
    theta: Option<f64>,
    theta_age_secs: Option<i64>,
}

fn pct(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// The campaign's live view; None when it does not exist.
pub async fn board(pool: &PgPool, campaign_id: i64) -> Result<Option<Board>, sqlx::Error> {
    let Some(t): Option<Totals> = sqlx::query_as(
        "SELECT c.name AS campaign, c.dial_method, c.abandon_cap_pct::float8 AS cap_pct, c.hourly_abandon_cap_pct::float8 AS hourly_cap_pct,
            (SELECT count(*) FROM call_attempts a WHERE a.campaign_id = c.id AND a.reserved_at > now() - interval '10 minutes'
                AND a.state <> 'resolved' AND a.answered_at IS NULL) AS ringing,
            (SELECT count(*) FROM calls k WHERE k.state IN ('queued', 'answered')
                AND (k.campaign_id = c.id OR k.inbound_group_id IN (SELECT group_id FROM campaign_inbound_groups WHERE campaign_id = c.id))) AS waiting,
            (SELECT count(*) FROM abandon_ledger l WHERE l.campaign_id = c.id AND l.occurred_at >= date_trunc('day', now()) AND l.kind = 'live_answer') AS answers_today,
            (SELECT count(*) FROM abandon_ledger l WHERE l.campaign_id = c.id AND l.occurred_at >= date_trunc('day', now()) AND l.kind = 'abandon') AS abandons_today,
            (SELECT count(*) FROM abandon_ledger l WHERE l.campaign_id = c.id AND l.occurred_at > now() - interval '30 days' AND l.kind = 'live_answer') AS live_30d,
            (SELECT count(*) FROM abandon_ledger l WHERE l.campaign_id = c.id AND l.occurred_at > now() - interval '30 days' AND l.kind = 'abandon') AS abandons_30d,
            (SELECT count(*) FROM abandon_ledger l WHERE l.campaign_id = c.id AND l.occurred_at > now() - interval '1 hour' AND l.kind = 'live_answer') AS live_hour,
            (SELECT count(*) FROM abandon_ledger l WHERE l.campaign_id = c.id AND l.occurred_at > now() - interval '1 hour' AND l.kind = 'abandon') AS abandons_hour,
            p.theta, extract(epoch FROM now() - p.updated_at)::bigint AS theta_age_secs
         FROM campaigns c LEFT JOIN pacer_state p ON p.campaign_id = c.id WHERE c.id = $1",
    )
    .bind(campaign_id)
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let agents = board_agents(pool, BoardScope::Campaign(campaign_id)).await?;
    let hours = board_hours(
        pool,
        campaign_id,
        "SELECT 100.0 * count(*) FILTER (WHERE kind = 'abandon') / nullif(count(*) FILTER (WHERE kind IN ('abandon', 'live_answer')), 0)
         FROM abandon_ledger l WHERE l.campaign_id = $1 AND l.occurred_at >= h.start AND l.occurred_at < h.start + interval '1 hour'",
        "",
        "a.campaign_id = $1",
    )
    .await?;
    let ready = agents
        .iter()
        .filter(|a| a.state == AgentState::Ready)
        .count() as f64;
    let pacer = match (t.dial_method, t.theta, t.theta_age_secs) {
        (DialMethod::Predictive, Some(theta), Some(age)) => {
            format!("predictive: risk limit θ = {theta:.4}, trimmed {age} s ago")
        }
        (DialMethod::Predictive, _, _) => {
            "predictive: learning (one line per ready agent until it has enough answers)"
                .to_string()
        }
        (method, _, _) => format!("{method} dialing"),
    };
    Ok(Some(Board {
        scope: BoardScope::Campaign(campaign_id),
        campaign: t.campaign,
        dial_method: Some(t.dial_method),
        ringing: t.ringing,
        waiting: t.waiting,
        answers_today: t.answers_today,
        abandons_today: t.abandons_today,
        abandon_pct_30d: AbandonRate {
            live_answers: t.live_30d,
            abandons: t.abandons_30d,
            machines: 0,
        }
        .ftc_pct(),
        cap_pct: t.cap_pct,
        abandon_pct_hour: AbandonRate {
            live_answers: t.live_hour,
            abandons: t.abandons_hour,
            machines: 0,
        }
        .ftc_pct(),
        hourly_cap_pct: t.hourly_cap_pct,
        dial_level: if ready > 0.0 {
            t.ringing as f64 / ready
        } else {
            0.0
        },
        pacer,
        agents,
        hours,
    }))
}

/// The logged-in agents of a campaign, or of the sessions serving an inbound group.
async fn board_agents(pool: &PgPool, scope: BoardScope) -> Result<Vec<BoardAgent>, sqlx::Error> {
    let (sessions, filter, id) = match scope {
        BoardScope::Campaign(id) => ("agent_sessions s", "s.campaign_id = $1", id),
        BoardScope::Group(id) => (
            "agent_session_groups sg JOIN agent_sessions s ON s.id = sg.session_id",
            "sg.group_id = $1",
            id,
        ),
    };
    let rows: Vec<AgentRow> = sqlx::query_as(&format!(
        "SELECT s.id AS session_id, s.user_id, coalesce(nullif(u.display_name, ''), u.username) AS name, s.state, s.pause_code,
                (extract(epoch FROM clock_timestamp() - s.state_since) * 1000)::bigint AS state_ms_ago,
                k.phone_e164 AS call, s.last_seen_at < now() - make_interval(secs => $2) AS page_lost, s.calls_taken::bigint AS calls_today
         FROM {sessions} JOIN users u ON u.id = s.user_id LEFT JOIN calls k ON k.id = s.current_call_id
         WHERE {filter} AND s.logged_out_at IS NULL ORDER BY 3"
    ))
    .bind(id)
    .bind(f64::from(agents::LIVENESS_SECS))
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(AgentRow::into_board).collect())
}

impl AgentRow {
    fn into_board(self) -> BoardAgent {
        let a = self;
        BoardAgent {
            session_id: a.session_id,
            user_id: a.user_id,
            name: a.name,
            state: a.state,
            pause_code: a.pause_code,
            state_ms_ago: a.state_ms_ago.max(0),
            call: a.call,
            page_lost: a.page_lost,
            calls_today: a.calls_today,
        }
    }
}

/// The board of either kind; None when it does not exist.
pub async fn board_of(pool: &PgPool, scope: BoardScope) -> Result<Option<Board>, sqlx::Error> {
    match scope {
        BoardScope::Campaign(id) => board(pool, id).await,
        BoardScope::Group(id) => group_board(pool, id).await,
    }
}

#[derive(sqlx::FromRow)]
struct GroupTotals {
    name: String,
    service_level_secs: i32,
    waiting: i64,
    longest_wait_secs: Option<f64>,
    offered_today: i64,
    answered_today: i64,
    within_sl_today: i64,
    abandons_today: i64,
    offered_30d: i64,
    abandons_30d: i64,
    offered_hour: i64,
    abandons_hour: i64,
}

/// Callers who left the queue without an agent: they hung up, or the wait ran out.
const GROUP_ABANDON: &str =
    "agent_connected_at IS NULL AND outcome IN ('caller_hangup', 'queue_timeout')";

/// An inbound group's live view; None when it does not exist.
pub async fn group_board(pool: &PgPool, group_id: i64) -> Result<Option<Board>, sqlx::Error> {
    let Some(t): Option<GroupTotals> = sqlx::query_as(&format!(
        "SELECT g.name, g.service_level_secs,
            (SELECT count(*) FROM calls k WHERE k.state = 'queued' AND k.inbound_group_id = g.id) AS waiting,
            (SELECT extract(epoch FROM now() - min(k.queued_at))::float8 FROM calls k WHERE k.state = 'queued' AND k.inbound_group_id = g.id) AS longest_wait_secs,
            (SELECT count(*) FROM calls k WHERE k.inbound_group_id = g.id AND k.created_at >= date_trunc('day', now())) AS offered_today,
            (SELECT count(*) FROM calls k WHERE k.inbound_group_id = g.id AND k.created_at >= date_trunc('day', now()) AND k.agent_connected_at IS NOT NULL) AS answered_today,
            (SELECT count(*) FROM calls k WHERE k.inbound_group_id = g.id AND k.created_at >= date_trunc('day', now()) AND k.agent_connected_at IS NOT NULL
                AND k.wait_secs <= g.service_level_secs) AS within_sl_today,
            (SELECT count(*) FROM calls k WHERE k.inbound_group_id = g.id AND k.created_at >= date_trunc('day', now()) AND {GROUP_ABANDON}) AS abandons_today,
            (SELECT count(*) FROM calls k WHERE k.inbound_group_id = g.id AND k.created_at > now() - interval '30 days') AS offered_30d,
            (SELECT count(*) FROM calls k WHERE k.inbound_group_id = g.id AND k.created_at > now() - interval '30 days' AND {GROUP_ABANDON}) AS abandons_30d,
            (SELECT count(*) FROM calls k WHERE k.inbound_group_id = g.id AND k.created_at > now() - interval '1 hour') AS offered_hour,
            (SELECT count(*) FROM calls k WHERE k.inbound_group_id = g.id AND k.created_at > now() - interval '1 hour' AND {GROUP_ABANDON}) AS abandons_hour
         FROM inbound_groups g WHERE g.id = $1"
    ))
    .bind(group_id)
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let agents = board_agents(pool, BoardScope::Group(group_id)).await?;
    let hours = board_hours(
        pool,
        group_id,
        &format!(
            "SELECT 100.0 * count(*) FILTER (WHERE {GROUP_ABANDON}) / nullif(count(*), 0)
             FROM calls k WHERE k.inbound_group_id = $1 AND k.created_at >= h.start AND k.created_at < h.start + interval '1 hour'"
        ),
        "JOIN agent_session_groups sg ON sg.session_id = a.session_id",
        "sg.group_id = $1",
    )
    .await?;
    let pacer = format!(
        "inbound queue: {} waiting{}; today {} of {} answered within {} s ({:.0}%)",
        t.waiting,
        t.longest_wait_secs
            .map(|s| format!(", the longest for {s:.0} s"))
            .unwrap_or_default(),
        t.within_sl_today,
        t.offered_today,
        t.service_level_secs,
        pct(t.within_sl_today, t.offered_today),
    );
    Ok(Some(Board {
        scope: BoardScope::Group(group_id),
        campaign: t.name,
        dial_method: None,
        ringing: 0,
        waiting: t.waiting,
        answers_today: t.answered_today,
        abandons_today: t.abandons_today,
        abandon_pct_30d: pct(t.abandons_30d, t.offered_30d),
        cap_pct: 0.0,
        abandon_pct_hour: pct(t.abandons_hour, t.offered_hour),
        hourly_cap_pct: None,
        dial_level: 0.0,
        pacer,
        agents,
        hours,
    }))
}

/// Today's hours on a board (`$1` its campaign or group): each hour's abandon rate, from
/// `abandon_pct` (a query over the hour `h.start`), and its agents' occupancy (time on a call over
/// time logged in) from their state history rows `a` (joined by `join`, picked by `filter`).
async fn board_hours(
    pool: &PgPool,
    id: i64,
    abandon_pct: &str,
    join: &str,
    filter: &str,
) -> Result<Vec<BoardHour>, sqlx::Error> {
    let rows: Vec<(i32, f64, f64)> = sqlx::query_as(&format!(
        "WITH h AS (SELECT generate_series(date_trunc('day', now()), date_trunc('hour', now()), interval '1 hour') AS start)
         SELECT extract(hour FROM h.start)::int,
            coalesce(({abandon_pct}), 0)::float8,
            coalesce((SELECT 100.0 * sum(extract(epoch FROM least(coalesce(a.ended_at, now()), h.start + interval '1 hour') - greatest(a.started_at, h.start)))
                                 FILTER (WHERE a.state = 'on_call')
                             / nullif(sum(extract(epoch FROM least(coalesce(a.ended_at, now()), h.start + interval '1 hour') - greatest(a.started_at, h.start)))
                                 FILTER (WHERE a.state NOT IN ('logged_out', 'connecting')), 0)
                      FROM agent_state_history a {join}
                      WHERE {filter} AND a.started_at < h.start + interval '1 hour'
                        AND a.started_at > h.start - interval '1 day' AND coalesce(a.ended_at, now()) > h.start), 0)::float8
         FROM h ORDER BY 1"
    ))
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(hour, abandon_pct, occupancy_pct)| BoardHour {
            hour,
            abandon_pct,
            occupancy_pct,
        })
        .collect())
}

/// Whether the viewer may watch this board: admins all; supervisors their campaigns and groups.
pub async fn may_watch(
    pool: &PgPool,
    viewer: &crate::model::Viewer,
    scope: BoardScope,
) -> Result<bool, sqlx::Error> {
    if !viewer.role.is_staff() {
        return Ok(false);
    }
    match scope {
        BoardScope::Campaign(id) => visibility::sees_campaign(pool, viewer.user_id, id).await,
        BoardScope::Group(id) => visibility::sees_group(pool, viewer.user_id, id).await,
    }
}

/// A session as a supervisor acts on it, once their access to its campaign is checked.
struct Target {
    campaign_id: i64,
    node: String,
    phone: String,
    state: AgentState,
}

async fn target(
    ctx: &AgentActions,
    actor: &Actor<'_>,
    session_id: i64,
) -> Result<Target, AgentError> {
    if !actor.viewer.role.is_staff() {
        return Err(AgentError::Invalid("your role may not do this".into()));
    }
    let row: Option<(i64, String, String, AgentState)> =
        sqlx::query_as("SELECT campaign_id, node, phone_dial_string, state FROM agent_sessions WHERE id = $1 AND logged_out_at IS NULL")
            .bind(session_id)
            .fetch_optional(&ctx.pool)
            .await?;
    let (campaign_id, node, phone, state) = row.ok_or(AgentError::NoSession)?;
    if !visibility::sees_campaign(&ctx.pool, actor.viewer.user_id, campaign_id).await? {
        return Err(AgentError::NoCampaign);
    }
    Ok(Target {
        campaign_id,
        node,
        phone,
        state,
    })
}

/// Rings the supervisor's own phone (on file in Users) into the agent's audio.
pub async fn monitor(
    ctx: &AgentActions,
    actor: &Actor<'_>,
    session_id: i64,
    how: Monitor,
) -> Result<(), AgentError> {
    let t = target(ctx, actor, session_id).await?;
    let mine: Option<String> =
        sqlx::query_scalar("SELECT phone_dial_string FROM users WHERE id = $1")
            .bind(actor.viewer.user_id)
            .fetch_one(&ctx.pool)
            .await?;
    let mine = mine.ok_or_else(|| {
        AgentError::Invalid("you have no phone on file: an admin sets it in Users".into())
    })?;
    remote_call(
        ctx,
        &t.node,
        Command::Monitor {
            supervisor_dial_string: mine,
            agent_dial_string: t.phone,
            how,
        },
    )
    .await?;
    actor
        .audit(
            &ctx.pool,
            "other",
            "agent_session",
            Some(session_id.to_string()),
            None,
            Some(serde_json::json!({ "monitor": how, "campaign": t.campaign_id })),
        )
        .await?;
    Ok(())
}

/// Pauses an agent who is ready or wrapping up (code FORCED).
pub async fn force_pause(
    ctx: &AgentActions,
    actor: &Actor<'_>,
    session_id: i64,
) -> Result<(), AgentError> {
    let t = target(ctx, actor, session_id).await?;
    if !agents::transition(
        &ctx.pool,
        session_id,
        &[AgentState::Ready, AgentState::Wrapup, AgentState::Paused],
        AgentState::Paused,
        Some("FORCED"),
    )
    .await?
    {
        return Err(AgentError::WrongState(t.state));
    }
    actor
        .audit(
            &ctx.pool,
            "other",
            "agent_session",
            Some(session_id.to_string()),
            Some(serde_json::json!({ "state": t.state })),
            Some(serde_json::json!({ "state": AgentState::Paused, "pause_code": "FORCED" })),
        )
        .await?;
    Ok(())
}

/// Logs an agent out: their phone is hung up and the session closed.
pub async fn force_logout(
    ctx: &AgentActions,
    actor: &Actor<'_>,
    session_id: i64,
) -> Result<(), AgentError> {
    let t = target(ctx, actor, session_id).await?;
    end_session(
        ctx,
        session_id,
        &t.node,
        &t.phone,
        &format!("logged out by {}", actor.viewer.username),
    )
    .await?;
    actor
        .audit(
            &ctx.pool,
            "logout",
            "agent_session",
            Some(session_id.to_string()),
            Some(serde_json::json!({ "state": t.state })),
            None,
        )
        .await?;
    Ok(())
}

async fn remote_call(ctx: &AgentActions, node: &str, command: Command) -> Result<(), AgentError> {
    dialtone_core::remote::call(&ctx.bus, node, command, super::agent::CONTROL_TIMEOUT).await?;
    Ok(())
}

/// The campaigns and inbound groups the viewer may watch: (id, name, agents logged in).
pub async fn boards(
    pool: &PgPool,
    actor: &Actor<'_>,
) -> Result<(Vec<(i64, String, i64)>, Vec<(i64, String, i64)>), super::actor::OpError> {
    actor.staff()?;
    let user = actor.viewer.user_id;
    let campaigns = sqlx::query_as(
        "SELECT c.id, c.name, (SELECT count(*) FROM agent_sessions s WHERE s.campaign_id = c.id AND s.logged_out_at IS NULL)
         FROM campaigns c WHERE $1::bigint[] IS NULL OR c.id = ANY($1) ORDER BY c.active DESC, c.name LIMIT 200",
    )
    .bind(visibility::campaigns(pool, user).await?.ids())
    .fetch_all(pool)
    .await?;
    let groups = sqlx::query_as(
        "SELECT g.id, g.name, (SELECT count(*) FROM agent_session_groups sg JOIN agent_sessions s ON s.id = sg.session_id
                               WHERE sg.group_id = g.id AND s.logged_out_at IS NULL)
         FROM inbound_groups g WHERE $1::bigint[] IS NULL OR g.id = ANY($1) ORDER BY g.active DESC, g.name LIMIT 200",
    )
    .bind(visibility::groups(pool, user).await?.ids())
    .fetch_all(pool)
    .await?;
    Ok((campaigns, groups))
}
