//! What every call flow may use: the database, the event bus, and this node's settings.

use std::path::PathBuf;
use std::time::Duration;

use dialtone_core::bus::Bus;
use sqlx::PgPool;

#[derive(Clone)]
pub struct FlowContext {
    pub pool: PgPool,
    pub bus: Bus,
    /// This node's name in call rows.
    pub node: String,
    /// Root of recordings on the Asterisk machine; MixMonitor gets paths under it.
    pub recordings_dir: PathBuf,
    /// How often the outbound flow looks for a free agent while the drop timer runs.
    pub agent_poll: Duration,
}
