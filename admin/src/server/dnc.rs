//! Do-not-call lists (the DNC page and `/api/v1/dnc`): search, add (numbers and area codes)
//! and remove.

use dialtone_core::records::Table;
use sqlx::PgPool;

use crate::model::{DncRow, Page, Saved, PER_PAGE};

use super::actor::{Actor, OpError};
use super::search::{digits_successor, direction, offset, pick_sort, SORT_WINDOW};
use super::settings::{as_text, refusal};

/// DNC columns, named by the inner query's aliases in `dnc_search`.
const DNC_SORTS: &[(&str, &str)] = &[
    ("value", "value"),
    ("list", "campaign"),
    ("source", "source"),
    ("added", "created_at"),
];

/// Entries whose value starts with the digits typed, a page at a time without counting them
/// all (a national registry holds millions). The value order (either way) walks the
/// `dnc_value` index; other orders sort the first [`SORT_WINDOW`] matches by value.
pub async fn dnc_search(
    pool: &PgPool,
    actor: &Actor<'_>,
    query: &str,
    sort: &str,
    page: u32,
) -> Result<Page<DncRow>, OpError> {
    actor.admin()?;
    let prefix = query
        .trim()
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect::<String>();
    // Entries are `+` and digits: a prefix is the range from `+digits` to the next such prefix
    // (`+19` → `+2`), which the value index walks even in a prepared statement's generic plan
    // (a LIKE with a parameter pattern would read every entry). Digits after `+` order the same
    // under any collation; the LIKE keeps the match exact. No next prefix (none typed, or all
    // nines): no upper bound.
    let from = format!("+{prefix}");
    let to = digits_successor(&prefix).map(|d| format!("+{d}"));
    let pattern = format!("{from}%");
    let (column, desc) = pick_sort(sort, DNC_SORTS).unwrap_or(("value", false));
    let dir = direction(desc);
    let matching = if to.is_some() {
        "d.value >= $1 AND d.value < $2 AND d.value LIKE $3"
    } else {
        "d.value >= $1 AND $2::text IS NULL AND d.value LIKE $3"
    };
    let columns = "d.id, c.name AS campaign, d.value, d.source, d.note, d.created_at";
    let from_clause = "dnc_entries d LEFT JOIN campaigns c ON c.id = d.campaign_id";
    let inner = if column == "value" {
        format!("SELECT {columns} FROM {from_clause} WHERE {matching} ORDER BY d.value {dir}, d.id {dir} LIMIT $4 OFFSET $5")
    } else {
        format!(
            "SELECT * FROM (SELECT {columns} FROM {from_clause} WHERE {matching} ORDER BY d.value LIMIT {SORT_WINDOW}) w
             ORDER BY {column} {dir} NULLS LAST, value, id LIMIT $4 OFFSET $5"
        )
    };
    let rows: Vec<(i64, Option<String>, String, String, String, String)> = sqlx::query_as(&format!(
        "SELECT id, campaign, value, source, note, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM ({inner}) m"
    ))
    .bind(&from)
    .bind(&to)
    .bind(&pattern)
    .bind(i64::from(PER_PAGE) + 1)
    .bind(offset(page))
    .fetch_all(pool)
    .await?;
    // One row more than a page says there is a next page.
    let more = rows.len() > PER_PAGE as usize;
    let rows: Vec<DncRow> = rows
        .into_iter()
        .take(PER_PAGE as usize)
        .map(|(id, campaign, value, source, note, added_at)| DncRow {
            id,
            scope: campaign.unwrap_or_else(|| "system".into()),
            value,
            source,
            note,
            added_at,
        })
        .collect();
    Ok(Page {
        total: offset(page) + rows.len() as i64 + i64::from(more),
        rows,
        page: page.max(1),
        per_page: PER_PAGE,
    })
}

/// Adds a number (any format, read in `country`) or an area code (`area:1201`) to a list.
pub async fn dnc_add(
    pool: &PgPool,
    actor: &Actor<'_>,
    entry: &str,
    country: &str,
    campaign_id: Option<i64>,
    note: &str,
) -> Result<Saved, OpError> {
    use dialtone_core::dnc::{self, Scope, Source};
    actor.admin()?;
    let scope = campaign_id.map_or(Scope::System, Scope::Campaign);
    let entry = entry.trim();
    let mut tx = pool.begin().await?;
    let added = if let Some(area) = entry.strip_prefix("area:") {
        match dnc::add_area_code(&mut *tx, scope, area, note).await {
            Ok(added) => (added, format!("+{}", area.trim().trim_start_matches('+'))),
            Err(dnc::DncError::BadAreaCode(_)) => {
                return Ok(Saved::Invalid {
                    fields: vec![(
                        "number".into(),
                        "an area code is 2 to 7 digits with the country code, e.g. area:1201"
                            .into(),
                    )],
                    form: None,
                })
            }
            Err(dnc::DncError::Db(e)) => return refusal(e, "number"),
            Err(e) => return Ok(Saved::refused(e.to_string())),
        }
    } else {
        let Ok(country) = dialtone_core::phone::country(country.trim()) else {
            return Ok(Saved::Invalid {
                fields: vec![("country".into(), "a country code such as US".into())],
                form: None,
            });
        };
        let number = match dialtone_core::phone::normalize(entry, country) {
            Ok(n) => n,
            Err(e) => {
                return Ok(Saved::Invalid {
                    fields: vec![("number".into(), e.to_string())],
                    form: None,
                })
            }
        };
        match dnc::add_number(&mut *tx, scope, &number, Source::Manual, note).await {
            Ok(added) => (added, number.number.clone()),
            Err(dnc::DncError::Db(e)) => return refusal(e, "number"),
            Err(e) => return Ok(Saved::refused(e.to_string())),
        }
    };
    let (is_new, value) = added;
    if is_new {
        actor
            .audit(
                &mut *tx,
                "create",
                "dnc",
                Some(value.clone()),
                None,
                Some(serde_json::json!({"value": value, "campaign_id": campaign_id, "note": note})),
            )
            .await?;
        tx.commit().await?;
        Ok(Saved::Ok {
            id: 0,
            message: format!("{value} will not be called."),
        })
    } else {
        Ok(Saved::Ok {
            id: 0,
            message: format!("{value} was already on that list."),
        })
    }
}

pub async fn dnc_remove(pool: &PgPool, actor: &Actor<'_>, id: i64) -> Result<Saved, OpError> {
    actor.admin()?;
    // The audit log names an entry by its number or area code.
    let before = actor
        .delete_audited(pool, Table::DncEntries, "dnc", id, |row| {
            as_text(row.get("value"))
        })
        .await?;
    Ok(Saved::Ok {
        id,
        message: format!(
            "{} removed from the do-not-call list.",
            as_text(before.get("value"))
        ),
    })
}
