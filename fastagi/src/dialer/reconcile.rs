//! After a gap (the AMI link came back, the node restarted, the database was away), this node's
//! dials that never got an outcome and calls that were never closed are matched against the
//! channels Asterisk still has. A dial or call whose channel is live is left alone (its call
//! flow or `call-end` will settle it). A dial with no channel, no open call and its ring time
//! long past is resolved as failed (counted, and retried later); a call with no channel is
//! closed as `call-end` would have closed it, without a cause it cannot know. None is dialed
//! again by this: at most once holds across the gap.

use std::collections::HashSet;
use std::time::Duration;

use dialtone_asterisk::ami::{Action, AmiError};
use dialtone_core::attempts::{self, Outcome};
use dialtone_core::calls::{self, Ended};
use uuid::Uuid;

use super::DialerContext;

/// How long after dialing a dial with no channel may still be starting up (the production
/// value; tests pass a shorter one).
pub const GRACE: Duration = Duration::from_secs(90);

/// What a reconciliation settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconciled {
    /// Dials resolved as failed.
    pub dials: usize,
    /// Calls closed.
    pub calls: usize,
    /// Abandons Asterisk's dialplan handled while Dialtone could not be reached, now counted.
    pub abandons: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Ami(#[from] AmiError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

pub async fn reconcile(ctx: &DialerContext, grace: Duration) -> Result<Reconciled, ReconcileError> {
    let abandons = count_unreached_abandons(ctx).await?;
    let open = attempts::unresolved(&ctx.pool, &ctx.node).await?;
    let calls: Vec<(Uuid, Option<String>)> = sqlx::query_as(
        "SELECT id, uniqueid FROM calls WHERE node = $1 AND state <> 'ended' AND created_at < now() - make_interval(secs => $2)",
    )
    .bind(&ctx.node)
    .bind(grace.as_secs_f64())
    .fetch_all(&ctx.pool)
    .await?;
    let mut done = Reconciled {
        dials: 0,
        calls: 0,
        abandons,
    };
    if open.is_empty() && calls.is_empty() {
        return Ok(done);
    }
    let channels = ctx.ami.send_list(Action::new("CoreShowChannels")).await?;
    // With ChannelId, a dial's channels carry its call id as Uniqueid (or Linkedid).
    let live: HashSet<String> = channels
        .events
        .iter()
        .flat_map(|e| [e.get("Uniqueid"), e.get("Linkedid")])
        .flatten()
        .map(str::to_string)
        .collect();
    for (call_id, uniqueid) in calls {
        if live.contains(&call_id.to_string()) || uniqueid.is_some_and(|u| live.contains(&u)) {
            continue;
        }
        if calls::end(&ctx.pool, call_id, &Ended::default()).await? {
            tracing::warn!(%call_id, "call with no channel left open by a gap: closed");
            done.calls += 1;
        }
    }
    for (call_id, _state) in open {
        if live.contains(&call_id.to_string()) {
            continue;
        }
        // A dial reserved but never sent (the database went away between the two) is
        // cancelled, and its lead due again; one sent that left no channel and no outcome failed.
        let settled: Option<(bool, bool, bool)> = sqlx::query_as(
            "SELECT coalesce(a.dialed_at, a.reserved_at) > now() - make_interval(secs => $2), a.dialed_at IS NOT NULL,
                    EXISTS (SELECT 1 FROM calls c WHERE c.id = a.call_id AND c.state <> 'ended')
             FROM call_attempts a WHERE a.call_id = $1",
        )
        .bind(call_id)
        .bind(grace.as_secs_f64())
        .fetch_optional(&ctx.pool)
        .await?;
        let Some((recent, dialed, in_call)) = settled else {
            continue;
        };
        if recent || in_call {
            continue;
        }
        let outcome = if dialed {
            Outcome::Failed
        } else {
            Outcome::Cancelled
        };
        if attempts::resolve(&ctx.pool, call_id, outcome, chrono::Utc::now()).await? {
            tracing::warn!(%call_id, outcome = outcome.as_str(), "dial with no channel and no outcome after a gap: resolved");
            done.dials += 1;
        }
    }
    Ok(done)
}

/// The astdb family where `dialtone-outbound`'s fallback notes each call it played the
/// safe-harbor message to while Dialtone could not be reached: key the call id, value the time.
const UNREACHED: &str = "dialtone_abandoned";

/// Counts the abandons the dialplan noted while Dialtone was away (each in the ledger at the
/// time it happened) and removes the notes; an Asterisk that has none, or no DBGetTree,
/// has nothing to count.
async fn count_unreached_abandons(ctx: &DialerContext) -> Result<usize, ReconcileError> {
    let notes = match ctx
        .ami
        .send_list(Action::new("DBGetTree").field("Family", UNREACHED))
        .await
    {
        Ok(reply) => reply.events,
        Err(AmiError::Refused { .. }) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut counted = 0;
    for note in notes
        .iter()
        .filter(|e| e.event() == Some("DBGetTreeResponse"))
    {
        let Some(key) = note.get("Key") else { continue };
        let Ok(call_id) = key.rsplit('/').next().unwrap_or_default().parse::<Uuid>() else {
            continue;
        };
        let at = note
            .get("Val")
            .and_then(|v| v.parse::<i64>().ok())
            .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
            .unwrap_or_else(chrono::Utc::now);
        // Only this node's dials: another node's Asterisk keeps its own notes.
        let ours: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM call_attempts WHERE call_id = $1 AND node = $2)",
        )
        .bind(call_id)
        .bind(&ctx.node)
        .fetch_one(&ctx.pool)
        .await?;
        if !ours {
            continue;
        }
        if calls::abandoned_while_unreachable(&ctx.pool, call_id, at).await? {
            tracing::warn!(%call_id, %at, "abandon played by the dialplan while Dialtone was unreachable: counted");
            counted += 1;
        }
        ctx.ami
            .send(
                Action::new("DBDel")
                    .field("Family", UNREACHED)
                    .field("Key", call_id.to_string()),
            )
            .await?;
    }
    Ok(counted)
}
