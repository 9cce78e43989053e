//! The agent screen on the server: what it shows (one [`Screen`] read from the database), and
//! what an agent may do from it. Every action checks that the session, call or lead is the
//! agent's own; call control goes to the node whose Asterisk carries the call
//! (`dialtone_core::remote`), and compliance checks run there, where no page can skip them.

use dialtone_core::vocabulary::{AgentState, CallState, DialMethod};
use std::time::Duration;

use chrono::{DateTime, Utc};
use dialtone_core::bus::Bus;
use dialtone_core::dispositions::{self, CallbackRequest, Disposition, DispositionError};
use dialtone_core::manual::Target;
use dialtone_core::preview::{self, PreviewError};
use dialtone_core::remote::{self, Command, RemoteError};
use dialtone_core::{agents, calls};
use sqlx::PgPool;
use uuid::Uuid;

use crate::model::agent::{
    DispositionChoice, Screen, ScreenCall, ScreenCallback, ScreenLead, ScreenSession, ScreenStats,
};

/// How long a page waits for the node to carry out a call-control request.
pub const CONTROL_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("you are not logged in to a campaign")]
    NoSession,
    #[error("you are logged in already (to {0}); log out first")]
    AlreadyIn(String),
    #[error("that campaign is not open to you, or not active")]
    NoCampaign,
    #[error("that inbound group is not open to you")]
    NoGroup,
    #[error("no phone is assigned to you: ask an admin to set yours on the Users page")]
    NoPhone,
    #[error("you are {0} now, so that cannot be done")]
    WrongState(AgentState),
    #[error("you have no call")]
    NoCall,
    #[error("that call has ended")]
    CallEnded,
    #[error("this campaign's agents do not take inbound calls: log in without groups")]
    NoInbound,
    #[error("the campaign has as many agents logged in as it allows")]
    CampaignFull,
    #[error("choose one of the campaign's pause codes")]
    BadPauseCode,
    #[error("this campaign does not use pause codes: pause without one")]
    NoPauseCodes,
    #[error("this campaign does not allow manual dialing")]
    NoManualDial,
    #[error("this campaign does not record on demand")]
    NoRecording,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Disposition(#[from] DispositionError),
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

impl AgentError {
    /// The message for the agent: a database failure's detail stays in the log.
    pub fn message(&self) -> String {
        match self {
            AgentError::Db(e) | AgentError::Disposition(DispositionError::Db(e)) => {
                tracing::error!(error = %e, "agent screen: database");
                "the database did not answer; try again".into()
            }
            AgentError::Remote(RemoteError::Bus(e)) => {
                tracing::error!(error = %e, "agent screen: the bus to the nodes");
                "the phone system could not be reached; try again".into()
            }
            other => other.to_string(),
        }
    }
}

/// What the actions need: the database, the bus to the nodes, and the node agents of this web
/// use (their session's node, whose Asterisk rings their phone).
#[derive(Clone)]
pub struct AgentActions {
    pub pool: PgPool,
    pub bus: Bus,
    pub node: String,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    session_id: i64,
    campaign_id: i64,
    campaign: String,
    dial_method: DialMethod,
    state: AgentState,
    pause_code: Option<String>,
    state_ms_ago: i64,
    manual_dial: bool,
    record_on_demand: bool,
    wrapup_secs: i32,
    pause_codes_mode: String,
    call_id: Option<Uuid>,
    script: String,
    node: String,
    phone_dial_string: String,
    preview_lead_id: Option<i64>,
}

/// The pause code of a pause without a reason (migration `20261201000006`).
const NO_PAUSE_CODE: &str = "PAUSED";

const SESSION_SQL: &str = "SELECT s.id AS session_id, s.campaign_id, c.name AS campaign, c.dial_method, s.state, s.pause_code,
        (extract(epoch FROM clock_timestamp() - s.state_since) * 1000)::bigint AS state_ms_ago,
        c.manual_dial, c.recording_policy IN ('on_demand', 'all_calls') AS record_on_demand, c.wrapup_secs, c.pause_codes_mode,
        s.current_call_id AS call_id, c.script, s.node, s.phone_dial_string, s.preview_lead_id
     FROM agent_sessions s JOIN campaigns c ON c.id = s.campaign_id
     WHERE s.user_id = $1 AND s.logged_out_at IS NULL";

async fn open_session(pool: &PgPool, user_id: i64) -> Result<Option<SessionRow>, sqlx::Error> {
    sqlx::query_as(SESSION_SQL)
        .bind(user_id)
        .fetch_optional(pool)
        .await
}

async fn session_of(pool: &PgPool, user_id: i64) -> Result<SessionRow, AgentError> {
    open_session(pool, user_id)
        .await?
        .ok_or(AgentError::NoSession)
}

/// The whole agent screen of `user_id`.
pub async fn screen(pool: &PgPool, user_id: i64) -> Result<Screen, sqlx::Error> {
    let (display, username, phone): (String, String, Option<String>) =
        sqlx::query_as("SELECT display_name, username, phone_dial_string FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(pool)
            .await?;
    let campaigns: Vec<(i64, String)> = sqlx::query_as(
        "SELECT c.id, c.name FROM campaigns c JOIN user_campaigns uc ON uc.campaign_id = c.id WHERE uc.user_id = $1 AND c.active ORDER BY c.name",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    let groups: Vec<(i64, String)> = sqlx::query_as(
        "SELECT g.id, g.name FROM inbound_groups g JOIN user_inbound_groups ug ON ug.group_id = g.id WHERE ug.user_id = $1 AND g.active ORDER BY g.name",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    let session = match open_session(pool, user_id).await? {
        Some(row) => Some(
            session_view(
                pool,
                user_id,
                row,
                if display.is_empty() {
                    &username
                } else {
                    &display
                },
            )
            .await?,
        ),
        None => None,
    };
    Ok(Screen {
        name: if display.is_empty() {
            username
        } else {
            display
        },
        phone_on_file: phone.unwrap_or_default(),
        campaigns,
        groups,
        session,
    })
}

async fn session_view(
    pool: &PgPool,
    user_id: i64,
    row: SessionRow,
    agent_name: &str,
) -> Result<ScreenSession, sqlx::Error> {
    let pause_codes: Vec<(String, String)> = sqlx::query_as(
        "SELECT p.code, p.name FROM campaign_pause_codes cp JOIN pause_codes p ON p.code = cp.pause_code
         WHERE cp.campaign_id = $1 AND NOT p.system ORDER BY p.name",
    )
    .bind(row.campaign_id)
    .fetch_all(pool)
    .await?;
    let dispositions: Vec<(String, String, Option<i16>, bool)> = sqlx::query_as(
        "SELECT s.code, s.name, cd.hotkey, s.callback FROM campaign_dispositions cd JOIN statuses s ON s.code = cd.status_code
         WHERE cd.campaign_id = $1 AND s.selectable ORDER BY cd.hotkey NULLS LAST, s.name",
    )
    .bind(row.campaign_id)
    .fetch_all(pool)
    .await?;
    let transfer_groups: Vec<(i64, String)> = sqlx::query_as(
        "SELECT g.id, g.name FROM inbound_groups g WHERE g.active AND EXISTS (SELECT 1 FROM dids d WHERE d.group_id = g.id AND d.active) ORDER BY g.name",
    )
    .fetch_all(pool)
    .await?;
    let call = match row.call_id {
        Some(call_id) => call_view(pool, call_id, &row.script, &row.campaign, agent_name).await?,
        None => None,
    };
    let preview_mode = row.dial_method == DialMethod::Preview;
    let preview = match row.preview_lead_id {
        Some(lead_id) if call.is_none() => lead_view(pool, lead_id, Uuid::nil()).await?,
        _ => None,
    };
    let callbacks = dispositions::for_agent(pool, user_id, row.campaign_id)
        .await?
        .into_iter()
        .map(|cb| {
            let local = cb
                .time_zone
                .parse::<chrono_tz::Tz>()
                .map(|tz| {
                    cb.due_at
                        .with_timezone(&tz)
                        .format("%a %d %b %H:%M")
                        .to_string()
                })
                .unwrap_or_default();
            ScreenCallback {
                id: cb.id,
                lead_id: cb.lead_id,
                name: cb.name,
                phone: cb.phone_e164,
                due_utc: cb.due_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                due_local: format!("{local} ({})", cb.time_zone),
                comments: cb.comments,
                due_now: cb.due_at <= Utc::now(),
            }
        })
        .collect();
    Ok(ScreenSession {
        session_id: row.session_id,
        campaign_id: row.campaign_id,
        campaign: row.campaign,
        dial_method: row.dial_method,
        state: row.state,
        pause_code: row.pause_code,
        state_ms_ago: row.state_ms_ago.max(0),
        manual_dial: row.manual_dial,
        record_on_demand: row.record_on_demand,
        wrapup_secs: row.wrapup_secs,
        pause_codes: if row.pause_codes_mode == "off" {
            Vec::new()
        } else {
            pause_codes
        },
        pause_codes_mode: row.pause_codes_mode,
        dispositions: dispositions
            .into_iter()
            .map(|(code, name, hotkey, callback)| DispositionChoice {
                code,
                name,
                hotkey,
                callback,
            })
            .collect(),
        transfer_groups,
        call,
        preview_mode,
        preview,
        callbacks,
        stats: stats(pool, user_id).await?,
    })
}

#[derive(sqlx::FromRow)]
struct CallRow {
    direction: String,
    state: CallState,
    phone: String,
    disposition: Option<String>,
    recording: bool,
    lead_id: Option<i64>,
    parked_space: Option<String>,
    talk_ms_ago: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct LeadRow {
    id: i64,
    phone_e164: String,
    first_name: String,
    last_name: String,
    email: String,
    address1: String,
    city: String,
    state: String,
    postal_code: String,
    comments: String,
    custom: serde_json::Value,
    time_zone: String,
    status: String,
}

async fn call_view(
    pool: &PgPool,
    call_id: Uuid,
    script: &str,
    campaign: &str,
    agent_name: &str,
) -> Result<Option<ScreenCall>, sqlx::Error> {
    let Some(call): Option<CallRow> = sqlx::query_as(
        "SELECT c.direction, c.state, coalesce(c.phone_e164, c.caller_id, '') AS phone, c.disposition,
                EXISTS (SELECT 1 FROM recordings r WHERE r.call_id = c.id AND r.ended_at IS NULL) AS recording, c.lead_id, c.parked_space,
                (extract(epoch FROM clock_timestamp() - c.agent_connected_at) * 1000)::bigint AS talk_ms_ago
         FROM calls c WHERE c.id = $1",
    )
    .bind(call_id)
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let lead = match call.lead_id {
        Some(lead_id) => lead_view(pool, lead_id, call_id).await?,
        None => None,
    };
    let script = fill_script(script, lead.as_ref(), &call.phone, campaign, agent_name);
    Ok(Some(ScreenCall {
        call_id: call_id.to_string(),
        direction: call.direction,
        ended: call.state == CallState::Ended,
        state: call.state,
        phone: call.phone,
        disposition: call.disposition,
        recording: call.recording,
        parked_space: call.parked_space,
        lead,
        script,
        talk_ms_ago: call.talk_ms_ago,
    }))
}

async fn lead_view(
    pool: &PgPool,
    lead_id: i64,
    call_id: Uuid,
) -> Result<Option<ScreenLead>, sqlx::Error> {
    let Some(lead): Option<LeadRow> = sqlx::query_as(
        "SELECT id, phone_e164, first_name, last_name, email, address1, city, coalesce(state, '') AS state,
                coalesce(postal_code, '') AS postal_code, comments, custom, time_zone, status
         FROM leads WHERE id = $1",
    )
    .bind(lead_id)
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let history: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC', coalesce(c.outcome, c.state),
                coalesce(c.disposition, ''), coalesce(u.username, '')
         FROM calls c LEFT JOIN users u ON u.id = c.agent_user_id
         WHERE c.lead_id = $1 AND c.id <> $2 ORDER BY c.created_at DESC LIMIT 10",
    )
    .bind(lead_id)
    .bind(call_id)
    .fetch_all(pool)
    .await?;
    let local_time = lead
        .time_zone
        .parse::<chrono_tz::Tz>()
        .map(|tz| Utc::now().with_timezone(&tz).format("%a %H:%M").to_string())
        .unwrap_or_default();
    let custom = match lead.custom {
        serde_json::Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| {
                let text = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, text)
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(Some(ScreenLead {
        id: lead.id,
        phone: lead.phone_e164,
        first_name: lead.first_name,
        last_name: lead.last_name,
        email: lead.email,
        address1: lead.address1,
        city: lead.city,
        state: lead.state,
        postal_code: lead.postal_code,
        comments: lead.comments,
        custom,
        time_zone: lead.time_zone,
        local_time,
        status: lead.status,
        history,
    }))
}

/// The campaign's script with `{first_name}`, `{last_name}`, `{phone}`, `{city}`, `{state}`,
/// `{email}`, `{agent}`, `{campaign}` and any custom field's `{name}` filled in. The page shows it
/// as text, never as HTML, so a lead's fields cannot inject markup.
pub fn fill_script(
    script: &str,
    lead: Option<&ScreenLead>,
    phone: &str,
    campaign: &str,
    agent: &str,
) -> String {
    let mut out = script
        .replace("{agent}", agent)
        .replace("{campaign}", campaign)
        .replace("{phone}", phone);
    if let Some(lead) = lead {
        for (key, value) in [
            ("first_name", &lead.first_name),
            ("last_name", &lead.last_name),
            ("city", &lead.city),
            ("state", &lead.state),
            ("email", &lead.email),
            ("postal_code", &lead.postal_code),
        ] {
            out = out.replace(&format!("{{{key}}}"), value);
        }
        for (key, value) in &lead.custom {
            out = out.replace(&format!("{{{key}}}"), value);
        }
    }
    out
}

async fn stats(pool: &PgPool, user_id: i64) -> Result<ScreenStats, sqlx::Error> {
    let (calls, talk_secs, sales): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), coalesce(sum(c.talk_secs), 0)::bigint, count(*) FILTER (WHERE s.sale)
         FROM calls c LEFT JOIN statuses s ON s.code = c.disposition
         WHERE c.agent_user_id = $1 AND c.created_at >= date_trunc('day', now())",
    )
    .bind(user_id)
    .fetch_one(pool)
    .await?;
    let (pause_secs, wait_secs): (i64, i64) = sqlx::query_as(
        "SELECT coalesce(sum(extract(epoch FROM coalesce(ended_at, now()) - greatest(started_at, date_trunc('day', now())))) FILTER (WHERE state = 'paused'), 0)::bigint,
                coalesce(sum(extract(epoch FROM coalesce(ended_at, now()) - greatest(started_at, date_trunc('day', now())))) FILTER (WHERE state = 'ready'), 0)::bigint
         FROM agent_state_history
         WHERE user_id = $1 AND started_at >= date_trunc('day', now()) - interval '1 day' AND coalesce(ended_at, now()) > date_trunc('day', now())",
    )
    .bind(user_id)
    .fetch_one(pool)
    .await?;
    Ok(ScreenStats {
        calls,
        talk_secs,
        pause_secs,
        wait_secs,
        sales,
    })
}

impl AgentActions {
    async fn control(&self, node: &str, command: Command) -> Result<Option<Uuid>, AgentError> {
        Ok(remote::call(&self.bus, node, command, CONTROL_TIMEOUT).await?)
    }

    /// Logs the agent in to a campaign (and inbound groups) and rings their phone into their
    /// conference: the phone an admin assigned them, never one typed at login, which could
    /// ring (or hang up) any number or a colleague's phone.
    pub async fn log_in(
        &self,
        user_id: i64,
        campaign_id: i64,
        group_ids: &[i64],
    ) -> Result<i64, AgentError> {
        if let Some(open) = open_session(&self.pool, user_id).await? {
            return Err(AgentError::AlreadyIn(open.campaign));
        }
        // None: the campaign is not theirs, or not active.
        let allow_inbound: Option<bool> = sqlx::query_scalar(
            "SELECT c.allow_inbound FROM user_campaigns uc JOIN campaigns c ON c.id = uc.campaign_id WHERE uc.user_id = $1 AND c.id = $2 AND c.active",
        )
        .bind(user_id)
        .bind(campaign_id)
        .fetch_optional(&self.pool)
        .await?;
        match allow_inbound {
            None => return Err(AgentError::NoCampaign),
            Some(false) if !group_ids.is_empty() => return Err(AgentError::NoInbound),
            Some(_) => {}
        }
        let mine: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM user_inbound_groups WHERE user_id = $1 AND group_id = ANY($2)",
        )
        .bind(user_id)
        .bind(group_ids)
        .fetch_one(&self.pool)
        .await?;
        if mine != group_ids.len() as i64 {
            return Err(AgentError::NoGroup);
        }
        let phone: Option<String> =
            sqlx::query_scalar("SELECT phone_dial_string FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?;
        let phone = phone.ok_or(AgentError::NoPhone)?;
        let session_id = match agents::open_session(
            &self.pool,
            user_id,
            campaign_id,
            &self.node,
            &phone,
        )
        .await
        {
            Ok(id) => id,
            // The one-open-session index: another tab logged in a moment ago.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(AgentError::AlreadyIn("another campaign".into()))
            }
            Err(sqlx::Error::Database(e)) if e.constraint() == Some("max_logged_in_agents") => {
                return Err(AgentError::CampaignFull)
            }
            Err(e) => return Err(e.into()),
        };
        if !group_ids.is_empty() {
            agents::join_groups(&self.pool, session_id, group_ids).await?;
        }
        if let Err(e) = self
            .control(
                &self.node,
                Command::RingPhone {
                    session_id,
                    dial_string: phone,
                },
            )
            .await
        {
            // Nobody can ring the phone: the session would wait for nothing.
            agents::log_out(&self.pool, session_id, "phone could not be rung").await?;
            return Err(e);
        }
        Ok(session_id)
    }

    /// Ready for calls: from a pause or from wrap-up (which it ends early).
    pub async fn ready(&self, user_id: i64) -> Result<(), AgentError> {
        let s = session_of(&self.pool, user_id).await?;
        if s.state == AgentState::Connecting {
            return Err(AgentError::Invalid(
                "your phone has not answered yet: pick it up first".into(),
            ));
        }
        if !agents::transition(
            &self.pool,
            s.session_id,
            &[AgentState::Paused, AgentState::Wrapup],
            AgentState::Ready,
            None,
        )
        .await?
        {
            return Err(AgentError::WrongState(s.state));
        }
        Ok(())
    }

    /// Paused from ready or wrap-up, with one of the campaign's pause codes or, where its
    /// `pause_codes_mode` allows, without (`code` empty; the session then says `PAUSED`).
    pub async fn pause(&self, user_id: i64, code: &str) -> Result<(), AgentError> {
        let s = session_of(&self.pool, user_id).await?;
        let code = code.trim();
        let code = match (s.pause_codes_mode.as_str(), code.is_empty()) {
            ("off", true) | ("optional", true) => NO_PAUSE_CODE,
            ("off", false) => return Err(AgentError::NoPauseCodes),
            (_, true) => return Err(AgentError::BadPauseCode),
            (_, false) => {
                let offered: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM campaign_pause_codes cp JOIN pause_codes p ON p.code = cp.pause_code
                                    WHERE cp.campaign_id = $1 AND p.code = $2 AND NOT p.system)",
                )
                .bind(s.campaign_id)
                .bind(code)
                .fetch_one(&self.pool)
                .await?;
                if !offered {
                    return Err(AgentError::BadPauseCode);
                }
                code
            }
        };
        if !agents::transition(
            &self.pool,
            s.session_id,
            &[AgentState::Ready, AgentState::Wrapup, AgentState::Paused],
            AgentState::Paused,
            Some(code),
        )
        .await?
        {
            return Err(AgentError::WrongState(s.state));
        }
        Ok(())
    }

    /// Logs out: the phone is hung up and the session closed. Not in the middle of a call.
    pub async fn log_out(&self, user_id: i64) -> Result<(), AgentError> {
        let s = session_of(&self.pool, user_id).await?;
        if matches!(s.state, AgentState::OnCall | AgentState::Reserved) {
            return Err(AgentError::WrongState(s.state));
        }
        end_session(
            self,
            s.session_id,
            &s.node,
            &s.phone_dial_string,
            "agent logged out",
        )
        .await
    }

    /// The agent's current call, if it is still going.
    async fn live_call(&self, user_id: i64) -> Result<(SessionRow, Uuid), AgentError> {
        let s = session_of(&self.pool, user_id).await?;
        let call_id = s.call_id.ok_or(AgentError::NoCall)?;
        let state: Option<CallState> = sqlx::query_scalar("SELECT state FROM calls WHERE id = $1")
            .bind(call_id)
            .fetch_optional(&self.pool)
            .await?;
        match state {
            None => Err(AgentError::NoCall),
            Some(CallState::Ended) => Err(AgentError::CallEnded),
            Some(_) => Ok((s, call_id)),
        }
    }

    pub async fn hang_up(&self, user_id: i64) -> Result<(), AgentError> {
        let (s, call_id) = self.live_call(user_id).await?;
        self.control(&s.node, Command::HangUp { call_id }).await?;
        Ok(())
    }

    pub async fn hold(&self, user_id: i64, on: bool) -> Result<(), AgentError> {
        let (s, call_id) = self.live_call(user_id).await?;
        self.control(
            &s.node,
            if on {
                Command::Hold { call_id }
            } else {
                Command::Resume { call_id }
            },
        )
        .await?;
        Ok(())
    }

    /// Parks the caller in Asterisk's parking lot; returns the space, which any phone can dial
    /// to take them.
    pub async fn park(&self, user_id: i64) -> Result<String, AgentError> {
        let (s, call_id) = self.live_call(user_id).await?;
        self.control(&s.node, Command::Park { call_id }).await?;
        let space: Option<String> =
            sqlx::query_scalar("SELECT parked_space FROM calls WHERE id = $1")
                .bind(call_id)
                .fetch_optional(&self.pool)
                .await?
                .flatten();
        space.ok_or(AgentError::CallEnded)
    }

    pub async fn dtmf(&self, user_id: i64, digits: &str) -> Result<(), AgentError> {
        let digits = digits.trim();
        if digits.is_empty() || digits.len() > 32 {
            return Err(AgentError::Invalid(
                "send 1 to 32 keys: 0-9, * and #".into(),
            ));
        }
        let (s, call_id) = self.live_call(user_id).await?;
        self.control(
            &s.node,
            Command::Dtmf {
                call_id,
                digits: digits.to_string(),
            },
        )
        .await?;
        Ok(())
    }

    /// Blind transfer to a number (DNC-checked by the node) or to an inbound group.
    pub async fn transfer(
        &self,
        user_id: i64,
        to: &str,
        group_id: Option<i64>,
    ) -> Result<(), AgentError> {
        let (s, call_id) = self.live_call(user_id).await?;
        let command = match group_id {
            Some(group) => {
                let did: Option<String> = sqlx::query_scalar(
                    "SELECT number FROM dids WHERE group_id = $1 AND active ORDER BY id LIMIT 1",
                )
                .bind(group)
                .fetch_optional(&self.pool)
                .await?;
                Command::TransferToGroup {
                    call_id,
                    did: did.ok_or(AgentError::NoGroup)?,
                }
            }
            None => Command::TransferToNumber {
                call_id,
                e164: self.number(s.campaign_id, to).await?,
            },
        };
        self.control(&s.node, command).await?;
        Ok(())
    }

    /// Warm (`hold_customer`) or three-way: dials a third party into the conference.
    pub async fn consult(
        &self,
        user_id: i64,
        to: &str,
        hold_customer: bool,
    ) -> Result<(), AgentError> {
        let (s, call_id) = self.live_call(user_id).await?;
        let e164 = self.number(s.campaign_id, to).await?;
        self.control(
            &s.node,
            Command::Consult {
                call_id,
                e164,
                hold_customer,
            },
        )
        .await?;
        Ok(())
    }

    pub async fn finish_consult(&self, user_id: i64, complete: bool) -> Result<(), AgentError> {
        let (s, call_id) = self.live_call(user_id).await?;
        self.control(
            &s.node,
            if complete {
                Command::CompleteTransfer { call_id }
            } else {
                Command::CancelConsult { call_id }
            },
        )
        .await?;
        Ok(())
    }

    /// Starts or stops recording the call, where the campaign records on demand.
    pub async fn record(&self, user_id: i64, start: bool) -> Result<(), AgentError> {
        let (s, call_id) = self.live_call(user_id).await?;
        if !s.record_on_demand {
            return Err(AgentError::NoRecording);
        }
        if start {
            let (pattern, lead): (String, Option<i64>) =
                sqlx::query_as("SELECT c.recording_pattern, k.lead_id FROM campaigns c, calls k WHERE c.id = $1 AND k.id = $2")
                    .bind(s.campaign_id)
                    .bind(call_id)
                    .fetch_one(&self.pool)
                    .await?;
            let relative = calls::RecordedCall {
                campaign: &s.campaign,
                lead,
                uniqueid: &call_id.to_string(),
                call: call_id,
                agent: user_id,
            }
            .file(&pattern, Utc::now());
            self.control(
                &s.node,
                Command::Record {
                    call_id,
                    file: Some(relative.clone()),
                },
            )
            .await?;
            calls::recording_started(
                &self.pool,
                call_id,
                Some(s.campaign_id),
                lead,
                Some(user_id),
                &relative,
            )
            .await?;
        } else {
            self.control(
                &s.node,
                Command::Record {
                    call_id,
                    file: None,
                },
            )
            .await?;
            calls::recordings_stopped(&self.pool, call_id).await?;
        }
        Ok(())
    }

    /// Manual or preview dial of a lead or a typed number. The node runs the compliance checks
    /// (DNC, the callee's calling hours, the 24-hour caps) before anything is dialed.
    pub async fn dial(&self, user_id: i64, target: Target) -> Result<(), AgentError> {
        let s = session_of(&self.pool, user_id).await?;
        let previewed = matches!(&target, Target::Lead(id) if s.preview_lead_id == Some(*id));
        if !s.manual_dial && !previewed {
            return Err(AgentError::NoManualDial);
        }
        if !s.state.is_idle() {
            return Err(AgentError::WrongState(s.state));
        }
        let lead = match &target {
            Target::Lead(id) => Some(*id),
            Target::Number(_) => None,
        };
        self.control(
            &s.node,
            Command::ManualDial {
                session_id: s.session_id,
                target,
            },
        )
        .await?;
        if let Some(lead) = lead {
            preview::dialed(&self.pool, s.session_id, lead).await?;
        }
        Ok(())
    }

    /// Preview dialing: claims the campaign's next lead for the agent to look at.
    pub async fn preview_next(&self, user_id: i64) -> Result<(), AgentError> {
        let s = session_of(&self.pool, user_id).await?;
        preview::next(&self.pool, s.session_id, &s.node, Utc::now())
            .await
            .map_err(|e| match e {
                PreviewError::Db(e) => AgentError::Db(e),
                other => AgentError::Invalid(other.to_string()),
            })?;
        Ok(())
    }

    /// Skips the previewed lead: it is offered again in an hour.
    pub async fn preview_skip(&self, user_id: i64) -> Result<(), AgentError> {
        let s = session_of(&self.pool, user_id).await?;
        preview::release(&self.pool, s.session_id, preview::SKIP_MINUTES).await?;
        Ok(())
    }

    /// When a callback typed on the agent's screen falls due: typed in the callee's own time,
    /// as the screen shows it.
    pub async fn callback_due(
        &self,
        user_id: i64,
        local: &str,
    ) -> Result<DateTime<Utc>, AgentError> {
        let zone: Option<String> = sqlx::query_scalar(
            "SELECT l.time_zone FROM agent_sessions s JOIN calls c ON c.id = s.current_call_id JOIN leads l ON l.id = c.lead_id
             WHERE s.user_id = $1 AND s.logged_out_at IS NULL",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        callback_time(local, zone.as_deref().unwrap_or("UTC"))
    }

    /// The disposition of the agent's call; ends wrap-up when the call is over (ready again,
    /// or paused when the campaign pauses agents after each call, or when they ask to). Set
    /// during the call, the same happens when the call ends, with no wrap-up.
    pub async fn dispose(
        &self,
        user_id: i64,
        status: &str,
        callback: Option<CallbackRequest>,
        then_pause: bool,
    ) -> Result<(), AgentError> {
        let s = session_of(&self.pool, user_id).await?;
        let call_id = s.call_id.ok_or(AgentError::NoCall)?;
        // A call still ringing (a manual dial) has no outcome to disposition yet.
        if !s.state.has_call() {
            return Err(AgentError::WrongState(s.state));
        }
        dispositions::set(
            &self.pool,
            &Disposition {
                call_id,
                user_id,
                status,
                callback,
                then_pause,
            },
            Utc::now(),
        )
        .await?;
        let pause_after: bool =
            sqlx::query_scalar("SELECT pause_after_each_call FROM campaigns WHERE id = $1")
                .bind(s.campaign_id)
                .fetch_one(&self.pool)
                .await?;
        let (state, pause_code) = agents::after_call(then_pause || pause_after);
        agents::transition(
            &self.pool,
            s.session_id,
            &[AgentState::Wrapup],
            state,
            pause_code,
        )
        .await?;
        Ok(())
    }

    /// Saves the fields of the lead on the agent's screen (only that lead). Of the custom
    /// fields, only those the lead has are changed: an agent edits them, not their names.
    pub async fn save_lead(
        &self,
        user_id: i64,
        lead_id: i64,
        fields: &LeadFields,
    ) -> Result<(), AgentError> {
        let s = session_of(&self.pool, user_id).await?;
        let call_id = s.call_id.ok_or(AgentError::NoCall)?;
        fields.check()?;
        let custom = serde_json::Value::Object(
            fields
                .custom
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect(),
        );
        let saved = dialtone_core::lead_edits::on_call(
            &self.pool,
            lead_id,
            call_id,
            &[
                ("first_name", fields.first_name.as_str()),
                ("last_name", fields.last_name.as_str()),
                ("email", fields.email.as_str()),
                ("address1", fields.address1.as_str()),
                ("city", fields.city.as_str()),
                ("comments", fields.comments.as_str()),
            ],
            &custom,
        )
        .await
        .map_err(|e| match e {
            dialtone_core::lead_edits::LeadEditError::Db(e) => AgentError::Db(e),
            other => AgentError::Invalid(other.to_string()),
        })?;
        if !saved {
            return Err(AgentError::Invalid(
                "that lead is not the one on your screen".into(),
            ));
        }
        Ok(())
    }

    /// A number typed by the agent, in E.164 (read in the US when it has no country code).
    /// A number the agent typed, read in the campaign's country.
    async fn number(&self, campaign_id: i64, raw: &str) -> Result<String, AgentError> {
        let country = dialtone_core::campaigns::typing_country(&self.pool, campaign_id).await?;
        let country = dialtone_core::phone::country(&country)
            .map_err(|e| AgentError::Invalid(e.to_string()))?;
        dialtone_core::phone::normalize(raw, country)
            .map(|n| n.number)
            .map_err(|e| AgentError::Invalid(e.to_string()))
    }
}

/// Hangs up the session's phone (best effort: the node may be gone) and closes the session.
pub async fn end_session(
    ctx: &AgentActions,
    session_id: i64,
    node: &str,
    phone: &str,
    reason: &str,
) -> Result<(), AgentError> {
    // A lead being previewed goes back to the dialer at once.
    preview::release(&ctx.pool, session_id, 0).await?;
    if let Err(e) = ctx
        .control(
            node,
            Command::HangUpPhone {
                dial_string: phone.to_string(),
            },
        )
        .await
    {
        tracing::warn!(error = %e, session_id, "agent phone not hung up; closing the session anyway");
    }
    agents::log_out(&ctx.pool, session_id, reason).await?;
    Ok(())
}

/// Lead fields an agent may edit on a call.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct LeadFields {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub address1: String,
    pub city: String,
    pub comments: String,
    pub custom: Vec<(String, String)>,
}

impl LeadFields {
    fn check(&self) -> Result<(), AgentError> {
        for (name, value, max) in [
            ("first name", &self.first_name, 80),
            ("last name", &self.last_name, 80),
            ("email", &self.email, 200),
            ("address", &self.address1, 200),
            ("city", &self.city, 80),
            ("comments", &self.comments, 2000),
        ] {
            if value.chars().count() > max {
                return Err(AgentError::Invalid(format!(
                    "{name}: at most {max} characters"
                )));
            }
        }
        if !self.email.is_empty() && !self.email.contains('@') {
            return Err(AgentError::Invalid("email: not an address".into()));
        }
        // Names are the lead's own (see save_lead); values as on the admin's lead page.
        super::leads::check_custom_values(self.custom.iter().map(|(_, v)| v.as_str()))
            .map_err(AgentError::Invalid)?;
        Ok(())
    }
}

/// Parses a callback time typed in a `datetime-local` field, in the callee's own zone.
pub fn callback_time(local: &str, zone: &str) -> Result<DateTime<Utc>, AgentError> {
    use chrono::TimeZone;
    let naive = chrono::NaiveDateTime::parse_from_str(local.trim(), "%Y-%m-%dT%H:%M")
        .map_err(|_| AgentError::Invalid(format!("callback: '{local}' is not a date and time")))?;
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            AgentError::Invalid("callback: that time does not exist there (a clock change)".into())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_times_are_read_in_the_callees_zone() {
        let t = callback_time("2026-12-01T09:30", "America/New_York").expect("time");
        assert_eq!(t.to_rfc3339(), "2026-12-01T14:30:00+00:00");
        assert!(callback_time("tomorrow", "America/New_York").is_err());
    }

    #[test]
    fn scripts_fill_fields_as_text() {
        let lead = ScreenLead {
            id: 1,
            phone: "+12015550100".into(),
            first_name: "Ann".into(),
            last_name: "Lee".into(),
            email: String::new(),
            address1: String::new(),
            city: "Newark".into(),
            state: "NJ".into(),
            postal_code: String::new(),
            comments: String::new(),
            custom: vec![("plan".into(), "Gold".into())],
            time_zone: "America/New_York".into(),
            local_time: String::new(),
            status: "NEW".into(),
            history: vec![],
        };
        let s = fill_script(
            "Hi {first_name} in {city}, about {plan}. I'm {agent}.",
            Some(&lead),
            "+12015550100",
            "Spring",
            "Alex",
        );
        assert_eq!(s, "Hi Ann in Newark, about Gold. I'm Alex.");
    }
}
