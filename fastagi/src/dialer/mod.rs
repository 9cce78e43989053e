//! The dialer loop of one campaign on this node: keep the hopper filled, ask the pacer how many
//! lines to dial, and originate them through the AMI; a second task turns Asterisk's
//! OriginateResponse failures into attempt outcomes. Answered calls are the call flows' (and
//! `call-end` resolves their attempts).

mod originate;
mod reconcile;

use std::sync::Arc;
use std::time::{Duration, Instant};

use dialtone_asterisk::ami::{AmiClient, AmiError, Link};
use dialtone_core::attempts::{self, Outcome};
use dialtone_core::campaigns::{self, DialSettings, LiveCounts};
use dialtone_core::dial_history;
use dialtone_core::hopper::{self, Filled};
use dialtone_core::pacing::{self, CallRate, Ledger, Pacer, Snapshot};
use dialtone_core::vocabulary::DialMethod;
use futures::StreamExt;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

pub use originate::{caller_id, dial_string, originate};
pub use reconcile::{reconcile, ReconcileError, Reconciled, GRACE};

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
    #[error("the AMI link is down: {0}")]
    AmiDown(String),
}

impl DialerError {
    /// What is out, as the `cause` label of the dialer's metrics.
    fn cause(&self) -> &'static str {
        match self {
            DialerError::Db(_) => "database",
            DialerError::AmiDown(_) => "ami",
            DialerError::NoCampaign(_) => "campaign",
        }
    }
}

/// How often the predictive pacer reloads its estimates, and saves its limit.
const RELEARN_EVERY: Duration = Duration::from_secs(10);
const SAVE_EVERY: Duration = Duration::from_secs(60);

/// The predictive pacer of one campaign on this node, with what it has read of the ledger.
struct Predictive {
    pacer: Pacer,
    cursor: i64,
    learned_at: Option<Instant>,
    saved_at: Instant,
}

impl Predictive {
    async fn load(pool: &sqlx::PgPool, campaign_id: i64) -> Result<Self, sqlx::Error> {
        let (theta, cursor) = dial_history::load_state(pool, campaign_id).await?;
        let pacer = theta.map_or_else(Pacer::new, Pacer::resume);
        Ok(Self {
            pacer,
            cursor,
            learned_at: None,
            saved_at: Instant::now(),
        })
    }

    /// Brings the estimates and the trim up to date, and asks for lines.
    async fn lines(
        &mut self,
        ctx: &DialerContext,
        campaign_id: i64,
        settings: &DialSettings,
        ledger: &Ledger,
    ) -> Result<Option<u32>, sqlx::Error> {
        if self
            .learned_at
            .is_none_or(|at| at.elapsed() >= RELEARN_EVERY)
        {
            dial_history::learn(&ctx.pool, campaign_id, &mut self.pacer).await?;
            self.learned_at = Some(Instant::now());
        }
        for (id, abandoned) in
            dial_history::answers_since(&ctx.pool, campaign_id, self.cursor).await?
        {
            self.pacer.observe_answer(abandoned, ledger);
            self.cursor = id;
        }
        if self.saved_at.elapsed() >= SAVE_EVERY {
            dial_history::save_state(&ctx.pool, campaign_id, self.pacer.theta(), self.cursor)
                .await?;
            self.saved_at = Instant::now();
        }
        let floor = dial_history::floor(&ctx.pool, campaign_id, &ctx.node).await?;
        let agents = floor.ready + floor.talking.len() as u32 + floor.wrapping.len() as u32;
        // Twenty lines an agent is far past any level the model asks for: a bound on the loop.
        Ok(self.pacer.lines(
            &floor.as_floor(),
            ledger,
            settings.drop_timeout_secs,
            agents.saturating_mul(20),
        ))
    }
}

fn ledger(settings: &DialSettings, counts: &LiveCounts) -> Ledger {
    let n = |v: i64| v.max(0) as u64;
    Ledger {
        abandons_30d: n(counts.abandons_30d),
        live_answers_30d: n(counts.live_answers_30d),
        abandons_1h: n(counts.abandons_1h),
        live_answers_1h: n(counts.live_answers_1h),
        cap_pct: settings.abandon_cap_pct,
        hourly_cap_pct: settings.hourly_abandon_cap_pct,
        amd_false_positive_pct: settings.amd_false_positive_pct,
    }
}

/// Leads to keep at hand: a few seconds' worth, enough for every ready agent at the campaign's
/// level twice over or for what the model asks, or the campaign's own hopper size if larger
/// while agents are ready (nobody would dial what it claimed before its hold ran out).
fn hopper_want(
    ready_agents: i64,
    dial_ratio: f64,
    predicted: Option<u32>,
    hopper_size: i32,
) -> i64 {
    let paced = ((ready_agents as f64 * dial_ratio.max(1.0) * 2.0).ceil() as i64)
        .max(i64::from(predicted.unwrap_or(0)));
    if ready_agents > 0 {
        paced.max(i64::from(hopper_size))
    } else {
        paced
    }
}

/// Runs the campaign until `stop`; a database error or a down AMI link ends a turn, not the
/// loop. An outage is said once when it starts and once when it ends (logs), and held as
/// `dialtone_dialer_stopped{campaign, cause}` = 1 while it lasts (metrics); each failed turn
/// counts in `dialtone_dialer_turn_errors_total`.
pub async fn run_campaign(ctx: Arc<DialerContext>, campaign_id: i64, stop: CancellationToken) {
    let started = Instant::now();
    let mut rate: Option<CallRate> = None;
    let mut predictive: Option<Predictive> = None;
    let mut last_hold = None;
    let mut outage: Option<(&'static str, Instant)> = None;
    let label = campaign_id.to_string();
    while !stop.is_cancelled() {
        let result = turn(&ctx, campaign_id, &mut rate, &mut predictive, started).await;
        let cause = result.as_ref().err().map(DialerError::cause);
        if let Some(cause) = cause {
            metrics::counter!("dialtone_dialer_turn_errors_total", "campaign" => label.clone(), "cause" => cause).increment(1);
        }
        if cause != outage.map(|(c, _)| c) {
            match (&result, outage) {
                (Err(e), _) => {
                    tracing::error!(campaign = campaign_id, cause, error = %e, "dialing stopped")
                }
                (Ok(_), Some((was, since))) => {
                    tracing::warn!(
                        campaign = campaign_id,
                        cause = was,
                        after_secs = since.elapsed().as_secs(),
                        "dialing resumed"
                    )
                }
                (Ok(_), None) => {}
            }
            for c in ["database", "ami", "campaign"] {
                metrics::gauge!("dialtone_dialer_stopped", "campaign" => label.clone(), "cause" => c).set(if Some(c) == cause { 1.0 } else { 0.0 });
            }
            outage = cause.map(|c| (c, Instant::now()));
        }
        if let Ok(hold) = result {
            if hold != last_hold {
                tracing::debug!(campaign = campaign_id, ?hold, "pacer");
                last_hold = hold;
            }
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(ctx.tick) => {}
        }
    }
    // A loop that is not running holds nothing up.
    for c in ["database", "ami", "campaign"] {
        metrics::gauge!("dialtone_dialer_stopped", "campaign" => label.clone(), "cause" => c)
            .set(0.0);
    }
}

/// One look: returns why the pacer held back, if it did.
async fn turn(
    ctx: &DialerContext,
    campaign_id: i64,
    rate: &mut Option<CallRate>,
    predictive: &mut Option<Predictive>,
    started: Instant,
) -> Result<Option<String>, DialerError> {
    // Without the link an Originate cannot be confirmed: no lead is taken until it is back.
    match &*ctx.ami.link().borrow() {
        Link::Up { .. } => {}
        Link::Connecting => return Err(DialerError::AmiDown("connecting".into())),
        Link::Down { reason } => return Err(DialerError::AmiDown(reason.clone())),
    }
    let settings = campaigns::dial_settings(&ctx.pool, campaign_id)
        .await?
        .ok_or(DialerError::NoCampaign(campaign_id))?;
    if !settings.active {
        return Ok(Some("campaign inactive".into()));
    }
    let now_secs = started.elapsed().as_secs_f64();
    let rate = rate.get_or_insert_with(|| CallRate::new(settings.max_calls_per_second, now_secs));
    let released = hopper::release_stale(&ctx.pool, campaign_id).await?;
    if released > 0 {
        tracing::info!(
            campaign = campaign_id,
            released,
            "claims older than the hopper's hold went back to the due leads"
        );
    }
    let mut counts = campaigns::live_counts(&ctx.pool, campaign_id, &ctx.node).await?;
    let method = settings.dial_method;
    let ledger = ledger(&settings, &counts);
    let predicted = if method == DialMethod::Predictive {
        if predictive.is_none() {
            *predictive = Some(Predictive::load(&ctx.pool, campaign_id).await?);
        }
        match predictive.as_mut() {
            Some(p) => p.lines(ctx, campaign_id, &settings, &ledger).await?,
            None => None,
        }
    } else {
        *predictive = None;
        None
    };
    let want = hopper_want(
        counts.ready_agents,
        settings.dial_ratio,
        predicted,
        settings.hopper_size,
    );
    if counts.hopper < want {
        match hopper::fill(
            &ctx.pool,
            campaign_id,
            &ctx.node,
            (want - counts.hopper).max(10),
            chrono::Utc::now(),
        )
        .await?
        {
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
        trunk_channels_free: settings
            .trunk_channels
            .map(|t| to_u32(i64::from(t) - counts.lines_in_use)),
        ledger,
        leads_ready: to_u32(counts.hopper),
        predicted,
    };
    let decision = pacing::decide(&snapshot, rate, now_secs);
    for _ in 0..decision.dial {
        let call_id = uuid::Uuid::new_v4();
        let Some(lead) = hopper::take(&ctx.pool, campaign_id, &ctx.node, Some(call_id)).await?
        else {
            break;
        };
        if !attempts::originating(&ctx.pool, call_id).await? {
            continue;
        }
        let action = match originate(
            &settings,
            call_id,
            campaign_id,
            lead.lead_id,
            &lead.phone_e164,
        ) {
            Ok(action) => action,
            // Nothing was sent: the attempt fails and the campaign's settings need mending.
            Err(refused) => {
                tracing::error!(%call_id, campaign = campaign_id, error = %refused, "Originate not sent");
                attempts::resolve(&ctx.pool, call_id, Outcome::Failed, chrono::Utc::now()).await?;
                continue;
            }
        };
        match ctx.ami.send(action).await {
            Ok(_) => {
                tracing::debug!(%call_id, lead = lead.lead_id, campaign = campaign_id, "originated")
            }
            // Asterisk said no: nothing was dialed.
            Err(AmiError::Refused { message, .. }) => {
                tracing::warn!(%call_id, %message, "Originate refused");
                attempts::resolve(&ctx.pool, call_id, Outcome::Failed, chrono::Utc::now()).await?;
            }
            // The link went away with the action in flight: the call may exist. It stays
            // originating for reconciliation rather than being dialed again.
            Err(e) => {
                tracing::warn!(%call_id, error = %e, "Originate unconfirmed; left for reconciliation")
            }
        }
    }
    Ok(decision
        .hold
        .map(|h| format!("{h:?}"))
        .filter(|_| decision.dial == 0))
}

/// Turns what Asterisk says of each dial into its outcome: OriginateResponse (the channel could
/// not be reached, or answered), DialEnd (the far end's DialStatus, also behind a
/// `Local/...` dial template, whose Originate succeeds whatever the carrier says) and Hangup (a
/// dial that ended before any call flow took it).
pub async fn watch_outcomes(ctx: Arc<DialerContext>, stop: CancellationToken) {
    let mut events = Box::pin(ctx.ami.events_matching(|e| {
        matches!(e.event(), Some("OriginateResponse" | "DialEnd" | "Hangup"))
    }));
    loop {
        let event = tokio::select! {
            _ = stop.cancelled() => return,
            event = events.next() => match event { Some(e) => e, None => return },
        };
        // The dial's channel carries our call id as Uniqueid (the ChannelId we set) and every
        // channel it leads to carries it as Linkedid. A failure before any channel existed
        // says `<unknown>`; reconciliation resolves that one.
        let id = |key: &str| event.get(key).and_then(|v| v.parse::<uuid::Uuid>().ok());
        let (call_id, outcome) = match event.event() {
            Some("OriginateResponse") => {
                let Some(call_id) = id("Uniqueid") else {
                    continue;
                };
                match event.get("Reason").and_then(Outcome::from_originate_reason) {
                    Some(outcome) => (call_id, outcome),
                    None => {
                        // Answered. A dialer call goes on in its AGI flow; a manual call is
                        // now connected.
                        if let Err(e) = dialtone_core::manual::answered(
                            &ctx.pool,
                            call_id,
                            event.get("Channel"),
                        )
                        .await
                        {
                            tracing::error!(%call_id, error = %e, "could not record the manual call's answer");
                        }
                        continue;
                    }
                }
            }
            Some("DialEnd") => {
                let (Some(call_id), Some(outcome)) = (
                    id("DestLinkedid").or_else(|| id("DestUniqueid")),
                    event.get("DialStatus").and_then(Outcome::from_dial_status),
                ) else {
                    continue;
                };
                (call_id, outcome)
            }
            _ => {
                // Cause 0 says nothing (Asterisk gives it to the dialing side of a busy call
                // after the DialEnd that told why).
                let (Some(call_id), Some(cause)) = (
                    id("Uniqueid"),
                    event
                        .get("Cause")
                        .and_then(|c| c.parse().ok())
                        .filter(|&c: &i32| c != 0),
                ) else {
                    continue;
                };
                (call_id, Outcome::from_hangup_cause(cause))
            }
        };
        match attempts::resolve_unanswered(&ctx.pool, call_id, outcome, chrono::Utc::now()).await {
            Ok(true) => tracing::info!(%call_id, outcome = outcome.as_str(), "dial ended"),
            Ok(false) => continue,
            Err(e) => {
                tracing::error!(%call_id, error = %e, "could not record the dial's outcome");
                continue;
            }
        }
        // A manual call has its call record already (and an agent waiting on it): close it.
        let ended = dialtone_core::calls::Ended {
            dial_status: Some(outcome.as_str()),
            ..Default::default()
        };
        if let Err(e) = dialtone_core::calls::end(&ctx.pool, call_id, &ended).await {
            tracing::error!(%call_id, error = %e, "could not close the unanswered call");
        }
    }
}

/// Reconciles this node's open dials and calls each time the AMI link comes up (the first time
/// too: a restart is a gap as well), and every `every` after (a database outage is a gap the
/// link does not see: `call-end` could not close the calls that ended meanwhile). Records
/// younger than `grace` are left to their flows. Third parties of consultations whose call
/// ended while nobody heard it are hung up at the same times (`control::sweep_consults`).
pub async fn keep_reconciled(
    ctx: Arc<DialerContext>,
    every: Duration,
    grace: Duration,
    stop: CancellationToken,
) {
    let mut link = ctx.ami.link();
    loop {
        let up = matches!(*link.borrow_and_update(), Link::Up { .. });
        if up {
            match reconcile(&ctx, grace).await {
                Ok(Reconciled {
                    dials: 0,
                    calls: 0,
                    abandons: 0,
                }) => {}
                Ok(Reconciled {
                    dials,
                    calls,
                    abandons,
                }) => tracing::warn!(dials, calls, abandons, "reconciled what a gap left open"),
                Err(e) => tracing::error!(error = %e, "reconciliation failed"),
            }
            if let Err(e) = crate::control::sweep_consults(&ctx.pool, &ctx.ami, &ctx.node).await {
                tracing::error!(error = %e, "could not sweep consultations left open");
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            changed = link.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(every) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::hopper_want;

    #[test]
    fn the_hopper_holds_what_the_pacer_needs_or_the_campaigns_size() {
        assert_eq!(
            hopper_want(5, 1.5, None, 0),
            15,
            "two turns of five agents at 1.5 lines"
        );
        assert_eq!(
            hopper_want(5, 0.5, None, 0),
            10,
            "never under a line per agent"
        );
        assert_eq!(
            hopper_want(5, 1.0, Some(40), 0),
            40,
            "the predictive model's lines"
        );
        assert_eq!(
            hopper_want(5, 1.0, Some(40), 200),
            200,
            "the campaign's hopper size when larger"
        );
        assert_eq!(hopper_want(0, 1.0, None, 0), 0);
        assert_eq!(
            hopper_want(0, 1.0, None, 200),
            0,
            "nobody ready: no claims to go stale"
        );
    }
}
