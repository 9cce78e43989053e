//! Commands to Asterisk, written the way `res_agi.c`'s `parse_args` reads them back.
//!
//! Asterisk splits a command line on spaces and tabs; double quotes group, and a backslash makes
//! the next character literal, inside quotes or out. So an argument that is empty or holds a
//! space, tab, quote or backslash is sent quoted with `\"` and `\\`; others go bare. Free text
//! (an application's options, a variable's value, an expression) is quoted unless it is plain
//! letters and digits, which is how the transcripts of a real Asterisk show it sent. What Asterisk cannot receive is refused
//! here: a newline, carriage return or NUL in an argument, a line over its 8,192-byte buffer
//! (`AGI_BUF_LEN`, newline included, less the terminating NUL), or more than 127 words
//! (`MAX_ARGS` is 128 with one slot for the terminator).

use std::fmt;

/// Longest line Asterisk reads whole, newline included: `AGI_BUF_LEN` (8192) less its NUL.
pub const MAX_LINE_BYTES: usize = 8191;
/// Most words (command words and arguments) Asterisk keeps.
pub const MAX_WORDS: usize = 127;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("argument {index} of {command} contains a newline, carriage return or NUL, which AGI cannot carry")]
    ControlCharacter { command: &'static str, index: usize },
    #[error("{command} would be {bytes} bytes; Asterisk reads at most {MAX_LINE_BYTES}")]
    TooLong { command: &'static str, bytes: usize },
    #[error("{command} would have {words} words; Asterisk keeps at most {MAX_WORDS}")]
    TooManyWords { command: &'static str, words: usize },
}

/// One AGI command: its name (`GET VARIABLE`) and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    name: &'static str,
    args: Vec<(String, Quote)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    IfNeeded,
    UnlessAlphanumeric,
}

impl Command {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            args: Vec::new(),
        }
    }

    /// An argument that is a token (a variable name, a file, a number): quoted only if it must be.
    pub fn word(mut self, arg: impl Into<String>) -> Self {
        self.args.push((arg.into(), Quote::IfNeeded));
        self
    }

    /// An argument that is free text: quoted unless it is only ASCII letters and digits.
    pub fn text(mut self, arg: impl Into<String>) -> Self {
        self.args.push((arg.into(), Quote::UnlessAlphanumeric));
        self
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The line to send, newline included.
    ///
    /// ```
    /// use dialtone_asterisk::agi::Command;
    ///
    /// let line = Command::new("SET VARIABLE").word("FOO").text("say \"hi\"").encode().unwrap();
    /// assert_eq!(line, "SET VARIABLE FOO \"say \\\"hi\\\"\"\n");
    /// assert!(Command::new("VERBOSE").text("two\nlines").encode().is_err());
    /// ```
    pub fn encode(&self) -> Result<String, CommandError> {
        let words = self.name.split_whitespace().count() + self.args.len();
        if words > MAX_WORDS {
            return Err(CommandError::TooManyWords {
                command: self.name,
                words,
            });
        }
        let mut line = String::from(self.name);
        for (index, (arg, quote)) in self.args.iter().enumerate() {
            if arg.contains(['\n', '\r', '\0']) {
                return Err(CommandError::ControlCharacter {
                    command: self.name,
                    index: index + 1,
                });
            }
            line.push(' ');
            let plain = !arg.is_empty() && !arg.contains([' ', '\t', '"', '\\']);
            let needs_quotes = match quote {
                Quote::IfNeeded => !plain,
                Quote::UnlessAlphanumeric => {
                    !(plain && arg.bytes().all(|b| b.is_ascii_alphanumeric()))
                }
            };
            if needs_quotes {
                line.push('"');
                for c in arg.chars() {
                    if c == '"' || c == '\\' {
                        line.push('\\');
                    }
                    line.push(c);
                }
                line.push('"');
            } else {
                line.push_str(arg);
            }
            if line.len() >= MAX_LINE_BYTES {
                break;
            }
        }
        line.push('\n');
        if line.len() > MAX_LINE_BYTES {
            return Err(CommandError::TooLong {
                command: self.name,
                bytes: line.len(),
            });
        }
        Ok(line)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asterisk's `parse_args`, transcribed, so encoded lines can be checked by reading them back.
    fn asterisk_parse(line: &str) -> Vec<String> {
        let (mut args, mut cur, mut quoted, mut escaped, mut whitespace) =
            (Vec::<String>::new(), String::new(), false, false, true);
        let mut started = false;
        for c in line.trim_end_matches('\n').chars() {
            match c {
                '"' if !escaped => {
                    quoted = !quoted;
                    if quoted && whitespace {
                        if started {
                            args.push(std::mem::take(&mut cur));
                        }
                        started = true;
                        whitespace = false;
                    }
                }
                ' ' | '\t' if !quoted && !escaped => whitespace = true,
                '\\' if !escaped => escaped = true,
                _ => {
                    if whitespace {
                        if started {
                            args.push(std::mem::take(&mut cur));
                        }
                        started = true;
                        whitespace = false;
                    }
                    cur.push(c);
                    escaped = false;
                }
            }
            if c == '"' {
                escaped = false;
            }
        }
        if started {
            args.push(cur);
        }
        args
    }

    #[test]
    fn matches_the_fixture_lines() {
        let cases = [
            (
                Command::new("GET VARIABLE").word("CHANNEL"),
                "GET VARIABLE CHANNEL\n",
            ),
            (
                Command::new("SET VARIABLE").word("FOO").text("bar baz"),
                "SET VARIABLE FOO \"bar baz\"\n",
            ),
            (
                Command::new("GET FULL VARIABLE").text("${FOO}-${CALLERID(num)}"),
                "GET FULL VARIABLE \"${FOO}-${CALLERID(num)}\"\n",
            ),
            (
                Command::new("EXEC").word("NoOp").text("hello, world"),
                "EXEC NoOp \"hello, world\"\n",
            ),
            (
                Command::new("STREAM FILE").word("beep").word(""),
                "STREAM FILE beep \"\"\n",
            ),
            (
                Command::new("DATABASE PUT")
                    .word("fam")
                    .word("key")
                    .text("v 1"),
                "DATABASE PUT fam key \"v 1\"\n",
            ),
            (
                Command::new("GET DATA").word("beep").word("500").word("2"),
                "GET DATA beep 500 2\n",
            ),
            (Command::new("EXEC").word("Wait").text("1"), "EXEC Wait 1\n"),
            (
                Command::new("EXEC").word("StopMixMonitor").text(""),
                "EXEC StopMixMonitor \"\"\n",
            ),
            (
                Command::new("EXEC").word("ConfBridge").text("agent-101"),
                "EXEC ConfBridge \"agent-101\"\n",
            ),
            (
                Command::new("SET VARIABLE")
                    .word("CDR(userfield)")
                    .text("lead=42"),
                "SET VARIABLE CDR(userfield) \"lead=42\"\n",
            ),
        ];
        for (command, line) in cases {
            assert_eq!(command.encode().as_deref(), Ok(line));
        }
    }

    #[test]
    fn every_argument_reads_back_as_written() {
        let awkward = [
            "",
            "plain",
            "two words",
            "tab\there",
            "quote\"inside",
            "back\\slash",
            "\\\"",
            "trailing\\",
            "\"",
            "a,b|c",
            "ünïcödé",
        ];
        for arg in awkward {
            for command in [
                Command::new("EXEC").word("NoOp").word(arg),
                Command::new("EXEC").word("NoOp").text(arg),
            ] {
                let line = command.encode().expect(arg);
                assert_eq!(
                    asterisk_parse(&line),
                    vec!["EXEC".to_string(), "NoOp".into(), arg.into()],
                    "{arg:?} as {line:?}"
                );
            }
        }
    }

    #[test]
    fn refuses_what_asterisk_cannot_read() {
        assert_eq!(
            Command::new("VERBOSE").text("a\nb").encode(),
            Err(CommandError::ControlCharacter {
                command: "VERBOSE",
                index: 1
            })
        );
        assert!(Command::new("VERBOSE").text("a\rb").encode().is_err());
        let long = "x".repeat(MAX_LINE_BYTES);
        assert!(matches!(
            Command::new("VERBOSE").text(long).encode(),
            Err(CommandError::TooLong { .. })
        ));
        let fits = "x".repeat(MAX_LINE_BYTES - "VERBOSE \n".len());
        assert_eq!(
            Command::new("VERBOSE").text(fits).encode().map(|l| l.len()),
            Ok(MAX_LINE_BYTES)
        );
        let many = (0..126).fold(Command::new("EXEC"), |c, i| c.word(i.to_string()));
        assert!(many.encode().is_ok());
        assert!(matches!(
            many.word("one more").encode(),
            Err(CommandError::TooManyWords { words: 128, .. })
        ));
    }
}
