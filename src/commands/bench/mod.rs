//! `dialtone bench ...`: measurements that print their numbers. None of them asserts a target:
//! they report, and `docs/benchmarks.md` keeps what they reported.

mod agi;
mod import;
mod pacing;
mod web;
mod ws;

use anyhow::Context;
use clap::Subcommand;
use dialtone_core::config::{Config, Secret};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Executor, PgPool};

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
        /// Lines per round of commits (each connection commits its share in one transaction).
        #[arg(long, default_value_t = dialtone_core::import::DEFAULT_BATCH_LINES)]
        batch_lines: usize,
        /// Connections merging at once.
        #[arg(long, default_value_t = dialtone_core::import::DEFAULT_CONNECTIONS)]
        connections: usize,
    },
    /// Play Asterisk against the FastAGI server over loopback, then time the outbound routing
    /// decision against PostgreSQL with many logged-in agents.
    Agi(agi::AgiArgs),
    /// Pacing strategies side by side on seeded simulated shifts (no database needed).
    Pacing(pacing::PacingArgs),
    /// Server render time of every admin page with a million leads, and the bundle's size.
    Web(web::WebArgs),
    /// 1,000 agent pages on a real `dialtone web`: how fast an event reaches every one, and
    /// the server's memory.
    Ws(ws::WsArgs),
    /// The server half of `bench agi`, run as a child process so its CPU and memory are its own.
    #[command(hide = true)]
    AgiServer,
}

pub async fn run(config: &Config, command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Import {
            rows,
            next_leads_rows,
            keep,
            batch_lines,
            connections,
        } => {
            import::run(
                config,
                import::Sizes {
                    rows,
                    next_leads_rows,
                    batch_lines,
                    connections,
                },
                keep,
            )
            .await
        }
        BenchCommand::Agi(args) => agi::run(config, args).await,
        BenchCommand::AgiServer => agi::serve_child().await,
        BenchCommand::Web(args) => web::run(config, args).await,
        BenchCommand::Ws(args) => ws::run(config, args).await,
        BenchCommand::Pacing(args) => tokio::task::block_in_place(|| pacing::run(args)),
    }
}

/// A field of `/proc/<pid>/status` (VmRSS, VmHWM...), in KiB.
fn proc_status_kib(pid: &str, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Peak resident memory of this process so far (VmHWM), in MiB.
fn peak_rss_mib() -> Option<f64> {
    proc_status_kib("self", "VmHWM:").map(|kib| kib / 1024.0)
}

/// A new empty database on the configured server, migrated.
async fn fresh_database(
    config: &Config,
    connections: u32,
) -> anyhow::Result<(PgPool, PgConnectOptions, String)> {
    let base: PgConnectOptions = config
        .database_url
        .expose()
        .parse()
        .context("DATABASE_URL")?;
    let name = format!("dialtone_bench_{}", std::process::id());
    let admin = PgPool::connect_with(base.clone().database("postgres"))
        .await
        .context("connecting to the server's postgres database")?;
    admin
        .execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
        .await?;
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    admin.close().await;
    let pool = dialtone_core::db::connect(&database_url(&config.database_url, &name)?, connections)
        .await?;
    dialtone_core::db::migrate(&pool).await?;
    Ok((pool, base, name))
}

/// `DATABASE_URL` naming database `name` instead, with its user, password and options kept
/// (a child process gets it as its own `DATABASE_URL`).
fn database_url(base: &Secret, name: &str) -> anyhow::Result<Secret> {
    // The URL is not shown in the error: it may carry a password.
    let mut url = url::Url::parse(base.expose())
        .map_err(|e| anyhow::anyhow!("DATABASE_URL is not a valid URL: {e}"))?;
    url.set_path(&format!("/{name}"));
    Ok(Secret::new(url.to_string()))
}

async fn drop_database(base: &PgConnectOptions, name: &str) -> anyhow::Result<()> {
    let admin = PgPool::connect_with(base.clone().database("postgres")).await?;
    admin
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_benchmark_database_keeps_the_password_and_options() {
        let base = Secret::new("postgres://dial:s%40cret@db.example:6432/dialtone?sslmode=require");
        let url = database_url(&base, "dialtone_bench_7").expect("url");
        assert_eq!(
            url.expose(),
            "postgres://dial:s%40cret@db.example:6432/dialtone_bench_7?sslmode=require"
        );
    }
}
