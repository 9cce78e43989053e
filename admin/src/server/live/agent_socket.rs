//! An agent screen's socket: the whole screen when it connects and whenever its session, call
//! or previewed lead changes; the state alone otherwise; pings that keep the agent live.

use dialtone_core::vocabulary::AgentState;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use dialtone_core::live::{LiveEvent, BUS_CHANNEL};
use tokio::sync::broadcast;
use tokio::time::Instant;
use tracing::Instrument;
use uuid::Uuid;

use super::{same_site, send_json, HubEvent};
use crate::model::agent::AgentPush;
use crate::server::session::Session;
use crate::server::AppState;

/// How often an agent's page is pinged.
const PING: Duration = Duration::from_secs(1);
/// A page silent this long (no pong, no message) is taken as gone and its socket closed.
const SILENCE: Duration = Duration::from_secs(3);

/// `GET /ws/agent`: the agent screen's socket.
pub async fn agent_socket(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !same_site(&headers) {
        return (StatusCode::FORBIDDEN, "cross-site socket refused").into_response();
    }
    let user_id = session.viewer.user_id;
    let token = session.token_sha256;
    super::bounded(ws).on_upgrade(move |socket| {
        agent_page(state, user_id, token, socket)
            .instrument(tracing::info_span!("agent_page", agent = user_id))
    })
}

/// What the page's whole screen was last sent for: the session, its call, its previewed lead.
/// A change of any of them sends the whole screen again; anything else, the state alone.
type Shown = (Option<i64>, Option<Uuid>, Option<i64>);

async fn send_desk(state: &AppState, user_id: i64, socket: &mut WebSocket) -> Option<Shown> {
    match crate::server::agent::screen(&state.pool, user_id).await {
        Ok(desk) => {
            let key = desk
                .session
                .as_ref()
                .map(|s| {
                    (
                        Some(s.session_id),
                        s.call.as_ref().and_then(|c| c.call_id.parse().ok()),
                        s.preview.as_ref().map(|l| l.id),
                    )
                })
                .unwrap_or((None, None, None));
            send_json(socket, &AgentPush::Screen { desk })
                .await
                .then_some(key)
        }
        Err(e) => {
            tracing::error!(error = %e, "live: cannot read the agent's screen");
            Some((None, None, None))
        }
    }
}

async fn agent_page(state: AppState, user_id: i64, token: Option<String>, mut socket: WebSocket) {
    let page = Uuid::new_v4();
    let mut events = state.live.agent(user_id);
    // Any other page of this agent, on this node or another, lets go.
    if let Err(e) = state
        .bus
        .publish(BUS_CHANNEL, &LiveEvent::TakeOver { user_id, page })
        .await
    {
        tracing::warn!(error = %e, "live: take-over not announced");
    }
    state.live.heard(user_id, page);
    let Some(mut shown) = send_desk(&state, user_id, &mut socket).await else {
        state.live.gone(user_id, page);
        return;
    };
    serve_page(
        &state,
        (user_id, token.as_deref()),
        page,
        &mut socket,
        &mut events,
        &mut shown,
    )
    .await;
    state.live.gone(user_id, page);
}

/// The page's life: pings, answers, news; returns when the page is gone, taken over, or its
/// access revoked (`who`: the agent and their web session's token digest).
async fn serve_page(
    state: &AppState,
    who: (i64, Option<&str>),
    page: Uuid,
    socket: &mut WebSocket,
    events: &mut broadcast::Receiver<Arc<HubEvent>>,
    shown: &mut Shown,
) {
    let user_id = who.0;
    let mut ping = tokio::time::interval(PING);
    let mut heard = Instant::now();
    loop {
        tokio::select! {
            _ = ping.tick() => {
                if heard.elapsed() > SILENCE {
                    tracing::info!("agent page silent: closing its socket");
                    return;
                }
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    return;
                }
            }
            message = socket.recv() => match message {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {
                    heard = Instant::now();
                    state.live.heard(user_id, page);
                }
            },
            event = events.recv() => {
                let event = match event {
                    Ok(event) => event,
                    Err(broadcast::error::RecvError::Lagged(_)) => Arc::new(HubEvent::Resync),
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                let sent = match &*event {
                    HubEvent::Live(news) if news.revokes(who.0, who.1) => {
                        tracing::info!("access revoked: closing the agent page's socket");
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                    HubEvent::Resync => send_desk(state, user_id, socket).await.map(|k| *shown = k).is_some(),
                    HubEvent::Live(LiveEvent::TakeOver { user_id: u, page: p }) if *u == user_id && *p != page => {
                        let _ = send_json(socket, &AgentPush::TakenOver).await;
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                    HubEvent::Live(LiveEvent::Notice { user_id: u, text, sent_at_micros }) if *u == user_id => {
                        send_json(socket, &AgentPush::Notice { text: text.clone(), sent_at_micros: *sent_at_micros }).await
                    }
                    HubEvent::Live(LiveEvent::Agent { user_id: u, session_id, call_id, state: s, pause_code, since, preview_lead_id, .. }) if *u == user_id => {
                        if (Some(*session_id), *call_id, *preview_lead_id) == *shown && *s != AgentState::LoggedOut {
                            let ms = (chrono::Utc::now() - *since).num_milliseconds().max(0);
                            send_json(socket, &AgentPush::State { state: *s, pause_code: pause_code.clone(), state_ms_ago: ms }).await
                        } else {
                            send_desk(state, user_id, socket).await.map(|k| *shown = k).is_some()
                        }
                    }
                    // The call on the screen changed (answered, ended): the screen is sent again.
                    HubEvent::Live(LiveEvent::Call { call_id, .. }) if Some(*call_id) == shown.1 => {
                        send_desk(state, user_id, socket).await.map(|k| *shown = k).is_some()
                    }
                    HubEvent::Live(_) => true,
                };
                if !sent {
                    return;
                }
            }
        }
    }
}
