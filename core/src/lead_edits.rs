//! What people change of a lead by hand: an admin or supervisor on the lead's page, an agent
//! on the call it is on. The dialer's own fields (status by outcome, attempts, when next) are
//! not here: the call flows keep those.

use serde_json::Value;
use sqlx::{PgConnection, PgPool};

/// The fields a person may edit: (column, label, longest); the number, time zone and history
/// are the dialer's. Column names reach SQL only from this table, whatever a form sends.
pub const EDITABLE: &[(&str, &str, usize)] = &[
    ("first_name", "First name", 100),
    ("last_name", "Last name", 100),
    ("email", "Email", 200),
    ("address1", "Address", 200),
    ("address2", "Address 2", 200),
    ("city", "City", 100),
    ("postal_code", "Postal code", 16),
    ("vendor_code", "Vendor code", 100),
    ("comments", "Comments", 2000),
];

#[derive(Debug, thiserror::Error)]
pub enum LeadEditError {
    #[error("'{0}' is not a field a person may edit")]
    NotEditable(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// `column = $n, …` for these fields, numbered from `$1`: an emptied postal code is NULL, as
/// imports leave it.
fn assignments(fields: &[(&str, &str)]) -> Result<String, LeadEditError> {
    let mut sets = Vec::with_capacity(fields.len());
    for (i, (column, _)) in fields.iter().enumerate() {
        let (column, _, _) = EDITABLE
            .iter()
            .find(|(c, _, _)| c == column)
            .ok_or_else(|| LeadEditError::NotEditable((*column).to_string()))?;
        sets.push(match *column {
            "postal_code" => format!("postal_code = NULLIF(${}, '')", i + 1),
            _ => format!("{column} = ${}", i + 1),
        });
    }
    Ok(sets.join(", "))
}

/// An edit on the lead's page: the fields, the status, and custom fields merged in, saved only
/// while the lead is still at `version` (its `updated_at` when the page was opened). Returns
/// the lead after, or none when someone (or a call) changed it meanwhile.
pub async fn on_page(
    conn: &mut PgConnection,
    id: i64,
    version: &str,
    fields: &[(&str, &str)],
    status: &str,
    custom: &Value,
) -> Result<Option<Value>, LeadEditError> {
    let n = fields.len();
    let sql = format!(
        "UPDATE leads SET {}, status = ${}, custom = custom || ${}, updated_at = now()
         WHERE id = ${} AND updated_at = ${}::timestamptz RETURNING to_jsonb(leads.*)",
        assignments(fields)?,
        n + 1,
        n + 2,
        n + 3,
        n + 4
    );
    let mut query = sqlx::query_scalar::<_, Value>(&sql);
    for (_, value) in fields {
        query = query.bind(*value);
    }
    Ok(query
        .bind(status)
        .bind(custom)
        .bind(id)
        .bind(version)
        .fetch_optional(conn)
        .await?)
}

/// An agent's edit of the lead on their call: only that lead, and of its custom fields only
/// those it has (an agent edits values, not names). False when the lead is not the call's.
pub async fn on_call(
    pool: &PgPool,
    lead_id: i64,
    call_id: uuid::Uuid,
    fields: &[(&str, &str)],
    custom: &Value,
) -> Result<bool, LeadEditError> {
    let n = fields.len();
    let sql = format!(
        "UPDATE leads SET {},
                custom = custom || coalesce((SELECT jsonb_object_agg(e.key, e.value) FROM jsonb_each(${}) e WHERE leads.custom ? e.key), '{{}}'),
                updated_at = now()
         WHERE id = ${} AND id = (SELECT lead_id FROM calls WHERE id = ${})",
        assignments(fields)?,
        n + 1,
        n + 2,
        n + 3
    );
    let mut query = sqlx::query(&sql);
    for (_, value) in fields {
        query = query.bind(*value);
    }
    let done = query
        .bind(custom)
        .bind(lead_id)
        .bind(call_id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_editable_columns_reach_the_statement() {
        assert_eq!(
            assignments(&[("first_name", "Ana"), ("postal_code", "")])
                .ok()
                .as_deref(),
            Some("first_name = $1, postal_code = NULLIF($2, '')")
        );
        assert!(matches!(
            assignments(&[("status = 'SALE', first_name", "x")]),
            Err(LeadEditError::NotEditable(_))
        ));
    }
}
