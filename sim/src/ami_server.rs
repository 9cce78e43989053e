//! The simulator's manager interface: Login (plain or MD5), Ping, Originate (the call then
//! plays out: ringing, a busy or unanswered end, or an answer that runs the dialplan's AGI
//! steps), Hangup (a channel or a `/regex/`), CoreShowChannels, Redirect, PlayDTMF, MixMonitor,
//! Logoff. Events go to every logged-in session.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use dialtone_asterisk::ami::{AmiCodec, AmiFrame};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, watch};
use tokio_util::codec::FramedRead;

use crate::agi_leg::{self, Leg};
use crate::model::{Callee, CalleeModel};

pub struct PbxConfig {
    /// Dialtone's FastAGI server, where answered channels run their AGI steps.
    pub agi: SocketAddr,
    pub model: CalleeModel,
}

struct Channel {
    name: String,
    uniqueid: String,
    hangup: watch::Sender<bool>,
}

struct Shared {
    agi: SocketAddr,
    model: Mutex<CalleeModel>,
    channels: Mutex<Vec<Channel>>,
    events: broadcast::Sender<String>,
    next: AtomicU64,
}

/// A running simulator.
pub struct Pbx {
    pub ami: SocketAddr,
}

type Fields = Vec<(String, String)>;

fn get<'a>(fields: &'a Fields, key: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
}

impl Pbx {
    /// Listens on a free loopback port for AMI clients.
    pub async fn start(config: PbxConfig) -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Listens on `addr` for AMI clients.
    pub async fn start_on(addr: SocketAddr, config: PbxConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let ami = listener.local_addr()?;
        let shared = Arc::new(Shared {
            agi: config.agi,
            model: Mutex::new(config.model),
            channels: Mutex::new(Vec::new()),
            events: broadcast::channel(4096).0,
            next: AtomicU64::new(1),
        });
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, shared.clone()));
            }
        });
        Ok(Self { ami })
    }
}

async fn session(stream: TcpStream, shared: Arc<Shared>) {
    let (reader, mut writer) = stream.into_split();
    let mut actions = FramedRead::new(reader, AmiCodec::server());
    let mut events = shared.events.subscribe();
    if writer.write_all(b"Asterisk Call Manager/11.0.0\r\n").await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) => if writer.write_all(event.as_bytes()).await.is_err() { return },
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
            frame = actions.next() => {
                // A closed connection or bytes that are not AMI end the session, as Asterisk does.
                let Some(Ok(AmiFrame::Message(action))) = frame else { return };
                let (reply, close) = handle(&action.fields, &shared);
                if writer.write_all(reply.as_bytes()).await.is_err() || close {
                    return;
                }
            }
        }
    }
}

fn handle(action: &Fields, shared: &Arc<Shared>) -> (String, bool) {
    let id = get(action, "ActionID").unwrap_or_default();
    let ok = |extra: &str| format!("Response: Success\r\nActionID: {id}\r\n{extra}\r\n");
    let reply = match get(action, "Action").unwrap_or_default() {
        "Challenge" => ok("Challenge: 840267361\r\n"),
        "Login" => ok("Message: Authentication accepted\r\n"),
        "Ping" => ok("Ping: Pong\r\nTimestamp: 0.0\r\n"),
        "Logoff" => return (format!("Response: Goodbye\r\nActionID: {id}\r\nMessage: Thanks for all the fish.\r\n\r\n"), true),
        "Originate" => {
            tokio::spawn(originate(action.clone(), shared.clone()));
            ok("Message: Originate successfully queued\r\n")
        }
        "Hangup" => {
            let target = get(action, "Channel").unwrap_or_default();
            let channels = shared.channels.lock().unwrap_or_else(PoisonError::into_inner);
            let matching: Vec<&Channel> = match target.strip_prefix("/^").and_then(|t| t.strip_suffix('/')) {
                Some(prefix) => {
                    let prefix = prefix.replace('\\', "");
                    channels.iter().filter(|c| c.name.starts_with(&prefix)).collect()
                }
                None => channels.iter().filter(|c| c.name == target).collect(),
            };
            if matching.is_empty() {
                format!("Response: Error\r\nActionID: {id}\r\nMessage: No such channel\r\n\r\n")
            } else {
                for c in matching {
                    let _ = c.hangup.send(true);
                }
                ok("Message: Channel Hungup\r\n")
            }
        }
        "CoreShowChannels" => {
            let channels = shared.channels.lock().unwrap_or_else(PoisonError::into_inner);
            let mut out = ok("EventList: start\r\nMessage: Channels will follow\r\n");
            for c in channels.iter() {
                out.push_str(&format!("Event: CoreShowChannel\r\nActionID: {id}\r\nChannel: {}\r\nUniqueid: {}\r\nLinkedid: {}\r\n\r\n", c.name, c.uniqueid, c.uniqueid));
            }
            out.push_str(&format!("Event: CoreShowChannelsComplete\r\nActionID: {id}\r\nEventList: Complete\r\nListItems: {}\r\n\r\n", channels.len()));
            out
        }
        "Redirect" | "PlayDTMF" | "MixMonitor" | "StopMixMonitor" | "Setvar" => ok(""),
        other => format!("Response: Error\r\nActionID: {id}\r\nMessage: Invalid/unknown command: {other}. Use Action: ListCommands to show available commands.\r\n\r\n"),
    };
    (reply, false)
}

fn emit(shared: &Shared, text: String) {
    let _ = shared.events.send(text);
}

async fn originate(action: Fields, shared: Arc<Shared>) {
    let id = get(&action, "ActionID").unwrap_or_default().to_string();
    let dial = get(&action, "Channel").unwrap_or_default().to_string();
    let n = shared.next.fetch_add(1, Ordering::Relaxed);
    let uniqueid = get(&action, "ChannelId").map(str::to_string).unwrap_or_else(|| format!("sim-{n}"));
    let name = format!("{dial}-{n:08x}");
    let timeout = Duration::from_millis(get(&action, "Timeout").and_then(|t| t.parse().ok()).unwrap_or(30_000));
    let variables: HashMap<String, String> = action
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("Variable"))
        .filter_map(|(_, v)| v.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    let response = |ok: bool, reason: u8| {
        format!(
            "Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: {id}\r\nResponse: {}\r\nChannel: {dial}\r\nReason: {reason}\r\nUniqueid: {uniqueid}\r\n\r\n",
            if ok { "Success" } else { "Failure" }
        )
    };
    let agent_phone = get(&action, "Context") == Some("dialtone-agent");
    let callee = if agent_phone {
        Callee::Human { ring: Duration::from_millis(100), talk: Duration::from_secs(24 * 3600) }
    } else {
        shared.model.lock().unwrap_or_else(PoisonError::into_inner).next()
    };
    // The dial's lifecycle in the order Asterisk 22 reports it
    // (`ami/originate-failures-and-errors.jsonl`): the channel and its dial begin at once; a
    // busy or congested far end ends the dial before the OriginateResponse; an unanswered one
    // hangs up (cause 19) before it; an answer is reported, then the dial's end.
    let state = |event: &str, extra: &str| {
        format!("Event: {event}\r\nPrivilege: call,all\r\nChannel: {name}\r\nUniqueid: {uniqueid}\r\nLinkedid: {uniqueid}\r\n{extra}\r\n")
    };
    let dial_end = |status: &str| {
        format!(
            "Event: DialEnd\r\nPrivilege: call,all\r\nDestChannel: {name}\r\nDestUniqueid: {uniqueid}\r\nDestLinkedid: {uniqueid}\r\nDialStatus: {status}\r\n\r\n"
        )
    };
    let hangup_event = |cause: u8, text: &str| state("Hangup", &format!("Cause: {cause}\r\nCause-txt: {text}\r\n"));
    emit(&shared, state("Newchannel", "ChannelState: 0\r\nChannelStateDesc: Down\r\n"));
    emit(
        &shared,
        format!("Event: DialBegin\r\nPrivilege: call,all\r\nDestChannel: {name}\r\nDestUniqueid: {uniqueid}\r\nDestLinkedid: {uniqueid}\r\nDialString: {dial}\r\n\r\n"),
    );
    let ringing = state("Newstate", "ChannelState: 5\r\nChannelStateDesc: Ringing\r\n");
    let unanswered = |shared: &Shared| {
        emit(shared, hangup_event(19, "User alerting, no answer"));
        emit(shared, response(false, 3));
    };
    let (ring, talk, amd) = match callee {
        Callee::Busy { ring } => {
            tokio::time::sleep(ring).await;
            emit(&shared, dial_end("BUSY"));
            emit(&shared, response(false, 5));
            return emit(&shared, hangup_event(0, "Unknown"));
        }
        Callee::Congestion { ring } => {
            tokio::time::sleep(ring).await;
            emit(&shared, dial_end("CONGESTION"));
            emit(&shared, hangup_event(0, "Unknown"));
            return emit(&shared, response(false, 8));
        }
        Callee::NoAnswer => {
            emit(&shared, ringing);
            tokio::time::sleep(timeout).await;
            return unanswered(&shared);
        }
        Callee::Human { ring, talk } => (ring, talk, ["HUMAN", "HUMAN-800-800"]),
        Callee::Machine { ring } => (ring, Duration::from_secs(20), ["MACHINE", "LONGGREETING-1500-1500"]),
    };
    if ring >= timeout {
        emit(&shared, ringing);
        tokio::time::sleep(timeout).await;
        return unanswered(&shared);
    }
    tokio::time::sleep(ring).await;
    emit(&shared, state("Newstate", "ChannelState: 6\r\nChannelStateDesc: Up\r\n"));
    emit(&shared, response(true, 4));
    emit(&shared, dial_end("ANSWER"));
    let (hangup, watcher) = watch::channel(false);
    shared.channels.lock().unwrap_or_else(PoisonError::into_inner).push(Channel { name: name.clone(), uniqueid: uniqueid.clone(), hangup });
    let (script, args) = if agent_phone {
        (format!("agent-login?session={}", variables.get("DIALTONE_AGENT_SESSION").cloned().unwrap_or_default()), Vec::new())
    } else {
        (
            format!("outbound?campaign={}", variables.get("DIALTONE_CAMPAIGN_ID").cloned().unwrap_or_default()),
            amd.iter().map(|s| s.to_string()).collect(),
        )
    };
    let leg = Leg { script, args, channel: name.clone(), uniqueid: uniqueid.clone(), variables, talk, hangup: watcher.clone() };
    let ended_with = match agi_leg::run(shared.agi, leg).await {
        Ok(vars) => vars,
        Err(e) => {
            tracing::warn!(channel = %name, error = %e, "AGI leg failed");
            HashMap::new()
        }
    };
    // The h extension: the outbound context closes the call record.
    if !agent_phone {
        let mut vars = ended_with;
        vars.insert("HANGUPCAUSE".into(), "16".into());
        vars.insert("DIALSTATUS".into(), "ANSWER".into());
        let (_, dead) = watch::channel(true);
        let h = Leg { script: "call-end".into(), args: Vec::new(), channel: name.clone(), uniqueid: uniqueid.clone(), variables: vars, talk: Duration::ZERO, hangup: dead };
        if let Err(e) = agi_leg::run(shared.agi, h).await {
            tracing::warn!(channel = %name, error = %e, "h extension AGI failed");
        }
    }
    shared.channels.lock().unwrap_or_else(PoisonError::into_inner).retain(|c| c.name != name);
    emit(&shared, hangup_event(16, "Normal Clearing"));
}
