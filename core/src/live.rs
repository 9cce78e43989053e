//! News for the pages people watch: an agent's state, a call's progress, a page taking over an
//! agent's screen. Changes of rows (agent sessions, calls) are announced by the database itself
//! (the `dialtone_live` NOTIFY of migration `20261128000001_live.sql`), so every process that
//! changes them is heard without telling anyone; news that is not a row change travels on the
//! event bus (Redis between nodes). A web node hears both and forwards to its pages.

use crate::vocabulary::{AgentState, CallState};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The PostgreSQL channel the triggers notify.
pub const PG_CHANNEL: &str = "dialtone_live";
/// The bus channel for news that is not a row change.
pub const BUS_CHANNEL: &str = "live";

/// One piece of news. `kind` names it on the wire, as the triggers write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LiveEvent {
    /// An agent session changed state (or call, or pause code).
    Agent {
        user_id: i64,
        campaign_id: i64,
        session_id: i64,
        state: AgentState,
        pause_code: Option<String>,
        call_id: Option<Uuid>,
        since: DateTime<Utc>,
        /// The lead a preview-dialing agent is looking at.
        #[serde(default)]
        preview_lead_id: Option<i64>,
        /// The node whose Asterisk holds the session's phone.
        #[serde(default)]
        node: Option<String>,
    },
    /// A call was created or changed state.
    Call {
        call_id: Uuid,
        campaign_id: Option<i64>,
        group_id: Option<i64>,
        user_id: Option<i64>,
        state: CallState,
    },
    /// A page of `user_id` opened the agent screen; every other page of theirs must let go.
    TakeOver { user_id: i64, page: Uuid },
    /// A line of text for one agent's screen (a supervisor's note, or a probe of the benchmark,
    /// which stamps it with the time it was sent).
    Notice {
        user_id: i64,
        text: String,
        sent_at_micros: i64,
    },
    /// A user's access ended or changed: their pages' sockets close, those of one web session
    /// (`session`, its token's SHA-256: a sign-out, an expiry) or all of theirs (none: a
    /// deactivation, a password reset, campaigns taken away). A page that reconnects is
    /// authorised afresh.
    Revoked {
        user_id: i64,
        session: Option<String>,
    },
}

impl LiveEvent {
    /// The agent the news is for, if it is for one.
    pub fn user_id(&self) -> Option<i64> {
        match self {
            LiveEvent::Agent { user_id, .. }
            | LiveEvent::TakeOver { user_id, .. }
            | LiveEvent::Notice { user_id, .. }
            | LiveEvent::Revoked { user_id, .. } => Some(*user_id),
            LiveEvent::Call { user_id, .. } => *user_id,
        }
    }

    /// The campaign the news concerns, if any (wallboards watch campaigns).
    pub fn campaign_id(&self) -> Option<i64> {
        match self {
            LiveEvent::Agent { campaign_id, .. } => Some(*campaign_id),
            LiveEvent::Call { campaign_id, .. } => *campaign_id,
            LiveEvent::TakeOver { .. } | LiveEvent::Notice { .. } | LiveEvent::Revoked { .. } => {
                None
            }
        }
    }

    /// The inbound group the news concerns, if any.
    pub fn group_id(&self) -> Option<i64> {
        match self {
            LiveEvent::Call { group_id, .. } => *group_id,
            _ => None,
        }
    }

    /// Whether a page of `user_id` signed in with the session `token_sha256` (none: an API
    /// token) must close for this news.
    pub fn revokes(&self, user_id: i64, token_sha256: Option<&str>) -> bool {
        match self {
            LiveEvent::Revoked {
                user_id: u,
                session,
            } => *u == user_id && (session.is_none() || session.as_deref() == token_sha256),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_trigger_writes() {
        // json_build_object's text form, as PostgreSQL sends it.
        let agent = r#"{"kind" : "agent", "user_id" : 7, "campaign_id" : 2, "session_id" : 11, "state" : "paused", "pause_code" : "LOGIN", "call_id" : null, "since" : "2026-11-28T10:00:01.123456+00:00"}"#;
        let event: LiveEvent = serde_json::from_str(agent).expect("agent event");
        assert_eq!(event.user_id(), Some(7));
        assert_eq!(event.campaign_id(), Some(2));
        let call = r#"{"kind" : "call", "call_id" : "8d9f0c1e-6a57-4b8e-9a43-1f2b3c4d5e6f", "campaign_id" : null, "group_id" : 3, "user_id" : null, "state" : "queued"}"#;
        let event: LiveEvent = serde_json::from_str(call).expect("call event");
        assert_eq!((event.user_id(), event.group_id()), (None, Some(3)));
    }

    #[test]
    fn a_revocation_closes_its_own_sessions_pages_only() {
        let one: LiveEvent =
            serde_json::from_str(r#"{"kind" : "revoked", "user_id" : 7, "session" : "ab"}"#)
                .expect("revoked");
        assert!(one.revokes(7, Some("ab")));
        assert!(!one.revokes(7, Some("cd")) && !one.revokes(8, Some("ab")));
        let all = LiveEvent::Revoked {
            user_id: 7,
            session: None,
        };
        assert!(all.revokes(7, Some("cd")) && all.revokes(7, None) && !all.revokes(8, None));
    }
}
