//! The simulator's live channels: where each one is (an application, a conference, on hold,
//! parked, bridged, dialed away), its variables, and the manager's reach into it (hang up, move
//! elsewhere). Every change of place is told to the manager's sessions as Asterisk 22 tells it
//! (`ConfbridgeJoin`/`ConfbridgeLeave`, `MusicOnHoldStart`/`Stop`, `ParkedCall`, `BridgeEnter`).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

/// Where a channel is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// Running dialplan applications (an AGI script, a Dial, a Playback).
    Dialplan,
    /// In the named ConfBridge.
    Conference(String),
    /// Hearing music on hold (`dialtone-hold`).
    Hold,
    /// In Asterisk's parking lot, at this space.
    Parked(u32),
    /// In a two-party bridge with the named channel.
    Bridged(String),
    /// Sent on to the number (a blind transfer): gone from the dialer's world, still talking.
    Away(String),
    /// A supervisor's phone running ChanSpy on the named device.
    Spying(String),
}

/// Where the manager sends a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Goto {
    /// Redirect: a dialplan location.
    Dialplan { context: String, exten: String },
    /// Bridge: into a two-party bridge with the named channel.
    Bridge(String),
    /// Park: into the parking lot until the timeout returns it.
    Park { timeout: std::time::Duration },
}

/// What the manager has asked of a channel and not yet been carried out.
#[derive(Debug, Clone, Default)]
pub struct Ctl {
    pub hangup: bool,
    pub goto: Option<Goto>,
}

/// Why a channel stopped waiting where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// Its far end finished talking and hung up.
    Talked,
    /// The manager (or the other side of its bridge) hung it up.
    HungUp,
    /// The manager sent it elsewhere.
    Moved(Goto),
}

struct Chan {
    uniqueid: String,
    vars: HashMap<String, String>,
    place: Place,
    ctl: watch::Sender<Ctl>,
    answered: Instant,
    monitor: Option<String>,
    /// Has been in a conference (with an agent, or a third party).
    joined: bool,
}

#[derive(Default)]
struct Inner {
    /// By channel name.
    channels: HashMap<String, Chan>,
    /// Members of each conference, in order of arrival, and the conference's bridge id.
    conferences: HashMap<String, (String, Vec<String>)>,
    next_space: u32,
    next_bridge: u64,
}

/// Every live channel, and the sessions' event feed.
pub struct Registry {
    inner: Mutex<Inner>,
    events: broadcast::Sender<String>,
}

/// A channel's own view: what the manager asks of it, and its place in the registry.
pub struct Handle {
    pub name: String,
    pub uniqueid: String,
    ctl: watch::Receiver<Ctl>,
}

/// The `Channel`/`Uniqueid`/`Linkedid` lines every channel event carries.
pub fn channel_lines(name: &str, uniqueid: &str) -> String {
    format!("Channel: {name}\r\nChannelState: 6\r\nChannelStateDesc: Up\r\nUniqueid: {uniqueid}\r\nLinkedid: {uniqueid}\r\n")
}

/// Events a manager session may fall behind by before it is closed (see `ami_server`).
const EVENT_BACKLOG: usize = 16_384;

impl Registry {
    pub fn new() -> Self {
        Self {
            inner: Mutex::new(Inner {
                next_space: 701,
                ..Inner::default()
            }),
            events: broadcast::channel(EVENT_BACKLOG).0,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.events.subscribe()
    }

    /// Tells every manager session; nobody listening is fine.
    pub fn emit(&self, text: String) {
        let _ = self.events.send(text);
    }

    /// A channel that answered, with the variables it was originated with.
    pub fn add(&self, name: &str, uniqueid: &str, vars: HashMap<String, String>) -> Handle {
        let (ctl, rx) = watch::channel(Ctl::default());
        let chan = Chan {
            uniqueid: uniqueid.to_string(),
            vars,
            place: Place::Dialplan,
            ctl,
            answered: Instant::now(),
            monitor: None,
            joined: false,
        };
        self.lock().channels.insert(name.to_string(), chan);
        Handle {
            name: name.to_string(),
            uniqueid: uniqueid.to_string(),
            ctl: rx,
        }
    }

    /// Takes the channel away (it hung up): it leaves where it was first.
    pub fn remove(&self, name: &str) -> HashMap<String, String> {
        self.enter(name, Place::Dialplan);
        self.lock()
            .channels
            .remove(name)
            .map(|c| c.vars)
            .unwrap_or_default()
    }

    /// Names of live channels `pattern` matches: a name, or AMI's `/regex/` (anchors, escapes
    /// and `.*` are what dialers send; other regex syntax matches literally).
    pub fn matching(&self, pattern: &str) -> Vec<String> {
        let inner = self.lock();
        let mut names: Vec<String> =
            match pattern.strip_prefix('/').and_then(|p| p.strip_suffix('/')) {
                Some(regex) => inner
                    .channels
                    .keys()
                    .filter(|n| regex_match(regex, n))
                    .cloned()
                    .collect(),
                None => inner
                    .channels
                    .keys()
                    .filter(|n| *n == pattern)
                    .cloned()
                    .collect(),
            };
        names.sort();
        names
    }

    /// `(name, uniqueid)` of every live channel, by name.
    pub fn list(&self) -> Vec<(String, String)> {
        let inner = self.lock();
        let mut all: Vec<(String, String)> = inner
            .channels
            .iter()
            .map(|(n, c)| (n.clone(), c.uniqueid.clone()))
            .collect();
        all.sort();
        all
    }

    /// Whether the channel was ever in a conference (a caller who met somebody).
    pub fn ever_joined(&self, name: &str) -> bool {
        self.lock().channels.get(name).is_some_and(|c| c.joined)
    }

    pub fn exists(&self, name: &str) -> bool {
        self.lock().channels.contains_key(name)
    }

    pub fn uniqueid(&self, name: &str) -> Option<String> {
        self.lock().channels.get(name).map(|c| c.uniqueid.clone())
    }

    /// A channel's variable (`None`: no such channel); an unset variable reads as empty.
    pub fn getvar(&self, name: &str, var: &str) -> Option<String> {
        self.lock()
            .channels
            .get(name)
            .map(|c| c.vars.get(var).cloned().unwrap_or_default())
    }

    pub fn setvar(&self, name: &str, var: &str, value: &str) -> bool {
        match self.lock().channels.get_mut(name) {
            Some(c) => {
                c.vars.insert(var.to_string(), value.to_string());
                true
            }
            None => false,
        }
    }

    pub fn vars(&self, name: &str) -> HashMap<String, String> {
        self.lock()
            .channels
            .get(name)
            .map(|c| c.vars.clone())
            .unwrap_or_default()
    }

    /// Asks the channel to hang up; false if it does not exist.
    pub fn hang_up(&self, name: &str) -> bool {
        match self.lock().channels.get(name) {
            Some(c) => {
                c.ctl.send_modify(|ctl| ctl.hangup = true);
                true
            }
            None => false,
        }
    }

    /// Asks the channel to go elsewhere; false if it does not exist.
    pub fn send_to(&self, name: &str, goto: Goto) -> bool {
        match self.lock().channels.get(name) {
            Some(c) => {
                c.ctl.send_modify(|ctl| ctl.goto = Some(goto));
                true
            }
            None => false,
        }
    }

    /// Starts or stops a recording of the channel; false if it does not exist or (stopping)
    /// records nothing.
    pub fn monitor(&self, name: &str, file: Option<&str>) -> bool {
        let mut inner = self.lock();
        let Some(c) = inner.channels.get_mut(name) else {
            return false;
        };
        let event = match (file, &c.monitor) {
            (Some(file), _) => {
                c.monitor = Some(file.to_string());
                "MixMonitorStart"
            }
            (None, Some(_)) => {
                c.monitor = None;
                "MixMonitorStop"
            }
            (None, None) => return false,
        };
        let text = format!(
            "Event: {event}\r\nPrivilege: call,all\r\n{}\r\n",
            channel_lines(name, &c.uniqueid)
        );
        drop(inner);
        self.emit(text);
        true
    }

    /// Whether the channel is in a ConfBridge now.
    pub fn in_conference(&self, name: &str) -> bool {
        self.lock()
            .channels
            .get(name)
            .is_some_and(|c| matches!(c.place, Place::Conference(_)))
    }

    /// A conference's members in order of arrival, with how long each has been answered.
    pub fn members(&self, conference: &str) -> Vec<(String, String, u64)> {
        let inner = self.lock();
        let Some((_, names)) = inner.conferences.get(conference) else {
            return Vec::new();
        };
        names
            .iter()
            .filter_map(|n| {
                inner.channels.get(n).map(|c| {
                    (
                        n.clone(),
                        c.uniqueid.clone(),
                        c.answered.elapsed().as_secs(),
                    )
                })
            })
            .collect()
    }

    /// Moves the channel to `place`, leaving its old one, and tells the manager of both.
    pub fn enter(&self, name: &str, place: Place) {
        let mut inner = self.lock();
        let Some(chan) = inner.channels.get_mut(name) else {
            return;
        };
        if chan.place == place {
            return;
        }
        let old = std::mem::replace(&mut chan.place, place.clone());
        chan.joined |= matches!(place, Place::Conference(_));
        let lines = channel_lines(name, &chan.uniqueid);
        let mut out = Vec::new();
        match old {
            Place::Conference(conf) => {
                if let Some((bridge, members)) = inner.conferences.get_mut(&conf) {
                    let count = members.len();
                    members.retain(|m| m != name);
                    let bridge = bridge.clone();
                    out.push(format!("Event: ConfbridgeLeave\r\nPrivilege: call,all\r\nConference: {conf}\r\n{}{lines}\r\n", bridge_lines(&bridge, &conf, count)));
                    if members.is_empty() {
                        inner.conferences.remove(&conf);
                        out.push(format!("Event: ConfbridgeEnd\r\nPrivilege: call,all\r\nConference: {conf}\r\n{}\r\n", bridge_lines(&bridge, &conf, 0)));
                    }
                }
            }
            Place::Hold => out.push(format!("Event: MusicOnHoldStop\r\nPrivilege: call,all\r\n{lines}\r\n")),
            // Taken out by a Redirect or a hang-up, Asterisk's lot says the caller gave up.
            Place::Parked(space) => out.push(parking_event("ParkedCallGiveUp", &lines, space, "")),
            Place::Bridged(other) => out.push(format!("Event: BridgeLeave\r\nPrivilege: call,all\r\nBridgeType: basic\r\nBridgePeer: {other}\r\n{lines}\r\n")),
            Place::Spying(device) => {
                if let Some(spyee) = spyee(&inner, name, &device) {
                    out.push(format!("Event: ChanSpyStop\r\nPrivilege: call,all\r\n{}{}\r\n", prefixed("Spyer", &lines), prefixed("Spyee", &spyee)));
                }
            }
            Place::Dialplan | Place::Away(_) => {}
        }
        match place {
            Place::Conference(conf) => {
                if !inner.conferences.contains_key(&conf) {
                    inner.next_bridge += 1;
                    let bridge = format!("00000000-0000-4000-8000-{:012x}", inner.next_bridge);
                    out.push(format!("Event: ConfbridgeStart\r\nPrivilege: call,all\r\nConference: {conf}\r\n{}\r\n", bridge_lines(&bridge, &conf, 1)));
                    inner.conferences.insert(conf.clone(), (bridge, Vec::new()));
                }
                if let Some((bridge, members)) = inner.conferences.get_mut(&conf) {
                    members.push(name.to_string());
                    out.push(format!(
                        "Event: ConfbridgeJoin\r\nPrivilege: call,all\r\nConference: {conf}\r\n{}{lines}Admin: No\r\nMuted: No\r\n\r\n",
                        bridge_lines(bridge, &conf, members.len())
                    ));
                }
            }
            Place::Hold => out.push(format!("Event: MusicOnHoldStart\r\nPrivilege: call,all\r\n{lines}Class: default\r\n\r\n")),
            Place::Parked(space) => out.push(parking_event("ParkedCall", &lines, space, "ParkingTimeout: 120\r\n")),
            Place::Bridged(other) => out.push(format!("Event: BridgeEnter\r\nPrivilege: call,all\r\nBridgeType: basic\r\nBridgePeer: {other}\r\n{lines}\r\n")),
            // ChanSpy listens to the first channel of the device (an agent's phone has one).
            Place::Spying(device) => {
                if let Some(spyee) = spyee(&inner, name, &device) {
                    out.push(format!("Event: ChanSpyStart\r\nPrivilege: call,all\r\n{}{}\r\n", prefixed("Spyer", &lines), prefixed("Spyee", &spyee)));
                }
            }
            Place::Dialplan | Place::Away(_) => {}
        }
        drop(inner);
        for text in out {
            self.emit(text);
        }
    }

    /// A parked caller whose time ran out leaves the lot: `ParkedCallTimeOut`, not a give-up.
    pub fn park_timed_out(&self, name: &str) {
        let mut inner = self.lock();
        let Some(chan) = inner.channels.get_mut(name) else {
            return;
        };
        let Place::Parked(space) = chan.place else {
            return;
        };
        chan.place = Place::Dialplan;
        let lines = channel_lines(name, &chan.uniqueid);
        drop(inner);
        self.emit(parking_event("ParkedCallTimeOut", &lines, space, ""));
    }

    /// The next free parking space.
    pub fn park_space(&self) -> u32 {
        let mut inner = self.lock();
        let space = inner.next_space;
        inner.next_space = if space >= 750 { 701 } else { space + 1 };
        space
    }
}

/// One of the parking lot's events about its parkee (`ParkedCall`, `ParkedCallGiveUp`,
/// `ParkedCallTimeOut`), the parkee's channel `lines` prefixed as Asterisk writes them.
fn parking_event(event: &str, lines: &str, space: u32, extra: &str) -> String {
    format!(
        "Event: {event}\r\nPrivilege: call,all\r\n{}ParkingSpace: {space}\r\nParkinglot: default\r\n{extra}\r\n",
        prefixed("Parkee", lines)
    )
}

fn bridge_lines(bridge: &str, conference: &str, count: usize) -> String {
    format!(
        "BridgeUniqueid: {bridge}\r\nBridgeType: base\r\nBridgeTechnology: softmix\r\nBridgeCreator: ConfBridge\r\nBridgeName: {conference}\r\nBridgeNumChannels: {count}\r\nBridgeVideoSourceMode: none\r\n"
    )
}

/// Channel lines with each key prefixed, as events that name a channel in a role write them
/// (`ParkeeChannel`, `SpyerChannel`, `SpyeeChannel`).
fn prefixed(prefix: &str, lines: &str) -> String {
    lines.lines().map(|l| format!("{prefix}{l}\r\n")).collect()
}

/// The channel lines of the first live channel of `device` (ChanSpy's `PJSIP/1001-`), other
/// than the spy itself.
fn spyee(inner: &Inner, spy: &str, device: &str) -> Option<String> {
    let mut names: Vec<&String> = inner
        .channels
        .keys()
        .filter(|n| n.as_str() != spy && n.starts_with(device))
        .collect();
    names.sort();
    names
        .first()
        .map(|n| channel_lines(n, &inner.channels[n.as_str()].uniqueid))
}

/// The regex subset dialers send to AMI's Hangup: `^` and `$` anchors, `\` escapes and `.*`.
fn regex_match(regex: &str, text: &str) -> bool {
    let anchored = regex.starts_with('^');
    let regex = regex.strip_prefix('^').unwrap_or(regex);
    let (regex, to_end) = match regex.strip_suffix('$') {
        Some(r) if !r.ends_with('\\') => (r, true),
        _ => (regex, false),
    };
    // Tokens: Some(c) a literal character, None `.*`.
    let mut tokens = Vec::new();
    let mut chars = regex.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => tokens.extend(chars.next().map(Some)),
            '.' if chars.peek() == Some(&'*') => {
                chars.next();
                tokens.push(None);
            }
            c => tokens.push(Some(c)),
        }
    }
    if !anchored {
        tokens.insert(0, None);
    }
    if !to_end {
        tokens.push(None);
    }
    let text: Vec<char> = text.chars().collect();
    fn go(tokens: &[Option<char>], text: &[char]) -> bool {
        match tokens.split_first() {
            None => text.is_empty(),
            Some((None, rest)) => (0..=text.len()).any(|i| go(rest, &text[i..])),
            Some((Some(c), rest)) => text.first() == Some(c) && go(rest, &text[1..]),
        }
    }
    go(&tokens, &text)
}

impl Handle {
    /// Waits where the channel is until `until` (its far end is done talking), a hangup, or a
    /// move; a move is taken (the manager's request is carried out once).
    pub async fn stay(&mut self, registry: &Registry, until: Instant) -> Why {
        loop {
            {
                let ctl = self.ctl.borrow_and_update();
                if ctl.hangup {
                    return Why::HungUp;
                }
                let moved = ctl.goto.is_some();
                drop(ctl);
                if moved {
                    if let Some(goto) = registry.take_goto(&self.name) {
                        return Why::Moved(goto);
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return Why::Talked,
                changed = self.ctl.changed() => if changed.is_err() { return Why::HungUp },
            }
        }
    }

    pub fn hung_up(&self) -> bool {
        self.ctl.borrow().hangup
    }

    /// A move the manager asked for and nobody took yet.
    pub fn pending_move(&self, registry: &Registry) -> Option<Goto> {
        let asked = self.ctl.borrow().goto.is_some();
        if asked {
            registry.take_goto(&self.name)
        } else {
            None
        }
    }

    /// Waits until `until` or a hangup, whichever comes first; true if it was a hangup. A move
    /// asked meanwhile waits for the channel to be answered (a ringing channel has nowhere to go).
    pub async fn until_hung_up(&mut self, until: Instant) -> bool {
        self.wait_for(until, |ctl| ctl.hangup).await
    }

    /// Waits for the channel to be hung up or moved (as Asterisk's softhangup reaches a
    /// running application, which an AGI script hears as a hangup), or for `until`.
    pub async fn until_interrupted(&mut self, until: Instant) -> bool {
        self.wait_for(until, |ctl| ctl.hangup || ctl.goto.is_some())
            .await
    }

    /// Waits until `until` or until what the manager asked meets `done`; true if it did (a
    /// channel gone from the registry counts as done).
    async fn wait_for(&mut self, until: Instant, done: impl Fn(&Ctl) -> bool) -> bool {
        loop {
            if done(&self.ctl.borrow()) {
                return true;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return false,
                changed = self.ctl.changed() => if changed.is_err() { return true },
            }
        }
    }
}

impl Registry {
    /// Takes the channel's pending move, read and cleared at once so a second one asked
    /// meanwhile is not lost.
    fn take_goto(&self, name: &str) -> Option<Goto> {
        let mut taken = None;
        if let Some(c) = self.lock().channels.get(name) {
            c.ctl.send_if_modified(|ctl| {
                taken = ctl.goto.take();
                taken.is_some()
            });
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::regex_match;

    #[test]
    fn hangup_patterns() {
        assert!(regex_match("^PJSIP\\/1001-", "PJSIP/1001-0000002a"));
        assert!(!regex_match("^PJSIP\\/1001-", "PJSIP/10011-0000002a"));
        assert!(regex_match(
            "^Local\\/s@agent-phone-.*;2$",
            "Local/s@agent-phone-0000000d;2"
        ));
        assert!(!regex_match(
            "^Local\\/s@agent-phone-.*;2$",
            "Local/s@agent-phone-0000000d;1"
        ));
        assert!(regex_match("1001", "PJSIP/1001-0000002a"));
    }
}
