//! The AMI client: one connection to one Asterisk, logged in, kept alive, and re-established
//! when it drops. Actions are correlated with their responses by `ActionID`; everything else is
//! an event, broadcast to every subscriber.
//!
//! The connection lives in one task. Callers send actions through a channel and wait on their
//! own reply (with a timeout); the task writes them, reads frames, and routes each response to
//! its caller. When the link drops, every action in flight fails with `Disconnected` (the caller
//! decides whether to retry: an Originate must not be sent twice blindly), the link state says
//! so, and the task reconnects with exponential backoff and jitter.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use md5::{Digest, Md5};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;

use super::codec::{AmiCodec, AmiCodecError, AmiFrame, Outgoing};
use super::message::{Action, Message};

/// How the client proves who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// `Secret:` in the Login action.
    Plain,
    /// `Challenge`, then `Key: md5(challenge + secret)`: the secret never crosses the wire.
    Md5,
}

#[derive(Clone)]
pub struct AmiConfig {
    /// `host:port` of the manager interface.
    pub addr: String,
    pub username: String,
    pub secret: String,
    pub auth: Auth,
    /// How long an action waits for its response.
    pub action_timeout: Duration,
    /// A Ping this often keeps the link checked; no answer within `action_timeout` drops it.
    pub ping_interval: Duration,
    /// Reconnect delays: start, double up to `max`, each with up to 25% random jitter.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
}

impl std::fmt::Debug for AmiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmiConfig")
            .field("addr", &self.addr)
            .field("username", &self.username)
            .field("secret", &"***")
            .finish_non_exhaustive()
    }
}

impl AmiConfig {
    pub fn new(
        addr: impl Into<String>,
        username: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        Self {
            addr: addr.into(),
            username: username.into(),
            secret: secret.into(),
            auth: Auth::Md5,
            action_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(15),
            backoff_min: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmiError {
    #[error("no response to {action} within {after:?}")]
    Timeout { action: String, after: Duration },
    #[error("the link to Asterisk dropped before {action} was answered")]
    Disconnected { action: String },
    #[error("Asterisk refused {action}: {message}")]
    Refused { action: String, message: String },
    #[error("the AMI client has stopped")]
    Stopped,
}

/// The state of the link, for health checks and for reconciling after a reconnect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    Connecting,
    /// Logged in; `generation` counts the connections, so a watcher can tell a new one.
    Up {
        generation: u64,
        version: String,
    },
    /// Down, and why; the client is retrying.
    Down {
        reason: String,
    },
}

struct Request {
    action: Action,
    list: bool,
    reply: oneshot::Sender<Result<Reply, AmiError>>,
}

/// A response, and for an action that returns an event list, its events (the closing
/// `...Complete` event last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub response: Message,
    pub events: Vec<Message>,
}

/// A handle to the client; clones share the connection. Dropping the last one stops it.
#[derive(Clone)]
pub struct AmiClient {
    requests: mpsc::Sender<Request>,
    events: broadcast::Sender<Arc<Message>>,
    link: watch::Receiver<Link>,
    timeout: Duration,
    _stop: Arc<tokio_util::sync::DropGuard>,
}

/// Events a slow subscriber may fall behind by before it misses some.
const EVENT_BACKLOG: usize = 4096;

impl AmiClient {
    /// Starts connecting in the background; actions sent before the login wait for it.
    pub fn start(config: AmiConfig) -> Self {
        let (requests, rx) = mpsc::channel(1024);
        let (events, _) = broadcast::channel(EVENT_BACKLOG);
        let (link_tx, link) = watch::channel(Link::Connecting);
        let stop = CancellationToken::new();
        let timeout = config.action_timeout;
        tokio::spawn(run(config, rx, events.clone(), link_tx, stop.clone()));
        Self {
            requests,
            events,
            link,
            timeout,
            _stop: Arc::new(stop.drop_guard()),
        }
    }

    /// Sends an action and returns its response; `Response: Error` is [`AmiError::Refused`].
    pub async fn send(&self, action: Action) -> Result<Message, AmiError> {
        Ok(self.request(action, false).await?.response)
    }

    /// Sends an action that answers with an event list (CoreShowChannels, ConfbridgeList...)
    /// and returns the response with every event of the list.
    pub async fn send_list(&self, action: Action) -> Result<Reply, AmiError> {
        self.request(action, true).await
    }

    async fn request(&self, action: Action, list: bool) -> Result<Reply, AmiError> {
        let name = action.name.clone();
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request {
                action,
                list,
                reply,
            })
            .await
            .map_err(|_| AmiError::Stopped)?;
        let reply = tokio::time::timeout(self.timeout, answer)
            .await
            .map_err(|_| AmiError::Timeout {
                action: name.clone(),
                after: self.timeout,
            })?
            .map_err(|_| AmiError::Stopped)??;
        if reply
            .response
            .response()
            .is_some_and(|r| r.eq_ignore_ascii_case("Error"))
        {
            return Err(AmiError::Refused {
                action: name,
                message: reply
                    .response
                    .get("Message")
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        Ok(reply)
    }

    /// Every event from now on (responses to actions are not events).
    pub fn events(&self) -> broadcast::Receiver<Arc<Message>> {
        self.events.subscribe()
    }

    /// Events for which `keep` says yes, as a stream; a subscriber that falls behind skips what
    /// it missed (and the skip is logged).
    pub fn events_matching<F>(&self, keep: F) -> impl futures::Stream<Item = Arc<Message>>
    where
        F: Fn(&Message) -> bool + Send + 'static,
    {
        tokio_stream::wrappers::BroadcastStream::new(self.events.subscribe()).filter_map(
            move |event| {
                let out = match event {
                    Ok(event) if keep(&event) => Some(event),
                    Ok(_) => None,
                    Err(tokio_stream::wrappers::errors::BroadcastStreamRecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "AMI event subscriber fell behind");
                        None
                    }
                };
                futures::future::ready(out)
            },
        )
    }

    pub fn link(&self) -> watch::Receiver<Link> {
        self.link.clone()
    }
}

/// In-flight actions by ActionID.
struct Pending {
    reply: oneshot::Sender<Result<Reply, AmiError>>,
    name: String,
    list: bool,
    response: Option<Message>,
    events: Vec<Message>,
}

async fn run(
    config: AmiConfig,
    mut requests: mpsc::Receiver<Request>,
    events: broadcast::Sender<Arc<Message>>,
    link: watch::Sender<Link>,
    stop: CancellationToken,
) {
    let ids = AtomicU64::new(1);
    let mut generation = 0u64;
    let mut delay = config.backoff_min;
    loop {
        if stop.is_cancelled() {
            return;
        }
        link.send_replace(Link::Connecting);
        match tokio::select! {
            _ = stop.cancelled() => return,
            connected = connect(&config, &ids) => connected,
        } {
            Ok((framed, version)) => {
                generation += 1;
                delay = config.backoff_min;
                tracing::info!(addr = %config.addr, %version, generation, "AMI logged in");
                link.send_replace(Link::Up {
                    generation,
                    version,
                });
                metrics::gauge!("dialtone_ami_up").set(1.0);
                let reason = serve(&config, framed, &mut requests, &events, &ids, &stop).await;
                metrics::gauge!("dialtone_ami_up").set(0.0);
                if stop.is_cancelled() {
                    return;
                }
                tracing::warn!(addr = %config.addr, %reason, "AMI link dropped");
                metrics::counter!("dialtone_ami_link_failures_total", "stage" => "connected")
                    .increment(1);
                link.send_replace(Link::Down { reason });
            }
            Err(reason) => {
                tracing::warn!(addr = %config.addr, %reason, "AMI connection failed");
                metrics::counter!("dialtone_ami_link_failures_total", "stage" => "connecting")
                    .increment(1);
                link.send_replace(Link::Down { reason });
            }
        }
        let jitter = delay.mul_f64(rand::random::<f64>() * 0.25);
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(delay + jitter) => {}
        }
        delay = (delay * 2).min(config.backoff_max);
    }
}

type Conn = Framed<TcpStream, AmiCodec>;

async fn next_message(framed: &mut Conn) -> Result<Message, String> {
    loop {
        match framed.next().await {
            Some(Ok(AmiFrame::Message(m))) => return Ok(m),
            Some(Ok(AmiFrame::Banner(_))) => continue,
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("connection closed".into()),
        }
    }
}

/// Sends `action` during login and returns its response, passing over events.
async fn login_step(framed: &mut Conn, action: &Action, id: &str) -> Result<Message, String> {
    framed
        .send(Outgoing {
            action,
            action_id: id,
        })
        .await
        .map_err(|e| e.to_string())?;
    loop {
        let m = next_message(framed).await?;
        if m.response().is_some() && m.action_id() == Some(id) {
            return Ok(m);
        }
    }
}

async fn connect(config: &AmiConfig, ids: &AtomicU64) -> Result<(Conn, String), String> {
    let login = async {
        let stream = TcpStream::connect(&config.addr)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", config.addr))?;
        let _ = stream.set_nodelay(true);
        let mut framed = Framed::new(stream, AmiCodec::new());
        let version = match framed.next().await {
            Some(Ok(AmiFrame::Banner(v))) => v,
            Some(Err(AmiCodecError::NotAmi(line))) => {
                return Err(format!(
                    "{} is not an Asterisk manager (it said {line:?})",
                    config.addr
                ))
            }
            Some(Err(e)) => return Err(e.to_string()),
            _ => return Err("closed before its banner".into()),
        };
        let mut login = Action::new("Login").field("Username", &config.username);
        if config.auth == Auth::Md5 {
            let id = format!("dt-{}", ids.fetch_add(1, Ordering::Relaxed));
            let challenge = login_step(
                &mut framed,
                &Action::new("Challenge").field("AuthType", "MD5"),
                &id,
            )
            .await?;
            let Some(challenge) = challenge
                .get("Challenge")
                .filter(|_| challenge.is_success())
            else {
                return Err(format!(
                    "MD5 challenge refused: {}",
                    challenge.get("Message").unwrap_or_default()
                ));
            };
            let key = hex::encode(Md5::digest(
                format!("{challenge}{}", config.secret).as_bytes(),
            ));
            login = login.field("AuthType", "MD5").field("Key", key);
        } else {
            login = login.field("Secret", &config.secret);
        }
        let id = format!("dt-{}", ids.fetch_add(1, Ordering::Relaxed));
        let reply = login_step(&mut framed, &login, &id).await?;
        if !reply.is_success() {
            return Err(format!(
                "login as {} refused: {}",
                config.username,
                reply.get("Message").unwrap_or_default()
            ));
        }
        Ok((framed, version))
    };
    tokio::time::timeout(config.action_timeout, login)
        .await
        .map_err(|_| format!("no login within {:?}", config.action_timeout))?
}

/// Runs a logged-in connection until it fails; returns why.
async fn serve(
    config: &AmiConfig,
    mut framed: Conn,
    requests: &mut mpsc::Receiver<Request>,
    events: &broadcast::Sender<Arc<Message>>,
    ids: &AtomicU64,
    stop: &CancellationToken,
) -> String {
    let mut pending: HashMap<String, Pending> = HashMap::new();
    let mut ping = tokio::time::interval(config.ping_interval);
    ping.tick().await;
    let mut ping_outstanding: Option<(String, tokio::time::Instant)> = None;
    let reason = loop {
        tokio::select! {
            _ = stop.cancelled() => break "stopped".to_string(),
            request = requests.recv() => {
                let Some(request) = request else { break "client dropped".to_string() };
                let id = format!("dt-{}", ids.fetch_add(1, Ordering::Relaxed));
                match framed.send(Outgoing { action: &request.action, action_id: &id }).await {
                    Ok(()) => {
                        pending.insert(id, Pending { reply: request.reply, name: request.action.name, list: request.list, response: None, events: Vec::new() });
                    }
                    Err(AmiCodecError::Action(e)) => {
                        let _ = request.reply.send(Err(AmiError::Refused { action: request.action.name, message: e.to_string() }));
                    }
                    Err(e) => {
                        let _ = request.reply.send(Err(AmiError::Disconnected { action: request.action.name }));
                        break e.to_string();
                    }
                }
            }
            _ = ping.tick() => {
                if let Some((_, sent)) = &ping_outstanding {
                    if sent.elapsed() > config.action_timeout {
                        break format!("no answer to Ping within {:?}", config.action_timeout);
                    }
                    continue;
                }
                let id = format!("dt-ping-{}", ids.fetch_add(1, Ordering::Relaxed));
                if let Err(e) = framed.send(Outgoing { action: &Action::new("Ping"), action_id: &id }).await {
                    break e.to_string();
                }
                ping_outstanding = Some((id, tokio::time::Instant::now()));
            }
            frame = next_message(&mut framed) => {
                let message = match frame {
                    Ok(m) => m,
                    Err(e) => break e,
                };
                let id = message.action_id().map(str::to_string);
                if message.response().is_some() && id.is_some() && ping_outstanding.as_ref().map(|(p, _)| Some(p) == id.as_ref()).unwrap_or(false) {
                    ping_outstanding = None;
                    continue;
                }
                route(message, id, &mut pending, events);
            }
        }
        // Callers that gave up (timed out) no longer need their entry.
        pending.retain(|_, p| !p.reply.is_closed());
    };
    for (_, p) in pending.drain() {
        let _ = p.reply.send(Err(AmiError::Disconnected { action: p.name }));
    }
    reason
}

/// A response completes its action (or opens its event list); a list's events are gathered
/// until the one marked Complete; everything else is an event for subscribers.
fn route(
    message: Message,
    id: Option<String>,
    pending: &mut HashMap<String, Pending>,
    events: &broadcast::Sender<Arc<Message>>,
) {
    let Some(id) = id.filter(|id| pending.contains_key(id)) else {
        if message.event().is_some() {
            let _ = events.send(Arc::new(message));
        }
        return;
    };
    let Some(entry) = pending.get_mut(&id) else {
        return;
    };
    if message.response().is_some() && entry.response.is_none() {
        let is_list = entry.list && message.starts_event_list();
        if !is_list {
            if let Some(done) = pending.remove(&id) {
                let _ = done.reply.send(Ok(Reply {
                    response: message,
                    events: done.events,
                }));
            }
            return;
        }
        entry.response = Some(message);
        return;
    }
    if message.event().is_some() && entry.list {
        let complete = message.completes_event_list();
        entry.events.push(message);
        if complete {
            if let Some(done) = pending.remove(&id) {
                let response = done.response.unwrap_or_default();
                let _ = done.reply.send(Ok(Reply {
                    response,
                    events: done.events,
                }));
            }
        }
        return;
    }
    // An event that carries an action's id but is not part of a list (OriginateResponse).
    let _ = events.send(Arc::new(message));
}
