//! The dialer loop of one campaign on this node: keep the hopper filled, ask the pacer how many
//! lines to dial, and originate them through the AMI; a second task turns Asterisk's
//! OriginateResponse failures into attempt outcomes. Answered calls are the call flows' (and
//! `call-end` resolves their attempts).

mod originate;
mod reconcile;

use std::sync::Arc;
use std::time::{Duration, Instant};

use dialtone_asterisk::ami::{AmiClient, AmiError};
use dialtone_core::attempts::{self, Outcome};
use dialtone_core::campaigns;
use dialtone_core::hopper::{self, Filled};
use dialtone_core::pacing::{self, CallRate, Snapshot};
use futures::StreamExt;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

pub use originate::{dial_string, originate};
pub use reconcile::{reconcile, ReconcileError};

#[derive(Clone)]
pub struct DialerContext {
    pub pool: PgPool,
    pub ami: AmiClient,
    pub node: String,
    /// How often the loop looks again.
    pub tick: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum DialerError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("campaign {0} does not exist")]
    NoCampaign(i64),
}

/// Runs the campaign until `stop`; a database error ends a turn, not the loop.
pub async fn run_campaign(ctx: Arc<DialerContext>, campaign_id: i64, stop: CancellationToken) {
    let started = Instant::now();
    let mut rate: Option<CallRate> = None;
    let mut last_hold = None;
    while !stop.is_cancelled() {
        match turn(&ctx, campaign_id, &mut rate, started).await {
            Ok(hold) => {
                if hold != last_hold {
                    tracing::info!(campaign = campaign_id, ?hold, "pacer");
                    last_hold = hold;
                }
            }
            Err(e) => tracing::error!(campaign = campaign_id, error = %e, "dialer turn failed"),
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(ctx.tick) => {}
        }
    }
}

/// One look: returns why the pacer held back, if it did.
async fn turn(ctx: &DialerContext, campaign_id: i64, rate: &mut Option<CallRate>, started: Instant) -> Result<Option<String>, DialerError> {
    let settings = campaigns::dial_settings(&ctx.pool, campaign_id).await?.ok_or(DialerError::NoCampaign(campaign_id))?;
    if !settings.active {
        return Ok(Some("campaign inactive".into()));
    }
    let now_secs = started.elapsed().as_secs_f64();
    let rate = rate.get_or_insert_with(|| CallRate::new(settings.max_calls_per_second, now_secs));
    let mut counts = campaigns::live_counts(&ctx.pool, campaign_id, &ctx.node).await?;
    let method: pacing::Method = settings.dial_method.parse().unwrap_or(pacing::Method::Progressive);
    // Keep a few seconds of leads at hand: enough for every ready agent at the campaign's level.
    let want = (counts.ready_agents as f64 * settings.dial_ratio.max(1.0) * 2.0).ceil() as i64;
    if counts.hopper < want {
        match hopper::fill(&ctx.pool, campaign_id, &ctx.node, (want - counts.hopper).max(10), chrono::Utc::now()).await? {
            Filled::Leads(leads) => counts.hopper += leads.len() as i64,
            other if counts.hopper == 0 => return Ok(Some(format!("{other:?}"))),
            _ => {}
        }
    }
    let to_u32 = |n: i64| u32::try_from(n.max(0)).unwrap_or(u32::MAX);
    let snapshot = Snapshot {
        method,
        dial_ratio: settings.dial_ratio,
        ready_agents: to_u32(counts.ready_agents),
        lines_ringing: to_u32(counts.lines_ringing),
        lines_in_use: to_u32(counts.lines_in_use),
        max_lines: settings.max_lines.map(|m| to_u32(m.into())),
        trunk_channels_free: settings.trunk_channels.map(|t| to_u32(i64::from(t) - counts.lines_in_use)),
        abandons_30d: counts.abandons_30d.max(0) as u64,
        live_answers_30d: counts.live_answers_30d.max(0) as u64,
        abandon_cap_pct: settings.abandon_cap_pct,
        leads_ready: to_u32(counts.hopper),
    };
    let decision = pacing::decide(&snapshot, rate, now_secs);
    for _ in 0..decision.dial {
        let Some(lead) = hopper::take(&ctx.pool, campaign_id, &ctx.node).await? else { break };
        let call_id = attempts::reserve(&ctx.pool, campaign_id, lead.lead_id, &ctx.node).await?;
        if !attempts::originating(&ctx.pool, call_id).await? {
            continue;
        }
        let action = originate(&settings, call_id, campaign_id, lead.lead_id, &lead.phone_e164);
        match ctx.ami.send(action).await {
            Ok(_) => tracing::debug!(%call_id, lead = lead.lead_id, campaign = campaign_id, "originated"),
            // Asterisk said no: nothing was dialed.
            Err(AmiError::Refused { message, .. }) => {
                tracing::warn!(%call_id, %message, "Originate refused");
                attempts::resolve(&ctx.pool, call_id, Outcome::Failed, chrono::Utc::now()).await?;
            }
            // The link went away with the action in flight: the call may exist. It stays
            // originating for reconciliation rather than being dialed again.
            Err(e) => tracing::warn!(%call_id, error = %e, "Originate unconfirmed; left for reconciliation"),
        }
    }
    Ok(decision.hold.map(|h| format!("{h:?}")).filter(|_| decision.dial == 0))
}

/// Resolves attempts whose Originate failed (busy, no answer, congestion, no such channel).
pub async fn watch_outcomes(ctx: Arc<DialerContext>, stop: CancellationToken) {
    let mut responses = Box::pin(ctx.ami.events_matching(|e| e.event() == Some("OriginateResponse")));
    loop {
        let event = tokio::select! {
            _ = stop.cancelled() => return,
            event = responses.next() => match event { Some(e) => e, None => return },
        };
        let (Some(reason), Some(uniqueid)) = (event.get("Reason"), event.get("Uniqueid")) else { continue };
        let Some(outcome) = Outcome::from_originate_reason(reason) else { continue };
        // The Uniqueid is the ChannelId we set: the call id. A failure before any channel
        // existed says `<unknown>`; then the ActionID's attempt cannot be told apart here, and
        // reconciliation resolves it.
        let Ok(call_id) = uniqueid.parse() else { continue };
        match attempts::resolve(&ctx.pool, call_id, outcome, chrono::Utc::now()).await {
            Ok(true) => tracing::info!(%call_id, outcome = outcome.as_str(), "dial ended"),
            Ok(false) => {}
            Err(e) => tracing::error!(%call_id, error = %e, "could not record the dial's outcome"),
        }
    }
}

/// Reconciles this node's open dials each time the AMI link comes up (the first time too: a
/// restart is a gap as well).
pub async fn reconcile_on_link(ctx: Arc<DialerContext>, stop: CancellationToken) {
    let mut link = ctx.ami.link();
    loop {
        let up = matches!(*link.borrow_and_update(), dialtone_asterisk::ami::Link::Up { .. });
        if up {
            match reconcile(&ctx).await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(resolved = n, "reconciled dials after the AMI gap"),
                Err(e) => tracing::error!(error = %e, "reconciliation failed"),
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            changed = link.changed() => if changed.is_err() { return },
        }
    }
}
