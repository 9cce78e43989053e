//! The simulator's AMI events for a dial, held against what a real Asterisk 22 sent for the same
//! fates (`asterisk/tests/fixtures/asterisk-22/ami/originate-failures-and-errors.jsonl`): the same
//! events, in the same order, with the same verdicts, and OriginateResponse with the same fields.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's helpers fail the test as its #[test]s do

use std::path::PathBuf;
use std::time::Duration;

use dialtone_asterisk::ami::{Action, AmiClient, AmiConfig, Auth};
use dialtone_sim::{CalleeModel, Pbx, PbxConfig};

/// The events the dialer acts on, as (event, verdict) for one dial's own channel.
const KEPT: [&str; 6] = [
    "Newchannel",
    "DialBegin",
    "Newstate",
    "DialEnd",
    "OriginateResponse",
    "Hangup",
];

fn verdict(get: impl Fn(&str) -> Option<String>) -> String {
    ["DialStatus", "Reason", "Cause"]
        .iter()
        .filter_map(|k| get(k).map(|v| format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join(",")
}

/// An OriginateResponse's field names in order, and whether its Channel is a channel's name
/// (`...-0000000f`, an answered dial) or the dial string (a failed one).
fn shape<'a>(fields: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut names = Vec::new();
    let mut channel = "";
    for (key, value) in fields {
        names.push(key);
        if key == "Channel" {
            let named = value.match_indices('-').any(|(i, _)| {
                value[i + 1..]
                    .chars()
                    .take(8)
                    .filter(char::is_ascii_hexdigit)
                    .count()
                    == 8
            });
            channel = if named { "named" } else { "dial string" };
        }
    }
    format!(" fields={} channel={channel}", names.join("|"))
}

/// The recorded sequence of `uniqueid`'s own channel (not its `;2` half).
fn recorded(uniqueid: &str) -> Vec<(String, String)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../asterisk/tests/fixtures/asterisk-22/ami/originate-failures-and-errors.jsonl");
    let text = std::fs::read_to_string(&path).expect("fixture");
    let mut out = Vec::new();
    for line in text.lines() {
        let record: serde_json::Value = serde_json::from_str(line).expect("json line");
        if record["from"] != "asterisk" {
            continue;
        }
        for block in record["data"]
            .as_str()
            .unwrap_or_default()
            .split("\r\n\r\n")
        {
            let fields: Vec<(&str, &str)> = block
                .split("\r\n")
                .filter_map(|l| l.split_once(": "))
                .collect();
            let get = |k: &str| {
                fields
                    .iter()
                    .find(|(f, _)| *f == k)
                    .map(|(_, v)| v.to_string())
            };
            let Some(event) = get("Event") else { continue };
            let mine = get("Uniqueid").or_else(|| get("DestUniqueid")).as_deref() == Some(uniqueid);
            if mine && KEPT.contains(&event.as_str()) {
                // Newstate's and Hangup's details depend on the device; keep the verdicts the
                // dialer reads.
                let mut v = if event == "Newstate"
                    || (event == "Hangup" && get("Cause").as_deref() == Some("0"))
                {
                    String::new()
                } else {
                    verdict(get)
                };
                if event == "OriginateResponse" {
                    v += &shape(fields.iter().copied());
                }
                out.push((event, v));
            }
        }
    }
    out
}

/// What the simulator sends for one Originate whose callee is drawn from `model`.
async fn simulated(model: CalleeModel, uniqueid: &str, until: &str) -> Vec<(String, String)> {
    let agi = std::net::SocketAddr::from(([127, 0, 0, 1], 9)); // no FastAGI: only the dial matters
    let pbx = Pbx::start(PbxConfig { agi, model })
        .await
        .expect("simulator");
    let mut config = AmiConfig::new(pbx.ami.to_string(), "dialtone", "secret");
    config.auth = Auth::Md5;
    let ami = AmiClient::start(config);
    let mut events = ami.events();
    ami.send(
        Action::new("Originate")
            .field("Channel", "PJSIP/5550100@carrier")
            .field("Context", "dialtone-outbound")
            .field("Exten", "s")
            .field("Priority", "1")
            .field("Timeout", "300")
            .field("Async", "true")
            .field("ChannelId", uniqueid),
    )
    .await
    .expect("originate");
    let mut out = Vec::new();
    while let Ok(Ok(event)) = tokio::time::timeout(Duration::from_secs(5), events.recv()).await {
        let get = |k: &str| event.get(k).map(str::to_string);
        let Some(name) = get("Event") else { continue };
        let mine = get("Uniqueid").or_else(|| get("DestUniqueid")).as_deref() == Some(uniqueid);
        if !mine || !KEPT.contains(&name.as_str()) {
            continue;
        }
        let mut v =
            if name == "Newstate" || (name == "Hangup" && get("Cause").as_deref() == Some("0")) {
                String::new()
            } else {
                verdict(get)
            };
        if name == "OriginateResponse" {
            v += &shape(event.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        let last = name == until;
        out.push((name, v));
        if last {
            break;
        }
    }
    out
}

fn model(busy: f64, human: f64) -> CalleeModel {
    let mut m = CalleeModel::new(1);
    (m.busy, m.congestion, m.human, m.machine) = (busy, 0.0, human, 0.0);
    m.ring = (Duration::from_millis(20), Duration::from_millis(30));
    m
}

#[tokio::test]
async fn a_busy_dial_reads_as_asterisk_reports_it() {
    let want = recorded("busy-1");
    assert_eq!(
        want.first().map(|e| e.0.as_str()),
        Some("Newchannel"),
        "{want:?}"
    );
    let got = simulated(model(1.0, 0.0), "busy-1", "Hangup").await;
    assert_eq!(got, want);
}

#[tokio::test]
async fn a_congested_dial_reads_as_asterisk_reports_it() {
    let want = recorded("cong-1");
    let mut congested = model(0.0, 0.0);
    congested.congestion = 1.0;
    let got = simulated(congested, "cong-1", "OriginateResponse").await;
    assert_eq!(got, want);
}

#[tokio::test]
async fn an_unanswered_dial_reads_as_asterisk_reports_it() {
    let want = recorded("noans-1");
    let got = simulated(model(0.0, 0.0), "noans-1", "OriginateResponse").await;
    assert_eq!(got, want);
}

#[tokio::test]
async fn an_answered_dial_reads_as_asterisk_reports_it() {
    // The recording's answered dial went on into a conference; its start is what a dial shares.
    let want: Vec<_> = recorded("machine-1")
        .into_iter()
        .take_while(|(e, _)| e != "Hangup")
        .collect();
    let got = simulated(model(0.0, 1.0), "machine-1", "DialEnd").await;
    assert_eq!(got, want);
}
