//! One channel's AGI script, played against Dialtone's FastAGI server as Asterisk plays it: the
//! environment block, then a reply to each command in Asterisk 22's words, a HANGUP line once
//! the channel is gone (or redirected: a softhangup to the script), and 511 for commands a dead
//! channel does not allow. Variables are the channel's own, in the registry.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::channels::{Goto, Handle, Place, Registry, Why};

pub struct Leg {
    pub script: String,
    pub args: Vec<String>,
    /// When the far end stops talking and hangs up, wherever it is.
    pub talk_until: Instant,
    /// The channel is already hung up (the `h` extension, a hangup handler).
    pub dead: bool,
}

/// Commands Asterisk still runs on a dead channel (`res_agi.c`'s dead-allowed list).
fn allowed_dead(command: &str) -> bool {
    [
        "GET VARIABLE",
        "GET FULL VARIABLE",
        "SET VARIABLE",
        "EXEC",
        "VERBOSE",
        "DATABASE",
        "NOOP",
        "ASYNCAGI BREAK",
    ]
    .iter()
    .any(|c| command.starts_with(c))
}

/// How a leg ended.
pub enum Ended {
    /// The script finished (or the server closed): the dialplan goes on.
    Finished,
    /// The channel was sent elsewhere while the script ran.
    Moved(Goto),
    /// The channel hung up while the script ran.
    HungUp,
}

/// The first argument of an application's data: `"agent-7,profile,menu"` → `agent-7`.
fn first_arg(data: &str) -> String {
    data.trim()
        .trim_matches('"')
        .split(',')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Runs the script to its end.
pub async fn run(
    agi: SocketAddr,
    registry: &Registry,
    handle: &mut Handle,
    leg: Leg,
) -> std::io::Result<Ended> {
    let stream = TcpStream::connect(agi).await?;
    let (reader, mut writer) = stream.into_split();
    let vars = registry.vars(&handle.name);
    let caller = vars
        .get("CALLERID(num)")
        .cloned()
        .unwrap_or_else(|| "unknown".into());
    let mut env = format!(
        "agi_network: yes\nagi_network_script: {script}\nagi_request: agi://{agi}/{script}\nagi_channel: {channel}\nagi_language: en\n\
         agi_type: {kind}\nagi_uniqueid: {uniqueid}\nagi_version: 22.0.0-sim\nagi_callerid: {caller}\nagi_calleridname: unknown\n\
         agi_callingpres: 67\nagi_callingani2: 0\nagi_callington: 0\nagi_callingtns: 0\nagi_dnid: unknown\nagi_rdnis: unknown\n\
         agi_context: dialtone\nagi_extension: s\nagi_priority: 1\nagi_enhanced: 0.0\nagi_accountcode: \nagi_threadid: 1\n",
        script = leg.script,
        channel = handle.name,
        kind = handle.name.split('/').next().unwrap_or("Local"),
        uniqueid = handle.uniqueid,
    );
    for (i, arg) in leg.args.iter().enumerate() {
        env.push_str(&format!("agi_arg_{}: {arg}\n", i + 1));
    }
    env.push('\n');
    writer.write_all(env.as_bytes()).await?;
    let mut reader = BufReader::new(reader);
    let mut dead = leg.dead;
    let mut told_hangup = false;
    let mut moved = None;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            break;
        }
        let command = line.trim_end();
        if !leg.dead && moved.is_none() {
            moved = handle.pending_move(registry);
        }
        dead |= handle.hung_up() || moved.is_some();
        let mut reply = String::new();
        if dead && !told_hangup {
            reply.push_str("HANGUP\n");
            told_hangup = true;
        }
        let words: Vec<&str> = command.splitn(3, ' ').collect();
        let body = if dead && !allowed_dead(command) {
            "511 Command Not Permitted on a dead channel or intercept routine".to_string()
        } else if let Some(name) = command.strip_prefix("GET VARIABLE ") {
            let name = name.trim_matches('"');
            match registry
                .getvar(&handle.name, name)
                .filter(|v| !v.is_empty())
            {
                Some(value) => format!("200 result=1 ({value})"),
                None => "200 result=0".to_string(),
            }
        } else if let Some(rest) = command.strip_prefix("SET VARIABLE ") {
            if let Some((name, value)) = rest.split_once(' ') {
                registry.setvar(
                    &handle.name,
                    name.trim_matches('"'),
                    value.trim_matches('"'),
                );
            }
            "200 result=1".to_string()
        } else if let Some(data) = command.strip_prefix("EXEC ConfBridge ") {
            if dead {
                "200 result=-1".to_string()
            } else {
                // In the conference until the far end is done, a hangup, or a move (which
                // Asterisk delivers to the script as a hangup).
                registry.enter(&handle.name, Place::Conference(first_arg(data)));
                match handle.stay(registry, leg.talk_until).await {
                    Why::Moved(goto) => moved = Some(goto),
                    Why::Talked | Why::HungUp => registry.enter(&handle.name, Place::Dialplan),
                }
                dead = true;
                "200 result=0".to_string()
            }
        } else if let Some(data) = command.strip_prefix("EXEC MixMonitor ") {
            registry.monitor(&handle.name, Some(&first_arg(data)));
            "200 result=0".to_string()
        } else if command.starts_with("EXEC Hangup") {
            // Hangup() ends the channel with its cause; the application's result is -1.
            registry.hang_up(&handle.name);
            dead = true;
            "200 result=-1".to_string()
        } else if command.starts_with("EXEC") {
            "200 result=0".to_string()
        } else if command.starts_with("STREAM FILE") {
            // A short prompt; a hangup or a move cuts it off, as in `hangup-during-stream`.
            if handle
                .until_interrupted(Instant::now() + Duration::from_millis(50))
                .await
            {
                dead = true;
                "200 result=-1 endpos=4000".to_string()
            } else {
                "200 result=0 endpos=8000".to_string()
            }
        } else if command == "HANGUP" {
            registry.hang_up(&handle.name);
            dead = true;
            "200 result=1".to_string()
        } else if words.first().is_some_and(|w| {
            [
                "ANSWER", "SET", "SAY", "WAIT", "VERBOSE", "CHANNEL", "DATABASE", "GET", "RECORD",
            ]
            .contains(w)
        }) {
            "200 result=0".to_string()
        } else {
            "510 Invalid or unknown command".to_string()
        };
        reply.push_str(&body);
        reply.push('\n');
        writer.write_all(reply.as_bytes()).await?;
    }
    Ok(match moved.or_else(|| handle.pending_move(registry)) {
        Some(goto) if !leg.dead => Ended::Moved(goto),
        _ if handle.hung_up() => Ended::HungUp,
        _ => Ended::Finished,
    })
}
