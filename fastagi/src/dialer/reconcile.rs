//! After the AMI link comes back (or the node restarts), this node's dials that never got an
//! outcome are matched against the channels Asterisk still has. A dial whose channel is live is
//! left alone (its call flow or `call-end` will resolve it); one with no channel, no answered
//! call and its ring time long past is resolved as failed (counted, and retried later). None is
//! dialed again by this: at most once holds across the gap.

use std::collections::HashSet;
use std::time::Duration;

use dialtone_asterisk::ami::{Action, AmiError};
use dialtone_core::attempts::{self, Outcome};

use super::DialerContext;

/// How long after dialing a dial with no channel may still be starting up.
const GRACE: Duration = Duration::from_secs(90);

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Ami(#[from] AmiError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// Returns how many dials were resolved as failed.
pub async fn reconcile(ctx: &DialerContext) -> Result<usize, ReconcileError> {
    let open = attempts::unresolved(&ctx.pool, &ctx.node).await?;
    if open.is_empty() {
        return Ok(0);
    }
    let channels = ctx.ami.send_list(Action::new("CoreShowChannels")).await?;
    // With ChannelId, a dial's channels carry its call id as Uniqueid (or Linkedid).
    let live: HashSet<String> =
        channels.events.iter().flat_map(|e| [e.get("Uniqueid"), e.get("Linkedid")]).flatten().map(str::to_string).collect();
    let mut resolved = 0;
    for (call_id, _state) in open {
        if live.contains(&call_id.to_string()) {
            continue;
        }
        let settled: Option<(bool, bool)> = sqlx::query_as(
            "SELECT a.dialed_at IS NULL OR a.dialed_at > now() - make_interval(secs => $2),
                    EXISTS (SELECT 1 FROM calls c WHERE c.id = a.call_id AND c.state <> 'ended')
             FROM call_attempts a WHERE a.call_id = $1",
        )
        .bind(call_id)
        .bind(GRACE.as_secs_f64())
        .fetch_optional(&ctx.pool)
        .await?;
        let Some((recent, in_call)) = settled else { continue };
        if recent || in_call {
            continue;
        }
        if attempts::resolve(&ctx.pool, call_id, Outcome::Failed, chrono::Utc::now()).await? {
            tracing::warn!(%call_id, "dial with no channel and no outcome after the AMI gap: resolved as failed");
            resolved += 1;
        }
    }
    Ok(resolved)
}
