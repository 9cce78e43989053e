//! One module per AGI path.

mod agent_login;
mod call_end;
mod inbound;
mod outbound;

use std::sync::Arc;

use dialtone_asterisk::agi::{AgiError, Router, TcpSession};
use dialtone_core::agents::{self, ClaimedAgent};
use dialtone_core::asterisk_values::{self, Kind, Refused};
use dialtone_core::calls::{self, Connect};
use uuid::Uuid;

use crate::context::FlowContext;

/// Why a flow could not finish. Every variant is logged with the call's span.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error(transparent)]
    Agi(#[from] AgiError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    BadRequest(String),
    /// A value that may not go to Asterisk: nothing was sent.
    #[error(transparent)]
    Refused(#[from] Refused),
}

/// `value`, if it may go to Asterisk as `kind` (`core::asterisk_values`); the database's CHECKs
/// hold stored values to the same rules, so a refusal here means a rule was bypassed.
fn safe(kind: Kind, value: &str) -> Result<&str, FlowError> {
    Ok(asterisk_values::check(kind, value)?)
}

/// The AGI server's routes for every flow.
pub fn router(ctx: FlowContext) -> Router {
    let ctx = Arc::new(ctx);
    let (a, b, c, d) = (ctx.clone(), ctx.clone(), ctx.clone(), ctx);
    Router::new()
        .route("outbound", move |s| outbound::run(a.clone(), s))
        .route("inbound", move |s| inbound::run(d.clone(), s))
        .route("agent-login", move |s| agent_login::run(b.clone(), s))
        .route("call-end", move |s| call_end::run(c.clone(), s))
}

/// Puts the caller through to the agent claimed for them (`calls::connected`: the call and the
/// agent move together). A caller the AGI already heard hang up is not put through: their agent
/// is ready again and the answer is `CallEnded`, as for a call already closed.
async fn put_through(
    ctx: &FlowContext,
    session: &TcpSession,
    call_id: Uuid,
    ledger_campaign: Option<i64>,
    agent: &ClaimedAgent,
) -> Result<Connect, FlowError> {
    if session.hung_up() {
        agents::unreserve(&ctx.pool, agent.session_id, call_id).await?;
        return Ok(Connect::CallEnded);
    }
    Ok(calls::connected(
        &ctx.pool,
        call_id,
        ledger_campaign,
        agent.session_id,
        agent.user_id,
    )
    .await?)
}

/// Starts recording the caller's channel into `relative` under the recordings root: one path for
/// the flows and for the agent's record button (`Control::record`), where the web finds it.
async fn record(
    ctx: &FlowContext,
    session: &mut TcpSession,
    relative: &str,
) -> Result<(), FlowError> {
    let absolute = asterisk_values::recording_path(&ctx.recordings_dir, relative)?;
    // MixMonitor's arguments are `file,options,command`: the whitelist keeps `,` out of `file`.
    session.exec("MixMonitor", &format!("{absolute},b")).await?;
    Ok(())
}

/// Whether an AGI error only says the caller has gone: a hang-up is how calls end, not a
/// failure to count in `dialtone_agi_session_errors_total`.
fn caller_gone(e: &AgiError) -> bool {
    matches!(e, AgiError::DeadChannel | AgiError::Closed)
}

/// Plays a prompt to the caller; false when they hung up during it.
async fn play(session: &mut TcpSession, file: &str) -> Result<bool, FlowError> {
    match session.stream_file(file, "").await {
        Ok(_) => Ok(true),
        Err(e) if caller_gone(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Hangs up the caller as a normal clearing (Q.850 cause 16): AGI's HANGUP leaves the channel's
/// cause at 0, and the call record would show no cause for calls Dialtone ends itself.
async fn hang_up(session: &mut TcpSession) -> Result<(), FlowError> {
    match session.exec("Hangup", "16").await {
        Ok(_) => Ok(()),
        Err(e) if caller_gone(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The caller joins the claimed agent's conference, as a customer, until the call ends.
async fn join_agent(session: &mut TcpSession, agent: &ClaimedAgent) -> Result<(), FlowError> {
    let conference = safe(Kind::Conference, &agent.conference)?;
    session
        .exec(
            "ConfBridge",
            &format!("{conference},dialtone_agent_bridge,dialtone_customer"),
        )
        .await?;
    Ok(())
}

/// Runs a flow and turns its error into one the server logs and counts. A flow that fails on
/// the database tells the dialplan through `DIALTONE_RESULT=error`, so it can play its own
/// fallback instead of leaving the caller in silence.
async fn finish(
    session: &mut TcpSession,
    outcome: Result<&'static str, FlowError>,
) -> Result<(), AgiError> {
    match outcome {
        Ok(result) => {
            if !session.hung_up() {
                session.set_variable("DIALTONE_RESULT", result).await?;
            }
            Ok(())
        }
        Err(FlowError::Agi(e)) => Err(e),
        Err(e) => {
            tracing::error!(error = %e, "call flow failed");
            if !session.hung_up() {
                session.set_variable("DIALTONE_RESULT", "error").await?;
            }
            Ok(())
        }
    }
}

/// A required numeric query parameter of the AGI URL.
fn id_param(session: &TcpSession, name: &str) -> Result<i64, FlowError> {
    let value = session
        .env()
        .script_param(name)
        .ok_or_else(|| FlowError::BadRequest(format!("the AGI URL has no ?{name}=")))?;
    value
        .parse()
        .map_err(|_| FlowError::BadRequest(format!("?{name}={value} is not a number")))
}
