//! The one whitelist for every value that reaches Asterisk: an AGI command's argument, an AMI
//! action's field, a dial string, a file name. Asterisk reads these with its own separators
//! (MixMonitor's `file,options,command` runs its third part in a shell; `,` and `|` split
//! application arguments; `&` joins dial strings; `@` picks a context), so a value typed by a
//! person, whatever their role, goes only where its kind allows, in three places:
//! - at the form and API boundary, which answers 422 naming the field ([`check`]);
//! - in the database, where the CHECK constraints call `dialtone_asterisk_value_ok(kind, value)`
//!   (migration `20261202000001_asterisk_values.sql`), the same rules in SQL; a test holds the
//!   two to the same answers;
//! - where the node builds the AGI command or AMI action, which refuses rather than sends.
//!
//! The rules are deliberately narrower than Asterisk's syntax: letters, digits and the few
//! punctuation marks each kind needs, never a separator of another layer.

use std::fmt;

/// Where a value goes in Asterisk, and so which characters it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A sound or other file Asterisk opens (safe harbor, machine message, welcome and closed
    /// prompts, a recording's absolute path): `/`-separated names of letters, digits, `_ - .`,
    /// none starting with `.`; absolute or relative.
    File,
    /// A recording's path under the recordings root: a [`Kind::File`] that is relative.
    RecordingFile,
    /// A campaign's recording file pattern: a relative path whose names may hold the
    /// placeholders [`RECORDING_PLACEHOLDERS`].
    RecordingPattern,
    /// The caller ID name sent with a call.
    CallerIdName,
    /// The caller ID number sent with a call: 3 to 15 digits, optional `+`.
    CallerIdNumber,
    /// Digits dialed before the number.
    DialPrefix,
    /// A campaign's dial string template: a technology, `/`, and a resource with `{number}`.
    DialTemplate,
    /// A dial string, as Originate's Channel receives it (a template filled in).
    DialString,
    /// An outbound trunk's endpoint name.
    Trunk,
    /// A number to dial or transfer to: 3 to 20 digits, optional `+`.
    Number,
    /// A phone of an agent or a supervisor: one PJSIP, SIP or IAX2 endpoint, nothing routed
    /// through the dialplan (`Local`) or another host (`@`).
    Phone,
    /// A voicemail box, `1234` or `1234@context`.
    Mailbox,
    /// An agent's conference (ConfBridge) name.
    Conference,
    /// A music-on-hold class.
    MusicClass,
    /// DTMF digits played to a call.
    Dtmf,
    /// A DID, the extension an inbound call arrives on.
    Did,
}

/// The placeholders a recording pattern may use.
pub const RECORDING_PLACEHOLDERS: &[&str] = &[
    "date", "time", "campaign", "lead", "uniqueid", "call", "agent",
];

impl Kind {
    /// Every kind, for the tests that hold the database's rules to these.
    pub const ALL: &'static [Kind] = &[
        Kind::File,
        Kind::RecordingFile,
        Kind::RecordingPattern,
        Kind::CallerIdName,
        Kind::CallerIdNumber,
        Kind::DialPrefix,
        Kind::DialTemplate,
        Kind::DialString,
        Kind::Trunk,
        Kind::Number,
        Kind::Phone,
        Kind::Mailbox,
        Kind::Conference,
        Kind::MusicClass,
        Kind::Dtmf,
        Kind::Did,
    ];

    /// The name `dialtone_asterisk_value_ok` knows the kind by.
    pub fn sql_name(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::RecordingFile => "recording_file",
            Kind::RecordingPattern => "recording_pattern",
            Kind::CallerIdName => "caller_id_name",
            Kind::CallerIdNumber => "caller_id_number",
            Kind::DialPrefix => "dial_prefix",
            Kind::DialTemplate => "dial_template",
            Kind::DialString => "dial_string",
            Kind::Trunk => "trunk",
            Kind::Number => "number",
            Kind::Phone => "phone",
            Kind::Mailbox => "mailbox",
            Kind::Conference => "conference",
            Kind::MusicClass => "music_class",
            Kind::Dtmf => "dtmf",
            Kind::Did => "did",
        }
    }

    /// What the kind allows, in words shown beside the field.
    pub fn rule(self) -> &'static str {
        match self {
            Kind::File => "a sound file name: letters, digits, _ - . and / between names (such as dialtone/safe-harbor)",
            Kind::RecordingFile => "a relative file name: letters, digits, _ - . and / between names",
            Kind::RecordingPattern => {
                "a relative path of letters, digits, _ - . and /, with {date}, {time}, {campaign}, {lead}, {uniqueid}, {call} or {agent}"
            }
            Kind::CallerIdName => "at most 40 letters, digits, spaces and . ' & + _ -",
            Kind::CallerIdNumber => "3 to 15 digits, optional +",
            Kind::DialPrefix => "at most 10 digits, * and #",
            Kind::DialTemplate => {
                "a technology, / and letters, digits, _ . + @ / : - with {number} (also {e164}, {trunk}), such as PJSIP/{number}@{trunk}"
            }
            Kind::DialString => "a technology, / and letters, digits, _ . + @ / : -",
            Kind::Trunk => "letters, digits, _ . - only (at most 64)",
            Kind::Number => "3 to 20 digits, optional +",
            Kind::Phone => {
                "a PJSIP, SIP or IAX2 endpoint such as PJSIP/1001 (letters, digits, _ . -), or Local/extension@context outside dialtone-"
            }
            Kind::Mailbox => "a mailbox such as 1234 or 1234@default",
            Kind::Conference => "letters, digits, _ and - only",
            Kind::MusicClass => "letters, digits, _ and - only",
            Kind::Dtmf => "digits, *, # and A to D (at most 64)",
            Kind::Did => "1 to 20 digits, * and #, optional +",
        }
    }

    /// Whether `value` is allowed where this kind goes.
    pub fn accepts(self, value: &str) -> bool {
        let within = |min: usize, max: usize| (min..=max).contains(&value.len());
        match self {
            Kind::File => within(1, 200) && file_path(value.strip_prefix('/').unwrap_or(value)),
            Kind::RecordingFile => within(1, 200) && file_path(value),
            Kind::RecordingPattern => within(1, 200) && recording_pattern(value),
            Kind::CallerIdName => {
                within(0, 40)
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b" .'&+_-".contains(&b))
            }
            Kind::CallerIdNumber => digits(value.strip_prefix('+').unwrap_or(value), 3, 15),
            Kind::DialPrefix => {
                within(0, 10)
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
            }
            Kind::DialTemplate => within(1, 200) && dial_template(value),
            Kind::DialString => within(1, 250) && dial_resource(value, |_| None),
            Kind::Trunk => {
                within(1, 64)
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
            }
            Kind::Number => digits(value.strip_prefix('+').unwrap_or(value), 3, 20),
            Kind::Phone => match value.split_once('/') {
                Some(("PJSIP" | "SIP" | "IAX2", name)) => endpoint(name),
                // A phone reached through the dialplan (a mobile through a trunk, a ring group),
                // never through one of Dialtone's own contexts, which start calls, not phones.
                Some(("Local", target)) => {
                    target.split_once('@').is_some_and(|(exten, context)| {
                        endpoint(exten) && word(context, 64) && !context.starts_with("dialtone-")
                    })
                }
                _ => false,
            },
            Kind::Mailbox => {
                let (box_, context) = value
                    .split_once('@')
                    .map_or((value, None), |(b, c)| (b, Some(c)));
                word(box_, 32) && context.is_none_or(|c| word(c, 64))
            }
            Kind::Conference | Kind::MusicClass => word(value, 64),
            Kind::Dtmf => {
                within(1, 64)
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b"*#ABCD".contains(&b))
            }
            Kind::Did => {
                let bare = value.strip_prefix('+').unwrap_or(value);
                (1..=20).contains(&bare.len())
                    && bare
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
            }
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.sql_name())
    }
}

/// A value refused for where it was going. The value itself is kept out of the message: it may
/// hold the line breaks or escapes that made it unsafe, and the message reaches logs and pages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {kind} value was refused: {rule}", rule = kind.rule())]
pub struct Refused {
    pub kind: Kind,
}

/// `value` if it may go where `kind` goes.
pub fn check(kind: Kind, value: &str) -> Result<&str, Refused> {
    if kind.accepts(value) {
        Ok(value)
    } else {
        Err(Refused { kind })
    }
}

/// A number as the dialplan dials it: its E.164 digits without the `+`, as every
/// `Dial(PJSIP/<digits>@trunk)` of Dialtone's dials, transfers and inbound overflows sends it.
pub fn dialed_digits(e164: &str) -> Result<&str, Refused> {
    Ok(check(Kind::Number, e164)?.trim_start_matches('+'))
}

/// Where MixMonitor writes a recording: `relative` (a [`Kind::RecordingFile`]) under `root`,
/// the whole path a [`Kind::File`]. The call flows and the agent's record button both ask here,
/// so their recordings land in one tree, where the web finds them.
pub fn recording_path(root: &std::path::Path, relative: &str) -> Result<String, Refused> {
    let absolute = root.join(check(Kind::RecordingFile, relative)?);
    Ok(check(Kind::File, absolute.to_str().unwrap_or_default())?.to_string())
}

/// An endpoint's or extension's name: letters, digits, `_ . -`, 1 to 64 of them.
fn endpoint(value: &str) -> bool {
    (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// Letters, digits, `_` and `-`, 1 to `max` of them.
fn word(value: &str, max: usize) -> bool {
    (1..=max).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn digits(value: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit())
}

/// Names of letters, digits, `_ - .` joined by single `/`, none empty or starting with `.`.
fn file_path(value: &str) -> bool {
    value.split('/').all(|name| {
        let mut bytes = name.bytes();
        bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            && bytes.all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    })
}

/// A relative path whose names are made of file characters and placeholders.
fn recording_pattern(value: &str) -> bool {
    value.split('/').all(|name| {
        let mut rest = name;
        let mut first = true;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('{') {
                let Some((placeholder, tail)) = after.split_once('}') else {
                    return false;
                };
                if !RECORDING_PLACEHOLDERS.contains(&placeholder) {
                    return false;
                }
                rest = tail;
            } else {
                let Some(b) = rest.bytes().next() else {
                    return false;
                };
                let allowed =
                    b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && !first);
                if !allowed {
                    return false;
                }
                rest = &rest[1..];
            }
            first = false;
        }
        !first
    })
}

/// `Tech/resource`: a technology of letters and digits, then the resource's characters, where
/// `placeholder` says how long a `{...}` placeholder at that point is (None: not one).
fn dial_resource(value: &str, placeholder: impl Fn(&str) -> Option<usize>) -> bool {
    let Some((tech, resource)) = value.split_once('/') else {
        return false;
    };
    if !(1..=16).contains(&tech.len())
        || !tech.bytes().all(|b| b.is_ascii_alphanumeric())
        || resource.is_empty()
    {
        return false;
    }
    let mut rest = resource;
    while let Some(b) = rest.bytes().next() {
        if let Some(len) = placeholder(rest) {
            rest = &rest[len..];
        } else if b.is_ascii_alphanumeric() || b"_.+@/:-".contains(&b) {
            rest = &rest[1..];
        } else {
            return false;
        }
    }
    true
}

fn dial_template(value: &str) -> bool {
    let placeholder = |rest: &str| {
        ["{number}", "{e164}", "{trunk}"]
            .iter()
            .find(|p| rest.starts_with(**p))
            .map(|p| p.len())
    };
    value.contains("{number}") && dial_resource(value, placeholder)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values no kind may take: each carries a separator of AGI, AMI, an application's
    /// arguments, a shell or a path.
    pub const HOSTILE: &[&str] = &[
        "{date}/{lead}-{uniqueid},b,touch proof;#",
        "x,b,rm -rf /",
        "name\r\nAction: Hangup",
        "a\nb",
        "nul\0byte",
        "a|b",
        "a;b",
        "$(id)",
        "`id`",
        "a\"b",
        "a b\\c",
        "../../etc/passwd",
        "",
    ];

    #[test]
    fn no_kind_takes_a_hostile_value() {
        for kind in Kind::ALL {
            for value in HOSTILE {
                // The empty caller ID name and dial prefix mean "none" and are the only exceptions.
                if value.is_empty() && matches!(kind, Kind::CallerIdName | Kind::DialPrefix) {
                    continue;
                }
                assert!(check(*kind, value).is_err(), "{kind} took {value:?}");
            }
        }
    }

    #[test]
    fn each_kind_takes_what_operators_write() {
        let good: &[(Kind, &str)] = &[
            (Kind::File, "dialtone/safe-harbor"),
            (Kind::File, "/var/lib/asterisk/sounds/custom/closed"),
            (
                Kind::File,
                "/var/spool/asterisk/monitor/2026-12-02/Spring_Sale/42-1700000000.17.wav",
            ),
            (
                Kind::RecordingFile,
                "2026-12-02/Spring_Sale/42-1700000000.17.wav",
            ),
            (
                Kind::RecordingPattern,
                "{date}/{campaign}/{lead}-{uniqueid}",
            ),
            (Kind::RecordingPattern, "calls/{date}_{time}-{agent}.{call}"),
            (Kind::CallerIdName, "Acme Sales & Co."),
            (Kind::CallerIdNumber, "+12125550100"),
            (Kind::DialPrefix, "9"),
            (Kind::DialTemplate, "PJSIP/{number}@{trunk}"),
            (Kind::DialTemplate, "Local/{number}@dialtone-transfer"),
            (Kind::DialTemplate, "IAX2/user:secret@host/{number}"),
            (Kind::DialString, "PJSIP/912125550100@carrier"),
            (Kind::Trunk, "carrier-1.east"),
            (Kind::Number, "+12125550100"),
            (Kind::Phone, "PJSIP/1001"),
            (Kind::Phone, "SIP/agent_7"),
            (Kind::Phone, "Local/1001@phones"),
            (Kind::Mailbox, "1234@default"),
            (Kind::Conference, "agent-17"),
            (Kind::MusicClass, "default"),
            (Kind::Dtmf, "1234#*A"),
            (Kind::Did, "+18005550100"),
        ];
        for (kind, value) in good {
            assert_eq!(check(*kind, value), Ok(*value), "{kind} refused {value:?}");
        }
    }

    #[test]
    fn lookalikes_of_safe_values_are_refused() {
        let bad: &[(Kind, &str)] = &[
            (Kind::File, "sounds/../../etc/shadow"),
            (Kind::File, "sounds//x"),
            (Kind::File, ".hidden"),
            (Kind::RecordingFile, "/absolute.wav"),
            (Kind::RecordingPattern, "/{date}"),
            (Kind::RecordingPattern, "{date}/{unknown}"),
            (Kind::RecordingPattern, "{date}/.{lead}"),
            (Kind::RecordingPattern, "{date"),
            (Kind::DialTemplate, "PJSIP/{trunk}"),
            (Kind::DialTemplate, "PJSIP/{number}@{trunk}&PJSIP/evil"),
            (Kind::DialTemplate, "PJSIP/{number},30,D(1)"),
            (Kind::DialString, "PJSIP/1@carrier&PJSIP/2@carrier"),
            (Kind::Phone, "Local/1001@dialtone-transfer"),
            (Kind::Phone, "PJSIP/1001@other-host"),
            (Kind::Phone, "Local/1001@phones/n"),
            (Kind::Phone, "Local/1001"),
            (Kind::Phone, "DAHDI/1"),
            (Kind::CallerIdName, "\"Evil\" <1>"),
            (Kind::CallerIdNumber, "12"),
            (Kind::Mailbox, "1234@"),
            (Kind::Dtmf, "1w2"),
            (Kind::Did, "_X."),
        ];
        for (kind, value) in bad {
            assert!(check(*kind, value).is_err(), "{kind} took {value:?}");
        }
    }

    #[test]
    fn recordings_are_written_under_their_root_only() {
        let root = std::path::Path::new("/var/spool/asterisk/monitor");
        assert_eq!(
            recording_path(root, "2026-12-02/a.wav"),
            Ok("/var/spool/asterisk/monitor/2026-12-02/a.wav".into())
        );
        assert!(
            recording_path(root, "../a.wav").is_err()
                && recording_path(root, "/etc/a.wav").is_err()
        );
        assert!(recording_path(std::path::Path::new("/rec,b,x"), "a.wav").is_err());
    }

    #[test]
    fn a_refusal_names_the_rule_but_not_the_value() {
        let refused = check(Kind::Phone, "Local/1\r\nAction: Hangup").expect_err("refused");
        let message = refused.to_string();
        assert!(
            message.contains("PJSIP") && !message.contains("Hangup"),
            "{message}"
        );
    }
}
