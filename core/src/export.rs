//! Leads and their latest call result back out as CSV, safe to open in a spreadsheet.

use std::io::Write;

use futures::TryStreamExt;
use sqlx::{PgPool, Row};

use crate::csv_safety::neutralize;

/// Which leads to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    List(i64),
    /// Every list of the campaign.
    Campaign(i64),
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write the CSV: {0}")]
    Write(#[from] csv::Error),
    #[error("cannot write the CSV: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

const COLUMNS: &[&str] = &[
    "lead_id",
    "list_id",
    "status",
    "phone",
    "alt_phone",
    "first_name",
    "last_name",
    "email",
    "address1",
    "address2",
    "city",
    "state",
    "postal_code",
    "country",
    "time_zone",
    "vendor_code",
    "source",
    "comments",
    "priority",
    "attempt_count",
    "last_attempt_at",
    "next_attempt_at",
    "last_call_at",
    "last_outcome",
    "last_disposition",
    "last_talk_secs",
    "created_at",
];

/// Writes the selected leads, one row each, custom fields as trailing columns. Returns the rows written.
pub async fn export_leads(
    pool: &PgPool,
    selection: Selection,
    out: impl Write,
) -> Result<u64, ExportError> {
    let (filter, id) = match selection {
        Selection::List(id) => ("l.list_id = $1", id),
        Selection::Campaign(id) => (
            "l.list_id IN (SELECT id FROM lists WHERE campaign_id = $1)",
            id,
        ),
    };
    let custom_keys: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT DISTINCT k FROM leads l, jsonb_object_keys(l.custom) k WHERE {filter} ORDER BY k"
    ))
    .bind(id)
    .fetch_all(pool)
    .await?;
    let mut writer = csv::Writer::from_writer(out);
    let header: Vec<&str> = COLUMNS
        .iter()
        .copied()
        .chain(custom_keys.iter().map(String::as_str))
        .collect();
    writer.write_record(
        header
            .iter()
            .map(|h| neutralize(h))
            .collect::<Vec<_>>()
            .iter()
            .map(|h| h.as_ref()),
    )?;

    let sql = format!(
        "SELECT l.id::text, l.list_id::text, l.status, l.phone_e164, coalesce(l.alt_phone_e164, ''), l.first_name, l.last_name,
                l.email, l.address1, l.address2, l.city, coalesce(l.state, ''), coalesce(l.postal_code, ''), l.country,
                l.time_zone, l.vendor_code, l.source, l.comments, l.priority::text, l.attempt_count::text,
                coalesce(to_char(l.last_attempt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''),
                coalesce(to_char(l.next_attempt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''),
                coalesce(to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''),
                coalesce(c.outcome, ''), coalesce(c.disposition, ''), coalesce(c.talk_secs::text, ''),
                to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                l.custom
         FROM leads l
         LEFT JOIN LATERAL (
             SELECT created_at, outcome, disposition, talk_secs FROM calls WHERE lead_id = l.id ORDER BY created_at DESC LIMIT 1
         ) c ON true
         WHERE {filter}
         ORDER BY l.id"
    );
    let mut rows = sqlx::query(&sql).bind(id).fetch(pool);
    let mut written = 0u64;
    let mut record: Vec<String> = Vec::with_capacity(header.len());
    while let Some(row) = rows.try_next().await? {
        record.clear();
        for i in 0..COLUMNS.len() {
            let cell: String = row.try_get(i)?;
            record.push(neutralize(&cell).into_owned());
        }
        let custom: serde_json::Value = row.try_get(COLUMNS.len())?;
        for key in &custom_keys {
            let cell = match custom.get(key) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            record.push(neutralize(&cell).into_owned());
        }
        writer.write_record(&record)?;
        written += 1;
    }
    writer.flush()?;
    Ok(written)
}
