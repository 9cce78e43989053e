//! The Asterisk-side daemon's call flows: what Dialtone does with a call when Asterisk's
//! dialplan hands it over with `AGI(agi://host:4573/<path>?...)`. `docs/agi-flows.md` documents
//! each path's arguments, the variables it reads and sets, and its outcomes.

pub mod context;
pub mod control;
pub mod dialer;
pub mod doctor;
pub mod flows;
pub mod node;
pub mod phones;
pub mod recordings;
pub mod remote;

pub use context::FlowContext;
pub use flows::router;
