//! What the server and the browser exchange. Everything here compiles for wasm32 too: no
//! database, no tokio.

use dialtone_core::vocabulary::{DialMethod, Role};
use serde::{Deserialize, Serialize};

pub mod agent;
pub mod wallboard;

/// The signed-in person, as the pages see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub must_change_password: bool,
}

impl Viewer {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// One page of a table that is paged, sorted and filtered on the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

impl<T> Page<T> {
    pub fn pages(&self) -> u32 {
        let per = i64::from(self.per_page.max(1));
        u32::try_from((self.total + per - 1) / per)
            .unwrap_or(u32::MAX)
            .max(1)
    }
}

/// Rows per table page.
pub const PER_PAGE: u32 = 50;

/// The answer to a form: saved (with the row's id), or refused with a message per field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Saved {
    Ok {
        id: i64,
        message: String,
    },
    Invalid {
        fields: Vec<(String, String)>,
        form: Option<String>,
    },
}

impl Saved {
    pub fn field(&self, key: &str) -> Option<String> {
        match self {
            Saved::Invalid { fields, .. } => fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, m)| m.clone()),
            Saved::Ok { .. } => None,
        }
    }

    pub fn refused(form: impl Into<String>) -> Self {
        Saved::Invalid {
            fields: Vec::new(),
            form: Some(form.into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignRow {
    pub id: i64,
    pub name: String,
    pub active: bool,
    pub dial_method: DialMethod,
    pub lists: i64,
    pub agents_logged_in: i64,
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
    pub must_change_password: bool,
    pub last_login_at: Option<String>,
    /// Names of the campaigns this user may work or supervise.
    pub campaigns: Vec<String>,
    /// Names of the inbound groups whose calls this user may take.
    pub inbound_groups: Vec<String>,
    /// The phone an admin assigned: agents log in with it, supervisors listen with it.
    pub phone: Option<String>,
}

/// An API token as its list shows it; the token itself is never stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ApiTokenRow {
    pub id: i64,
    pub user_id: i64,
    pub username: String,
    pub name: String,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: Option<String>,
    /// `active`, `expired` or `revoked`.
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListRow {
    pub id: i64,
    pub name: String,
    pub campaign: Option<String>,
    pub active: bool,
    pub default_country: String,
    pub leads: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ImportRow {
    pub id: i64,
    pub file_name: String,
    pub status: String,
    pub inserted: i64,
    pub updated: i64,
    pub duplicate: i64,
    pub dnc: i64,
    pub rejected: i64,
    pub started_at: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DncRow {
    pub id: i64,
    pub scope: String,
    pub value: String,
    pub source: String,
    pub note: String,
    pub added_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    pub user: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    /// Fields that changed: (field, before, after).
    pub changes: Vec<(String, String, String)>,
}

/// What a browser sees of an upload waiting for its columns to be mapped, or importing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadView {
    pub upload_id: String,
    pub list_id: i64,
    pub list_name: String,
    pub file_name: String,
    pub total_lines: u64,
    /// (header, field it maps to).
    pub columns: Vec<(String, String)>,
    /// The first rows, for the mapping step.
    pub sample: Vec<Vec<String>>,
    pub state: UploadState,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum UploadState {
    /// Waiting for the person to confirm the mapping.
    Mapping,
    Importing {
        lines_done: u64,
        inserted: u64,
        rejected: u64,
    },
    Done {
        inserted: u64,
        updated: u64,
        duplicate: u64,
        dnc: u64,
        rejected: u64,
        has_report: bool,
    },
    Failed {
        error: String,
        lines_done: u64,
    },
}

/// The fields a column can be mapped to (`custom` keeps it as a custom field, `ignore` drops it).
pub const LEAD_FIELDS: &[&str] = &[
    "phone",
    "alt_phone",
    "first_name",
    "last_name",
    "email",
    "address1",
    "address2",
    "city",
    "state",
    "postal_code",
    "vendor_code",
    "source",
    "comments",
    "priority",
    "custom",
    "ignore",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadRow {
    pub id: i64,
    pub list_id: i64,
    pub list_name: String,
    pub phone: String,
    pub name: String,
    pub status: String,
    pub time_zone: String,
    pub attempts: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct CallRow {
    pub at: String,
    pub direction: String,
    pub outcome: Option<String>,
    pub disposition: Option<String>,
    pub agent: Option<String>,
    pub talk_secs: Option<f64>,
    pub campaign: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingRow {
    pub id: i64,
    pub started_at: String,
    pub duration_secs: Option<f64>,
    pub campaign: Option<String>,
    pub agent: Option<String>,
    pub phone: Option<String>,
    pub lead_id: Option<i64>,
    pub format: String,
}

/// A lead on its page: what the dialer keeps (read only), what a person may edit, its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadDetail {
    pub id: i64,
    pub list_id: i64,
    pub list_name: String,
    pub phone: String,
    pub alt_phone: String,
    pub time_zone: String,
    pub state: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub version: String,
    /// (key, label, value) of each editable field.
    pub fields: Vec<(String, String, String)>,
    pub custom: Vec<(String, String)>,
    /// (code, name) of every status.
    pub statuses: Vec<(String, String)>,
    pub calls: Vec<CallRow>,
    pub recordings: Vec<RecordingRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct InboundRow {
    pub id: i64,
    pub name: String,
    pub active: bool,
    pub campaign: Option<String>,
    pub max_wait_secs: i32,
    pub service_level_secs: i32,
    pub dids: Vec<String>,
    /// Users allowed to take its calls.
    pub agents: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct DidRow {
    pub id: i64,
    pub number: String,
    pub description: String,
    pub group_name: String,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusRow {
    pub code: String,
    pub name: String,
    pub category: String,
    /// Set by the dialer; not editable.
    pub system: bool,
    /// The flags of [`STATUS_FLAGS`] that are set.
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct PauseRow {
    pub code: String,
    pub name: String,
    pub billable: bool,
    pub system: bool,
}

/// What a campaign offers its agents: (code, name, offered, hotkey) and (code, name, offered).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignCodes {
    pub dispositions: Vec<(String, String, bool, Option<i16>)>,
    pub pause_codes: Vec<(String, String, bool)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallTimeRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// (ISO weekday 1 = Monday, opens HH:MM, closes HH:MM) of the open days.
    pub windows: Vec<(i16, String, String)>,
    pub campaigns: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct HolidayRow {
    pub id: i64,
    pub name: String,
    pub day: String,
    pub country: String,
    pub state: Option<String>,
    pub call_time: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct RuleRow {
    pub id: i64,
    pub country: String,
    pub state: Option<String>,
    pub opens: String,
    pub closes: String,
    pub closed_weekdays: Vec<i16>,
    pub max_attempts_24h: Option<i32>,
    pub citation: String,
    pub active: bool,
}

pub const WEEKDAYS: &[&str] = &[
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// A time of day as typed: `9:00`, `09:00` or `21:30`, as `HH:MM`.
pub fn parse_hhmm(raw: &str) -> Option<String> {
    let (h, m) = raw.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then(|| format!("{h:02}:{m:02}"))
}
#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn times_of_day() {
        assert_eq!(parse_hhmm("9:00"), Some("09:00".into()));
        assert_eq!(parse_hhmm(" 21:30 "), Some("21:30".into()));
        assert_eq!(parse_hhmm("24:00"), None);
        assert_eq!(parse_hhmm("nine"), None);
    }
}
