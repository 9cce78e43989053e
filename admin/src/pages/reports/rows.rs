//! What the reports send to the page (and the CSV files are written from): plain rows that
//! compile for the browser too, so times are preformatted text and durations seconds.

use serde::{Deserialize, Serialize};

use crate::model::Page;

/// The reports, in the order of their tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    Summary,
    Agents,
    Dispositions,
    ServiceLevel,
    Calls,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Summary,
        Kind::Agents,
        Kind::Dispositions,
        Kind::ServiceLevel,
        Kind::Calls,
    ];

    /// The report's address segment: `/reports/{slug}` and `/reports/{slug}.csv`.
    pub fn slug(self) -> &'static str {
        match self {
            Kind::Summary => "summary",
            Kind::Agents => "agents",
            Kind::Dispositions => "dispositions",
            Kind::ServiceLevel => "service-level",
            Kind::Calls => "calls",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.slug() == slug)
    }

    pub fn title(self) -> &'static str {
        match self {
            Kind::Summary => "Campaign summary",
            Kind::Agents => "Agent performance",
            Kind::Dispositions => "Dispositions",
            Kind::ServiceLevel => "Inbound service level",
            Kind::Calls => "Call detail",
        }
    }

    /// Which filters the report reads: (campaign, inbound group, threshold).
    pub fn filters(self) -> (bool, bool, bool) {
        match self {
            Kind::Summary | Kind::Agents => (true, false, false),
            Kind::Dispositions | Kind::Calls => (true, true, false),
            Kind::ServiceLevel => (false, true, true),
        }
    }
}

/// The filter as the address carries it (`?from=&to=&campaign=&group=&secs=&page=`), unchecked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Args {
    pub from: String,
    pub to: String,
    pub campaign: String,
    pub group: String,
    pub secs: String,
    pub page: u32,
}

impl Args {
    /// The query string that reproduces this filter (for tabs, CSV links and the pager).
    pub fn query(&self) -> String {
        let enc = crate::pages::campaigns::urlencoding;
        let mut q = format!("from={}&to={}", enc(&self.from), enc(&self.to));
        for (key, value) in [
            ("campaign", &self.campaign),
            ("group", &self.group),
            ("secs", &self.secs),
        ] {
            if !value.is_empty() {
                q.push_str(&format!("&{key}={}", enc(value)));
            }
        }
        q
    }
}

/// One day of a campaign summary: the dials of that day by outcome, and the FTC abandon rate
/// of the 30 days ending that day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct DayRow {
    /// YYYY-MM-DD (UTC).
    pub day: String,
    pub dials: i64,
    pub human: i64,
    pub machine: i64,
    pub no_answer: i64,
    pub busy: i64,
    pub congestion: i64,
    pub abandoned: i64,
    /// Invalid numbers, failures, cancels and dials still in progress.
    pub other: i64,
    pub live_30d: i64,
    pub abandons_30d: i64,
}

impl DayRow {
    /// abandons / (live answers + abandons), in percent, as `core::campaigns::AbandonRate`.
    pub fn rate_30d(&self) -> f64 {
        pct(self.abandons_30d, self.live_30d + self.abandons_30d)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub days: Vec<DayRow>,
    /// The strictest cap of the campaigns shown.
    pub cap_pct: f64,
}

/// One agent's time (seconds, clipped to the range) and calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentRow {
    pub user_id: i64,
    pub agent: String,
    pub logged_in: f64,
    pub talk: f64,
    pub wait: f64,
    pub pause: f64,
    pub wrapup: f64,
    /// Pause seconds by pause code, largest first.
    pub pauses: Vec<(String, f64)>,
    pub calls: i64,
    /// Calls by the status code the agent set, most first.
    pub dispositions: Vec<(String, i64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct DispositionRow {
    pub code: String,
    pub name: String,
    pub calls: i64,
    pub share_pct: f64,
}

/// One inbound group's calls in the range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ServiceRow {
    pub group_id: i64,
    pub group_name: String,
    pub offered: i64,
    pub answered: i64,
    /// Answered after waiting at most the threshold.
    pub within: i64,
    pub abandons: i64,
    /// Mean queue wait of the answered calls (speed of answer), seconds.
    pub avg_wait: Option<f64>,
}

impl ServiceRow {
    /// Answered within the threshold, of every call offered.
    pub fn service_level_pct(&self) -> f64 {
        pct(self.within, self.offered)
    }

    pub fn abandon_pct(&self) -> f64 {
        pct(self.abandons, self.offered)
    }
}

/// One call of the call detail report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct CdrRow {
    pub id: String,
    /// YYYY-MM-DD HH:MM:SS (UTC), as the other timestamps.
    pub started: String,
    pub direction: String,
    pub campaign: Option<String>,
    pub group_name: Option<String>,
    pub number: Option<String>,
    pub agent: Option<String>,
    pub outcome: Option<String>,
    pub disposition: Option<String>,
    pub answered: Option<String>,
    pub ended: Option<String>,
    pub wait_secs: Option<f64>,
    pub talk_secs: Option<f64>,
    pub recording_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Data {
    Summary(Summary),
    Agents(Vec<AgentRow>),
    Dispositions(Vec<DispositionRow>),
    ServiceLevel { secs: i32, rows: Vec<ServiceRow> },
    Calls(Page<CdrRow>),
}

/// A report and the filter it was run with (defaults filled in), for the form to show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub args: Args,
    pub data: Data,
}

/// `part` of `whole` in percent; 0 when there is no whole.
pub fn pct(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}
