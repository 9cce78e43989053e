//! What an agent says of a call: the disposition (one the campaign offers, nothing else), what
//! it does to the lead (a callback, a do-not-call entry, no more dialing), and the callbacks an
//! agent schedules, for anyone in the campaign or for themselves.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::dnc::{self, Scope, Source};

/// A callback asked for with a disposition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackRequest {
    pub due_at: DateTime<Utc>,
    /// Only the agent who set it may call back (it waits in their callbacks list); otherwise
    /// the dialer calls the lead back when due and any agent of the campaign takes it.
    pub only_me: bool,
    pub comments: String,
}

/// The disposition an agent sets on their call.
#[derive(Debug, Clone)]
pub struct Disposition<'a> {
    pub call_id: Uuid,
    pub user_id: i64,
    pub status: &'a str,
    pub callback: Option<CallbackRequest>,
    /// The agent asks to pause (`AFTCAL`) once the call is over, rather than go ready.
    pub then_pause: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DispositionError {
    #[error("call {0} does not exist")]
    NoCall(Uuid),
    #[error("call {0} is not yours")]
    NotYourCall(Uuid),
    #[error("this call already has the disposition {0}")]
    AlreadySet(String),
    #[error("'{0}' is not a disposition this campaign offers")]
    NotOffered(String),
    #[error("the disposition {0} schedules a callback: give its date and time")]
    CallbackMissing(String),
    #[error("this campaign does not schedule callbacks")]
    CallbacksOff,
    #[error("the callback time has passed")]
    CallbackInPast,
    #[error("a callback may be at most {0} days ahead in this campaign")]
    CallbackTooFar(i32),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Dnc(#[from] dnc::DncError),
}

#[derive(sqlx::FromRow)]
struct CallRow {
    campaign_id: Option<i64>,
    lead_id: Option<i64>,
    agent_user_id: Option<i64>,
    disposition: Option<String>,
    phone_e164: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Offered {
    callback: bool,
    dnc: bool,
    completed: bool,
    scheduled_callbacks: bool,
    callback_days_limit: i32,
}

/// Sets the disposition of the agent's call, once. Returns the callback's id if one was made.
pub async fn set(
    pool: &PgPool,
    d: &Disposition<'_>,
    now: DateTime<Utc>,
) -> Result<Option<i64>, DispositionError> {
    let call: CallRow = sqlx::query_as("SELECT campaign_id, lead_id, agent_user_id, disposition, phone_e164 FROM calls WHERE id = $1")
        .bind(d.call_id)
        .fetch_optional(pool)
        .await?
        .ok_or(DispositionError::NoCall(d.call_id))?;
    if call.agent_user_id != Some(d.user_id) {
        return Err(DispositionError::NotYourCall(d.call_id));
    }
    if let Some(already) = call.disposition {
        return Err(DispositionError::AlreadySet(already));
    }
    let offered: Offered = sqlx::query_as(
        "SELECT s.callback, s.dnc, s.completed, c.scheduled_callbacks, c.callback_days_limit
         FROM campaign_dispositions cd JOIN statuses s ON s.code = cd.status_code JOIN campaigns c ON c.id = cd.campaign_id
         WHERE cd.campaign_id = $1 AND cd.status_code = $2 AND s.selectable",
    )
    .bind(call.campaign_id)
    .bind(d.status)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| DispositionError::NotOffered(d.status.to_string()))?;
    let callback = match (&d.callback, offered.callback) {
        (None, true) => return Err(DispositionError::CallbackMissing(d.status.to_string())),
        (_, false) => None,
        (Some(cb), true) => {
            if !offered.scheduled_callbacks {
                return Err(DispositionError::CallbacksOff);
            }
            if cb.due_at <= now {
                return Err(DispositionError::CallbackInPast);
            }
            if cb.due_at > now + Duration::days(i64::from(offered.callback_days_limit)) {
                return Err(DispositionError::CallbackTooFar(
                    offered.callback_days_limit,
                ));
            }
            Some(cb)
        }
    };

    let mut tx = pool.begin().await?;
    // Only the first disposition counts, also when two tabs race.
    let set =
        sqlx::query("UPDATE calls SET disposition = $2 WHERE id = $1 AND disposition IS NULL")
            .bind(d.call_id)
            .bind(d.status)
            .execute(&mut *tx)
            .await?;
    if set.rows_affected() == 0 {
        return Err(DispositionError::AlreadySet(d.status.to_string()));
    }
    // Kept with the disposition it belongs to, for a call that ends after it (agents::call_ended).
    sqlx::query("UPDATE agent_sessions SET pause_after_call = $2 WHERE current_call_id = $1 AND user_id = $3")
        .bind(d.call_id)
        .bind(d.then_pause)
        .bind(d.user_id)
        .execute(&mut *tx)
        .await?;
    let mut callback_id = None;
    if let Some(lead_id) = call.lead_id {
        sqlx::query("UPDATE callbacks SET state = 'done', done_at = now() WHERE lead_id = $1 AND state = 'scheduled'").bind(lead_id).execute(&mut *tx).await?;
        // The lead's status and when it is due again: a callback for anyone is dialed when due
        // (CALLBK, which the hopper always dials); one for the agent waits in their list
        // (CBHOLD, never dialed by the hopper); a completed or DNC status ends dialing.
        let (status, next): (&str, Option<DateTime<Utc>>) = match callback {
            Some(cb) if cb.only_me => ("CBHOLD", None),
            Some(cb) => ("CALLBK", Some(cb.due_at)),
            None => (d.status, None),
        };
        let ends = offered.completed || offered.dnc || callback.is_some_and(|cb| cb.only_me);
        sqlx::query(
            "UPDATE leads SET status = $2, updated_at = now(),
                    next_attempt_at = CASE WHEN $3::timestamptz IS NOT NULL THEN $3 WHEN $4 THEN NULL ELSE next_attempt_at END
             WHERE id = $1",
        )
        .bind(lead_id)
        .bind(status)
        .bind(next)
        .bind(ends)
        .execute(&mut *tx)
        .await?;
        if let (Some(cb), Some(campaign_id)) = (callback, call.campaign_id) {
            callback_id = Some(
                sqlx::query_scalar(
                    "INSERT INTO callbacks (lead_id, campaign_id, agent_user_id, due_at, comments, created_by)
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(lead_id)
                .bind(campaign_id)
                .bind(cb.only_me.then_some(d.user_id))
                .bind(cb.due_at)
                .bind(&cb.comments)
                .bind(d.user_id)
                .fetch_one(&mut *tx)
                .await?,
            );
        }
    }
    tx.commit().await?;
    if offered.dnc {
        if let (Some(phone), Some(campaign_id)) = (&call.phone_e164, call.campaign_id) {
            // Stored numbers are E.164 already; the country only matters for national forms.
            if let Ok(number) =
                crate::phone::country("US").and_then(|us| crate::phone::normalize(phone, us))
            {
                dnc::add_number(
                    pool,
                    Scope::Campaign(campaign_id),
                    &number,
                    Source::Disposition,
                    &format!("disposition {}", d.status),
                )
                .await?;
            }
        }
    }
    Ok(callback_id)
}

/// A callback waiting in an agent's list.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct Callback {
    pub id: i64,
    pub lead_id: i64,
    pub campaign_id: i64,
    pub due_at: DateTime<Utc>,
    pub comments: String,
    pub name: String,
    pub phone_e164: String,
    pub time_zone: String,
    /// Only this agent may call back.
    pub only_me: bool,
}

/// A disposition as an admin defines it: `flags` names the [`STATUS_FLAGS`] that are set.
///
/// [`STATUS_FLAGS`]: crate::vocabulary::STATUS_FLAGS
pub struct Status<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub category: &'a str,
    pub flags: &'a [String],
}

/// Creates or redefines a disposition, in the caller's transaction: every flag of
/// [`STATUS_FLAGS`](crate::vocabulary::STATUS_FLAGS) is set or cleared. Returns it as stored.
pub async fn save_status_in(
    tx: &mut sqlx::PgConnection,
    status: &Status<'_>,
) -> Result<serde_json::Value, sqlx::Error> {
    let columns: Vec<&str> = crate::vocabulary::STATUS_FLAGS
        .iter()
        .map(|(f, _)| *f)
        .collect();
    let placeholders: Vec<String> = (4..4 + columns.len()).map(|i| format!("${i}")).collect();
    let updates: Vec<String> = columns
        .iter()
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect();
    let sql = format!(
        "INSERT INTO statuses (code, name, category, {}) VALUES ($1, $2, $3, {})
         ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, category = EXCLUDED.category, {}
         RETURNING to_jsonb(statuses.*)",
        columns.join(", "),
        placeholders.join(", "),
        updates.join(", ")
    );
    let mut query = sqlx::query_scalar::<_, serde_json::Value>(&sql)
        .bind(status.code)
        .bind(status.name)
        .bind(status.category);
    for column in &columns {
        query = query.bind(status.flags.iter().any(|f| f == column));
    }
    query.fetch_one(tx).await
}

/// Creates or renames an agent pause code, in the caller's transaction. Returns it as stored.
pub async fn save_pause_code_in(
    tx: &mut sqlx::PgConnection,
    code: &str,
    name: &str,
    billable: bool,
) -> Result<serde_json::Value, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO pause_codes (code, name, billable) VALUES ($1, $2, $3)
         ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, billable = EXCLUDED.billable
         RETURNING to_jsonb(pause_codes.*)",
    )
    .bind(code)
    .bind(name)
    .bind(billable)
    .fetch_one(tx)
    .await
}

/// What a campaign offers its agents, replaced in the caller's transaction: dispositions as
/// (status, hotkey) and pause codes. Only selectable statuses and non-system pause codes are
/// offered; false (and the caller rolls back) when a disposition is not selectable.
pub async fn offer_in(
    tx: &mut sqlx::PgConnection,
    campaign_id: i64,
    dispositions: &[(String, Option<i16>)],
    pause_codes: &[String],
) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM campaign_dispositions WHERE campaign_id = $1")
        .bind(campaign_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM campaign_pause_codes WHERE campaign_id = $1")
        .bind(campaign_id)
        .execute(&mut *tx)
        .await?;
    let (codes, hotkeys): (Vec<&str>, Vec<Option<i16>>) =
        dispositions.iter().map(|(c, h)| (c.as_str(), *h)).unzip();
    let inserted = sqlx::query(
        "INSERT INTO campaign_dispositions (campaign_id, status_code, hotkey)
         SELECT $1, c, h FROM unnest($2::text[], $3::smallint[]) AS t(c, h) JOIN statuses s ON s.code = t.c AND s.selectable",
    )
    .bind(campaign_id)
    .bind(&codes)
    .bind(&hotkeys)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() != codes.len() as u64 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO campaign_pause_codes (campaign_id, pause_code)
         SELECT $1, p FROM unnest($2::text[]) p JOIN pause_codes c ON c.code = p AND NOT c.system",
    )
    .bind(campaign_id)
    .bind(pause_codes)
    .execute(&mut *tx)
    .await?;
    Ok(true)
}

/// The callbacks only this agent may make in the campaign, soonest first (callbacks for anyone
/// are the dialer's).
pub async fn for_agent(
    pool: &PgPool,
    user_id: i64,
    campaign_id: i64,
) -> Result<Vec<Callback>, sqlx::Error> {
    sqlx::query_as(
        "SELECT cb.id, cb.lead_id, cb.campaign_id, cb.due_at, cb.comments,
                trim(l.first_name || ' ' || l.last_name) AS name, l.phone_e164, l.time_zone, cb.agent_user_id IS NOT NULL AS only_me
         FROM callbacks cb JOIN leads l ON l.id = cb.lead_id
         WHERE cb.state = 'scheduled' AND cb.campaign_id = $2 AND cb.agent_user_id = $1
         ORDER BY cb.due_at LIMIT 200",
    )
    .bind(user_id)
    .bind(campaign_id)
    .fetch_all(pool)
    .await
}
