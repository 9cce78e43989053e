//! `dialtone agi`: the FastAGI server with Dialtone's call flows, plus `/metrics` and `/healthz`.
//! Runs until SIGINT or SIGTERM, then stops accepting and lets calls in progress finish.

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use dialtone_asterisk::agi::{serve, ServerConfig};
use dialtone_core::bus::Bus;
use dialtone_core::config::Config;
use dialtone_core::telemetry::{self, HealthCheck};
use dialtone_fastagi::FlowContext;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

#[derive(Args)]
pub struct AgiArgs {
    /// FastAGI sessions served at once.
    #[arg(long, default_value_t = 10_000)]
    pub max_sessions: usize,
    /// Seconds to let running calls finish on shutdown.
    #[arg(long, default_value_t = 30)]
    pub drain_secs: u64,
}

/// Healthy while the database answers.
struct Database(PgPool);

impl HealthCheck for Database {
    async fn check(&self) -> Result<(), String> {
        sqlx::query("SELECT 1").execute(&self.0).await.map(drop).map_err(|e| format!("database: {e}"))
    }
}

pub async fn run(config: &Config, args: AgiArgs) -> anyhow::Result<()> {
    let allow = config
        .listen
        .agi_allow
        .iter()
        .map(|net| net.parse().with_context(|| format!("listen.agi_allow: '{net}' is not an address range such as 10.0.0.0/8")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let pool = dialtone_core::db::connect(&config.database_url, 32).await?;
    dialtone_core::db::migrate(&pool).await?;
    let bus = Bus::from_config(config.redis_url.as_ref()).await.context("connecting to Redis (redis_url)")?;
    let shutdown = CancellationToken::new();

    let metrics = telemetry::install_metrics()?;
    let ops = telemetry::ops_router(metrics, Database(pool.clone()));
    let ops_server = tokio::spawn(telemetry::serve_ops(config.listen.metrics, ops, shutdown.clone().cancelled_owned()));

    let listener = tokio::net::TcpListener::bind(config.listen.agi).await.with_context(|| format!("listening on {} (listen.agi)", config.listen.agi))?;
    tracing::info!(addr = %config.listen.agi, node = %config.node, "FastAGI server ready");
    let ctx = FlowContext {
        pool,
        bus,
        node: config.node.clone(),
        recordings_dir: config.recordings_dir.clone(),
        agent_poll: Duration::from_millis(50),
    };
    let server_config = ServerConfig { max_sessions: args.max_sessions, allow, drain_timeout: Duration::from_secs(args.drain_secs), ..ServerConfig::default() };
    let server = tokio::spawn(serve(listener, dialtone_fastagi::router(ctx), server_config, shutdown.clone()));

    shutdown_signal().await;
    tracing::info!("shutting down");
    shutdown.cancel();
    let left = server.await.context("FastAGI server task")?;
    if left > 0 {
        tracing::warn!(sessions = left, "calls still running at exit");
    }
    ops_server.await.context("ops server task")??;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {},
                    _ = terminate.recv() => {},
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
