//! Call control, as the agent and supervisor pages ask for it: each operation is one AMI action
//! on the channels the call records name. Kept here, beside the dialer, because it is this
//! node's Asterisk that carries the call.

use dialtone_asterisk::ami::{Action, AmiClient, AmiError};
use dialtone_core::dnc;
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("call {0} has ended")]
    CallEnded(Uuid),
    #[error("call {0} does not exist")]
    NoCall(Uuid),
    #[error("{0} is on a do-not-call list ({1})")]
    DoNotCall(String, String),
    #[error("'{0}' is not a DTMF digit")]
    BadDigit(char),
    #[error(transparent)]
    Ami(#[from] AmiError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Dnc(#[from] dnc::DncError),
}

/// How a supervisor joins an agent's call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Monitor {
    /// Hears both sides; nobody hears them.
    Listen,
    /// Only the agent hears them.
    Whisper,
    /// Everyone hears them.
    Barge,
}

/// A regular expression matching every channel of a dial string's device: `PJSIP/1001` has
/// channels `PJSIP/1001-0000002a`. AMI's Hangup takes `/regex/` for the channel.
pub fn device_channels(dial_string: &str) -> String {
    let escaped: String = dial_string.chars().flat_map(|c| if c.is_ascii_alphanumeric() { vec![c] } else { vec!['\\', c] }).collect();
    format!("/^{escaped}-/")
}

/// Rings an agent's phone into their conference (the `dialtone-agent` context).
pub fn ring_agent_phone(session_id: i64, phone_dial_string: &str) -> Action {
    Action::new("Originate")
        .field("Channel", phone_dial_string)
        .field("Context", "dialtone-agent")
        .field("Exten", "s")
        .field("Priority", "1")
        .field("Timeout", "30000")
        .field("Async", "true")
        .field("CallerID", "\"Dialtone\" <login>")
        .variable("DIALTONE_AGENT_SESSION", &session_id.to_string())
}

/// Hangs up every channel of the agent's phone (logout, forced logout).
pub fn hang_up_agent_phone(phone_dial_string: &str) -> Action {
    Action::new("Hangup").field("Channel", device_channels(phone_dial_string)).field("Cause", "16")
}

/// A supervisor's phone rings and then listens, whispers or barges on the agent's phone.
pub fn monitor(supervisor_dial_string: &str, agent_dial_string: &str, how: Monitor) -> Action {
    // ChanSpy options: q quiet, E stop when the spied channel leaves, w whisper, B barge.
    let options = match how {
        Monitor::Listen => "qE",
        Monitor::Whisper => "qEw",
        Monitor::Barge => "qEB",
    };
    Action::new("Originate")
        .field("Channel", supervisor_dial_string)
        .field("Application", "ChanSpy")
        .field("Data", format!("{agent_dial_string}-,{options}"))
        .field("Timeout", "30000")
        .field("Async", "true")
        .field("CallerID", "\"Dialtone monitor\" <monitor>")
}

/// The live customer channel of a call.
async fn customer_channel(pool: &PgPool, call_id: Uuid) -> Result<String, ControlError> {
    let row: Option<(String, Option<String>)> = sqlx::query_as("SELECT state, channel FROM calls WHERE id = $1").bind(call_id).fetch_optional(pool).await?;
    match row {
        None => Err(ControlError::NoCall(call_id)),
        Some((state, _)) if state == "ended" => Err(ControlError::CallEnded(call_id)),
        Some((_, None)) => Err(ControlError::CallEnded(call_id)),
        Some((_, Some(channel))) => Ok(channel),
    }
}

/// Call control on this node's Asterisk.
#[derive(Clone)]
pub struct Control {
    pub pool: PgPool,
    pub ami: AmiClient,
}

impl Control {
    /// Hangs up the customer (the agent stays in their conference).
    pub async fn hang_up(&self, call_id: Uuid) -> Result<(), ControlError> {
        let channel = customer_channel(&self.pool, call_id).await?;
        self.ami.send(Action::new("Hangup").field("Channel", channel).field("Cause", "16")).await?;
        Ok(())
    }

    /// Sends the customer to a number (never one on a DNC list of the call's campaign or the
    /// system) through the outbound trunk context the dialplan names.
    pub async fn blind_transfer_to_number(&self, call_id: Uuid, e164: &str, context: &str) -> Result<(), ControlError> {
        let campaign: Option<i64> = sqlx::query_scalar("SELECT campaign_id FROM calls WHERE id = $1").bind(call_id).fetch_optional(&self.pool).await?.flatten();
        if let Some(hit) = dnc::check(&self.pool, campaign, e164).await? {
            return Err(ControlError::DoNotCall(e164.to_string(), hit.value));
        }
        let channel = customer_channel(&self.pool, call_id).await?;
        let exten = e164.trim_start_matches('+');
        self.ami.send(Action::new("Redirect").field("Channel", channel).field("Context", context).field("Exten", exten).field("Priority", "1")).await?;
        Ok(())
    }

    /// Sends the customer into an inbound group's queue (by its DID route).
    pub async fn transfer_to_group(&self, call_id: Uuid, group_did: &str) -> Result<(), ControlError> {
        let channel = customer_channel(&self.pool, call_id).await?;
        self.ami.send(Action::new("Redirect").field("Channel", channel).field("Context", "dialtone-inbound").field("Exten", group_did).field("Priority", "1")).await?;
        Ok(())
    }

    /// Plays DTMF digits to the customer (an IVR on the far end).
    pub async fn dtmf(&self, call_id: Uuid, digits: &str) -> Result<(), ControlError> {
        if let Some(bad) = digits.chars().find(|c| !matches!(c, '0'..='9' | '*' | '#' | 'A'..='D')) {
            return Err(ControlError::BadDigit(bad));
        }
        let channel = customer_channel(&self.pool, call_id).await?;
        for digit in digits.chars() {
            self.ami.send(Action::new("PlayDTMF").field("Channel", &channel).field("Digit", digit.to_string()).field("Receive", "false")).await?;
        }
        Ok(())
    }

    /// Starts or stops recording the customer's channel.
    pub async fn record(&self, call_id: Uuid, file: Option<&str>) -> Result<(), ControlError> {
        let channel = customer_channel(&self.pool, call_id).await?;
        let action = match file {
            Some(file) => Action::new("MixMonitor").field("Channel", channel).field("File", file).field("Options", "b"),
            None => Action::new("StopMixMonitor").field("Channel", channel),
        };
        self.ami.send(action).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_read_as_asterisk_expects() {
        assert_eq!(device_channels("PJSIP/1001"), "/^PJSIP\\/1001-/");
        let ring = ring_agent_phone(12, "PJSIP/1001").encode("a").expect("encodes");
        assert!(ring.contains("Channel: PJSIP/1001\\r\\n".replace("\\r\\n", "\r\n").as_str()));
        assert!(ring.contains("Context: dialtone-agent\r\n") && ring.contains("Variable: DIALTONE_AGENT_SESSION=12\r\n"), "{ring}");
        let spy = monitor("PJSIP/2001", "PJSIP/1001", Monitor::Whisper).encode("b").expect("encodes");
        assert!(spy.contains("Application: ChanSpy\r\nData: PJSIP/1001-,qEw\r\n"), "{spy}");
        let hangup = hang_up_agent_phone("PJSIP/1001").encode("c").expect("encodes");
        assert!(hangup.contains("Channel: /^PJSIP\\/1001-/\r\n"), "{hangup}");
    }
}
