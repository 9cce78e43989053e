//! Inbound groups and the numbers that ring them.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;

use super::{actor, answer, saved, JsonBody};
use crate::server::guard::ClientIp;
use crate::server::inbound;
use crate::server::session::Session;
use crate::server::AppState;

pub(super) async fn groups(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
) -> Response {
    let who = (s, c);
    answer(inbound::inbound_groups(&st.pool, &actor(&who)).await)
}

#[derive(Deserialize)]
pub(super) struct Named {
    name: String,
}

pub(super) async fn create_group(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    JsonBody(body): JsonBody<Named>,
) -> Response {
    let who = (s, c);
    saved(inbound::create_inbound_group(&st.pool, &actor(&who), &body.name).await)
}

pub(super) async fn dids(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
) -> Response {
    let who = (s, c);
    answer(inbound::dids(&st.pool, &actor(&who)).await)
}

#[derive(Deserialize)]
pub(super) struct NewDid {
    number: String,
    group_id: i64,
    #[serde(default)]
    description: String,
}

pub(super) async fn add_did(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    JsonBody(body): JsonBody<NewDid>,
) -> Response {
    let who = (s, c);
    saved(
        inbound::add_did(
            &st.pool,
            &actor(&who),
            &body.number,
            &body.description,
            Some(body.group_id),
        )
        .await,
    )
}

pub(super) async fn remove_did(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
) -> Response {
    let who = (s, c);
    saved(inbound::remove_did(&st.pool, &actor(&who), id).await)
}
