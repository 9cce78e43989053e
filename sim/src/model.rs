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
    /// A person answers after `ring` and talks for `talk` once with an agent.
    Human { ring: Duration, talk: Duration },
    /// An answering machine answers after `ring`.
    Machine { ring: Duration },
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
            rng: StdRng::seed_from_u64(seed),
        }
    }

    fn between(&mut self, (low, high): (Duration, Duration)) -> Duration {
        if high <= low {
            return low;
        }
        self.rng.gen_range(low..high)
    }

    pub fn next(&mut self) -> Callee {
        let draw: f64 = self.rng.gen();
        let ring = self.between(self.ring);
        if draw < self.busy {
            Callee::Busy { ring: ring / 5 }
        } else if draw < self.busy + self.congestion {
            Callee::Congestion { ring: ring / 5 }
        } else if draw < self.busy + self.congestion + self.human {
            let talk = self.between(self.talk);
            Callee::Human { ring, talk }
        } else if draw < self.busy + self.congestion + self.human + self.machine {
            Callee::Machine { ring }
        } else {
            Callee::NoAnswer
        }
    }
}
