//! The web admin's tests: one binary, one harness ([`helpers`]), against a real database per
//! test. Each module is one part of the product, as its page and its server module name it:
//! - [`access`]: who may open what, CSRF, sign-in and sessions, forms, the audit log, uploads.
//! - [`api`]: tables sorted on the server, the JSON API's reference data and lead uploads,
//!   supervisors running their own campaigns.
//! - [`agent`]: the agent screen's and the wallboard's actions, with a stand-in node.
//! - [`reports`]: exact numbers, the CSV files, who sees which campaign or group.
//! - [`security`]: one test per finding of the attack on the release build.
//!
//! `DIALTONE_TEST_LOG=debug` (any tracing filter) shows the server's log of each test, with
//! the test's output: all of it with `-- --nocapture`, else a failing test's.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's helpers fail the test as its #[test]s do
#![cfg(feature = "ssr")]

mod helpers;

mod access;
mod agent;
mod api;
mod reports;
mod security;
