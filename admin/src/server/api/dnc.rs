//! Do-not-call entries.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;

use super::{actor, answer, saved, JsonBody, Listing};
use crate::server::dnc;
use crate::server::guard::ClientIp;
use crate::server::session::Session;
use crate::server::AppState;

pub(super) async fn search(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Query(l): Query<Listing>,
) -> Response {
    let who = (s, c);
    answer(dnc::dnc_search(&st.pool, &actor(&who), &l.q, &l.sort, l.page.unwrap_or(1)).await)
}

#[derive(Deserialize)]
pub(super) struct NewDnc {
    number: String,
    #[serde(default = "super::us")]
    country: String,
    #[serde(default)]
    campaign_id: Option<i64>,
    #[serde(default)]
    note: String,
}

pub(super) async fn add(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    JsonBody(body): JsonBody<NewDnc>,
) -> Response {
    let who = (s, c);
    saved(
        dnc::dnc_add(
            &st.pool,
            &actor(&who),
            &body.number,
            &body.country,
            body.campaign_id,
            &body.note,
        )
        .await,
    )
}

pub(super) async fn remove(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
) -> Response {
    let who = (s, c);
    saved(dnc::dnc_remove(&st.pool, &actor(&who), id).await)
}
