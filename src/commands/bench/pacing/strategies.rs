//! The strategies `bench pacing` compares. Dialtone's is the production pacer
//! (`dialtone_core::pacing`) behind the simulator's interface; the others are the references
//! of `docs/pacing.md`, written from their public descriptions.

use dialtone_core::pacing::{self, CallRate, Floor, Ledger, Pacer, Snapshot};
use dialtone_core::vocabulary::DialMethod;
use dialtone_sim::shift::{Strategy, Tallies, Tally, View};

/// One line per ready agent, counting the lines already ringing.
pub struct Progressive;

impl Strategy for Progressive {
    fn name(&self) -> String {
        "progressive".into()
    }
    fn decide(&mut self, v: &View<'_>) -> u32 {
        v.ready.saturating_sub(v.pending.len() as u32)
    }
}

/// `r` lines per ready agent (VICIdial RATIO with "available only" tally).
pub struct FixedRatio(pub f64);

impl Strategy for FixedRatio {
    fn name(&self) -> String {
        format!("fixed ratio {:.2}", self.0)
    }
    fn decide(&mut self, v: &View<'_>) -> u32 {
        ((self.0 * f64::from(v.ready)).floor() as u32).saturating_sub(v.pending.len() as u32)
    }
}

/// VICIdial's adaptive dial level (`AST_VDadapt.pl`, as `../shared/research/vicidial.md` §2.2
/// describes it): every 15 s the level moves by the 15-second average of ready agents minus
/// waiting calls over agents; once today's drop rate is over 3% after 50 calls, HARD_LIMIT
/// drops the level to 1 and TAPERED scales it by the HHMM time left to the latest server time.
/// Lines are the level times the active (ready or talking) agents, minus the calls up.
pub struct VicidialAdapt {
    pub tapered: bool,
    level: f64,
    samples: std::collections::VecDeque<(f64, f64, f64)>,
    last_level_update: f64,
    last_drop_update: f64,
    drop_pct: f64,
    calls_today: u64,
    minute: Tally,
}

/// The shift runs 09:00 to 17:00 server time; TAPERED's latest server time is 1700.
const SHIFT_START_HHMM: f64 = 900.0;
const LATEST_SERVER_HHMM: f64 = 1700.0;
const DROP_LIMIT_PCT: f64 = 3.0;
const MAX_LEVEL: f64 = 3.0;

impl VicidialAdapt {
    pub fn new(tapered: bool) -> Self {
        Self {
            tapered,
            level: 1.0,
            samples: Default::default(),
            last_level_update: 0.0,
            last_drop_update: 0.0,
            drop_pct: 0.0,
            calls_today: 0,
            minute: Tally::default(),
        }
    }

    fn hhmm(shift_secs: f64) -> f64 {
        let minutes = (shift_secs / 60.0).floor();
        SHIFT_START_HHMM + (minutes / 60.0).floor() * 100.0 + minutes % 60.0
    }

    fn update_level(&mut self, v: &View<'_>) {
        let n = self.samples.len().max(1) as f64;
        let ready = self.samples.iter().map(|s| s.0).sum::<f64>() / n;
        let waiting = self.samples.iter().map(|s| s.1).sum::<f64>() / n;
        let total = self.samples.iter().map(|s| s.2).sum::<f64>() / n;
        let diff = ready - waiting;
        let pct = if diff != 0.0 && total != 0.0 {
            100.0 * diff / total
        } else {
            0.0
        };
        let mut new = (self.level * (1.0 + pct / 100.0)).min(MAX_LEVEL);
        if new < 1.0 {
            new = 1.0;
        }
        let drops_1m_pct = if self.minute.dials > 0 {
            100.0 * self.minute.abandons as f64 / self.minute.dials as f64
        } else {
            0.0
        };
        if self.minute.dials > 20 && drops_1m_pct > 50.0 {
            new /= 2.0;
        }
        if self.calls_today > 50 && self.drop_pct > DROP_LIMIT_PCT {
            if self.tapered {
                let left = LATEST_SERVER_HHMM - Self::hhmm(v.shift_secs);
                new = if left < 0.0 {
                    1.0
                } else {
                    new * if left > 1000.0 { 1.0 } else { left / 1000.0 }
                };
            } else {
                new = 1.0;
            }
        }
        self.level = new.max(1.0);
    }
}

impl Strategy for VicidialAdapt {
    fn name(&self) -> String {
        if self.tapered {
            "VICIdial ADAPT_TAPERED"
        } else {
            "VICIdial ADAPT_HARD_LIMIT"
        }
        .into()
    }

    fn begin_shift(&mut self, _clock: f64) {
        self.samples.clear();
        self.last_level_update = 0.0;
        self.last_drop_update = 0.0;
        self.drop_pct = 0.0;
        self.calls_today = 0;
    }

    fn decide(&mut self, v: &View<'_>) -> u32 {
        let talking = v.talking.len() as f64;
        self.samples.push_back((
            f64::from(v.ready),
            f64::from(v.waiting),
            f64::from(v.logged_in),
        ));
        if self.samples.len() > 15 {
            self.samples.pop_front();
        }
        if v.shift_secs - self.last_drop_update >= 60.0 {
            self.last_drop_update = v.shift_secs;
            let today = v.tallies.today;
            let answers = today.connected + today.abandons;
            self.drop_pct = 100.0 * today.abandons as f64 / answers.max(1) as f64;
            self.calls_today = today.dials;
            self.minute = v.tallies.last_minute;
        }
        if v.shift_secs - self.last_level_update >= 15.0 {
            self.last_level_update = v.shift_secs;
            self.update_level(v);
        }
        let active = f64::from(v.ready) + talking;
        let up = v.pending.len() as f64 + f64::from(v.waiting) + talking;
        (self.level * active - up).floor().max(0.0) as u32
    }
}

/// Dialtone's predictive pacer, exactly as the dialer runs it: the same estimator, model, trim
/// and `pacing::decide`, on the simulator's clock.
pub struct Dialtone {
    pacer: Pacer,
    rate: CallRate,
    /// The campaign's estimate of AMD false positives, in percent.
    pub false_positive_pct: f64,
    pub hourly_cap_pct: Option<f64>,
    drop_secs: f64,
}

impl Dialtone {
    pub fn new(false_positive_pct: f64, drop_secs: f64) -> Self {
        Self {
            pacer: Pacer::new(),
            rate: CallRate::new(1000.0, 0.0),
            false_positive_pct,
            hourly_cap_pct: None,
            drop_secs,
        }
    }

    fn ledger(&self, t: &Tallies) -> Ledger {
        Ledger {
            abandons_30d: t.period.abandons,
            live_answers_30d: t.period.connected,
            abandons_1h: t.last_hour.abandons,
            live_answers_1h: t.last_hour.connected,
            cap_pct: 3.0,
            hourly_cap_pct: self.hourly_cap_pct,
            amd_false_positive_pct: self.false_positive_pct,
        }
    }
}

impl Strategy for Dialtone {
    fn name(&self) -> String {
        "Dialtone predictive".into()
    }
    fn decide(&mut self, v: &View<'_>) -> u32 {
        let floor = Floor {
            ready: v.ready,
            waiting: v.waiting,
            talking: v.talking,
            wrapping: v.wrapping,
            pending: v.pending,
        };
        let cap = v.logged_in.saturating_mul(20);
        let ledger = self.ledger(&v.tallies);
        let predicted = self.pacer.lines(&floor, &ledger, self.drop_secs, cap);
        let snapshot = Snapshot {
            method: DialMethod::Predictive,
            dial_ratio: 1.0,
            ready_agents: v.ready,
            lines_ringing: v.pending.len() as u32,
            lines_in_use: v.pending.len() as u32 + v.waiting + v.talking.len() as u32,
            max_lines: None,
            trunk_channels_free: None,
            ledger,
            leads_ready: u32::MAX,
            predicted,
        };
        pacing::decide(&snapshot, &mut self.rate, v.clock).dial
    }
    fn dial_settled(&mut self, dialed_at: f64, live: bool, settle_secs: f64) {
        self.pacer.observe_dial(dialed_at, live, settle_secs);
    }
    fn talk_ended(&mut self, secs: f64) {
        self.pacer.observe_talk(secs);
    }
    fn wrap_ended(&mut self, secs: f64) {
        self.pacer.observe_wrap(secs);
    }
    fn answered(&mut self, abandoned: bool, tallies: &Tallies) {
        let ledger = self.ledger(tallies);
        self.pacer.observe_answer(abandoned, &ledger);
    }
}
