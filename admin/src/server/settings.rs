//! Rows edited as a table of settings (campaigns, inbound groups): read into a form, checked
//! field by field, saved in one UPDATE built from the settings table only (never from names a
//! browser sent), refused when stale, audited with the row before and after.

use dialtone_core::records::{self, Assignment, Table};
use std::collections::HashMap;

use serde_json::Value;
use sqlx::PgPool;

use dialtone_core::asterisk_values::{self, Kind as Asterisk};

use super::actor::{Actor, OpError};
use crate::model::Saved;
use crate::schema::{check_setting, Kind, Setting, SettingsForm};

/// Rules between a page's settings: given every (column, value) submitted, the (field, what is
/// wrong) pairs.
pub type CrossCheck = fn(&[(String, Option<String>)]) -> Vec<(String, String)>;

/// A table edited through a settings form.
pub struct Entity {
    pub table: Table,
    /// The audit log's name for it.
    pub audit_name: &'static str,
    pub settings: &'static [Setting],
    /// Text settings whose column takes NULL for "none"; other emptied texts are ''.
    pub nullable_text: &'static [&'static str],
    /// Rules between settings, named on the field to change.
    pub cross_check: CrossCheck,
    /// What another editor's save looks like to this one.
    pub stale: &'static str,
    /// Settings whose values reach Asterisk, each with the kind of value it is there.
    pub asterisk: &'static [(&'static str, Asterisk)],
}

pub const CAMPAIGN: Entity = Entity {
    table: Table::Campaigns,
    audit_name: "campaign",
    settings: crate::schema::CAMPAIGN_SETTINGS,
    nullable_text: &["machine_message_audio", "caller_id_number"],
    cross_check: crate::schema::check_campaign,
    stale: "Someone else saved this campaign after you opened it. Reload the page to see their changes, then make yours again.",
    asterisk: &[
        ("safe_harbor_audio", Asterisk::File),
        ("machine_message_audio", Asterisk::File),
        ("recording_pattern", Asterisk::RecordingPattern),
        ("caller_id_name", Asterisk::CallerIdName),
        ("caller_id_number", Asterisk::CallerIdNumber),
        ("dial_template", Asterisk::DialTemplate),
        ("trunk", Asterisk::Trunk),
        ("dial_prefix", Asterisk::DialPrefix),
    ],
};

pub const INBOUND_GROUP: Entity = Entity {
    table: Table::InboundGroups,
    audit_name: "inbound_group",
    settings: crate::schema::INBOUND_SETTINGS,
    nullable_text: &["welcome_audio", "closed_target", "no_agents_target", "timeout_target"],
    cross_check: check_inbound_on_server,
    stale: "Someone else saved this group after you opened it. Reload the page to see their changes, then make yours again.",
    asterisk: &[
        ("welcome_audio", Asterisk::File),
        ("music_class", Asterisk::MusicClass),
    ],
};

/// The shared rules, the time zone, which only the server can look up, and each route's
/// target as the kind of value its action sends to Asterisk.
fn check_inbound_on_server(values: &[(String, Option<String>)]) -> Vec<(String, String)> {
    let mut errors = crate::schema::check_inbound(values);
    let get = |key: &str| {
        values
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_deref())
    };
    for route in ["closed", "no_agents", "timeout"] {
        let target_key = format!("{route}_target");
        let kind = get(&format!("{route}_action")).and_then(dialtone_core::inbound::route_target);
        if let (Some(kind), Some(target)) = (kind, get(&target_key)) {
            if let Err(refused) = asterisk_values::check(kind, target) {
                errors.push((target_key, refused.kind.rule().into()));
            }
        }
    }
    let zone = get("time_zone");
    if zone.is_some_and(|z| z.parse::<chrono_tz::Tz>().is_err()) {
        errors.push((
            "time_zone".into(),
            "an IANA zone such as America/New_York".into(),
        ));
    }
    errors
}

/// A JSON value as the text a form field holds.
pub fn as_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The lookups a settings table names, with their choices.
async fn lookups(
    pool: &PgPool,
    settings: &[Setting],
) -> Result<Vec<(String, Vec<(i64, String)>)>, sqlx::Error> {
    let mut out = Vec::new();
    for setting in settings {
        if let Kind::Lookup(name) = setting.kind {
            if out.iter().any(|(k, _)| k == name) {
                continue;
            }
            let sql = match name {
                "call_times" => "SELECT id, name FROM call_times ORDER BY name",
                "campaigns" => "SELECT id, name FROM campaigns ORDER BY name",
                _ => continue,
            };
            out.push((name.to_string(), sqlx::query_as(sql).fetch_all(pool).await?));
        }
    }
    Ok(out)
}

/// The row as its form; the caller has checked access.
pub async fn form(pool: &PgPool, entity: &Entity, id: i64) -> Result<SettingsForm, OpError> {
    let mut conn = pool.acquire().await?;
    let (json, version) = records::read(&mut conn, entity.table, id)
        .await?
        .ok_or(OpError::NotFound)?;
    Ok(SettingsForm {
        id,
        name: as_text(json.get("name")),
        active: json.get("active").and_then(Value::as_bool).unwrap_or(false),
        version,
        values: entity
            .settings
            .iter()
            .map(|s| (s.key.to_string(), as_text(json.get(s.key))))
            .collect(),
        lookups: lookups(pool, entity.settings).await?,
    })
}

fn cast(kind: Kind) -> &'static str {
    match kind {
        Kind::Text { .. } | Kind::Choice(_) => "",
        Kind::Int { .. } => "::integer",
        Kind::Decimal { .. } => "::numeric",
        Kind::Bool => "::boolean",
        Kind::Lookup(_) => "::bigint",
    }
}

/// A database refusal (a CHECK or a unique name) as a form answer; other errors pass through.
pub fn refusal(e: sqlx::Error, unique_field: &str) -> Result<Saved, OpError> {
    match Refusal::of(&e, unique_field) {
        Some(refused) => Ok(refused.saved()),
        None => Err(OpError::Db(e)),
    }
}

/// Why the database refused a value, in words for people: the field when the caller or the
/// constraint's name gives it (`<table>_<column>_check`, `_key`, `_fkey`: PostgreSQL's own
/// naming), and never the database's message, which names tables and constraints instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The column refused, when known: shown beside the form field of that name.
    pub field: Option<String>,
    /// What is wrong with the field's value ("already taken").
    pub message: String,
    /// The whole sentence, for a notice above the form or an API answer's `error`.
    pub sentence: String,
    /// A unique name: the form shows it beside the field the caller named, as it always has.
    unique: bool,
}

impl Refusal {
    /// `None` when the error is not a refused value (the database is down, a query is wrong).
    /// `unique_field` names the field of a unique violation.
    pub fn of(e: &sqlx::Error, unique_field: &str) -> Option<Self> {
        let sqlx::Error::Database(db) = e else {
            return None;
        };
        let code = db.code()?;
        let column = db
            .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
            .and_then(|pg| pg.column())
            .map(str::to_string)
            .or_else(|| constraint_column(db.constraint()?, db.table()?));
        let (field, message) = match code.as_ref() {
            "23505" => (Some(unique_field.to_string()), "already taken".to_string()),
            "23514" => (column, "this value is not allowed".to_string()),
            // Deleting (or renumbering) a row others still point at.
            "23503" if db.message().starts_with("update or delete") => {
                let sentence = "Nothing was changed: it is still in use elsewhere.".to_string();
                return Some(Self {
                    field: None,
                    message: sentence.clone(),
                    sentence,
                    unique: false,
                });
            }
            "23503" => {
                let thing = column
                    .as_deref()
                    .map(|c| c.trim_end_matches("_id").replace('_', " "))
                    .unwrap_or_else(|| "such thing".into());
                (column, format!("no {thing} has this id"))
            }
            "23502" => (column, "required".to_string()),
            "22001" => (column, "too long".to_string()),
            "22003" => (column, "out of range".to_string()),
            "22P02" | "22007" | "22008" => (column, "not a valid value".to_string()),
            _ => return None,
        };
        let sentence = match &field {
            Some(field) => format!("Nothing was saved: {}: {message}.", field.replace('_', " ")),
            None => format!("Nothing was saved: a value is {message}."),
        };
        Some(Self {
            field,
            message,
            sentence,
            unique: code.as_ref() == "23505",
        })
    }

    /// As a form's answer. A unique name stays beside its field, as the form checks it there;
    /// other refusals also say the sentence, since the column may not be a field of the form.
    pub fn saved(self) -> Saved {
        let fields = self
            .field
            .map(|field| vec![(field, self.message.clone())])
            .unwrap_or_default();
        Saved::Invalid {
            fields,
            form: (!self.unique).then_some(self.sentence),
        }
    }
}

/// The column in a constraint named as PostgreSQL names them, or as our migrations name
/// whitelists: `lists_name_check` on `lists` is `name`, `users_phone_asterisk` on `users` is
/// `phone`. A constraint on several columns (`lists_check`) names none.
fn constraint_column(constraint: &str, table: &str) -> Option<String> {
    let rest = constraint.strip_prefix(table)?.strip_prefix('_')?;
    // `_check1`, `_key1`: a second constraint of the same kind.
    let rest = rest.trim_end_matches(|c: char| c.is_ascii_digit());
    // `_asterisk`: the whitelist of a value that reaches Asterisk (core::asterisk_values).
    let column = ["_check", "_key", "_fkey", "_asterisk"]
        .iter()
        .find_map(|suffix| rest.strip_suffix(suffix))?;
    (!column.is_empty()).then(|| column.to_string())
}

/// Saves every setting of the form at once, or none: each value is checked with a message for
/// its field, then the rules between fields, then the database's own constraints. A form
/// loaded before someone else's save is refused (`version`). The caller has checked the role.
pub async fn save(
    pool: &PgPool,
    actor: &Actor<'_>,
    entity: &Entity,
    id: i64,
    version: &str,
    input: &HashMap<String, String>,
) -> Result<Saved, OpError> {
    let mut errors = Vec::new();
    let mut values: Vec<(String, Option<String>)> = Vec::new();
    for setting in entity.settings {
        let raw = input.get(setting.key).map(String::as_str).unwrap_or("");
        match check_setting(setting, raw) {
            Ok(v) => values.push((setting.key.to_string(), v)),
            Err(message) => errors.push((setting.key.to_string(), message)),
        }
    }
    for (key, kind) in entity.asterisk {
        let value = values
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_deref());
        if let Some(Err(refused)) = value.map(|v| asterisk_values::check(*kind, v)) {
            if !errors.iter().any(|(k, _)| k == key) {
                errors.push((key.to_string(), refused.kind.rule().into()));
            }
        }
    }
    errors.extend((entity.cross_check)(&values));
    if !errors.is_empty() {
        return Ok(Saved::Invalid {
            fields: errors,
            form: Some("Nothing was saved: correct the fields marked.".into()),
        });
    }
    let assignments: Vec<Assignment> = entity
        .settings
        .iter()
        .zip(values)
        .map(|(s, (_, value))| Assignment {
            column: s.key,
            value,
            cast: cast(s.kind),
            empty_text: matches!(s.kind, Kind::Text { .. })
                && !entity.nullable_text.contains(&s.key),
        })
        .collect();
    let mut tx = pool.begin().await?;
    let Some(before) = records::lock(&mut tx, entity.table, id).await? else {
        return Err(OpError::NotFound);
    };
    let after = match records::update(&mut tx, entity.table, id, version, &assignments).await {
        Ok(Some(after)) => after,
        Ok(None) => return Ok(Saved::refused(entity.stale)),
        Err(e) => return refusal(e, "name"),
    };
    actor
        .audit(
            &mut *tx,
            "update",
            entity.audit_name,
            Some(id.to_string()),
            Some(before),
            Some(after),
        )
        .await?;
    tx.commit().await?;
    Ok(Saved::Ok {
        id,
        message: "Saved.".into(),
    })
}

/// Turns the row on or off, audited; the caller has checked the role.
pub async fn set_active(
    pool: &PgPool,
    actor: &Actor<'_>,
    entity: &Entity,
    id: i64,
    active: bool,
) -> Result<(), OpError> {
    let mut tx = pool.begin().await?;
    let before = records::set_active(&mut tx, entity.table, id, active)
        .await?
        .ok_or(OpError::NotFound)?;
    let (b, a) = (
        serde_json::json!({"active": before}),
        serde_json::json!({"active": active}),
    );
    actor
        .audit(
            &mut *tx,
            "update",
            entity.audit_name,
            Some(id.to_string()),
            Some(b),
            Some(a),
        )
        .await?;
    tx.commit().await?;
    Ok(())
}

/// A record's name (campaigns, lists, inbound groups): required, at most 80 characters. The
/// (field, what is wrong) pair when it is not.
pub(crate) fn check_name(name: &str) -> Option<(String, String)> {
    let name = name.trim();
    if name.is_empty() {
        Some(("name".into(), "required".into()))
    } else if name.chars().count() > 80 {
        Some(("name".into(), "at most 80 characters".into()))
    } else {
        None
    }
}

/// A form refused: nothing saved, the fields marked.
pub(crate) fn invalid(fields: Vec<(String, String)>) -> Saved {
    Saved::Invalid {
        fields,
        form: Some("Nothing was saved: correct the fields marked.".into()),
    }
}
