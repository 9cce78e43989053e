//! The agents' phones of this node after Asterisk comes back (a restart, a crash, a lost
//! link): each open session whose phone is no longer up is rung again into its conference, and
//! waits paused (LOGIN) until it answers, so no call is put through to a conference with no
//! agent in it. Without this the agents would sit "ready" with no phone until they logged in
//! again.

use dialtone_asterisk::ami::{Action, AmiClient, Link};
use futures::StreamExt;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::control;

/// Until `stop`, rings the phones that are gone each time Asterisk is fully booted behind a new
/// login, except the first. Asterisk says `FullyBooted` to each manager login once it is (at
/// once if it already is): before that its dialplan refuses to start a call, so a phone rung as
/// soon as the link is back would never ring. The node's AMI client may have logged in before
/// this task subscribed, so the first login is taken from the link, not from its event.
pub async fn ring_again_after_gaps(
    pool: PgPool,
    ami: AmiClient,
    node: String,
    stop: CancellationToken,
) {
    let mut booted = Box::pin(ami.events_matching(|e| e.event() == Some("FullyBooted")));
    let link = ami.link();
    // The login already up when this task starts is the first, whether or not its
    // FullyBooted came before the subscription did.
    let mut first = match *link.borrow() {
        Link::Up { generation, .. } => Some(generation),
        _ => None,
    };
    let mut rung = None;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            event = booted.next() => if event.is_none() { return },
        }
        let Link::Up { generation, .. } = *link.borrow() else {
            continue;
        };
        if *first.get_or_insert(generation) == generation || rung == Some(generation) {
            continue;
        }
        rung = Some(generation);
        match ring_missing(&pool, &ami, &node).await {
            Ok(0) => {}
            Ok(rung) => tracing::warn!(rung, "Asterisk came back: agents' phones rung again"),
            Err(e) => tracing::error!(error = %e, "could not ring the agents' phones again"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PhonesError {
    #[error(transparent)]
    Ami(#[from] dialtone_asterisk::ami::AmiError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// Rings each open session's phone that has no channel in Asterisk; returns how many.
pub async fn ring_missing(
    pool: &PgPool,
    ami: &AmiClient,
    node: &str,
) -> Result<usize, PhonesError> {
    let sessions: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, phone_dial_string FROM agent_sessions WHERE node = $1 AND logged_out_at IS NULL ORDER BY id")
            .bind(node)
            .fetch_all(pool)
            .await?;
    if sessions.is_empty() {
        return Ok(0);
    }
    let channels = ami.send_list(Action::new("CoreShowChannels")).await?;
    let names: Vec<&str> = channels
        .events
        .iter()
        .filter_map(|c| c.get("Channel"))
        .collect();
    let mut rung = 0;
    for (session, phone) in sessions {
        let prefix = format!("{phone}-");
        if names.iter().any(|n| n.starts_with(&prefix)) {
            continue;
        }
        let action = match control::ring_agent_phone(session, &phone) {
            Ok(action) => action,
            Err(refused) => {
                tracing::error!(agent_session = session, error = %refused, "phone not rung again");
                continue;
            }
        };
        // Paused until the phone is back in the conference (agent-login sets LOGIN).
        dialtone_core::agents::phone_reconnecting(pool, session).await?;
        ami.send(action).await?;
        rung += 1;
    }
    Ok(rung)
}
