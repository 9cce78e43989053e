//! The protocols Dialtone speaks with Asterisk, and nothing about campaigns or calls.
//!
//! - [`agi`]: the Asterisk Gateway Interface as a FastAGI server sees it: the environment
//!   block, commands, replies, a framed codec, a typed session and the TCP server runtime.
//! - [`ami`]: the Asterisk Manager Interface: messages, actions and the framed codec.

pub mod agi;
pub mod ami;
mod lines;
