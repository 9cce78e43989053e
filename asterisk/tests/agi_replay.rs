//! Every recorded AGI session replayed against the codec and the typed session: the commands the
//! session sends must be the recorded bytes, and each reply must read as Asterisk meant it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's helpers fail the test as its #[test]s do

mod support;

use std::time::Duration;

use bytes::BytesMut;
use dialtone_asterisk::agi::{
    AgiCodec, AgiError, AgiSession, ChannelState, Command, Digits, Frame, Playback, Reply, Timeouts,
};

fn timeouts(secs: f64) -> Timeouts {
    Timeouts {
        command: Duration::from_secs_f64(secs),
        application: Duration::from_secs_f64(secs),
    }
}
use support::{all_transcripts, play_asterisk, transcript};
use tokio_util::codec::Decoder;

async fn session_for(
    name: &str,
) -> (
    AgiSession<tokio::io::DuplexStream>,
    tokio::task::JoinHandle<Result<(), String>>,
) {
    let steps = transcript(name);
    let (server, asterisk) = tokio::io::duplex(1 << 16);
    let player = tokio::spawn(async move { play_asterisk(asterisk, &steps).await });
    let session = AgiSession::start(server, Duration::from_secs(5), timeouts(5.0))
        .await
        .expect("environment");
    (session, player)
}

async fn finish(
    session: AgiSession<tokio::io::DuplexStream>,
    player: tokio::task::JoinHandle<Result<(), String>>,
) {
    drop(session);
    player
        .await
        .expect("player")
        .expect("the session sent what Asterisk recorded");
}

#[test]
fn every_asterisk_line_of_every_transcript_decodes() {
    let names = all_transcripts();
    assert!(names.len() >= 6, "{names:?}");
    for name in names {
        let mut codec = AgiCodec::new();
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        for step in transcript(&name).iter().filter(|s| s.from == "asterisk") {
            buf.extend_from_slice(step.line.as_bytes());
            while let Some(frame) = codec
                .decode(&mut buf)
                .unwrap_or_else(|e| panic!("{name}: {e}"))
            {
                frames.push(frame);
            }
        }
        assert!(buf.is_empty(), "{name}: bytes left over");
        assert!(
            codec.decode_eof(&mut buf).expect("clean end").is_none(),
            "{name}"
        );
        assert!(matches!(frames.first(), Some(Frame::Env(_))), "{name}");
    }
}

#[tokio::test]
async fn commands_and_errors() {
    let (mut s, player) = session_for("commands-and-errors.jsonl").await;
    assert_eq!(s.env().script_path(), "plain");
    assert_eq!(s.env().args, ["arg one", "argtwo"]);
    assert_eq!(
        s.get_variable("CHANNEL").await.expect("get").as_deref(),
        Some("Local/s@agi-plain-00000011;2")
    );
    assert_eq!(s.get_variable("NOSUCHVAR").await.expect("get"), None);
    s.set_variable("FOO", "bar baz").await.expect("set");
    assert_eq!(
        s.get_variable("FOO").await.expect("get").as_deref(),
        Some("bar baz")
    );
    assert_eq!(
        s.get_full_variable("${FOO}-${CALLERID(num)}")
            .await
            .expect("full")
            .as_deref(),
        Some("bar baz-5551212")
    );
    assert_eq!(s.channel_status().await.expect("status"), ChannelState::Up);
    assert_eq!(s.exec("NoOp", "hello, world").await.expect("exec"), 0);
    assert_eq!(
        s.stream_file("beep", "").await.expect("stream"),
        Playback::Completed { endpos: 3520 }
    );
    assert_eq!(
        s.stream_file("nosuchfile", "").await.expect("stream"),
        Playback::Failed { endpos: 0 }
    );
    assert!(matches!(
        s.send(&Command::new("NOSUCHCOMMAND").word("foo")).await,
        Err(AgiError::UnknownCommand { .. })
    ));
    match s.send(&Command::new("STREAM FILE")).await {
        Err(AgiError::Usage { usage, .. }) => {
            assert!(usage.starts_with("Send the given file"), "{usage}");
            assert!(usage.ends_with("<value>FAILED</value>"), "{usage}");
        }
        other => panic!("{other:?}"),
    }
    s.database_put("fam", "key", "v 1").await.expect("put");
    assert_eq!(
        s.database_get("fam", "key").await.expect("get").as_deref(),
        Some("v 1")
    );
    assert_eq!(s.database_get("fam", "nokey").await.expect("get"), None);
    s.verbose("log line", 1).await.expect("verbose");
    assert_eq!(
        s.exec("MixMonitor", "/tmp/rec-test.wav,b")
            .await
            .expect("exec"),
        0
    );
    assert_eq!(s.exec("Wait", "1").await.expect("exec"), 0);
    assert_eq!(s.say_digits("123", "").await.expect("say"), None);
    assert_eq!(
        s.get_data("beep", 500, 2).await.expect("get data"),
        Digits {
            digits: String::new(),
            timed_out: true
        }
    );
    assert_eq!(s.exec("StopMixMonitor", "").await.expect("exec"), 0);
    assert!(!s.hung_up());
    s.hangup().await.expect("hangup");
    // Asterisk says HANGUP before the reply, which still comes: GET VARIABLE works on a dead channel.
    assert_eq!(
        s.get_variable("CHANNEL").await.expect("get").as_deref(),
        Some("Local/s@agi-plain-00000011;2")
    );
    assert!(s.hung_up());
    assert!(matches!(
        s.channel_status().await,
        Err(AgiError::DeadChannel)
    ));
    finish(s, player).await;
}

#[tokio::test]
async fn hangup_during_stream() {
    let (mut s, player) = session_for("hangup-during-stream.jsonl").await;
    assert_eq!(
        s.stream_file("vm-intro", "").await.expect("stream"),
        Playback::Failed { endpos: 12160 }
    );
    assert!(s.get_variable("CHANNEL").await.expect("get").is_some());
    assert!(s.hung_up(), "the HANGUP line before the reply is noted");
    assert_eq!(
        s.exec("Wait", "1").await.expect("exec on a dead channel"),
        0
    );
    finish(s, player).await;
}

async fn outbound(name: &str, status: &str, cause: &str) {
    let (mut s, player) = session_for(name).await;
    assert_eq!(s.env().script_path(), "outbound");
    assert_eq!(s.env().script_param("campaign").as_deref(), Some("1"));
    assert_eq!(
        (s.env().arg(1), s.env().arg(2)),
        (Some(status), Some(cause))
    );
    assert_eq!(
        s.get_variable("AMDSTATUS").await.expect("get").as_deref(),
        Some(status)
    );
    assert_eq!(
        s.get_variable("AMDCAUSE").await.expect("get").as_deref(),
        Some(cause)
    );
    assert_eq!(
        s.get_variable("CHANNEL(state)")
            .await
            .expect("get")
            .as_deref(),
        Some("Up")
    );
    if name == "outbound-full-call.jsonl" {
        assert_eq!(s.env().uniqueid, "lead-42-call");
        s.set_variable("CDR(userfield)", "lead=42")
            .await
            .expect("set");
        assert_eq!(
            s.exec("MixMonitor", "/var/spool/asterisk/monitor/call-test.wav,b")
                .await
                .expect("exec"),
            0
        );
    }
    assert_eq!(
        s.exec("ConfBridge", "agent-101").await.expect("conference"),
        0
    );
    // The callee is gone: HANGUP, then 511 for our HANGUP command.
    assert!(matches!(s.hangup().await, Err(AgiError::DeadChannel)));
    assert!(s.hung_up());
    finish(s, player).await;
}

#[tokio::test]
async fn outbound_amd_human() {
    outbound("outbound-amd-human.jsonl", "HUMAN", "HUMAN-800-800").await;
}

#[tokio::test]
async fn outbound_amd_machine() {
    outbound(
        "outbound-amd-machine.jsonl",
        "MACHINE",
        "LONGGREETING-1500-1500",
    )
    .await;
}

#[tokio::test]
async fn outbound_amd_silence() {
    outbound(
        "outbound-amd-silence.jsonl",
        "MACHINE",
        "INITIALSILENCE-2500-2500",
    )
    .await;
}

#[tokio::test]
async fn outbound_full_call() {
    outbound("outbound-full-call.jsonl", "HUMAN", "HUMAN-800-800").await;
}

#[tokio::test]
async fn a_reply_to_no_command_is_a_protocol_error() {
    let (mut server, asterisk) = tokio::io::duplex(4096);
    let player = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let mut asterisk = asterisk;
        asterisk
            .write_all(b"agi_channel: x\n\n200 result=1\n")
            .await
            .expect("write");
        tokio::time::sleep(Duration::from_millis(200)).await;
    });
    let mut s = AgiSession::start(&mut server, Duration::from_secs(1), timeouts(1.0))
        .await
        .expect("env");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(matches!(
        s.answer().await,
        Err(AgiError::Unsolicited(Reply::Success(_)))
    ));
    player.await.expect("player");
}

#[tokio::test]
async fn silence_times_out_and_eof_closes() {
    let (mut server, mut asterisk) = tokio::io::duplex(4096);
    use tokio::io::AsyncWriteExt;
    asterisk
        .write_all(b"agi_channel: x\n\n")
        .await
        .expect("write");
    let mut s = AgiSession::start(
        &mut server,
        Duration::from_secs(1),
        Timeouts {
            command: Duration::from_millis(100),
            application: Duration::from_secs(60),
        },
    )
    .await
    .expect("env");
    assert!(
        matches!(
            s.answer().await,
            Err(AgiError::Timeout {
                command: "ANSWER",
                ..
            })
        ),
        "a quick command gets the short timeout"
    );
    assert!(
        matches!(s.answer().await, Err(AgiError::Broken)),
        "a late reply must not pair with the next command"
    );
    drop(asterisk);
}

#[tokio::test]
async fn eof_between_commands_closes() {
    let (mut server, mut asterisk) = tokio::io::duplex(4096);
    use tokio::io::AsyncWriteExt;
    asterisk
        .write_all(b"agi_channel: x\n\n")
        .await
        .expect("write");
    let mut s = AgiSession::start(&mut server, Duration::from_secs(1), timeouts(1.0))
        .await
        .expect("env");
    drop(asterisk);
    assert!(matches!(s.answer().await, Err(AgiError::Closed)));
}

#[tokio::test]
async fn applications_get_the_long_timeout() {
    let (mut server, asterisk) = tokio::io::duplex(4096);
    let player = tokio::spawn(async move {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
        let (reader, mut writer) = tokio::io::split(asterisk);
        writer
            .write_all(b"agi_channel: x\n\n")
            .await
            .expect("write");
        let mut reader = tokio::io::BufReader::new(reader);
        let mut line = String::new();
        reader.read_line(&mut line).await.expect("command");
        assert_eq!(line, "EXEC Wait 1\n");
        tokio::time::sleep(Duration::from_millis(300)).await;
        writer.write_all(b"200 result=0\n").await.expect("reply");
    });
    let quick = Timeouts {
        command: Duration::from_millis(100),
        application: Duration::from_secs(5),
    };
    let mut s = AgiSession::start(&mut server, Duration::from_secs(1), quick)
        .await
        .expect("env");
    assert_eq!(
        s.exec("Wait", "1")
            .await
            .expect("a 300 ms application outlives the 100 ms command timeout"),
        0
    );
    player.await.expect("player");
}
