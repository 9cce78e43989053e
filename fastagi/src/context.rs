//! What every call flow may use: the database and this node's settings. Pages hear what the
//! flows do from the database itself (`dialtone_core::live`), so the flows need no bus.

use std::path::PathBuf;
use std::time::Duration;

use dialtone_asterisk::ami::AmiClient;
use sqlx::PgPool;

#[derive(Clone)]
pub struct FlowContext {
    pub pool: PgPool,
    /// This node's name in call rows.
    pub node: String,
    /// Root of recordings on the Asterisk machine; MixMonitor gets paths under it.
    pub recordings_dir: PathBuf,
    /// How often the outbound flow looks for a free agent while the drop timer runs.
    pub agent_poll: Duration,
    /// The node's AMI link, where the node has one (`dialtone serve`): a flow asks it whether
    /// Asterisk itself is going away.
    pub ami: Option<AmiClient>,
}
