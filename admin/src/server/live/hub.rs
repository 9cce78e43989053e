//! The hub of a web node: hears the database and the bus once, routes each piece of news to the
//! sockets it concerns, and keeps the agents whose pages answer live in the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Once, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use dialtone_core::bus::Bus;
use dialtone_core::live::{LiveEvent, BUS_CHANNEL, PG_CHANNEL};
use futures::StreamExt;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::broadcast;
use uuid::Uuid;

/// News an agent's pages may fall behind by before they are sent a whole screen instead.
const AGENT_BACKLOG: usize = 64;
/// News the wallboards may fall behind by before they are sent a whole board instead.
const BOARD_BACKLOG: usize = 8192;
/// How often the agents whose pages answered are written live.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// What the hub hands to sockets.
#[derive(Debug, Clone)]
pub enum HubEvent {
    Live(LiveEvent),
    /// The hub lost its sources for a while: every page should be sent afresh.
    Resync,
}

/// One per web node, whatever the number of pages.
pub struct Hub {
    pool: PgPool,
    bus: Bus,
    /// Each agent's pages. An agent's news reaches only them, so a thousand pages cost a
    /// thousand deliveries, not a million.
    agents: Mutex<HashMap<i64, broadcast::Sender<Arc<HubEvent>>>>,
    /// Every piece of news, for the wallboards, which filter it.
    boards: broadcast::Sender<Arc<HubEvent>>,
    /// When each agent's page last answered (and which page): written into their sessions.
    heard: Mutex<HashMap<i64, (Uuid, DateTime<Utc>)>>,
    started: Once,
}

impl Hub {
    pub fn new(pool: PgPool, bus: Bus) -> Self {
        Self {
            pool,
            bus,
            agents: Mutex::new(HashMap::new()),
            boards: broadcast::channel(BOARD_BACKLOG).0,
            heard: Mutex::new(HashMap::new()),
            started: Once::new(),
        }
    }

    /// The first subscriber starts the listeners and the heartbeat, so a web node that nobody
    /// watches holds no listening connection.
    fn start(self: &Arc<Self>) {
        self.started.call_once(|| {
            tokio::spawn(listen_database(self.clone()));
            tokio::spawn(listen_bus(self.clone()));
            tokio::spawn(write_heartbeats(self.clone()));
        });
    }

    /// News for one agent's pages from now on.
    pub fn agent(self: &Arc<Self>, user_id: i64) -> broadcast::Receiver<Arc<HubEvent>> {
        self.start();
        let mut agents = self.agents.lock().unwrap_or_else(PoisonError::into_inner);
        agents
            .entry(user_id)
            .or_insert_with(|| broadcast::channel(AGENT_BACKLOG).0)
            .subscribe()
    }

    /// All news from now on, for a wallboard.
    pub fn boards(self: &Arc<Self>) -> broadcast::Receiver<Arc<HubEvent>> {
        self.start();
        self.boards.subscribe()
    }

    /// The agent's page `page` answered now.
    pub fn heard(&self, user_id: i64, page: Uuid) {
        self.heard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(user_id, (page, Utc::now()));
    }

    /// The agent's page `page` is gone (another page of theirs may have taken over).
    pub fn gone(&self, user_id: i64, page: Uuid) {
        let mut heard = self.heard.lock().unwrap_or_else(PoisonError::into_inner);
        if heard.get(&user_id).is_some_and(|(p, _)| *p == page) {
            heard.remove(&user_id);
        }
    }

    fn dispatch(&self, event: HubEvent) {
        let event = Arc::new(event);
        let mut agents = self.agents.lock().unwrap_or_else(PoisonError::into_inner);
        match &*event {
            HubEvent::Resync => {
                agents.retain(|_, pages| pages.send(event.clone()).is_ok());
            }
            HubEvent::Live(live) => {
                if let Some(user_id) = live.user_id() {
                    // Nobody listening: the agent's pages are all closed; forget the channel.
                    if agents
                        .get(&user_id)
                        .is_some_and(|pages| pages.send(event.clone()).is_err())
                    {
                        agents.remove(&user_id);
                    }
                }
            }
        }
        drop(agents);
        // No wallboard open is not an error.
        let _ = self.boards.send(event);
    }
}

async fn listen_database(hub: Arc<Hub>) {
    loop {
        let mut listener = match PgListener::connect_with(&hub.pool).await {
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
        hub.dispatch(HubEvent::Resync);
        loop {
            match listener.recv().await {
                Ok(n) => match serde_json::from_str::<LiveEvent>(n.payload()) {
                    Ok(event) => hub.dispatch(HubEvent::Live(event)),
                    Err(e) => {
                        tracing::warn!(error = %e, payload = n.payload(), "live: unreadable notification")
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "live: database listener dropped; reconnecting");
                    break;
                }
            }
        }
    }
}

async fn listen_bus(hub: Arc<Hub>) {
    loop {
        match hub.bus.subscribe::<LiveEvent>(BUS_CHANNEL).await {
            Ok(mut events) => {
                hub.dispatch(HubEvent::Resync);
                while let Some(event) = events.next().await {
                    match event {
                        Ok(event) => hub.dispatch(HubEvent::Live(event)),
                        Err(e) => {
                            tracing::warn!(error = %e, "live: bus news skipped");
                            hub.dispatch(HubEvent::Resync);
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

/// Once a second, one statement for every agent whose page answered: their session's
/// `last_seen_at` becomes the time the page last answered (not now), so a page that died
/// stops getting calls five seconds after its last answer, whatever this loop's timing.
async fn write_heartbeats(hub: Arc<Hub>) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    loop {
        tick.tick().await;
        let heard: Vec<(i64, DateTime<Utc>)> = {
            let heard = hub.heard.lock().unwrap_or_else(PoisonError::into_inner);
            heard.iter().map(|(user, (_, at))| (*user, *at)).collect()
        };
        if heard.is_empty() {
            continue;
        }
        if let Err(e) = dialtone_core::agents::seen(&hub.pool, &heard).await {
            tracing::warn!(error = %e, agents = heard.len(), "live: heartbeats not written");
        }
    }
}
