//! What the wallboard is made of, as the server sends it and the browser shows it. Times
//! travel as "milliseconds ago when sent", as on the agent screen.

use dialtone_core::vocabulary::{AgentState, DialMethod};
use serde::{Deserialize, Serialize};

/// One agent on the wallboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoardAgent {
    pub session_id: i64,
    pub user_id: i64,
    pub name: String,
    pub state: AgentState,
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
            BoardScope::Campaign(id) => format!("/ws/wallboard?campaign={id}"),
            BoardScope::Group(id) => format!("/ws/wallboard?group={id}"),
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
    /// None on an inbound group's board.
    pub dial_method: Option<DialMethod>,
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
