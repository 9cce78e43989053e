//! The pushed half of the agent screen and the wallboard: one hub per web node hears every
//! change (the database's `dialtone_live` notifications and the bus's `live` channel) and hands
//! it to the WebSockets of this node's pages, each of which forwards what concerns its viewer.
//!
//! An agent's socket is also their liveness: while it is open and answering pings, the session's
//! heartbeat is kept fresh; when the page closes or its network dies, the heartbeat stops and the
//! call flows stop giving the agent calls within `agents::LIVENESS_SECS` (5 s).

use std::sync::{Arc, Once};
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use dialtone_core::bus::Bus;
use dialtone_core::live::{LiveEvent, BUS_CHANNEL, PG_CHANNEL};
use futures::StreamExt;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::broadcast;
use tokio::time::Instant;
use tracing::Instrument;
use uuid::Uuid;

use super::session::Session;
use super::AppState;
use crate::desk::{AgentPush, BoardPush, BoardScope};

/// Events a page's socket may fall behind by before it is sent a fresh whole screen instead.
const HUB_BACKLOG: usize = 8192;
/// How often an agent's page is pinged and their heartbeat refreshed.
const HEARTBEAT: Duration = Duration::from_millis(1500);
/// A page silent this long (no pong, no message) is taken as gone.
const SILENCE: Duration = Duration::from_millis(4500);
/// A wallboard is sent at most this often while things change, and at least this often
/// (`BOARD_REFRESH`) for the counts that change without an event (lines ringing, time in state).
const BOARD_SETTLE: Duration = Duration::from_millis(300);
const BOARD_REFRESH: Duration = Duration::from_secs(2);

/// What the hub hands to sockets.
#[derive(Debug, Clone)]
pub enum HubEvent {
    Live(LiveEvent),
    /// The hub lost its sources for a while: every page should be sent afresh.
    Resync,
}

/// One per web node: the sources are heard once, whatever the number of pages.
pub struct Hub {
    pool: PgPool,
    bus: Bus,
    tx: broadcast::Sender<Arc<HubEvent>>,
    started: Once,
}

impl Hub {
    pub fn new(pool: PgPool, bus: Bus) -> Self {
        Self { pool, bus, tx: broadcast::channel(HUB_BACKLOG).0, started: Once::new() }
    }

    /// Every event from now on. The first subscriber starts the listeners (so a web node
    /// that nobody watches holds no listening connection).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<HubEvent>> {
        self.started.call_once(|| {
            tokio::spawn(listen_database(self.pool.clone(), self.tx.clone()));
            tokio::spawn(listen_bus(self.bus.clone(), self.tx.clone()));
        });
        self.tx.subscribe()
    }
}

async fn listen_database(pool: PgPool, tx: broadcast::Sender<Arc<HubEvent>>) {
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "live: cannot listen to the database; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(PG_CHANNEL).await {
            tracing::warn!(error = %e, "live: LISTEN failed; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        // Whatever happened while not listening is unknown: pages are sent afresh.
        let _ = tx.send(Arc::new(HubEvent::Resync));
        loop {
            match listener.recv().await {
                Ok(n) => match serde_json::from_str::<LiveEvent>(n.payload()) {
                    Ok(event) => {
                        let _ = tx.send(Arc::new(HubEvent::Live(event)));
                    }
                    Err(e) => tracing::warn!(error = %e, payload = n.payload(), "live: unreadable notification"),
                },
                Err(e) => {
                    tracing::warn!(error = %e, "live: database listener dropped; reconnecting");
                    break;
                }
            }
        }
    }
}

async fn listen_bus(bus: Bus, tx: broadcast::Sender<Arc<HubEvent>>) {
    loop {
        match bus.subscribe::<LiveEvent>(BUS_CHANNEL).await {
            Ok(mut events) => {
                let _ = tx.send(Arc::new(HubEvent::Resync));
                while let Some(event) = events.next().await {
                    match event {
                        Ok(event) => {
                            let _ = tx.send(Arc::new(HubEvent::Live(event)));
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "live: bus event skipped");
                            let _ = tx.send(Arc::new(HubEvent::Resync));
                        }
                    }
                }
                tracing::warn!("live: bus subscription ended; resubscribing");
            }
            Err(e) => tracing::warn!(error = %e, "live: cannot subscribe to the bus; retrying"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Refuses a socket opened from another site's page (cookies are SameSite=Strict, so this is
/// belt and braces against cross-site WebSocket hijacking).
fn same_site(headers: &HeaderMap) -> bool {
    headers.get(axum::http::header::ORIGIN).is_none() || super::guard::same_origin(headers)
}

/// `GET /ws/agent`: the agent screen's socket.
pub async fn agent_socket(State(state): State<AppState>, Extension(session): Extension<Session>, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    if !same_site(&headers) {
        return (StatusCode::FORBIDDEN, "cross-site socket refused").into_response();
    }
    let user_id = session.viewer.user_id;
    ws.on_upgrade(move |socket| agent_page(state, user_id, socket).instrument(tracing::info_span!("agent_page", agent = user_id)))
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

/// What the page's whole screen was last sent for: the session, its call, its previewed lead.
/// A change of any of them sends the whole screen again; anything else, the state alone.
type Shown = (Option<i64>, Option<Uuid>, Option<i64>);

async fn send_desk(state: &AppState, user_id: i64, socket: &mut WebSocket) -> Option<Shown> {
    match super::desk::desk(&state.pool, user_id).await {
        Ok(desk) => {
            let key = desk
                .session
                .as_ref()
                .map(|s| (Some(s.session_id), s.call.as_ref().and_then(|c| c.call_id.parse().ok()), s.preview.as_ref().map(|l| l.id)))
                .unwrap_or((None, None, None));
            send_json(socket, &AgentPush::Desk { desk }).await.then_some(key)
        }
        Err(e) => {
            tracing::error!(error = %e, "live: cannot read the agent's screen");
            Some((None, None, None))
        }
    }
}

async fn agent_page(state: AppState, user_id: i64, mut socket: WebSocket) {
    let page = Uuid::new_v4();
    let mut events = state.live.subscribe();
    // Any other page of this agent, on this node or another, lets go.
    if let Err(e) = state.bus.publish(BUS_CHANNEL, &LiveEvent::TakeOver { user_id, page }).await {
        tracing::warn!(error = %e, "live: take-over not announced");
    }
    let Some(mut shown) = send_desk(&state, user_id, &mut socket).await else { return };
    let mut beat = tokio::time::interval(HEARTBEAT);
    let mut heard = Instant::now();
    loop {
        tokio::select! {
            _ = beat.tick() => {
                if heard.elapsed() > SILENCE {
                    tracing::info!("agent page silent: closing its socket");
                    break;
                }
                if let Err(e) = dialtone_core::agents::seen_user(&state.pool, user_id).await {
                    tracing::warn!(error = %e, "live: heartbeat not recorded");
                }
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
            message = socket.recv() => match message {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => heard = Instant::now(),
            },
            event = events.recv() => {
                let event = match event {
                    Ok(event) => event,
                    Err(broadcast::error::RecvError::Lagged(_)) => Arc::new(HubEvent::Resync),
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                let sent = match &*event {
                    HubEvent::Resync => send_desk(&state, user_id, &mut socket).await.map(|k| shown = k).is_some(),
                    HubEvent::Live(LiveEvent::TakeOver { user_id: u, page: p }) if *u == user_id && *p != page => {
                        let _ = send_json(&mut socket, &AgentPush::TakenOver).await;
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                    HubEvent::Live(LiveEvent::Notice { user_id: u, text, sent_at_micros }) if *u == user_id => {
                        send_json(&mut socket, &AgentPush::Notice { text: text.clone(), sent_at_micros: *sent_at_micros }).await
                    }
                    HubEvent::Live(LiveEvent::Agent { user_id: u, session_id, call_id, state: s, pause_code, since, preview_lead_id, .. }) if *u == user_id => {
                        if (Some(*session_id), *call_id, *preview_lead_id) == shown && s != "logged_out" {
                            let ms = (chrono::Utc::now() - *since).num_milliseconds().max(0);
                            send_json(&mut socket, &AgentPush::State { state: s.clone(), pause_code: pause_code.clone(), state_ms_ago: ms }).await
                        } else {
                            send_desk(&state, user_id, &mut socket).await.map(|k| shown = k).is_some()
                        }
                    }
                    // The call on the screen changed (answered, ended): the screen is sent again.
                    HubEvent::Live(LiveEvent::Call { call_id, .. }) if Some(*call_id) == shown.1 => {
                        send_desk(&state, user_id, &mut socket).await.map(|k| shown = k).is_some()
                    }
                    HubEvent::Live(_) => true,
                };
                if !sent {
                    break;
                }
            }
        }
    }
}

#[derive(serde::Deserialize)]
pub struct BoardQuery {
    campaign: Option<i64>,
    group: Option<i64>,
}

/// `GET /ws/board?campaign=ID` or `?group=ID`: a wallboard, for staff who may watch it.
pub async fn board_socket(
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
        _ => return (StatusCode::BAD_REQUEST, "name one campaign or one inbound group").into_response(),
    };
    match super::board::may_watch(&state.pool, &session.viewer, scope).await {
        Ok(true) => {}
        Ok(false) => return (StatusCode::FORBIDDEN, "that board is not yours to watch").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "wallboard: database");
            return (StatusCode::SERVICE_UNAVAILABLE, "the database did not answer").into_response();
        }
    }
    ws.on_upgrade(move |socket| board_page(state, scope, socket))
}

/// Whether the news may change what the board shows.
fn concerns(event: &HubEvent, scope: BoardScope) -> bool {
    match (event, scope) {
        (HubEvent::Resync, _) => true,
        (HubEvent::Live(e), BoardScope::Campaign(id)) => e.campaign_id() == Some(id),
        // Any agent may serve the group besides their campaign.
        (HubEvent::Live(e @ LiveEvent::Agent { .. }), BoardScope::Group(_)) => e.user_id().is_some(),
        (HubEvent::Live(e), BoardScope::Group(id)) => e.group_id() == Some(id),
    }
}

async fn board_page(state: AppState, scope: BoardScope, mut socket: WebSocket) {
    let mut events = state.live.subscribe();
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
                Ok(event) => dirty |= concerns(&event, scope),
                Err(broadcast::error::RecvError::Lagged(_)) => dirty = true,
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
        // A change is sent at once unless one was sent less than BOARD_SETTLE ago; changes in
        // between are sent together.
        if dirty && last_sent.elapsed() >= BOARD_SETTLE {
            match super::board::board_of(&state.pool, scope).await {
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
