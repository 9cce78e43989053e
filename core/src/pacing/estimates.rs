//! What the predictive pacer has learned from the campaign's recent dials and calls.
//!
//! Nothing here is configured per campaign: the hit rate, the time from dial to the moment a
//! live call needs an agent, and how long dials stay pending all come from the last
//! [`DIAL_WINDOW`] resolved dials, as counts in half-second bins, so the model uses the
//! distribution the campaign actually has rather than an assumed shape. Talk time is fitted as a
//! lognormal over the last [`TALK_WINDOW`] calls (long-tailed, as call lengths are); wrap-up is
//! its recent mean.

use std::collections::{BTreeMap, VecDeque};

/// Resolved dials the estimates look back over: at least [`DIAL_WINDOW_MIN`], and more until
/// the window holds [`LIVE_WINDOW`] live answers (a 10% list needs 2,000 dials for a hit rate
/// good to ±7%; a hundred agents would otherwise pace on ±16%), but never more than
/// [`DIAL_WINDOW`], so a list whose contact rate changes is followed within the hour.
pub const DIAL_WINDOW: usize = 4000;
pub const DIAL_WINDOW_MIN: usize = 400;
pub const LIVE_WINDOW: usize = 200;
/// Finished calls the talk-time fit looks back over.
pub const TALK_WINDOW: usize = 300;
const WRAP_WINDOW: usize = 100;
/// Live answers the window must hold before the model is trusted: below it the pacer dials one
/// line per ready agent.
pub const MIN_LIVE: usize = 20;

/// Width of a settle-time bin, in seconds.
pub const BIN_SECS: f64 = 0.5;
/// Settle times are tracked up to two minutes; a longer one is counted in the last bin. The bound
/// keeps the tables small whatever the carrier does.
const BINS: usize = 240;

/// Rolling estimates fed one observation at a time, by the dialer from its database and by the
/// benchmark from its simulated calls: both through the same methods.
#[derive(Debug, Clone)]
pub struct Estimator {
    /// Keyed by when each dial was placed (ms, then arrival), so the window is the latest
    /// dials, not the latest to settle: after a burst, the no-answers all settle last and a
    /// window in settling order would hold almost nothing else.
    dials: BTreeMap<(i64, u64), (bool, u16)>,
    arrivals: u64,
    live: usize,
    live_bins: Vec<u32>,
    all_bins: Vec<u32>,
    talks: VecDeque<f64>,
    log_sum: f64,
    log_sq_sum: f64,
    wraps: VecDeque<f64>,
    wrap_sum: f64,
}

impl Default for Estimator {
    fn default() -> Self {
        Self::new()
    }
}

fn bin(secs: f64) -> u16 {
    let b = (secs.max(0.0) / BIN_SECS).floor();
    if b.is_finite() && !secs.is_nan() {
        (b as usize).min(BINS - 1) as u16
    } else {
        (BINS - 1) as u16
    }
}

impl Estimator {
    pub fn new() -> Self {
        Self {
            dials: BTreeMap::new(),
            arrivals: 0,
            live: 0,
            live_bins: vec![0; BINS],
            all_bins: vec![0; BINS],
            talks: VecDeque::with_capacity(TALK_WINDOW + 1),
            log_sum: 0.0,
            log_sq_sum: 0.0,
            wraps: VecDeque::with_capacity(WRAP_WINDOW + 1),
            wrap_sum: 0.0,
        }
    }

    /// A dial placed at `dialed_at` (seconds on any clock) stopped being pending: it reached
    /// the point of needing an agent (`live`), or it ended without (no answer, busy, a machine
    /// released). `settle_secs` is from the dial.
    pub fn observe_dial(&mut self, dialed_at: f64, live: bool, settle_secs: f64) {
        let b = bin(settle_secs);
        let at = if dialed_at.is_finite() {
            (dialed_at * 1000.0) as i64
        } else {
            i64::MAX
        };
        self.arrivals += 1;
        self.dials.insert((at, self.arrivals), (live, b));
        self.all_bins[usize::from(b)] += 1;
        if live {
            self.live += 1;
            self.live_bins[usize::from(b)] += 1;
        }
        while let Some((&key, &(was_live, old))) = self.dials.first_key_value() {
            let live_after = self.live - usize::from(was_live);
            let enough = self.dials.len() > DIAL_WINDOW_MIN && live_after >= LIVE_WINDOW;
            if self.dials.len() <= DIAL_WINDOW && !enough {
                break;
            }
            self.dials.remove(&key);
            self.all_bins[usize::from(old)] -= 1;
            if was_live {
                self.live -= 1;
                self.live_bins[usize::from(old)] -= 1;
            }
        }
    }

    /// A call with an agent ended after `secs` of talk.
    pub fn observe_talk(&mut self, secs: f64) {
        if !(secs.is_finite() && secs > 0.0) {
            return;
        }
        let l = secs.max(1.0).ln();
        self.talks.push_back(l);
        self.log_sum += l;
        self.log_sq_sum += l * l;
        if self.talks.len() > TALK_WINDOW {
            if let Some(old) = self.talks.pop_front() {
                self.log_sum -= old;
                self.log_sq_sum -= old * old;
            }
        }
    }

    /// An agent's wrap-up after a call took `secs`.
    pub fn observe_wrap(&mut self, secs: f64) {
        if !(secs.is_finite() && secs >= 0.0) {
            return;
        }
        self.wraps.push_back(secs);
        self.wrap_sum += secs;
        if self.wraps.len() > WRAP_WINDOW {
            if let Some(old) = self.wraps.pop_front() {
                self.wrap_sum -= old;
            }
        }
    }

    /// Resolved dials in the window.
    pub fn dials(&self) -> usize {
        self.dials.len()
    }

    /// Live answers in the window.
    pub fn live(&self) -> usize {
        self.live
    }

    /// Live answers per dial over the window; 0 before any dial.
    pub fn hit_rate(&self) -> f64 {
        if self.dials.is_empty() {
            0.0
        } else {
            self.live as f64 / self.dials.len() as f64
        }
    }

    /// Enough evidence to dial on the model.
    pub fn ready(&self) -> bool {
        self.live >= MIN_LIVE && self.talks.len() >= MIN_LIVE.min(TALK_WINDOW)
    }

    /// Mean wrap-up; 0 before any was seen.
    pub fn wrap_mean(&self) -> f64 {
        if self.wraps.is_empty() {
            0.0
        } else {
            (self.wrap_sum / self.wraps.len() as f64).max(0.0)
        }
    }

    /// The lognormal fit of talk time: (mean, sd) of its logarithm.
    pub fn talk_log_params(&self) -> Option<(f64, f64)> {
        let n = self.talks.len();
        if n < 2 {
            return None;
        }
        let mean = self.log_sum / n as f64;
        let var = (self.log_sq_sum / n as f64 - mean * mean).max(0.0) * n as f64 / (n - 1) as f64;
        // A floor on the spread: identical talk times would make the fit a step function that
        // promises an agent at an exact second.
        Some((mean, var.sqrt().max(0.05)))
    }

    /// The tables the model reads, computed once per decision.
    pub fn tables(&self) -> Tables {
        let mut live_upto = vec![0u32; BINS + 1];
        let mut pending_after = vec![0u32; BINS + 1];
        for b in 0..BINS {
            live_upto[b + 1] = live_upto[b] + self.live_bins[b];
        }
        for b in (0..BINS).rev() {
            pending_after[b] = pending_after[b + 1] + self.all_bins[b];
        }
        Tables {
            live_upto,
            pending_after,
            dials: self.dials.len() as u32,
            live: self.live as u32,
        }
    }
}

/// Cumulative counts over the dial window, in [`BIN_SECS`] bins.
#[derive(Debug, Clone)]
pub struct Tables {
    /// `live_upto[b]`: live dials that needed an agent within `b` bins of being dialed.
    live_upto: Vec<u32>,
    /// `pending_after[b]`: dials still pending after `b` bins.
    pending_after: Vec<u32>,
    dials: u32,
    live: u32,
}

fn bins_of(secs: f64) -> usize {
    let b = (secs.max(0.0) / BIN_SECS).floor();
    if b.is_finite() {
        (b as usize).min(BINS)
    } else {
        BINS
    }
}

impl Tables {
    /// Probability that a dial placed now needs an agent within `secs`.
    pub fn new_dial_live_by(&self, secs: f64) -> f64 {
        if self.dials == 0 {
            return 0.0;
        }
        f64::from(self.live_upto[bins_of(secs)]) / f64::from(self.dials)
    }

    /// Probability that a dial pending for `elapsed` needs an agent within `secs` more: its
    /// chance given that it has not settled yet, read from dials that lasted at least as long.
    pub fn pending_live_within(&self, elapsed: f64, secs: f64) -> f64 {
        let from = bins_of(elapsed);
        let still = self.pending_after[from];
        if still == 0 {
            // Pending longer than any dial in the window: it will end without an answer.
            return 0.0;
        }
        let to = bins_of(elapsed + secs);
        let live = self.live_upto[to].saturating_sub(self.live_upto[from]);
        (f64::from(live) / f64::from(still)).min(1.0)
    }

    /// Of the live dials, the share that needed an agent between `from` and `to` seconds after
    /// dialing: the weight of that slice of time for a new dial.
    pub fn live_share_between(&self, from: f64, to: f64) -> f64 {
        if self.live == 0 {
            return 0.0;
        }
        let a = self.live_upto[bins_of(from)];
        let b = self.live_upto[bins_of(to)];
        f64::from(b.saturating_sub(a)) / f64::from(self.live)
    }

    /// The longest time to need an agent seen in the window, in seconds (0 with no live dial).
    pub fn longest_live(&self) -> f64 {
        let last = self
            .live_upto
            .iter()
            .rposition(|&c| c < self.live)
            .map_or(0, |b| b + 1);
        last as f64 * BIN_SECS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_forgets_old_dials() {
        let mut e = Estimator::new();
        for i in 0..1000 {
            e.observe_dial(i as f64, true, 10.0);
        }
        assert_eq!(
            (e.dials(), e.hit_rate()),
            (DIAL_WINDOW_MIN, 1.0),
            "a rich list needs only the shortest window"
        );
        for i in 0..DIAL_WINDOW {
            e.observe_dial(10_000.0 + i as f64, false, 25.0);
        }
        assert_eq!(
            (e.dials(), e.live(), e.hit_rate()),
            (DIAL_WINDOW, 0, 0.0),
            "a dead list, the longest"
        );
        for i in 0..2000 {
            e.observe_dial(20_000.0 + i as f64, i % 10 == 0, 10.0);
        }
        assert_eq!(
            (e.dials(), e.live()),
            (2000, LIVE_WINDOW),
            "a 10% list keeps 200 live answers"
        );
    }

    #[test]
    fn the_window_is_in_dialing_order() {
        let mut e = Estimator::new();
        // A burst: 100 dials at once, the live ones settling first, then the rest at 25 s.
        for _ in 0..10 {
            e.observe_dial(500.0, true, 10.0);
        }
        for _ in 0..90 {
            e.observe_dial(500.0, false, 25.0);
        }
        // Later dials that settled before the burst's no-answers came in: still newer.
        for i in 0..DIAL_WINDOW {
            e.observe_dial(600.0 + i as f64, i % 10 == 0, 10.0);
        }
        assert_eq!(e.dials(), 2000, "the burst is the oldest and went first");
        e.observe_dial(100.0, true, 10.0);
        assert_eq!(
            e.live(),
            LIVE_WINDOW,
            "a dial older than the window is dropped at once"
        );
    }

    #[test]
    fn pending_dials_are_judged_by_those_that_lasted_as_long() {
        let mut e = Estimator::new();
        // Half the dials answer live at 10 s, half ring out at 25 s.
        for _ in 0..100 {
            e.observe_dial(0.0, true, 10.0);
            e.observe_dial(0.0, false, 25.0);
        }
        let t = e.tables();
        assert!((t.new_dial_live_by(11.0) - 0.5).abs() < 1e-9);
        assert_eq!(t.new_dial_live_by(9.0), 0.0);
        // After 5 s every dial is still pending; half of them will answer by 11 s.
        assert!((t.pending_live_within(5.0, 6.0) - 0.5).abs() < 1e-9);
        // After 12 s only the ones that ring out are left.
        assert_eq!(t.pending_live_within(12.0, 10.0), 0.0);
        // Longer than any dial seen: it will not answer.
        assert_eq!(t.pending_live_within(200.0, 10.0), 0.0);
        assert!((t.live_share_between(9.5, 10.5) - 1.0).abs() < 1e-9);
        assert_eq!(t.longest_live(), 10.5);
    }

    #[test]
    fn talk_time_fit_and_bad_values() {
        let mut e = Estimator::new();
        assert_eq!(e.talk_log_params(), None);
        for s in [60.0, 180.0, 540.0] {
            e.observe_talk(s);
        }
        e.observe_talk(f64::NAN);
        e.observe_talk(-3.0);
        let (mu, sd) = e.talk_log_params().unwrap();
        assert!((mu - 180f64.ln()).abs() < 1e-9);
        assert!((sd - 3f64.ln()).abs() < 1e-9);
        e.observe_wrap(10.0);
        e.observe_wrap(f64::INFINITY);
        assert_eq!(e.wrap_mean(), 10.0);
        // A settle time that is not a number lands in the last bin instead of panicking.
        e.observe_dial(1.0, true, f64::NAN);
        assert_eq!(e.tables().longest_live(), 120.0);
    }
}
