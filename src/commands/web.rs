//! `dialtone web`: the web admin (pages, server functions, uploads, JSON API), plus `/metrics`
//! and `/healthz`. `dialtone serve` runs the same router beside the node.

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use dialtone_admin::server::listen::{self, ListenOptions};
use dialtone_admin::server::{router, AppState, WebConfig};
use dialtone_core::bus::Bus;
use dialtone_core::config::Config;
use dialtone_core::telemetry;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

#[derive(Args)]
pub struct WebArgs {}

/// The admin's router for this configuration. Warns when the browser bundle is missing: the
/// pages still render (and work without JavaScript for reading), but do not hydrate.
pub fn admin(config: &Config, pool: PgPool, bus: Bus) -> anyhow::Result<axum::Router> {
    let site_root = config.web.site_root.clone();
    if !site_root.join("pkg").join("admin_bg.wasm").exists() {
        tracing::warn!(site_root = %site_root.display(), "the admin's browser bundle is missing: run scripts/build-admin");
    }
    let trusted_proxies =
        super::address_ranges("web.trusted_proxies", &config.web.trusted_proxies)?;
    let web = WebConfig {
        site_root,
        upload_dir: config.data_dir.join("uploads"),
        recordings_dir: config.recordings_dir.clone(),
        max_upload_bytes: usize::try_from(config.web.max_upload_mb)
            .unwrap_or(200)
            .saturating_mul(1024 * 1024),
        secure_cookies: config.web.public_url.starts_with("https://"),
    };
    Ok(router(
        AppState::new(pool, &web)
            .with_bus(bus, &config.node)
            .with_trusted_proxies(trusted_proxies),
    ))
}

/// Serves the admin on `listen.web` until `shutdown` is cancelled.
pub async fn serve_admin(
    config: &Config,
    pool: PgPool,
    bus: Bus,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let app = admin(config, pool, bus)?;
    let listener = tokio::net::TcpListener::bind(config.listen.web)
        .await
        .with_context(|| format!("listening on {} (listen.web)", config.listen.web))?;
    tracing::info!(addr = %config.listen.web, url = %config.web.public_url, "web admin ready");
    let options = ListenOptions {
        header_read_timeout: Duration::from_secs(config.web.header_read_timeout_secs.max(1)),
        max_connections: config.web.max_connections.max(1),
        ..ListenOptions::default()
    };
    listen::serve(listener, app, options, shutdown.cancelled_owned())
        .await
        .context("web server")
}

pub async fn run(config: &Config, _args: WebArgs) -> anyhow::Result<()> {
    let pool = dialtone_core::db::connect(&config.database_url, 16).await?;
    dialtone_core::db::migrate(&pool).await?;
    // With Redis, agents' actions reach the node named `node` wherever it runs, and several
    // web nodes hear each other's news.
    let bus = Bus::from_config(config.redis_url.as_ref())
        .await
        .context("connecting to Redis (redis_url)")?;
    let shutdown = CancellationToken::new();
    let metrics = telemetry::install_metrics()?;
    let ops = telemetry::ops_router(
        metrics,
        super::node::Health {
            pool: pool.clone(),
            ami: None,
        },
    );
    let ops_server = tokio::spawn(telemetry::serve_ops(
        config.listen.metrics,
        ops,
        shutdown.clone().cancelled_owned(),
    ));
    let web = tokio::spawn({
        let (config, pool, shutdown) = (config.clone(), pool.clone(), shutdown.clone());
        async move { serve_admin(&config, pool, bus, shutdown).await }
    });
    super::node::shutdown_signal().await;
    shutdown.cancel();
    web.await.context("web task")??;
    ops_server.await.context("ops task")??;
    Ok(())
}
