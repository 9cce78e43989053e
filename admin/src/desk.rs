//! What the agent screen and the wallboard are made of, as the server sends them and the
//! browser shows them. Times travel as "milliseconds ago when sent", so a page's clock that is
//! wrong does not make its timers wrong.

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
pub struct DeskLead {
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
pub struct DeskCall {
    pub call_id: String,
    pub direction: String,
    pub state: String,
    pub phone: String,
    pub ended: bool,
    pub disposition: Option<String>,
    pub recording: bool,
    /// The parking space the caller waits in, while parked.
    pub parked_space: Option<String>,
    pub lead: Option<DeskLead>,
    /// The campaign's script with the lead's fields filled in.
    pub script: String,
    pub talk_ms_ago: Option<i64>,
}

/// A callback waiting in the agent's list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeskCallback {
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
pub struct DeskStats {
    pub calls: i64,
    pub talk_secs: i64,
    pub pause_secs: i64,
    pub wait_secs: i64,
    pub sales: i64,
}

/// An open agent session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeskSession {
    pub session_id: i64,
    pub campaign_id: i64,
    pub campaign: String,
    pub dial_method: String,
    pub state: String,
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
    pub call: Option<DeskCall>,
    /// Preview dialing: the campaign shows the agent each lead before it is dialed.
    pub preview_mode: bool,
    /// The lead the agent is previewing, claimed for them alone.
    pub preview: Option<DeskLead>,
    pub callbacks: Vec<DeskCallback>,
    pub stats: DeskStats,
}

/// Everything the agent screen shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Desk {
    pub name: String,
    pub phone_on_file: String,
    /// Campaigns the agent may log in to: (id, name).
    pub campaigns: Vec<(i64, String)>,
    /// Inbound groups the agent may take calls from: (id, name).
    pub groups: Vec<(i64, String)>,
    pub session: Option<DeskSession>,
}

/// What the server pushes to an agent's page. The whole screen is the message most sent, so it
/// is not boxed to make the rare small ones smaller.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentPush {
    /// The whole screen (on connecting, and when a call arrives or ends).
    Desk { desk: Desk },
    /// The state alone changed.
    State {
        state: String,
        pause_code: Option<String>,
        state_ms_ago: i64,
    },
    /// Another tab took over this agent's screen: this one stops.
    TakenOver,
    /// A line to show (a supervisor's note; the benchmark's probes carry their send time).
    Notice { text: String, sent_at_micros: i64 },
}

/// One agent on the wallboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoardAgent {
    pub session_id: i64,
    pub user_id: i64,
    pub name: String,
    pub state: String,
    pub pause_code: Option<String>,
    pub state_ms_ago: i64,
    /// The number on the line, when on a call.
    pub call: Option<String>,
    /// The agent's page has not been heard from for over 5 s: they get no calls.
    pub page_lost: bool,
    pub calls_today: i64,
}

/// An hour of the day on the wallboard's chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoardHour {
    pub hour: i32,
    pub abandon_pct: f64,
    pub occupancy_pct: f64,
}

/// What a wallboard watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum BoardScope {
    Campaign(i64),
    Group(i64),
}

impl BoardScope {
    /// The page and socket addresses of this board.
    pub fn page(self) -> String {
        match self {
            BoardScope::Campaign(id) => format!("/wallboard/{id}"),
            BoardScope::Group(id) => format!("/wallboard/group/{id}"),
        }
    }

    pub fn socket(self) -> String {
        match self {
            BoardScope::Campaign(id) => format!("/ws/board?campaign={id}"),
            BoardScope::Group(id) => format!("/ws/board?group={id}"),
        }
    }
}

/// A campaign's or an inbound group's live view. For a group, the abandon rates are the
/// group's own (callers who hung up or timed out waiting, over callers offered) and there is no
/// dialing: `ringing` and `dial_level` are 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Board {
    pub scope: BoardScope,
    pub campaign: String,
    pub dial_method: String,
    pub agents: Vec<BoardAgent>,
    pub ringing: i64,
    pub waiting: i64,
    pub answers_today: i64,
    pub abandons_today: i64,
    pub abandon_pct_30d: f64,
    pub cap_pct: f64,
    pub abandon_pct_hour: f64,
    pub hourly_cap_pct: Option<f64>,
    /// Lines dialing per ready agent now.
    pub dial_level: f64,
    /// The pacer's trim and what it is doing, in words.
    pub pacer: String,
    pub hours: Vec<BoardHour>,
}

/// What the server pushes to a wallboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BoardPush {
    Board { board: Board },
}
