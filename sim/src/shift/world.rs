//! The simulated campaign's world: who the callees are and how agents talk. Leads are drawn in
//! order from a seeded stream, so every pacing strategy run on the same seed meets the same
//! callees (common random numbers): the k-th dial of every strategy reaches the same person.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The chance that a dial reaches a live person, over the shift.
#[derive(Debug, Clone, PartialEq)]
pub enum HitRate {
    Constant(f64),
    /// One rate per hour of the shift (the last one holds after).
    Hourly(Vec<f64>),
}

impl HitRate {
    pub fn at(&self, shift_secs: f64) -> f64 {
        match self {
            HitRate::Constant(p) => *p,
            HitRate::Hourly(rates) => {
                let hour = (shift_secs / 3600.0).floor().max(0.0) as usize;
                rates.get(hour).or(rates.last()).copied().unwrap_or(0.0)
            }
        }
    }
}

/// Answering machines and a detector that is sometimes wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Amd {
    /// Share of answered calls that are machines.
    pub machine_share: f64,
    /// How long the detector listens, uniform between these (seconds after answer).
    pub detect_secs: (f64, f64),
    /// Live callees taken for machines (hung up on: abandons the ledger cannot see).
    pub false_positive: f64,
    /// Machines taken for people (passed to an agent, who hangs up after `machine_talk_secs`).
    pub false_negative: f64,
    pub machine_talk_secs: f64,
}

/// Everything about a simulated campaign except its pacing.
#[derive(Debug, Clone, PartialEq)]
pub struct World {
    pub agents: u32,
    pub hit_rate: HitRate,
    /// Time from dial to answer, uniform between these.
    pub ring_secs: (f64, f64),
    /// Dials not answered are given up after this (the FTC minimum is 15).
    pub no_answer_secs: f64,
    /// Talk time: lognormal with this mean and standard deviation.
    pub talk_mean_secs: f64,
    pub talk_sd_secs: f64,
    pub wrap_secs: f64,
    pub shift_secs: f64,
    /// A live callee who finds no agent within this is abandoned (the FTC's 2 seconds).
    pub drop_secs: f64,
    pub amd: Option<Amd>,
}

impl World {
    /// The baseline of `docs/pacing.md` (S1): ring U(5, 25) s, 25 s no-answer, talk
    /// lognormal(180, 120) s, wrap-up 10 s, 8-hour shift.
    pub fn baseline(agents: u32, hit_rate: f64) -> Self {
        Self {
            agents,
            hit_rate: HitRate::Constant(hit_rate),
            ring_secs: (5.0, 25.0),
            no_answer_secs: 25.0,
            talk_mean_secs: 180.0,
            talk_sd_secs: 120.0,
            wrap_secs: 10.0,
            shift_secs: 8.0 * 3600.0,
            drop_secs: 2.0,
            amd: None,
        }
    }
}

/// One callee's fate, fixed before any strategy dials them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lead {
    /// Compared with the hit rate at the moment of dialing: below it, a live person.
    pub live_draw: f64,
    /// For a dial that is not live: below the machine rate, a machine answers.
    pub machine_draw: f64,
    pub ring_secs: f64,
    pub talk_secs: f64,
    pub detect_secs: f64,
    /// Compared with the detector's error rates.
    pub amd_draw: f64,
}

/// The seeded stream of leads of one shift.
pub struct Leads {
    rng: StdRng,
    ring: (f64, f64),
    talk_mu: f64,
    talk_sigma: f64,
    detect: (f64, f64),
}

impl Leads {
    pub fn new(world: &World, seed: u64) -> Self {
        // Lognormal parameters from the mean and standard deviation.
        let m = world.talk_mean_secs.max(1.0);
        let s2 = (world.talk_sd_secs / m).powi(2);
        let sigma = (1.0 + s2).ln().sqrt();
        let mu = m.ln() - sigma * sigma / 2.0;
        let detect = world.amd.as_ref().map_or((0.0, 0.0), |a| a.detect_secs);
        Self {
            rng: StdRng::seed_from_u64(seed),
            ring: world.ring_secs,
            talk_mu: mu,
            talk_sigma: sigma,
            detect,
        }
    }

    fn normal(&mut self) -> f64 {
        // Box–Muller; `1 - u` keeps the logarithm finite.
        let u1: f64 = 1.0 - self.rng.gen::<f64>();
        let u2: f64 = self.rng.gen();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    pub fn next_lead(&mut self) -> Lead {
        let live_draw = self.rng.gen();
        let machine_draw = self.rng.gen();
        let ring_secs = self
            .rng
            .gen_range(self.ring.0..=self.ring.1.max(self.ring.0));
        let talk_secs = (self.talk_mu + self.talk_sigma * self.normal()).exp();
        let detect_secs = self
            .rng
            .gen_range(self.detect.0..=self.detect.1.max(self.detect.0));
        let amd_draw = self.rng.gen();
        Lead {
            live_draw,
            machine_draw,
            ring_secs,
            talk_secs,
            detect_secs,
            amd_draw,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_callees() {
        let w = World::baseline(5, 0.1);
        let a: Vec<Lead> = {
            let mut l = Leads::new(&w, 7);
            (0..50).map(|_| l.next_lead()).collect()
        };
        let b: Vec<Lead> = {
            let mut l = Leads::new(&w, 7);
            (0..50).map(|_| l.next_lead()).collect()
        };
        assert_eq!(a, b);
    }

    #[test]
    fn talk_times_have_the_asked_mean() {
        let w = World::baseline(5, 0.1);
        let mut l = Leads::new(&w, 1);
        let n = 200_000;
        let mean = (0..n).map(|_| l.next_lead().talk_secs).sum::<f64>() / n as f64;
        assert!((mean - 180.0).abs() < 3.0, "{mean}");
        assert_eq!(HitRate::Hourly(vec![0.3, 0.45]).at(9000.0), 0.45);
    }
}
