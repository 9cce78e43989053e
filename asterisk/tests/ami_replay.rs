//! Every recorded AMI session (`asterisk/tests/fixtures/asterisk-22/ami`): Asterisk's reads, split as TCP
//! delivered them, decode into the messages Asterisk meant; and every action the recording
//! client wrote is what `Action::encode` writes, byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's helpers fail the test as its #[test]s do

mod support;

use bytes::BytesMut;
use dialtone_asterisk::ami::{Action, AmiCodec, AmiFrame, Message};
use tokio_util::codec::Decoder;

#[derive(serde::Deserialize)]
struct Chunk {
    from: String,
    data: String,
}

fn chunks(name: &str) -> Vec<Chunk> {
    let path = support::fixtures_dir().join("ami").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect()
}

fn transcripts() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(support::fixtures_dir().join("ami"))
        .expect("fixtures")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".jsonl"))
        .collect();
    names.sort();
    names
}

/// Asterisk's messages in one transcript, decoded read by read.
fn messages(name: &str) -> (String, Vec<Message>) {
    let mut codec = AmiCodec::new();
    let mut buf = BytesMut::new();
    let (mut banner, mut out) = (String::new(), Vec::new());
    for chunk in chunks(name).iter().filter(|c| c.from == "asterisk") {
        buf.extend_from_slice(chunk.data.as_bytes());
        while let Some(frame) = codec
            .decode(&mut buf)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
        {
            match frame {
                AmiFrame::Banner(v) => banner = v,
                AmiFrame::Message(m) => out.push(m),
            }
        }
    }
    assert!(
        codec.decode_eof(&mut buf).expect("clean end").is_none(),
        "{name}"
    );
    (banner, out)
}

#[test]
fn every_transcript_decodes_and_every_action_encodes_as_recorded() {
    let names = transcripts();
    assert!(names.len() >= 6, "{names:?}");
    for name in names {
        let (banner, messages) = messages(&name);
        assert_eq!(banner, "11.0.0", "{name}");
        assert!(!messages.is_empty(), "{name}");
        for chunk in chunks(&name).iter().filter(|c| c.from == "client") {
            let mut codec = AmiCodec::new();
            let mut buf =
                BytesMut::from(format!("Asterisk Call Manager/11.0.0\r\n{}", chunk.data).as_str());
            codec.decode(&mut buf).expect("banner");
            let Some(AmiFrame::Message(written)) = codec.decode(&mut buf).expect("action") else {
                panic!("{name}: {:?}", chunk.data)
            };
            let action = Action {
                name: written.get("Action").expect("Action").to_string(),
                fields: written
                    .fields
                    .iter()
                    .filter(|(k, _)| k != "Action" && k != "ActionID")
                    .cloned()
                    .collect(),
            };
            assert_eq!(
                action
                    .encode(written.action_id().expect("ActionID"))
                    .expect("encodes"),
                chunk.data,
                "{name}"
            );
        }
    }
}

fn by_id<'a>(messages: &'a [Message], id: &str, event: Option<&str>) -> &'a Message {
    messages
        .iter()
        .find(|m| m.action_id() == Some(id) && m.event() == event)
        .unwrap_or_else(|| panic!("no {event:?} for {id}"))
}

#[test]
fn originate_outcomes_errors_and_event_lists() {
    let (_, m) = messages("originate-failures-and-errors.jsonl");
    assert!(by_id(&m, "login-1", None).is_success());
    // OriginateResponse reasons: 5 busy, 8 congestion, 3 no answer, 0 failure, 4 answered.
    for (id, reason, ok) in [
        ("busy-1", "5", false),
        ("cong-1", "8", false),
        ("noans-1", "3", false),
        ("bad-1", "0", false),
        ("machine-1", "4", true),
    ] {
        let response = by_id(&m, id, Some("OriginateResponse"));
        assert_eq!(response.get("Reason"), Some(reason), "{id}");
        assert_eq!(response.is_success(), ok, "{id}");
    }
    assert_eq!(
        by_id(&m, "bad-1", Some("OriginateResponse")).get("Uniqueid"),
        Some("<unknown>")
    );
    assert_eq!(by_id(&m, "ping-1", None).get("Ping"), Some("Pong"));
    let unknown = by_id(&m, "bad-2", None);
    assert_eq!(unknown.response(), Some("Error"));
    assert!(unknown
        .get("Message")
        .is_some_and(|t| t.starts_with("Invalid/unknown command")));
    assert!(by_id(&m, "list-1", None).starts_event_list());
    let items = m
        .iter()
        .filter(|x| x.action_id() == Some("list-1") && x.event() == Some("CoreShowChannel"))
        .count();
    let complete = by_id(&m, "list-1", Some("CoreShowChannelsComplete"));
    assert!(complete.completes_event_list());
    assert_eq!(complete.get("ListItems"), Some(items.to_string().as_str()));
    assert_eq!(
        by_id(&m, "gv-1", None).get("Message"),
        Some("No such channel")
    );
    assert_eq!(by_id(&m, "bye", None).response(), Some("Goodbye"));
}

#[test]
fn login_failure() {
    let (_, m) = messages("login-failure.jsonl");
    let reply = by_id(&m, "bad", None);
    assert_eq!(
        (reply.response(), reply.get("Message")),
        (Some("Error"), Some("Authentication failed"))
    );
}
