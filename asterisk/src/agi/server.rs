//! The FastAGI server: accepts Asterisk's connections, checks the peer against an allow-list
//! (AGI has no authentication), routes each session by its script path, bounds how many run at
//! once, and on shutdown stops accepting and lets the running sessions finish.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use ipnet::IpNet;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::session::{AgiError, AgiSession, Timeouts};

/// The session a handler receives.
pub type TcpSession = AgiSession<TcpStream>;

type BoxHandler = Arc<dyn Fn(TcpSession) -> BoxFuture<'static, Result<(), AgiError>> + Send + Sync>;

/// Script paths (`outbound` in `agi://host/outbound?campaign=7`) to handlers.
#[derive(Clone, Default)]
pub struct Router {
    routes: HashMap<String, BoxHandler>,
}

impl Router {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends sessions whose script path is `path` to `handler`.
    pub fn route<F, Fut>(mut self, path: &str, handler: F) -> Self
    where
        F: Fn(TcpSession) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), AgiError>> + Send + 'static,
    {
        self.routes.insert(
            path.trim_matches('/').to_string(),
            Arc::new(move |s| handler(s).boxed()),
        );
        self
    }

    /// The metrics label of a script path: the route's own path, or `unknown` for any path no
    /// route serves. Whoever may reach the port can send any path; labelled as sent, each
    /// would be a new series kept forever (distinct paths grew `/metrics` to megabytes).
    pub fn metric_label<'a>(&'a self, script_path: &str) -> &'a str {
        self.routes
            .get_key_value(script_path)
            .map_or(UNKNOWN_ROUTE, |(path, _)| path.as_str())
    }
}

/// The label of sessions whose script path no route serves.
pub const UNKNOWN_ROUTE: &str = "unknown";

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Sessions served at once; a connection beyond them is closed at once (Asterisk's AGI()
    /// then returns and the dialplan goes on), which is better than a call waiting unseen.
    pub max_sessions: usize,
    /// Peers allowed to connect.
    pub allow: Vec<IpNet>,
    /// How long Asterisk has to send the environment block.
    pub env_timeout: Duration,
    /// How long each command waits for its reply.
    pub timeouts: Timeouts,
    /// How long shutdown waits for running sessions.
    pub drain_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_sessions: 10_000,
            allow: vec![
                IpNet::V4(ipnet::Ipv4Net::new_assert(
                    std::net::Ipv4Addr::new(127, 0, 0, 0),
                    8,
                )),
                IpNet::V6(ipnet::Ipv6Net::new_assert(
                    std::net::Ipv6Addr::LOCALHOST,
                    128,
                )),
            ],
            env_timeout: Duration::from_secs(5),
            timeouts: Timeouts::default(),
            drain_timeout: Duration::from_secs(30),
        }
    }
}

fn allowed(allow: &[IpNet], ip: IpAddr) -> bool {
    let ip = ip.to_canonical();
    allow.iter().any(|net| net.contains(&ip))
}

/// Serves until `shutdown` is cancelled, then waits up to the drain timeout for the sessions
/// still running. Returns how many were still running when it gave up waiting.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: ServerConfig,
    shutdown: CancellationToken,
) -> usize {
    let permits = Arc::new(Semaphore::new(config.max_sessions));
    let tracker = TaskTracker::new();
    let router = Arc::new(router);
    let config = Arc::new(config);
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: say so, breathe, go on.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if !allowed(&config.allow, peer.ip()) {
            tracing::warn!(%peer, "FastAGI connection from an address not allowed; closed");
            metrics::counter!("dialtone_agi_connections_refused_total", "reason" => "not_allowed")
                .increment(1);
            continue;
        }
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(%peer, max = config.max_sessions, "FastAGI session limit reached; connection closed");
            metrics::counter!("dialtone_agi_connections_refused_total", "reason" => "busy")
                .increment(1);
            continue;
        };
        let (router, config) = (router.clone(), config.clone());
        tracker.spawn(async move {
            let _permit = permit;
            metrics::gauge!("dialtone_agi_sessions_active").increment(1.0);
            run_session(stream, peer, &router, &config).await;
            metrics::gauge!("dialtone_agi_sessions_active").decrement(1.0);
        });
    }
    // Close the listening socket now, so Asterisk is refused at once (and can try another node)
    // rather than queued behind a server that will not accept.
    drop(listener);
    tracker.close();
    tracing::info!(
        running = tracker.len(),
        "FastAGI server stopped accepting; draining"
    );
    if tokio::time::timeout(config.drain_timeout, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            running = tracker.len(),
            "sessions still running after the drain timeout"
        );
        return tracker.len();
    }
    0
}

async fn run_session(stream: TcpStream, peer: SocketAddr, router: &Router, config: &ServerConfig) {
    let _ = stream.set_nodelay(true);
    let session = match AgiSession::start(stream, config.env_timeout, config.timeouts).await {
        Ok(session) => session,
        Err(e) => {
            tracing::warn!(%peer, error = %e, "FastAGI session did not start");
            metrics::counter!("dialtone_agi_session_errors_total", "route" => "", "kind" => e.kind()).increment(1);
            return;
        }
    };
    let env = session.env();
    let route = env.script_path().to_string();
    let label = router.metric_label(&route).to_string();
    let span = tracing::info_span!("agi", uniqueid = %env.uniqueid, channel = %env.channel, route = ?route, %peer);
    async move {
        metrics::counter!("dialtone_agi_sessions_total", "route" => label.clone()).increment(1);
        let Some(handler) = router.routes.get(&route) else {
            tracing::error!("no handler for this AGI script path");
            metrics::counter!("dialtone_agi_session_errors_total", "route" => label.clone(), "kind" => "no_route").increment(1);
            let mut session = session;
            let _ = session.set_variable("DIALTONE_ERROR", &format!("no route for '{route}'")).await;
            return;
        };
        match handler(session).await {
            Ok(()) => tracing::debug!("session done"),
            Err(e) => {
                tracing::warn!(error = %e, "session ended with an error");
                metrics::counter!("dialtone_agi_session_errors_total", "route" => label.clone(), "kind" => e.kind()).increment(1);
            }
        }
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_label_unknown_script_paths_as_one() {
        let router = Router::new().route("/outbound", |_session| async { Ok(()) });
        assert_eq!(router.metric_label("outbound"), "outbound");
        for path in [
            "outbound2",
            "x/../outbound",
            "a-fresh-path-each-time-1234",
            "",
        ] {
            assert_eq!(router.metric_label(path), UNKNOWN_ROUTE, "{path:?}");
        }
    }

    #[test]
    fn allow_list_understands_mapped_addresses() {
        let allow: Vec<IpNet> = vec![
            "127.0.0.0/8".parse().expect("net"),
            "10.1.0.0/16".parse().expect("net"),
        ];
        assert!(allowed(&allow, "127.0.0.1".parse().expect("ip")));
        assert!(allowed(&allow, "::ffff:10.1.2.3".parse().expect("ip")));
        assert!(!allowed(&allow, "10.2.0.1".parse().expect("ip")));
        assert!(!allowed(&allow, "::1".parse().expect("ip")));
    }
}
