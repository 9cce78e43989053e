//! `dialtone agi`: the FastAGI server with Dialtone's call flows, plus `/metrics` and `/healthz`.
//! `dialtone serve`: the same, with the AMI link and the dialer loop of every active campaign.
//! Both run until SIGINT or SIGTERM, then stop accepting and let calls in progress finish.

use std::time::Duration;

use anyhow::Context;
use clap::Args;

use dialtone_asterisk::agi::{self, ServerConfig};
use dialtone_asterisk::ami::{AmiClient, AmiConfig, Auth, Link};
use dialtone_core::bus::Bus;
use dialtone_core::config::Config;
use dialtone_core::telemetry::{self, HealthCheck};
use dialtone_fastagi::{node, FlowContext};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub agi: AgiArgs,
    /// Seconds between looks for campaigns activated or stopped.
    #[arg(long, default_value_t = 5)]
    pub campaign_scan_secs: u64,
}

#[derive(Args)]
pub struct AgiArgs {
    /// FastAGI sessions served at once.
    #[arg(long, default_value_t = 10_000)]
    pub max_sessions: usize,
    /// Seconds to let running calls finish on shutdown.
    #[arg(long, default_value_t = 30)]
    pub drain_secs: u64,
}

/// Healthy while the database answers and, when there is one, the AMI link is up.
pub(super) struct Health {
    pub pool: PgPool,
    /// The AMI link, in a process that has one.
    pub ami: Option<tokio::sync::watch::Receiver<Link>>,
}

impl HealthCheck for Health {
    async fn check(&self) -> Result<(), String> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(|e| format!("database: {e}"))?;
        match self.ami.as_ref().map(|l| l.borrow().clone()) {
            None | Some(Link::Up { .. }) => Ok(()),
            Some(Link::Connecting) => Err("AMI: connecting".into()),
            Some(Link::Down { reason }) => Err(format!("AMI: {reason}")),
        }
    }
}

pub async fn run(config: &Config, args: AgiArgs) -> anyhow::Result<()> {
    run_node(config, args, None).await
}

pub async fn serve(config: &Config, args: ServeArgs) -> anyhow::Result<()> {
    run_node(
        config,
        args.agi,
        Some(Duration::from_secs(args.campaign_scan_secs.max(1))),
    )
    .await
}

/// The node: FastAGI always; with `campaign_scan`, also the AMI link and the dialer loops.
async fn run_node(
    config: &Config,
    args: AgiArgs,
    campaign_scan: Option<Duration>,
) -> anyhow::Result<()> {
    let allow = super::address_ranges("listen.agi_allow", &config.listen.agi_allow)?;
    let pool = dialtone_core::db::connect(&config.database_url, 32).await?;
    dialtone_core::db::migrate(&pool).await?;
    let bus = Bus::from_config(config.redis_url.as_ref())
        .await
        .context("connecting to Redis (redis_url)")?;
    let shutdown = CancellationToken::new();

    let ami = campaign_scan.map(|_| {
        let mut ami = AmiConfig::new(
            format!("{}:{}", config.ami.host, config.ami.port),
            &config.ami.username,
            config.ami.secret.expose(),
        );
        ami.auth = Auth::Md5;
        AmiClient::start(ami)
    });
    let metrics = telemetry::install_metrics()?;
    let ops = telemetry::ops_router(
        metrics,
        Health {
            pool: pool.clone(),
            ami: ami.as_ref().map(|a| a.link()),
        },
    );
    let ops_server = tokio::spawn(telemetry::serve_ops(
        config.listen.metrics,
        ops,
        shutdown.clone().cancelled_owned(),
    ));

    let listener = tokio::net::TcpListener::bind(config.listen.agi)
        .await
        .with_context(|| format!("listening on {} (listen.agi)", config.listen.agi))?;
    tracing::info!(addr = %config.listen.agi, node = %config.node, "FastAGI server ready");
    let server_config = ServerConfig {
        max_sessions: args.max_sessions,
        allow,
        drain_timeout: Duration::from_secs(args.drain_secs),
        ..ServerConfig::default()
    };
    let server = match (ami, campaign_scan) {
        (Some(ami), Some(scan)) => {
            let settings = node::Settings {
                campaign_scan: scan,
                server: server_config,
                ..node::Settings::new(&config.node, &config.recordings_dir)
            };
            node::start(
                pool.clone(),
                bus.clone(),
                ami,
                listener,
                settings,
                shutdown.clone(),
            )
            .server
        }
        // `dialtone agi`: the call flows alone.
        _ => {
            let flows = FlowContext {
                pool: pool.clone(),
                node: config.node.clone(),
                recordings_dir: config.recordings_dir.clone(),
                agent_poll: node::Settings::new(&config.node, &config.recordings_dir).agent_poll,
                ami: None,
            };
            tokio::spawn(agi::serve(
                listener,
                dialtone_fastagi::router(flows),
                server_config,
                shutdown.clone(),
            ))
        }
    };
    // The all-in-one node also serves the web admin.
    let web = campaign_scan.map(|_| {
        tokio::spawn({
            let (config, pool, shutdown) = (config.clone(), pool.clone(), shutdown.clone());
            async move { super::web::serve_admin(&config, pool, bus, shutdown).await }
        })
    });

    shutdown_signal().await;
    tracing::info!("shutting down");
    shutdown.cancel();
    let left = server.await.context("FastAGI server task")?;
    if left > 0 {
        tracing::warn!(sessions = left, "calls still running at exit");
    }
    ops_server.await.context("ops server task")??;
    if let Some(web) = web {
        web.await.context("web task")??;
    }
    Ok(())
}

pub async fn shutdown_signal() {
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
