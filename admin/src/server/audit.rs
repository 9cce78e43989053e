//! The audit log: who changed what, when, from where, with the row before and after.

use std::net::IpAddr;

use serde_json::Value;
use sqlx::{PgExecutor, PgPool};

use crate::model::AuditRow;

/// Writes one entry inside the caller's transaction, so the change and its record stand or
/// fall together.
#[allow(clippy::too_many_arguments)]
pub async fn write<'e>(
    db: impl PgExecutor<'e>,
    user_id: Option<i64>,
    ip: Option<IpAddr>,
    action: &str,
    entity: &str,
    entity_id: Option<String>,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO audit_log (user_id, ip, action, entity, entity_id, before, after) VALUES ($1, $2::inet, $3, $4, $5, $6, $7)")
        .bind(user_id)
        .bind(ip.map(|ip| ip.to_string()))
        .bind(action)
        .bind(entity)
        .bind(entity_id)
        .bind(before)
        .bind(after)
        .execute(db)
        .await?;
    Ok(())
}

/// Records an event that has no transaction of its own (sign-in, sign-out); a failure is logged,
/// not shown, since the event already happened.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    pool: &PgPool,
    user_id: Option<i64>,
    ip: Option<IpAddr>,
    action: &str,
    entity: &str,
    entity_id: Option<String>,
    before: Option<Value>,
    after: Option<Value>,
) {
    if let Err(e) = write(pool, user_id, ip, action, entity, entity_id, before, after).await {
        tracing::error!(error = %e, action, entity, "cannot write the audit log");
    }
}

/// The fields that differ between two JSON objects, as text, for the audit page.
pub fn changes(before: Option<&Value>, after: Option<&Value>) -> Vec<(String, String, String)> {
    let empty = serde_json::Map::new();
    let b = before.and_then(Value::as_object).unwrap_or(&empty);
    let a = after.and_then(Value::as_object).unwrap_or(&empty);
    let show = |v: Option<&Value>| match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let mut keys: Vec<&String> = b
        .keys()
        .chain(a.keys())
        .filter(|k| k.as_str() != "updated_at")
        .collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| b.get(*k) != a.get(*k))
        .map(|k| (k.clone(), show(b.get(k)), show(a.get(k))))
        .collect()
}

#[derive(sqlx::FromRow)]
struct Entry {
    id: i64,
    at: String,
    username: Option<String>,
    action: String,
    entity: String,
    entity_id: Option<String>,
    before: Option<Value>,
    after: Option<Value>,
}

/// A page of the log, newest first, optionally for one kind of entity or one user. The total
/// is what has been seen plus one when there is a next page: counting a log of millions of
/// rows on every view would cost more than the page.
pub async fn page(
    pool: &PgPool,
    entity: &str,
    user: &str,
    page: u32,
    per_page: u32,
) -> Result<(Vec<AuditRow>, i64), sqlx::Error> {
    let filter = "($1 = '' OR a.entity = $1) AND ($2 = '' OR a.user_id = (SELECT id FROM users WHERE username = $2))";
    let entries: Vec<Entry> = sqlx::query_as(&format!(
        "SELECT a.id, to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC' AS at, u.username, a.action, a.entity, a.entity_id, a.before, a.after
         FROM audit_log a LEFT JOIN users u ON u.id = a.user_id WHERE {filter} ORDER BY a.id DESC LIMIT $3 OFFSET $4"
    ))
    .bind(entity)
    .bind(user)
    .bind(i64::from(per_page) + 1)
    .bind(i64::from(page.saturating_sub(1)) * i64::from(per_page))
    .fetch_all(pool)
    .await?;
    let more = entries.len() > per_page as usize;
    let rows: Vec<AuditRow> = entries
        .into_iter()
        .take(per_page as usize)
        .map(|e| AuditRow {
            changes: changes(e.before.as_ref(), e.after.as_ref()),
            id: e.id,
            at: e.at,
            user: e.username,
            action: e.action,
            entity: e.entity,
            entity_id: e.entity_id,
        })
        .collect();
    let total = i64::from(page.saturating_sub(1)) * i64::from(per_page)
        + rows.len() as i64
        + i64::from(more);
    Ok((rows, total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_name_each_field() {
        let before = json!({"name": "A", "dial_ratio": 1.5, "updated_at": "x", "note": null});
        let after = json!({"name": "B", "dial_ratio": 1.5, "updated_at": "y", "note": "hi"});
        assert_eq!(
            changes(Some(&before), Some(&after)),
            vec![
                ("name".into(), "A".into(), "B".into()),
                ("note".into(), String::new(), "hi".into())
            ]
        );
        assert_eq!(
            changes(None, Some(&json!({"a": 1}))),
            vec![("a".into(), String::new(), "1".into())]
        );
    }
}
