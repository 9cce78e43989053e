//! `dialtone doctor`: whether this node's Asterisk has what Dialtone's dialplan and call flows
//! use, asked over AMI with the node's own account (its `system` and `reporting` rights are
//! enough: ModuleCheck, ShowDialPlan, GetConfig, Getvar), each missing piece with its fix; the
//! sound files are looked for on this machine. A missing module or context shows up here, not
//! as a customer hung up mid-call.

use dialtone_asterisk::ami::{Action, AmiClient, AmiError, Message};

/// One thing looked at: what, whether it is as Dialtone needs it, and what was found or the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub what: String,
    pub ok: bool,
    pub detail: String,
}

/// The modules the dialplan and the call flows use, and what each is for.
pub const MODULES: &[(&str, &str)] = &[
    (
        "pbx_config",
        "reads extensions.conf, so the dialtone-* contexts",
    ),
    ("res_agi", "hands every call to Dialtone (FastAGI)"),
    ("app_amd", "answering-machine detection"),
    ("app_confbridge", "the agents' conferences"),
    ("bridge_softmix", "mixes the conferences' audio"),
    ("app_stack", "runs the call-end hangup handler"),
    ("app_mixmonitor", "recordings"),
    (
        "app_playback",
        "the safe-harbor, closed and machine messages",
    ),
    (
        "app_waitforsilence",
        "waits for a machine's beep before its message",
    ),
    ("res_musiconhold", "music on hold"),
    ("app_senddtmf", "keys sent to the far end"),
    ("app_chanspy", "listen, whisper and barge"),
    ("app_dial", "transfers to a number"),
    (
        "app_voicemail",
        "inbound groups that send callers to voicemail",
    ),
    ("res_parking", "parking a customer"),
    ("func_channel", "the hangup handler and channel state"),
    (
        "func_db",
        "notes abandons played while Dialtone was unreachable, for the ledger",
    ),
];

/// The contexts of `dialplan/extensions_dialtone.conf`.
pub const CONTEXTS: &[&str] = &[
    "dialtone-outbound",
    "dialtone-call-end",
    "dialtone-agent",
    "dialtone-inbound",
    "dialtone-transfer",
    "dialtone-manual",
    "dialtone-hold",
    "dialtone-park",
    "dialtone-conference",
    "dialtone-transferred",
];

/// The ConfBridge profiles of `asterisk-conf/confbridge_dialtone.conf`.
pub const PROFILES: &[&str] = &[
    "dialtone_agent_bridge",
    "dialtone_agent",
    "dialtone_customer",
];

/// The prompts the dialplan and the defaults name.
pub const SOUNDS: &[&str] = &[
    "dialtone/safe-harbor",
    "dialtone/closed",
    "dialtone/machine-message",
];

/// Asterisk's own prompts Dialtone plays through it: queue announcements and voicemail's.
pub const CORE_SOUNDS: &[&str] = &[
    "queue-thereare",
    "queue-callswaiting",
    "queue-youarenext",
    "vm-theperson",
    "vm-isunavail",
    "beep",
];

/// The formats a prompt may be recorded in, as Asterisk finds them by extension.
const SOUND_FORMATS: &[&str] = &["wav", "gsm", "ulaw", "alaw", "sln", "sln16", "g722", "WAV"];

/// Longest AMD settings (ms) that still let a person reach an agent within the FTC's 2
/// seconds of their greeting's end.
const AMD_LIMITS: &[(&str, u32, &str)] = &[
    (
        "after_greeting_silence",
        1000,
        "a person waits this long after saying hello before Dialtone hears of them",
    ),
    (
        "total_analysis_time",
        5000,
        "AMD gives up (NOTSURE) after this long",
    ),
];

/// Looks at everything; `sounds` adds prompts the campaigns name to [`SOUNDS`].
pub async fn examine(
    ami: &AmiClient,
    agi: &str,
    sounds: &[String],
) -> Result<Vec<Finding>, AmiError> {
    let mut found = Vec::new();
    for (module, why) in MODULES {
        let loaded = ami
            .send(Action::new("ModuleCheck").field("Module", *module))
            .await;
        found.push(match loaded {
            Ok(_) => Finding {
                what: format!("module {module}"),
                ok: true,
                detail: format!("loaded ({why})"),
            },
            Err(AmiError::Refused { .. }) => Finding {
                what: format!("module {module}"),
                ok: false,
                detail: format!(
                    "not loaded: {why}. Build it (menuselect), then `module load {module}.so`"
                ),
            },
            Err(e) => return Err(e),
        });
    }
    for context in CONTEXTS {
        let shown = ami
            .send_list(Action::new("ShowDialPlan").field("Context", *context))
            .await;
        found.push(match shown {
            Ok(_) => Finding { what: format!("context {context}"), ok: true, detail: "in the dialplan".into() },
            Err(AmiError::Refused { .. }) => Finding {
                what: format!("context {context}"),
                ok: false,
                detail: "missing: add `#include \"dialtone/extensions_dialtone.conf\"` to extensions.conf, then `dialplan reload`".into(),
            },
            Err(e) => return Err(e),
        });
    }
    let global = ami
        .send(Action::new("Getvar").field("Variable", "DIALTONE_AGI"))
        .await?;
    let agi_global = global.get("Value").unwrap_or_default().to_string();
    found.push(Finding {
        what: "global DIALTONE_AGI".into(),
        ok: agi_global.starts_with("agi://") && agi_global.ends_with(agi),
        detail: if agi_global.ends_with(agi) {
            agi_global
        } else {
            format!("is {agi_global:?}, but this node listens for FastAGI on {agi}: set DIALTONE_AGI in extensions_dialtone.conf to agi://{agi}")
        },
    });

    let confbridge = categories(ami, "confbridge.conf").await?;
    for profile in PROFILES {
        let ok = confbridge.iter().any(|c| c == profile);
        found.push(Finding {
            what: format!("ConfBridge profile {profile}"),
            ok,
            detail: if ok {
                "in confbridge.conf".into()
            } else {
                "missing: add `#include \"dialtone/confbridge_dialtone.conf\"` to confbridge.conf, then `module reload app_confbridge.so`".into()
            },
        });
    }
    let music = categories(ami, "musiconhold.conf").await?;
    let ok = music.iter().any(|c| c == "default");
    found.push(Finding {
        what: "music class default".into(),
        ok,
        detail: if ok {
            "in musiconhold.conf".into()
        } else {
            "missing: add a [default] class to musiconhold.conf (Debian's asterisk-moh-opsound-gsm has music), then `moh reload`".into()
        },
    });

    let amd = settings(ami, "amd.conf", "general").await?;
    for (key, limit, why) in AMD_LIMITS {
        let value = amd
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.parse::<u32>().ok());
        found.push(match value {
            Some(v) if v <= *limit => Finding { what: format!("AMD {key}"), ok: true, detail: format!("{v} ms") },
            Some(v) => Finding {
                what: format!("AMD {key}"),
                ok: false,
                detail: format!("{v} ms, more than {limit} ({why}): copy asterisk-conf/amd.conf over amd.conf, then `module reload app_amd.so`"),
            },
            None => Finding {
                what: format!("AMD {key}"),
                ok: false,
                detail: "not set (Asterisk's default is too long): copy asterisk-conf/amd.conf over amd.conf, then `module reload app_amd.so`".into(),
            },
        });
    }

    let directories = settings(ami, "asterisk.conf", "directories")
        .await
        .unwrap_or_default();
    let data = directories
        .iter()
        .find(|(k, _)| k == "astdatadir")
        .map_or("/var/lib/asterisk".to_string(), |(_, v)| v.clone());
    let mut names: Vec<&str> = SOUNDS.to_vec();
    names.extend(
        sounds
            .iter()
            .map(String::as_str)
            .filter(|s| !SOUNDS.contains(s)),
    );
    found.extend(names.into_iter().map(|name| sound(&data, name)));
    found.extend(CORE_SOUNDS.iter().map(|name| core_sound(&data, name)));
    Ok(found)
}

/// Whether a prompt is in the sounds folder (`en`, or an absolute path) in any format. Asterisk
/// answers no file question over AMI (STAT is refused to the manager unless Asterisk "lives
/// dangerously"), so the folder is looked at here: the node runs beside its Asterisk.
fn sound(data: &str, name: &str) -> Finding {
    let base = if name.starts_with('/') {
        name.to_string()
    } else {
        format!("{data}/sounds/en/{name}")
    };
    match SOUND_FORMATS.iter().map(|format| format!("{base}.{format}")).find(|path| std::path::Path::new(path).is_file()) {
        Some(path) => Finding { what: format!("sound {name}"), ok: true, detail: path },
        None => Finding {
            what: format!("sound {name}"),
            ok: false,
            detail: format!(
                "no {base}.wav (or .gsm, .ulaw...) on this machine: `scripts/make-sounds {data}/sounds/en` makes the defaults; record your own (docs/asterisk.md)"
            ),
        },
    }
}

/// An Asterisk prompt, with the fix for a missing one: without `vm-*` VoiceMail() hangs the
/// caller up at once.
fn core_sound(data: &str, name: &str) -> Finding {
    let mut found = sound(data, name);
    if !found.ok {
        found.detail = format!(
            "not in {data}/sounds/en: install Asterisk's core prompts (Debian: asterisk-core-sounds-en-gsm, whose folder /usr/share/asterisk/sounds/en_US_f_Allison is linked as {data}/sounds/en)"
        );
    }
    found
}

/// The category names of a configuration file, includes followed.
async fn categories(ami: &AmiClient, file: &str) -> Result<Vec<String>, AmiError> {
    Ok(config(ami, file)
        .await?
        .map(|m| category_names(&m))
        .unwrap_or_default())
}

/// The `key=value` lines of one category of a configuration file.
async fn settings(
    ami: &AmiClient,
    file: &str,
    category: &str,
) -> Result<Vec<(String, String)>, AmiError> {
    Ok(config(ami, file)
        .await?
        .map(|m| lines_of(&m, category))
        .unwrap_or_default())
}

/// GetConfig's answer, or `None` when the file is missing.
async fn config(ami: &AmiClient, file: &str) -> Result<Option<Message>, AmiError> {
    match ami
        .send(Action::new("GetConfig").field("Filename", file))
        .await
    {
        Ok(message) => Ok(Some(message)),
        Err(AmiError::Refused { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `Category-000000: name` fields, in order.
fn category_names(message: &Message) -> Vec<String> {
    message
        .fields
        .iter()
        .filter(|(k, _)| k.starts_with("Category-"))
        .map(|(_, v)| v.clone())
        .collect()
}

/// The `Line-<category>-<n>: key=value` fields of the category named `category`.
fn lines_of(message: &Message, category: &str) -> Vec<(String, String)> {
    let Some((key, _)) = message
        .fields
        .iter()
        .find(|(k, v)| k.starts_with("Category-") && v == category)
    else {
        return Vec::new();
    };
    let prefix = format!("Line-{}-", key.trim_start_matches("Category-"));
    message
        .fields
        .iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .filter_map(|(_, line)| {
            line.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(fields: &[(&str, &str)]) -> Message {
        Message {
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            output: Vec::new(),
        }
    }

    #[test]
    fn a_category_s_lines_are_read_from_getconfig_s_numbered_fields() {
        let answer = message(&[
            ("Response", "Success"),
            ("Category-000000", "general"),
            ("Line-000000-000000", "initial_silence=2500"),
            ("Line-000000-000001", "after_greeting_silence = 800"),
            ("Category-000001", "other"),
            ("Line-000001-000000", "after_greeting_silence=9"),
        ]);
        assert_eq!(category_names(&answer), ["general", "other"]);
        assert_eq!(
            lines_of(&answer, "general"),
            [
                ("initial_silence".to_string(), "2500".to_string()),
                ("after_greeting_silence".to_string(), "800".to_string())
            ]
        );
        assert!(lines_of(&answer, "missing").is_empty());
    }
}
