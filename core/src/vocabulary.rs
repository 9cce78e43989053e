//! The words the whole product shares: roles, dial methods, agent states and call states, and
//! the flags and categories of a disposition. Each is stored as text under a CHECK in the
//! database, travels as the same text in JSON, and is an enum everywhere in between, so a
//! misspelt state is a compile error, not a silent mismatch. This module compiles for the
//! browser too (the admin's pages), so it needs no database: `sqlx::Type` comes with the
//! `store` feature.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

use strum::{Display, IntoStaticStr, VariantArray};

/// A word that is none of its vocabulary's, with the choices, as a form or the CLI shows it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} '{value}': use {choices}")]
pub struct UnknownWord {
    pub kind: &'static str,
    pub value: String,
    pub choices: String,
}

/// Reads a word of `T` exactly as stored: `on_call`, never `On Call` nor `ONCALL`.
fn read<T>(kind: &'static str, value: &str) -> Result<T, UnknownWord>
where
    T: VariantArray + Copy + Into<&'static str>,
{
    T::VARIANTS
        .iter()
        .copied()
        .find(|word| (*word).into() == value)
        .ok_or_else(|| {
            let names: Vec<&'static str> = T::VARIANTS.iter().map(|w| (*w).into()).collect();
            let choices = match names.split_last() {
                Some((last, [])) => (*last).to_string(),
                Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
                None => String::new(),
            };
            UnknownWord {
                kind,
                value: value.to_string(),
                choices,
            }
        })
}

/// A word enum: stored as its snake_case name (as text, under a CHECK), sent as the same name
/// in JSON, shown as it, listed in declaration order, and read back by `FromStr` with a
/// refusal that calls it `$kind`.
macro_rules! word {
    ($kind:literal, $(#[$doc:meta])* pub enum $word:ident { $($body:tt)* }) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Display,
            IntoStaticStr, VariantArray, strum::VariantNames,
        )]
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        #[cfg_attr(feature = "store", derive(sqlx::Type))]
        #[cfg_attr(feature = "store", sqlx(type_name = "text", rename_all = "snake_case"))]
        pub enum $word { $($body)* }

        impl $word {
            /// The word as stored and sent.
            pub fn as_str(self) -> &'static str {
                self.into()
            }
        }

        impl FromStr for $word {
            type Err = UnknownWord;
            fn from_str(s: &str) -> Result<Self, UnknownWord> {
                read($kind, s)
            }
        }
    };
}

word! {
    "role",
    /// Who a person is to Dialtone (`users.role`).
    pub enum Role {
        /// Everything, on every campaign.
        Admin,
        /// Their campaigns' and inbound groups' floors, lists and reports.
        Supervisor,
        /// The agent screen only.
        Agent,
    }
}

impl Role {
    /// Admins and supervisors: the people who run the floor.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Admin | Role::Supervisor)
    }
}

word! {
    "dial method",
    /// How a campaign's calls are placed (`campaigns.dial_method`).
    pub enum DialMethod {
        /// Agents dial their own leads.
        Manual,
        /// Agents see the lead first and dial it.
        Preview,
        /// One line per ready agent.
        Progressive,
        /// `dial_ratio` lines per ready agent.
        Ratio,
        /// Lines from the model of when agents come free and when callees answer.
        Predictive,
    }
}

impl DialMethod {
    /// Whether the dialer places this method's calls by itself (the agent does in manual and
    /// preview).
    pub fn dials_by_itself(self) -> bool {
        matches!(
            self,
            DialMethod::Progressive | DialMethod::Ratio | DialMethod::Predictive
        )
    }
}

word! {
    "agent state",
    /// Where an agent's session is (`agent_sessions.state`).
    pub enum AgentState {
        /// Logged in; their phone is being rung into their conference.
        Connecting,
        /// Waiting for a call.
        Ready,
        /// Taking no calls, with a pause code.
        Paused,
        /// Held for one call on its way to them.
        Reserved,
        /// Talking.
        OnCall,
        /// The call is over; the disposition is not set yet.
        Wrapup,
        /// The session is over.
        LoggedOut,
    }
}

impl AgentState {
    /// The state in the floor's words, as the wallboard shows it.
    pub fn label(self) -> &'static str {
        match self {
            AgentState::Connecting => "Phone ringing",
            AgentState::Ready => "Ready",
            AgentState::Paused => "Paused",
            AgentState::Reserved => "Call coming",
            AgentState::OnCall => "On a call",
            AgentState::Wrapup => "Wrap-up",
            AgentState::LoggedOut => "Logged out",
        }
    }

    /// Not on a call nor about to be: the agent may pause, dial by hand or preview.
    pub fn is_idle(self) -> bool {
        matches!(self, AgentState::Ready | AgentState::Paused)
    }

    /// A call is theirs: on it, or writing it up.
    pub fn has_call(self) -> bool {
        matches!(self, AgentState::OnCall | AgentState::Wrapup)
    }
}

word! {
    "call state",
    /// Where a call is (`calls.state`).
    pub enum CallState {
        /// Dialed; no answer yet.
        Dialing,
        /// Ringing at the far end.
        Ringing,
        /// Answered; not yet with an agent.
        Answered,
        /// Waiting in an inbound group's queue.
        Queued,
        /// With an agent.
        Connected,
        /// Over.
        Ended,
    }
}

/// The flags a disposition (`statuses`) carries, as (column, what it means). The columns
/// reach SQL only from this table.
pub const STATUS_FLAGS: &[(&str, &str)] = &[
    ("selectable", "agents may choose it"),
    ("human_answered", "a person answered (abandon-rate base)"),
    ("customer_contact", "contact made"),
    ("sale", "sale"),
    ("not_interested", "not interested"),
    ("callback", "opens the callback scheduler"),
    ("dnc", "adds the number to the campaign's DNC list"),
    ("unworkable", "number unworkable"),
    ("completed", "stop dialing the lead"),
    ("answering_machine", "answering machine"),
];

/// The categories of a disposition (`statuses.category`).
pub const STATUS_CATEGORIES: &[&str] = &[
    "contact",
    "no_contact",
    "sale",
    "not_interested",
    "callback",
    "dnc",
    "machine",
    "unworkable",
    "other",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_word_is_the_text_the_database_checks() {
        // The CHECK constraints of migrations 20261125000002 to 20261125000004.
        fn names<T: VariantArray + Copy + Into<&'static str>>() -> String {
            let all: Vec<&'static str> = T::VARIANTS.iter().map(|w| (*w).into()).collect();
            all.join(",")
        }
        assert_eq!(names::<Role>(), "admin,supervisor,agent");
        assert_eq!(
            names::<DialMethod>(),
            "manual,preview,progressive,ratio,predictive"
        );
        assert_eq!(
            names::<AgentState>(),
            "connecting,ready,paused,reserved,on_call,wrapup,logged_out"
        );
        assert_eq!(
            names::<CallState>(),
            "dialing,ringing,answered,queued,connected,ended"
        );
    }

    #[test]
    fn words_read_back_as_written_in_text_and_json() {
        for state in AgentState::VARIANTS {
            assert_eq!(state.as_str().parse::<AgentState>().ok(), Some(*state));
            let json = serde_json::to_string(state).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
        assert!("READY".parse::<AgentState>().is_err());
        assert_eq!(
            "turbo".parse::<DialMethod>().map_err(|e| e.to_string()),
            Err("unknown dial method 'turbo': use manual, preview, progressive, ratio or predictive".into())
        );
        assert_eq!(
            "root".parse::<Role>().map_err(|e| e.to_string()),
            Err("unknown role 'root': use admin, supervisor or agent".into())
        );
    }
}
