//! Lead import: a CSV file into a list, streamed, checked row by row, loaded with COPY.
//!
//! The file is read on a blocking thread that turns each record into a staged row or a line of
//! the rejected-rows report. Rows go to one of several database connections by their number,
//! so that PostgreSQL merges on every core while each number still meets its earlier rows in
//! file order. On each connection a batch is copied into a staging table, de-duplicated against
//! the list, scrubbed against the DNC lists and merged into `leads` in one transaction together
//! with that part's checkpoint. A run that dies keeps every committed batch; running the same
//! file into the same list again resumes each part after its last committed line, and a
//! finished import is not repeated.

pub mod columns;
mod copy_text;
mod record_span;
mod report;
mod rows;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};
use tokio::sync::{mpsc, watch};

pub use columns::{ColumnMap, Field, MappingError};
use report::RejectReport;

/// The advisory lock a running import holds with its job's id: two runs of one job never
/// overlap, and a job left `running` by a process that stopped is seen as such (the
/// `import_jobs_live` view, migration `20261201000009`, names this class too).
pub const JOB_LOCK_CLASS: i32 = 7468;

/// Lines per round of commits unless told otherwise.
pub const DEFAULT_BATCH_LINES: usize = 20_000;

/// Connections merging at once unless told otherwise: one per core of a 2-core server.
pub const DEFAULT_CONNECTIONS: usize = 2;

/// Which part merges a number: by its last two digits, so the parts get about as many numbers each.
fn part_of(number: &str, parts: usize) -> usize {
    let tail = number
        .get(number.len().saturating_sub(2)..)
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0);
    tail % parts.max(1)
}

/// Bound on one CSV record. A longer row is rejected (its line is named), so a runaway quote or
/// a binary file cannot make a lead of megabytes; its bytes are held only while it is read, and
/// a record that runs on past [`MAX_RECORD_SPAN`] stops the import.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

pub use record_span::MAX_RECORD_SPAN;

/// What to do with a row whose number is already in the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Duplicates {
    /// Keep the lead that is there.
    #[default]
    Skip,
    /// Refresh its contact fields and custom fields from the file; status and history stay.
    Update,
}

impl Duplicates {
    fn as_str(self) -> &'static str {
        match self {
            Duplicates::Skip => "skip",
            Duplicates::Update => "update",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub list_id: i64,
    pub duplicates: Duplicates,
    /// Column choices made by a person, by header name; other columns map by name.
    pub mapping: HashMap<String, Field>,
    /// Where rejected rows are written.
    pub error_report: PathBuf,
    pub created_by: Option<i64>,
    /// Lines per round of commits: each part commits its share of them in one transaction.
    pub batch_lines: usize,
    /// Connections merging at once, each owning a part of the numbers. PostgreSQL spends about
    /// one core per connection and the reader a tenth of one (see docs/benchmarks.md). A job
    /// that is resumed keeps the parts it began with, whatever this says then.
    pub connections: usize,
}

impl ImportOptions {
    pub fn new(list_id: i64, error_report: PathBuf) -> Self {
        Self {
            list_id,
            duplicates: Duplicates::Skip,
            mapping: HashMap::new(),
            error_report,
            created_by: None,
            batch_lines: DEFAULT_BATCH_LINES,
            connections: DEFAULT_CONNECTIONS,
        }
    }
}

/// Counts so far, published after every committed batch (the admin's progress bar).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    pub lines_committed: u64,
    pub inserted: u64,
    pub updated: u64,
    pub duplicate: u64,
    pub dnc: u64,
    pub rejected: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    pub job_id: i64,
    /// The job had finished before: nothing was done this time.
    pub already_imported: bool,
    /// A previous run of this job had committed up to this line.
    pub resumed_after_line: u64,
    pub totals: Progress,
    /// The rejected-rows file, when a row was rejected.
    pub error_report: Option<PathBuf>,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("list {0} does not exist")]
    ListNotFound(i64),
    #[error("list {list}: unknown default country '{country}'")]
    Country { list: i64, country: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the rejected-rows report {path}: {source}")]
    Report {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} is empty: the first line must be a header naming the columns")]
    Empty(PathBuf),
    #[error("{0} looks like UTF-16 (it has NUL bytes): save it as CSV UTF-8")]
    Utf16(PathBuf),
    #[error("line {line}: {message}")]
    Csv { line: u64, message: String },
    #[error("line 1: {0}")]
    Mapping(#[from] MappingError),
    #[error("import job {0} is running in another process")]
    AlreadyRunning(i64),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// One part's rows of a run of lines, ready to commit together.
struct Batch {
    /// The part's checkpoint once committed: its rows up to this line are in.
    last_line: u64,
    copy: Vec<u8>,
    staged: u64,
    rejected: u64,
}

/// Imports `path` into the list in `options`, publishing progress on `progress` if given.
pub async fn import_csv(
    pool: &PgPool,
    path: &Path,
    options: &ImportOptions,
    progress: Option<watch::Sender<Progress>>,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let list: Option<(String, Option<i64>)> =
        sqlx::query_as("SELECT default_country, campaign_id FROM lists WHERE id = $1")
            .bind(options.list_id)
            .fetch_optional(pool)
            .await?;
    let (country, campaign_id) = list.ok_or(ImportError::ListNotFound(options.list_id))?;
    let default_country =
        crate::phone::country(country.trim()).map_err(|_| ImportError::Country {
            list: options.list_id,
            country: country.clone(),
        })?;

    let digest = file_sha256(path).await?;
    let mut conn = pool.acquire().await?;
    let mut job = open_job(&mut conn, path, &digest, options).await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2::int)")
        .bind(JOB_LOCK_CLASS)
        .bind(job.id as i32)
        .fetch_one(&mut *conn)
        .await?;
    if !locked {
        return Err(ImportError::AlreadyRunning(job.id));
    }
    if job.part_lines.is_empty() {
        // A job begun before imports had parts: each part starts from the line it had reached.
        let parts: Vec<i64> =
            sqlx::query_scalar("UPDATE import_jobs SET part_lines = array_fill(lines_committed, ARRAY[$2::int]) WHERE id = $1 RETURNING part_lines")
                .bind(job.id)
                .bind(options.connections.max(1) as i32)
                .fetch_one(&mut *conn)
                .await?;
        job.part_lines = parts.into_iter().map(|n| n.max(0) as u64).collect();
    }
    let outcome = run_job(
        pool,
        &mut conn,
        path,
        options,
        &job,
        default_country,
        campaign_id,
        progress,
    )
    .await;
    let finish = match &outcome {
        Ok(_) if job.done => Ok(()),
        Ok(_) => sqlx::query("UPDATE import_jobs SET status = 'done', finished_at = now() WHERE id = $1").bind(job.id).execute(&mut *conn).await.map(drop),
        Err(e) => sqlx::query("UPDATE import_jobs SET status = 'failed', error = $2, finished_at = now() WHERE id = $1")
            .bind(job.id)
            .bind(e.to_string())
            .execute(&mut *conn)
            .await
            .map(drop),
    };
    let _ = sqlx::query("SELECT pg_advisory_unlock($1, $2::int)")
        .bind(JOB_LOCK_CLASS)
        .bind(job.id as i32)
        .execute(&mut *conn)
        .await;
    let (totals, error_report) = outcome?;
    finish?;
    Ok(ImportReport {
        job_id: job.id,
        already_imported: job.done,
        resumed_after_line: job.progress.lines_committed,
        totals,
        error_report,
        elapsed: started.elapsed(),
    })
}

struct Job {
    id: i64,
    done: bool,
    progress: Progress,
    /// Each part's committed line.
    part_lines: Vec<u64>,
}

async fn file_sha256(path: &Path) -> Result<String, ImportError> {
    let owned = path.to_path_buf();
    let read_error = |source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    };
    tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        let mut file = std::fs::File::open(&owned)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                return Ok(hex::encode(hasher.finalize()));
            }
            hasher.update(&buf[..n]);
        }
    })
    .await
    .map_err(|e| read_error(std::io::Error::other(e)))?
    .map_err(read_error)
}

/// Finds this file's job for the list, or starts one.
async fn open_job(
    conn: &mut PoolConnection<Postgres>,
    path: &Path,
    digest: &str,
    options: &ImportOptions,
) -> Result<Job, ImportError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let row: (i64, String, i64, i64, i64, i64, i64, i64, Vec<i64>) = sqlx::query_as(
        "INSERT INTO import_jobs (list_id, file_name, file_sha256, duplicates, created_by, part_lines)
         VALUES ($1, $2, $3, $4, $5, array_fill(0::bigint, ARRAY[$6::int]))
         ON CONFLICT (list_id, file_sha256) DO UPDATE
            SET status = CASE WHEN import_jobs.status = 'done' THEN 'done' ELSE 'running' END,
                error = CASE WHEN import_jobs.status = 'done' THEN import_jobs.error END
         RETURNING id, status, lines_committed, rows_inserted, rows_updated, rows_duplicate, rows_dnc, rows_rejected, part_lines",
    )
    .bind(options.list_id)
    .bind(name)
    .bind(digest)
    .bind(options.duplicates.as_str())
    .bind(options.created_by)
    .bind(options.connections.max(1) as i32)
    .fetch_one(&mut **conn)
    .await?;
    let count = |n: i64| n.max(0) as u64;
    Ok(Job {
        id: row.0,
        done: row.1 == "done",
        part_lines: row.8.into_iter().map(count).collect(),
        progress: Progress {
            lines_committed: count(row.2),
            inserted: count(row.3),
            updated: count(row.4),
            duplicate: count(row.5),
            dnc: count(row.6),
            rejected: count(row.7),
        },
    })
}

#[allow(clippy::too_many_arguments)]
async fn run_job(
    pool: &PgPool,
    conn: &mut PoolConnection<Postgres>,
    path: &Path,
    options: &ImportOptions,
    job: &Job,
    default_country: phonenumber::country::Id,
    campaign_id: Option<i64>,
    progress: Option<watch::Sender<Progress>>,
) -> Result<(Progress, Option<PathBuf>), ImportError> {
    if job.done {
        return Ok((job.progress.clone(), None));
    }
    // The job's own connection (it holds the job's lock) merges part 0; the pool lends the rest.
    let parts = job.part_lines.len();
    let mut lent = Vec::with_capacity(parts - 1);
    for _ in 1..parts {
        lent.push(pool.acquire().await?);
    }
    let mut conns: Vec<&mut PoolConnection<Postgres>> =
        std::iter::once(conn).chain(lent.iter_mut()).collect();
    for conn in &mut conns {
        create_stage(conn).await?;
    }

    let mut senders = Vec::with_capacity(parts);
    let mut receivers = Vec::with_capacity(parts);
    for _ in 0..parts {
        let (tx, rx) = mpsc::channel::<Batch>(2);
        senders.push(tx);
        receivers.push(rx);
    }
    let reader = {
        let (path, options, resume_after) =
            (path.to_path_buf(), options.clone(), job.part_lines.clone());
        tokio::task::spawn_blocking(move || {
            read_file(&path, &options, default_country, resume_after, senders)
        })
    };
    let merge_sql = merge_sql(options.duplicates);
    let target = Target {
        merge_sql: &merge_sql,
        job_id: job.id,
        list_id: options.list_id,
        campaign_id,
    };
    let tally = std::sync::Mutex::new(Tally {
        totals: job.progress.clone(),
        part_lines: job.part_lines.clone(),
    });
    let merges = conns
        .iter_mut()
        .zip(receivers)
        .enumerate()
        .map(|(part, (conn, mut rx))| {
            let (target, tally, progress) = (&target, &tally, progress.as_ref());
            async move {
                while let Some(batch) = rx.recv().await {
                    // An error drops this part's receiver, which stops the reader; the other parts
                    // commit what they were sent.
                    let counts = commit_batch_retrying(conn, target, part, &batch).await?;
                    let totals = tally
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .add(part, &batch, &counts);
                    if let Some(progress) = progress {
                        progress.send_replace(totals);
                    }
                }
                Ok::<_, sqlx::Error>(())
            }
        });
    let merged = futures::future::join_all(merges).await;
    let read = reader.await.map_err(|e| ImportError::Read {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    // Best effort: a connection that failed may be gone, and its error is the one to report.
    for conn in &mut conns {
        let _ = sqlx::query("DROP TABLE IF EXISTS import_stage")
            .execute(&mut ***conn)
            .await;
    }
    merged.into_iter().collect::<Result<Vec<()>, _>>()?;
    let report = read?;
    let totals = tally
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .totals;
    Ok((totals, report))
}

/// A connection's staging table, emptied by every commit.
async fn create_stage(conn: &mut PoolConnection<Postgres>) -> Result<(), sqlx::Error> {
    sqlx::query("DROP TABLE IF EXISTS import_stage")
        .execute(&mut **conn)
        .await?;
    sqlx::query(
        "CREATE TEMP TABLE import_stage (
            line_no bigint NOT NULL, phone text NOT NULL, alt_phone text, country text NOT NULL, time_zone text NOT NULL,
            state text, postal_code text, first_name text NOT NULL, last_name text NOT NULL, email text NOT NULL,
            address1 text NOT NULL, address2 text NOT NULL, city text NOT NULL, vendor_code text NOT NULL,
            source text NOT NULL, comments text NOT NULL, priority smallint NOT NULL, custom jsonb NOT NULL,
            dnc_status text
         ) ON COMMIT DELETE ROWS",
    )
    .execute(&mut **conn)
    .await?;
    Ok(())
}

/// The job's counts as its parts commit.
struct Tally {
    totals: Progress,
    part_lines: Vec<u64>,
}

impl Tally {
    fn add(&mut self, part: usize, batch: &Batch, counts: &BatchCounts) -> Progress {
        self.part_lines[part] = batch.last_line;
        let t = &mut self.totals;
        t.lines_committed = self.part_lines.iter().copied().min().unwrap_or_default();
        t.inserted += counts.inserted;
        t.updated += counts.updated;
        t.duplicate += counts.duplicate;
        t.dnc += counts.dnc;
        t.rejected += batch.rejected;
        t.clone()
    }
}

/// One statement that merges the staged batch into the list and counts what it did.
///
/// New numbers are found with an anti-join and inserted plainly: `INSERT ... ON CONFLICT`
/// costs four times as much per row (measured: 455 ms against 101 ms for 20,000 leads). A
/// concurrent import of the same number into the same list makes the plain insert fail with a
/// unique violation; [`commit_batch`]'s caller retries the batch, which then sees that lead.
fn merge_sql(duplicates: Duplicates) -> String {
    let (order, update) = match duplicates {
        // The first row for a number wins, and so does the lead already in the list.
        Duplicates::Skip => ("line_no", "SELECT NULL::bigint AS id WHERE false"),
        // The last row for a number wins, and refreshes what the lead has.
        Duplicates::Update => (
            "line_no DESC",
            "UPDATE leads l SET
                alt_phone_e164 = coalesce(p.alt_phone, l.alt_phone_e164),
                time_zone = p.time_zone,
                state = coalesce(p.state, l.state),
                postal_code = coalesce(p.postal_code, l.postal_code),
                first_name = coalesce(nullif(p.first_name, ''), l.first_name),
                last_name = coalesce(nullif(p.last_name, ''), l.last_name),
                email = coalesce(nullif(p.email, ''), l.email),
                address1 = coalesce(nullif(p.address1, ''), l.address1),
                address2 = coalesce(nullif(p.address2, ''), l.address2),
                city = coalesce(nullif(p.city, ''), l.city),
                vendor_code = coalesce(nullif(p.vendor_code, ''), l.vendor_code),
                source = coalesce(nullif(p.source, ''), l.source),
                comments = coalesce(nullif(p.comments, ''), l.comments),
                priority = p.priority,
                custom = l.custom || p.custom,
                updated_at = now()
             FROM picked p
             WHERE l.phone_e164 = p.phone AND l.list_id + 0 = $1
             RETURNING l.id",
        ),
    };
    format!(
        "WITH picked AS (
            SELECT DISTINCT ON (phone) * FROM import_stage ORDER BY phone, {order}
         ), updated AS (
            {update}
         ), inserted AS (
            INSERT INTO leads (list_id, status, phone_e164, alt_phone_e164, country, time_zone, state, postal_code,
                               first_name, last_name, email, address1, address2, city, vendor_code, source, comments,
                               priority, custom, next_attempt_at, import_job_id)
            SELECT $1, coalesce(dnc_status, 'NEW'), phone, alt_phone, country, time_zone, state, postal_code,
                   first_name, last_name, email, address1, address2, city, vendor_code, source, comments,
                   priority, custom, CASE WHEN dnc_status IS NULL THEN now() END, $2
            FROM picked p
            -- One probe of the number's index entries per staged row, whatever the statistics
            -- say: `+ 0` keeps the planner off the list index, OFFSET 0 keeps it a per-row probe.
            WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.phone_e164 = p.phone AND l.list_id + 0 = $1 OFFSET 0)
            RETURNING status, time_zone
         ), zones AS (
            UPDATE lists SET time_zones = ARRAY(
                SELECT DISTINCT z FROM unnest(time_zones || ARRAY(SELECT DISTINCT time_zone FROM inserted)) AS z ORDER BY z)
            WHERE id = $1 AND NOT (time_zones @> ARRAY(SELECT DISTINCT time_zone FROM inserted))
         )
         SELECT (SELECT count(*) FROM inserted),
                (SELECT count(*) FROM updated),
                (SELECT count(*) FROM inserted WHERE status IN ('DNCL', 'DNCC')),
                (SELECT count(*) FROM import_stage)"
    )
}

struct BatchCounts {
    inserted: u64,
    updated: u64,
    duplicate: u64,
    dnc: u64,
}

/// Attempts at one batch that lost a race with a concurrent import of the same numbers.
const BATCH_ATTEMPTS: usize = 3;

/// Where a job's batches go.
struct Target<'a> {
    merge_sql: &'a str,
    job_id: i64,
    list_id: i64,
    /// The list's campaign, whose DNC list also applies.
    campaign_id: Option<i64>,
}

async fn commit_batch_retrying(
    conn: &mut PoolConnection<Postgres>,
    target: &Target<'_>,
    part: usize,
    batch: &Batch,
) -> Result<BatchCounts, sqlx::Error> {
    let mut attempt = 1;
    let job_id = target.job_id;
    loop {
        match commit_batch(conn, target, part, batch).await {
            // 23505: another import inserted one of these numbers first; 40P01: deadlock with it.
            Err(sqlx::Error::Database(e))
                if attempt < BATCH_ATTEMPTS
                    && matches!(e.code().as_deref(), Some("23505" | "40P01")) =>
            {
                tracing::info!(job_id, attempt, "batch raced a concurrent import; retrying");
                attempt += 1;
            }
            other => return other,
        }
    }
}

async fn commit_batch(
    conn: &mut PoolConnection<Postgres>,
    target: &Target<'_>,
    part: usize,
    batch: &Batch,
) -> Result<BatchCounts, sqlx::Error> {
    let Target {
        merge_sql,
        job_id,
        list_id,
        campaign_id,
    } = *target;
    let mut tx = sqlx::Connection::begin(&mut **conn).await?;
    // The parts' transactions update the same list and job rows: under READ COMMITTED the
    // second waits and then sees the first's checkpoint, whatever the server's default level.
    sqlx::query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        .execute(&mut *tx)
        .await?;
    // The checkpoint commits with the rows: if the server loses the last commits in a crash it
    // loses both, and the next run redoes them. So waiting for the WAL flush buys nothing here.
    sqlx::query("SET LOCAL synchronous_commit = off")
        .execute(&mut *tx)
        .await?;
    // The leads table grows fast during an import, faster than its statistics: plan each batch
    // afresh rather than reuse a plan made when the list was empty.
    sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan")
        .execute(&mut *tx)
        .await?;
    // Compiling the merge costs more than it saves on batches of this size.
    sqlx::query("SET LOCAL jit = off").execute(&mut *tx).await?;
    let mut counts = BatchCounts {
        inserted: 0,
        updated: 0,
        duplicate: 0,
        dnc: 0,
    };
    if batch.staged > 0 {
        let mut copy = tx
            .copy_in_raw(&format!(
                "COPY import_stage ({}) FROM STDIN",
                rows::STAGE_COLUMNS
            ))
            .await?;
        copy.send(batch.copy.as_slice()).await?;
        copy.finish().await?;
        // DNC scrub: exact numbers through the index, then the (few) area-code wildcards.
        sqlx::query(
            "UPDATE import_stage s SET dnc_status = CASE WHEN d.campaign_id IS NULL THEN 'DNCL' ELSE 'DNCC' END
             FROM dnc_entries d
             WHERE d.value = s.phone AND (d.campaign_id IS NULL OR d.campaign_id = $1)",
        )
        .bind(campaign_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE import_stage s SET dnc_status = CASE WHEN d.campaign_id IS NULL THEN 'DNCL' ELSE 'DNCC' END
             FROM dnc_entries d
             WHERE d.kind = 'area_code' AND s.dnc_status IS NULL AND starts_with(s.phone, d.value)
               AND (d.campaign_id IS NULL OR d.campaign_id = $1)",
        )
        .bind(campaign_id)
        .execute(&mut *tx)
        .await?;
        let (inserted, updated, dnc, staged): (i64, i64, i64, i64) = sqlx::query_as(merge_sql)
            .bind(list_id)
            .bind(job_id)
            .fetch_one(&mut *tx)
            .await?;
        counts = BatchCounts {
            inserted: inserted as u64,
            updated: updated as u64,
            duplicate: (staged - inserted - updated).max(0) as u64,
            dnc: dnc as u64,
        };
    }
    // The row lock orders the parts' checkpoints: each reads the others' as they committed.
    sqlx::query(
        "UPDATE import_jobs SET part_lines[$8] = $2,
                lines_committed = least($2, (SELECT min(l) FROM unnest(part_lines) WITH ORDINALITY AS p(l, i) WHERE i <> $8)),
                rows_inserted = rows_inserted + $3, rows_updated = rows_updated + $4,
                rows_duplicate = rows_duplicate + $5, rows_dnc = rows_dnc + $6, rows_rejected = rows_rejected + $7
         WHERE id = $1",
    )
    .bind(job_id)
    .bind(batch.last_line as i64)
    .bind(counts.inserted as i64)
    .bind(counts.updated as i64)
    .bind(counts.duplicate as i64)
    .bind(counts.dnc as i64)
    .bind(batch.rejected as i64)
    .bind(part as i32 + 1)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(counts)
}

/// The blocking half: reads, checks and stages every record, sending each part the batches of
/// its lines after its checkpoint in `resume_after`. A rejected line belongs to part 0.
/// Returns the rejected-rows file, if any row was rejected.
fn read_file(
    path: &Path,
    options: &ImportOptions,
    default_country: phonenumber::country::Id,
    resume_after: Vec<u64>,
    parts: Vec<mpsc::Sender<Batch>>,
) -> Result<Option<PathBuf>, ImportError> {
    let read_error = |source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let (file, span) =
        record_span::RecordSpan::new(std::io::BufReader::with_capacity(1 << 16, file));
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(file);
    let headers = match reader.byte_headers() {
        Ok(h) if h.is_empty() || (h.len() == 1 && h[0].is_empty()) => {
            return Err(ImportError::Empty(path.to_path_buf()))
        }
        Ok(h) if h.as_slice().contains(&0) => return Err(ImportError::Utf16(path.to_path_buf())),
        Ok(h) => h.clone(),
        Err(e) => return Err(csv_error(1, e)),
    };
    let headers: Vec<String> = headers
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_string())
        .collect();
    let map = ColumnMap::new(headers.clone(), &options.mapping)?;
    let mut report = RejectReport::new(&options.error_report, &headers);
    let report_error = |source| ImportError::Report {
        path: options.error_report.clone(),
        source,
    };

    let mut phones = crate::phone::Normalizer::new(default_country);
    let mut record = csv::ByteRecord::new();
    let mut row = Vec::new();
    let empty = |part: usize| Batch {
        last_line: resume_after[part],
        copy: Vec::with_capacity(1 << 20),
        staged: 0,
        rejected: 0,
    };
    let mut batches: Vec<Batch> = (0..parts.len()).map(empty).collect();
    let (mut lines_in_batch, mut last_line) = (0usize, 0u64);
    loop {
        let at = reader.position().clone();
        span.record_starts(record_span::RecordStart {
            byte: at.byte(),
            line: at.line(),
        });
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                return Err(match span.tripped() {
                    Some(start) => ImportError::Csv {
                        line: start.line,
                        message: format!(
                            "a record begins here and runs on past {} MiB without ending: a quote left open? \
                             Rows committed before it are kept; mend the file and import it again to go on",
                            MAX_RECORD_SPAN >> 20
                        ),
                    },
                    None => csv_error(reader.position().line(), e),
                })
            }
        }
        let line = record
            .position()
            .map(|p| p.line())
            .unwrap_or_else(|| reader.position().line());
        last_line = line;
        row.clear();
        let verdict = if record.as_slice().len() > MAX_RECORD_BYTES {
            Err(format!(
                "the row is {} bytes, over the limit of {MAX_RECORD_BYTES}",
                record.as_slice().len()
            ))
        } else {
            rows::stage(&mut row, line, &record, &map, &mut phones).map_err(|reason| {
                let end = reader.position().line();
                if record.len() != map.headers.len() && end > line + 1 {
                    format!(
                        "{reason} (a quote left open joined lines {line} to {})",
                        end - 1
                    )
                } else {
                    reason
                }
            })
        };
        let part = verdict
            .as_deref()
            .map_or(0, |number| part_of(number, parts.len()));
        let counted = line > resume_after[part];
        match verdict {
            Ok(_) if counted => {
                batches[part].copy.extend_from_slice(&row);
                batches[part].staged += 1;
            }
            Ok(_) => {}
            Err(reason) => {
                // Every run writes the whole report; only the count is the checkpoint's.
                report
                    .reject(line, &reason, &record)
                    .map_err(report_error)?;
                if counted {
                    batches[part].rejected += 1;
                }
            }
        }
        if record.as_slice().len() > MAX_RECORD_BYTES {
            record = csv::ByteRecord::new(); // give back the oversized buffer
        }
        if counted {
            lines_in_batch += 1;
            if lines_in_batch >= options.batch_lines {
                if !send_all(&parts, &mut batches, line, &empty) {
                    return report.finish().map_err(report_error); // the database side stopped; it reports why
                }
                lines_in_batch = 0;
            }
        }
    }
    // Every part ends at the file's end, even one whose last rows were committed before.
    let last = last_line.max(reader.position().line().saturating_sub(1));
    send_all(&parts, &mut batches, last, &empty);
    report.finish().map_err(report_error)
}

/// Sends every part its batch, as committed up to `line`; false when a part has stopped.
fn send_all(
    parts: &[mpsc::Sender<Batch>],
    batches: &mut [Batch],
    line: u64,
    empty: &dyn Fn(usize) -> Batch,
) -> bool {
    for (part, (sender, batch)) in parts.iter().zip(batches.iter_mut()).enumerate() {
        let mut full = std::mem::replace(batch, empty(part));
        // A part resumed ahead of this line keeps its checkpoint.
        full.last_line = full.last_line.max(line);
        batch.last_line = full.last_line;
        if sender.blocking_send(full).is_err() {
            return false;
        }
    }
    true
}

fn csv_error(line: u64, e: csv::Error) -> ImportError {
    ImportError::Csv {
        line,
        message: e.to_string(),
    }
}
