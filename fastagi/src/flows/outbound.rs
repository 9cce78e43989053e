//! `outbound?campaign=<id>`: the answered leg of a dialed lead, after AMD.
//!
//! Arguments: `agi_arg_1` = `${AMDSTATUS}`, `agi_arg_2` = `${AMDCAUSE}` (read from the channel
//! when absent). Variables read: `DIALTONE_CALL_ID` and `DIALTONE_LEAD_ID`, set by the dialer's
//! Originate. Sets `DIALTONE_RESULT` to what happened: `agent` (talked to an agent), `abandoned`
//! (no agent within the drop timeout: safe-harbor message played), `caller-hangup` (gone before
//! reaching the agent), `machine-hangup`, `machine-message`, or `error`.
//!
//! A person (HUMAN, or NOTSURE or MACHINE where the campaign routes those to agents) is given to
//! the longest-idle ready agent, if one is free before the campaign's drop timeout (2 seconds
//! at most, the FTC rule) runs out; recording starts if the campaign records every call; the
//! agent's screen is told; the caller joins the agent's conference until the call ends. No agent
//! in time: the safe-harbor message plays, the call hangs up, and the abandon goes in the ledger.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dialtone_asterisk::agi::{AgiError, TcpSession};
use dialtone_core::agents::{self, ClaimedAgent};
use dialtone_core::calls::{self, Answered, Connect};
use dialtone_core::campaigns::{self, CallSettings};
use tracing::Instrument;
use uuid::Uuid;

use super::{caller_gone, finish, hang_up, id_param, play, put_through, safe, FlowError};
use crate::context::FlowContext;
use dialtone_core::asterisk_values::Kind;

/// What the campaign wants done with this answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Agent,
    Hangup,
    Message,
}

fn route(amd_status: &str, settings: &CallSettings) -> Route {
    let action = match amd_status {
        "MACHINE" => settings.amd_machine_action.as_str(),
        "NOTSURE" => settings.amd_notsure_action.as_str(),
        // HUMAN, no AMD at all, or anything Asterisk adds later: a person until shown otherwise.
        _ => "agent",
    };
    match action {
        "hangup" => Route::Hangup,
        "message" if settings.machine_message_audio.is_some() => Route::Message,
        "message" => Route::Hangup,
        _ => Route::Agent,
    }
}

pub async fn run(ctx: Arc<FlowContext>, mut session: TcpSession) -> Result<(), AgiError> {
    let outcome = match call_ids(&mut session).await {
        Ok((campaign_id, call_id, lead_id)) => {
            let span = tracing::info_span!("call", %call_id, campaign = campaign_id, lead = lead_id, agent = tracing::field::Empty);
            handle(&ctx, &mut session, campaign_id, call_id, lead_id)
                .instrument(span)
                .await
        }
        Err(e) => Err(e),
    };
    finish(&mut session, outcome).await
}

async fn call_ids(session: &mut TcpSession) -> Result<(i64, Uuid, Option<i64>), FlowError> {
    let campaign_id = id_param(session, "campaign")?;
    let call_id = match session.get_variable("DIALTONE_CALL_ID").await? {
        Some(id) => id.parse().map_err(|_| {
            FlowError::BadRequest(format!("DIALTONE_CALL_ID {id:?} is not a call id"))
        })?,
        // A call not placed by the dialer (a test from the dialplan): it still gets a record.
        None => Uuid::new_v4(),
    };
    let lead_id = session
        .get_variable("DIALTONE_LEAD_ID")
        .await?
        .and_then(|l| l.parse().ok());
    Ok((campaign_id, call_id, lead_id))
}

async fn handle(
    ctx: &FlowContext,
    session: &mut TcpSession,
    campaign_id: i64,
    call_id: Uuid,
    lead_id: Option<i64>,
) -> Result<&'static str, FlowError> {
    let started = Instant::now();
    let settings = campaigns::call_settings(&ctx.pool, campaign_id)
        .await?
        .ok_or_else(|| FlowError::BadRequest(format!("campaign {campaign_id} does not exist")))?;
    let amd_status = match session.env().arg(1).filter(|s| !s.is_empty()) {
        Some(status) => Some(status.to_string()),
        None => session.get_variable("AMDSTATUS").await?,
    };
    let amd_cause = match session.env().arg(2).filter(|s| !s.is_empty()) {
        Some(cause) => Some(cause.to_string()),
        None => session.get_variable("AMDCAUSE").await?,
    };
    let (uniqueid, channel) = (
        session.env().uniqueid.clone(),
        session.env().channel.clone(),
    );
    let status = amd_status.as_deref().unwrap_or("HUMAN");
    let route = route(status, &settings);
    calls::answered(
        &ctx.pool,
        &Answered {
            call_id,
            campaign_id,
            lead_id,
            node: &ctx.node,
            uniqueid: &uniqueid,
            channel: &channel,
            amd_status: amd_status.as_deref(),
            amd_cause: amd_cause.as_deref(),
            waits_for_agent: matches!(route, Route::Agent),
        },
    )
    .await?;
    tracing::info!(
        amd = status,
        cause = amd_cause.as_deref().unwrap_or(""),
        "answered"
    );

    match route {
        Route::Hangup => {
            calls::machine(&ctx.pool, call_id, campaign_id, false).await?;
            hang_up(session).await?;
            Ok("machine-hangup")
        }
        Route::Message => {
            // Wait for the greeting to end (silence), then speak after the beep.
            let audio = safe(
                Kind::File,
                settings
                    .machine_message_audio
                    .as_deref()
                    .unwrap_or_default(),
            )?;
            let left = match session.exec("WaitForSilence", "1500,1,20").await {
                Ok(_) => play(session, audio).await?,
                Err(e) if caller_gone(&e) => false,
                Err(e) => return Err(e.into()),
            };
            calls::machine(&ctx.pool, call_id, campaign_id, left).await?;
            hang_up(session).await?;
            Ok(if left {
                "machine-message"
            } else {
                "machine-hangup"
            })
        }
        Route::Agent => {
            let deadline = started + Duration::from_secs_f64(settings.drop_timeout_secs);
            loop {
                let Some(agent) = wait_for_agent(ctx, campaign_id, call_id, deadline).await? else {
                    tracing::warn!(
                        waited_ms = started.elapsed().as_millis() as u64,
                        "no agent within the drop timeout: abandoned"
                    );
                    // Counted before the message: a callee who hangs up during it is still an
                    // abandon, and whether or not the message may be played.
                    calls::abandoned(&ctx.pool, call_id, campaign_id).await?;
                    match safe(Kind::File, &settings.safe_harbor_audio) {
                        Ok(audio) => {
                            if !play(session, audio).await? {
                                tracing::info!("the callee hung up during the safe-harbor message");
                            }
                        }
                        Err(e) => tracing::error!(error = %e, "safe-harbor message not played"),
                    }
                    hang_up(session).await?;
                    return Ok("abandoned");
                };
                match put_through(ctx, session, call_id, Some(settings.id), &agent).await? {
                    Connect::Connected => {
                        return talk(ctx, session, &settings, call_id, lead_id, &agent).await
                    }
                    Connect::CallEnded => return Ok("caller-hangup"),
                    Connect::AgentGone => tracing::info!(
                        agent = agent.user_id,
                        "the agent left before the caller reached them: another is sought"
                    ),
                }
            }
        }
    }
}

/// Tries to claim an agent until `deadline`; the claim itself is race-free across nodes.
async fn wait_for_agent(
    ctx: &FlowContext,
    campaign_id: i64,
    call_id: Uuid,
    deadline: Instant,
) -> Result<Option<ClaimedAgent>, FlowError> {
    loop {
        if let Some(agent) = agents::claim_ready(&ctx.pool, campaign_id, call_id).await? {
            return Ok(Some(agent));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(ctx.agent_poll.min(deadline - now)).await;
    }
}

async fn talk(
    ctx: &FlowContext,
    session: &mut TcpSession,
    settings: &CallSettings,
    call_id: Uuid,
    lead_id: Option<i64>,
    agent: &ClaimedAgent,
) -> Result<&'static str, FlowError> {
    tracing::Span::current().record("agent", agent.user_id);
    if calls::records_every_call(&settings.recording_policy) {
        let relative = calls::RecordedCall {
            campaign: &settings.name,
            lead: lead_id,
            uniqueid: &session.env().uniqueid,
            call: call_id,
            agent: agent.user_id,
        }
        .file(&settings.recording_pattern, chrono::Utc::now());
        super::record(ctx, session, &relative).await?;
        calls::recording_started(
            &ctx.pool,
            call_id,
            Some(settings.id),
            lead_id,
            Some(agent.user_id),
            &relative,
        )
        .await?;
    }
    // The agent's screen pops from the session's change itself (its NOTIFY, core::live).
    tracing::info!(conference = %agent.conference, "caller joins the agent");
    super::join_agent(session, agent).await?;
    Ok("agent")
}
