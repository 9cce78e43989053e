//! `dialtone bench import`: lead import speed and memory, and the next-leads query on a big table.

use std::time::{Duration, Instant};

use dialtone_core::config::Config;
use dialtone_core::import::{self, ImportOptions};
use dialtone_core::leads::{self, DueQuery};
use sqlx::{Executor, PgPool};

use super::{drop_database, fresh_database, peak_rss_mib};
use crate::commands::sample_leads;

/// What to generate and how to import it.
pub struct Sizes {
    pub rows: usize,
    pub next_leads_rows: i64,
    pub batch_lines: usize,
    pub connections: usize,
}

pub async fn run(config: &Config, sizes: Sizes, keep: bool) -> anyhow::Result<()> {
    let Sizes {
        rows,
        next_leads_rows,
        batch_lines,
        connections,
    } = sizes;
    let (pool, base, name) = fresh_database(config, connections as u32 + 2).await?;
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
    println!(
        "generated {rows} rows ({:.1} MiB) in {:.1} s",
        size as f64 / 1048576.0,
        started.elapsed().as_secs_f64()
    );

    let list = dialtone_core::lists::create(&pool, "bench", None, "US").await?;
    let options = ImportOptions {
        batch_lines,
        connections,
        ..ImportOptions::new(list, dir.path().join("errors.csv"))
    };
    let rss_before = peak_rss_mib().unwrap_or(0.0);
    let report = import::import_csv(&pool, &csv_path, &options, None).await?;
    let secs = report.elapsed.as_secs_f64();
    let t = &report.totals;
    println!(
        "import: {} lines in {secs:.2} s = {:.0} rows/s ({connections} connections, {batch_lines} lines a batch)",
        t.lines_committed,
        t.lines_committed as f64 / secs
    );
    println!(
        "        inserted {} duplicates {} rejected {} on DNC {}",
        t.inserted, t.duplicate, t.rejected, t.dnc
    );
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

const ZONES: &[&str] = &[
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
];

async fn bench_next_leads(pool: &PgPool, total: i64) -> anyhow::Result<()> {
    let lists = 10i64;
    let started = Instant::now();
    let mut list_ids = Vec::new();
    for i in 0..lists {
        list_ids.push(
            dialtone_core::lists::create(pool, &format!("next-leads {i}"), None, "US").await?,
        );
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
    let plan: Vec<String> = sqlx::query_scalar(&format!(
        "EXPLAIN (ANALYZE, BUFFERS) {}",
        leads::NEXT_DUE_SQL
    ))
    .bind(chosen)
    .bind(&statuses)
    .bind(&open)
    .bind(chrono::Utc::now())
    .bind(5i32)
    .bind(&closed)
    .bind(1000i64)
    .fetch_all(pool)
    .await?;
    let scans: Vec<&String> = plan
        .iter()
        .filter(|l| l.contains("Scan") && l.contains("leads"))
        .collect();
    println!(
        "plan: {}",
        scans
            .iter()
            .map(|l| l.trim())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    if plan.iter().any(|l| l.contains("Seq Scan on leads")) {
        println!("WARNING: the plan scans the leads table");
    }
    Ok(())
}
