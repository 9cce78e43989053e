//! The AMI client against a scripted manager on loopback: MD5 login, correlation, event lists,
//! events, refusals, timeouts, and reconnecting after the link drops.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's helpers fail the test as its #[test]s do

use std::time::Duration;

use dialtone_asterisk::ami::{
    Action, AmiClient, AmiCodec, AmiConfig, AmiError, AmiFrame, Auth, Link,
};
use futures::StreamExt;
use md5::{Digest, Md5};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio_util::codec::FramedRead;

const SECRET: &str = "s3cret";
const CHALLENGE: &str = "840267361";

/// A manager that answers as Asterisk 22 does (wording from the transcripts). `Drop` closes the
/// connection; `Slow` is never answered.
async fn manager(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            let (r, mut w) = stream.into_split();
            let mut actions = FramedRead::new(r, AmiCodec::server());
            if w.write_all(b"Asterisk Call Manager/11.0.0\r\n")
                .await
                .is_err()
            {
                return;
            }
            loop {
                let Some(Ok(AmiFrame::Message(action))) = actions.next().await else {
                    return;
                };
                let fields = action.fields;
                let get = |k: &str| {
                    fields
                        .iter()
                        .find(|(f, _)| f == k)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                let id = get("ActionID");
                let reply = match get("Action").as_str() {
                    "Challenge" => format!("Response: Success\r\nActionID: {id}\r\nChallenge: {CHALLENGE}\r\n\r\n"),
                    "Login" => {
                        let key = hex::encode(Md5::digest(format!("{CHALLENGE}{SECRET}").as_bytes()));
                        if get("Key") == key || get("Secret") == SECRET {
                            format!("Response: Success\r\nActionID: {id}\r\nMessage: Authentication accepted\r\n\r\nEvent: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n")
                        } else {
                            format!("Response: Error\r\nActionID: {id}\r\nMessage: Authentication failed\r\n\r\n")
                        }
                    }
                    "Ping" => format!("Response: Success\r\nActionID: {id}\r\nPing: Pong\r\nTimestamp: 1795592890.278213\r\n\r\n"),
                    "CoreShowChannels" => format!(
                        "Response: Success\r\nActionID: {id}\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n\
                         Event: CoreShowChannel\r\nActionID: {id}\r\nChannel: Local/s@a-1;1\r\nUniqueid: a-1\r\n\r\n\
                         Event: CoreShowChannel\r\nActionID: {id}\r\nChannel: Local/s@a-1;2\r\nUniqueid: a-2\r\n\r\n\
                         Event: CoreShowChannelsComplete\r\nActionID: {id}\r\nEventList: Complete\r\nListItems: 2\r\n\r\n"
                    ),
                    "Originate" => format!(
                        "Response: Success\r\nActionID: {id}\r\nMessage: Originate successfully queued\r\n\r\n\
                         Event: Hangup\r\nPrivilege: call,all\r\nChannel: Local/s@x-1;1\r\nCause: 16\r\n\r\n\
                         Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: {id}\r\nResponse: Failure\r\nReason: 5\r\nUniqueid: {}\r\n\r\n",
                        get("ChannelId")
                    ),
                    "Drop" => return,
                    "Slow" => continue,
                    other => format!("Response: Error\r\nActionID: {id}\r\nMessage: Invalid/unknown command: {other}. Use Action: ListCommands to show available commands.\r\n\r\n"),
                };
                // Split the write in two, as TCP may.
                let (a, b) = reply.as_bytes().split_at(reply.len() / 2);
                if w.write_all(a).await.is_err()
                    || w.flush().await.is_err()
                    || w.write_all(b).await.is_err()
                {
                    return;
                }
            }
        });
    }
}

async fn start(secret: &str) -> AmiClient {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(manager(listener));
    let mut config = AmiConfig::new(addr.to_string(), "dialer", secret);
    config.auth = Auth::Md5;
    config.action_timeout = Duration::from_millis(500);
    config.backoff_min = Duration::from_millis(20);
    AmiClient::start(config)
}

async fn up(client: &AmiClient, generation: u64) {
    let mut link = client.link();
    tokio::time::timeout(
        Duration::from_secs(5),
        link.wait_for(|l| matches!(l, Link::Up { generation: g, .. } if *g == generation)),
    )
    .await
    .expect("logged in in time")
    .expect("link");
}

#[tokio::test]
async fn logs_in_with_md5_and_routes_responses_lists_and_events() {
    let client = start(SECRET).await;
    up(&client, 1).await;
    let pong = client.send(Action::new("Ping")).await.expect("pong");
    assert_eq!(pong.get("Ping"), Some("Pong"));

    let list = client
        .send_list(Action::new("CoreShowChannels"))
        .await
        .expect("list");
    let ids: Vec<&str> = list
        .events
        .iter()
        .filter_map(|e| e.get("Uniqueid"))
        .collect();
    assert_eq!(ids, ["a-1", "a-2"]);
    assert!(list.events.last().is_some_and(|e| e.completes_event_list()));

    match client.send(Action::new("NoSuchAction")).await {
        Err(AmiError::Refused { message, .. }) => {
            assert!(message.starts_with("Invalid/unknown command"), "{message}")
        }
        other => panic!("{other:?}"),
    }

    let mut outcomes = Box::pin(client.events_matching(|e| e.event() == Some("OriginateResponse")));
    let mut hangups = Box::pin(client.events_matching(|e| e.event() == Some("Hangup")));
    let queued = client
        .send(
            Action::new("Originate")
                .field("Channel", "Local/s@x")
                .field("ChannelId", "call-7"),
        )
        .await
        .expect("queued");
    assert_eq!(queued.get("Message"), Some("Originate successfully queued"));
    let outcome = tokio::time::timeout(Duration::from_secs(2), outcomes.next())
        .await
        .expect("event")
        .expect("stream");
    assert_eq!(
        (outcome.get("Reason"), outcome.get("Uniqueid")),
        (Some("5"), Some("call-7"))
    );
    let hangup = tokio::time::timeout(Duration::from_secs(2), hangups.next())
        .await
        .expect("event")
        .expect("stream");
    assert_eq!(hangup.get("Cause"), Some("16"));
}

#[tokio::test]
async fn reconnects_after_the_link_drops_and_fails_what_was_in_flight() {
    let client = start(SECRET).await;
    up(&client, 1).await;
    assert!(matches!(
        client.send(Action::new("Drop")).await,
        Err(AmiError::Disconnected { .. })
    ));
    up(&client, 2).await;
    assert!(
        client.send(Action::new("Ping")).await.is_ok(),
        "works again on the new link"
    );
}

#[tokio::test]
async fn timeouts_and_refused_logins_are_clear() {
    let client = start(SECRET).await;
    up(&client, 1).await;
    assert!(matches!(
        client.send(Action::new("Slow")).await,
        Err(AmiError::Timeout { .. })
    ));
    assert!(
        client.send(Action::new("Ping")).await.is_ok(),
        "a timed-out action does not block the next"
    );

    let refused = start("wrong").await;
    let mut link = refused.link();
    let down = tokio::time::timeout(
        Duration::from_secs(5),
        link.wait_for(|l| matches!(l, Link::Down { .. })),
    )
    .await
    .expect("in time")
    .expect("link")
    .clone();
    let Link::Down { reason } = down else {
        panic!()
    };
    assert!(
        reason.contains("login as dialer refused: Authentication failed"),
        "{reason}"
    );
    assert!(!reason.contains("wrong"), "the secret is not in the reason");
}
