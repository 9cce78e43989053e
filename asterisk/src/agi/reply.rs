//! Asterisk's answers to commands, one status line each (or a 520 usage block).
//!
//! `200 result=<r>[ (<data>)][ key=value...]` for a command that ran; `510` unknown command;
//! `511` not allowed on a dead channel; `520` usage error; and the unsolicited `HANGUP` line,
//! which Asterisk sends when the channel hangs up, between any two replies (and once more as
//! the session ends).

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1, take_while_m_n};
use nom::character::complete::char;
use nom::combinator::{all_consuming, map, map_res, rest, verify};
use nom::multi::many0;
use nom::sequence::{preceded, separated_pair};
use nom::{IResult, Parser};

/// A reply to one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// 200: the command ran; what it returned is in [`Success`].
    Success(Success),
    /// 510: Asterisk does not know the command.
    InvalidCommand(String),
    /// 511: the channel hung up (or this is an intercept routine) and the command needs it.
    DeadChannel(String),
    /// 520: wrong arguments; the text is Asterisk's usage of the command.
    Usage(String),
    /// Any other code, kept rather than guessed at.
    Other { code: u16, text: String },
}

/// `200 result=...`: the command's result, its `(data)` and any `key=value` pairs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Success {
    /// Usually a number; GET DATA puts the digits here, and may leave it empty.
    pub result: String,
    /// The text in parentheses: a variable's value, `timeout`, `dtmf`... It is not escaped and
    /// may itself contain parentheses.
    pub data: Option<String>,
    /// Pairs after the result, such as `endpos=3520`.
    pub pairs: Vec<(String, String)>,
}

impl Success {
    /// The result as a number, when it is one.
    pub fn code(&self) -> Option<i64> {
        self.result.parse().ok()
    }

    pub fn pair(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `endpos=`: where playback or recording stopped, in samples.
    pub fn endpos(&self) -> Option<u64> {
        self.pair("endpos").and_then(|v| v.parse().ok())
    }
}

/// One line from Asterisk after the environment block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusLine {
    /// The channel hung up.
    Hangup,
    /// A complete reply.
    Reply(Reply),
    /// `520-...`: a usage block begins; its lines follow until `520 End of proper usage.`.
    UsageStart(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an AGI reply: {0:?}")]
pub struct ReplyError(pub String);

fn code(input: &str) -> IResult<&str, u16> {
    map_res(
        take_while_m_n(3, 3, |c: char| c.is_ascii_digit()),
        str::parse,
    )
    .parse(input)
}

/// ` key=value` pairs up to the end of the line.
fn pairs(input: &str) -> IResult<&str, Vec<(String, String)>> {
    let key = take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_');
    let value = take_while(|c: char| c != ' ');
    all_consuming(many0(preceded(
        char(' '),
        map(
            separated_pair(key, char('='), value),
            |(k, v): (&str, &str)| (k.to_string(), v.to_string()),
        ),
    )))
    .parse(input)
}

/// A reply's `(data)` and its `key=value` pairs.
type Tail = (Option<String>, Vec<(String, String)>);

/// What follows `result=<r>`: nothing, pairs, or `(data)` and then pairs. The data ends at the
/// last `)` after which only pairs remain, so `(a) b)` reads as data `a) b`.
fn tail(input: &str) -> Option<Tail> {
    if let Some(inner) = input.strip_prefix(" (") {
        return inner.match_indices(')').rev().find_map(|(i, _)| {
            pairs(&inner[i + 1..])
                .ok()
                .map(|(_, p)| (Some(inner[..i].to_string()), p))
        });
    }
    pairs(input).ok().map(|(_, p)| (None, p))
}

fn success(input: &str) -> IResult<&str, Reply> {
    let (after, result) =
        preceded(tag("200 result="), take_while(|c: char| c != ' ')).parse(input)?;
    match tail(after) {
        Some((data, pairs)) => Ok((
            "",
            Reply::Success(Success {
                result: result.to_string(),
                data,
                pairs,
            }),
        )),
        None => Err(nom::Err::Error(nom::error::Error::new(
            after,
            nom::error::ErrorKind::Verify,
        ))),
    }
}

fn status_line(input: &str) -> IResult<&str, StatusLine> {
    alt((
        map(all_consuming(tag("HANGUP")), |_| StatusLine::Hangup),
        map(success, StatusLine::Reply),
        map(preceded(tag("520-"), rest), |t: &str| {
            StatusLine::UsageStart(t.to_string())
        }),
        // A 200 that `success` could not read is malformed, not some other code.
        map(
            separated_pair(verify(code, |c| *c != 200), char(' '), rest),
            |(code, text): (u16, &str)| {
                let text = text.to_string();
                StatusLine::Reply(match code {
                    510 => Reply::InvalidCommand(text),
                    511 => Reply::DeadChannel(text),
                    520 => Reply::Usage(text),
                    code => Reply::Other { code, text },
                })
            },
        ),
    ))
    .parse(input)
}

/// Reads one line (without its newline) that Asterisk sent after the environment.
///
/// ```
/// use dialtone_asterisk::agi::reply::{parse_status_line, Reply, StatusLine};
///
/// let StatusLine::Reply(Reply::Success(s)) = parse_status_line("200 result=0 endpos=3520").unwrap() else { panic!() };
/// assert_eq!((s.code(), s.endpos()), (Some(0), Some(3520)));
/// assert_eq!(parse_status_line("HANGUP"), Ok(StatusLine::Hangup));
/// ```
pub fn parse_status_line(line: &str) -> Result<StatusLine, ReplyError> {
    status_line(line)
        .map(|(_, parsed)| parsed)
        .map_err(|_| ReplyError(line.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn success(line: &str) -> Success {
        match parse_status_line(line) {
            Ok(StatusLine::Reply(Reply::Success(s))) => s,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn every_success_form() {
        assert_eq!(
            success("200 result=1"),
            Success {
                result: "1".into(),
                data: None,
                pairs: vec![]
            }
        );
        let s = success("200 result=1 (Local/s@agi-plain-00000011;2)");
        assert_eq!(s.data.as_deref(), Some("Local/s@agi-plain-00000011;2"));
        assert_eq!(
            success("200 result=1 (bar baz-5551212)").data.as_deref(),
            Some("bar baz-5551212")
        );
        let s = success("200 result=-1 endpos=0");
        assert_eq!((s.code(), s.endpos()), (Some(-1), Some(0)));
        let s = success("200 result= (timeout)");
        assert_eq!(
            (s.result.as_str(), s.code(), s.data.as_deref()),
            ("", None, Some("timeout"))
        );
        assert_eq!(success("200 result=").result, "");
        let s = success("200 result=-1 (hangup) endpos=1234");
        assert_eq!(
            (s.data.as_deref(), s.endpos()),
            (Some("hangup"), Some(1234))
        );
        assert_eq!(
            success("200 result=1 (a (nested) value)").data.as_deref(),
            Some("a (nested) value")
        );
        assert_eq!(success("200 result=1 (x) y)").data.as_deref(), Some("x) y"));
        assert_eq!(success("200 result=1 ()").data.as_deref(), Some(""));
        assert_eq!(success("200 result=0123#").result, "0123#");
    }

    #[test]
    fn errors_hangup_and_usage() {
        assert_eq!(
            parse_status_line("510 Invalid or unknown command"),
            Ok(StatusLine::Reply(Reply::InvalidCommand(
                "Invalid or unknown command".into()
            )))
        );
        assert!(matches!(
            parse_status_line("511 Command Not Permitted on a dead channel or intercept routine"),
            Ok(StatusLine::Reply(Reply::DeadChannel(_)))
        ));
        assert_eq!(
            parse_status_line("520-Invalid command syntax.  Proper usage follows:"),
            Ok(StatusLine::UsageStart(
                "Invalid command syntax.  Proper usage follows:".into()
            ))
        );
        assert!(matches!(
            parse_status_line("520 Invalid command syntax.  Proper usage not available."),
            Ok(StatusLine::Reply(Reply::Usage(_)))
        ));
        assert_eq!(parse_status_line("HANGUP"), Ok(StatusLine::Hangup));
        assert!(matches!(
            parse_status_line("404 who knows"),
            Ok(StatusLine::Reply(Reply::Other { code: 404, .. }))
        ));
    }

    #[test]
    fn garbage_is_an_error() {
        for line in [
            "",
            "hello",
            "HANGUP now",
            "200 result=1 (unclosed",
            "200 result=1 trailing",
            "20 result=1",
            "200result=1",
        ] {
            assert!(parse_status_line(line).is_err(), "{line:?}");
        }
    }
}
