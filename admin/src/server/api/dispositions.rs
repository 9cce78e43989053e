//! Statuses (dispositions) and pause codes: the system-wide lists campaigns choose from.
//! Admins only, through the same operations as the Dispositions page.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;

use super::{actor, answer, error, saved, JsonBody};
use crate::server::dispositions;
use crate::server::guard::ClientIp;
use crate::server::session::Session;
use crate::server::AppState;

pub(super) async fn statuses(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
) -> Response {
    let who = (s, c);
    answer(dispositions::statuses(&st.pool, &actor(&who)).await)
}

#[derive(Deserialize)]
pub(super) struct NewStatus {
    code: String,
    name: String,
    category: String,
    /// The flags that are set (`selectable`, `sale`...); the others are cleared.
    #[serde(default)]
    flags: Vec<String>,
}

/// Creates a status, or replaces one with that code, as the page's form does.
pub(super) async fn create_status(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    JsonBody(b): JsonBody<NewStatus>,
) -> Response {
    let who = (s, c);
    saved(
        dispositions::save_status(
            &st.pool,
            &actor(&who),
            &b.code,
            &b.name,
            &b.category,
            &b.flags,
        )
        .await,
    )
}

#[derive(Deserialize)]
pub(super) struct StatusChange {
    name: Option<String>,
    category: Option<String>,
    flags: Option<Vec<String>>,
}

/// Changes a status; what is not sent keeps its value.
pub(super) async fn update_status(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(code): Path<String>,
    JsonBody(b): JsonBody<StatusChange>,
) -> Response {
    let who = (s, c);
    let actor = actor(&who);
    let current = match dispositions::statuses(&st.pool, &actor).await {
        Ok(rows) => rows.into_iter().find(|r| r.code == code),
        Err(e) => return error(e),
    };
    let Some(current) = current else {
        return error(crate::server::actor::OpError::NotFound);
    };
    let name = b.name.unwrap_or(current.name);
    let category = b.category.unwrap_or(current.category);
    let flags = b.flags.unwrap_or(current.flags);
    saved(dispositions::save_status(&st.pool, &actor, &code, &name, &category, &flags).await)
}

pub(super) async fn pause_codes(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
) -> Response {
    let who = (s, c);
    answer(dispositions::pause_codes(&st.pool, &actor(&who)).await)
}

#[derive(Deserialize)]
pub(super) struct NewPauseCode {
    code: String,
    name: String,
    #[serde(default)]
    billable: bool,
}

/// Creates a pause code, or replaces one with that code, as the page's form does.
pub(super) async fn create_pause_code(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    JsonBody(b): JsonBody<NewPauseCode>,
) -> Response {
    let who = (s, c);
    saved(dispositions::save_pause_code(&st.pool, &actor(&who), &b.code, &b.name, b.billable).await)
}

#[derive(Deserialize)]
pub(super) struct PauseChange {
    name: Option<String>,
    billable: Option<bool>,
}

/// Changes a pause code; what is not sent keeps its value.
pub(super) async fn update_pause_code(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(code): Path<String>,
    JsonBody(b): JsonBody<PauseChange>,
) -> Response {
    let who = (s, c);
    let actor = actor(&who);
    let current = match dispositions::pause_codes(&st.pool, &actor).await {
        Ok(rows) => rows.into_iter().find(|r| r.code == code),
        Err(e) => return error(e),
    };
    let Some(current) = current else {
        return error(crate::server::actor::OpError::NotFound);
    };
    let name = b.name.unwrap_or(current.name);
    let billable = b.billable.unwrap_or(current.billable);
    saved(dispositions::save_pause_code(&st.pool, &actor, &code, &name, billable).await)
}
