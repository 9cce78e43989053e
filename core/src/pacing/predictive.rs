//! The predictive pacer: how many more lines to dial so that agents about to be free find a
//! call, while the chance that the next line's callee finds no agent stays under a limit `θ`
//! that is trimmed by the abandons actually measured.
//!
//! For each slice of the next half-minute the model adds up, as sums of independent chances:
//! the agents free by then (ready now, wrap-ups ending, calls ending, from the lognormal fit
//! and each call's elapsed time) and the calls needing an agent by then (calls waiting now, each
//! pending dial's chance given how long it has already rung, and the lines added this turn).
//! A new line's risk is the chance that, when its callee needs an agent or at any moment after
//! (when it holds an agent a later callee needed), callees outnumber free agents (normal
//! approximation), averaged over when live calls need agents. Lines are added
//! while that risk is at most `θ`. The trim moves `θ` after every live answer so that the
//! abandon rate settles at 95% of the room the cap leaves, and spends or repays over the next
//! answers whatever the 30-day period has banked or overdrawn. That is the EIS/ITC hybrid
//! (model plus feedback) of `docs/pacing.md`, fed only with the campaign's own recent numbers.

use super::estimates::{Estimator, Tables};
use super::Ledger;

/// Width of a slice of time ahead, in seconds.
const SLICE_SECS: f64 = 2.5;
/// `θ` for a campaign with no history: on the low side of where a 3% cap settles, so a new
/// campaign starts careful and the trim raises it.
pub const INITIAL_THETA: f64 = 0.008;
const THETA_MIN: f64 = 0.002;
const THETA_MAX: f64 = 0.5;
/// How far each live answer moves `θ`: small enough that one abandon is not a trend, large
/// enough to follow a list whose contact rate changes.
const TRIM_GAIN: f64 = 0.001;
/// The share of the room under the cap the trim aims at; the rest absorbs noise.
const TARGET_SHARE: f64 = 0.95;
/// Answers over which the period's banked or overdrawn abandons are spent or repaid.
const SPREAD_ANSWERS: f64 = 2000.0;
/// Room under the cap below which `θ` is scaled down, in abandons: at least 4, and 0.1% of the
/// period's answers. A campaign close to its cap, or with few answers yet, dials more carefully
/// the closer it is, smoothly rather than falling back all at once.
/// This band, not the trim's target, is where the pooled rate settles (2.84%): with a band half as
/// wide and the trim aiming at 97% of the room, the rate rose to 2.9% with no more occupancy
/// (84.6% against 84.8% at 25 agents, seeds 1–30).
const BUDGET_FULL_MIN: f64 = 4.0;
const BUDGET_FULL_SHARE: f64 = 0.001;
/// The share of the room under the cap the budget counts: calls already in flight can still
/// add abandons after the last decision, so the period must not be run up to the cap itself.
const BUDGET_SHARE: f64 = 0.98;
/// Variance added to every sum so that a fully certain floor still gives a smooth risk.
const VARIANCE_FLOOR: f64 = 0.02;

/// The floor now, as seconds elapsed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Floor<'a> {
    /// Agents ready for a call.
    pub ready: u32,
    /// Live calls waiting for an agent now.
    pub waiting: u32,
    /// Agents on a call: seconds since each was connected.
    pub talking: &'a [f64],
    /// Agents in wrap-up: seconds since each began.
    pub wrapping: &'a [f64],
    /// Dials placed and not settled: seconds since each was dialed.
    pub pending: &'a [f64],
}

/// The campaign's predictive state: its estimates and its current `θ`.
#[derive(Debug, Clone)]
pub struct Pacer {
    estimator: Estimator,
    theta: f64,
}

impl Default for Pacer {
    fn default() -> Self {
        Self::new()
    }
}

/// Standard normal distribution function.
fn phi(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// One slice of time ahead: how much it weighs for a new line and the surplus of agents then.
struct Slice {
    weight: f64,
    surplus: f64,
    variance: f64,
    /// Chance that one new line needs an agent by then.
    new_line: f64,
}

impl Pacer {
    pub fn new() -> Self {
        Self {
            estimator: Estimator::new(),
            theta: INITIAL_THETA,
        }
    }

    /// Continues with a `θ` saved earlier (a restart should not relearn it).
    pub fn resume(theta: f64) -> Self {
        let theta = if theta.is_finite() {
            theta.clamp(THETA_MIN, THETA_MAX)
        } else {
            INITIAL_THETA
        };
        Self {
            estimator: Estimator::new(),
            theta,
        }
    }

    pub fn theta(&self) -> f64 {
        self.theta
    }

    pub fn estimator(&self) -> &Estimator {
        &self.estimator
    }

    /// Starts the estimates over (the dialer reloads them from its database).
    pub fn clear_estimates(&mut self) {
        self.estimator = Estimator::new();
    }

    pub fn observe_dial(&mut self, dialed_at: f64, live: bool, settle_secs: f64) {
        self.estimator.observe_dial(dialed_at, live, settle_secs);
    }

    pub fn observe_talk(&mut self, secs: f64) {
        self.estimator.observe_talk(secs);
    }

    pub fn observe_wrap(&mut self, secs: f64) {
        self.estimator.observe_wrap(secs);
    }

    /// Abandons the 30-day period can still take before it reaches the cap (AMD false
    /// positives counted), and the room under the cap as a fraction of answers.
    /// Returns that budget as a share of the budget at which `θ` applies in full.
    fn budget(ledger: &Ledger) -> (f64, f64) {
        let room = (ledger.cap_pct - ledger.amd_false_positive_pct) / 100.0;
        let answers = (ledger.abandons_30d + ledger.live_answers_30d) as f64;
        let budget = BUDGET_SHARE * room * answers - ledger.abandons_30d as f64;
        (
            budget / BUDGET_FULL_MIN.max(BUDGET_FULL_SHARE * answers),
            room,
        )
    }

    /// `θ` as it applies now: scaled down when the period has little room left.
    pub fn effective_theta(&self, ledger: &Ledger) -> f64 {
        let (budget, _) = Self::budget(ledger);
        self.theta * budget.clamp(0.0, 1.0)
    }

    /// A live answer was connected or abandoned; `ledger` is the period including it.
    pub fn observe_answer(&mut self, abandoned: bool, ledger: &Ledger) {
        let (budget, room) = Self::budget(ledger);
        if room <= 0.0 {
            return;
        }
        let target = room * TARGET_SHARE;
        let answers = (ledger.abandons_30d + ledger.live_answers_30d) as f64;
        let rate = if answers > 0.0 {
            ledger.abandons_30d as f64 / answers
        } else {
            target
        };
        let setpoint =
            (target + (target - rate) * answers / SPREAD_ANSWERS).clamp(0.5 * target, 1.5 * target);
        let seen = if abandoned { 1.0 } else { 0.0 };
        let mut step = TRIM_GAIN * ((setpoint - seen) / setpoint).max(-25.0);
        // While the budget holds the pacer back, answers without abandons say nothing about
        // `θ`: raising it then would only store up a burst for when the budget returns.
        if budget < 1.0 || ledger.at_cap() {
            step = step.min(0.0);
        }
        self.theta = (self.theta * step.exp()).clamp(THETA_MIN, THETA_MAX);
    }

    /// Lines to add now, at most `max_new`; `None` while there is too little history, when the
    /// caller dials one line per ready agent instead.
    pub fn lines(
        &self,
        floor: &Floor<'_>,
        ledger: &Ledger,
        drop_secs: f64,
        max_new: u32,
    ) -> Option<u32> {
        if !self.estimator.ready() {
            return None;
        }
        let (mu, sd) = self.estimator.talk_log_params()?;
        let tables = self.estimator.tables();
        let slices = self.slices(floor, &tables, drop_secs, mu, sd);
        let total: f64 = slices.iter().map(|s| s.weight).sum();
        if total <= 0.0 {
            return None;
        }
        // A new line's live callee either finds no agent, or takes one that a callee answering
        // later would have had: so its risk at a moment is the worst shortage from then on.
        let risk = |n: f64| {
            let mut worst_after = 0.0f64;
            let mut sum = 0.0;
            for s in slices.iter().rev() {
                let mean = s.surplus - n * s.new_line;
                let var = s.variance + n * s.new_line * (1.0 - s.new_line) + VARIANCE_FLOOR;
                worst_after = worst_after.max(phi((0.5 - mean) / var.sqrt()));
                sum += s.weight * worst_after;
            }
            sum / total
        };
        let theta = self.effective_theta(ledger);
        let mut n = 0;
        while n < max_new && risk(f64::from(n)) <= theta {
            n += 1;
        }
        Some(n)
    }

    fn slices(
        &self,
        floor: &Floor<'_>,
        tables: &Tables,
        drop_secs: f64,
        mu: f64,
        sd: f64,
    ) -> Vec<Slice> {
        let wrap = self.estimator.wrap_mean();
        let talk_cdf = |t: f64| {
            if t <= 0.0 {
                0.0
            } else {
                phi((t.ln() - mu) / sd)
            }
        };
        // Each talking agent's chance of still talking, computed once for every slice.
        let talking: Vec<(f64, f64)> = floor
            .talking
            .iter()
            .map(|&a| (a, 1.0 - talk_cdf(a)))
            .collect();
        let end = tables.longest_live();
        let mut slices = Vec::with_capacity((end / SLICE_SECS).ceil() as usize);
        let mut from = 0.0;
        while from < end {
            let to = from + SLICE_SECS;
            let weight = tables.live_share_between(from, to);
            from = to;
            if weight < 1e-3 {
                continue;
            }
            let at = to - SLICE_SECS / 2.0;
            // Agents free by the time the call has waited out the drop window.
            let by = at + drop_secs;
            let mut supply = f64::from(floor.ready);
            let mut variance = 0.0;
            for &(elapsed, surviving) in &talking {
                let done_by = elapsed + by - wrap;
                let p = if surviving < 1e-9 || done_by <= elapsed {
                    0.0
                } else {
                    ((talk_cdf(done_by) - (1.0 - surviving)) / surviving).clamp(0.0, 1.0)
                };
                supply += p;
                variance += p * (1.0 - p);
            }
            supply += floor.wrapping.iter().filter(|&&w| wrap - w <= by).count() as f64;
            let mut demand = f64::from(floor.waiting);
            for &elapsed in floor.pending {
                let p = tables.pending_live_within(elapsed, at);
                demand += p;
                variance += p * (1.0 - p);
            }
            slices.push(Slice {
                weight,
                surplus: supply - demand,
                variance,
                new_line: tables.new_dial_live_by(at),
            });
        }
        slices
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger(abandons: u64, live: u64) -> Ledger {
        Ledger {
            abandons_30d: abandons,
            live_answers_30d: live,
            cap_pct: 3.0,
            ..Ledger::default()
        }
    }

    /// A campaign where one dial in `1/hit` answers live after 10 s and calls last 180 s.
    fn learned(hit_every: usize) -> Pacer {
        let mut p = Pacer::new();
        for i in 0..400 {
            p.observe_dial(
                i as f64,
                i % hit_every == 0,
                if i % hit_every == 0 { 10.0 } else { 25.0 },
            );
        }
        for i in 0..100 {
            p.observe_talk(150.0 + f64::from(i % 7) * 10.0);
            p.observe_wrap(10.0);
        }
        p
    }

    impl Pacer {
        /// With plenty of room under the cap.
        fn lines_for_test(&self, floor: &Floor<'_>, drop_secs: f64, max_new: u32) -> Option<u32> {
            self.lines(floor, &ledger(0, 10_000), drop_secs, max_new)
        }
    }

    #[test]
    fn little_room_under_the_cap_means_fewer_lines() {
        let p = learned(10);
        let floor = Floor {
            ready: 10,
            ..Floor::default()
        };
        let roomy = p.lines(&floor, &ledger(0, 10_000), 2.0, 1000).unwrap();
        let tight = p.lines(&floor, &ledger(29, 1000), 2.0, 1000).unwrap();
        let none = p.lines(&floor, &ledger(0, 0), 2.0, 1000).unwrap();
        assert!(tight < roomy, "{tight} vs {roomy}");
        assert!(
            none <= 10,
            "a campaign with no answers yet has no room: {none}"
        );
    }

    #[test]
    fn no_model_without_history() {
        let p = Pacer::new();
        assert_eq!(
            p.lines_for_test(
                &Floor {
                    ready: 10,
                    ..Floor::default()
                },
                2.0,
                100
            ),
            None
        );
    }

    #[test]
    fn idle_agents_get_about_one_live_answer_each() {
        let p = learned(10);
        let n = p
            .lines_for_test(
                &Floor {
                    ready: 10,
                    ..Floor::default()
                },
                2.0,
                1000,
            )
            .unwrap();
        // Ten ready agents and a 10% hit rate: up to a hundred lines, fewer for safety.
        assert!((30..=110).contains(&n), "{n}");
        // The same agents with those lines already ringing: few or none more.
        let pending = vec![3.0; n as usize];
        let more = p
            .lines_for_test(
                &Floor {
                    ready: 10,
                    pending: &pending,
                    ..Floor::default()
                },
                2.0,
                1000,
            )
            .unwrap();
        assert!(more <= 5, "{more}");
    }

    #[test]
    fn agents_about_to_finish_earn_lines_and_paused_floors_earn_none() {
        let p = learned(10);
        // Calls of 150 to 210 s: those at 200 s end soon.
        let talking = vec![200.0; 10];
        let soon = p
            .lines_for_test(
                &Floor {
                    ready: 5,
                    talking: &talking,
                    ..Floor::default()
                },
                2.0,
                1000,
            )
            .unwrap();
        let fresh = vec![1.0; 10];
        let later = p
            .lines_for_test(
                &Floor {
                    ready: 5,
                    talking: &fresh,
                    ..Floor::default()
                },
                2.0,
                1000,
            )
            .unwrap();
        assert!(soon > later, "{soon} vs {later}");
        let none_ready = p
            .lines_for_test(
                &Floor {
                    talking: &fresh,
                    ..Floor::default()
                },
                2.0,
                1000,
            )
            .unwrap();
        assert_eq!(
            none_ready, 0,
            "calls just begun free nobody in the next half-minute"
        );
        assert_eq!(
            p.lines_for_test(&Floor::default(), 2.0, 1000),
            Some(0),
            "no agent at all: no line"
        );
        let waiting = p
            .lines_for_test(
                &Floor {
                    ready: 2,
                    waiting: 2,
                    ..Floor::default()
                },
                2.0,
                1000,
            )
            .unwrap();
        assert_eq!(waiting, 0, "calls already waiting take the ready agents");
    }

    #[test]
    fn the_trim_tightens_on_abandons_and_loosens_without() {
        let mut p = Pacer::new();
        let start = p.theta();
        for _ in 0..50 {
            p.observe_answer(true, &ledger(100, 900));
        }
        assert!(p.theta() <= start / 3.0);
        let low = p.theta();
        for _ in 0..4000 {
            p.observe_answer(false, &ledger(0, 1000));
        }
        assert!(p.theta() > low * 10.0);
        // AMD false positives that alone use the cap leave nothing to trim on.
        let mut q = Pacer::new();
        q.observe_answer(
            true,
            &Ledger {
                amd_false_positive_pct: 3.0,
                ..ledger(0, 10)
            },
        );
        assert_eq!(q.theta(), INITIAL_THETA);
    }

    #[test]
    fn resume_refuses_nonsense() {
        assert_eq!(Pacer::resume(f64::NAN).theta(), INITIAL_THETA);
        assert_eq!(Pacer::resume(7.0).theta(), THETA_MAX);
    }
}
