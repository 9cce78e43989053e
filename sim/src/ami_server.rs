//! The simulator's manager interface. Actions: Login (plain or MD5 challenge), Ping, Logoff,
//! Originate (the call then plays out in [`crate::dial`]), Hangup (a channel or a `/regex/`),
//! CoreShowChannels, Redirect, Getvar, Setvar, PlayDTMF, MixMonitor, StopMixMonitor, Park,
//! Bridge, ConfbridgeList and ConfbridgeKick, each answered in Asterisk 22's words (an unknown
//! channel is an error, as there). Events go to every logged-in session.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use dialtone_asterisk::ami::{AmiCodec, AmiFrame};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_util::codec::FramedRead;

use crate::channels::{self, Goto, Registry};
use crate::dial;
use crate::model::CalleeModel;

pub struct PbxConfig {
    /// Dialtone's FastAGI server, where answered channels run their AGI steps.
    pub agi: SocketAddr,
    pub model: CalleeModel,
}

pub(crate) struct Shared {
    pub agi: SocketAddr,
    model: Mutex<CalleeModel>,
    pub registry: Registry,
    next: AtomicU64,
}

impl Shared {
    pub fn model(&self) -> MutexGuard<'_, CalleeModel> {
        self.model.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A channel number, for unique channel names.
    pub fn next_channel(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }
}

/// A running simulator.
pub struct Pbx {
    pub ami: SocketAddr,
}

type Fields = Vec<(String, String)>;

fn get<'a>(fields: &'a Fields, key: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
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
            registry: Registry::new(),
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
    let mut events = shared.registry.subscribe();
    if writer
        .write_all(b"Asterisk Call Manager/11.0.0\r\n")
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) => if writer.write_all(event.as_bytes()).await.is_err() { return },
                // Asterisk drops a manager session it cannot write to in time rather than skip
                // its events; so does the simulator, and the client's reconnect is what a slow
                // client meets in production.
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "AMI session too slow for its events; closed");
                    return;
                }
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
    let registry = &shared.registry;
    let id = get(action, "ActionID").unwrap_or_default();
    let ok = |extra: &str| format!("Response: Success\r\nActionID: {id}\r\n{extra}\r\n");
    let error =
        |message: &str| format!("Response: Error\r\nActionID: {id}\r\nMessage: {message}\r\n\r\n");
    let channel = get(action, "Channel").unwrap_or_default();
    let no_channel = || error(&format!("Channel does not exist: {channel}"));
    let reply = match get(action, "Action").unwrap_or_default() {
        "Challenge" => ok("Challenge: 840267361\r\n"),
        // A booted Asterisk tells each new manager session so at once.
        "Login" => format!(
            "{}Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 0\r\nLastReload: 0\r\nStatus: Fully Booted\r\n\r\n",
            ok("Message: Authentication accepted\r\n")
        ),
        "Ping" => ok("Ping: Pong\r\nTimestamp: 0.0\r\n"),
        "Logoff" => return (format!("Response: Goodbye\r\nActionID: {id}\r\nMessage: Thanks for all the fish.\r\n\r\n"), true),
        "Originate" => {
            tokio::spawn(dial::originate(action.clone(), shared.clone()));
            ok("Message: Originate successfully queued\r\n")
        }
        "Hangup" => {
            let matching = registry.matching(channel);
            if channel.starts_with('/') {
                // A regex hangs up every match and lists them (`ami/full-call-agent-conference`).
                let mut out = ok("EventList: start\r\nMessage: Channels hung up will follow\r\n");
                for name in &matching {
                    registry.hang_up(name);
                    out.push_str(&format!("Event: ChannelHungup\r\nChannel: {name}\r\nActionID: {id}\r\n\r\n"));
                }
                out.push_str(&format!("Event: ChannelsHungupListComplete\r\nActionID: {id}\r\nEventList: Complete\r\nListItems: {}\r\n\r\n", matching.len()));
                out
            } else if registry.hang_up(channel) {
                ok("Message: Channel Hungup\r\n")
            } else {
                error("No such channel")
            }
        }
        "CoreShowChannels" => {
            let channels = registry.list();
            let mut out = ok("EventList: start\r\nMessage: Channels will follow\r\n");
            for (name, uniqueid) in &channels {
                out.push_str(&format!("Event: CoreShowChannel\r\nActionID: {id}\r\nChannel: {name}\r\nUniqueid: {uniqueid}\r\nLinkedid: {uniqueid}\r\n\r\n"));
            }
            out.push_str(&format!("Event: CoreShowChannelsComplete\r\nActionID: {id}\r\nEventList: Complete\r\nListItems: {}\r\n\r\n", channels.len()));
            out
        }
        "Redirect" => {
            let (context, exten) = (get(action, "Context").unwrap_or_default(), get(action, "Exten").unwrap_or_default());
            if context.is_empty() || exten.is_empty() {
                error("Context and Exten are required")
            } else if !registry.exists(channel) {
                no_channel()
            } else {
                // ExtraChannel moves a second channel in the same action, as Asterisk does.
                let extra = get(action, "ExtraChannel").filter(|c| !c.is_empty());
                if let Some(extra) = extra {
                    let (context, exten) = (get(action, "ExtraContext").unwrap_or(context), get(action, "ExtraExten").unwrap_or(exten));
                    registry.send_to(extra, Goto::Dialplan { context: context.to_string(), exten: exten.to_string() });
                }
                registry.send_to(channel, Goto::Dialplan { context: context.to_string(), exten: exten.to_string() });
                ok("Message: Redirect successful\r\n")
            }
        }
        "Getvar" => {
            let variable = get(action, "Variable").unwrap_or_default();
            match registry.getvar(channel, variable) {
                Some(value) => ok(&format!("Variable: {variable}\r\nValue: {value}\r\n")),
                // Without a channel: a global variable; the simulator has none.
                None if channel.is_empty() => ok(&format!("Variable: {variable}\r\nValue: \r\n")),
                None => no_channel(),
            }
        }
        "Setvar" => {
            let (variable, value) = (get(action, "Variable").unwrap_or_default(), get(action, "Value").unwrap_or_default());
            if variable.is_empty() {
                error("No variable specified")
            } else if channel.is_empty() || registry.setvar(channel, variable, value) {
                ok("Message: Variable Set\r\n")
            } else {
                no_channel()
            }
        }
        "PlayDTMF" => {
            let digit = get(action, "Digit").unwrap_or_default();
            match registry.uniqueid(channel) {
                None => no_channel(),
                Some(_) if digit.chars().count() != 1 => error("No digit specified"),
                Some(uniqueid) => {
                    let lines = channels::channel_lines(channel, &uniqueid);
                    registry.emit(format!("Event: DTMFBegin\r\nPrivilege: dtmf,all\r\n{lines}Digit: {digit}\r\nDirection: Sent\r\n\r\n"));
                    registry.emit(format!("Event: DTMFEnd\r\nPrivilege: dtmf,all\r\n{lines}Digit: {digit}\r\nDurationMs: 250\r\nDirection: Sent\r\n\r\n"));
                    ok("Message: DTMF successfully queued\r\n")
                }
            }
        }
        "MixMonitor" => match get(action, "File") {
            _ if !registry.exists(channel) => no_channel(),
            Some(file) if !file.is_empty() => {
                registry.monitor(channel, Some(file));
                ok("Message: Started MixMonitor\r\n")
            }
            _ => error("No file specified"),
        },
        "StopMixMonitor" => {
            if !registry.exists(channel) {
                no_channel()
            } else if registry.monitor(channel, None) {
                ok("Message: Stopped MixMonitor\r\n")
            } else {
                error("Could not stop MixMonitor")
            }
        }
        "Park" => {
            let timeout = Duration::from_millis(get(action, "Timeout").and_then(|t| t.parse().ok()).unwrap_or(45_000));
            if registry.send_to(channel, Goto::Park { timeout }) {
                ok("Message: Park successful\r\n")
            } else {
                no_channel()
            }
        }
        "Bridge" => {
            let (one, two) = (get(action, "Channel1").unwrap_or_default(), get(action, "Channel2").unwrap_or_default());
            if !registry.exists(one) {
                error(&format!("Channel1 does not exist: {one}"))
            } else if !registry.exists(two) {
                error(&format!("Channel2 does not exist: {two}"))
            } else if registry.in_conference(one) || registry.in_conference(two) {
                // Asterisk cannot move a channel out of a ConfBridge into another bridge.
                error(&format!("Unable to add {} to bridge", if registry.in_conference(two) { "Channel2" } else { "Channel1" }))
            } else {
                registry.send_to(one, Goto::Bridge(two.to_string()));
                registry.send_to(two, Goto::Bridge(one.to_string()));
                ok("Message: Channels have been bridged\r\n")
            }
        }
        "ConfbridgeList" => {
            let conference = get(action, "Conference").unwrap_or_default();
            let members = registry.members(conference);
            if members.is_empty() {
                error("No active conferences.")
            } else {
                let mut out = ok("EventList: start\r\nMessage: Confbridge user list will follow\r\n");
                for (name, uniqueid, answered) in &members {
                    out.push_str(&format!(
                        "Event: ConfbridgeList\r\nActionID: {id}\r\nConference: {conference}\r\nAdmin: No\r\nMarkedUser: No\r\nWaitMarked: No\r\nEndMarked: No\r\nEndMarkedAny: No\r\nWaiting: No\r\nMuted: No\r\nTalking: No\r\nAnsweredTime: {answered}\r\n{}\r\n",
                        channels::channel_lines(name, uniqueid)
                    ));
                }
                out.push_str(&format!("Event: ConfbridgeListComplete\r\nActionID: {id}\r\nEventList: Complete\r\nListItems: {}\r\n\r\n", members.len()));
                out
            }
        }
        "ConfbridgeKick" => {
            // A kicked channel leaves ConfBridge; our dialplan hangs up after it.
            let conference = get(action, "Conference").unwrap_or_default();
            if registry.members(conference).iter().any(|(name, _, _)| name == channel) && registry.hang_up(channel) {
                ok("Message: User kicked\r\n")
            } else {
                error("No Conference by that name found.")
            }
        }
        other => format!("Response: Error\r\nActionID: {id}\r\nMessage: Invalid/unknown command: {other}. Use Action: ListCommands to show available commands.\r\n\r\n"),
    };
    (reply, false)
}
