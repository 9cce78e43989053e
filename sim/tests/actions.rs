//! The simulator's manager actions act on its channels as Asterisk's do: a third party and a
//! customer meet in a conference; the customer is read and written (Getvar, Setvar), put on
//! hold and brought back (Redirect), sent keys (PlayDTMF), recorded (MixMonitor), parked until
//! the timeout brings them back (Park), bridged with the third party as a completed transfer
//! does (Setvar, then one Redirect of both: `dialtone-transferred` runs Bridge(); AMI's Bridge
//! is refused for a channel in a conference, as Asterisk refuses it); a regex Hangup ends the
//! bridge. Each step is seen in the events a dialer reads, and unknown channels are
//! refused. The event fields the dialer reads are held against the Asterisk 22 recording.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's helpers fail the test as its #[test]s do

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dialtone_asterisk::ami::{Action, AmiClient, AmiConfig, AmiError, Auth, Message};
use dialtone_sim::{CalleeModel, Pbx, PbxConfig};
use tokio::sync::broadcast;

struct Floor {
    ami: AmiClient,
    events: broadcast::Receiver<Arc<Message>>,
}

impl Floor {
    async fn start() -> Self {
        let mut model = CalleeModel::new(5);
        (model.busy, model.human, model.machine) = (0.0, 1.0, 0.0);
        model.ring = (Duration::from_millis(10), Duration::from_millis(20));
        model.talk = (Duration::from_secs(60), Duration::from_secs(61));
        // No FastAGI server: these channels run no AGI script but the hangup handler.
        let agi = std::net::SocketAddr::from(([127, 0, 0, 1], 9));
        let pbx = Pbx::start(PbxConfig { agi, model })
            .await
            .expect("simulator");
        let mut config = AmiConfig::new(pbx.ami.to_string(), "dialtone", "secret");
        config.auth = Auth::Md5;
        let ami = AmiClient::start(config);
        let events = ami.events();
        Self { ami, events }
    }

    /// The next event named `event` about `channel` (any channel when empty).
    async fn expect(&mut self, event: &str, channel: &str) -> Arc<Message> {
        let wait = async {
            loop {
                match self.events.recv().await {
                    Ok(e)
                        if e.event() == Some(event)
                            && (channel.is_empty() || e.get("Channel") == Some(channel)) =>
                    {
                        return e
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => panic!("event stream closed"),
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(5), wait)
            .await
            .unwrap_or_else(|_| panic!("no {event} for {channel:?}"))
    }

    async fn send(&self, action: Action) -> Message {
        self.ami.send(action).await.expect("action succeeds")
    }

    /// A third party dialed into `conference` (as a warm transfer's consultation is).
    async fn third_party(&self, conference: &str, channel_id: &str) {
        self.send(
            Action::new("Originate")
                .field("Channel", "PJSIP/1001")
                .field("Context", "dialtone-conference")
                .field("Exten", conference)
                .field("Priority", "1")
                .field("Async", "true")
                .field("ChannelId", channel_id),
        )
        .await;
    }
}

fn refused(result: Result<Message, AmiError>) -> String {
    match result {
        Err(AmiError::Refused { message, .. }) => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn manager_actions_move_and_touch_channels() {
    let mut floor = Floor::start().await;
    floor.third_party("agent-1", "third-1").await;
    let third = floor.expect("ConfbridgeJoin", "").await;
    assert_eq!(third.get("Conference"), Some("agent-1"));
    assert_eq!(third.get("Uniqueid"), Some("third-1"));
    let third = third.get("Channel").expect("channel").to_string();
    floor
        .send(
            Action::new("Originate")
                .field("Channel", "PJSIP/+15125550100@carrier")
                .field("Context", "dialtone-manual")
                .field("Exten", "s")
                .field("Priority", "1")
                .field("Async", "true")
                .field("ChannelId", "call-1")
                .variable("DIALTONE_CALL_ID", "call-1")
                .variable("DIALTONE_CONFERENCE", "agent-1"),
        )
        .await;
    let joined = floor.expect("ConfbridgeJoin", "").await;
    assert_eq!(
        (joined.get("Conference"), joined.get("BridgeNumChannels")),
        (Some("agent-1"), Some("2"))
    );
    let customer = joined.get("Channel").expect("channel").to_string();

    // The conference lists both, in order of arrival.
    let list = floor
        .ami
        .send_list(Action::new("ConfbridgeList").field("Conference", "agent-1"))
        .await
        .expect("list");
    let members: Vec<&str> = list
        .events
        .iter()
        .filter(|e| e.event() == Some("ConfbridgeList"))
        .filter_map(|e| e.get("Channel"))
        .collect();
    assert_eq!(members, [third.as_str(), customer.as_str()]);
    assert_eq!(
        refused(
            floor
                .ami
                .send(Action::new("ConfbridgeList").field("Conference", "agent-9"))
                .await
        ),
        "No active conferences."
    );

    // Variables: the Originate's, and what Setvar writes.
    let var = floor
        .send(
            Action::new("Getvar")
                .field("Channel", &customer)
                .field("Variable", "DIALTONE_CALL_ID"),
        )
        .await;
    assert_eq!(var.get("Value"), Some("call-1"));
    floor
        .send(
            Action::new("Setvar")
                .field("Channel", &customer)
                .field("Variable", "DISPO")
                .field("Value", "SALE"),
        )
        .await;
    let var = floor
        .send(
            Action::new("Getvar")
                .field("Channel", &customer)
                .field("Variable", "DISPO"),
        )
        .await;
    assert_eq!(var.get("Value"), Some("SALE"));
    let unset = floor
        .send(
            Action::new("Getvar")
                .field("Channel", &customer)
                .field("Variable", "NOPE"),
        )
        .await;
    assert_eq!(unset.get("Value"), Some(""));
    assert!(refused(
        floor
            .ami
            .send(
                Action::new("Getvar")
                    .field("Channel", "PJSIP/9-0")
                    .field("Variable", "X")
            )
            .await
    )
    .contains("does not exist"));

    // Hold and back.
    floor
        .send(
            Action::new("Redirect")
                .field("Channel", &customer)
                .field("Context", "dialtone-hold")
                .field("Exten", "s")
                .field("Priority", "1"),
        )
        .await;
    floor.expect("ConfbridgeLeave", &customer).await;
    floor.expect("MusicOnHoldStart", &customer).await;
    floor
        .send(
            Action::new("Redirect")
                .field("Channel", &customer)
                .field("Context", "dialtone-conference")
                .field("Exten", "agent-1")
                .field("Priority", "1"),
        )
        .await;
    floor.expect("MusicOnHoldStop", &customer).await;
    let back = floor.expect("ConfbridgeJoin", &customer).await;
    assert_eq!(back.get("Conference"), Some("agent-1"));

    // Keys and recording.
    floor
        .send(
            Action::new("PlayDTMF")
                .field("Channel", &customer)
                .field("Digit", "5")
                .field("Receive", "false"),
        )
        .await;
    let key = floor.expect("DTMFEnd", &customer).await;
    assert_eq!(
        (key.get("Digit"), key.get("Direction")),
        (Some("5"), Some("Sent"))
    );
    floor
        .send(
            Action::new("MixMonitor")
                .field("Channel", &customer)
                .field("File", "2026/x.wav")
                .field("Options", "b"),
        )
        .await;
    floor.expect("MixMonitorStart", &customer).await;
    floor
        .send(Action::new("StopMixMonitor").field("Channel", &customer))
        .await;
    floor.expect("MixMonitorStop", &customer).await;
    assert!(refused(
        floor
            .ami
            .send(Action::new("StopMixMonitor").field("Channel", &customer))
            .await
    )
    .contains("stop"));

    // Parked, unanswered: back to the conference when the timeout passes.
    floor
        .send(
            Action::new("Park")
                .field("Channel", &customer)
                .field("Timeout", "300"),
        )
        .await;
    let parked = floor.expect("ParkedCall", "").await;
    assert_eq!(parked.get("ParkeeChannel"), Some(customer.as_str()));
    assert!(parked.get("ParkingSpace").is_some());
    let back = floor.expect("ParkedCallTimeOut", "").await;
    assert_eq!(
        back.get("ParkeeChannel"),
        Some(customer.as_str()),
        "Asterisk names the parked call as the parkee"
    );
    floor.expect("ConfbridgeJoin", &customer).await;

    // AMI's Bridge cannot take a channel out of a conference, in the simulator as in Asterisk.
    let bridge = Action::new("Bridge")
        .field("Channel1", &customer)
        .field("Channel2", &third)
        .field("Tone", "no");
    assert!(refused(floor.ami.send(bridge).await).contains("Unable to add"));
    // A completed transfer: both leave the conference, which ends, and meet in a bridge.
    floor
        .send(
            Action::new("Setvar")
                .field("Channel", &customer)
                .field("Variable", "DIALTONE_BRIDGE_TO")
                .field("Value", "third-1"),
        )
        .await;
    floor
        .send(
            Action::new("Redirect")
                .field("Channel", &customer)
                .field("Context", "dialtone-transferred")
                .field("Exten", "s")
                .field("Priority", "1")
                .field("ExtraChannel", &third)
                .field("ExtraContext", "dialtone-hold")
                .field("ExtraExten", "s")
                .field("ExtraPriority", "1"),
        )
        .await;
    // Both leave the conference, which ends, and enter the bridge.
    let (mut entered, mut ended) = (Vec::new(), false);
    while entered.len() < 2 || !ended {
        let e = tokio::time::timeout(Duration::from_secs(5), floor.events.recv())
            .await
            .expect("bridge events")
            .expect("events");
        match e.event() {
            Some("BridgeEnter") => entered.push(e.get("Channel").unwrap_or_default().to_string()),
            Some("ConfbridgeEnd") => ended = true,
            _ => {}
        }
    }
    entered.sort();
    let mut want = vec![customer.clone(), third.clone()];
    want.sort();
    assert_eq!(entered, want);

    // A regex Hangup answers with the list of what it hung up; the bridge ends with it.
    let reply = floor
        .send(
            Action::new("Hangup")
                .field("Channel", "/^PJSIP\\/1001-/")
                .field("Cause", "16"),
        )
        .await;
    assert_eq!(reply.get("EventList"), Some("start"));
    floor.expect("Hangup", &third).await;
    floor.expect("Hangup", &customer).await;
    let gone = floor
        .ami
        .send(
            Action::new("Redirect")
                .field("Channel", &customer)
                .field("Context", "dialtone-hold")
                .field("Exten", "s"),
        )
        .await;
    assert!(refused(gone).contains("does not exist"));
    assert!(refused(
        floor
            .ami
            .send(Action::new("Hangup").field("Channel", &customer))
            .await
    )
    .contains("No such channel"));
}

/// Every event of the recording named `event`, as field lists.
fn recorded(file: &str, event: &str) -> Vec<Vec<(String, String)>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../asterisk/tests/fixtures/asterisk-22/ami")
        .join(file);
    let text = std::fs::read_to_string(&path).expect("fixture");
    let mut stream = String::new();
    for line in text.lines() {
        let record: serde_json::Value = serde_json::from_str(line).expect("json line");
        if record["from"] == "asterisk" {
            stream.push_str(record["data"].as_str().unwrap_or_default());
        }
    }
    stream
        .split("\r\n\r\n")
        .map(|block| {
            block
                .split("\r\n")
                .filter_map(|l| l.split_once(": "))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        })
        .filter(|fields| {
            fields
                .first()
                .is_some_and(|(k, v)| k == "Event" && v == event)
        })
        .collect()
}

#[tokio::test]
async fn conference_events_carry_the_fields_asterisk_sends() {
    // What a dialer reads of a conference event; every one is in Asterisk's too.
    let read = [
        "Conference",
        "BridgeUniqueid",
        "BridgeNumChannels",
        "Channel",
        "Uniqueid",
        "Linkedid",
    ];
    let mut floor = Floor::start().await;
    floor.third_party("agent-1", "third-2").await;
    let join = floor.expect("ConfbridgeJoin", "").await;
    let channel = join.get("Channel").expect("channel").to_string();
    floor
        .send(Action::new("Hangup").field("Channel", &channel))
        .await;
    let leave = floor.expect("ConfbridgeLeave", &channel).await;
    for (event, ours) in [("ConfbridgeJoin", &join), ("ConfbridgeLeave", &leave)] {
        let theirs = recorded("full-call-agent-conference.jsonl", event)
            .into_iter()
            .next()
            .expect("recorded");
        for key in read {
            assert!(
                theirs.iter().any(|(k, _)| k == key),
                "Asterisk's {event} has {key}"
            );
            assert!(ours.get(key).is_some(), "the simulator's {event} has {key}");
        }
    }
}
