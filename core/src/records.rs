//! Rows an admin edits column by column: a campaign's or an inbound group's settings, turning
//! one on or off, deleting a holiday, a DID or a DNC entry, and the lock a lead's edit takes
//! (`lead_edits`). Table names come from [`Table`] and column names from the callers' constant
//! schemas (`&'static str`), never from a request; every value is a bound parameter.

use serde_json::Value;
use sqlx::PgConnection;

/// The tables edited this way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Campaigns,
    InboundGroups,
    Leads,
    Holidays,
    Dids,
    DncEntries,
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Campaigns => "campaigns",
            Table::InboundGroups => "inbound_groups",
            Table::Leads => "leads",
            Table::Holidays => "holidays",
            Table::Dids => "dids",
            Table::DncEntries => "dnc_entries",
        }
    }
}

/// One column set by an edit.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub column: &'static str,
    /// None: the column's "none" (NULL, or '' where `empty_text`).
    pub value: Option<String>,
    /// The SQL cast of the text value (`::integer`, or "" for text).
    pub cast: &'static str,
    /// A text column that holds '' rather than NULL for "none".
    pub empty_text: bool,
}

/// The row and its version (`updated_at` as text), as an edit form opens it.
pub async fn read(
    conn: &mut PgConnection,
    table: Table,
    id: i64,
) -> Result<Option<(Value, String)>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT to_jsonb(t), t.updated_at::text FROM {} t WHERE t.id = $1",
        table.name()
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// The row, locked for the edit in the caller's transaction (the audit's "before").
pub async fn lock(
    conn: &mut PgConnection,
    table: Table,
    id: i64,
) -> Result<Option<Value>, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "SELECT to_jsonb(t) FROM {} t WHERE id = $1 FOR UPDATE",
        table.name()
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Sets these columns of the row, only while it is still at `version` (so a form opened
/// before someone else's save does not overwrite it). Returns the row after, or none when it
/// changed meanwhile.
pub async fn update(
    conn: &mut PgConnection,
    table: Table,
    id: i64,
    version: &str,
    assignments: &[Assignment],
) -> Result<Option<Value>, sqlx::Error> {
    let sets: Vec<String> = assignments
        .iter()
        .enumerate()
        .map(|(i, a)| match a.empty_text {
            true => format!("{} = COALESCE(${}, '')", a.column, i + 1),
            false => format!("{} = ${}{}", a.column, i + 1, a.cast),
        })
        .collect();
    let n = assignments.len();
    let table = table.name();
    let sql = format!(
        "UPDATE {table} SET {}, updated_at = now() WHERE id = ${} AND updated_at = ${}::timestamptz
         RETURNING to_jsonb({table}.*)",
        sets.join(", "),
        n + 1,
        n + 2
    );
    let mut query = sqlx::query_scalar::<_, Value>(&sql);
    for a in assignments {
        query = query.bind(a.value.as_deref());
    }
    query.bind(id).bind(version).fetch_optional(conn).await
}

/// Turns the row on or off. Returns whether it was on before, or none when there is no row.
pub async fn set_active(
    conn: &mut PgConnection,
    table: Table,
    id: i64,
    active: bool,
) -> Result<Option<bool>, sqlx::Error> {
    let table = table.name();
    let before: Option<bool> = sqlx::query_scalar(&format!(
        "SELECT active FROM {table} WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    if before.is_some() {
        sqlx::query(&format!(
            "UPDATE {table} SET active = $2, updated_at = now() WHERE id = $1"
        ))
        .bind(id)
        .bind(active)
        .execute(&mut *conn)
        .await?;
    }
    Ok(before)
}

/// Deletes the row. Returns it as it was, or none when there is no row.
pub async fn delete(
    conn: &mut PgConnection,
    table: Table,
    id: i64,
) -> Result<Option<Value>, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "DELETE FROM {} t WHERE id = $1 RETURNING to_jsonb(t)",
        table.name()
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}
