//! Call control asked of the node whose Asterisk carries the call. The web may run on another
//! machine than that node, so a page's "hang up" or "transfer" travels as a [`Request`] on the
//! node's bus channel, and the answer comes back on a channel of the request's own.

use std::time::Duration;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::bus::{Bus, BusError};
use crate::manual::Target;

/// The channel a node takes control requests on.
pub fn channel(node: &str) -> String {
    format!("control.{node}")
}

/// How a supervisor joins an agent's call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitor {
    /// Hears both sides; nobody hears them.
    Listen,
    /// Only the agent hears them.
    Whisper,
    /// Everyone hears them.
    Barge,
}

/// What a node is asked to do on its Asterisk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Command {
    /// Ring an agent's phone into their conference (login).
    RingPhone {
        session_id: i64,
        dial_string: String,
    },
    /// Hang up every channel of an agent's phone (logout).
    HangUpPhone {
        dial_string: String,
    },
    HangUp {
        call_id: Uuid,
    },
    TransferToNumber {
        call_id: Uuid,
        e164: String,
    },
    /// Into an inbound group's queue, by the group's DID route.
    TransferToGroup {
        call_id: Uuid,
        did: String,
    },
    /// A third party into the agent's conference: warm (`hold_customer`) or three-way.
    Consult {
        call_id: Uuid,
        e164: String,
        hold_customer: bool,
    },
    CompleteTransfer {
        call_id: Uuid,
    },
    CancelConsult {
        call_id: Uuid,
    },
    Hold {
        call_id: Uuid,
    },
    /// Into Asterisk's parking lot; the call keeps the space (`calls.parked_space`).
    Park {
        call_id: Uuid,
    },
    /// Back into the agent's conference, from hold or from the parking lot.
    Resume {
        call_id: Uuid,
    },
    Dtmf {
        call_id: Uuid,
        digits: String,
    },
    /// Start recording into `file` (relative to the recordings root), or stop with `None`.
    Record {
        call_id: Uuid,
        file: Option<String>,
    },
    ManualDial {
        session_id: i64,
        target: Target,
    },
    Monitor {
        supervisor_dial_string: String,
        agent_dial_string: String,
        how: Monitor,
    },
}

impl Command {
    /// The operation's name, as the wire's `op` says it: what logs and spans show.
    pub fn op(&self) -> &'static str {
        match self {
            Command::RingPhone { .. } => "ring_phone",
            Command::HangUpPhone { .. } => "hang_up_phone",
            Command::HangUp { .. } => "hang_up",
            Command::TransferToNumber { .. } => "transfer_to_number",
            Command::TransferToGroup { .. } => "transfer_to_group",
            Command::Consult { .. } => "consult",
            Command::CompleteTransfer { .. } => "complete_transfer",
            Command::CancelConsult { .. } => "cancel_consult",
            Command::Hold { .. } => "hold",
            Command::Park { .. } => "park",
            Command::Resume { .. } => "resume",
            Command::Dtmf { .. } => "dtmf",
            Command::Record { .. } => "record",
            Command::ManualDial { .. } => "manual_dial",
            Command::Monitor { .. } => "monitor",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    pub reply_to: String,
    pub command: Command,
}

/// The node's answer: a call or leg id where the command made one, or why it could not.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reply {
    pub result: Result<Option<Uuid>, Declined>,
}

/// Why a node did not carry out a request, as a sentence for the agent or supervisor who asked.
/// The node logs the detail; a database's or Asterisk's own words never reach a browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "declined", rename_all = "snake_case")]
pub enum Declined {
    #[error("that call has ended")]
    CallEnded,
    #[error("that call is not one this phone system carries")]
    NoCall,
    #[error("{number} is on a do-not-call list")]
    DoNotCall { number: String },
    #[error("the agent is not in their conference")]
    NoConference,
    #[error("there is no third party on the line")]
    NoThirdParty,
    #[error("the parking lot did not take the caller: they are on hold")]
    NotParked,
    /// A manual or preview dial the rules refused (calling hours, DNC, caps, the lead busy),
    /// in the rule's own words.
    #[error("{reason}")]
    NotDialed { reason: String },
    /// A value the whitelist of what may reach Asterisk refused (a number, a phone, a file).
    #[error("{reason}")]
    Invalid { reason: String },
    #[error("the phone system did not do it; try again")]
    PhoneSystem,
    #[error("the database did not answer; try again")]
    Database,
}

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The node said no, and why (a DNC number, a call that ended...).
    #[error(transparent)]
    Refused(Declined),
    #[error("node '{node}' did not answer within {secs} s: is `dialtone serve` running there?")]
    NoAnswer { node: String, secs: u64 },
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// Asks `node` to carry out `command` and waits up to `timeout` for its answer.
pub async fn call(
    bus: &Bus,
    node: &str,
    command: Command,
    timeout: Duration,
) -> Result<Option<Uuid>, RemoteError> {
    let reply_to = format!("control-reply.{}", Uuid::new_v4());
    // Subscribed before asking, so the answer cannot come first.
    let mut replies = bus.subscribe::<Reply>(&reply_to).await?;
    bus.publish(&channel(node), &Request { reply_to, command })
        .await?;
    let answer = tokio::time::timeout(timeout, replies.next()).await;
    match answer {
        Ok(Some(Ok(Reply { result: Ok(id) }))) => Ok(id),
        Ok(Some(Ok(Reply {
            result: Err(reason),
        }))) => Err(RemoteError::Refused(reason)),
        Ok(Some(Err(e))) => Err(e.into()),
        Ok(None) | Err(_) => Err(RemoteError::NoAnswer {
            node: node.to_string(),
            secs: timeout.as_secs(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_is_named_as_the_wire_names_it() {
        let call_id = Uuid::nil();
        for command in [
            Command::RingPhone {
                session_id: 1,
                dial_string: "PJSIP/1001".into(),
            },
            Command::HangUp { call_id },
            Command::TransferToNumber {
                call_id,
                e164: "+12125550100".into(),
            },
            Command::Consult {
                call_id,
                e164: "+12125550100".into(),
                hold_customer: true,
            },
            Command::Record {
                call_id,
                file: None,
            },
            Command::Monitor {
                supervisor_dial_string: "PJSIP/2001".into(),
                agent_dial_string: "PJSIP/1001".into(),
                how: Monitor::Listen,
            },
        ] {
            let wire = serde_json::to_value(&command).expect("encodes");
            assert_eq!(wire["op"], command.op(), "{command:?}");
        }
    }

    #[tokio::test]
    async fn a_node_answers_on_the_request_channel() {
        let bus = Bus::from_config(None).await.expect("bus");
        let mut requests = bus
            .subscribe::<Request>(&channel("n1"))
            .await
            .expect("subscribe");
        let node_bus = bus.clone();
        tokio::spawn(async move {
            while let Some(Ok(request)) = requests.next().await {
                let result = match request.command {
                    Command::HangUp { call_id } => Ok(Some(call_id)),
                    _ => Err(Declined::CallEnded),
                };
                node_bus
                    .publish(&request.reply_to, &Reply { result })
                    .await
                    .expect("reply");
            }
        });
        let call_id = Uuid::new_v4();
        let got = call(
            &bus,
            "n1",
            Command::HangUp { call_id },
            Duration::from_secs(2),
        )
        .await
        .expect("answered");
        assert_eq!(got, Some(call_id));
        let refused = call(
            &bus,
            "n1",
            Command::Hold { call_id },
            Duration::from_secs(2),
        )
        .await;
        assert!(matches!(
            refused,
            Err(RemoteError::Refused(Declined::CallEnded))
        ));
        assert_eq!(
            refused.map_err(|e| e.to_string()),
            Err("that call has ended".to_string()),
            "the agent reads a sentence"
        );
        let silent = call(
            &bus,
            "n2",
            Command::Hold { call_id },
            Duration::from_millis(100),
        )
        .await;
        assert!(matches!(silent, Err(RemoteError::NoAnswer { .. })));
    }
}
