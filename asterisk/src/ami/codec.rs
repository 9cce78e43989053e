//! AMI over a byte stream: the banner line, then messages of `Key: Value` lines ended by an
//! empty line, all lines ending in CRLF. Reads may end anywhere, even inside a line.

use bytes::{Buf, BytesMut};

use crate::lines::LineSplitter;
use tokio_util::codec::{Decoder, Encoder};

use super::message::{Action, ActionError, Message};

/// Longest line accepted. Events are short; command output lines can be long, but not this long.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Most lines in one message (a `CoreShowChannel` has about 20; command output can have more).
pub const MAX_MESSAGE_LINES: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmiFrame {
    /// `Asterisk Call Manager/<version>`, the first line of a connection.
    Banner(String),
    Message(Message),
}

#[derive(Debug, thiserror::Error)]
pub enum AmiCodecError {
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("a line longer than {MAX_LINE_BYTES} bytes")]
    LineTooLong,
    #[error("a message of more than {MAX_MESSAGE_LINES} lines")]
    MessageTooLong,
    #[error("not an Asterisk manager: the first line was {0:?}")]
    NotAmi(String),
    #[error("the connection closed inside a message")]
    Truncated,
    #[error(transparent)]
    Action(#[from] ActionError),
}

#[derive(Debug)]
enum State {
    /// Waiting for the banner.
    Banner,
    /// Between messages, or inside one (its fields so far).
    Messages(Message, usize),
}

/// The client side of an AMI connection: frames in, actions (with their ActionID) out.
#[derive(Debug)]
pub struct AmiCodec {
    state: State,
    lines: LineSplitter,
}

impl Default for AmiCodec {
    fn default() -> Self {
        Self {
            state: State::Banner,
            lines: LineSplitter::default(),
        }
    }
}

impl AmiCodec {
    pub fn new() -> Self {
        Self::default()
    }

    /// The manager's side (a simulator, a test's scripted Asterisk): clients send no banner, so
    /// it starts between messages and each frame is an action.
    pub fn server() -> Self {
        Self {
            state: State::Messages(Message::default(), 0),
            lines: LineSplitter::default(),
        }
    }

    fn next_line(&mut self, buf: &mut BytesMut) -> Result<Option<String>, AmiCodecError> {
        self.lines
            .next_line(buf, MAX_LINE_BYTES)
            .map_err(|_| AmiCodecError::LineTooLong)
    }
}

impl Decoder for AmiCodec {
    type Item = AmiFrame;
    type Error = AmiCodecError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<AmiFrame>, AmiCodecError> {
        loop {
            let Some(line) = self.next_line(buf)? else {
                return Ok(None);
            };
            match &mut self.state {
                // The first line names the protocol; anything else is not a manager interface.
                State::Banner => {
                    let Some(version) = line.strip_prefix("Asterisk Call Manager/") else {
                        return Err(AmiCodecError::NotAmi(line));
                    };
                    let version = version.to_string();
                    self.state = State::Messages(Message::default(), 0);
                    return Ok(Some(AmiFrame::Banner(version)));
                }
                // An empty line ends a message (and is ignored between messages).
                State::Messages(message, lines) if line.is_empty() => {
                    if *lines == 0 {
                        continue;
                    }
                    let done = std::mem::take(message);
                    *lines = 0;
                    return Ok(Some(AmiFrame::Message(done)));
                }
                // `Key: Value`, or a line of command output.
                State::Messages(message, lines) => {
                    *lines += 1;
                    if *lines > MAX_MESSAGE_LINES {
                        return Err(AmiCodecError::MessageTooLong);
                    }
                    match line.split_once(':') {
                        Some((key, value))
                            if !key.is_empty()
                                && !key.contains(' ')
                                && message.output.is_empty() =>
                        {
                            message.fields.push((
                                key.to_string(),
                                value.strip_prefix(' ').unwrap_or(value).to_string(),
                            ));
                        }
                        _ if line == "--END COMMAND--" => {}
                        _ => message.output.push(line),
                    }
                }
            }
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<AmiFrame>, AmiCodecError> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        let inside = matches!(self.state, State::Messages(_, lines) if lines > 0);
        if buf.has_remaining() || inside {
            buf.clear();
            return Err(AmiCodecError::Truncated);
        }
        Ok(None)
    }
}

/// An action and the ActionID it is sent with.
pub struct Outgoing<'a> {
    pub action: &'a Action,
    pub action_id: &'a str,
}

impl Encoder<Outgoing<'_>> for AmiCodec {
    type Error = AmiCodecError;

    fn encode(&mut self, item: Outgoing<'_>, dst: &mut BytesMut) -> Result<(), AmiCodecError> {
        dst.extend_from_slice(item.action.encode(item.action_id)?.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_reads_actions_without_a_banner() {
        let mut codec = AmiCodec::server();
        let mut buf = BytesMut::from("Action: Ping\r\nActionID: 7\r\n\r\n");
        match codec.decode(&mut buf).expect("action") {
            Some(AmiFrame::Message(m)) => assert_eq!(
                (m.get("Action"), m.get("ActionID")),
                (Some("Ping"), Some("7"))
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn banner_messages_and_split_reads() {
        let input = "Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: a1\r\nMessage: Authentication accepted\r\n\r\nEvent: FullyBooted\r\nStatus: Fully Booted\r\n\r\n";
        let mut codec = AmiCodec::new();
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        for byte in input.bytes() {
            buf.extend_from_slice(&[byte]);
            while let Some(frame) = codec.decode(&mut buf).expect("decodes") {
                frames.push(frame);
            }
        }
        assert_eq!(frames[0], AmiFrame::Banner("11.0.0".into()));
        let AmiFrame::Message(response) = &frames[1] else {
            panic!()
        };
        assert!(response.is_success());
        assert_eq!(response.action_id(), Some("a1"));
        let AmiFrame::Message(event) = &frames[2] else {
            panic!()
        };
        assert_eq!(event.event(), Some("FullyBooted"));
        assert_eq!(
            event.get("status"),
            Some("Fully Booted"),
            "keys without case"
        );
    }

    #[test]
    fn command_output_and_bad_input() {
        let mut codec = AmiCodec::new();
        let mut buf = BytesMut::from("Asterisk Call Manager/2.10.4\r\nResponse: Follows\r\nActionID: c\r\nChannel (Context) Extension\r\n1 active channel\r\n--END COMMAND--\r\n\r\n");
        codec.decode(&mut buf).expect("banner");
        let Some(AmiFrame::Message(m)) = codec.decode(&mut buf).expect("message") else {
            panic!()
        };
        assert_eq!(
            m.output,
            ["Channel (Context) Extension", "1 active channel"]
        );
        assert!(m.is_success());

        let mut codec = AmiCodec::new();
        assert!(matches!(
            codec.decode(&mut BytesMut::from("SSH-2.0-OpenSSH\r\n")),
            Err(AmiCodecError::NotAmi(_))
        ));
        let mut codec = AmiCodec::new();
        let mut buf = BytesMut::from("Asterisk Call Manager/11.0.0\r\nEvent: Half\r\n");
        codec.decode(&mut buf).expect("banner");
        assert!(codec.decode(&mut buf).expect("partial").is_none());
        assert!(matches!(
            codec.decode_eof(&mut buf),
            Err(AmiCodecError::Truncated)
        ));
        let mut codec = AmiCodec::new();
        assert!(matches!(
            codec.decode(&mut BytesMut::from(
                vec![b'x'; MAX_LINE_BYTES + 1].as_slice()
            )),
            Err(AmiCodecError::LineTooLong)
        ));
    }
}
