//! The size of a call's recordings, once MixMonitor has finished them: the recordings page
//! shows it, and a file of a few bytes tells an operator that a recording failed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use dialtone_core::{asterisk_values, calls};
use sqlx::PgPool;
use uuid::Uuid;

/// How long a file may keep growing after its call ended before its size is taken as it is.
const SETTLE_POLLS: u32 = 40;
const POLL: Duration = Duration::from_millis(250);

/// Measures the call's closed recordings in the background. MixMonitor writes until the
/// channel is destroyed, after its hangup handler ran, and an agent's "stop recording" closes
/// the row after the node stopped MixMonitor: so the rows are read a moment later, and each
/// file when its size has stopped changing.
pub fn measure_later(pool: PgPool, root: PathBuf, call_id: Uuid) {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if let Err(e) = measure(&pool, &root, call_id).await {
            tracing::warn!(%call_id, error = %e, "could not store the size of the call's recordings");
        }
    });
}

async fn measure(pool: &PgPool, root: &Path, call_id: Uuid) -> Result<(), sqlx::Error> {
    for (id, file) in calls::unmeasured_recordings(pool, call_id).await? {
        // A path the whitelist refuses was never given to MixMonitor.
        let Ok(path) = asterisk_values::recording_path(root, &file) else {
            continue;
        };
        if let Some(size) = settled_size(Path::new(&path)).await {
            calls::recording_measured(pool, id, size).await?;
        } else {
            tracing::warn!(%call_id, recording = id, %path, "the recording's file is missing");
        }
    }
    Ok(())
}

/// The file's size once two looks a poll apart agree; the last size seen if it never settles.
async fn settled_size(path: &Path) -> Option<u64> {
    let mut last = None;
    for _ in 0..SETTLE_POLLS {
        let size = tokio::fs::metadata(path).await.ok().map(|m| m.len());
        if size.is_some() && size == last {
            return size;
        }
        last = size;
        tokio::time::sleep(POLL).await;
    }
    last
}
