//! One channel's AGI steps, played against Dialtone's FastAGI server as Asterisk plays them:
//! the environment block, then a reply to each command in Asterisk 22's words, a HANGUP line
//! once the channel is gone, and 511 for commands a dead channel does not allow.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::watch;

pub struct Leg {
    pub script: String,
    pub args: Vec<String>,
    pub channel: String,
    pub uniqueid: String,
    pub variables: HashMap<String, String>,
    /// How long the channel stays in a conference before its far end hangs up.
    pub talk: Duration,
    /// Set when the channel is hung up from outside (AMI Hangup).
    pub hangup: watch::Receiver<bool>,
}

/// Commands Asterisk still runs on a dead channel (`res_agi.c`'s dead-allowed list).
fn allowed_dead(command: &str) -> bool {
    ["GET VARIABLE", "GET FULL VARIABLE", "SET VARIABLE", "EXEC", "VERBOSE", "DATABASE", "NOOP", "ASYNCAGI BREAK"].iter().any(|c| command.starts_with(c))
}

/// Runs the leg; returns the variables as the channel ends with them.
pub async fn run(agi: SocketAddr, mut leg: Leg) -> std::io::Result<HashMap<String, String>> {
    let stream = TcpStream::connect(agi).await?;
    let (reader, mut writer) = stream.into_split();
    let mut env = format!(
        "agi_network: yes\nagi_network_script: {script}\nagi_request: agi://{agi}/{script}\nagi_channel: {channel}\nagi_language: en\n\
         agi_type: {kind}\nagi_uniqueid: {uniqueid}\nagi_version: 22.0.0-sim\nagi_callerid: unknown\nagi_calleridname: unknown\n\
         agi_callingpres: 67\nagi_callingani2: 0\nagi_callington: 0\nagi_callingtns: 0\nagi_dnid: unknown\nagi_rdnis: unknown\n\
         agi_context: dialtone\nagi_extension: s\nagi_priority: 1\nagi_enhanced: 0.0\nagi_accountcode: \nagi_threadid: 1\n",
        script = leg.script,
        channel = leg.channel,
        kind = leg.channel.split('/').next().unwrap_or("Local"),
        uniqueid = leg.uniqueid,
    );
    for (i, arg) in leg.args.iter().enumerate() {
        env.push_str(&format!("agi_arg_{}: {arg}\n", i + 1));
    }
    env.push('\n');
    writer.write_all(env.as_bytes()).await?;
    let mut reader = BufReader::new(reader);
    let mut dead = *leg.hangup.borrow();
    let mut told_hangup = false;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(leg.variables);
        }
        let command = line.trim_end();
        dead |= *leg.hangup.borrow();
        let mut reply = String::new();
        if dead && !told_hangup {
            reply.push_str("HANGUP\n");
            told_hangup = true;
        }
        let words: Vec<&str> = command.splitn(3, ' ').collect();
        let body = if dead && !allowed_dead(command) {
            "511 Command Not Permitted on a dead channel or intercept routine".to_string()
        } else if command.starts_with("GET VARIABLE ") {
            let name = command["GET VARIABLE ".len()..].trim_matches('"');
            match leg.variables.get(name) {
                Some(value) => format!("200 result=1 ({value})"),
                None => "200 result=0".to_string(),
            }
        } else if command.starts_with("SET VARIABLE ") {
            if let Some((name, value)) = command["SET VARIABLE ".len()..].split_once(' ') {
                leg.variables.insert(name.to_string(), value.trim_matches('"').to_string());
            }
            "200 result=1".to_string()
        } else if command.starts_with("EXEC ConfBridge") {
            // The far end talks, then hangs up (or is hung up from outside).
            let mut hangup = leg.hangup.clone();
            tokio::select! {
                _ = tokio::time::sleep(leg.talk) => {}
                _ = hangup.wait_for(|h| *h) => {}
            }
            dead = true;
            "200 result=0".to_string()
        } else if command.starts_with("EXEC") {
            "200 result=0".to_string()
        } else if command.starts_with("STREAM FILE") {
            tokio::time::sleep(Duration::from_millis(50)).await;
            "200 result=0 endpos=8000".to_string()
        } else if command == "HANGUP" {
            dead = true;
            "200 result=1".to_string()
        } else if words.first().is_some_and(|w| ["ANSWER", "SET", "SAY", "WAIT", "VERBOSE", "CHANNEL", "DATABASE", "GET", "RECORD"].contains(w)) {
            "200 result=0".to_string()
        } else {
            "510 Invalid or unknown command".to_string()
        };
        reply.push_str(&body);
        reply.push('\n');
        writer.write_all(reply.as_bytes()).await?;
    }
}
