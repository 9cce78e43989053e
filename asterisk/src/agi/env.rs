//! The environment block Asterisk sends when a session opens: `agi_key: value` lines, then an
//! empty line. Values are not escaped and may contain `: `, so a line splits at its first `: `.

use std::collections::BTreeMap;

use nom::bytes::complete::{tag, take_while1};
use nom::combinator::{opt, rest};
use nom::sequence::{preceded, terminated};
use nom::{IResult, Parser};

/// The variables of one AGI session, the well-known ones by name and every other `agi_*` key
/// kept as it came.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgiEnv {
    /// `agi_network_script`: for FastAGI, the URL's path and query (`outbound?campaign=7`).
    pub network_script: String,
    pub request: String,
    pub channel: String,
    pub language: String,
    pub channel_type: String,
    pub uniqueid: String,
    pub version: String,
    pub callerid: String,
    pub calleridname: String,
    pub context: String,
    pub extension: String,
    pub priority: String,
    pub accountcode: String,
    pub dnid: String,
    /// `agi_arg_1`, `agi_arg_2`...: the dialplan's arguments after the URL, in order.
    pub args: Vec<String>,
    /// Every other key, with its `agi_` prefix.
    pub other: BTreeMap<String, String>,
}

/// Most dialplan arguments an AGI gets: Asterisk's `MAX_ARGS` is 128, the URL being one.
pub const MAX_ARGS: usize = 127;

/// A line of the block that is not `agi_<name>: <value>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an AGI environment line: {0:?}")]
pub struct EnvLineError(pub String);

/// `agi_key: value`, or `agi_key:` with nothing after it.
fn env_line(line: &str) -> IResult<&str, (&str, &str)> {
    let key = preceded(
        tag("agi_"),
        take_while1(|c: char| c.is_ascii_alphanumeric() || c == '_'),
    );
    (terminated(key, tag(":")), preceded(opt(tag(" ")), rest)).parse(line)
}

impl AgiEnv {
    /// Adds one line of the block (without its newline).
    pub fn push_line(&mut self, line: &str) -> Result<(), EnvLineError> {
        let (_, (name, value)) = env_line(line).map_err(|_| EnvLineError(line.to_string()))?;
        let value = value.to_string();
        match name {
            "network_script" => self.network_script = value,
            "request" => self.request = value,
            "channel" => self.channel = value,
            "language" => self.language = value,
            "type" => self.channel_type = value,
            "uniqueid" => self.uniqueid = value,
            "version" => self.version = value,
            "callerid" => self.callerid = value,
            "calleridname" => self.calleridname = value,
            "context" => self.context = value,
            "extension" => self.extension = value,
            "priority" => self.priority = value,
            "accountcode" => self.accountcode = value,
            "dnid" => self.dnid = value,
            _ => match name.strip_prefix("arg_").map(str::parse::<usize>) {
                // Asterisk numbers them from 1 in order; a gap is filled so indexes stay true.
                Some(Ok(n)) if (1..=MAX_ARGS).contains(&n) => {
                    if self.args.len() < n {
                        self.args.resize(n, String::new());
                    }
                    self.args[n - 1] = value;
                }
                // An argument Asterisk cannot send: refused, never allocated for.
                Some(_) => return Err(EnvLineError(line.to_string())),
                None => {
                    self.other.insert(format!("agi_{name}"), value);
                }
            },
        }
        Ok(())
    }

    /// A dialplan argument, counted from 1 as in the dialplan.
    pub fn arg(&self, n: usize) -> Option<&str> {
        n.checked_sub(1)
            .and_then(|i| self.args.get(i))
            .map(String::as_str)
    }

    /// The script path without its query: `outbound` for `outbound?campaign=7`.
    pub fn script_path(&self) -> &str {
        let script = self.network_script.split('?').next().unwrap_or_default();
        script.trim_matches('/')
    }

    /// The query parameters of the script, decoded: `campaign=7` gives `[("campaign", "7")]`.
    pub fn script_params(&self) -> Vec<(String, String)> {
        match self.network_script.split_once('?') {
            Some((_, query)) => form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
            None => Vec::new(),
        }
    }

    /// The value of one query parameter.
    pub fn script_param(&self, name: &str) -> Option<String> {
        self.script_params()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_keys_args_and_strangers() {
        let mut env = AgiEnv::default();
        for line in [
            "agi_network_script: outbound?campaign=7&mode=a%20b",
            "agi_channel: Local/s@callee-human-00000009;1",
            "agi_accountcode: ",
            "agi_callerid: 5550100",
            "agi_arg_2: HUMAN-800-800",
            "agi_arg_1: HUMAN",
            "agi_threadid: 140487850727104",
            "agi_arg_3: a: b: c",
            "agi_custom:",
        ] {
            env.push_line(line).expect(line);
        }
        assert_eq!(env.script_path(), "outbound");
        assert_eq!(env.script_param("campaign").as_deref(), Some("7"));
        assert_eq!(env.script_param("mode").as_deref(), Some("a b"));
        assert_eq!(env.accountcode, "");
        assert_eq!(env.args, ["HUMAN", "HUMAN-800-800", "a: b: c"]);
        assert_eq!(env.arg(1), Some("HUMAN"));
        assert_eq!(env.arg(0), None);
        assert_eq!(
            env.other.get("agi_threadid").map(String::as_str),
            Some("140487850727104")
        );
        assert_eq!(env.other.get("agi_custom").map(String::as_str), Some(""));
    }

    #[test]
    fn the_last_argument_asterisk_can_send() {
        let mut env = AgiEnv::default();
        env.push_line("agi_arg_127: last").expect("within MAX_ARGS");
        assert_eq!(env.arg(127), Some("last"));
    }

    #[test]
    fn garbage_is_refused() {
        let mut env = AgiEnv::default();
        for line in [
            "hello",
            "agi_: x",
            "agi_channel",
            "200 result=1",
            "agi channel: x",
            "agi_arg_128: x",
            "agi_arg_1111111111111111111114: x",
        ] {
            assert!(env.push_line(line).is_err(), "{line}");
        }
    }
}
