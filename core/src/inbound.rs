//! Inbound groups as the inbound call flow sees them: which group a dialed number reaches, who
//! can answer it, where a caller stands in the queue.

use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Group {
    pub id: i64,
    pub name: String,
    pub campaign_id: Option<i64>,
    pub call_time_id: Option<i64>,
    pub time_zone: String,
    pub queue_priority: i32,
    pub welcome_audio: Option<String>,
    pub music_class: String,
    pub position_announce_secs: i32,
    pub max_wait_secs: i32,
    pub recording_policy: String,
    pub closed_action: String,
    pub closed_target: Option<String>,
    pub no_agents_action: String,
    pub no_agents_target: Option<String>,
    pub timeout_action: String,
    pub timeout_target: Option<String>,
}

/// What a route's target is, for the action taking the call there: a mailbox, a message to
/// play, a number to dial. A group (`transfer_group`) is looked up by name and never sent.
pub fn route_target(action: &str) -> Option<crate::asterisk_values::Kind> {
    use crate::asterisk_values::Kind;
    match action {
        "voicemail" => Some(Kind::Mailbox),
        "message_hangup" => Some(Kind::File),
        "transfer_number" => Some(Kind::Number),
        _ => None,
    }
}

const GROUP_COLUMNS: &str = "g.id, g.name, g.campaign_id, g.call_time_id, g.time_zone, g.queue_priority, g.welcome_audio, g.music_class,
     g.position_announce_secs, g.max_wait_secs, g.recording_policy, g.closed_action, g.closed_target, g.no_agents_action,
     g.no_agents_target, g.timeout_action, g.timeout_target";

/// A new inbound group with the schema's defaults, in the caller's transaction: the group as
/// stored, for the audit.
pub async fn create_group_in(
    tx: &mut sqlx::PgConnection,
    name: &str,
) -> Result<serde_json::Value, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO inbound_groups (name) VALUES ($1) RETURNING to_jsonb(inbound_groups.*)",
    )
    .bind(name)
    .fetch_one(tx)
    .await
}

/// A number (E.164) that rings the group from now on, in the caller's transaction.
pub async fn add_did_in(
    tx: &mut sqlx::PgConnection,
    number: &str,
    description: &str,
    group_id: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO dids (number, description, group_id) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(number)
    .bind(description)
    .bind(group_id)
    .fetch_one(tx)
    .await
}

/// The active group an active DID routes to. The number is matched as dialed, and with or
/// without a leading `+`.
pub async fn group_for_did(pool: &PgPool, did: &str) -> Result<Option<Group>, sqlx::Error> {
    let bare = did.trim_start_matches('+');
    sqlx::query_as(&format!(
        "SELECT {GROUP_COLUMNS} FROM dids d JOIN inbound_groups g ON g.id = d.group_id
         WHERE d.active AND g.active AND d.number IN ($1, $2, '+' || $2) LIMIT 1"
    ))
    .bind(did)
    .bind(bare)
    .fetch_optional(pool)
    .await
}

/// A group by id or by name (a transfer target may name either).
pub async fn group_named(pool: &PgPool, id_or_name: &str) -> Result<Option<Group>, sqlx::Error> {
    let id: i64 = id_or_name.parse().unwrap_or(-1);
    sqlx::query_as(&format!("SELECT {GROUP_COLUMNS} FROM inbound_groups g WHERE g.active AND (g.id = $1 OR g.name = $2)"))
        .bind(id)
        .bind(id_or_name)
        .fetch_optional(pool)
        .await
}

/// Agents logged in to the group now (paused ones count: they may come back).
pub async fn agents_logged_in(pool: &PgPool, group_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM agent_sessions s JOIN agent_session_groups g ON g.session_id = s.id
         WHERE g.group_id = $1 AND s.logged_out_at IS NULL AND s.state <> 'connecting'",
    )
    .bind(group_id)
    .fetch_one(pool)
    .await
}

/// The caller, as the queue knows them.
#[derive(Debug, Clone)]
pub struct Caller<'a> {
    pub call_id: Uuid,
    pub group: &'a Group,
    pub node: &'a str,
    pub uniqueid: &'a str,
    pub channel: &'a str,
    pub caller_id: &'a str,
    pub did: &'a str,
}

/// Puts the caller in the group's queue (a `queued` call row), with the lead whose number
/// called, if the caller ID matches one in the group's campaign.
pub async fn enqueue(pool: &PgPool, caller: &Caller<'_>) -> Result<Option<i64>, sqlx::Error> {
    let phone = caller.caller_id.trim();
    sqlx::query_scalar(
        "INSERT INTO calls (id, direction, campaign_id, inbound_group_id, lead_id, node, phone_e164, caller_id, did, uniqueid, channel,
                            state, answered_at, queued_at)
         VALUES ($1, 'inbound', $2, $3,
                 (SELECT l.id FROM leads l JOIN lists li ON li.id = l.list_id
                  WHERE l.phone_e164 IN ($4, '+' || $4, '+1' || $4) AND ($2::bigint IS NULL OR li.campaign_id = $2)
                  ORDER BY l.updated_at DESC LIMIT 1),
                 $5, (SELECT phone_e164 FROM leads WHERE phone_e164 IN ($4, '+' || $4, '+1' || $4) LIMIT 1), $4, $6, $7, $8,
                 'queued', now(), now())
         ON CONFLICT (id) DO UPDATE SET inbound_group_id = EXCLUDED.inbound_group_id, state = 'queued', queued_at = now()
         RETURNING lead_id",
    )
    .bind(caller.call_id)
    .bind(caller.group.campaign_id)
    .bind(caller.group.id)
    .bind(phone)
    .bind(caller.node)
    .bind(caller.did)
    .bind(caller.uniqueid)
    .bind(caller.channel)
    .fetch_one(pool)
    .await
}

/// The caller's place in the queue, 1 for the next to be answered.
pub async fn position(pool: &PgPool, call_id: Uuid, group_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT 1 + count(*) FROM calls c, (SELECT queued_at FROM calls WHERE id = $1) me
         WHERE c.inbound_group_id = $2 AND c.state = 'queued' AND c.id <> $1 AND c.queued_at < me.queued_at",
    )
    .bind(call_id)
    .bind(group_id)
    .fetch_one(pool)
    .await
}

/// The caller leaves the queue without an agent, for `outcome` (`queue_timeout`, `after_hours`,
/// `no_agents`, `voicemail`, `transferred`, `caller_hangup`).
pub async fn left_queue(pool: &PgPool, call_id: Uuid, outcome: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE calls SET outcome = $2, state = CASE WHEN state = 'queued' THEN 'answered' ELSE state END,
                wait_secs = extract(epoch FROM now() - queued_at)
         WHERE id = $1 AND state <> 'ended'",
    )
    .bind(call_id)
    .bind(outcome)
    .execute(pool)
    .await?;
    Ok(())
}
