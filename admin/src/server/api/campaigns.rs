//! Campaigns: the table, one campaign's settings, creating, activating, and what it offers
//! agents (dispositions with hotkeys, pause codes).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;

use super::{actor, answer, error, saved, JsonBody, Listing};
use crate::server::guard::ClientIp;
use crate::server::session::Session;
use crate::server::AppState;
use crate::server::{campaigns, dispositions};

pub(super) async fn list(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Query(l): Query<Listing>,
) -> Response {
    let who = (s, c);
    answer(campaigns::campaigns(&st.pool, &actor(&who), &l.q, &l.sort, l.page.unwrap_or(1)).await)
}

pub(super) async fn get_one(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
) -> Response {
    let who = (s, c);
    answer(campaigns::campaign(&st.pool, &actor(&who), id).await)
}

#[derive(Deserialize)]
pub(super) struct CampaignUpdate {
    version: String,
    values: HashMap<String, serde_json::Value>,
}

pub(super) async fn save(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<CampaignUpdate>,
) -> Response {
    let who = (s, c);
    let actor = actor(&who);
    // A campaign that is not theirs is refused as the save itself would refuse it (403).
    if let Err(e) = crate::server::actor::manage_campaign(&st.pool, &actor, id).await {
        return error(e);
    }
    // Settings not sent keep their value: start from the stored row.
    let current = match campaigns::campaign(&st.pool, &actor, id).await {
        Ok(form) => form,
        Err(e) => return error(e),
    };
    let mut values: HashMap<String, String> = current.values.into_iter().collect();
    for (key, value) in body.values {
        values.insert(key, super::form_text(Some(value)));
    }
    saved(campaigns::save_campaign(&st.pool, &actor, id, &body.version, &values).await)
}

#[derive(Deserialize)]
pub(super) struct NewCampaign {
    name: String,
    dial_method: String,
}

pub(super) async fn create(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    JsonBody(body): JsonBody<NewCampaign>,
) -> Response {
    let who = (s, c);
    saved(campaigns::create_campaign(&st.pool, &actor(&who), &body.name, &body.dial_method).await)
}

#[derive(Deserialize)]
pub(super) struct Active {
    active: bool,
}

pub(super) async fn set_active(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<Active>,
) -> Response {
    let who = (s, c);
    saved(campaigns::set_campaign_active(&st.pool, &actor(&who), id, body.active).await)
}

/// What the campaign offers, as objects rather than the page's tuples.
pub(super) async fn codes(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
) -> Response {
    let who = (s, c);
    match dispositions::campaign_codes(&st.pool, &actor(&who), id).await {
        Ok(codes) => Json(json!({
            "dispositions": codes.dispositions.into_iter().map(|(code, name, offered, hotkey)| json!({"code": code, "name": name, "offered": offered, "hotkey": hotkey})).collect::<Vec<_>>(),
            "pause_codes": codes.pause_codes.into_iter().map(|(code, name, offered)| json!({"code": code, "name": name, "offered": offered})).collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(e) => error(e),
    }
}

#[derive(Deserialize)]
pub(super) struct Offered {
    code: String,
    /// 1 to 9, or null; the operation checks it and names the field.
    #[serde(default)]
    hotkey: Option<serde_json::Value>,
}

#[derive(Deserialize)]
pub(super) struct CodesUpdate {
    dispositions: Vec<Offered>,
    #[serde(default)]
    pause_codes: Vec<String>,
}

/// Replaces what the campaign offers; the body lists every offered code.
pub(super) async fn set_codes(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<CodesUpdate>,
) -> Response {
    let who = (s, c);
    // The page's form, as the operation reads it.
    let mut offer = HashMap::new();
    for d in body.dispositions {
        let hotkey = super::form_text(d.hotkey);
        offer.insert(format!("hotkey:{}", d.code), hotkey);
        offer.insert(format!("disposition:{}", d.code), "on".to_string());
    }
    for p in body.pause_codes {
        offer.insert(format!("pause:{p}"), "on".to_string());
    }
    saved(dispositions::set_campaign_codes(&st.pool, &actor(&who), id, &offer).await)
}
