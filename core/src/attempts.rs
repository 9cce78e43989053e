//! One row per dial, walked through reserved -> originating -> resolved, so a dial happens at
//! most once: the row is `originating` (committed) before the Originate is sent, and a node that
//! restarts finds its originating rows and reconciles them from Asterisk's channels instead of
//! dialing again. Resolving an attempt sets the lead's next state exactly once.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// How a dial ended, as the lead's history and the retry rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    AnsweredHuman,
    AnsweredMachine,
    /// A machine that was left the campaign's message: `answered_machine` in the history, AM
    /// for the lead, where a machine hung up on is AA.
    MachineMessage,
    Abandoned,
    NoAnswer,
    Busy,
    Congestion,
    InvalidNumber,
    Failed,
    /// Not dialed after all (reconciled, or the campaign stopped first).
    Cancelled,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::AnsweredHuman => "answered_human",
            Outcome::AnsweredMachine | Outcome::MachineMessage => "answered_machine",
            Outcome::Abandoned => "abandoned",
            Outcome::NoAnswer => "no_answer",
            Outcome::Busy => "busy",
            Outcome::Congestion => "congestion",
            Outcome::InvalidNumber => "invalid_number",
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
        }
    }

    /// The lead status a dial that ended this way leaves, when no agent set a disposition.
    fn status(self) -> Option<&'static str> {
        Some(match self {
            Outcome::NoAnswer => "NA",
            Outcome::Busy => "B",
            Outcome::Congestion => "CONG",
            Outcome::InvalidNumber => "DC",
            Outcome::Failed => "ERI",
            Outcome::AnsweredMachine => "AA",
            Outcome::MachineMessage => "AM",
            Outcome::Abandoned => "DROP",
            // A person reached an agent: the agent's disposition decides.
            Outcome::AnsweredHuman | Outcome::Cancelled => return None,
        })
    }

    /// Seconds before the lead is due again when the campaign has no rule for its status;
    /// None: not dialed again.
    fn default_retry_secs(self) -> Option<i64> {
        match self {
            Outcome::NoAnswer => Some(3600),
            Outcome::Busy => Some(900),
            Outcome::Congestion | Outcome::Failed => Some(600),
            Outcome::AnsweredMachine | Outcome::MachineMessage => Some(4 * 3600),
            Outcome::Cancelled => Some(0),
            Outcome::InvalidNumber | Outcome::AnsweredHuman | Outcome::Abandoned => None,
        }
    }

    /// From an OriginateResponse's `Reason` (Asterisk's `AST_CONTROL_*`): 0 failed (no such
    /// channel or technology), 1 hung up before answer, 3 ring timeout, 4 answered, 5 busy,
    /// 8 congestion.
    pub fn from_originate_reason(reason: &str) -> Option<Outcome> {
        Some(match reason.trim() {
            "4" => return None, // answered: AMD and the call flow decide what kind
            "3" | "1" => Outcome::NoAnswer,
            "5" => Outcome::Busy,
            "8" => Outcome::Congestion,
            "0" => Outcome::Failed,
            _ => Outcome::Failed,
        })
    }

    /// From a DialEnd's DialStatus; `None` for ANSWER (the call flow decides what kind).
    pub fn from_dial_status(status: &str) -> Option<Outcome> {
        Some(match status.trim() {
            "ANSWER" => return None,
            "BUSY" => Outcome::Busy,
            "NOANSWER" | "CANCEL" => Outcome::NoAnswer,
            "CONGESTION" => Outcome::Congestion,
            _ => Outcome::Failed,
        })
    }

    /// From a Q.850 hang-up cause of a call that was never answered.
    pub fn from_hangup_cause(cause: i32) -> Outcome {
        match cause {
            1 | 3 | 22 | 28 => Outcome::InvalidNumber,
            17 => Outcome::Busy,
            18 | 19 | 16 | 31 => Outcome::NoAnswer,
            34 | 38 | 41 | 42 | 44 | 47 => Outcome::Congestion,
            _ => Outcome::Failed,
        }
    }
}

/// Creates the attempt for a lead taken from the hopper; returns its call id (the Originate's
/// ChannelId).
pub async fn reserve(
    pool: &PgPool,
    campaign_id: i64,
    lead_id: i64,
    node: &str,
) -> Result<Uuid, sqlx::Error> {
    let call_id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO call_attempts (call_id, campaign_id, lead_id, list_id, phone_e164, node)
         SELECT $1, $2, id, list_id, phone_e164, $4 FROM leads WHERE id = $3",
    )
    .bind(call_id)
    .bind(campaign_id)
    .bind(lead_id)
    .bind(node)
    .execute(pool)
    .await?;
    Ok(call_id)
}

/// Marks the attempt as being dialed; commit this before sending the Originate. False when the
/// attempt is not reserved any more (someone resolved or cancelled it): do not dial.
pub async fn originating(pool: &PgPool, call_id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE call_attempts SET state = 'originating', dialed_at = now() WHERE call_id = $1 AND state = 'reserved'")
        .bind(call_id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// This node's attempts not yet resolved: after a restart, each is reconciled (found among
/// Asterisk's channels, or resolved as failed), never dialed again.
pub async fn unresolved(pool: &PgPool, node: &str) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    sqlx::query_as("SELECT call_id, state FROM call_attempts WHERE node = $1 AND state <> 'resolved' ORDER BY reserved_at")
        .bind(node)
        .fetch_all(pool)
        .await
}

/// Resolves the attempt and moves its lead on: status, attempt count, when it is due again (the
/// campaign's retry rule for that status, else a default; never past its attempt limits).
/// Only the first resolution counts; returns whether this was it.
pub async fn resolve(
    pool: &PgPool,
    call_id: Uuid,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    resolve_where(pool, call_id, outcome, now, false).await
}

/// Resolves the attempt only if no call flow has taken it as answered: for what the AMI says of
/// a dial (DialEnd, Hangup), which must not overrule the flow of a call that was answered.
pub async fn resolve_unanswered(
    pool: &PgPool,
    call_id: Uuid,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    resolve_where(pool, call_id, outcome, now, true).await
}

async fn resolve_where(
    pool: &PgPool,
    call_id: Uuid,
    outcome: Outcome,
    now: DateTime<Utc>,
    only_unanswered: bool,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let resolved = resolve_in(&mut tx, call_id, outcome, now, only_unanswered).await?;
    tx.commit().await?;
    Ok(resolved)
}

/// [`resolve`] inside the caller's transaction, for a change that must land with it whole.
pub(crate) async fn resolve_in(
    tx: &mut sqlx::PgConnection,
    call_id: Uuid,
    outcome: Outcome,
    now: DateTime<Utc>,
    only_unanswered: bool,
) -> Result<bool, sqlx::Error> {
    let attempt: Option<(i64, Option<i64>)> = sqlx::query_as(
        "UPDATE call_attempts SET state = 'resolved', outcome = $2, resolved_at = $3,
                answered_at = CASE WHEN $2 IN ('answered_human', 'answered_machine', 'abandoned') THEN coalesce(answered_at, $3) END
         WHERE call_id = $1 AND state <> 'resolved' AND NOT ($4 AND answered_at IS NOT NULL)
         RETURNING campaign_id, lead_id",
    )
    .bind(call_id)
    .bind(outcome.as_str())
    .bind(now)
    .bind(only_unanswered)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((campaign_id, Some(lead_id))) = attempt else {
        return Ok(false);
    };
    let dialed = outcome != Outcome::Cancelled;
    // The retry delay: the campaign's rule for the new status, else the default for the outcome.
    let status = outcome.status();
    let rule: Option<(i32, i32)> = match status {
        Some(status) => {
            sqlx::query_as("SELECT delay_secs, max_attempts FROM campaign_retry_rules WHERE campaign_id = $1 AND status_code = $2")
                .bind(campaign_id)
                .bind(status)
                .fetch_optional(&mut *tx)
                .await?
        }
        None => None,
    };
    let retry_secs = rule
        .map(|(delay, _)| i64::from(delay))
        .or(outcome.default_retry_secs());
    sqlx::query(
        "UPDATE leads SET
             status = coalesce($2, status),
             attempt_count = attempt_count + $3,
             last_attempt_at = CASE WHEN $3 = 1 THEN $4 ELSE last_attempt_at END,
             next_attempt_at = CASE
                 -- A callback the agent scheduled while still talking keeps its time.
                 WHEN $5::bigint IS NULL AND status = 'CALLBK' THEN next_attempt_at
                 WHEN $5::bigint IS NULL THEN NULL
                 WHEN attempt_count + $3 >= (SELECT max_attempts FROM campaigns WHERE id = $6) THEN NULL
                 WHEN $7::integer IS NOT NULL AND attempt_count + $3 >= $7 THEN NULL
                 ELSE $4 + make_interval(secs => $5::double precision) END,
             updated_at = now()
         WHERE id = $1",
    )
    .bind(lead_id)
    .bind(status)
    .bind(i32::from(dialed))
    .bind(now)
    .bind(retry_secs)
    .bind(campaign_id)
    .bind(rule.map(|(_, max)| max))
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM hopper WHERE lead_id = $1")
        .bind(lead_id)
        .execute(&mut *tx)
        .await?;
    Ok(true)
}
