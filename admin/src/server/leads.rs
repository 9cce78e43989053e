//! Leads as the admin finds and edits them, with their calls and recordings.
//!
//! Search uses indexes only, so it stays fast on tens of millions of leads: a phone number
//! (normalised to E.164, equality on `leads_phone_list`), a lead id, or a name within one list
//! (`leads_list` narrows to the list first).

use dialtone_core::lead_edits::{self, LeadEditError, EDITABLE};
use dialtone_core::records::Table;
use dialtone_core::visibility;
use serde_json::Value;
use sqlx::PgPool;

use super::actor::{Actor, OpError};
use super::search::{pick_sort, SORT_WINDOW};
use crate::model::{CallRow, LeadDetail, LeadRow, Page, RecordingRow, Saved, PER_PAGE};

/// How a search box's text is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeadQuery {
    Phone(String),
    Id(i64),
    /// A name (first or last, case-insensitive prefix) within the list.
    Name {
        name: String,
        list: i64,
    },
    /// A name without a list: refused, it would read every lead.
    NameWithoutList,
    Empty,
}

/// `#123` is a lead id; 7 or more digits (with any punctuation) a phone number read in
/// `country`; other text a name: the start of a last name, or of a first and a last name.
pub fn parse_query(q: &str, list: Option<i64>, country: &str) -> LeadQuery {
    let q = q.trim();
    if q.is_empty() {
        return LeadQuery::Empty;
    }
    if let Some(id) = q.strip_prefix('#').and_then(|d| d.trim().parse().ok()) {
        return LeadQuery::Id(id);
    }
    let digits = q.chars().filter(char::is_ascii_digit).count();
    let phoneish = q
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if phoneish && digits >= 7 {
        if let Ok(country) = dialtone_core::phone::country(country) {
            if let Ok(number) = dialtone_core::phone::normalize(q, country) {
                return LeadQuery::Phone(number.number);
            }
        }
    }
    if phoneish && digits > 0 {
        if let Ok(id) = q.parse() {
            return LeadQuery::Id(id);
        }
    }
    match list {
        Some(list) => LeadQuery::Name {
            name: q.to_string(),
            list,
        },
        None => LeadQuery::NameWithoutList,
    }
}

/// Leads in lists the viewer may see: admins all, others their campaigns' lists.
/// The longest value a form, the admin's lead page or the agent's screen, may put in a custom
/// field.
pub const CUSTOM_VALUE_MAX: usize = 2000;

/// Whether a form's custom values fit [`CUSTOM_VALUE_MAX`]; if not, why.
pub fn check_custom_values<'a>(mut values: impl Iterator<Item = &'a str>) -> Result<(), String> {
    if values.any(|v| v.chars().count() > CUSTOM_VALUE_MAX) {
        return Err(format!(
            "a custom field holds at most {CUSTOM_VALUE_MAX} characters"
        ));
    }
    Ok(())
}

/// The leads of lists whose campaign the viewer sees, binding a [`visibility::Seen`] at `$1`.
const VISIBLE: &str =
    "($1::bigint[] IS NULL OR l.list_id IN (SELECT s.id FROM lists s WHERE s.campaign_id = ANY($1)))";

#[derive(sqlx::FromRow)]
struct Found {
    id: i64,
    list_id: i64,
    list_name: String,
    phone_e164: String,
    first_name: String,
    last_name: String,
    status: String,
    time_zone: String,
    attempt_count: i32,
}

/// Search result columns, named by the inner query's aliases in `search`.
const LEAD_SORTS: &[(&str, &str)] = &[
    ("id", "id"),
    ("phone", "phone_e164"),
    ("name", "last_name"),
    ("list", "list_name"),
    ("status", "status"),
    ("zone", "time_zone"),
    ("attempts", "attempt_count"),
];

/// Leads matching `q`, in lead id order (the index's) or by `sort`; an order no index serves
/// sorts only the first [`SORT_WINDOW`] matches by id.
pub async fn search(
    pool: &PgPool,
    actor: &Actor<'_>,
    q: &str,
    list: Option<i64>,
    sort: &str,
    page: u32,
) -> Result<Result<Page<LeadRow>, String>, OpError> {
    actor.staff()?;
    let country: Option<String> = match list {
        Some(id) => {
            sqlx::query_scalar("SELECT default_country::text FROM lists WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        }
        None => None,
    };
    let (condition, bind): (&str, Value) = match parse_query(
        q,
        list,
        country.as_deref().unwrap_or("US"),
    ) {
        LeadQuery::Empty => {
            return Ok(Err(
                "Type a phone number, #lead id, or a last name (first and last, either order; names need a list).".into(),
            ))
        }
        LeadQuery::NameWithoutList => {
            return Ok(Err(
                "To search by name, choose the list.".into(),
            ))
        }
        LeadQuery::Phone(p) => ("l.phone_e164 = $2 #>> '{}'", Value::String(p)),
        LeadQuery::Id(id) => ("l.id = ($2 #>> '{}')::bigint", Value::from(id)),
        // A last-name prefix is the range [name, its successor) in "C" order, which the
        // last-name index walks. Two words or more are a first and a last name, in either
        // order, or a last name with a space ("de la cruz").
        LeadQuery::Name { name, list } => {
            // Lower-cased by PostgreSQL, as the index is: Rust's rules differ for a few letters.
            let name: String = sqlx::query_scalar("SELECT lower($1)")
                .bind(&name)
                .fetch_one(pool)
                .await?;
            let words: Vec<&str> = name.split_whitespace().collect();
            let range = |word: &str| (word.to_string(), super::search::prefix_successor(word));
            match words.as_slice() {
                [first, last @ ..] if !last.is_empty() => {
                    let last = last.join(" ");
                    (
                        r#"l.list_id = ($2 ->> 'list')::bigint AND (
                             (lower(l.last_name) COLLATE "C" >= ($2 ->> 'a_from') AND lower(l.last_name) COLLATE "C" < ($2 ->> 'a_to')
                              AND starts_with(lower(l.first_name), $2 ->> 'b'))
                          OR (lower(l.last_name) COLLATE "C" >= ($2 ->> 'b_from') AND lower(l.last_name) COLLATE "C" < ($2 ->> 'b_to')
                              AND starts_with(lower(l.first_name), $2 ->> 'a'))
                          OR (lower(l.last_name) COLLATE "C" >= ($2 ->> 'from') AND lower(l.last_name) COLLATE "C" < ($2 ->> 'to')))"#,
                        serde_json::json!({
                            "a": first, "a_from": range(first).0, "a_to": range(first).1,
                            "b": last, "b_from": range(&last).0, "b_to": range(&last).1,
                            "from": name, "to": range(&name).1,
                            "list": list,
                        }),
                    )
                }
                _ => (
                    r#"l.list_id = ($2 ->> 'list')::bigint
                       AND lower(l.last_name) COLLATE "C" >= ($2 ->> 'from') AND lower(l.last_name) COLLATE "C" < ($2 ->> 'to')"#,
                    serde_json::json!({"from": name, "to": range(&name).1, "list": list}),
                ),
            }
        }
    };
    let list_filter = if list.is_some() {
        "AND l.list_id = $5"
    } else {
        "AND $5::bigint IS NULL"
    };
    let (column, desc) = pick_sort(sort, LEAD_SORTS).unwrap_or(("id", false));
    let dir = if desc { "DESC" } else { "ASC" };
    let (window, outer) = if column == "id" {
        (format!("ORDER BY l.id {dir}"), format!("id {dir}"))
    } else {
        (
            format!("ORDER BY l.id LIMIT {SORT_WINDOW}"),
            format!("{column} {dir} NULLS LAST, id"),
        )
    };
    let rows: Vec<Found> = sqlx::query_as(&format!(
        "SELECT * FROM (SELECT l.id, l.list_id, s.name AS list_name, l.phone_e164, l.first_name, l.last_name, l.status, l.time_zone, l.attempt_count
              FROM leads l JOIN lists s ON s.id = l.list_id
              WHERE {condition} AND {VISIBLE} {list_filter} {window}) m
         ORDER BY {outer} LIMIT $3 OFFSET $4"
    ))
    .bind(visibility::campaigns(pool, actor.viewer.user_id).await?.ids())
    .bind(&bind)
    .bind(i64::from(PER_PAGE) + 1)
    .bind(i64::from(page.max(1) - 1) * i64::from(PER_PAGE))
    .bind(list)
    .fetch_all(pool)
    .await?;
    // One row more than a page says there is a next page, without counting every match.
    let more = rows.len() > PER_PAGE as usize;
    let shown: Vec<LeadRow> = rows
        .into_iter()
        .take(PER_PAGE as usize)
        .map(|f| LeadRow {
            id: f.id,
            list_id: f.list_id,
            list_name: f.list_name,
            phone: f.phone_e164,
            name: format!("{} {}", f.first_name, f.last_name)
                .trim()
                .to_string(),
            status: f.status,
            time_zone: f.time_zone,
            attempts: f.attempt_count,
        })
        .collect();
    let seen = i64::from(page.max(1) - 1) * i64::from(PER_PAGE) + shown.len() as i64;
    Ok(Ok(Page {
        total: seen + i64::from(more),
        rows: shown,
        page: page.max(1),
        per_page: PER_PAGE,
    }))
}

async fn visible(pool: &PgPool, actor: &Actor<'_>, id: i64) -> Result<(), OpError> {
    actor.staff()?;
    let ok: bool = sqlx::query_scalar(&format!(
        "SELECT EXISTS (SELECT 1 FROM leads l WHERE l.id = $2 AND {VISIBLE})"
    ))
    .bind(
        visibility::campaigns(pool, actor.viewer.user_id)
            .await?
            .ids(),
    )
    .bind(id)
    .fetch_one(pool)
    .await?;
    if ok {
        Ok(())
    } else {
        Err(OpError::NotFound)
    }
}

pub async fn detail(pool: &PgPool, actor: &Actor<'_>, id: i64) -> Result<LeadDetail, OpError> {
    visible(pool, actor, id).await?;
    let row: Option<(Value, String, String, Option<String>)> = sqlx::query_as(
        "SELECT to_jsonb(l), l.updated_at::text, s.name, to_char(l.next_attempt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC'
         FROM leads l JOIN lists s ON s.id = l.list_id WHERE l.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    let (json, version, list_name, next_attempt_at) = row.ok_or(OpError::NotFound)?;
    let text = |k: &str| match json.get(k) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let calls: Vec<CallRow> = sqlx::query_as(
        "SELECT to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS at, c.direction, c.outcome, c.disposition,
                u.username AS agent, c.talk_secs::float8 AS talk_secs, cp.name AS campaign
         FROM calls c LEFT JOIN users u ON u.id = c.agent_user_id LEFT JOIN campaigns cp ON cp.id = c.campaign_id
         WHERE c.lead_id = $1 ORDER BY c.created_at DESC LIMIT 100",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    let recordings = recordings_where(pool, "r.lead_id = $1", id).await?;
    let statuses: Vec<(String, String)> =
        sqlx::query_as("SELECT code, name FROM statuses ORDER BY code")
            .fetch_all(pool)
            .await?;
    Ok(LeadDetail {
        id,
        list_id: json.get("list_id").and_then(Value::as_i64).unwrap_or(0),
        list_name,
        phone: text("phone_e164"),
        alt_phone: text("alt_phone_e164"),
        time_zone: text("time_zone"),
        state: text("state"),
        status: text("status"),
        attempts: json
            .get("attempt_count")
            .and_then(Value::as_i64)
            .unwrap_or(0),
        next_attempt_at: next_attempt_at.unwrap_or_default(),
        version,
        fields: EDITABLE
            .iter()
            .map(|(k, label, _)| (k.to_string(), label.to_string(), text(k)))
            .collect(),
        custom: json
            .get("custom")
            .and_then(Value::as_object)
            .map(|o| {
                o.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| v.to_string()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        statuses,
        calls,
        recordings,
    })
}

/// Saves the editable fields, the status and the custom fields together; refuses a stale form.
pub async fn save(
    pool: &PgPool,
    actor: &Actor<'_>,
    id: i64,
    version: &str,
    fields: &std::collections::HashMap<String, String>,
    custom: &std::collections::HashMap<String, String>,
    status: &str,
) -> Result<Saved, OpError> {
    visible(pool, actor, id).await?;
    let mut errors = Vec::new();
    for (key, _, max) in EDITABLE {
        if fields.get(*key).is_some_and(|v| v.chars().count() > *max) {
            errors.push((key.to_string(), format!("at most {max} characters")));
        }
    }
    if let Some(email) = fields.get("email").filter(|e| !e.trim().is_empty()) {
        if !email.contains('@') || email.contains(char::is_whitespace) {
            errors.push(("email".into(), "an address such as ana@example.com".into()));
        }
    }
    let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM statuses WHERE code = $1)")
        .bind(status)
        .fetch_one(pool)
        .await?;
    if !known {
        errors.push(("status".into(), "choose a status from the list".into()));
    }
    if let Err(e) = check_custom_values(custom.values().map(String::as_str)) {
        errors.push(("custom".into(), e));
    }
    if !errors.is_empty() {
        return Ok(Saved::Invalid {
            fields: errors,
            form: Some("Nothing was saved: correct the fields marked.".into()),
        });
    }
    let mut tx = pool.begin().await?;
    let before = dialtone_core::records::lock(&mut tx, Table::Leads, id)
        .await?
        .ok_or(OpError::NotFound)?;
    let values: Vec<(&str, &str)> = EDITABLE
        .iter()
        .map(|(key, _, _)| (*key, fields.get(*key).map(|v| v.trim()).unwrap_or_default()))
        .collect();
    let custom_json = Value::Object(
        custom
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    );
    let after = match lead_edits::on_page(&mut tx, id, version, &values, status, &custom_json).await {
        Ok(Some(after)) => after,
        Ok(None) => return Ok(Saved::refused("Someone (or a call) changed this lead after you opened it. Reload the page, then make your change again.")),
        Err(LeadEditError::Db(sqlx::Error::Database(db))) if db.code().as_deref() == Some("23514") => {
            return Ok(Saved::refused(format!("the database refused the values: {}", db.message())));
        }
        Err(LeadEditError::Db(e)) => return Err(e.into()),
        Err(e @ LeadEditError::NotEditable(_)) => return Ok(Saved::refused(e.to_string())),
    };
    actor
        .audit(
            &mut *tx,
            "update",
            "lead",
            Some(id.to_string()),
            Some(before),
            Some(after),
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id,
        message: "Saved.".into(),
    })
}

#[derive(sqlx::FromRow)]
struct Recording {
    id: i64,
    started_at: String,
    duration_secs: Option<f64>,
    campaign: Option<String>,
    agent: Option<String>,
    phone: Option<String>,
    lead_id: Option<i64>,
    format: String,
}

async fn recordings_where(
    pool: &PgPool,
    condition: &str,
    id: i64,
) -> Result<Vec<RecordingRow>, sqlx::Error> {
    let rows: Vec<Recording> = sqlx::query_as(&format!(
        "SELECT r.id, to_char(r.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS started_at, r.duration_secs::float8 AS duration_secs,
                c.name AS campaign, u.username AS agent, l.phone_e164 AS phone, r.lead_id, r.format
         FROM recordings r LEFT JOIN campaigns c ON c.id = r.campaign_id LEFT JOIN users u ON u.id = r.agent_user_id
              LEFT JOIN leads l ON l.id = r.lead_id
         WHERE {condition} ORDER BY r.started_at DESC LIMIT 200"
    ))
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(recording_row).collect())
}

fn recording_row(r: Recording) -> RecordingRow {
    RecordingRow {
        id: r.id,
        started_at: r.started_at,
        duration_secs: r.duration_secs,
        campaign: r.campaign,
        agent: r.agent,
        phone: r.phone,
        lead_id: r.lead_id,
        format: r.format,
    }
}

/// Recording columns. One day's recordings are read to count them anyway, so any order is
/// as cheap as the default (newest first).
const RECORDING_SORTS: &[(&str, &str)] = &[
    ("started", "r.started_at"),
    ("campaign", "c.name"),
    ("agent", "u.username"),
    ("number", "l.phone_e164"),
    ("seconds", "r.duration_secs"),
];

/// Recordings by day (UTC), optionally one campaign's, one agent's or one number's.
#[allow(clippy::too_many_arguments)]
pub async fn recordings(
    pool: &PgPool,
    actor: &Actor<'_>,
    day: &str,
    campaign: Option<i64>,
    agent: &str,
    phone: &str,
    sort: &str,
    page: u32,
) -> Result<Page<RecordingRow>, OpError> {
    actor.staff()?;
    let number = if phone.trim().is_empty() {
        None
    } else {
        dialtone_core::phone::country("US")
            .ok()
            .and_then(|c| dialtone_core::phone::normalize(phone, c).ok())
            .map(|n| n.number)
    };
    let seen = visibility::campaigns(pool, actor.viewer.user_id).await?;
    let filter = "r.started_at >= $2::date AND r.started_at < $2::date + 1
        AND ($3::bigint IS NULL OR r.campaign_id = $3)
        AND ($4 = '' OR u.username = $4)
        AND ($5::text IS NULL OR l.phone_e164 = $5)
        AND ($1::bigint[] IS NULL OR r.campaign_id = ANY($1))";
    let from = "FROM recordings r LEFT JOIN campaigns c ON c.id = r.campaign_id LEFT JOIN users u ON u.id = r.agent_user_id LEFT JOIN leads l ON l.id = r.lead_id";
    let day = if day.trim().is_empty() {
        chrono::Utc::now().format("%Y-%m-%d").to_string()
    } else {
        day.trim().to_string()
    };
    if chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").is_err() {
        return Ok(Page {
            rows: Vec::new(),
            total: 0,
            page: 1,
            per_page: PER_PAGE,
        });
    }
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) {from} WHERE {filter}"))
        .bind(seen.ids())
        .bind(&day)
        .bind(campaign)
        .bind(agent.trim())
        .bind(&number)
        .fetch_one(pool)
        .await?;
    let (column, desc) = pick_sort(sort, RECORDING_SORTS).unwrap_or(("r.started_at", true));
    let dir = if desc { "DESC" } else { "ASC" };
    let rows: Vec<Recording> = sqlx::query_as(&format!(
        "SELECT r.id, to_char(r.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS started_at, r.duration_secs::float8 AS duration_secs,
                c.name AS campaign, u.username AS agent, l.phone_e164 AS phone, r.lead_id, r.format
         {from} WHERE {filter} ORDER BY {column} {dir} NULLS LAST, r.id {dir} LIMIT $6 OFFSET $7"
    ))
    .bind(seen.ids())
    .bind(&day)
    .bind(campaign)
    .bind(agent.trim())
    .bind(&number)
    .bind(i64::from(PER_PAGE))
    .bind(i64::from(page.max(1) - 1) * i64::from(PER_PAGE))
    .fetch_all(pool)
    .await?;
    Ok(Page {
        rows: rows.into_iter().map(recording_row).collect(),
        total,
        page: page.max(1),
        per_page: PER_PAGE,
    })
}

/// The file of a recording the viewer may hear: (path under the recordings root, format).
pub async fn recording_file(
    pool: &PgPool,
    actor: &Actor<'_>,
    id: i64,
) -> Result<(String, String), OpError> {
    actor.staff()?;
    let seen = visibility::campaigns(pool, actor.viewer.user_id).await?;
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT file_path, format FROM recordings r WHERE r.id = $2 AND ($1::bigint[] IS NULL OR r.campaign_id = ANY($1))",
    )
    .bind(seen.ids())
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.ok_or(OpError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries() {
        assert_eq!(
            parse_query("(201) 555-0123", None, "US"),
            LeadQuery::Phone("+12015550123".into())
        );
        assert_eq!(
            parse_query("+44 20 7946 0958", None, "US"),
            LeadQuery::Phone("+442079460958".into())
        );
        assert_eq!(parse_query("#42", None, "US"), LeadQuery::Id(42));
        assert_eq!(parse_query("42", None, "US"), LeadQuery::Id(42));
        assert_eq!(
            parse_query("Silva", Some(3), "US"),
            LeadQuery::Name {
                name: "Silva".into(),
                list: 3
            }
        );
        assert_eq!(parse_query("Silva", None, "US"), LeadQuery::NameWithoutList);
        assert_eq!(parse_query("  ", None, "US"), LeadQuery::Empty);
    }
}
