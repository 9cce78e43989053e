//! Accounts and their access.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;

use super::{actor, answer, saved, JsonBody, Listing};
use crate::server::guard::ClientIp;
use crate::server::session::Session;
use crate::server::users;
use crate::server::AppState;

pub(super) async fn list(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Query(l): Query<Listing>,
) -> Response {
    let who = (s, c);
    answer(users::users(&st.pool, &actor(&who), &l.q, &l.sort, l.page.unwrap_or(1)).await)
}

#[derive(Deserialize)]
pub(super) struct NewUser {
    username: String,
    #[serde(default)]
    display_name: String,
    role: String,
}

pub(super) async fn create(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    JsonBody(body): JsonBody<NewUser>,
) -> Response {
    let who = (s, c);
    saved(
        users::create_user(
            &st.pool,
            &actor(&who),
            &body.username,
            &body.display_name,
            &body.role,
        )
        .await,
    )
}

#[derive(Deserialize)]
pub(super) struct UserChange {
    role: String,
    active: bool,
    /// The agent's or supervisor's phone (`PJSIP/1001`); absent keeps it, empty clears it.
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    campaign_ids: Vec<i64>,
    #[serde(default)]
    inbound_group_ids: Vec<i64>,
}

pub(super) async fn update(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<UserChange>,
) -> Response {
    let who = (s, c);
    saved(
        users::update_user(
            &st.pool,
            &actor(&who),
            id,
            &body.role,
            body.active,
            body.phone.as_deref(),
            &body.campaign_ids,
            &body.inbound_group_ids,
        )
        .await,
    )
}

pub(super) async fn tokens(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
) -> Response {
    let who = (s, c);
    answer(users::api_tokens(&st.pool, &actor(&who)).await)
}

pub(super) async fn revoke_token(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
) -> Response {
    let who = (s, c);
    saved(users::revoke_token(&st.pool, &actor(&who), id).await)
}
