//! The web listener: HTTP/1.1 with a deadline for each request's header and a cap on open
//! connections, so slow or idle clients cannot hold the admin's sockets and memory
//! (`axum::serve` has neither).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// How the listener treats its connections.
#[derive(Debug, Clone)]
pub struct ListenOptions {
    /// A request's header must arrive whole within this long, counted from the first moment
    /// the server waits for it (on a kept-alive connection, from the previous answer), or the
    /// connection is closed.
    pub header_read_timeout: Duration,
    /// Connections open at once; the next waits in the kernel's queue until one closes.
    pub max_connections: usize,
    /// At shutdown, how long requests in flight may take to finish.
    pub shutdown_grace: Duration,
}

impl Default for ListenOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 4096,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets requests
/// in flight finish (up to `shutdown_grace`) and returns. Each request carries the peer's
/// address as `ConnectInfo<SocketAddr>`, as with `into_make_service_with_connect_info`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    options: ListenOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max = options
        .max_connections
        .clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
    let permits = Arc::new(Semaphore::new(max));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // At the cap, stop accepting: new connections wait in the listen queue.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit,
            () = &mut shutdown => break,
        };
        let Ok(permit) = permit else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, or a connection reset before it was taken: wait a
                // moment rather than spin, and go on.
                tracing::warn!(error = %e, "web listener: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let app = app.clone();
        let timeout = options.header_read_timeout;
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let _ = stream.set_nodelay(true);
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(req.map(Body::new))
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(timeout)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => log_end(peer, result),
                () = async {
                    let _ = stop.wait_for(|stop| *stop).await;
                } => {
                    connection.as_mut().graceful_shutdown();
                    log_end(peer, connection.await);
                }
            }
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a permit: all of them back means every connection has closed.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    if tokio::time::timeout(options.shutdown_grace, permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            open = max - permits.available_permits(),
            "web connections still open after the shutdown grace"
        );
    }
    Ok(())
}

fn log_end(peer: SocketAddr, result: Result<(), hyper::Error>) {
    if let Err(e) = result {
        // A client that goes away or never finishes its header is routine, not an error.
        tracing::debug!(%peer, error = %e, "web connection ended");
    }
}
