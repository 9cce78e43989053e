//! The pushed half of the agent screen and the wallboard. One [`Hub`] per web node hears every
//! change (the database's `dialtone_live` notifications and the bus's `live` channel) and hands
//! each to the sockets it concerns: an agent's news to that agent's pages only, everything to the
//! wallboards, which are few.
//!
//! An agent's socket is also their liveness: the hub writes, once a second for all of them, when
//! each agent's page last answered. When the page closes or its network dies, that time stops
//! moving and the call flows stop giving the agent calls `agents::LIVENESS_SECS` (5 s) later.

mod agent_socket;
mod hub;
mod wallboard_socket;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;

pub use agent_socket::agent_socket;
pub use hub::{Hub, HubEvent};
pub use wallboard_socket::wallboard_socket;

/// The most a page may send in one message. Pages send nothing but pongs and closes, so this is
/// the bound against a page (or anyone holding a session) that sends more.
const MAX_INBOUND: usize = 16 * 1024;
/// The socket's buffers: small, since a thousand pages are open at once and pushes are a few
/// kilobytes (tungstenite's defaults, 128 KiB each way, made a page cost 140 KiB of memory).
const BUFFER: usize = 4 * 1024;

/// A socket with the bounds above.
fn bounded(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.read_buffer_size(BUFFER)
        .write_buffer_size(BUFFER)
        .max_message_size(MAX_INBOUND)
        .max_frame_size(MAX_INBOUND)
}

/// Refuses a socket opened from another site's page (cookies are SameSite=Strict, so this is
/// belt and braces against cross-site WebSocket hijacking).
fn same_site(headers: &HeaderMap) -> bool {
    headers.get(axum::http::header::ORIGIN).is_none() || super::guard::same_origin(headers)
}

async fn send_json<T: serde::Serialize>(socket: &mut WebSocket, value: &T) -> bool {
    match serde_json::to_string(value) {
        Ok(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Err(e) => {
            tracing::error!(error = %e, "live: cannot encode a push");
            false
        }
    }
}
