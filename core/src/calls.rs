//! Calls as the call flows record them: answered, handed to an agent or abandoned, ended once.
//! Every answered outbound call that reached a person, or a machine, leaves one row in the
//! abandoned-call ledger, from which the 30-day abandon rate is computed.

use crate::vocabulary::AgentState;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// What the outbound flow knows when the callee's leg reaches it.
#[derive(Debug, Clone)]
pub struct Answered<'a> {
    pub call_id: Uuid,
    pub campaign_id: i64,
    pub lead_id: Option<i64>,
    pub node: &'a str,
    pub uniqueid: &'a str,
    pub channel: &'a str,
    pub amd_status: Option<&'a str>,
    pub amd_cause: Option<&'a str>,
    /// The call goes to an agent (not a machine's route). Until one takes it, the pacer counts
    /// it as a line that will need one (`queued_at` set, state `answered`): between the answer
    /// and the agent's claim, the dial no longer rings, and the agent still looks free.
    pub waits_for_agent: bool,
}

/// Records the answer. The dialer created the row at originate; a call that reaches us without
/// one (a test call, a row lost to a restart) gets one here.
pub async fn answered(pool: &PgPool, call: &Answered<'_>) -> Result<DateTime<Utc>, sqlx::Error> {
    let amd_status = call
        .amd_status
        .filter(|s| matches!(*s, "HUMAN" | "MACHINE" | "NOTSURE" | "HANGUP"));
    let answered_at: DateTime<Utc> = sqlx::query_scalar(
        "INSERT INTO calls (id, direction, campaign_id, lead_id, node, uniqueid, channel, state, amd_status, amd_cause, answered_at,
                            queued_at, phone_e164)
         VALUES ($1, 'outbound', $2, $3, $4, $5, $6, 'answered', $7, $8, now(), CASE WHEN $9 THEN now() END,
                 (SELECT phone_e164 FROM leads WHERE id = $3))
         ON CONFLICT (id) DO UPDATE SET uniqueid = EXCLUDED.uniqueid, channel = EXCLUDED.channel, state = 'answered',
                amd_status = EXCLUDED.amd_status, amd_cause = EXCLUDED.amd_cause, answered_at = coalesce(calls.answered_at, now()),
                queued_at = coalesce(calls.queued_at, EXCLUDED.queued_at)
         RETURNING answered_at",
    )
    .bind(call.call_id)
    .bind(call.campaign_id)
    .bind(call.lead_id)
    .bind(call.node)
    .bind(call.uniqueid)
    .bind(call.channel)
    .bind(amd_status)
    .bind(call.amd_cause)
    .bind(call.waits_for_agent)
    .fetch_one(pool)
    .await?;
    // The dial is answered: it no longer counts as a line ringing (a call waiting for an agent
    // counts as one already, from the row above).
    sqlx::query(
        "UPDATE call_attempts SET answered_at = coalesce(answered_at, $2) WHERE call_id = $1",
    )
    .bind(call.call_id)
    .bind(answered_at)
    .execute(pool)
    .await?;
    Ok(answered_at)
}

/// Which side of the abandon-rate fraction an answered call counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerKind {
    /// A person answered and reached an agent in time.
    LiveAnswer,
    /// A person answered and no agent was there within the drop timeout.
    Abandon,
    /// A machine answered (counted as live under Ofcom's rule, not under the FTC's).
    Machine,
}

impl LedgerKind {
    fn as_str(self) -> &'static str {
        match self {
            LedgerKind::LiveAnswer => "live_answer",
            LedgerKind::Abandon => "abandon",
            LedgerKind::Machine => "machine",
        }
    }
}

async fn ledger(
    tx: &mut sqlx::PgConnection,
    campaign_id: i64,
    call_id: Uuid,
    kind: LedgerKind,
) -> Result<(), sqlx::Error> {
    // One row per call, whatever retries happen.
    sqlx::query(
        "INSERT INTO abandon_ledger (campaign_id, call_id, kind, occurred_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (call_id) DO NOTHING",
    )
    .bind(campaign_id)
    .bind(call_id)
    .bind(kind.as_str())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// What came of putting a caller through to the agent reserved for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connect {
    /// The call is connected and the agent on it.
    Connected,
    /// The call had ended (the caller hung up on the way): nothing connected, and an agent
    /// still reserved for it is ready again.
    CallEnded,
    /// The agent is no longer reserved for the call (logged out, their phone gone): nothing
    /// changed, and the caller still needs an agent.
    AgentGone,
}

/// The call reached the agent reserved for it, who is now on it: both in one transaction. An
/// outbound call (`ledger_campaign`) counts as a live answer in its campaign's abandon ledger;
/// inbound calls are not in that ledger.
pub async fn connected(
    pool: &PgPool,
    call_id: Uuid,
    ledger_campaign: Option<i64>,
    session_id: i64,
    user_id: i64,
) -> Result<Connect, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let open = sqlx::query(
        "UPDATE calls SET state = 'connected', agent_session_id = $2, agent_user_id = $3, agent_connected_at = now(), outcome = 'answered',
                wait_secs = extract(epoch FROM now() - coalesce(queued_at, answered_at))
         WHERE id = $1 AND state <> 'ended'",
    )
    .bind(call_id)
    .bind(session_id)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    if open.rows_affected() == 0 {
        crate::agents::call_ended(&mut tx, call_id, AgentState::Ready).await?;
        tx.commit().await?;
        return Ok(Connect::CallEnded);
    }
    if !crate::agents::call_connected(&mut tx, session_id, call_id).await? {
        return Ok(Connect::AgentGone);
    }
    if let Some(campaign_id) = ledger_campaign {
        ledger(&mut tx, campaign_id, call_id, LedgerKind::LiveAnswer).await?;
    }
    tx.commit().await?;
    Ok(Connect::Connected)
}

/// No agent in time: the call is an abandon, and its lead rests for the campaign's lockout.
pub async fn abandoned(pool: &PgPool, call_id: Uuid, campaign_id: i64) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let lead: Option<Option<i64>> = sqlx::query_scalar(
        "UPDATE calls SET outcome = 'abandoned' WHERE id = $1 RETURNING lead_id",
    )
    .bind(call_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(Some(lead_id)) = lead {
        sqlx::query(
            "UPDATE leads SET status = 'DROP', updated_at = now(),
                    next_attempt_at = now() + make_interval(hours => (SELECT drop_lockout_hours FROM campaigns WHERE id = $2))
             WHERE id = $1",
        )
        .bind(lead_id)
        .bind(campaign_id)
        .execute(&mut *tx)
        .await?;
    }
    ledger(&mut tx, campaign_id, call_id, LedgerKind::Abandon).await?;
    tx.commit().await?;
    Ok(())
}

/// A dial Asterisk answered while Dialtone could not be reached: its dialplan played the
/// safe-harbor message itself (`dialtone-outbound`'s fallback) and noted the call id and the
/// time. Once the node is back, the abandon is counted as any other: the call record, the
/// lead's DROP and lockout, the ledger at the time it happened, and the attempt resolved.
/// Returns false when the call was already settled (a second look changes nothing).
pub async fn abandoned_while_unreachable(
    pool: &PgPool,
    call_id: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let attempt: Option<(i64, i64, Option<i64>, String, String)> = sqlx::query_as(
        "SELECT id, campaign_id, lead_id, phone_e164, node FROM call_attempts WHERE call_id = $1 AND state <> 'resolved' FOR UPDATE",
    )
    .bind(call_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((attempt_id, campaign_id, lead_id, phone, node)) = attempt else {
        return Ok(false);
    };
    let inserted = sqlx::query(
        "INSERT INTO calls (id, direction, campaign_id, lead_id, node, phone_e164, attempt_id, state, outcome, answered_at, ended_at)
         VALUES ($1, 'outbound', $2, $3, $4, $5, $6, 'ended', 'abandoned', $7, $7)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(call_id)
    .bind(campaign_id)
    .bind(lead_id)
    .bind(&node)
    .bind(&phone)
    .bind(attempt_id)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        // A call flow took it after all: what it recorded stands.
        return Ok(false);
    }
    if let Some(lead_id) = lead_id {
        sqlx::query(
            "UPDATE leads SET status = 'DROP', updated_at = now(),
                    next_attempt_at = $3 + make_interval(hours => (SELECT drop_lockout_hours FROM campaigns WHERE id = $2))
             WHERE id = $1",
        )
        .bind(lead_id)
        .bind(campaign_id)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("INSERT INTO abandon_ledger (campaign_id, call_id, kind, occurred_at) VALUES ($1, $2, 'abandon', $3) ON CONFLICT (call_id) DO NOTHING")
        .bind(campaign_id)
        .bind(call_id)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    crate::attempts::resolve_in(
        &mut tx,
        call_id,
        crate::attempts::Outcome::Abandoned,
        at,
        false,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// A machine answered; `left_message` when the campaign's message was played to it.
pub async fn machine(
    pool: &PgPool,
    call_id: Uuid,
    campaign_id: i64,
    left_message: bool,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let outcome = if left_message {
        "machine_message"
    } else {
        "machine"
    };
    let status = if left_message { "AM" } else { "AA" };
    let lead: Option<Option<i64>> =
        sqlx::query_scalar("UPDATE calls SET outcome = $2 WHERE id = $1 RETURNING lead_id")
            .bind(call_id)
            .bind(outcome)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(Some(lead_id)) = lead {
        sqlx::query("UPDATE leads SET status = $2, updated_at = now() WHERE id = $1")
            .bind(lead_id)
            .bind(status)
            .execute(&mut *tx)
            .await?;
    }
    ledger(&mut tx, campaign_id, call_id, LedgerKind::Machine).await?;
    tx.commit().await?;
    Ok(())
}

/// The agent handed the call on (a blind transfer, a completed warm or three-way transfer):
/// the call closes as `transferred` for the dialer and the agent, who goes to wrap-up (or
/// past it, having dispositioned the call already: `agents::call_ended`). The
/// customer talks on elsewhere; their hangup handler later finds the call closed.
pub async fn transferred(pool: &PgPool, call_id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query("UPDATE calls SET outcome = 'transferred' WHERE id = $1 AND state <> 'ended'")
        .bind(call_id)
        .execute(pool)
        .await?;
    end(
        pool,
        call_id,
        &Ended {
            dial_status: Some("TRANSFERRED"),
            ..Ended::default()
        },
    )
    .await
}

/// The parking space the call waits in (Asterisk's `ParkedCall`), or none once it left the lot.
pub async fn parked(pool: &PgPool, call_id: Uuid, space: Option<&str>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE calls SET parked_space = $2 WHERE id = $1 AND state <> 'ended'")
        .bind(call_id)
        .bind(space)
        .execute(pool)
        .await?;
    Ok(())
}

/// How the channel ended, from its hangup handler.
#[derive(Debug, Clone, Default)]
pub struct Ended<'a> {
    pub hangup_cause: Option<i32>,
    pub hangup_cause_text: Option<&'a str>,
    pub dial_status: Option<&'a str>,
}

/// Closes the call record. Only the first close counts: a second handler run, a retry or a late
/// event changes nothing. Returns whether this call closed it. An agent still on the call goes
/// to wrap-up, or past it when they dispositioned the call during it; one reserved for a caller
/// who left before reaching them is ready again.
pub async fn end(pool: &PgPool, call_id: Uuid, ended: &Ended<'_>) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let closed: Option<(String, Option<String>)> = sqlx::query_as(
        "UPDATE calls SET state = 'ended', ended_at = now(), hangup_cause = $2, hangup_cause_text = $3, dial_status = $4, parked_space = NULL,
                talk_secs = extract(epoch FROM now() - agent_connected_at),
                outcome = coalesce(outcome, CASE WHEN answered_at IS NULL THEN 'failed' ELSE 'caller_hangup' END)
         WHERE id = $1 AND state <> 'ended'
         RETURNING direction, outcome",
    )
    .bind(call_id)
    .bind(ended.hangup_cause)
    .bind(ended.hangup_cause_text)
    .bind(ended.dial_status)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((direction, outcome)) = closed else {
        return Ok(false);
    };
    // The dial behind the call, if the dialer placed it, ends with the call, and so does the
    // agent's part: all in one transaction, so an outage between them strands nothing.
    let attempt_outcome = match outcome.as_deref() {
        Some("answered" | "transferred" | "caller_hangup") => {
            crate::attempts::Outcome::AnsweredHuman
        }
        Some("abandoned") => crate::attempts::Outcome::Abandoned,
        Some("machine") => crate::attempts::Outcome::AnsweredMachine,
        Some("machine_message") => crate::attempts::Outcome::MachineMessage,
        _ => crate::attempts::Outcome::from_hangup_cause(ended.hangup_cause.unwrap_or(0)),
    };
    crate::attempts::resolve_in(&mut tx, call_id, attempt_outcome, Utc::now(), false).await?;
    crate::agents::call_ended(
        &mut tx,
        call_id,
        if direction == "manual" {
            AgentState::Wrapup
        } else {
            AgentState::Ready
        },
    )
    .await?;
    // MixMonitor stops with the channel: a recording still open ends with the call. A manual
    // dial never answered recorded nothing: its row goes.
    sqlx::query("DELETE FROM recordings r USING calls c WHERE r.call_id = $1 AND c.id = $1 AND c.answered_at IS NULL AND r.ended_at IS NULL")
        .bind(call_id)
        .execute(&mut *tx)
        .await?;
    recordings_stopped(&mut *tx, call_id).await?;
    tx.commit().await?;
    Ok(true)
}

/// Closes the call's open recordings now, with their length: when the agent stops one, and
/// when the call ends (`end`). Returns how many it closed.
pub async fn recordings_stopped<'c>(
    db: impl sqlx::PgExecutor<'c>,
    call_id: Uuid,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("UPDATE recordings SET ended_at = now(), duration_secs = extract(epoch FROM now() - started_at) WHERE call_id = $1 AND ended_at IS NULL")
        .bind(call_id)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

/// The call's closed recordings whose file size is not yet known: (recording id, file path
/// under the recordings root).
pub async fn unmeasured_recordings(
    pool: &PgPool,
    call_id: Uuid,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, file_path FROM recordings WHERE call_id = $1 AND ended_at IS NOT NULL AND size_bytes IS NULL ORDER BY id")
        .bind(call_id)
        .fetch_all(pool)
        .await
}

/// The size of a recording's finished file.
pub async fn recording_measured(
    pool: &PgPool,
    recording_id: i64,
    size_bytes: u64,
) -> Result<(), sqlx::Error> {
    let size = i64::try_from(size_bytes).unwrap_or(i64::MAX);
    sqlx::query("UPDATE recordings SET size_bytes = $2 WHERE id = $1")
        .bind(recording_id)
        .bind(size)
        .execute(pool)
        .await?;
    Ok(())
}

/// The campaign's abandon rate over the rolling window ending now: abandons over live answers
/// (FTC: a person answered), or over live answers plus machines (Ofcom's basis).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AbandonRate {
    pub live_answers: i64,
    pub abandons: i64,
    pub machines: i64,
}

impl AbandonRate {
    /// Percent, by the FTC's definition: abandons / (calls a person answered).
    pub fn ftc_pct(&self) -> f64 {
        let answered = self.live_answers + self.abandons;
        if answered == 0 {
            0.0
        } else {
            100.0 * self.abandons as f64 / answered as f64
        }
    }
}

pub async fn abandon_rate(
    pool: &PgPool,
    campaign_id: i64,
    days: i32,
) -> Result<AbandonRate, sqlx::Error> {
    let (live_answers, abandons, machines): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE kind = 'live_answer'), count(*) FILTER (WHERE kind = 'abandon'), count(*) FILTER (WHERE kind = 'machine')
         FROM abandon_ledger WHERE campaign_id = $1 AND occurred_at > now() - make_interval(days => $2)",
    )
    .bind(campaign_id)
    .bind(days)
    .fetch_one(pool)
    .await?;
    Ok(AbandonRate {
        live_answers,
        abandons,
        machines,
    })
}

/// A recording that has started.
pub async fn recording_started(
    pool: &PgPool,
    call_id: Uuid,
    campaign_id: Option<i64>,
    lead_id: Option<i64>,
    user_id: Option<i64>,
    path: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO recordings (call_id, campaign_id, lead_id, agent_user_id, file_path, format) VALUES ($1, $2, $3, $4, $5, 'wav') RETURNING id",
    )
    .bind(call_id)
    .bind(campaign_id)
    .bind(lead_id)
    .bind(user_id)
    .bind(path)
    .fetch_one(pool)
    .await
}

/// A recording's path (without extension) from the campaign's pattern. Placeholders: `{date}`
/// (YYYY-MM-DD), `{time}` (HHMMSS), `{campaign}`, `{lead}`, `{uniqueid}`, `{call}`, `{agent}`.
/// Substituted values keep only letters, digits, `.`, `_` and `-`, so no value can add a folder
/// or climb out of the recordings root.
pub fn recording_path(pattern: &str, at: DateTime<Utc>, values: &[(&str, &str)]) -> String {
    let clean = |v: &str| -> String {
        let s: String = v
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        s.trim_start_matches('.').to_string()
    };
    let mut path = pattern
        .replace("{date}", &at.format("%Y-%m-%d").to_string())
        .replace("{time}", &at.format("%H%M%S").to_string());
    for (name, value) in values {
        path = path.replace(&format!("{{{name}}}"), &clean(value));
    }
    path.split('/')
        .filter(|part| !part.is_empty() && *part != "." && *part != "..")
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether a campaign's or inbound group's `recording_policy` records every call from its
/// start (`all_calls`, `all_calls_forced`), rather than never or when the agent asks.
pub fn records_every_call(policy: &str) -> bool {
    matches!(policy, "all_calls" | "all_calls_forced")
}

/// What a campaign call's recording is named after, for its campaign's pattern.
#[derive(Debug, Clone, Copy)]
pub struct RecordedCall<'a> {
    pub campaign: &'a str,
    pub lead: Option<i64>,
    /// The channel's uniqueid; the call's id where Asterisk's is not at hand.
    pub uniqueid: &'a str,
    pub call: Uuid,
    pub agent: i64,
}

impl RecordedCall<'_> {
    /// The WAV file, relative to the recordings root, that the pattern names at `at`.
    pub fn file(&self, pattern: &str, at: DateTime<Utc>) -> String {
        let (lead, call, agent) = (
            self.lead.map(|l| l.to_string()).unwrap_or_default(),
            self.call.to_string(),
            self.agent.to_string(),
        );
        let values = [
            ("campaign", self.campaign),
            ("lead", &lead),
            ("uniqueid", self.uniqueid),
            ("call", &call),
            ("agent", &agent),
        ];
        format!("{}.wav", recording_path(pattern, at, &values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_paths_stay_inside_the_root() {
        let at = DateTime::parse_from_rfc3339("2026-11-25T10:30:05Z")
            .expect("time")
            .with_timezone(&Utc);
        let path = recording_path(
            "{date}/{campaign}/{lead}-{uniqueid}",
            at,
            &[
                ("campaign", "Spring Sale"),
                ("lead", "42"),
                ("uniqueid", "1700000000.17"),
            ],
        );
        assert_eq!(path, "2026-11-25/Spring_Sale/42-1700000000.17");
        let evil = recording_path(
            "/{campaign}/../{lead}",
            at,
            &[("campaign", "../../etc"), ("lead", "x/y")],
        );
        assert_eq!(evil, "_.._etc/x_y");
        assert!(!evil.starts_with('/') && !evil.split('/').any(|p| p == ".."));
        let call = Uuid::nil();
        let named = RecordedCall {
            campaign: "Spring Sale",
            lead: None,
            uniqueid: "1700000000.17",
            call,
            agent: 7,
        };
        assert_eq!(
            named.file("{date}/{campaign}/{lead}-{uniqueid}-{agent}-{call}", at),
            format!("2026-11-25/Spring_Sale/-1700000000.17-7-{call}.wav")
        );
    }

    #[test]
    fn abandon_rate_by_the_ftc_definition() {
        let rate = AbandonRate {
            live_answers: 97,
            abandons: 3,
            machines: 40,
        };
        assert!((rate.ftc_pct() - 3.0).abs() < 1e-9);
        assert_eq!(
            AbandonRate {
                live_answers: 0,
                abandons: 0,
                machines: 5
            }
            .ftc_pct(),
            0.0
        );
    }
}
