//! One node, assembled in one place: the FastAGI server with the call flows and, over its
//! Asterisk's AMI link, everything else a node runs: a dialer for each active campaign, the
//! outcomes of dials, reconciliation after gaps, the call control the web asks over the bus,
//! consultations followed, agents' phones rung again after Asterisk comes back, and wrap-ups
//! ended. `dialtone serve`, the demo and the tests all start their node here, so none of them
//! can be missing a task.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dialtone_asterisk::agi::{self, ServerConfig};
use dialtone_asterisk::ami::AmiClient;
use dialtone_core::bus::Bus;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::control::{self, Control};
use crate::dialer::{self, DialerContext};
use crate::FlowContext;

/// What a node is and how often it looks at things.
#[derive(Clone)]
pub struct Settings {
    /// This node's name in call rows and on the bus (`control.<name>`).
    pub name: String,
    /// Root of recordings on the Asterisk machine; MixMonitor gets paths under it.
    pub recordings_dir: PathBuf,
    /// How often an outbound flow looks for a free agent while its drop timer runs.
    pub agent_poll: Duration,
    /// How often each campaign's dialer looks again.
    pub dial_tick: Duration,
    /// How often the node looks for campaigns activated or stopped.
    pub campaign_scan: Duration,
    /// How often reconciliation runs, besides each time the AMI link comes up.
    pub reconcile_every: Duration,
    /// Records younger than this are left to their flows by reconciliation.
    pub reconcile_grace: Duration,
    pub server: ServerConfig,
}

impl Settings {
    /// The production timings, for the node `name` recording under `recordings_dir`.
    pub fn new(name: impl Into<String>, recordings_dir: impl Into<PathBuf>) -> Self {
        Settings {
            name: name.into(),
            recordings_dir: recordings_dir.into(),
            agent_poll: Duration::from_millis(50),
            dial_tick: Duration::from_millis(250),
            campaign_scan: Duration::from_secs(5),
            reconcile_every: Duration::from_secs(60),
            reconcile_grace: dialer::GRACE,
            server: ServerConfig::default(),
        }
    }
}

/// A running node.
pub struct Node {
    /// The FastAGI server; it ends after `stop` with the number of calls still running when
    /// its drain ran out.
    pub server: JoinHandle<usize>,
    /// Call control on this node's Asterisk, as the bus requests reach it.
    pub control: Control,
}

/// Starts a node serving FastAGI on `listener`, with `ami` its Asterisk's manager link, until
/// `stop`.
pub fn start(
    pool: PgPool,
    bus: Bus,
    ami: AmiClient,
    listener: TcpListener,
    settings: Settings,
    stop: CancellationToken,
) -> Node {
    let flows = FlowContext {
        pool: pool.clone(),
        node: settings.name.clone(),
        recordings_dir: settings.recordings_dir.clone(),
        agent_poll: settings.agent_poll,
        ami: Some(ami.clone()),
    };
    let server = tokio::spawn(agi::serve(
        listener,
        crate::router(flows),
        settings.server.clone(),
        stop.clone(),
    ));
    let control = Control {
        pool: pool.clone(),
        ami: ami.clone(),
        recordings_dir: settings.recordings_dir.clone(),
    };
    tokio::spawn(control::follow_consults(control.clone(), stop.clone()));
    tokio::spawn(crate::phones::ring_again_after_gaps(
        pool.clone(),
        ami.clone(),
        settings.name.clone(),
        stop.clone(),
    ));
    tokio::spawn(crate::remote::serve(
        bus,
        control.clone(),
        settings.name.clone(),
        stop.clone(),
    ));
    let dialer = Arc::new(DialerContext {
        pool: pool.clone(),
        ami,
        node: settings.name.clone(),
        tick: settings.dial_tick,
    });
    tokio::spawn(dialer::watch_outcomes(dialer.clone(), stop.clone()));
    tokio::spawn(dialer::keep_reconciled(
        dialer.clone(),
        settings.reconcile_every,
        settings.reconcile_grace,
        stop.clone(),
    ));
    tokio::spawn(end_wrapups(pool, stop.clone()));
    tokio::spawn(run_campaigns(dialer, settings.campaign_scan, stop));
    Node { server, control }
}

/// Starts a dialer loop for each active campaign that dials by itself, and stops the loop of
/// one deactivated.
async fn run_campaigns(ctx: Arc<DialerContext>, scan: Duration, shutdown: CancellationToken) {
    let mut running: HashMap<i64, CancellationToken> = HashMap::new();
    while !shutdown.is_cancelled() {
        match dialtone_core::campaigns::dialing(&ctx.pool).await {
            Ok(active) => {
                running.retain(|id, stop| {
                    let keep = active.contains(id);
                    if !keep {
                        tracing::info!(campaign = id, "campaign no longer active: dialer stopped");
                        stop.cancel();
                    }
                    keep
                });
                for id in active {
                    running.entry(id).or_insert_with(|| {
                        tracing::info!(campaign = id, "dialer started");
                        let stop = shutdown.child_token();
                        tokio::spawn(dialer::run_campaign(ctx.clone(), id, stop.clone()));
                        stop
                    });
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot list active campaigns"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(scan) => {}
        }
    }
}

/// Agents whose wrap-up time is over go back to ready (or pause), once a second.
async fn end_wrapups(pool: PgPool, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        if let Err(e) = dialtone_core::agents::end_wrapups(&pool).await {
            tracing::error!(error = %e, "cannot end wrap-ups");
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}
