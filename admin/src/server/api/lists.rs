//! Lead lists and the leads in them.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;

use super::{actor, answer, error, saved, JsonBody, Listing};
use crate::server::guard::ClientIp;
use crate::server::lists;
use crate::server::session::Session;
use crate::server::AppState;

pub(super) async fn list(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Query(l): Query<Listing>,
) -> Response {
    let who = (s, c);
    answer(lists::lists(&st.pool, &actor(&who), &l.q, &l.sort, l.page.unwrap_or(1)).await)
}

#[derive(Deserialize)]
pub(super) struct NewList {
    name: String,
    #[serde(default)]
    campaign_id: Option<i64>,
    #[serde(default = "super::us")]
    country: String,
}

pub(super) async fn create(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    JsonBody(body): JsonBody<NewList>,
) -> Response {
    let who = (s, c);
    saved(
        lists::create_list(
            &st.pool,
            &actor(&who),
            &body.name,
            body.campaign_id,
            &body.country,
        )
        .await,
    )
}

#[derive(Deserialize)]
pub(super) struct ListChange {
    campaign_id: Option<i64>,
    active: bool,
}

pub(super) async fn update(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ListChange>,
) -> Response {
    let who = (s, c);
    saved(lists::update_list(&st.pool, &actor(&who), id, body.campaign_id, body.active).await)
}

pub(super) async fn remove(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
) -> Response {
    let who = (s, c);
    saved(lists::delete_list(&st.pool, &actor(&who), id).await)
}

pub(super) async fn reset(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
) -> Response {
    let who = (s, c);
    saved(lists::reset_list(&st.pool, &actor(&who), id).await)
}

#[derive(Deserialize)]
pub(super) struct LeadSearch {
    q: String,
    #[serde(default)]
    list: Option<i64>,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: Option<u32>,
}

pub(super) async fn search_leads(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Query(q): Query<LeadSearch>,
) -> Response {
    let who = (s, c);
    match crate::server::leads::search(
        &st.pool,
        &actor(&who),
        &q.q,
        q.list,
        &q.sort,
        q.page.unwrap_or(1),
    )
    .await
    {
        Ok(Ok(page)) => Json(page).into_response(),
        Ok(Err(message)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": message})),
        )
            .into_response(),
        Err(e) => error(e),
    }
}

pub(super) async fn lead(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
) -> Response {
    let who = (s, c);
    answer(crate::server::leads::detail(&st.pool, &actor(&who), id).await)
}
