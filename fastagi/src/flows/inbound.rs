//! `inbound?did=<number>`: a caller dialed one of our numbers.
//!
//! Reads the DID from `?did=` (else `agi_dnid`, else `agi_extension`) and the caller from
//! `agi_callerid`. Sets `DIALTONE_CALL_ID` (so `call-end` can close the call) and
//! `DIALTONE_RESULT`: `agent`, `voicemail`, `message`, `transfer` (with `DIALTONE_TRANSFER` =
//! the number for the dialplan to dial), `caller-hangup`, `no-route` (no active group has this
//! number), or `error`.
//!
//! The DID's group decides. Closed (its call time, in its time zone, less holidays): the
//! group's closed action. No agent logged in: its no-agents action. Otherwise the caller waits
//! with music on hold, hearing their position every `position_announce_secs`, for the
//! longest-idle agent of the group; callers are served by group priority, then arrival. Waiting
//! past `max_wait_secs`: the timeout action. Actions: `voicemail` (mailbox = target),
//! `message_hangup` (audio = target, default `dialtone/closed`), `transfer_number`,
//! `transfer_group` (to another group's queue, at most three hops). Wait time and outcome are
//! recorded on the call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dialtone_asterisk::agi::{AgiError, TcpSession};
use dialtone_core::agents::{self, ClaimedAgent};
use dialtone_core::calls::{self, Connect};
use dialtone_core::inbound::{self, Caller, Group};
use tracing::Instrument;
use uuid::Uuid;

use super::{finish, hang_up, play, put_through, safe, FlowError};
use crate::context::FlowContext;
use dialtone_core::asterisk_values::Kind;

/// Transfers from group to group a call may take before the last group's action is final.
const MAX_GROUP_HOPS: usize = 3;

pub async fn run(ctx: Arc<FlowContext>, mut session: TcpSession) -> Result<(), AgiError> {
    let call_id = Uuid::new_v4();
    let outcome = answer(&ctx, &mut session, call_id).instrument(tracing::info_span!("call", %call_id, group = tracing::field::Empty, agent = tracing::field::Empty)).await;
    finish(&mut session, outcome).await
}

async fn answer(
    ctx: &FlowContext,
    session: &mut TcpSession,
    call_id: Uuid,
) -> Result<&'static str, FlowError> {
    let env = session.env();
    let did = env
        .script_param("did")
        .or_else(|| Some(env.dnid.clone()).filter(|d| !d.is_empty() && d != "unknown"))
        .unwrap_or_else(|| env.extension.clone());
    let Some(mut group) = inbound::group_for_did(&ctx.pool, &did).await? else {
        tracing::warn!(%did, "no active inbound group for this number");
        return Ok("no-route");
    };
    let (uniqueid, channel, caller_id) = (
        env.uniqueid.clone(),
        env.channel.clone(),
        env.callerid.clone(),
    );
    session
        .set_variable("DIALTONE_CALL_ID", &call_id.to_string())
        .await?;
    for _hop in 0..MAX_GROUP_HOPS {
        tracing::Span::current().record("group", group.id);
        let caller = Caller {
            call_id,
            group: &group,
            node: &ctx.node,
            uniqueid: &uniqueid,
            channel: &channel,
            caller_id: &caller_id,
            did: &did,
        };
        let lead_id = inbound::enqueue(&ctx.pool, &caller).await?;
        let (action, target, outcome) = loop {
            break match wait_in_queue(ctx, session, &group, call_id).await? {
                Waited::Agent(agent) => {
                    match put_through(ctx, session, call_id, None, &agent).await? {
                        Connect::Connected => {
                            return talk(ctx, session, &group, call_id, lead_id, &agent).await
                        }
                        // A call already closed keeps its outcome (`left_queue` leaves ended calls alone).
                        Connect::CallEnded => {
                            inbound::left_queue(&ctx.pool, call_id, "caller_hangup").await?;
                            return Ok("caller-hangup");
                        }
                        Connect::AgentGone => {
                            tracing::info!(
                                agent = agent.user_id,
                                "the agent left before the caller reached them: back in the queue"
                            );
                            continue;
                        }
                    }
                }
                Waited::CallerLeft => {
                    inbound::left_queue(&ctx.pool, call_id, "caller_hangup").await?;
                    return Ok("caller-hangup");
                }
                Waited::Closed => (
                    group.closed_action.clone(),
                    group.closed_target.clone(),
                    "after_hours",
                ),
                Waited::NoAgents => (
                    group.no_agents_action.clone(),
                    group.no_agents_target.clone(),
                    "no_agents",
                ),
                Waited::TimedOut => (
                    group.timeout_action.clone(),
                    group.timeout_target.clone(),
                    "queue_timeout",
                ),
            };
        };
        tracing::info!(reason = outcome, %action, "leaving the queue");
        match action.as_str() {
            "transfer_group" => {
                let next = match target.as_deref() {
                    Some(t) => inbound::group_named(&ctx.pool, t).await?,
                    None => None,
                };
                match next {
                    Some(next) if next.id != group.id => {
                        inbound::left_queue(&ctx.pool, call_id, "transferred").await?;
                        group = next;
                        continue;
                    }
                    _ => {
                        tracing::error!(
                            target = target.as_deref().unwrap_or(""),
                            "transfer to a group that is not active; hanging up with the message"
                        );
                        return message_and_hangup(ctx, session, call_id, None, outcome).await;
                    }
                }
            }
            "transfer_number" => {
                // Dialed as every transfer is: digits, no `+` (`dialtone-transfer`).
                let number = dialtone_core::asterisk_values::dialed_digits(
                    target.as_deref().unwrap_or_default(),
                )?;
                inbound::left_queue(&ctx.pool, call_id, "transferred").await?;
                session.set_variable("DIALTONE_TRANSFER", number).await?;
                return Ok("transfer");
            }
            "voicemail" => {
                inbound::left_queue(&ctx.pool, call_id, "voicemail").await?;
                match target.as_deref() {
                    Some(mailbox) => {
                        let mailbox = safe(Kind::Mailbox, mailbox)?;
                        session.set_music(false, None).await?;
                        session.exec("VoiceMail", &format!("{mailbox},u")).await?;
                        return Ok("voicemail");
                    }
                    None => {
                        return message_and_hangup(ctx, session, call_id, None, "voicemail").await
                    }
                }
            }
            _ => {
                return message_and_hangup(ctx, session, call_id, target.as_deref(), outcome).await
            }
        }
    }
    tracing::error!("too many transfers between groups");
    message_and_hangup(ctx, session, call_id, None, "transferred").await
}

async fn message_and_hangup(
    ctx: &FlowContext,
    session: &mut TcpSession,
    call_id: Uuid,
    audio: Option<&str>,
    outcome: &str,
) -> Result<&'static str, FlowError> {
    inbound::left_queue(&ctx.pool, call_id, outcome).await?;
    session.set_music(false, None).await?;
    play(
        session,
        safe(Kind::File, audio.unwrap_or("dialtone/closed"))?,
    )
    .await?;
    hang_up(session).await?;
    Ok("message")
}

enum Waited {
    Agent(ClaimedAgent),
    CallerLeft,
    Closed,
    NoAgents,
    TimedOut,
}

async fn wait_in_queue(
    ctx: &FlowContext,
    session: &mut TcpSession,
    group: &Group,
    call_id: Uuid,
) -> Result<Waited, FlowError> {
    let zone = group.time_zone.parse().unwrap_or(chrono_tz::UTC);
    if !dialtone_core::calltimes::is_open(&ctx.pool, group.call_time_id, zone, chrono::Utc::now())
        .await?
    {
        return Ok(Waited::Closed);
    }
    if inbound::agents_logged_in(&ctx.pool, group.id).await? == 0 {
        return Ok(Waited::NoAgents);
    }
    if let Some(agent) = agents::claim_for_inbound(&ctx.pool, call_id, group.id).await? {
        return Ok(Waited::Agent(agent));
    }
    if let Some(welcome) = &group.welcome_audio {
        session.stream_file(safe(Kind::File, welcome)?, "").await?;
    }
    let music = safe(Kind::MusicClass, &group.music_class)?;
    session.set_music(true, Some(music)).await?;
    let started = Instant::now();
    let max_wait = Duration::from_secs(group.max_wait_secs.max(1) as u64);
    let announce_every = (group.position_announce_secs > 0)
        .then(|| Duration::from_secs(group.position_announce_secs as u64));
    let mut next_announcement = announce_every.map(|every| started + every);
    loop {
        match session.check_hangup() {
            Ok(false) => {}
            Ok(true) | Err(AgiError::Closed) => return Ok(Waited::CallerLeft),
            Err(e) => return Err(e.into()),
        }
        if let Some(agent) = agents::claim_for_inbound(&ctx.pool, call_id, group.id).await? {
            return Ok(Waited::Agent(agent));
        }
        if started.elapsed() >= max_wait {
            return Ok(Waited::TimedOut);
        }
        if let (Some(at), Some(every)) = (next_announcement, announce_every) {
            if Instant::now() >= at {
                let position = inbound::position(&ctx.pool, call_id, group.id).await?;
                session.set_music(false, None).await?;
                if position <= 1 {
                    session.stream_file("queue-youarenext", "").await?;
                } else {
                    session.stream_file("queue-thereare", "").await?;
                    session.say_number(position, "").await?;
                    session.stream_file("queue-callswaiting", "").await?;
                }
                session.set_music(true, Some(music)).await?;
                next_announcement = Some(Instant::now() + every);
            }
        }
        tokio::time::sleep(ctx.agent_poll.max(Duration::from_millis(20))).await;
    }
}

async fn talk(
    ctx: &FlowContext,
    session: &mut TcpSession,
    group: &Group,
    call_id: Uuid,
    lead_id: Option<i64>,
    agent: &ClaimedAgent,
) -> Result<&'static str, FlowError> {
    tracing::Span::current().record("agent", agent.user_id);
    session.set_music(false, None).await?;
    if calls::records_every_call(&group.recording_policy) {
        let relative = format!(
            "{}.wav",
            calls::recording_path(
                "{date}/inbound/{group}/{uniqueid}",
                chrono::Utc::now(),
                &[
                    ("group", &group.name),
                    ("uniqueid", &session.env().uniqueid)
                ],
            )
        );
        super::record(ctx, session, &relative).await?;
        calls::recording_started(
            &ctx.pool,
            call_id,
            group.campaign_id,
            lead_id,
            Some(agent.user_id),
            &relative,
        )
        .await?;
    }
    // The agent's screen pops from the session's change itself (its NOTIFY, core::live).
    super::join_agent(session, agent).await?;
    Ok("agent")
}
