//! Who picks up: a seeded draw per dial.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What happens to one dial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callee {
    /// Busy signal after `ring`.
    Busy { ring: Duration },
    /// The network cannot complete the call (all circuits busy) after `ring`.
    Congestion { ring: Duration },
    /// Rings until the Originate's timeout.
    NoAnswer,
    /// A person answers after `ring` and talks for `talk` once with an agent. One who is not
    /// with an agent within `patience` of answering hangs up.
    Human {
        ring: Duration,
        talk: Duration,
        patience: Option<Duration>,
        amd: Verdict,
    },
    /// An answering machine answers after `ring`.
    Machine { ring: Duration, amd: Verdict },
}

/// What Asterisk's AMD() says of an answered call, as `AMDSTATUS` and `AMDCAUSE`; it is wrong
/// as often as the model says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Human,
    Machine,
}

impl Verdict {
    /// The AGI arguments the dialplan passes on: `${AMDSTATUS},${AMDCAUSE}`, as Asterisk 22
    /// words them (`agi/outbound-amd-*.jsonl`).
    pub fn agi_args(self) -> [&'static str; 2] {
        match self {
            Verdict::Human => ["HUMAN", "HUMAN-800-800"],
            Verdict::Machine => ["MACHINE", "LONGGREETING-1500-1500"],
        }
    }
}

/// Shares of each fate; the rest of the dials are not answered.
#[derive(Debug, Clone)]
pub struct CalleeModel {
    pub busy: f64,
    /// None by default, so runs that set the other shares keep their draws.
    pub congestion: f64,
    pub human: f64,
    pub machine: f64,
    pub ring: (Duration, Duration),
    pub talk: (Duration, Duration),
    /// Share of people AMD() calls machines (they are hung up on or get the machine's message).
    pub amd_false_positive: f64,
    /// Share of machines AMD() calls people (an agent gets a greeting).
    pub amd_false_negative: f64,
    /// Share of people who hang up when nobody is there for them within `patience`.
    pub impatient: f64,
    pub patience: (Duration, Duration),
    /// Simulated time runs this many times faster than the wall clock: every ring, talk and
    /// patience time drawn, and the Originate's ring timeout, are divided by it.
    pub time_scale: f64,
    /// Callees chosen by the number dialed, as the real-Asterisk tests' dialplan chooses them
    /// ([`CalleeModel::scripted`]), so one scenario runs alike against both.
    pub by_number: bool,
    rng: StdRng,
}

impl CalleeModel {
    pub fn new(seed: u64) -> Self {
        Self {
            busy: 0.1,
            congestion: 0.0,
            human: 0.3,
            machine: 0.1,
            ring: (Duration::from_secs(5), Duration::from_secs(25)),
            talk: (Duration::from_secs(60), Duration::from_secs(300)),
            amd_false_positive: 0.0,
            amd_false_negative: 0.0,
            impatient: 0.0,
            patience: (Duration::from_secs(1), Duration::from_secs(5)),
            time_scale: 1.0,
            by_number: false,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    fn between(&mut self, (low, high): (Duration, Duration)) -> Duration {
        let drawn = if high <= low {
            low
        } else {
            self.rng.gen_range(low..high)
        };
        self.scaled(drawn)
    }

    /// A simulated duration on the wall clock.
    pub fn scaled(&self, d: Duration) -> Duration {
        if self.time_scale > 0.0 && self.time_scale.is_finite() {
            d.div_f64(self.time_scale)
        } else {
            d
        }
    }

    /// True with probability `p`; draws nothing when `p` is zero, so a model without the
    /// feature keeps its sequence.
    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.rng.gen::<f64>() < p
    }

    /// The callee behind `dial` (a dial string): by its number's last four digits when the
    /// model goes by number and they name one, else drawn.
    pub fn callee_for(&mut self, dial: &str) -> Callee {
        if self.by_number {
            if let Some(callee) = self.scripted(dial) {
                return callee;
            }
        }
        self.draw()
    }

    /// The callees of `tests/common/asterisk.rs`'s `[test-callees]`, by the number's last four
    /// digits: `01xx` a person, `02xx` a machine, `03xx` silence (AMD calls it a machine),
    /// `04xx` busy, `05xx` congestion, `06xx` no answer, `07xx` a person who hangs up 3 seconds
    /// after saying hello, `08xx` a person who answers after 4 seconds.
    pub fn scripted(&self, dial: &str) -> Option<Callee> {
        let number = dial.split('@').next().unwrap_or(dial);
        let digits: Vec<u8> = number.bytes().filter(u8::is_ascii_digit).collect();
        let kind = digits.get(digits.len().checked_sub(4)?..digits.len().checked_sub(2)?)?;
        let forever = Duration::from_secs(3600);
        let at_once = Duration::ZERO;
        let person = |ring, patience| Callee::Human {
            ring,
            talk: forever,
            patience,
            amd: Verdict::Human,
        };
        Some(match kind {
            b"01" => person(at_once, None),
            b"02" | b"03" => Callee::Machine {
                ring: at_once,
                amd: Verdict::Machine,
            },
            b"04" => Callee::Busy { ring: at_once },
            b"05" => Callee::Congestion { ring: at_once },
            b"06" => Callee::NoAnswer,
            b"07" => person(at_once, Some(self.scaled(Duration::from_secs(4)))),
            b"08" => person(self.scaled(Duration::from_secs(4)), None),
            _ => return None,
        })
    }

    /// A callee drawn from the model's odds.
    pub fn draw(&mut self) -> Callee {
        let draw: f64 = self.rng.gen();
        let ring = self.between(self.ring);
        if draw < self.busy {
            Callee::Busy { ring: ring / 5 }
        } else if draw < self.busy + self.congestion {
            Callee::Congestion { ring: ring / 5 }
        } else if draw < self.busy + self.congestion + self.human {
            let talk = self.between(self.talk);
            let amd = if self.chance(self.amd_false_positive) {
                Verdict::Machine
            } else {
                Verdict::Human
            };
            let patience = if self.chance(self.impatient) {
                Some(self.between(self.patience))
            } else {
                None
            };
            Callee::Human {
                ring,
                talk,
                patience,
                amd,
            }
        } else if draw < self.busy + self.congestion + self.human + self.machine {
            let amd = if self.chance(self.amd_false_negative) {
                Verdict::Human
            } else {
                Verdict::Machine
            };
            Callee::Machine { ring, amd }
        } else {
            Callee::NoAnswer
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_errors_and_time_scale_follow_the_model() {
        let mut m = CalleeModel::new(3);
        (m.busy, m.human, m.machine) = (0.0, 0.5, 0.5);
        (m.amd_false_positive, m.amd_false_negative, m.impatient) = (0.2, 0.1, 0.3);
        m.time_scale = 10.0;
        let (mut humans, mut called_machines, mut machines, mut called_humans, mut impatient) =
            (0, 0, 0, 0, 0);
        for _ in 0..20_000 {
            match m.draw() {
                Callee::Human {
                    ring,
                    talk,
                    patience,
                    amd,
                } => {
                    humans += 1;
                    called_machines += usize::from(amd == Verdict::Machine);
                    impatient += usize::from(patience.is_some());
                    assert!(
                        ring <= Duration::from_millis(2500)
                            && talk >= Duration::from_secs(6)
                            && talk <= Duration::from_secs(30)
                    );
                    assert!(patience.is_none_or(|p| p <= Duration::from_millis(500)));
                }
                Callee::Machine { amd, .. } => {
                    machines += 1;
                    called_humans += usize::from(amd == Verdict::Human);
                }
                other => panic!("only people and machines: {other:?}"),
            }
        }
        let share = |a: usize, b: usize| a as f64 / b as f64;
        assert!((share(called_machines, humans) - 0.2).abs() < 0.02);
        assert!((share(called_humans, machines) - 0.1).abs() < 0.02);
        assert!((share(impatient, humans) - 0.3).abs() < 0.02);
    }
}
