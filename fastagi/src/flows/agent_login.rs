//! `agent-login?session=<id>`: the agent's phone, rung when they logged in, has answered. It
//! enters the agent's own conference and stays there for the whole session (the nailed-up
//! model): customers are brought to it, so no call waits for a phone to ring.
//!
//! Sets `DIALTONE_RESULT` to `no-session` when the session is not open (the phone hears
//! `invalid` and is hung up). Outcome: the session goes from connecting to paused (LOGIN) while
//! the phone is in; when the phone hangs up the session is logged out, but not when Asterisk
//! itself went away (a crash, or a restart that hung the phone up first): then the node rings
//! the phone again once it is back (`crate::phones`).

use std::sync::Arc;

use dialtone_asterisk::agi::{AgiError, TcpSession};
use dialtone_asterisk::ami::{Action, AmiError, Link};
use dialtone_core::agents;
use tracing::Instrument;

use super::{finish, id_param, safe, FlowError};
use crate::context::FlowContext;
use dialtone_core::asterisk_values::Kind;

pub async fn run(ctx: Arc<FlowContext>, mut session: TcpSession) -> Result<(), AgiError> {
    let outcome = match id_param(&session, "session") {
        Ok(id) => {
            stay_in_conference(&ctx, &mut session, id)
                .instrument(tracing::info_span!("agent", agent_session = id))
                .await
        }
        Err(e) => Err(e),
    };
    finish(&mut session, outcome).await
}

async fn stay_in_conference(
    ctx: &FlowContext,
    session: &mut TcpSession,
    session_id: i64,
) -> Result<&'static str, FlowError> {
    if !agents::phone_connected(&ctx.pool, session_id).await? {
        tracing::warn!("agent phone answered for a session that is not open");
        session.stream_file("invalid", "").await?;
        return Ok("no-session");
    }
    let conference = agents::conference_name(session_id);
    tracing::info!(%conference, "agent phone in its conference");
    let conference = safe(Kind::Conference, &conference)?;
    match session
        .exec(
            "ConfBridge",
            &format!("{conference},dialtone_agent_bridge,dialtone_agent"),
        )
        .await
    {
        Ok(_) => {}
        // Asterisk itself went away (a restart): the session stays, and the node rings the
        // phone again once Asterisk is back (`phones`).
        Err(AgiError::Closed) => {
            tracing::warn!("Asterisk went away with the agent's phone: the session waits for it to be rung again");
            return Ok("asterisk-gone");
        }
        Err(e) => return Err(e.into()),
    }
    // A graceful `core restart` hangs up every phone before Asterisk stops.
    if asterisk_stopping(ctx).await {
        tracing::warn!("Asterisk is shutting down with the agent's phone: the session waits for it to be rung again");
        return Ok("asterisk-gone");
    }
    agents::log_out(&ctx.pool, session_id, "phone hung up").await?;
    tracing::info!("agent phone left; session logged out");
    Ok("logged-out")
}

/// Whether Asterisk itself is going away: while it shuts down its manager refuses every action
/// ("Asterisk is shutting down"), and once it has gone the link is down. Without an AMI link
/// (`dialtone agi`) nothing tells, and a phone that hangs up is taken as the agent's.
async fn asterisk_stopping(ctx: &FlowContext) -> bool {
    let Some(ami) = &ctx.ami else { return false };
    if !matches!(*ami.link().borrow(), Link::Up { .. }) {
        return true;
    }
    match ami.send(Action::new("Ping")).await {
        Ok(_) => false,
        Err(AmiError::Refused { message, .. }) => message.contains("shutting down"),
        Err(AmiError::Disconnected { .. } | AmiError::Stopped) => true,
        // Asterisk alive but slow: the phone's hang-up is the agent's.
        Err(AmiError::Timeout { .. }) => false,
    }
}
