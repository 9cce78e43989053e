//! Campaigns. Every setting has a default in the schema; this module creates and reads them.
//! The web admin edits the full set.

use sqlx::PgPool;
use strum::VariantArray;

use crate::vocabulary::DialMethod;

/// The active campaigns the dialer places calls for ([`DialMethod::dials_by_itself`]).
pub async fn dialing(pool: &PgPool) -> Result<Vec<i64>, sqlx::Error> {
    let methods: Vec<&str> = DialMethod::VARIANTS
        .iter()
        .filter(|m| m.dials_by_itself())
        .map(|m| m.as_str())
        .collect();
    sqlx::query_scalar(
        "SELECT id FROM campaigns WHERE active AND dial_method = ANY($1) ORDER BY id",
    )
    .bind(methods)
    .fetch_all(pool)
    .await
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, serde::Serialize)]
pub struct CampaignSummary {
    pub id: i64,
    pub name: String,
    pub active: bool,
    pub dial_method: DialMethod,
}

/// Creates a campaign with the schema's defaults, dialing through `call_time` (by name), with
/// the system's selectable dispositions and agent pause codes offered to its agents.
pub async fn create(
    pool: &PgPool,
    name: &str,
    method: DialMethod,
    call_time: &str,
) -> Result<i64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let id = create_in(&mut tx, name, method, call_time).await?;
    tx.commit().await?;
    Ok(id)
}

/// [`create`], in the caller's transaction (the admin audits the creation in it).
pub async fn create_in(
    tx: &mut sqlx::PgConnection,
    name: &str,
    method: DialMethod,
    call_time: &str,
) -> Result<i64, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO campaigns (name, dial_method, call_time_id) VALUES ($1, $2, (SELECT id FROM call_times WHERE name = $3)) RETURNING id",
    )
    .bind(name)
    .bind(method.as_str())
    .bind(call_time)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO campaign_dispositions (campaign_id, status_code) SELECT $1, code FROM statuses WHERE selectable")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO campaign_pause_codes (campaign_id, pause_code) SELECT $1, code FROM pause_codes WHERE NOT system")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    Ok(id)
}

/// A new inactive campaign named `name` with every setting of campaign `id`, and its
/// dispositions, pause codes, retry rules and inbound groups; none when `id` does not exist.
/// Columns are read from the schema, so a setting added later is cloned too.
pub async fn clone_in(
    tx: &mut sqlx::PgConnection,
    id: i64,
    name: &str,
) -> Result<Option<i64>, sqlx::Error> {
    let row: Option<serde_json::Value> = sqlx::query_scalar(
        "SELECT to_jsonb(c) - 'id' - 'created_at' - 'updated_at' FROM campaigns c WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(mut copy) = row else {
        return Ok(None);
    };
    if let Some(obj) = copy.as_object_mut() {
        obj.insert("name".into(), serde_json::Value::String(name.to_string()));
        obj.insert("active".into(), serde_json::Value::Bool(false));
    }
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns
         WHERE table_name = 'campaigns' AND column_name NOT IN ('id', 'created_at', 'updated_at') ORDER BY ordinal_position",
    )
    .fetch_all(&mut *tx)
    .await?;
    let columns = columns.join(", ");
    let new_id = sqlx::query_scalar::<_, i64>(&format!(
        "INSERT INTO campaigns ({columns}) SELECT {columns} FROM jsonb_populate_record(NULL::campaigns, $1) RETURNING id"
    ))
    .bind(&copy)
    .fetch_one(&mut *tx)
    .await?;
    for table in [
        "campaign_dispositions",
        "campaign_pause_codes",
        "campaign_retry_rules",
        "campaign_inbound_groups",
    ] {
        let columns: Vec<String> = sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns WHERE table_name = $1 AND column_name <> 'campaign_id' ORDER BY ordinal_position",
        )
        .bind(table)
        .fetch_all(&mut *tx)
        .await?;
        let columns = columns.join(", ");
        sqlx::query(&format!("INSERT INTO {table} (campaign_id, {columns}) SELECT $1, {columns} FROM {table} WHERE campaign_id = $2"))
            .bind(new_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    Ok(Some(new_id))
}

pub async fn find_by_name(
    pool: &PgPool,
    name: &str,
) -> Result<Option<CampaignSummary>, sqlx::Error> {
    sqlx::query_as("SELECT id, name, active, dial_method FROM campaigns WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await
}

/// The country a number an agent types for this campaign is read in (a manual dial, a
/// transfer): that of its first list, else the US.
pub async fn typing_country(pool: &PgPool, id: i64) -> Result<String, sqlx::Error> {
    let country: String =
        sqlx::query_scalar("SELECT coalesce((SELECT default_country FROM lists WHERE campaign_id = $1 ORDER BY id LIMIT 1), 'US')")
            .bind(id)
            .fetch_one(pool)
            .await?;
    Ok(country.trim().to_string())
}

pub async fn set_active(pool: &PgPool, id: i64, active: bool) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE campaigns SET active = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(active)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Lets a supervisor or agent work in a campaign.
pub async fn grant(pool: &PgPool, user_id: i64, campaign_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO user_campaigns (user_id, campaign_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(user_id)
    .bind(campaign_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// The settings the call flows read when a call of the campaign is answered.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CallSettings {
    pub id: i64,
    pub name: String,
    pub drop_timeout_secs: f64,
    pub safe_harbor_audio: String,
    /// `hangup`, `message` or `agent`.
    pub amd_machine_action: String,
    /// `agent`, `hangup` or `message`.
    pub amd_notsure_action: String,
    pub machine_message_audio: Option<String>,
    /// `never`, `on_demand`, `all_calls` or `all_calls_forced`.
    pub recording_policy: String,
    pub recording_pattern: String,
}

pub async fn call_settings(pool: &PgPool, id: i64) -> Result<Option<CallSettings>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name, drop_timeout_secs::float8 AS drop_timeout_secs, safe_harbor_audio, amd_machine_action, amd_notsure_action,
                machine_message_audio, recording_policy, recording_pattern
         FROM campaigns WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// What the dialer loop reads of a campaign, every turn.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DialSettings {
    pub active: bool,
    pub dial_method: DialMethod,
    pub dial_ratio: f64,
    pub max_lines: Option<i32>,
    pub max_calls_per_second: f64,
    pub trunk_channels: Option<i32>,
    pub ring_timeout_secs: i32,
    pub dial_template: String,
    pub trunk: String,
    pub dial_prefix: String,
    pub caller_id_number: Option<String>,
    pub caller_id_name: String,
    pub abandon_cap_pct: f64,
    pub amd_enabled: bool,
    pub drop_timeout_secs: f64,
    pub amd_false_positive_pct: f64,
    pub hourly_abandon_cap_pct: Option<f64>,
    /// Leads the node keeps claimed ahead of the dialer; 0 lets the pacer size it.
    pub hopper_size: i32,
}

/// The prompts the active campaigns play (safe-harbor and machine messages), each once, for
/// `dialtone doctor` to look for in Asterisk's sounds.
pub async fn prompts(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT p FROM campaigns, LATERAL (VALUES (safe_harbor_audio), (machine_message_audio)) v(p)
         WHERE active AND p IS NOT NULL ORDER BY p",
    )
    .fetch_all(pool)
    .await
}

pub async fn dial_settings(pool: &PgPool, id: i64) -> Result<Option<DialSettings>, sqlx::Error> {
    sqlx::query_as(
        "SELECT active, dial_method, dial_ratio::float8 AS dial_ratio, max_lines, max_calls_per_second::float8 AS max_calls_per_second,
                trunk_channels, ring_timeout_secs, dial_template, trunk, dial_prefix, caller_id_number, caller_id_name,
                abandon_cap_pct::float8 AS abandon_cap_pct, amd_enabled, drop_timeout_secs::float8 AS drop_timeout_secs,
                amd_false_positive_pct::float8 AS amd_false_positive_pct, hourly_abandon_cap_pct::float8 AS hourly_abandon_cap_pct,
                hopper_size
         FROM campaigns WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// The campaign's live numbers on one node, for the pacer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct LiveCounts {
    pub ready_agents: i64,
    /// Attempts originated and not resolved or answered, and answered calls waiting for an
    /// agent: lines that will each need a ready agent.
    pub lines_ringing: i64,
    /// Calls of the campaign not ended (ringing or talking), on every node.
    pub lines_in_use: i64,
    pub hopper: i64,
    pub abandons_30d: i64,
    pub live_answers_30d: i64,
    pub abandons_1h: i64,
    pub live_answers_1h: i64,
}

pub async fn live_counts(pool: &PgPool, id: i64, node: &str) -> Result<LiveCounts, sqlx::Error> {
    sqlx::query_as(
        "SELECT
             (SELECT count(*) FROM agent_sessions WHERE campaign_id = $1 AND state = 'ready'
                AND last_seen_at > now() - make_interval(secs => $3)) AS ready_agents,
             (SELECT count(*) FROM call_attempts WHERE campaign_id = $1 AND node = $2 AND state = 'originating' AND answered_at IS NULL)
             + (SELECT count(*) FROM calls WHERE campaign_id = $1 AND node = $2 AND direction = 'outbound' AND state = 'answered'
                AND queued_at IS NOT NULL) AS lines_ringing,
             (SELECT count(*) FROM call_attempts WHERE campaign_id = $1 AND state = 'originating') AS lines_in_use,
             (SELECT count(*) FROM hopper WHERE campaign_id = $1 AND node = $2) AS hopper,
             (SELECT count(*) FROM abandon_ledger WHERE campaign_id = $1 AND kind = 'abandon' AND occurred_at > now() - interval '30 days') AS abandons_30d,
             (SELECT count(*) FROM abandon_ledger WHERE campaign_id = $1 AND kind = 'live_answer' AND occurred_at > now() - interval '30 days') AS live_answers_30d,
             (SELECT count(*) FROM abandon_ledger WHERE campaign_id = $1 AND kind = 'abandon' AND occurred_at > now() - interval '1 hour') AS abandons_1h,
             (SELECT count(*) FROM abandon_ledger WHERE campaign_id = $1 AND kind = 'live_answer' AND occurred_at > now() - interval '1 hour') AS live_answers_1h",
    )
    .bind(id)
    .bind(node)
    .bind(f64::from(crate::agents::LIVENESS_SECS))
    .fetch_one(pool)
    .await
}
