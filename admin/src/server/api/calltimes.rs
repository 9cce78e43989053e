//! When campaigns may dial: call times with their weekly windows, holidays, and the legal
//! calling rules per country and state. Admins only, through the Hours page's operations.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;

use super::{actor, answer, error, invalid, saved, JsonBody};
use crate::server::actor::OpError;
use crate::server::calltimes;
use crate::server::guard::ClientIp;
use crate::server::session::Session;
use crate::server::AppState;

pub(super) async fn call_times(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
) -> Response {
    let who = (s, c);
    answer(calltimes::call_times(&st.pool, &actor(&who)).await)
}

#[derive(Deserialize)]
pub(super) struct Window {
    /// ISO weekday: 1 is Monday, 7 Sunday.
    weekday: i16,
    opens: String,
    closes: String,
}

#[derive(Deserialize)]
pub(super) struct CallTime {
    name: String,
    #[serde(default)]
    description: String,
    /// The open days; a day not listed is closed.
    #[serde(default)]
    windows: Vec<Window>,
}

#[derive(Deserialize)]
pub(super) struct CallTimeChange {
    description: Option<String>,
    windows: Vec<Window>,
}

/// The week as the page's form sends it (`open:N`, `close:N`), or what is wrong with it.
fn week(windows: &[Window]) -> Result<HashMap<String, String>, &'static str> {
    let mut hours = HashMap::new();
    for w in windows {
        if !(1..=7).contains(&w.weekday) {
            return Err("weekday is 1 (Monday) to 7 (Sunday)");
        }
        if hours.contains_key(&format!("open:{}", w.weekday)) {
            return Err("each weekday once");
        }
        hours.insert(format!("open:{}", w.weekday), w.opens.clone());
        hours.insert(format!("close:{}", w.weekday), w.closes.clone());
    }
    Ok(hours)
}

/// Creates a call time, or replaces the week of the one with that name.
pub(super) async fn save_call_time(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    JsonBody(b): JsonBody<CallTime>,
) -> Response {
    let who = (s, c);
    let hours = match week(&b.windows) {
        Ok(hours) => hours,
        Err(message) => return invalid("windows", message),
    };
    saved(calltimes::save_call_time(&st.pool, &actor(&who), &b.name, &b.description, &hours).await)
}

/// Replaces the week (and the description, when sent) of call time `id`.
pub(super) async fn replace_call_time(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<CallTimeChange>,
) -> Response {
    let who = (s, c);
    let actor = actor(&who);
    let current = match calltimes::call_times(&st.pool, &actor).await {
        Ok(rows) => rows.into_iter().find(|r| r.id == id),
        Err(e) => return error(e),
    };
    let Some(current) = current else {
        return error(OpError::NotFound);
    };
    let hours = match week(&b.windows) {
        Ok(hours) => hours,
        Err(message) => return invalid("windows", message),
    };
    let description = b.description.unwrap_or(current.description);
    saved(calltimes::save_call_time(&st.pool, &actor, &current.name, &description, &hours).await)
}

pub(super) async fn holidays(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
) -> Response {
    let who = (s, c);
    answer(calltimes::holidays(&st.pool, &actor(&who)).await)
}

#[derive(Deserialize)]
pub(super) struct Holiday {
    name: String,
    /// YYYY-MM-DD.
    day: String,
    /// Two letters, or absent for the whole country.
    #[serde(default)]
    state: String,
    /// The hours kept that day instead of none.
    #[serde(default)]
    call_time_id: Option<i64>,
}

pub(super) async fn add_holiday(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    JsonBody(b): JsonBody<Holiday>,
) -> Response {
    let who = (s, c);
    saved(
        calltimes::add_holiday(
            &st.pool,
            &actor(&who),
            &b.name,
            &b.day,
            &b.state,
            b.call_time_id,
        )
        .await,
    )
}

pub(super) async fn remove_holiday(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
) -> Response {
    let who = (s, c);
    saved(calltimes::remove_holiday(&st.pool, &actor(&who), id).await)
}

pub(super) async fn rules(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
) -> Response {
    let who = (s, c);
    answer(calltimes::rules(&st.pool, &actor(&who)).await)
}

#[derive(Deserialize)]
pub(super) struct Rule {
    #[serde(default = "super::us")]
    country: String,
    /// Two letters, or absent for the whole country.
    #[serde(default)]
    state: String,
    opens: String,
    closes: String,
    /// A whole number above 0, or null for no limit; the operation checks it.
    #[serde(default)]
    max_attempts_24h: Option<serde_json::Value>,
    #[serde(default)]
    citation: String,
}

/// Sets the legal window of a country or a state, replacing the one there.
pub(super) async fn save_rule(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    JsonBody(b): JsonBody<Rule>,
) -> Response {
    let who = (s, c);
    let max = super::form_text(b.max_attempts_24h);
    saved(
        calltimes::save_rule(
            &st.pool,
            &actor(&who),
            &b.country,
            &b.state,
            &b.opens,
            &b.closes,
            &max,
            &b.citation,
        )
        .await,
    )
}
