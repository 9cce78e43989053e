//! What the agent screen is made of, as the server sends it and the browser shows it. Times
//! travel as "milliseconds ago when sent", so a page's clock that is wrong does not make its
//! timers wrong.

use dialtone_core::vocabulary::{AgentState, CallState, DialMethod};
use serde::{Deserialize, Serialize};

/// A choice of the campaign's dispositions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DispositionChoice {
    pub code: String,
    pub name: String,
    pub hotkey: Option<i16>,
    /// Choosing it schedules a callback (date and time required).
    pub callback: bool,
}

/// A lead as the agent sees it on a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreenLead {
    pub id: i64,
    pub phone: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub address1: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub comments: String,
    pub custom: Vec<(String, String)>,
    pub time_zone: String,
    /// The callee's local time when sent ("Tue 14:05").
    pub local_time: String,
    pub status: String,
    /// Earlier calls, newest first: (when, outcome, disposition, agent).
    pub history: Vec<(String, String, String, String)>,
}

/// The call on the agent's screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreenCall {
    pub call_id: String,
    pub direction: String,
    pub state: CallState,
    pub phone: String,
    pub ended: bool,
    pub disposition: Option<String>,
    pub recording: bool,
    /// The parking space the caller waits in, while parked.
    pub parked_space: Option<String>,
    pub lead: Option<ScreenLead>,
    /// The campaign's script with the lead's fields filled in.
    pub script: String,
    pub talk_ms_ago: Option<i64>,
}

/// A callback waiting in the agent's list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreenCallback {
    pub id: i64,
    pub lead_id: i64,
    pub name: String,
    pub phone: String,
    /// When, in UTC and in the callee's own time.
    pub due_utc: String,
    pub due_local: String,
    pub comments: String,
    pub due_now: bool,
}

/// The agent's day so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScreenStats {
    pub calls: i64,
    pub talk_secs: i64,
    pub pause_secs: i64,
    pub wait_secs: i64,
    pub sales: i64,
}

/// An open agent session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreenSession {
    pub session_id: i64,
    pub campaign_id: i64,
    pub campaign: String,
    pub dial_method: DialMethod,
    pub state: AgentState,
    pub pause_code: Option<String>,
    pub state_ms_ago: i64,
    pub manual_dial: bool,
    pub record_on_demand: bool,
    pub wrapup_secs: i32,
    pub pause_codes: Vec<(String, String)>,
    /// The campaign's `pause_codes_mode`: "forced" (a code must be chosen), "optional" or "off"
    /// (no codes: the agent just pauses).
    pub pause_codes_mode: String,
    pub dispositions: Vec<DispositionChoice>,
    /// Inbound groups a call may be transferred to: (id, name).
    pub transfer_groups: Vec<(i64, String)>,
    pub call: Option<ScreenCall>,
    /// Preview dialing: the campaign shows the agent each lead before it is dialed.
    pub preview_mode: bool,
    /// The lead the agent is previewing, claimed for them alone.
    pub preview: Option<ScreenLead>,
    pub callbacks: Vec<ScreenCallback>,
    pub stats: ScreenStats,
}

/// Everything the agent screen shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Screen {
    pub name: String,
    pub phone_on_file: String,
    /// Campaigns the agent may log in to: (id, name).
    pub campaigns: Vec<(i64, String)>,
    /// Inbound groups the agent may take calls from: (id, name).
    pub groups: Vec<(i64, String)>,
    pub session: Option<ScreenSession>,
}

/// What the server pushes to an agent's page. The whole screen is the message most sent, so it
/// is not boxed to make the rare small ones smaller.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentPush {
    /// The whole screen (on connecting, and when a call arrives or ends).
    Screen { desk: Screen },
    /// The state alone changed.
    State {
        state: AgentState,
        pause_code: Option<String>,
        state_ms_ago: i64,
    },
    /// Another tab took over this agent's screen: this one stops.
    TakenOver,
    /// A line to show (a supervisor's note; the benchmark's probes carry their send time).
    Notice { text: String, sent_at_micros: i64 },
}
