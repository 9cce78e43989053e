//! AGI over a byte stream, as a `tokio-util` codec: Asterisk's lines in, commands out.

use bytes::{Buf, BytesMut};

use crate::lines::LineSplitter;
use tokio_util::codec::{Decoder, Encoder};

use super::command::{Command, CommandError};
use super::env::{AgiEnv, EnvLineError};
use super::reply::{parse_status_line, Reply, ReplyError, StatusLine};

/// Longest line accepted from Asterisk. Its own replies are short, but `GET VARIABLE` returns a
/// value whole, so the bound is generous; a longer line ends the session rather than the memory.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Most lines in an environment block: 22 named keys plus up to 127 dialplan arguments, with room.
pub const MAX_ENV_LINES: usize = 512;

/// What Asterisk said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The environment block, whole.
    Env(Box<AgiEnv>),
    /// The channel hung up; a reply to the command in flight may still follow.
    Hangup,
    Reply(Reply),
}

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("a line longer than {MAX_LINE_BYTES} bytes")]
    LineTooLong,
    #[error("an environment block of more than {MAX_ENV_LINES} lines")]
    EnvTooLong,
    #[error(transparent)]
    Env(#[from] EnvLineError),
    #[error(transparent)]
    Reply(#[from] ReplyError),
    #[error("the connection closed {0}")]
    Truncated(&'static str),
    #[error(transparent)]
    Command(#[from] CommandError),
}

#[derive(Debug)]
enum State {
    /// Reading the environment block; it has this many lines so far.
    Env(Box<AgiEnv>, usize),
    /// Reading replies and HANGUP lines.
    Replies,
    /// Inside a `520-` usage block; its text so far.
    Usage(String),
}

/// Decodes [`Frame`]s and encodes [`Command`]s for the server side of a FastAGI connection.
#[derive(Debug)]
pub struct AgiCodec {
    state: State,
    /// Where to resume looking for a newline in the buffer.
    lines: LineSplitter,
}

impl Default for AgiCodec {
    fn default() -> Self {
        Self {
            state: State::Env(Box::default(), 0),
            lines: LineSplitter::default(),
        }
    }
}

impl AgiCodec {
    pub fn new() -> Self {
        Self::default()
    }

    fn next_line(&mut self, buf: &mut BytesMut) -> Result<Option<String>, CodecError> {
        self.lines
            .next_line(buf, MAX_LINE_BYTES)
            .map_err(|_| CodecError::LineTooLong)
    }
}

impl Decoder for AgiCodec {
    type Item = Frame;
    type Error = CodecError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        loop {
            let Some(line) = self.next_line(buf)? else {
                return Ok(None);
            };
            match &mut self.state {
                // The environment: lines until an empty one.
                State::Env(env, lines) => {
                    if line.is_empty() {
                        let env = std::mem::take(env);
                        self.state = State::Replies;
                        return Ok(Some(Frame::Env(env)));
                    }
                    *lines += 1;
                    if *lines > MAX_ENV_LINES {
                        return Err(CodecError::EnvTooLong);
                    }
                    env.push_line(&line)?;
                }
                // Between commands: one line is one frame, except a usage block's first line.
                State::Replies => {
                    return match parse_status_line(&line)? {
                        StatusLine::Hangup => Ok(Some(Frame::Hangup)),
                        StatusLine::Reply(reply) => Ok(Some(Frame::Reply(reply))),
                        StatusLine::UsageStart(_) => {
                            self.state = State::Usage(String::new());
                            continue;
                        }
                    };
                }
                // A usage block: free text until `520 End of proper usage.`.
                State::Usage(text) => {
                    if line.starts_with("520 ") {
                        let usage = std::mem::take(text).trim_end().to_string();
                        self.state = State::Replies;
                        return Ok(Some(Frame::Reply(Reply::Usage(usage))));
                    }
                    if text.len() + line.len() > MAX_LINE_BYTES {
                        return Err(CodecError::LineTooLong);
                    }
                    text.push_str(&line);
                    text.push('\n');
                }
            }
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        if let Some(frame) = self.decode(buf)? {
            return Ok(Some(frame));
        }
        // Whatever is left cannot become a frame: say what was cut off, or end cleanly.
        if buf.has_remaining() {
            buf.clear();
            return Err(CodecError::Truncated("in the middle of a line"));
        }
        match self.state {
            State::Env(_, _) => Err(CodecError::Truncated(
                "before the end of the environment block",
            )),
            State::Usage(_) => Err(CodecError::Truncated("inside a usage block")),
            State::Replies => Ok(None),
        }
    }
}

impl Encoder<&Command> for AgiCodec {
    type Error = CodecError;

    fn encode(&mut self, command: &Command, dst: &mut BytesMut) -> Result<(), CodecError> {
        dst.extend_from_slice(command.encode()?.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(codec: &mut AgiCodec, buf: &mut BytesMut) -> Vec<Frame> {
        std::iter::from_fn(|| codec.decode(buf).expect("decodes")).collect()
    }

    #[test]
    fn byte_by_byte_gives_the_same_frames() {
        let input = "agi_network: yes\nagi_channel: SIP/1\nagi_arg_1: x\n\n200 result=1 (v)\nHANGUP\n520-Invalid command syntax.  Proper usage follows:\nUsage: a\n  b\n520 End of proper usage.\n510 Invalid or unknown command\n";
        let mut whole = AgiCodec::new();
        let frames = decode_all(&mut whole, &mut BytesMut::from(input));
        assert_eq!(frames.len(), 5);
        assert!(
            matches!(&frames[0], Frame::Env(env) if env.channel == "SIP/1" && env.args == ["x"])
        );
        assert_eq!(frames[2], Frame::Hangup);
        assert_eq!(
            frames[3],
            Frame::Reply(Reply::Usage("Usage: a\n  b".into()))
        );

        let mut codec = AgiCodec::new();
        let mut buf = BytesMut::new();
        let mut one_by_one = Vec::new();
        for byte in input.bytes() {
            buf.extend_from_slice(&[byte]);
            one_by_one.extend(decode_all(&mut codec, &mut buf));
        }
        assert_eq!(one_by_one, frames);
    }

    #[test]
    fn bounds_and_truncation() {
        let mut codec = AgiCodec::new();
        let mut buf = BytesMut::from(vec![b'a'; MAX_LINE_BYTES + 1].as_slice());
        assert!(matches!(
            codec.decode(&mut buf),
            Err(CodecError::LineTooLong)
        ));

        let mut codec = AgiCodec::new();
        let mut buf = BytesMut::from("agi_channel: SIP/1\n");
        assert!(codec.decode(&mut buf).expect("partial").is_none());
        assert!(matches!(
            codec.decode_eof(&mut buf),
            Err(CodecError::Truncated(_))
        ));

        let mut codec = AgiCodec::new();
        let mut buf = BytesMut::from("\n200 resu");
        assert!(matches!(codec.decode(&mut buf), Ok(Some(Frame::Env(_)))));
        assert!(matches!(
            codec.decode_eof(&mut buf),
            Err(CodecError::Truncated("in the middle of a line"))
        ));

        let mut codec = AgiCodec::new();
        let mut buf = BytesMut::from("\n200 result=1\n");
        decode_all(&mut codec, &mut buf);
        assert!(
            matches!(codec.decode_eof(&mut buf), Ok(None)),
            "a clean end"
        );

        let mut codec = AgiCodec::new();
        let lines: String = (0..=MAX_ENV_LINES)
            .map(|i| format!("agi_x{i}: y\n"))
            .collect();
        assert!(matches!(
            codec.decode(&mut BytesMut::from(lines.as_str())),
            Err(CodecError::EnvTooLong)
        ));

        let mut codec = AgiCodec::new();
        assert!(matches!(
            codec.decode(&mut BytesMut::from("garbage\n")),
            Err(CodecError::Env(_))
        ));
    }
}
