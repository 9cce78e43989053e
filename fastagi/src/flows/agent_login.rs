//! `agent-login?session=<id>`: the agent's phone, rung when they logged in, has answered. It
//! enters the agent's own conference and stays there for the whole session (the nailed-up
//! model): customers are brought to it, so no call waits for a phone to ring.
//!
//! Sets `DIALTONE_RESULT` to `no-session` when the session is not open (the phone hears
//! `invalid` and is hung up). Outcome: the session goes from connecting to paused (LOGIN) while
//! the phone is in; when the phone hangs up the session is logged out, but not when Asterisk
//! itself went away: then the node rings the phone again once it is back (`crate::phones`).

use std::sync::Arc;

use dialtone_asterisk::agi::{AgiError, TcpSession};
use dialtone_core::agents;
use tracing::Instrument;

use super::{finish, id_param, safe, FlowError};
use dialtone_core::asterisk_values::Kind;
use crate::context::FlowContext;

pub async fn run(ctx: Arc<FlowContext>, mut session: TcpSession) -> Result<(), AgiError> {
    let outcome = match id_param(&session, "session") {
        Ok(id) => stay_in_conference(&ctx, &mut session, id).instrument(tracing::info_span!("agent", agent_session = id)).await,
        Err(e) => Err(e),
    };
    finish(&mut session, outcome).await
}

async fn stay_in_conference(ctx: &FlowContext, session: &mut TcpSession, session_id: i64) -> Result<&'static str, FlowError> {
    if !agents::phone_connected(&ctx.pool, session_id).await? {
        tracing::warn!("agent phone answered for a session that is not open");
        session.stream_file("invalid", "").await?;
        return Ok("no-session");
    }
    let conference = agents::conference_name(session_id);
    tracing::info!(%conference, "agent phone in its conference");
    let conference = safe(Kind::Conference, &conference)?;
    match session.exec("ConfBridge", &format!("{conference},dialtone_agent_bridge,dialtone_agent")).await {
        Ok(_) => {}
        // Asterisk itself went away (a restart): the session stays, and the node rings the
        // phone again once Asterisk is back (`phones`).
        Err(AgiError::Closed) => {
            tracing::warn!("Asterisk went away with the agent's phone: the session waits for it to be rung again");
            return Ok("asterisk-gone");
        }
        Err(e) => return Err(e.into()),
    }
    agents::log_out(&ctx.pool, session_id, "phone hung up").await?;
    tracing::info!("agent phone left; session logged out");
    Ok("logged-out")
}
