//! Logs, metrics and health for every Dialtone process.
//!
//! Long-running processes call [`init_logging`] once, install the Prometheus recorder with
//! [`install_metrics`] and serve [`ops_router`] on the configured metrics address.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Sets the global `tracing` subscriber. `RUST_LOG`, when set, wins over `filter`.
pub fn init_logging(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter));
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour);
    // A second init (tests, embedded use) keeps the first subscriber.
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// The variable that shows a test's log: a filter such as `debug` or `dialtone_admin=trace`.
pub const TEST_LOG: &str = "DIALTONE_TEST_LOG";

/// A test binary's log, on demand: with [`TEST_LOG`] set, through the test harness's capture,
/// so a failing test shows its own log (every test's with `--nocapture`); nothing otherwise.
/// Test harnesses call it as they set a test up; the first call wins.
pub fn test_logging() {
    let Ok(filter) = std::env::var(TEST_LOG) else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_test_writer()
        .try_init();
}

/// The `RUST_LOG` of a process a test starts: [`TEST_LOG`] when set, else `quiet`.
pub fn test_child_log(quiet: &str) -> String {
    std::env::var(TEST_LOG).unwrap_or_else(|_| quiet.to_string())
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("cannot install the metrics recorder: {0}")]
    Recorder(#[from] metrics_exporter_prometheus::BuildError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("ops server failed: {0}")]
    Serve(std::io::Error),
}

/// Installs the process-wide Prometheus recorder; the handle renders `/metrics`.
pub fn install_metrics() -> Result<PrometheusHandle, TelemetryError> {
    Ok(PrometheusBuilder::new().install_recorder()?)
}

/// Answers whether the process can do its work right now (database reachable, links up...).
pub trait HealthCheck: Send + Sync + 'static {
    fn check(&self) -> impl Future<Output = Result<(), String>> + Send;
}

struct Ops<H> {
    metrics: PrometheusHandle,
    health: H,
}

/// `/metrics` (Prometheus text format) and `/healthz` (200 "ok", or 503 with the reason).
pub fn ops_router<H: HealthCheck>(metrics: PrometheusHandle, health: H) -> Router {
    Router::new()
        .route("/metrics", get(render_metrics::<H>))
        .route("/healthz", get(render_health::<H>))
        .with_state(Arc::new(Ops { metrics, health }))
}

async fn render_metrics<H: HealthCheck>(State(ops): State<Arc<Ops<H>>>) -> impl IntoResponse {
    ops.metrics.render()
}

async fn render_health<H: HealthCheck>(State(ops): State<Arc<Ops<H>>>) -> impl IntoResponse {
    match ops.health.check().await {
        Ok(()) => (StatusCode::OK, "ok".to_string()),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, reason),
    }
}

/// Serves the ops router until `shutdown` resolves.
pub async fn serve_ops(
    addr: SocketAddr,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), TelemetryError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| TelemetryError::Bind { addr, source })?;
    tracing::info!(%addr, "serving /metrics and /healthz");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(TelemetryError::Serve)
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_exporter_prometheus::PrometheusBuilder;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    struct Down;
    impl HealthCheck for Down {
        async fn check(&self) -> Result<(), String> {
            Err("database unreachable".into())
        }
    }

    async fn get(addr: SocketAddr, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr)
            .await
            .expect("connects");
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("writes");
        let mut body = String::new();
        stream.read_to_string(&mut body).await.expect("reads");
        body
    }

    #[tokio::test]
    async fn serves_metrics_and_failing_health() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            metrics::counter!("dialtone_test_total").increment(3)
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, ops_router(handle, Down)).await });

        let metrics = get(addr, "/metrics").await;
        assert!(metrics.contains("dialtone_test_total 3"), "{metrics}");
        let health = get(addr, "/healthz").await;
        assert!(health.starts_with("HTTP/1.1 503"), "{health}");
        assert!(health.contains("database unreachable"), "{health}");
    }
}
