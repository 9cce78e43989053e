//! Call control, as the agent and supervisor pages ask for it: each operation is one AMI action
//! on the channels the call records name. Kept here, beside the dialer, because it is this
//! node's Asterisk that carries the call.

use dialtone_asterisk::ami::{Action, AmiClient, AmiError};
use dialtone_core::asterisk_values::{self, Kind, Refused};
use dialtone_core::call_legs;
use dialtone_core::calls::{self, Ended};
use dialtone_core::campaigns;
use dialtone_core::dnc;
use dialtone_core::manual::{self, ManualError, Target};
use dialtone_core::remote::Declined;
use dialtone_core::vocabulary::CallState;
use futures::StreamExt;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("call {0} has ended")]
    CallEnded(Uuid),
    #[error("call {0} does not exist")]
    NoCall(Uuid),
    #[error("{0} is on a do-not-call list ({1})")]
    DoNotCall(String, String),
    /// A value that may not go to Asterisk: nothing was sent.
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error(transparent)]
    Ami(#[from] AmiError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Dnc(#[from] dnc::DncError),
    #[error(transparent)]
    Manual(#[from] ManualError),
    #[error("call {0} has no agent's conference to rejoin")]
    NoConference(Uuid),
    #[error("call {0} has no third party on the line")]
    NoConsult(Uuid),
    #[error("the parking lot did not take call {0} (full, or res_parking not loaded): the caller is on hold")]
    NotParked(Uuid),
}

impl ControlError {
    /// What the agent or supervisor who asked reads ([`Declined`]); the error itself is for the
    /// node's log.
    pub fn declined(&self) -> Declined {
        match self {
            ControlError::CallEnded(_) => Declined::CallEnded,
            ControlError::NoCall(_) => Declined::NoCall,
            ControlError::DoNotCall(number, _) => Declined::DoNotCall {
                number: number.clone(),
            },
            ControlError::Refused(refused) => Declined::Invalid {
                reason: refused.to_string(),
            },
            ControlError::Ami(_) => Declined::PhoneSystem,
            ControlError::Db(_) | ControlError::Dnc(_) => Declined::Database,
            ControlError::Manual(ManualError::Db(_) | ManualError::Dnc(_)) => Declined::Database,
            ControlError::Manual(refused) => Declined::NotDialed {
                reason: refused.to_string(),
            },
            ControlError::NoConference(_) => Declined::NoConference,
            ControlError::NoConsult(_) => Declined::NoThirdParty,
            ControlError::NotParked(_) => Declined::NotParked,
        }
    }
}

pub use dialtone_core::remote::Monitor;

/// A regular expression matching every channel of a dial string's device: `PJSIP/1001` has
/// channels `PJSIP/1001-0000002a`. AMI's Hangup takes `/regex/` for the channel.
pub fn device_channels(dial_string: &str) -> String {
    let escaped: String = dial_string
        .chars()
        .flat_map(|c| {
            if c.is_ascii_alphanumeric() {
                vec![c]
            } else {
                vec!['\\', c]
            }
        })
        .collect();
    format!("/^{escaped}-/")
}

/// Rings an agent's phone into their conference (the `dialtone-agent` context).
pub fn ring_agent_phone(session_id: i64, phone_dial_string: &str) -> Result<Action, Refused> {
    Ok(Action::new("Originate")
        .field(
            "Channel",
            asterisk_values::check(Kind::Phone, phone_dial_string)?,
        )
        .field("Context", "dialtone-agent")
        .field("Exten", "s")
        .field("Priority", "1")
        .field("Timeout", "30000")
        .field("Async", "true")
        .field("CallerID", "\"Dialtone\" <login>")
        .variable("DIALTONE_AGENT_SESSION", &session_id.to_string()))
}

/// Hangs up every channel of the agent's phone (logout, forced logout).
pub fn hang_up_agent_phone(phone_dial_string: &str) -> Result<Action, Refused> {
    let phone = asterisk_values::check(Kind::Phone, phone_dial_string)?;
    Ok(Action::new("Hangup")
        .field("Channel", device_channels(phone))
        .field("Cause", "16"))
}

/// A supervisor's phone rings and then listens, whispers or barges on the agent's phone.
pub fn monitor(
    supervisor_dial_string: &str,
    agent_dial_string: &str,
    how: Monitor,
) -> Result<Action, Refused> {
    let supervisor = asterisk_values::check(Kind::Phone, supervisor_dial_string)?;
    let agent = asterisk_values::check(Kind::Phone, agent_dial_string)?;
    // ChanSpy options: q quiet, E stop when the spied channel leaves, w whisper, B barge.
    let options = match how {
        Monitor::Listen => "qE",
        Monitor::Whisper => "qEw",
        Monitor::Barge => "qEB",
    };
    Ok(Action::new("Originate")
        .field("Channel", supervisor)
        .field("Application", "ChanSpy")
        .field("Data", format!("{agent}-,{options}"))
        .field("Timeout", "30000")
        .field("Async", "true")
        .field("CallerID", "\"Dialtone monitor\" <monitor>"))
}

/// Parks the customer on music on hold (`dialtone-hold`), out of the agent's conference.
pub fn hold_action(customer_channel: &str) -> Action {
    Action::new("Redirect")
        .field("Channel", customer_channel)
        .field("Context", "dialtone-hold")
        .field("Exten", "s")
        .field("Priority", "1")
}

/// Sends a channel into an agent's conference (`dialtone-conference`), as a customer.
pub fn join_conference(channel: &str, conference: &str) -> Result<Action, Refused> {
    redirect_by_conference(channel, "dialtone-conference", conference)
}

/// Parks the customer (`dialtone-park`), to come back to `conference` when the lot's time is up.
pub fn park_action(channel: &str, conference: &str) -> Result<Action, Refused> {
    redirect_by_conference(channel, "dialtone-park", conference)
}

/// A Redirect of `channel` to `context` at the extension named after the agent's conference.
fn redirect_by_conference(
    channel: &str,
    context: &str,
    conference: &str,
) -> Result<Action, Refused> {
    let conference = asterisk_values::check(Kind::Conference, conference)?;
    Ok(Action::new("Redirect")
        .field("Channel", channel)
        .field("Context", context)
        .field("Exten", conference)
        .field("Priority", "1"))
}

/// Completes a transfer: the customer to `dialtone-transferred`, where they bridge with the
/// third party, who leaves the agent's conference for `dialtone-hold` in the same action.
pub fn transfer_action(customer_channel: &str, third_party_channel: &str) -> Action {
    Action::new("Redirect")
        .field("Channel", customer_channel)
        .field("Context", "dialtone-transferred")
        .field("Exten", "s")
        .field("Priority", "1")
        .field("ExtraChannel", third_party_channel)
        .field("ExtraContext", "dialtone-hold")
        .field("ExtraExten", "s")
        .field("ExtraPriority", "1")
}

/// Dials a third party into the agent's conference (consultation, three-way call). The
/// channel's Uniqueid is `leg_id`, so it can be found again among Asterisk's channels. The
/// third party sees the customer's number, when it is one (an inbound caller's is theirs to
/// make up), else Dialtone's.
pub fn consult_action(
    dial_string: &str,
    conference: &str,
    leg_id: Uuid,
    caller_id: &str,
) -> Result<Action, Refused> {
    let caller_id = if Kind::Number.accepts(caller_id) {
        caller_id
    } else {
        "Dialtone"
    };
    Ok(Action::new("Originate")
        .field(
            "Channel",
            asterisk_values::check(Kind::DialString, dial_string)?,
        )
        .field("Context", "dialtone-conference")
        .field(
            "Exten",
            asterisk_values::check(Kind::Conference, conference)?,
        )
        .field("Priority", "1")
        .field("Timeout", "30000")
        .field("Async", "true")
        .field("ChannelId", leg_id.to_string())
        .field("CallerID", caller_id))
}

/// The Originate of a manual or preview dial, into the agent's conference on answer.
/// `recording`: the absolute file MixMonitor writes when the campaign records every call.
fn manual_originate(
    settings: &campaigns::DialSettings,
    placed: &manual::Placed,
    recording: Option<&str>,
) -> Result<Action, Refused> {
    let mut action = Action::new("Originate")
        .field(
            "Channel",
            crate::dialer::dial_string(settings, &placed.phone_e164)?,
        )
        .field("Context", "dialtone-manual")
        .field("Exten", "s")
        .field("Priority", "1")
        .field(
            "Timeout",
            (settings.ring_timeout_secs.max(15) * 1000).to_string(),
        )
        .field("Async", "true")
        .field("ChannelId", placed.call_id.to_string())
        .variable("DIALTONE_CALL_ID", &placed.call_id.to_string())
        .variable(
            "DIALTONE_CONFERENCE",
            asterisk_values::check(Kind::Conference, &placed.conference)?,
        )
        .variable("DIALTONE_CAMPAIGN_ID", &placed.campaign_id.to_string());
    if let Some(caller_id) = crate::dialer::caller_id(settings)? {
        action = action.field("CallerID", caller_id);
    }
    if let Some(lead) = placed.lead_id {
        action = action.variable("DIALTONE_LEAD_ID", &lead.to_string());
    }
    if let Some(file) = recording {
        action = action.variable(
            "DIALTONE_RECORDING",
            asterisk_values::check(Kind::File, file)?,
        );
    }
    Ok(action)
}

/// The live customer channel of a call.
async fn customer_channel(pool: &PgPool, call_id: Uuid) -> Result<String, ControlError> {
    let row: Option<(CallState, Option<String>)> =
        sqlx::query_as("SELECT state, channel FROM calls WHERE id = $1")
            .bind(call_id)
            .fetch_optional(pool)
            .await?;
    match row {
        None => Err(ControlError::NoCall(call_id)),
        Some((CallState::Ended, _)) => Err(ControlError::CallEnded(call_id)),
        Some((_, None)) => Err(ControlError::CallEnded(call_id)),
        Some((_, Some(channel))) => Ok(channel),
    }
}

/// The name of the channel whose Uniqueid is `uniqueid`, in a CoreShowChannels list.
fn channel_of<'a>(
    channels: &'a [dialtone_asterisk::ami::Message],
    uniqueid: &str,
) -> Option<&'a str> {
    channels
        .iter()
        .find(|c| c.get("Uniqueid") == Some(uniqueid))
        .and_then(|c| c.get("Channel"))
}

/// Follows this node's hang-ups for [`Control::consult_hangup`] until `stop`.
pub async fn follow_consults(control: Control, stop: CancellationToken) {
    let mut hangups = Box::pin(control.ami.events_matching(|e| e.event() == Some("Hangup")));
    loop {
        let event = tokio::select! {
            _ = stop.cancelled() => return,
            event = hangups.next() => match event { Some(e) => e, None => return },
        };
        let Some(uniqueid) = event.get("Uniqueid") else {
            continue;
        };
        let cause = event.get("Cause").and_then(|c| c.parse().ok());
        if let Err(e) = control.consult_hangup(uniqueid, cause).await {
            tracing::error!(%uniqueid, error = %e, "could not follow a hang-up for consultations");
        }
    }
}

/// Call control on this node's Asterisk.
#[derive(Clone)]
pub struct Control {
    pub pool: PgPool,
    pub ami: AmiClient,
    /// MixMonitor's directory on this node, as the call flows' `recordings_dir`: recordings
    /// started here and there land in one tree, where the web finds them.
    pub recordings_dir: std::path::PathBuf,
}

impl Control {
    /// Hangs up the customer (the agent stays in their conference).
    pub async fn hang_up(&self, call_id: Uuid) -> Result<(), ControlError> {
        let channel = customer_channel(&self.pool, call_id).await?;
        self.ami
            .send(
                Action::new("Hangup")
                    .field("Channel", channel)
                    .field("Cause", "16"),
            )
            .await?;
        Ok(())
    }

    /// Sends the customer to a number (never one on a DNC list of the call's campaign or the
    /// system) through the outbound trunk context the dialplan names; the call closes as
    /// transferred and the agent wraps up.
    pub async fn blind_transfer_to_number(
        &self,
        call_id: Uuid,
        e164: &str,
        context: &str,
    ) -> Result<(), ControlError> {
        let campaign: Option<i64> =
            sqlx::query_scalar("SELECT campaign_id FROM calls WHERE id = $1")
                .bind(call_id)
                .fetch_optional(&self.pool)
                .await?
                .flatten();
        if let Some(hit) = dnc::check(&self.pool, campaign, e164).await? {
            return Err(ControlError::DoNotCall(e164.to_string(), hit.value));
        }
        let channel = customer_channel(&self.pool, call_id).await?;
        let exten = asterisk_values::dialed_digits(e164)?;
        self.ami
            .send(
                Action::new("Redirect")
                    .field("Channel", channel)
                    .field("Context", context)
                    .field("Exten", exten)
                    .field("Priority", "1"),
            )
            .await?;
        calls::transferred(&self.pool, call_id).await?;
        Ok(())
    }

    /// Sends the customer into an inbound group's queue (by its DID route), where they become a
    /// new inbound call; this one closes as transferred.
    pub async fn transfer_to_group(
        &self,
        call_id: Uuid,
        group_did: &str,
    ) -> Result<(), ControlError> {
        let group_did = asterisk_values::check(Kind::Did, group_did)?;
        let channel = customer_channel(&self.pool, call_id).await?;
        self.ami
            .send(
                Action::new("Redirect")
                    .field("Channel", channel)
                    .field("Context", "dialtone-inbound")
                    .field("Exten", group_did)
                    .field("Priority", "1"),
            )
            .await?;
        calls::transferred(&self.pool, call_id).await?;
        Ok(())
    }

    /// Plays DTMF digits to the customer (an IVR on the far end).
    pub async fn dtmf(&self, call_id: Uuid, digits: &str) -> Result<(), ControlError> {
        asterisk_values::check(Kind::Dtmf, digits)?;
        let channel = customer_channel(&self.pool, call_id).await?;
        for digit in digits.chars() {
            self.ami
                .send(
                    Action::new("PlayDTMF")
                        .field("Channel", &channel)
                        .field("Digit", digit.to_string())
                        .field("Receive", "false"),
                )
                .await?;
        }
        Ok(())
    }

    /// Puts the customer on hold (music), out of the agent's conference.
    pub async fn hold(&self, call_id: Uuid) -> Result<(), ControlError> {
        let channel = customer_channel(&self.pool, call_id).await?;
        self.ami.send(hold_action(&channel)).await?;
        Ok(())
    }

    /// Brings the customer back from hold into the agent's conference.
    pub async fn resume(&self, call_id: Uuid) -> Result<(), ControlError> {
        let channel = customer_channel(&self.pool, call_id).await?;
        let conference = self.conference(call_id).await?;
        self.ami
            .send(join_conference(&channel, &conference)?)
            .await?;
        Ok(())
    }

    /// Parks the customer in Asterisk's parking lot (`dialtone-park`), where the agent's Resume
    /// or any phone dialing the space takes them back, and the lot's time running out brings
    /// them back to the agent. Returns the space, which the call keeps while it waits there.
    pub async fn park(&self, call_id: Uuid) -> Result<String, ControlError> {
        let channel = customer_channel(&self.pool, call_id).await?;
        let conference = self.conference(call_id).await?;
        let action = park_action(&channel, &conference)?;
        let parkee = channel.clone();
        // Subscribed before the Redirect goes, so the ParkedCall cannot be missed.
        let mut events = Box::pin(self.ami.events_matching(move |e| {
            e.get("ParkeeChannel") == Some(parkee.as_str())
                && matches!(
                    e.event(),
                    Some("ParkedCall" | "UnParkedCall" | "ParkedCallGiveUp" | "ParkedCallTimeOut")
                )
        }));
        self.ami.send(action).await?;
        let parked = tokio::time::timeout(std::time::Duration::from_secs(3), async {
            while let Some(event) = events.next().await {
                if event.event() == Some("ParkedCall") {
                    return event.get("ParkingSpace").map(str::to_string);
                }
            }
            None
        })
        .await;
        // The dialplan puts a caller the lot would not take on hold.
        let Ok(Some(space)) = parked else {
            return Err(ControlError::NotParked(call_id));
        };
        calls::parked(&self.pool, call_id, Some(&space)).await?;
        let pool = self.pool.clone();
        tokio::spawn(async move {
            // However they leave the lot (taken back, timed out, hung up), the space is free.
            while let Some(event) = events.next().await {
                if event.event() != Some("ParkedCall") {
                    if let Err(e) = calls::parked(&pool, call_id, None).await {
                        tracing::error!(%call_id, error = %e, "could not record that a parked caller left the lot");
                    }
                    return;
                }
            }
        });
        Ok(space)
    }

    /// Dials a third party (never a DNC number) into the agent's conference. With
    /// `hold_customer` it is a warm transfer's consultation (the customer waits on hold); without,
    /// a three-way call. Returns the third party's leg id.
    pub async fn consult(
        &self,
        call_id: Uuid,
        e164: &str,
        hold_customer: bool,
    ) -> Result<Uuid, ControlError> {
        let row: Option<(Option<i64>, Option<String>)> =
            sqlx::query_as("SELECT campaign_id, caller_id FROM calls WHERE id = $1")
                .bind(call_id)
                .fetch_optional(&self.pool)
                .await?;
        let (campaign, caller_id) = row.ok_or(ControlError::NoCall(call_id))?;
        if let Some(hit) = dnc::check(&self.pool, campaign, e164).await? {
            return Err(ControlError::DoNotCall(e164.to_string(), hit.value));
        }
        let customer = customer_channel(&self.pool, call_id).await?;
        let conference = self.conference(call_id).await?;
        let settings = match campaign {
            Some(id) => campaigns::dial_settings(&self.pool, id).await?,
            None => None,
        };
        let e164 = asterisk_values::check(Kind::Number, e164)?;
        let dial_string = match &settings {
            Some(s) => crate::dialer::dial_string(s, e164)?,
            None => format!(
                "Local/{}@dialtone-transfer",
                asterisk_values::dialed_digits(e164)?
            ),
        };
        let caller = caller_id.unwrap_or_else(|| "Dialtone".to_string());
        let leg_id = Uuid::new_v4();
        // Refused before anything moves: the customer stays with the agent.
        let action = consult_action(&dial_string, &conference, leg_id, &caller)?;
        if hold_customer {
            self.ami.send(hold_action(&customer)).await?;
        }
        call_legs::open_consult(&self.pool, call_id, &dial_string, leg_id).await?;
        // Subscribed before the Originate goes, so its OriginateResponse cannot be missed.
        let responses = self
            .ami
            .events_matching(|e| e.event() == Some("OriginateResponse"));
        let sent = self.ami.send(action).await?;
        if let Some(action_id) = sent.action_id().map(str::to_string) {
            tokio::spawn(self.clone().follow_consult(
                responses,
                action_id,
                call_id,
                leg_id,
                hold_customer,
            ));
        }
        Ok(leg_id)
    }

    /// Waits for the consultation's dial to be answered or to fail; a third party who is busy,
    /// does not answer or cannot be reached closes the leg, and a customer left on hold for it
    /// comes back to the agent.
    async fn follow_consult(
        self,
        responses: impl futures::Stream<Item = std::sync::Arc<dialtone_asterisk::ami::Message>>,
        action_id: String,
        call_id: Uuid,
        leg_id: Uuid,
        hold_customer: bool,
    ) {
        let mut responses = Box::pin(responses);
        // The Originate rings for 30 seconds at most.
        let answer = tokio::time::timeout(std::time::Duration::from_secs(45), async {
            while let Some(event) = responses.next().await {
                if event.action_id() == Some(action_id.as_str()) {
                    return Some(event);
                }
            }
            None
        })
        .await;
        let Ok(Some(event)) = answer else { return };
        if event.get("Response") == Some("Success") {
            return;
        }
        let reason = event.get("Reason").unwrap_or_default().to_string();
        tracing::info!(%call_id, %leg_id, %reason, "the third party could not be reached");
        let closed = call_legs::close_consults(&self.pool, &[leg_id.to_string()]).await;
        if let Err(e) = closed {
            tracing::error!(%call_id, error = %e, "could not close a failed consultation's leg");
        }
        if hold_customer {
            match self.resume_from_hold(call_id).await {
                Ok(()) | Err(ControlError::CallEnded(_)) => {}
                Err(e) => {
                    tracing::error!(%call_id, error = %e, "could not bring the customer back from hold")
                }
            }
        }
    }

    /// Brings the customer back once they are on hold: a dial can fail before the Redirect to
    /// hold has moved them, and a second Redirect sent meanwhile would be lost to the first.
    async fn resume_from_hold(&self, call_id: Uuid) -> Result<(), ControlError> {
        let customer = customer_channel(&self.pool, call_id).await?;
        for _ in 0..30 {
            let channels = self.ami.send_list(Action::new("CoreShowChannels")).await?;
            let Some(channel) = channels
                .events
                .iter()
                .find(|c| c.get("Channel") == Some(customer.as_str()))
            else {
                return Err(ControlError::CallEnded(call_id));
            };
            // On hold once music plays there; Asterisk refuses a Redirect while the channel is
            // still on its way out of the conference.
            match (channel.get("Context"), channel.get("Application")) {
                (Some("dialtone-hold"), Some("MusicOnHold")) | (None, _) => {
                    return self.resume(call_id).await
                }
                _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
        self.resume(call_id).await
    }

    /// Completes a warm or three-way transfer: the customer and the third party are bridged
    /// together and leave the agent's conference; the call closes as transferred and the agent
    /// wraps up.
    pub async fn complete_transfer(&self, call_id: Uuid) -> Result<(), ControlError> {
        let customer = customer_channel(&self.pool, call_id).await?;
        let (third, leg) = self.consult_channel(call_id).await?;
        self.ami
            .send(
                Action::new("Setvar")
                    .field("Channel", &customer)
                    .field("Variable", "DIALTONE_BRIDGE_TO")
                    .field("Value", leg),
            )
            .await?;
        self.ami.send(transfer_action(&customer, &third)).await?;
        calls::transferred(&self.pool, call_id).await?;
        Ok(())
    }

    /// Ends the consultation: the third party is hung up and the customer is back with the agent.
    pub async fn cancel_consult(&self, call_id: Uuid) -> Result<(), ControlError> {
        if let Ok((third, _)) = self.consult_channel(call_id).await {
            self.ami
                .send(
                    Action::new("Hangup")
                        .field("Channel", third)
                        .field("Cause", "16"),
                )
                .await?;
        }
        self.resume(call_id).await
    }

    /// Dials a lead or a number for an agent, after the compliance checks no screen can skip;
    /// the callee joins the agent's conference on answer.
    pub async fn manual_dial(
        &self,
        session_id: i64,
        node: &str,
        target: &Target,
    ) -> Result<Uuid, ControlError> {
        let placed =
            manual::place(&self.pool, session_id, node, target, chrono::Utc::now()).await?;
        let settings = campaigns::dial_settings(&self.pool, placed.campaign_id)
            .await?
            .ok_or(ControlError::NoCall(placed.call_id))?;
        let unplaced = Ended {
            dial_status: Some("CHANUNAVAIL"),
            ..Ended::default()
        };
        let recording = match self.manual_recording(session_id, &placed).await {
            Ok(recording) => recording,
            Err(e) => {
                // A campaign that records every call is not dialed unrecorded.
                calls::end(&self.pool, placed.call_id, &unplaced).await?;
                return Err(e);
            }
        };
        let sent = match manual_originate(
            &settings,
            &placed,
            recording.as_ref().map(|(_, _, file)| file.as_str()),
        ) {
            Ok(action) => self.ami.send(action).await.map_err(ControlError::from),
            Err(refused) => Err(refused.into()),
        };
        if let Err(e) = sent {
            // Nothing was dialed: close the call so the agent is not left reserved.
            calls::end(&self.pool, placed.call_id, &unplaced).await?;
            return Err(e);
        }
        if let Some((relative, user, _)) = recording {
            calls::recording_started(
                &self.pool,
                placed.call_id,
                Some(placed.campaign_id),
                placed.lead_id,
                Some(user),
                &relative,
            )
            .await?;
        }
        Ok(placed.call_id)
    }

    /// Where a manual call is recorded when its campaign records every call, as the call
    /// flows record theirs: (the file under the recordings root, the agent, the absolute file).
    async fn manual_recording(
        &self,
        session_id: i64,
        placed: &manual::Placed,
    ) -> Result<Option<(String, i64, String)>, ControlError> {
        let Some(settings) = campaigns::call_settings(&self.pool, placed.campaign_id).await? else {
            return Ok(None);
        };
        if !calls::records_every_call(&settings.recording_policy) {
            return Ok(None);
        }
        let user: i64 = sqlx::query_scalar("SELECT user_id FROM agent_sessions WHERE id = $1")
            .bind(session_id)
            .fetch_one(&self.pool)
            .await?;
        let call = placed.call_id.to_string();
        let relative = calls::RecordedCall {
            campaign: &settings.name,
            lead: placed.lead_id,
            uniqueid: &call,
            call: placed.call_id,
            agent: user,
        }
        .file(&settings.recording_pattern, chrono::Utc::now());
        let absolute = asterisk_values::recording_path(&self.recordings_dir, &relative)?;
        Ok(Some((relative, user, absolute)))
    }

    /// The conference of the agent on the call.
    async fn conference(&self, call_id: Uuid) -> Result<String, ControlError> {
        let conference: Option<String> = sqlx::query_scalar(
            "SELECT s.conference FROM calls c JOIN agent_sessions s ON s.id = c.agent_session_id WHERE c.id = $1 AND s.logged_out_at IS NULL",
        )
        .bind(call_id)
        .fetch_optional(&self.pool)
        .await?;
        conference.ok_or(ControlError::NoConference(call_id))
    }

    /// The third party's live channel, found among Asterisk's channels by the leg's Uniqueid,
    /// and that Uniqueid.
    async fn consult_channel(&self, call_id: Uuid) -> Result<(String, String), ControlError> {
        let leg = call_legs::open_consult_of(&self.pool, call_id)
            .await?
            .ok_or(ControlError::NoConsult(call_id))?;
        let channels = self.ami.send_list(Action::new("CoreShowChannels")).await?;
        let channel = channel_of(&channels.events, &leg)
            .map(str::to_string)
            .ok_or(ControlError::NoConsult(call_id))?;
        Ok((channel, leg))
    }

    /// What a channel's hang-up means for consultations: a third party's own closes its leg,
    /// and a customer's hangs up the third parties still in the agent's conference. That
    /// conference is the agent's for the whole session: their next customer must not meet the
    /// last one's third party. Returns how many third parties it hung up.
    pub async fn consult_hangup(
        &self,
        uniqueid: &str,
        cause: Option<i32>,
    ) -> Result<usize, ControlError> {
        // The customer's channel is named by its Uniqueid once the call is answered, and by the
        // call's id (the ChannelId we set) while a manual dial rings.
        let left = call_legs::hung_up(&self.pool, uniqueid, cause).await?;
        if left.is_empty() {
            return Ok(0);
        }
        // Each leg's own Hangup event closes it.
        let (hung_up, _) =
            hang_up_legs(&self.ami, &left, "the customer left a consultation").await?;
        Ok(hung_up)
    }

    /// Starts recording the customer's channel into `file` (relative to the recordings root, as
    /// the call flows record), or stops it.
    pub async fn record(&self, call_id: Uuid, file: Option<&str>) -> Result<(), ControlError> {
        let absolute = file
            .map(|file| asterisk_values::recording_path(&self.recordings_dir, file))
            .transpose()?;
        let channel = customer_channel(&self.pool, call_id).await?;
        let action = match absolute {
            Some(path) => Action::new("MixMonitor")
                .field("Channel", channel)
                .field("File", path)
                .field("Options", "b"),
            None => Action::new("StopMixMonitor").field("Channel", channel),
        };
        self.ami.send(action).await?;
        if file.is_none() {
            crate::recordings::measure_later(
                self.pool.clone(),
                self.recordings_dir.clone(),
                call_id,
            );
        }
        Ok(())
    }
}

/// Third parties a missed Hangup event left behind (a lagging event stream, an AMI
/// reconnect, a consultation dialed as its customer hung up): consult legs still open on this
/// node's calls that ended other than by a transfer. Each is hung up if Asterisk still has
/// it, and closed. Returns how many were hung up.
pub async fn sweep_consults(
    pool: &PgPool,
    ami: &AmiClient,
    node: &str,
) -> Result<usize, ControlError> {
    let legs = call_legs::outlived(pool, node).await?;
    if legs.is_empty() {
        return Ok(0);
    }
    let (hung_up, settled) = hang_up_legs(
        ami,
        &legs,
        "a third party was left in a consultation whose call ended",
    )
    .await?;
    if hung_up > 0 {
        tracing::warn!(
            hung_up,
            "third parties outlived their consultations' calls (a Hangup event was missed)"
        );
    }
    call_legs::close_consults(pool, &settled).await?;
    Ok(hung_up)
}

/// Hangs up the channel of each leg (call, leg uniqueid) that Asterisk still has, from one
/// channel list. Returns how many it hung up, and the legs settled: gone already, or hung
/// up. A failed hang-up is logged and its leg left open, for the node's next sweep.
async fn hang_up_legs(
    ami: &AmiClient,
    legs: &[(Uuid, String)],
    why: &str,
) -> Result<(usize, Vec<String>), ControlError> {
    let channels = ami.send_list(Action::new("CoreShowChannels")).await?;
    let (mut hung_up, mut settled) = (0, Vec::new());
    for (call_id, leg) in legs {
        if let Some(channel) = channel_of(&channels.events, leg) {
            tracing::info!(%call_id, %channel, "{why}: hanging up the third party");
            match ami
                .send(
                    Action::new("Hangup")
                        .field("Channel", channel)
                        .field("Cause", "16"),
                )
                .await
            {
                Ok(_) => hung_up += 1,
                // It hung up in between: what was wanted.
                Err(AmiError::Refused { .. }) => {}
                Err(e) => {
                    tracing::warn!(%call_id, %channel, error = %e, "could not hang up the third party");
                    continue;
                }
            }
        }
        settled.push(leg.clone());
    }
    Ok((hung_up, settled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_read_as_asterisk_expects() {
        assert_eq!(device_channels("PJSIP/1001"), "/^PJSIP\\/1001-/");
        let ring = ring_agent_phone(12, "PJSIP/1001")
            .expect("a phone")
            .encode("a")
            .expect("encodes");
        assert!(ring.contains(
            "Channel: PJSIP/1001\\r\\n"
                .replace("\\r\\n", "\r\n")
                .as_str()
        ));
        assert!(
            ring.contains("Context: dialtone-agent\r\n")
                && ring.contains("Variable: DIALTONE_AGENT_SESSION=12\r\n"),
            "{ring}"
        );
        let spy = monitor("PJSIP/2001", "PJSIP/1001", Monitor::Whisper)
            .expect("phones")
            .encode("b")
            .expect("encodes");
        assert!(
            spy.contains("Application: ChanSpy\r\nData: PJSIP/1001-,qEw\r\n"),
            "{spy}"
        );
        let hangup = hang_up_agent_phone("PJSIP/1001")
            .expect("a phone")
            .encode("c")
            .expect("encodes");
        assert!(hangup.contains("Channel: /^PJSIP\\/1001-/\r\n"), "{hangup}");
        let hold = hold_action("PJSIP/trunk-0001")
            .encode("d")
            .expect("encodes");
        assert!(
            hold.contains("Action: Redirect\r\n") && hold.contains("Context: dialtone-hold\r\n"),
            "{hold}"
        );
        let back = join_conference("PJSIP/trunk-0001", "agent-7")
            .expect("a conference")
            .encode("e")
            .expect("encodes");
        assert!(
            back.contains("Context: dialtone-conference\r\nExten: agent-7\r\n"),
            "{back}"
        );
        let leg = Uuid::nil();
        let consult = consult_action("PJSIP/15551234567@carrier", "agent-7", leg, "+12125550100")
            .expect("values")
            .encode("f")
            .expect("encodes");
        assert!(
            consult.contains("Exten: agent-7\r\n")
                && consult.contains(&format!("ChannelId: {leg}\r\n")),
            "{consult}"
        );
        assert!(consult.contains("CallerID: +12125550100\r\n"), "{consult}");
    }

    #[test]
    fn the_agent_reads_a_sentence_and_never_the_database_or_asterisk_detail() {
        let failures = [
            ControlError::Db(sqlx::Error::PoolTimedOut),
            ControlError::Ami(AmiError::Refused {
                action: "Redirect".into(),
                message: "Channel PJSIP/trunk-01 not found".into(),
            }),
        ];
        for failure in failures {
            let said = failure.declined().to_string();
            assert!(said.ends_with("try again"), "{said}");
            assert!(!said.contains("pool") && !said.contains("PJSIP"), "{said}");
        }
        let dnc = ControlError::DoNotCall("+12015550100".into(), "system list".into());
        assert_eq!(
            dnc.declined().to_string(),
            "+12015550100 is on a do-not-call list"
        );
    }

    #[test]
    fn actions_refuse_what_may_not_reach_asterisk() {
        assert!(ring_agent_phone(1, "Local/15551234567@dialtone-transfer").is_err());
        assert!(hang_up_agent_phone("PJSIP/1001@elsewhere").is_err());
        assert!(monitor("PJSIP/2001", "PJSIP/1001,q,x", Monitor::Listen).is_err());
        assert!(join_conference("PJSIP/trunk-0001", "agent-7,x").is_err());
        assert!(consult_action("PJSIP/1&PJSIP/2", "agent-7", Uuid::nil(), "Dialtone").is_err());
        // A caller ID an inbound caller made up is not passed on.
        let consult = consult_action("PJSIP/1@carrier", "agent-7", Uuid::nil(), "\"x\" <1>;evil")
            .expect("values")
            .encode("g")
            .expect("encodes");
        assert!(consult.contains("CallerID: Dialtone\r\n"), "{consult}");
    }
}
