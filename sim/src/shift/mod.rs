//! A campaign on a virtual clock, for comparing pacing strategies (`dialtone bench pacing`):
//! seeded callees ([`world`]) and a discrete-event run of a shift ([`engine`]). Unlike the rest
//! of the simulator nothing here touches a socket; an 8-hour shift of 100 agents runs in about
//! a second.

pub mod engine;
pub mod world;

pub use engine::{run_shift, ShiftResult, Strategy, Tallies, Tally, View};
pub use world::{Amd, HitRate, World};
