//! How many lines to dial now. Pure code on a clock passed in: the dialer calls it with live
//! counts, the benchmark with simulated ones, and both get the same answer.
//!
//! Every method is capped by the campaign's maximum lines, its trunk channels and its calls per
//! second; and whenever the rolling 30-day abandon rate has reached the campaign's cap, every
//! method that could over-dial falls back to one line per ready agent until the rate recovers,
//! so the cap holds by construction. The predictive method's model lives in [`predictive`]; its
//! estimates in [`estimates`].

pub mod estimates;
pub mod predictive;

pub use predictive::{Floor, Pacer};

use crate::vocabulary::DialMethod;

/// What the dialer knows at this instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub method: DialMethod,
    pub dial_ratio: f64,
    /// Agents ready for a call now.
    pub ready_agents: u32,
    /// Calls originated and not yet answered or failed.
    pub lines_ringing: u32,
    /// All the campaign's calls up now (ringing and connected).
    pub lines_in_use: u32,
    pub max_lines: Option<u32>,
    /// Trunk channels free for this campaign now, when the carrier limits them.
    pub trunk_channels_free: Option<u32>,
    pub ledger: Ledger,
    /// Leads in the hopper, ready to dial.
    pub leads_ready: u32,
    /// For the predictive method: the lines [`Pacer::lines`] asks to add, `None` while it is
    /// still learning.
    pub predicted: Option<u32>,
}

/// The abandon ledger as the pacer sees it, with the campaign's limits.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ledger {
    /// Abandons and connected live answers over the last 30 days.
    pub abandons_30d: u64,
    pub live_answers_30d: u64,
    /// The same over the last hour, for a campaign with an hourly cap.
    pub abandons_1h: u64,
    pub live_answers_1h: u64,
    /// The campaign's cap in percent (at most 3).
    pub cap_pct: f64,
    /// A stricter cap on every rolling hour (UK practice), when the campaign sets one.
    pub hourly_cap_pct: Option<f64>,
    /// The campaign's reasoned estimate of live callees its AMD takes for machines, in percent
    /// of live answers: each is an abandon the ledger cannot see (Ofcom counts them).
    pub amd_false_positive_pct: f64,
}

impl Ledger {
    /// The 30-day rate in percent, estimated AMD false positives included.
    pub fn rate_30d_pct(&self) -> f64 {
        abandon_pct(self.abandons_30d, self.live_answers_30d) + self.amd_false_positive_pct
    }

    /// The last hour's rate in percent, estimated AMD false positives included.
    pub fn rate_1h_pct(&self) -> f64 {
        abandon_pct(self.abandons_1h, self.live_answers_1h) + self.amd_false_positive_pct
    }

    /// At or over a cap: no method may dial more than one line per ready agent.
    pub fn at_cap(&self) -> bool {
        self.rate_30d_pct() >= self.cap_pct
            || self
                .hourly_cap_pct
                .is_some_and(|cap| self.rate_1h_pct() >= cap)
    }
}

/// Why no more lines are dialed now: shown to supervisors as the pacer's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    AgentDriven,
    NoReadyAgents,
    /// The predictive model has too few answers yet; one line per ready agent meanwhile.
    Learning,
    /// The next line's chance of finding no agent is over the pacer's limit.
    AbandonRisk,
    EnoughLinesRinging,
    MaxLines,
    TrunkFull,
    CallsPerSecond,
    NoLeads,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Lines to originate now.
    pub dial: u32,
    /// Lines per ready agent the method aimed for.
    pub level: f64,
    /// The abandon cap forced one line per agent.
    pub capped_by_abandons: bool,
    /// Why not more, when `dial` is below what the level asked for.
    pub hold: Option<Hold>,
}

/// The 30-day abandon rate in percent; 0 with no answers yet.
pub fn abandon_pct(abandons: u64, live_answers: u64) -> f64 {
    let answered = abandons + live_answers;
    if answered == 0 {
        0.0
    } else {
        100.0 * abandons as f64 / answered as f64
    }
}

/// Calls-per-second budget as a token bucket on the caller's clock (seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct CallRate {
    per_second: f64,
    tokens: f64,
    last: f64,
}

impl CallRate {
    /// At most `per_second` originates a second, in bursts of at most one second's worth.
    pub fn new(per_second: f64, now: f64) -> Self {
        let per_second = per_second.max(0.0);
        Self {
            per_second,
            tokens: per_second,
            last: now,
        }
    }

    fn available(&mut self, now: f64) -> u32 {
        let elapsed = (now - self.last).max(0.0);
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.per_second.max(1.0));
        self.last = now;
        self.tokens.floor().max(0.0) as u32
    }

    fn take(&mut self, n: u32) {
        self.tokens -= f64::from(n);
    }
}

/// Lines to dial now, and why not more.
pub fn decide(s: &Snapshot, rate: &mut CallRate, now: f64) -> Decision {
    let capped_by_abandons = s.ledger.at_cap();
    let per_agent = |level: f64| (f64::from(s.ready_agents) * level).floor() as u32;
    let (level, wanted, mut hold) = match s.method {
        DialMethod::Manual | DialMethod::Preview => {
            return Decision {
                dial: 0,
                level: 0.0,
                capped_by_abandons,
                hold: Some(Hold::AgentDriven),
            }
        }
        DialMethod::Predictive if !capped_by_abandons => match s.predicted {
            Some(lines) => {
                // One line per ready agent is always safe: the model adds lines, never fewer.
                let lines = lines.max(per_agent(1.0).saturating_sub(s.lines_ringing));
                let level = f64::from(s.lines_ringing + lines) / f64::from(s.ready_agents.max(1));
                let why = if s.ready_agents == 0 {
                    Hold::NoReadyAgents
                } else {
                    Hold::AbandonRisk
                };
                (level, lines, (lines == 0).then_some(why))
            }
            None => (
                1.0,
                per_agent(1.0).saturating_sub(s.lines_ringing),
                Some(Hold::Learning),
            ),
        },
        DialMethod::Progressive | DialMethod::Predictive => {
            (1.0, per_agent(1.0).saturating_sub(s.lines_ringing), None)
        }
        _ if capped_by_abandons => (1.0, per_agent(1.0).saturating_sub(s.lines_ringing), None),
        DialMethod::Ratio => {
            let level = s.dial_ratio.max(1.0);
            (
                level,
                per_agent(level).saturating_sub(s.lines_ringing),
                None,
            )
        }
    };
    let model_driven =
        s.method == DialMethod::Predictive && !capped_by_abandons && s.predicted.is_some();
    if s.ready_agents == 0 && !model_driven {
        return Decision {
            dial: 0,
            level,
            capped_by_abandons,
            hold: Some(Hold::NoReadyAgents),
        };
    }
    if wanted == 0 && hold.is_none() {
        hold = Some(Hold::EnoughLinesRinging);
    }
    let mut dial = wanted;
    let mut limit = |cap: u32, why: Hold| {
        if cap < dial {
            dial = cap;
            hold = Some(why);
        }
    };
    if let Some(max) = s.max_lines {
        limit(max.saturating_sub(s.lines_in_use), Hold::MaxLines);
    }
    if let Some(free) = s.trunk_channels_free {
        limit(free, Hold::TrunkFull);
    }
    limit(s.leads_ready, Hold::NoLeads);
    limit(rate.available(now), Hold::CallsPerSecond);
    rate.take(dial);
    Decision {
        dial,
        level,
        capped_by_abandons,
        hold,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(method: DialMethod) -> Snapshot {
        Snapshot {
            method,
            dial_ratio: 2.5,
            ready_agents: 4,
            lines_ringing: 0,
            lines_in_use: 0,
            max_lines: None,
            trunk_channels_free: None,
            ledger: Ledger {
                live_answers_30d: 100,
                cap_pct: 3.0,
                ..Ledger::default()
            },
            leads_ready: 1000,
            predicted: None,
        }
    }

    fn run(s: &Snapshot) -> Decision {
        decide(s, &mut CallRate::new(100.0, 0.0), 0.0)
    }

    #[test]
    fn each_method_aims_for_its_level() {
        assert_eq!(run(&snapshot(DialMethod::Manual)).dial, 0);
        assert_eq!(
            run(&snapshot(DialMethod::Preview)).hold,
            Some(Hold::AgentDriven)
        );
        assert_eq!(run(&snapshot(DialMethod::Progressive)).dial, 4);
        assert_eq!(run(&snapshot(DialMethod::Ratio)).dial, 10);
        let learning = run(&snapshot(DialMethod::Predictive));
        assert_eq!(
            (learning.dial, learning.hold),
            (4, Some(Hold::Learning)),
            "predictive starts at one line per agent"
        );
        let model = Snapshot {
            predicted: Some(7),
            ..snapshot(DialMethod::Predictive)
        };
        assert_eq!(run(&model).dial, 7);
        let risky = Snapshot {
            predicted: Some(0),
            lines_ringing: 4,
            ..snapshot(DialMethod::Predictive)
        };
        assert_eq!(run(&risky).hold, Some(Hold::AbandonRisk));
        let timid = Snapshot {
            predicted: Some(1),
            ..snapshot(DialMethod::Predictive)
        };
        assert_eq!(
            run(&timid).dial,
            4,
            "never fewer than one line per ready agent"
        );
        let nobody_ready = Snapshot {
            ready_agents: 0,
            predicted: Some(3),
            ..snapshot(DialMethod::Predictive)
        };
        assert_eq!(
            run(&nobody_ready).dial,
            3,
            "agents about to be free earn lines"
        );
        let ringing = Snapshot {
            lines_ringing: 7,
            ..snapshot(DialMethod::Ratio)
        };
        assert_eq!(run(&ringing).dial, 3, "lines already ringing count");
    }

    #[test]
    fn the_abandon_cap_forces_one_line_per_agent() {
        let over_ledger = Ledger {
            abandons_30d: 3,
            live_answers_30d: 97,
            cap_pct: 3.0,
            ..Ledger::default()
        };
        let over = Snapshot {
            ledger: over_ledger.clone(),
            predicted: Some(40),
            ..snapshot(DialMethod::Predictive)
        };
        let d = run(&over);
        assert!(d.capped_by_abandons);
        assert_eq!((d.dial, d.level), (4, 1.0));
        let under = Snapshot {
            ledger: Ledger {
                abandons_30d: 2,
                live_answers_30d: 98,
                ..over_ledger.clone()
            },
            ..snapshot(DialMethod::Ratio)
        };
        assert_eq!(run(&under).dial, 10);
        // AMD false positives count: 2 measured + 1 estimated reaches 3.
        let amd = Ledger {
            abandons_30d: 2,
            live_answers_30d: 98,
            amd_false_positive_pct: 1.0,
            ..over_ledger.clone()
        };
        assert!(
            run(&Snapshot {
                ledger: amd,
                ..snapshot(DialMethod::Ratio)
            })
            .capped_by_abandons
        );
        // A campaign with an hourly cap falls back when the last hour is over it.
        let hour = Ledger {
            abandons_1h: 1,
            live_answers_1h: 30,
            hourly_cap_pct: Some(3.0),
            live_answers_30d: 1000,
            ..over_ledger
        };
        let d = run(&Snapshot {
            ledger: hour,
            predicted: Some(40),
            ..snapshot(DialMethod::Predictive)
        });
        assert_eq!((d.dial, d.capped_by_abandons), (4, true));
    }

    #[test]
    fn caps_and_bad_input() {
        let none = Snapshot {
            ready_agents: 0,
            ..snapshot(DialMethod::Ratio)
        };
        assert_eq!(run(&none).hold, Some(Hold::NoReadyAgents));
        let paused = Snapshot {
            ready_agents: 0,
            predicted: Some(0),
            ..snapshot(DialMethod::Predictive)
        };
        assert_eq!(run(&paused).hold, Some(Hold::NoReadyAgents));
        let lines = Snapshot {
            max_lines: Some(12),
            lines_in_use: 6,
            ..snapshot(DialMethod::Ratio)
        };
        assert_eq!(
            (run(&lines).dial, run(&lines).hold),
            (6, Some(Hold::MaxLines))
        );
        let trunk = Snapshot {
            trunk_channels_free: Some(2),
            ..snapshot(DialMethod::Ratio)
        };
        assert_eq!(run(&trunk).hold, Some(Hold::TrunkFull));
        let leads = Snapshot {
            leads_ready: 0,
            ..snapshot(DialMethod::Ratio)
        };
        assert_eq!(run(&leads).hold, Some(Hold::NoLeads));
        let weird = Snapshot {
            dial_ratio: f64::NAN,
            ..snapshot(DialMethod::Ratio)
        };
        assert_eq!(
            run(&weird).dial,
            4,
            "a ratio that is not a number dials one per agent"
        );
        assert_eq!(abandon_pct(0, 0), 0.0);
    }

    #[test]
    fn calls_per_second_on_the_callers_clock() {
        let s = snapshot(DialMethod::Ratio);
        let mut rate = CallRate::new(3.0, 0.0);
        assert_eq!(decide(&s, &mut rate, 0.0).dial, 3);
        assert_eq!(decide(&s, &mut rate, 0.0).hold, Some(Hold::CallsPerSecond));
        assert_eq!(decide(&s, &mut rate, 0.5).dial, 1);
        assert_eq!(
            decide(&s, &mut rate, 10.0).dial,
            3,
            "bursts are at most a second's worth"
        );
    }
}
