//! The Asterisk Manager Interface as a client sees it: a banner, then messages (responses to
//! actions, correlated by `ActionID`, and events), CRLF-framed. [`codec`] frames the stream;
//! [`message`] is what is framed; [`client`] keeps a logged-in connection and routes its traffic.

pub mod client;
pub mod codec;
pub mod message;

pub use client::{AmiClient, AmiConfig, AmiError, Auth, Link, Reply};
pub use codec::{AmiCodec, AmiCodecError, AmiFrame, Outgoing};
pub use message::{Action, ActionError, Message};
