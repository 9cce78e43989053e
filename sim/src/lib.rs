//! A PBX that behaves, on the wire, like the Asterisk 22 of `shared/fixtures/asterisk-22`: an
//! AMI server that takes Originates and reports their fate, and, for answered calls, a FastAGI
//! client that runs the dialplan's AGI steps against Dialtone (the outbound leg with its AMD
//! verdict, the agent's phone, the `h` extension). Callees are drawn from a seeded model, so a
//! run can be repeated exactly.

mod agi_leg;
mod ami_server;
mod model;

pub use ami_server::{Pbx, PbxConfig};
pub use model::{Callee, CalleeModel};
