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
//! - [`agents`], [`calls`], [`inbound`], [`calltimes`]: agent sessions, call records, inbound
//!   queues and calling hours, as the call flows use them.
//! - [`pacing`]: how many lines to dial now, on a clock passed in.
//! - [`compliance`]: the calling window and per-number caps the law and the campaign set.
//! - [`live`]: news for the pages people watch (agent screens, wallboards).
//! - [`remote`]: call control asked of the node whose Asterisk carries the call.
//! - [`preview`]: the lead a preview-dialing agent looks at before dialing it.
//! - [`dispositions`]: what an agent says of a call, and the callbacks they schedule.
//! - [`users`]: accounts and password hashes.
//! - [`csv_safety`]: what keeps a CSV we write from running as a spreadsheet formula.
//! - [`asterisk_values`]: the one whitelist for every value that reaches Asterisk.

pub mod agents;
pub mod asterisk_values;
pub mod attempts;
pub mod bus;
pub mod calls;
pub mod calltimes;
pub mod campaigns;
pub mod compliance;
pub mod config;
pub mod csv_safety;
pub mod db;
pub mod dial_history;
pub mod dispositions;
pub mod dnc;
pub mod export;
pub mod geo;
pub mod hopper;
pub mod import;
pub mod inbound;
pub mod leads;
pub mod lists;
pub mod live;
pub mod manual;
pub mod pacing;
pub mod phone;
pub mod preview;
pub mod remote;
pub mod telemetry;
pub mod users;
