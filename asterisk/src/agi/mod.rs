//! AGI, the protocol Asterisk's `AGI()` application speaks to a FastAGI server over TCP.
//!
//! A session: Asterisk connects and sends its environment block ([`env`]); the server then
//! sends one command at a time ([`command`]) and reads one reply each ([`reply`]), while a
//! `HANGUP` line may arrive at any moment. [`codec`] frames the byte stream, [`session`] gives
//! the typed commands a dialer uses, and [`server`] accepts, routes and drains sessions.

pub mod codec;
pub mod command;
pub mod env;
pub mod reply;
pub mod server;
pub mod session;

pub use codec::{AgiCodec, CodecError, Frame};
pub use command::{Command, CommandError};
pub use env::AgiEnv;
pub use reply::{Reply, Success};
pub use server::{serve, Router, ServerConfig, TcpSession};
pub use session::{AgiError, AgiSession, ChannelState, Digits, Playback, Recording, Timeouts};
