//! The settings schema: every campaign and inbound group setting their edit forms show, how
//! each is typed in and checked, and the rules between them. The server builds its UPDATE from
//! these tables only, never from the names a browser sends; the browser draws the forms from
//! them. Compiles for wasm32 too.

use dialtone_core::vocabulary::DialMethod;
use serde::{Deserialize, Serialize};
use strum::VariantNames;

/// A campaign or inbound group as its edit form holds it: every setting as text, by column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingsForm {
    pub id: i64,
    pub name: String,
    pub active: bool,
    /// The row's `updated_at`; saving with an older one is refused (someone else edited it).
    pub version: String,
    pub values: Vec<(String, String)>,
    /// The choices of each [`Kind::Lookup`]: (lookup, [(id, name)]).
    pub lookups: Vec<(String, Vec<(i64, String)>)>,
}

impl SettingsForm {
    pub fn value(&self, key: &str) -> String {
        self.values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    pub fn options(&self, lookup: &str) -> Vec<(i64, String)> {
        self.lookups
            .iter()
            .find(|(k, _)| k == lookup)
            .map(|(_, o)| o.clone())
            .unwrap_or_default()
    }
}

/// How a setting is typed in and checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Text {
        max: usize,
        required: bool,
    },
    Int {
        min: i64,
        max: i64,
        required: bool,
    },
    Decimal {
        min: f64,
        max: f64,
        required: bool,
    },
    Bool,
    Choice(&'static [&'static str]),
    /// One row of another table (by id), or none: `call_times`, `campaigns`.
    Lookup(&'static str),
}

/// One campaign setting on the edit form. The server builds its UPDATE from this table only,
/// never from the names a browser sends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Setting {
    pub key: &'static str,
    pub label: &'static str,
    pub section: &'static str,
    pub kind: Kind,
    pub help: &'static str,
}

const fn text(max: usize, required: bool) -> Kind {
    Kind::Text { max, required }
}

impl Kind {
    /// A text long enough to be written in lines (a script): a textarea, where line breaks and
    /// tabs are part of the text. Every other text is one line.
    pub fn multiline(self) -> bool {
        matches!(self, Kind::Text { max, .. } if max > 500)
    }
}

/// Why a typed text cannot be kept, if it holds characters no field takes: a NUL byte
/// anywhere, and in a one-line field any control character (a line break in a caller ID name
/// broke every manual dial).
pub fn control_characters(value: &str, multiline: bool) -> Option<&'static str> {
    if value.contains('\0') {
        Some("contains a NUL byte, which no field can hold")
    } else if value
        .chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
    {
        Some(if multiline {
            "contains control characters other than line breaks and tabs"
        } else {
            "one line only: no line breaks, tabs or other control characters"
        })
    } else {
        None
    }
}
const fn int(min: i64, max: i64, required: bool) -> Kind {
    Kind::Int { min, max, required }
}
const fn dec(min: f64, max: f64, required: bool) -> Kind {
    Kind::Decimal { min, max, required }
}

const ROUTES: &[&str] = &[
    "voicemail",
    "message_hangup",
    "transfer_number",
    "transfer_group",
];

/// Every inbound group setting the edit form shows.
pub const INBOUND_SETTINGS: &[Setting] = &[
    Setting {
        key: "name",
        label: "Name",
        section: "General",
        kind: text(80, true),
        help: "",
    },
    Setting {
        key: "description",
        label: "Description",
        section: "General",
        kind: text(500, false),
        help: "",
    },
    Setting {
        key: "campaign_id",
        label: "Campaign",
        section: "General",
        kind: Kind::Lookup("campaigns"),
        help: "Dispositions, recording and script come from it.",
    },
    Setting {
        key: "call_time_id",
        label: "Opening hours",
        section: "General",
        kind: Kind::Lookup("call_times"),
        help: "Outside them, the closed route applies.",
    },
    Setting {
        key: "time_zone",
        label: "Time zone of the hours",
        section: "General",
        kind: text(64, true),
        help: "An IANA zone such as America/New_York.",
    },
    Setting {
        key: "queue_priority",
        label: "Priority",
        section: "Queue",
        kind: int(0, 99, true),
        help: "Higher is answered first by blended agents.",
    },
    Setting {
        key: "welcome_audio",
        label: "Welcome audio",
        section: "Queue",
        kind: text(200, false),
        help: "",
    },
    Setting {
        key: "music_class",
        label: "Music on hold class",
        section: "Queue",
        kind: text(64, true),
        help: "",
    },
    Setting {
        key: "position_announce_secs",
        label: "Announce position every (s)",
        section: "Queue",
        kind: int(0, 3600, true),
        help: "0 = never.",
    },
    Setting {
        key: "max_wait_secs",
        label: "Longest wait (s)",
        section: "Queue",
        kind: int(5, 86400, true),
        help: "Then the timeout route applies.",
    },
    Setting {
        key: "service_level_secs",
        label: "Service level (s)",
        section: "Queue",
        kind: int(1, 3600, true),
        help: "Answered within this counts as in service.",
    },
    Setting {
        key: "recording_policy",
        label: "Recording",
        section: "Queue",
        kind: Kind::Choice(&["never", "on_demand", "all_calls", "all_calls_forced"]),
        help: "",
    },
    Setting {
        key: "closed_action",
        label: "When closed",
        section: "Routes",
        kind: Kind::Choice(ROUTES),
        help: "",
    },
    Setting {
        key: "closed_target",
        label: "Closed: number or group",
        section: "Routes",
        kind: text(200, false),
        help: "",
    },
    Setting {
        key: "no_agents_action",
        label: "When no agent is logged in",
        section: "Routes",
        kind: Kind::Choice(ROUTES),
        help: "",
    },
    Setting {
        key: "no_agents_target",
        label: "No agents: number or group",
        section: "Routes",
        kind: text(200, false),
        help: "",
    },
    Setting {
        key: "timeout_action",
        label: "After the longest wait",
        section: "Routes",
        kind: Kind::Choice(ROUTES),
        help: "",
    },
    Setting {
        key: "timeout_target",
        label: "Timeout: number or group",
        section: "Routes",
        kind: text(200, false),
        help: "",
    },
];

/// Rules between inbound group settings, named on the field to change.
pub fn check_inbound(values: &[(String, Option<String>)]) -> Vec<(String, String)> {
    let get = |key: &str| {
        values
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.clone())
    };
    let mut errors = Vec::new();
    for route in ["closed", "no_agents", "timeout"] {
        let action = get(&format!("{route}_action")).unwrap_or_default();
        if action.starts_with("transfer_") && get(&format!("{route}_target")).is_none() {
            errors.push((
                format!("{route}_target"),
                "a transfer needs a number or group".into(),
            ));
        }
    }
    errors
}

/// Every campaign setting the edit form shows, in the order it shows them.
pub const CAMPAIGN_SETTINGS: &[Setting] = &[
    Setting {
        key: "name",
        label: "Name",
        section: "General",
        kind: text(80, true),
        help: "",
    },
    Setting {
        key: "description",
        label: "Description",
        section: "General",
        kind: text(500, false),
        help: "",
    },
    Setting {
        key: "dial_method",
        label: "Dial method",
        section: "Pacing",
        kind: Kind::Choice(<DialMethod as VariantNames>::VARIANTS),
        help: "Predictive keeps agents busy within the abandon cap.",
    },
    Setting {
        key: "dial_ratio",
        label: "Dial ratio",
        section: "Pacing",
        kind: dec(1.0, 10.0, true),
        help: "Lines per ready agent in ratio mode.",
    },
    Setting {
        key: "max_dial_ratio",
        label: "Highest dial ratio",
        section: "Pacing",
        kind: dec(1.0, 10.0, true),
        help: "Predictive never dials more lines per ready agent.",
    },
    Setting {
        key: "abandon_cap_pct",
        label: "Abandon cap (%)",
        section: "Pacing",
        kind: dec(0.01, 3.0, true),
        help: "Of live answers over 30 days; the law allows 3.",
    },
    Setting {
        key: "hourly_abandon_cap_pct",
        label: "Hourly abandon cap (%)",
        section: "Pacing",
        kind: dec(0.01, 100.0, false),
        help: "Optional stricter cap over the last hour.",
    },
    Setting {
        key: "max_lines",
        label: "Most lines at once",
        section: "Pacing",
        kind: int(1, 100_000, false),
        help: "",
    },
    Setting {
        key: "hopper_size",
        label: "Leads kept ready to dial",
        section: "Pacing",
        kind: int(0, 100_000, true),
        help: "The hopper's least size on each node; 0: twice the lines the pacer would dial",
    },
    Setting {
        key: "max_calls_per_second",
        label: "Most dials per second",
        section: "Pacing",
        kind: dec(0.01, 9999.0, true),
        help: "",
    },
    Setting {
        key: "trunk_channels",
        label: "Trunk channels",
        section: "Pacing",
        kind: int(1, 100_000, false),
        help: "",
    },
    Setting {
        key: "ring_timeout_secs",
        label: "Ring time (s)",
        section: "Pacing",
        kind: int(15, 120, true),
        help: "At least 15 s (FTC).",
    },
    Setting {
        key: "drop_timeout_secs",
        label: "Drop time (s)",
        section: "Abandons",
        kind: dec(0.1, 2.0, true),
        help: "A live callee reaches an agent within this, or hears the safe-harbor message.",
    },
    Setting {
        key: "safe_harbor_audio",
        label: "Safe-harbor audio",
        section: "Abandons",
        kind: text(200, true),
        help: "Asterisk sound played on a drop.",
    },
    Setting {
        key: "drop_lockout_hours",
        label: "Lockout after an abandon (h)",
        section: "Abandons",
        kind: int(0, 720, true),
        help: "",
    },
    Setting {
        key: "amd_enabled",
        label: "Answering-machine detection",
        section: "Answering machines",
        kind: Kind::Bool,
        help: "",
    },
    Setting {
        key: "amd_machine_action",
        label: "On a machine",
        section: "Answering machines",
        kind: Kind::Choice(&["hangup", "message", "agent"]),
        help: "",
    },
    Setting {
        key: "amd_notsure_action",
        label: "When unsure",
        section: "Answering machines",
        kind: Kind::Choice(&["agent", "hangup", "message"]),
        help: "",
    },
    Setting {
        key: "machine_message_audio",
        label: "Machine message audio",
        section: "Answering machines",
        kind: text(200, false),
        help: "Needed when a machine gets a message.",
    },
    Setting {
        key: "amd_false_positive_pct",
        label: "AMD false positives (%)",
        section: "Answering machines",
        kind: dec(0.0, 100.0, true),
        help: "Counted as abandons in the ledger.",
    },
    Setting {
        key: "recording_policy",
        label: "Recording",
        section: "Recording",
        kind: Kind::Choice(&["never", "on_demand", "all_calls", "all_calls_forced"]),
        help: "",
    },
    Setting {
        key: "recording_pattern",
        label: "Recording file pattern",
        section: "Recording",
        kind: text(200, true),
        help: "{date}, {campaign}, {lead}, {uniqueid}",
    },
    Setting {
        key: "call_time_id",
        label: "Calling hours",
        section: "Calling",
        kind: Kind::Lookup("call_times"),
        help: "In the callee's local time.",
    },
    Setting {
        key: "max_attempts",
        label: "Attempts per lead",
        section: "Calling",
        kind: int(1, 1000, true),
        help: "",
    },
    Setting {
        key: "max_number_attempts_24h",
        label: "Attempts per number in 24 h",
        section: "Calling",
        kind: int(1, 1000, false),
        help: "",
    },
    Setting {
        key: "caller_id_number",
        label: "Caller ID number",
        section: "Carrier",
        kind: text(16, false),
        help: "3 to 15 digits, optional +.",
    },
    Setting {
        key: "caller_id_name",
        label: "Caller ID name",
        section: "Carrier",
        kind: text(40, false),
        help: "",
    },
    Setting {
        key: "dial_template",
        label: "Dial string",
        section: "Carrier",
        kind: text(200, true),
        help: "Must contain {number}; {trunk} is replaced too.",
    },
    Setting {
        key: "trunk",
        label: "Trunk",
        section: "Carrier",
        kind: text(64, true),
        help: "",
    },
    Setting {
        key: "dial_prefix",
        label: "Dial prefix",
        section: "Carrier",
        kind: text(10, false),
        help: "",
    },
    Setting {
        key: "wrapup_secs",
        label: "Wrap-up time (s)",
        section: "Agents",
        kind: int(0, 3600, true),
        help: "",
    },
    Setting {
        key: "agent_selection",
        label: "Next call goes to",
        section: "Agents",
        kind: Kind::Choice(&["longest_idle", "fewest_calls", "random"]),
        help: "Which ready agent: the longest idle, the one with the fewest calls today (UTC), or any",
    },
    Setting {
        key: "allow_inbound",
        label: "Agents take inbound calls too",
        section: "Agents",
        kind: Kind::Bool,
        help: "Blended: agents may log in to inbound groups with this campaign",
    },
    Setting {
        key: "max_logged_in_agents",
        label: "Most agents logged in",
        section: "Agents",
        kind: int(1, 100_000, false),
        help: "Empty: no limit",
    },
    Setting {
        key: "pause_codes_mode",
        label: "Pause codes",
        section: "Agents",
        kind: Kind::Choice(&["off", "optional", "forced"]),
        help: "forced: agents choose a reason to pause; optional: they may pause without one; off: no reasons are offered",
    },
    Setting {
        key: "pause_after_each_call",
        label: "Pause after each call",
        section: "Agents",
        kind: Kind::Bool,
        help: "",
    },
    Setting {
        key: "scheduled_callbacks",
        label: "Scheduled callbacks",
        section: "Agents",
        kind: Kind::Bool,
        help: "",
    },
    Setting {
        key: "manual_dial",
        label: "Manual dial",
        section: "Agents",
        kind: Kind::Bool,
        help: "",
    },
    Setting {
        key: "script",
        label: "Script",
        section: "Agents",
        kind: text(20_000, false),
        help: "Lead fields as {first_name}.",
    },
];

pub fn setting(key: &str) -> Option<&'static Setting> {
    CAMPAIGN_SETTINGS.iter().find(|s| s.key == key)
}

/// Checks one value as typed; `Ok(None)` is an empty optional setting. The message names
/// what is wrong in words an operator reads beside the field.
pub fn check_setting(setting: &Setting, raw: &str) -> Result<Option<String>, String> {
    let value = raw.trim();
    match setting.kind {
        Kind::Bool => Ok(Some(
            if matches!(value, "true" | "on" | "1") {
                "true"
            } else {
                "false"
            }
            .to_string(),
        )),
        Kind::Text { required, .. }
        | Kind::Int { required, .. }
        | Kind::Decimal { required, .. }
            if value.is_empty() =>
        {
            if required {
                Err("required".into())
            } else {
                Ok(None)
            }
        }
        Kind::Lookup(_) if value.is_empty() => Ok(None),
        Kind::Text { max, .. } => {
            if let Some(why) = control_characters(value, setting.kind.multiline()) {
                Err(why.into())
            } else if value.chars().count() > max {
                Err(format!("at most {max} characters"))
            } else {
                Ok(Some(value.to_string()))
            }
        }
        Kind::Int { min, max, .. } => match value.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n.to_string())),
            Ok(_) => Err(format!("between {min} and {max}")),
            Err(_) => Err("a whole number".into()),
        },
        Kind::Decimal { min, max, .. } => match value.parse::<f64>() {
            Ok(n) if n.is_finite() && n >= min && n <= max => Ok(Some(value.to_string())),
            Ok(_) => Err(format!("between {min} and {max}")),
            Err(_) => Err("a number such as 2.5".into()),
        },
        Kind::Choice(options) => {
            if options.contains(&value) {
                Ok(Some(value.to_string()))
            } else {
                Err(format!("one of {}", options.join(", ")))
            }
        }
        Kind::Lookup(_) => value
            .parse::<i64>()
            .map(|n| Some(n.to_string()))
            .map_err(|_| "choose one from the list".into()),
    }
}

/// Rules that tie settings together, named on the field to change.
pub fn check_campaign(values: &[(String, Option<String>)]) -> Vec<(String, String)> {
    let get = |key: &str| {
        values
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.clone())
    };
    let mut errors = Vec::new();
    let num = |key: &str| get(key).and_then(|v| v.parse::<f64>().ok());
    if let (Some(ratio), Some(max)) = (num("dial_ratio"), num("max_dial_ratio")) {
        if max < ratio {
            errors.push(("max_dial_ratio".into(), "at least the dial ratio".into()));
        }
    }
    let machine_message = get("machine_message_audio").is_some();
    if get("amd_machine_action").as_deref() == Some("message") && !machine_message {
        errors.push((
            "machine_message_audio".into(),
            "needed when a machine gets a message".into(),
        ));
    }
    if get("amd_notsure_action").as_deref() == Some("message") && !machine_message {
        errors.push((
            "machine_message_audio".into(),
            "needed when an unsure answer gets a message".into(),
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_with_field_messages() {
        let ring = setting("ring_timeout_secs").expect("exists");
        assert_eq!(check_setting(ring, "14"), Err("between 15 and 120".into()));
        assert_eq!(check_setting(ring, "x"), Err("a whole number".into()));
        assert_eq!(check_setting(ring, " 20 "), Ok(Some("20".into())));
        assert_eq!(check_setting(ring, ""), Err("required".into()));
        let cap = setting("hourly_abandon_cap_pct").expect("exists");
        assert_eq!(check_setting(cap, ""), Ok(None));
        assert!(check_setting(setting("abandon_cap_pct").expect("exists"), "3.5").is_err());
        assert!(check_setting(setting("abandon_cap_pct").expect("exists"), "NaN").is_err());
        assert_eq!(
            check_setting(setting("dial_method").expect("exists"), "predictive"),
            Ok(Some("predictive".into()))
        );
        assert!(check_setting(setting("dial_method").expect("exists"), "turbo").is_err());
        assert_eq!(
            check_setting(setting("amd_enabled").expect("exists"), ""),
            Ok(Some("false".into()))
        );
    }

    #[test]
    fn one_line_settings_refuse_control_characters() {
        let name = setting("caller_id_name").expect("exists");
        assert!(check_setting(name, "Acme\r\nAction: Hangup").is_err());
        assert!(check_setting(name, "Acme\u{7}").is_err());
        let script = setting("script").expect("exists");
        assert_eq!(
            check_setting(script, "Hello {first_name},\r\n\tthis is Acme."),
            Ok(Some("Hello {first_name},\r\n\tthis is Acme.".into()))
        );
        assert!(check_setting(script, "nul\0byte").is_err());
    }

    #[test]
    fn cross_field_rules_name_the_field() {
        let values = vec![
            ("dial_ratio".to_string(), Some("3".to_string())),
            ("max_dial_ratio".to_string(), Some("2".to_string())),
            (
                "amd_machine_action".to_string(),
                Some("message".to_string()),
            ),
            ("machine_message_audio".to_string(), None),
        ];
        let keys: Vec<String> = check_campaign(&values)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["max_dial_ratio", "machine_message_audio"]);
    }

    #[test]
    fn every_setting_is_unique() {
        for (i, s) in CAMPAIGN_SETTINGS.iter().enumerate() {
            assert!(
                CAMPAIGN_SETTINGS[i + 1..].iter().all(|t| t.key != s.key),
                "{} twice",
                s.key
            );
        }
    }
}
