//! `dialtone bench ...`: measurements that print their numbers.

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Subcommand;
use dialtone_core::config::{Config, Secret};
use dialtone_core::import::{self, ImportOptions};
use dialtone_core::leads::{self, DueQuery};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Executor, PgPool};

use super::sample_leads;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Import a generated CSV into a fresh database, then time the next-leads query on a large table.
    Import {
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        /// Leads in the table the next-leads query runs on (0 skips it).
        #[arg(long, default_value_t = 10_000_000)]
        next_leads_rows: i64,
        /// Keep the benchmark database afterwards.
        #[arg(long)]
        keep: bool,
    },
}

pub async fn run(config: &Config, command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Import { rows, next_leads_rows, keep } => bench_import(config, rows, next_leads_rows, keep).await,
    }
}

/// Peak resident memory of this process so far (VmHWM), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// A new empty database on the configured server, migrated.
async fn fresh_database(config: &Config) -> anyhow::Result<(PgPool, PgConnectOptions, String)> {
    let base: PgConnectOptions = config.database_url.expose().parse().context("DATABASE_URL")?;
    let name = format!("dialtone_bench_{}", std::process::id());
    let admin = PgPool::connect_with(base.clone().database("postgres")).await.context("connecting to the server's postgres database")?;
    admin.execute(format!("DROP DATABASE IF EXISTS {name}").as_str()).await?;
    admin.execute(format!("CREATE DATABASE {name}").as_str()).await?;
    admin.close().await;
    let pool = dialtone_core::db::connect(&Secret::new(database_url(&base, &name)), 4).await?;
    dialtone_core::db::migrate(&pool).await?;
    Ok((pool, base, name))
}

fn database_url(base: &PgConnectOptions, name: &str) -> String {
    format!("postgres://{}@{}:{}/{name}", base.get_username(), base.get_host(), base.get_port())
}

async fn drop_database(base: &PgConnectOptions, name: &str) -> anyhow::Result<()> {
    let admin = PgPool::connect_with(base.clone().database("postgres")).await?;
    admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await?;
    Ok(())
}

async fn bench_import(config: &Config, rows: usize, next_leads_rows: i64, keep: bool) -> anyhow::Result<()> {
    let (pool, base, name) = fresh_database(config).await?;
    println!("database {name} on {}:{}", base.get_host(), base.get_port());
    let dir = tempfile::tempdir()?;
    let csv_path = dir.path().join("leads.csv");
    let started = Instant::now();
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&csv_path)?);
        sample_leads::write(&mut out, rows, 42, 5)?;
        std::io::Write::flush(&mut out)?;
    }
    let size = std::fs::metadata(&csv_path)?.len();
    println!("generated {rows} rows ({:.1} MiB) in {:.1} s", size as f64 / 1048576.0, started.elapsed().as_secs_f64());

    let list = dialtone_core::lists::create(&pool, "bench", None, "US").await?;
    let options = ImportOptions::new(list, dir.path().join("errors.csv"));
    let rss_before = peak_rss_mib().unwrap_or(0.0);
    let report = import::import_csv(&pool, &csv_path, &options, None).await?;
    let secs = report.elapsed.as_secs_f64();
    let t = &report.totals;
    println!("import: {} lines in {secs:.2} s = {:.0} rows/s", t.lines_committed, t.lines_committed as f64 / secs);
    println!("        inserted {} duplicates {} rejected {} on DNC {}", t.inserted, t.duplicate, t.rejected, t.dnc);
    println!(
        "peak RSS of this process: {:.1} MiB (before the import: {rss_before:.1} MiB; PostgreSQL's own memory is not counted)",
        peak_rss_mib().unwrap_or(0.0)
    );

    if next_leads_rows > 0 {
        bench_next_leads(&pool, next_leads_rows).await?;
    }
    pool.close().await;
    if keep {
        println!("kept database {name}");
    } else {
        drop_database(&base, &name).await?;
    }
    Ok(())
}

const ZONES: &[&str] =
    &["America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu"];

async fn bench_next_leads(pool: &PgPool, total: i64) -> anyhow::Result<()> {
    let lists = 10i64;
    let started = Instant::now();
    let mut list_ids = Vec::new();
    for i in 0..lists {
        list_ids.push(dialtone_core::lists::create(pool, &format!("next-leads {i}"), None, "US").await?);
    }
    // The fixture is built without the leads indexes, which are then made in one pass each,
    // exactly as the migrations defined them.
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT indexname::text, indexdef FROM pg_indexes WHERE tablename = 'leads' AND indexname <> 'leads_pkey'",
    )
    .fetch_all(pool)
    .await?;
    for (index, _) in &indexes {
        pool.execute(format!("DROP INDEX {index}").as_str()).await?;
    }
    let zones: Vec<String> = ZONES.iter().map(|z| z.to_string()).collect();
    sqlx::query(
        "INSERT INTO leads (list_id, status, phone_e164, country, time_zone, state, attempt_count, next_attempt_at, priority)
         SELECT ($1::bigint[])[1 + g % $3],
                (ARRAY['NEW','NEW','NEW','NEW','NEW','NEW','NA','NA','B','SALE'])[1 + (g / 7) % 10],
                '+1' || (2000000000 + g)::text, 'US',
                ($2::text[])[1 + (g / 3) % cardinality($2::text[])],
                (ARRAY['NY','FL','TX','CA','IL','OK','WA','GA','AZ','CO'])[1 + (g / 11) % 10],
                (g / 13) % 6,
                CASE WHEN (g / 7) % 10 = 9 THEN NULL
                     WHEN g % 10 < 7 THEN now() - ((g % 864000) * interval '1 second')
                     ELSE now() + ((g % 864000) * interval '1 second') END,
                (CASE WHEN g % 100 = 0 THEN 10 ELSE 0 END)::smallint
         FROM generate_series(0, $4 - 1) g",
    )
    .bind(&list_ids)
    .bind(&zones)
    .bind(lists)
    .bind(total)
    .execute(pool)
    .await?;
    let inserted = started.elapsed();
    for (_, definition) in &indexes {
        pool.execute(definition.as_str()).await?;
    }
    pool.execute("VACUUM ANALYZE leads").await?;
    println!(
        "next-leads fixture: {total} leads in {lists} lists built in {:.1} s (indexes and analyze {:.1} s)",
        inserted.as_secs_f64(),
        (started.elapsed() - inserted).as_secs_f64()
    );

    let statuses: Vec<String> = ["NEW", "NA", "B"].map(String::from).to_vec();
    let open: Vec<String> = zones[..4].to_vec();
    let closed = vec!["FL".to_string()];
    let chosen = &list_ids[..5];
    for limit in [100i64, 1000] {
        let query = DueQuery {
            list_ids: chosen,
            statuses: &statuses,
            open_zones: &open,
            closed_states: &closed,
            max_attempts: 5,
            now: chrono::Utc::now(),
            limit,
        };
        let mut times: Vec<Duration> = Vec::new();
        let mut found = 0;
        for _ in 0..21 {
            let t = Instant::now();
            found = leads::next_due(pool, &query).await?.len();
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "next-leads query over {total} leads (5 lists x 3 statuses x 4 open zones, FL closed), limit {limit}: \
             {found} leads, median {:.2} ms, max {:.2} ms (21 runs)",
            times[times.len() / 2].as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3
        );
    }
    let plan: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN (ANALYZE, BUFFERS) {}", leads::NEXT_DUE_SQL))
        .bind(chosen)
        .bind(&statuses)
        .bind(&open)
        .bind(chrono::Utc::now())
        .bind(5i32)
        .bind(&closed)
        .bind(1000i64)
        .fetch_all(pool)
        .await?;
    let scans: Vec<&String> = plan.iter().filter(|l| l.contains("Scan") && l.contains("leads")).collect();
    println!("plan: {}", scans.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" | "));
    if plan.iter().any(|l| l.contains("Seq Scan on leads")) {
        println!("WARNING: the plan scans the leads table");
    }
    Ok(())
}
