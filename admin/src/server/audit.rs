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

/// Which page of the log to read.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// One kind of entity, or "" for all.
    pub entity: String,
    /// One user's changes (username), or "" for all.
    pub user: String,
    /// A key of [`AUDIT_SORTS`], `-` in front for descending; "" is newest first.
    pub sort: String,
    pub page: u32,
    /// Key-set cursors for the time order: the rows past this id (the next page)...
    pub after: Option<i64>,
    /// ...or the rows just before it (the previous page).
    pub before: Option<i64>,
}

/// The log's columns. Time is the key's order (ids grow with time): it pages by key, either
/// way. The others sort the newest [`SORT_WINDOW`](super::search::SORT_WINDOW) entries that match
/// and page them by offset.
pub const AUDIT_SORTS: &[(&str, &str)] = &[
    ("at", "id"),
    ("user", "username"),
    ("action", "action"),
    ("entity", "entity"),
];

/// A page of the log, newest first unless sorted, optionally for one kind of entity or one
/// user. The total is what has been seen plus one when there is a next page: counting a log
/// of millions of rows on every view would cost more than the page.
pub async fn page(
    pool: &PgPool,
    q: &AuditQuery,
    per_page: u32,
) -> Result<(Vec<AuditRow>, i64), sqlx::Error> {
    use super::search::{pick_sort, SORT_WINDOW};
    let filter = "($1 = '' OR a.entity = $1) AND ($2 = '' OR a.user_id = (SELECT id FROM users WHERE username = $2))";
    let columns = "a.id, to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC' AS at, u.username, a.action, a.entity, a.entity_id, a.before, a.after";
    let page = q.page.max(1);
    let (column, desc) = pick_sort(&q.sort, AUDIT_SORTS).unwrap_or(("id", true));
    let by_key = column == "id";
    // Going back a page reads the other way from the cursor, then turns the rows around.
    let backwards = by_key && q.before.is_some() && q.after.is_none();
    let cursor = if by_key { q.after.or(q.before) } else { None };
    let reads_desc = desc != backwards;
    let dir = |d: bool| if d { "DESC" } else { "ASC" };
    // $5 is the cursor, NULL for orders that page by offset.
    let sql = if by_key {
        let past = if reads_desc { "<" } else { ">" };
        format!(
            "SELECT {columns} FROM audit_log a LEFT JOIN users u ON u.id = a.user_id
             WHERE {filter} AND ($5::bigint IS NULL OR a.id {past} $5) ORDER BY a.id {} LIMIT $3 OFFSET $4",
            dir(reads_desc)
        )
    } else {
        format!(
            "SELECT * FROM (SELECT {columns} FROM audit_log a LEFT JOIN users u ON u.id = a.user_id
                            WHERE {filter} ORDER BY a.id DESC LIMIT {SORT_WINDOW}) w
             WHERE $5::bigint IS NULL ORDER BY {column} {} NULLS LAST, id DESC LIMIT $3 OFFSET $4",
            dir(desc)
        )
    };
    // With a cursor the page starts there; without one (the first page, or an address typed
    // by hand) it is counted from the start.
    let skip = if cursor.is_some() {
        0
    } else {
        i64::from(page - 1) * i64::from(per_page)
    };
    let mut entries: Vec<Entry> = sqlx::query_as(&sql)
        .bind(&q.entity)
        .bind(&q.user)
        .bind(i64::from(per_page) + 1)
        .bind(skip)
        .bind(cursor)
        .fetch_all(pool)
        .await?;
    let mut more = entries.len() > per_page as usize;
    entries.truncate(per_page as usize);
    if backwards {
        entries.reverse();
        // We came back from the next page: it is still there.
        more = true;
    }
    let rows: Vec<AuditRow> = entries
        .into_iter()
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
    let total = i64::from(page - 1) * i64::from(per_page) + rows.len() as i64 + i64::from(more);
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
