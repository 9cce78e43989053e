//! A wallboard's socket: the board at once, again soon after each change on its floor, and every
//! couple of seconds for what changes without news (time in state, lines ringing).

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use dialtone_core::live::LiveEvent;
use tokio::sync::broadcast;
use tokio::time::Instant;

use super::{same_site, send_json, HubEvent};
use crate::model::wallboard::{BoardPush, BoardScope};
use crate::server::session::Session;
use crate::server::AppState;

/// A board is sent at most this often while things change, and at least this often
/// (`BOARD_REFRESH`) for the counts that change without an event.
const BOARD_SETTLE: Duration = Duration::from_millis(300);
const BOARD_REFRESH: Duration = Duration::from_secs(2);

#[derive(serde::Deserialize)]
pub struct BoardQuery {
    campaign: Option<i64>,
    group: Option<i64>,
}

/// `GET /ws/wallboard?campaign=ID` or `?group=ID`: a wallboard, for staff who may watch it.
pub async fn wallboard_socket(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(query): Query<BoardQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !same_site(&headers) {
        return (StatusCode::FORBIDDEN, "cross-site socket refused").into_response();
    }
    let scope = match (query.campaign, query.group) {
        (Some(id), None) => BoardScope::Campaign(id),
        (None, Some(id)) => BoardScope::Group(id),
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                "name one campaign or one inbound group",
            )
                .into_response()
        }
    };
    match crate::server::wallboard::may_watch(&state.pool, &session.viewer, scope).await {
        Ok(true) => {}
        Ok(false) => {
            return (StatusCode::FORBIDDEN, "that board is not yours to watch").into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "wallboard: database");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the database did not answer",
            )
                .into_response();
        }
    }
    let who = (session.viewer.user_id, session.token_sha256);
    super::bounded(ws).on_upgrade(move |socket| board_page(state, scope, who, socket))
}

/// Whether the news may change what the board shows.
fn concerns(event: &HubEvent, scope: BoardScope) -> bool {
    match (event, scope) {
        (HubEvent::Resync, _) => true,
        (HubEvent::Live(e), BoardScope::Campaign(id)) => e.campaign_id() == Some(id),
        // Any agent may serve the group besides their campaign.
        (HubEvent::Live(e @ LiveEvent::Agent { .. }), BoardScope::Group(_)) => {
            e.user_id().is_some()
        }
        (HubEvent::Live(e), BoardScope::Group(id)) => e.group_id() == Some(id),
    }
}

/// The board's life, until the page goes or the access of `who` (the viewer and their web
/// session's token digest) is revoked.
async fn board_page(
    state: AppState,
    scope: BoardScope,
    who: (i64, Option<String>),
    mut socket: WebSocket,
) {
    let mut events = state.live.boards();
    let mut refresh = tokio::time::interval(BOARD_REFRESH);
    let mut settle = tokio::time::interval(BOARD_SETTLE / 3);
    let mut dirty = true;
    let mut last_sent = Instant::now() - BOARD_SETTLE;
    loop {
        tokio::select! {
            _ = refresh.tick() => dirty = true,
            _ = settle.tick() => {}
            message = socket.recv() => match message {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            event = events.recv() => match event {
                Ok(event) if matches!(&*event, HubEvent::Live(news) if news.revokes(who.0, who.1.as_deref())) => {
                    tracing::info!("access revoked: closing the wallboard's socket");
                    let _ = socket.send(Message::Close(None)).await;
                    break;
                }
                Ok(event) => dirty |= concerns(&event, scope),
                Err(broadcast::error::RecvError::Lagged(_)) => dirty = true,
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
        // A change is sent at once unless one was sent less than BOARD_SETTLE ago; changes in
        // between are sent together.
        if dirty && last_sent.elapsed() >= BOARD_SETTLE {
            match crate::server::wallboard::board_of(&state.pool, scope).await {
                Ok(Some(board)) => {
                    if !send_json(&mut socket, &BoardPush::Board { board }).await {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => tracing::error!(error = %e, "wallboard: cannot read the campaign"),
            }
            dirty = false;
            last_sent = Instant::now();
        }
    }
}
