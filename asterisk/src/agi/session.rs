//! One FastAGI session: the environment, then one command and one reply at a time, with the
//! typed commands a dialer uses.

use std::time::{Duration, Instant};

use futures::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::Framed;

use super::codec::{AgiCodec, CodecError, Frame};
use super::command::Command;
use super::env::AgiEnv;
use super::reply::{Reply, Success};

#[derive(Debug, thiserror::Error)]
pub enum AgiError {
    #[error("the channel has hung up")]
    DeadChannel,
    #[error("{command} got no reply within {after:?}")]
    Timeout {
        command: &'static str,
        after: Duration,
    },
    #[error("no environment block within {0:?}")]
    EnvTimeout(Duration),
    #[error("{command}: wrong arguments; Asterisk's usage: {usage}")]
    Usage {
        command: &'static str,
        usage: String,
    },
    #[error("Asterisk does not know the command {command}")]
    UnknownCommand { command: &'static str },
    #[error("{command} failed (result {result})")]
    Failed {
        command: &'static str,
        result: String,
    },
    #[error("{command}: unexpected reply {reply:?}")]
    Unexpected { command: &'static str, reply: Reply },
    #[error("Asterisk sent a reply to no command: {0:?}")]
    Unsolicited(Reply),
    #[error("protocol error: {0}")]
    Protocol(#[from] CodecError),
    #[error("Asterisk closed the connection")]
    Closed,
    /// An earlier command timed out or broke the protocol: a late reply could be taken for the
    /// next command's, so the session takes no more commands.
    #[error("the session is unusable after an earlier error")]
    Broken,
}

impl AgiError {
    /// A short stable name for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            AgiError::DeadChannel => "dead_channel",
            AgiError::Timeout { .. } | AgiError::EnvTimeout(_) => "timeout",
            AgiError::Usage { .. } => "usage",
            AgiError::UnknownCommand { .. } => "unknown_command",
            AgiError::Failed { .. } => "failed",
            AgiError::Unexpected { .. } | AgiError::Unsolicited(_) | AgiError::Protocol(_) => {
                "protocol"
            }
            AgiError::Closed => "closed",
            AgiError::Broken => "broken",
        }
    }
}

/// How a STREAM FILE ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Playback {
    /// Played to the end (or to `endpos` samples).
    Completed { endpos: u64 },
    /// The callee pressed this digit.
    Interrupted { digit: char, endpos: u64 },
    /// The file could not be played, or the channel hung up during it.
    Failed { endpos: u64 },
}

/// What GET DATA collected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digits {
    pub digits: String,
    /// The caller stopped typing before `max_digits` (Asterisk's `(timeout)`).
    pub timed_out: bool,
}

/// `AST_STATE_*`, as CHANNEL STATUS reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelState {
    Down,
    Reserved,
    OffHook,
    Dialing,
    Ring,
    Ringing,
    Up,
    Busy,
    DialingOffHook,
    PreRing,
}

/// How RECORD FILE ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// `timeout`, `dtmf`, `hangup`, `writefile`, `randomerror`... (Asterisk's word for it).
    pub reason: Option<String>,
    pub digit: Option<char>,
    pub endpos: Option<u64>,
}

/// The server side of one AGI session over any byte stream.
pub struct AgiSession<S> {
    framed: Framed<S, AgiCodec>,
    env: AgiEnv,
    hung_up: bool,
    /// Set by an error after which replies can no longer be paired with commands.
    broken: bool,
    timeouts: Timeouts,
}

/// How long a command waits for its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Commands Asterisk answers at once (variables, status, database, hang-up).
    pub command: Duration,
    /// Commands that last as long as the caller does: EXEC (a conference, a queue, a dial),
    /// playback, prompts, recording.
    pub application: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            command: Duration::from_secs(10),
            application: Duration::from_secs(4 * 3600),
        }
    }
}

/// Commands that run for the caller's time rather than Asterisk's.
fn is_application(command: &str) -> bool {
    matches!(
        command,
        "EXEC"
            | "STREAM FILE"
            | "CONTROL STREAM FILE"
            | "GET DATA"
            | "GET OPTION"
            | "RECORD FILE"
            | "WAIT FOR DIGIT"
    ) || command.starts_with("SAY ")
}

fn digit(code: i64) -> Option<char> {
    u8::try_from(code)
        .ok()
        .filter(|c| c.is_ascii_graphic())
        .map(char::from)
}

impl<S: AsyncRead + AsyncWrite + Unpin> AgiSession<S> {
    /// Reads the environment block (within `env_timeout`); every command then waits for its
    /// reply at most as long as `timeouts` says for its kind.
    pub async fn start(
        stream: S,
        env_timeout: Duration,
        timeouts: Timeouts,
    ) -> Result<Self, AgiError> {
        let mut framed = Framed::new(stream, AgiCodec::new());
        let first = tokio::time::timeout(env_timeout, framed.next())
            .await
            .map_err(|_| AgiError::EnvTimeout(env_timeout))?;
        match first {
            Some(Ok(Frame::Env(env))) => Ok(Self {
                framed,
                env: *env,
                hung_up: false,
                broken: false,
                timeouts,
            }),
            Some(Ok(Frame::Hangup)) | None => Err(AgiError::Closed),
            Some(Ok(Frame::Reply(reply))) => Err(AgiError::Unsolicited(reply)),
            Some(Err(e)) => Err(e.into()),
        }
    }

    pub fn env(&self) -> &AgiEnv {
        &self.env
    }

    /// Whether Asterisk has said HANGUP. Commands may still run (a dead channel allows some).
    pub fn hung_up(&self) -> bool {
        self.hung_up
    }

    /// Whether the channel has hung up, reading what Asterisk sent while no command was in
    /// flight, without waiting. A flow that waits between commands (a queue) asks this.
    pub fn check_hangup(&mut self) -> Result<bool, AgiError> {
        self.take_unsolicited()?;
        Ok(self.hung_up)
    }

    /// Frames that arrived while no command was in flight: HANGUP is noted, a reply is an error.
    fn take_unsolicited(&mut self) -> Result<(), AgiError> {
        while let Some(frame) = self.framed.next().now_or_never() {
            match frame {
                Some(Ok(Frame::Hangup)) => self.hung_up = true,
                Some(Ok(Frame::Reply(reply))) => return Err(AgiError::Unsolicited(reply)),
                Some(Ok(Frame::Env(_))) => {
                    return Err(AgiError::Protocol(CodecError::Truncated(
                        "twice into an environment block",
                    )))
                }
                Some(Err(e)) => return Err(e.into()),
                None => {
                    // Asterisk is gone, and with it the channel.
                    self.hung_up = true;
                    return Err(AgiError::Closed);
                }
            }
        }
        Ok(())
    }

    /// Sends `command` and returns its 200 reply; every other reply is an error.
    pub async fn send(&mut self, command: &Command) -> Result<Success, AgiError> {
        let name = command.name();
        let started = Instant::now();
        if self.broken {
            return Err(AgiError::Broken);
        }
        let outcome = self.exchange(command).await;
        if let Err(
            AgiError::Timeout { .. }
            | AgiError::Protocol(_)
            | AgiError::Unsolicited(_)
            | AgiError::Unexpected { .. }
            | AgiError::Closed,
        ) = &outcome
        {
            self.broken = true;
        }
        metrics::histogram!("dialtone_agi_command_seconds", "command" => name)
            .record(started.elapsed().as_secs_f64());
        if let Err(e) = &outcome {
            metrics::counter!("dialtone_agi_command_errors_total", "command" => name, "kind" => e.kind()).increment(1);
        }
        outcome
    }

    async fn exchange(&mut self, command: &Command) -> Result<Success, AgiError> {
        self.take_unsolicited()?;
        let name = command.name();
        tracing::trace!(command = name, "sending");
        self.framed.send(command).await?;
        let timeout = if is_application(name) {
            self.timeouts.application
        } else {
            self.timeouts.command
        };
        let reply = tokio::time::timeout(timeout, async {
            loop {
                match self.framed.next().await {
                    Some(Ok(Frame::Hangup)) => self.hung_up = true,
                    Some(Ok(Frame::Reply(reply))) => return Ok(reply),
                    Some(Ok(Frame::Env(_))) => {
                        return Err(AgiError::Protocol(CodecError::Truncated(
                            "twice into an environment block",
                        )))
                    }
                    Some(Err(e)) => return Err(e.into()),
                    None => return Err(AgiError::Closed),
                }
            }
        })
        .await
        .map_err(|_| AgiError::Timeout {
            command: name,
            after: timeout,
        })??;
        match reply {
            Reply::Success(success) => Ok(success),
            Reply::DeadChannel(_) => {
                self.hung_up = true;
                Err(AgiError::DeadChannel)
            }
            Reply::InvalidCommand(_) => Err(AgiError::UnknownCommand { command: name }),
            Reply::Usage(usage) => Err(AgiError::Usage {
                command: name,
                usage,
            }),
            reply @ Reply::Other { .. } => Err(AgiError::Unexpected {
                command: name,
                reply,
            }),
        }
    }

    /// Sends a command whose result is `expected` on success and anything else a failure.
    async fn expect(&mut self, command: Command, expected: i64) -> Result<Success, AgiError> {
        let reply = self.send(&command).await?;
        if reply.code() == Some(expected) {
            Ok(reply)
        } else {
            Err(AgiError::Failed {
                command: command.name(),
                result: reply.result,
            })
        }
    }

    pub async fn answer(&mut self) -> Result<(), AgiError> {
        self.expect(Command::new("ANSWER"), 0).await.map(drop)
    }

    /// Hangs up this channel.
    pub async fn hangup(&mut self) -> Result<(), AgiError> {
        self.expect(Command::new("HANGUP"), 1).await.map(drop)
    }

    /// A channel variable or function (`CHANNEL(state)`); None when it is not set.
    pub async fn get_variable(&mut self, name: &str) -> Result<Option<String>, AgiError> {
        let reply = self.send(&Command::new("GET VARIABLE").word(name)).await?;
        Ok((reply.code() == Some(1)).then(|| reply.data.unwrap_or_default()))
    }

    /// An expression with `${...}` substitutions, evaluated on the channel.
    pub async fn get_full_variable(
        &mut self,
        expression: &str,
    ) -> Result<Option<String>, AgiError> {
        let reply = self
            .send(&Command::new("GET FULL VARIABLE").text(expression))
            .await?;
        Ok((reply.code() == Some(1)).then(|| reply.data.unwrap_or_default()))
    }

    pub async fn set_variable(&mut self, name: &str, value: &str) -> Result<(), AgiError> {
        self.expect(Command::new("SET VARIABLE").word(name).text(value), 1)
            .await
            .map(drop)
    }

    /// Runs a dialplan application and returns its result; -2 (no such application) is an error.
    pub async fn exec(&mut self, application: &str, options: &str) -> Result<i64, AgiError> {
        let command = Command::new("EXEC").word(application).text(options);
        let reply = self.send(&command).await?;
        match reply.code() {
            Some(-2) | None => Err(AgiError::Failed {
                command: "EXEC",
                result: reply.result,
            }),
            Some(code) => Ok(code),
        }
    }

    /// Plays a sound file; `escape_digits` may interrupt it.
    pub async fn stream_file(
        &mut self,
        file: &str,
        escape_digits: &str,
    ) -> Result<Playback, AgiError> {
        let reply = self
            .send(&Command::new("STREAM FILE").word(file).word(escape_digits))
            .await?;
        let endpos = reply.endpos().unwrap_or(0);
        Ok(match reply.code() {
            Some(0) => Playback::Completed { endpos },
            Some(code) if code > 0 => digit(code).map_or(Playback::Failed { endpos }, |digit| {
                Playback::Interrupted { digit, endpos }
            }),
            _ => Playback::Failed { endpos },
        })
    }

    /// Plays a prompt and collects up to `max_digits` DTMF digits.
    pub async fn get_data(
        &mut self,
        file: &str,
        timeout_ms: u32,
        max_digits: u32,
    ) -> Result<Digits, AgiError> {
        let command = Command::new("GET DATA")
            .word(file)
            .word(timeout_ms.to_string())
            .word(max_digits.to_string());
        let reply = self.send(&command).await?;
        if reply.code() == Some(-1) {
            return Err(AgiError::Failed {
                command: "GET DATA",
                result: reply.result,
            });
        }
        Ok(Digits {
            timed_out: reply.data.as_deref() == Some("timeout"),
            digits: reply.result,
        })
    }

    /// Waits for one digit; None on timeout. A negative timeout waits for ever.
    pub async fn wait_for_digit(&mut self, timeout_ms: i32) -> Result<Option<char>, AgiError> {
        let reply = self
            .send(&Command::new("WAIT FOR DIGIT").word(timeout_ms.to_string()))
            .await?;
        self.digit_result("WAIT FOR DIGIT", reply)
    }

    fn digit_result(
        &self,
        command: &'static str,
        reply: Success,
    ) -> Result<Option<char>, AgiError> {
        match reply.code() {
            Some(0) => Ok(None),
            Some(code) if code > 0 => Ok(digit(code)),
            _ => Err(AgiError::Failed {
                command,
                result: reply.result,
            }),
        }
    }

    /// Says digits one by one; returns the digit that interrupted it, if any.
    pub async fn say_digits(
        &mut self,
        digits: &str,
        escape_digits: &str,
    ) -> Result<Option<char>, AgiError> {
        let reply = self
            .send(&Command::new("SAY DIGITS").word(digits).word(escape_digits))
            .await?;
        self.digit_result("SAY DIGITS", reply)
    }

    pub async fn say_number(
        &mut self,
        number: i64,
        escape_digits: &str,
    ) -> Result<Option<char>, AgiError> {
        let reply = self
            .send(
                &Command::new("SAY NUMBER")
                    .word(number.to_string())
                    .word(escape_digits),
            )
            .await?;
        self.digit_result("SAY NUMBER", reply)
    }

    pub async fn channel_status(&mut self) -> Result<ChannelState, AgiError> {
        let reply = self.send(&Command::new("CHANNEL STATUS")).await?;
        use ChannelState::*;
        let state = match reply.code() {
            Some(0) => Down,
            Some(1) => Reserved,
            Some(2) => OffHook,
            Some(3) => Dialing,
            Some(4) => Ring,
            Some(5) => Ringing,
            Some(6) => Up,
            Some(7) => Busy,
            Some(8) => DialingOffHook,
            Some(9) => PreRing,
            _ => {
                return Err(AgiError::Failed {
                    command: "CHANNEL STATUS",
                    result: reply.result,
                })
            }
        };
        Ok(state)
    }

    /// Where the channel goes in the dialplan when the AGI ends.
    pub async fn set_context(&mut self, context: &str) -> Result<(), AgiError> {
        self.expect(Command::new("SET CONTEXT").word(context), 0)
            .await
            .map(drop)
    }

    pub async fn set_extension(&mut self, extension: &str) -> Result<(), AgiError> {
        self.expect(Command::new("SET EXTENSION").word(extension), 0)
            .await
            .map(drop)
    }

    pub async fn set_priority(&mut self, priority: &str) -> Result<(), AgiError> {
        self.expect(Command::new("SET PRIORITY").word(priority), 0)
            .await
            .map(drop)
    }

    /// Music on hold on or off, from `class` (the default class when None).
    pub async fn set_music(&mut self, on: bool, class: Option<&str>) -> Result<(), AgiError> {
        let mut command = Command::new("SET MUSIC").word(if on { "on" } else { "off" });
        if let Some(class) = class {
            command = command.word(class);
        }
        self.expect(command, 0).await.map(drop)
    }

    /// Records to `file.format` until a digit in `escape_digits`, `timeout_ms` or `silence_secs`
    /// of silence.
    pub async fn record_file(
        &mut self,
        file: &str,
        format: &str,
        escape_digits: &str,
        timeout_ms: i32,
        beep: bool,
        silence_secs: Option<u32>,
    ) -> Result<Recording, AgiError> {
        let mut command = Command::new("RECORD FILE")
            .word(file)
            .word(format)
            .word(escape_digits)
            .word(timeout_ms.to_string());
        if beep {
            command = command.word("BEEP");
        }
        if let Some(secs) = silence_secs {
            command = command.word(format!("s={secs}"));
        }
        let reply = self.send(&command).await?;
        if reply.code() == Some(-1) && reply.data.as_deref() != Some("hangup") {
            return Err(AgiError::Failed {
                command: "RECORD FILE",
                result: reply.result,
            });
        }
        let digit = (reply.data.as_deref() == Some("dtmf"))
            .then(|| reply.code().and_then(digit))
            .flatten();
        Ok(Recording {
            endpos: reply.endpos(),
            digit,
            reason: reply.data,
        })
    }

    /// A line in Asterisk's log at `level` (1 to 4).
    pub async fn verbose(&mut self, message: &str, level: u8) -> Result<(), AgiError> {
        self.expect(
            Command::new("VERBOSE")
                .text(message)
                .word(level.to_string()),
            1,
        )
        .await
        .map(drop)
    }

    pub async fn database_get(
        &mut self,
        family: &str,
        key: &str,
    ) -> Result<Option<String>, AgiError> {
        let reply = self
            .send(&Command::new("DATABASE GET").word(family).word(key))
            .await?;
        match reply.code() {
            Some(1) => Ok(Some(reply.data.unwrap_or_default())),
            Some(0) => Ok(None),
            _ => Err(AgiError::Failed {
                command: "DATABASE GET",
                result: reply.result,
            }),
        }
    }

    pub async fn database_put(
        &mut self,
        family: &str,
        key: &str,
        value: &str,
    ) -> Result<(), AgiError> {
        self.expect(
            Command::new("DATABASE PUT")
                .word(family)
                .word(key)
                .text(value),
            1,
        )
        .await
        .map(drop)
    }

    /// Deletes a key; false when it did not exist.
    pub async fn database_del(&mut self, family: &str, key: &str) -> Result<bool, AgiError> {
        let reply = self
            .send(&Command::new("DATABASE DEL").word(family).word(key))
            .await?;
        Ok(reply.code() == Some(1))
    }
}
