//! Dialtone's domain: what a contact center is made of, where it is stored, and the rules that
//! decide who may be called when. Nothing here speaks AGI or AMI; `dialtone-asterisk` does.
//!
//! - [`config`]: one configuration for every process, from a TOML file and the environment.
//! - [`telemetry`]: logs, metrics and the health endpoint every long-running process serves.
//! - [`bus`]: events between the parts of a node and between nodes (Redis).
//! - [`db`]: the PostgreSQL pool and the migrations.
//! - [`phone`], [`geo`]: numbers to E.164, and E.164 (plus state or postal code) to a time zone.
//! - [`import`], [`export`]: lead lists in and out as CSV.
//! - [`dnc`]: the do-not-call lists.
//! - [`leads`], [`hopper`], [`attempts`]: the next-leads query, claiming leads for dialing,
//!   and each dial from reservation to outcome.
//! - [`campaigns`], [`lists`]: what is dialed, and the leads it dials.
//! - [`lead_edits`]: what people change of a lead by hand.
//! - [`agents`], [`calls`], [`call_legs`], [`inbound`], [`calltimes`]: agent sessions, call
//!   records and their other channels, inbound queues and calling hours, as the call flows use
//!   them.
//! - [`pacing`]: how many lines to dial now, on a clock passed in.
//! - [`compliance`]: the calling window and per-number caps the law and the campaign set.
//! - [`live`]: news for the pages people watch (agent screens, wallboards).
//! - [`remote`]: call control asked of the node whose Asterisk carries the call.
//! - [`records`]: rows an admin edits column by column (settings, on/off, delete).
//! - [`preview`]: the lead a preview-dialing agent looks at before dialing it.
//! - [`visibility`]: who sees which campaign and inbound group.
//! - [`dispositions`]: what an agent says of a call, and the callbacks they schedule.
//! - [`users`]: accounts and password hashes.
//! - [`csv_safety`]: what keeps a CSV we write from running as a spreadsheet formula.
//! - [`asterisk_values`]: the one whitelist for every value that reaches Asterisk.
//! - [`vocabulary`]: roles, dial methods, agent and call states, as enums.
//!
//! Everything but [`vocabulary`] needs the `store` feature (on by default); the admin's
//! browser build turns it off to share the vocabulary with the server.

#[cfg(feature = "store")]
pub mod agents;
#[cfg(feature = "store")]
pub mod asterisk_values;
#[cfg(feature = "store")]
pub mod attempts;
#[cfg(feature = "store")]
pub mod bus;
#[cfg(feature = "store")]
pub mod call_legs;
#[cfg(feature = "store")]
pub mod calls;
#[cfg(feature = "store")]
pub mod calltimes;
#[cfg(feature = "store")]
pub mod campaigns;
#[cfg(feature = "store")]
pub mod compliance;
#[cfg(feature = "store")]
pub mod config;
#[cfg(feature = "store")]
pub mod csv_safety;
#[cfg(feature = "store")]
pub mod db;
#[cfg(feature = "store")]
pub mod dial_history;
#[cfg(feature = "store")]
pub mod dispositions;
#[cfg(feature = "store")]
pub mod dnc;
#[cfg(feature = "store")]
pub mod export;
#[cfg(feature = "store")]
pub mod geo;
#[cfg(feature = "store")]
pub mod hopper;
#[cfg(feature = "store")]
pub mod import;
#[cfg(feature = "store")]
pub mod inbound;
#[cfg(feature = "store")]
pub mod lead_edits;
#[cfg(feature = "store")]
pub mod leads;
#[cfg(feature = "store")]
pub mod lists;
#[cfg(feature = "store")]
pub mod live;
#[cfg(feature = "store")]
pub mod manual;
#[cfg(feature = "store")]
pub mod pacing;
#[cfg(feature = "store")]
pub mod phone;
#[cfg(feature = "store")]
pub mod preview;
#[cfg(feature = "store")]
pub mod records;
#[cfg(feature = "store")]
pub mod remote;
#[cfg(feature = "store")]
pub mod telemetry;
#[cfg(feature = "store")]
pub mod users;
#[cfg(feature = "store")]
pub mod visibility;
pub mod vocabulary;
