//! Do-not-call lists: system-wide (every campaign) and per campaign, each holding numbers and
//! area-code wildcards. The hopper and manual dial check [`check`]; imports scrub against the
//! same rows in bulk.

use std::io::BufRead;

use sqlx::{PgPool, Postgres};

use crate::phone::E164;

/// Which list an entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    System,
    Campaign(i64),
}

impl Scope {
    fn campaign_id(self) -> Option<i64> {
        match self {
            Scope::System => None,
            Scope::Campaign(id) => Some(id),
        }
    }
}

/// Where an entry came from, kept for audits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Manual,
    Registry,
    Disposition,
    Api,
    Import,
    CalleeRequest,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Manual => "manual",
            Source::Registry => "registry",
            Source::Disposition => "disposition",
            Source::Api => "api",
            Source::Import => "import",
            Source::CalleeRequest => "callee_request",
        }
    }
}

/// The entry that blocks a number.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Hit {
    pub campaign_id: Option<i64>,
    pub kind: String,
    pub value: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DncError {
    #[error("'{0}' is not an area code: give 2 to 6 digits after the country code, e.g. 1201")]
    BadAreaCode(String),
    #[error("cannot read the registry file: {0}")]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Adds a number; false when it was already on that list.
pub async fn add_number<'c>(
    db: impl sqlx::PgExecutor<'c>,
    scope: Scope,
    number: &E164,
    source: Source,
    note: &str,
) -> Result<bool, DncError> {
    insert(db, scope, "number", &number.number, source, note).await
}

/// Adds an area-code wildcard, given as digits with the country code (`1201` blocks +1 201...).
pub async fn add_area_code<'c>(
    db: impl sqlx::PgExecutor<'c>,
    scope: Scope,
    digits: &str,
    note: &str,
) -> Result<bool, DncError> {
    let digits = digits.trim().trim_start_matches('+');
    if !(2..=7).contains(&digits.len())
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || digits.starts_with('0')
    {
        return Err(DncError::BadAreaCode(digits.to_string()));
    }
    insert(
        db,
        scope,
        "area_code",
        &format!("+{digits}"),
        Source::Manual,
        note,
    )
    .await
}

/// One entry; in the caller's transaction when `db` is one (the admin audits it there).
async fn insert<'c>(
    db: impl sqlx::PgExecutor<'c>,
    scope: Scope,
    kind: &str,
    value: &str,
    source: Source,
    note: &str,
) -> Result<bool, DncError> {
    let conflict = match scope {
        Scope::System => "ON CONFLICT (value) WHERE campaign_id IS NULL DO NOTHING",
        Scope::Campaign(_) => {
            "ON CONFLICT (campaign_id, value) WHERE campaign_id IS NOT NULL DO NOTHING"
        }
    };
    let sql = format!("INSERT INTO dnc_entries (campaign_id, kind, value, source, note) VALUES ($1, $2, $3, $4, $5) {conflict}");
    let done = sqlx::query(&sql)
        .bind(scope.campaign_id())
        .bind(kind)
        .bind(value)
        .bind(source.as_str())
        .bind(note)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a number or an area-code entry (`+1201`) from one list; false when it was not there.
pub async fn remove(pool: &PgPool, scope: Scope, value: &str) -> Result<bool, DncError> {
    let done = sqlx::query(
        "DELETE FROM dnc_entries WHERE value = $1 AND campaign_id IS NOT DISTINCT FROM $2",
    )
    .bind(value)
    .bind(scope.campaign_id())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The entry that forbids calling `number` for `campaign` (system list first), if any.
pub async fn check(
    pool: &PgPool,
    campaign: Option<i64>,
    number: &str,
) -> Result<Option<Hit>, DncError> {
    let hit = sqlx::query_as::<_, Hit>(&format!(
        "SELECT d.campaign_id, d.kind, d.value FROM dnc_entries d WHERE {} ORDER BY d.campaign_id NULLS FIRST, d.kind DESC LIMIT 1",
        blocks("$1", "$2")
    ))
    .bind(number)
    .bind(campaign)
    .fetch_optional(pool)
    .await?;
    Ok(hit)
}

/// The condition under which entry `d` forbids calling the E.164 number `phone` for
/// `campaign` (SQL expressions): the number itself, or an area-code entry for one of its
/// leading 2 to 7 digits, on the system list or the campaign's. One index probe on `value`.
pub(crate) fn blocks(phone: &str, campaign: &str) -> String {
    format!(
        "d.value = ANY(ARRAY[{phone}, left({phone}, 3), left({phone}, 4), left({phone}, 5), left({phone}, 6), left({phone}, 7), left({phone}, 8)])
         AND (d.kind = 'area_code' OR d.value = {phone})
         AND (d.campaign_id IS NULL OR d.campaign_id = {campaign})"
    )
}

/// What a registry load did. `rejected` keeps the first [`RegistryLoad::MAX_REJECTS_KEPT`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RegistryLoad {
    pub lines: u64,
    pub added: u64,
    pub already_listed: u64,
    pub rejected_count: u64,
    pub rejected: Vec<(u64, String)>,
}

impl RegistryLoad {
    pub const MAX_REJECTS_KEPT: usize = 100;
}

/// Rows per COPY batch: large enough to amortise round trips, small enough to stay in memory.
const REGISTRY_BATCH: usize = 100_000;

/// Bulk-loads a national-registry style file: one US number a line, 10 digits (punctuation and
/// a leading 1 are tolerated). Streams in batches, so millions of lines load in constant memory.
pub async fn load_registry(
    pool: &PgPool,
    scope: Scope,
    input: impl BufRead,
    source: Source,
) -> Result<RegistryLoad, DncError> {
    let mut report = RegistryLoad::default();
    let mut conn = pool.acquire().await?;
    sqlx::query(
        "CREATE TEMP TABLE IF NOT EXISTS dnc_stage (value text NOT NULL) ON COMMIT DELETE ROWS",
    )
    .execute(&mut *conn)
    .await?;
    let mut batch = String::with_capacity(REGISTRY_BATCH * 13);
    let mut in_batch = 0usize;
    for line in input.lines() {
        let line = line?;
        report.lines += 1;
        let digits: String = line.chars().filter(char::is_ascii_digit).collect();
        let national = match digits.len() {
            10 => Some(digits.as_str()),
            11 if digits.starts_with('1') => Some(&digits[1..]),
            _ => None,
        };
        match national {
            Some(n) if n.as_bytes()[0] >= b'2' && n.as_bytes()[3] >= b'2' => {
                batch.push_str("+1");
                batch.push_str(n);
                batch.push('\n');
                in_batch += 1;
            }
            _ if line.trim().is_empty() => {}
            _ => {
                report.rejected_count += 1;
                if report.rejected.len() < RegistryLoad::MAX_REJECTS_KEPT {
                    report.rejected.push((
                        report.lines,
                        format!("'{}' is not a 10-digit NANP number", line.trim()),
                    ));
                }
            }
        }
        if in_batch == REGISTRY_BATCH {
            flush_registry(&mut conn, scope, source, &mut batch, &mut report).await?;
            in_batch = 0;
        }
    }
    if in_batch > 0 {
        flush_registry(&mut conn, scope, source, &mut batch, &mut report).await?;
    }
    Ok(report)
}

async fn flush_registry(
    conn: &mut sqlx::pool::PoolConnection<Postgres>,
    scope: Scope,
    source: Source,
    batch: &mut String,
    report: &mut RegistryLoad,
) -> Result<(), DncError> {
    let staged = batch.lines().count() as u64;
    let mut tx = sqlx::Connection::begin(&mut **conn).await?;
    let mut copy = tx.copy_in_raw("COPY dnc_stage (value) FROM STDIN").await?;
    copy.send(batch.as_bytes()).await?;
    copy.finish().await?;
    let conflict = match scope {
        Scope::System => "ON CONFLICT (value) WHERE campaign_id IS NULL DO NOTHING",
        Scope::Campaign(_) => {
            "ON CONFLICT (campaign_id, value) WHERE campaign_id IS NOT NULL DO NOTHING"
        }
    };
    let sql = format!(
        "INSERT INTO dnc_entries (campaign_id, kind, value, source)
         SELECT DISTINCT $1::bigint, 'number', value, $2 FROM dnc_stage {conflict}"
    );
    let added = sqlx::query(&sql)
        .bind(scope.campaign_id())
        .bind(source.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    report.added += added;
    report.already_listed += staged - added;
    batch.clear();
    Ok(())
}
