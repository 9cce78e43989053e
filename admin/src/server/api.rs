//! The JSON API for integrations: the same operations as the pages (`ops`), the same roles,
//! reached with `Authorization: Bearer <token>` (tokens are issued on the Users page).
//! `/api/v1/openapi.json` describes it.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::guard::ClientIp;
use super::ops::{self, Actor, OpError};
use super::session::Session;
use super::AppState;
use crate::model::Saved;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/me", get(me))
        .route("/api/v1/campaigns", get(campaigns).post(create_campaign))
        .route("/api/v1/campaigns/{id}", get(campaign).put(save_campaign))
        .route("/api/v1/campaigns/{id}/active", post(set_active))
        .route("/api/v1/lists", get(lists))
        .route("/api/v1/dnc", get(dnc_search).post(dnc_add))
        .route("/api/v1/dnc/{id}", delete(dnc_remove))
        .route("/api/v1/users", get(users))
}

fn error(e: OpError) -> Response {
    match e {
        OpError::Forbidden => (
            StatusCode::FORBIDDEN,
            Json(json!({"error": "your role may not do this"})),
        )
            .into_response(),
        OpError::NotFound => {
            (StatusCode::NOT_FOUND, Json(json!({"error": "not found"}))).into_response()
        }
        OpError::Db(e) => {
            tracing::error!(error = %e, "API: database");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "the database did not answer; try again"})),
            )
                .into_response()
        }
    }
}

fn answer<T: serde::Serialize>(result: Result<T, OpError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(e) => error(e),
    }
}

fn saved(result: Result<Saved, OpError>) -> Response {
    match result {
        Ok(Saved::Ok { id, message }) => {
            Json(json!({"id": id, "message": message})).into_response()
        }
        Ok(Saved::Invalid { fields, form }) => {
            let fields: HashMap<String, String> = fields.into_iter().collect();
            (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"error": form.unwrap_or_else(|| "invalid fields".into()), "fields": fields}))).into_response()
        }
        Err(e) => error(e),
    }
}

#[derive(Deserialize, Default)]
struct Listing {
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: Option<u32>,
}

type Who = (Extension<Session>, Extension<ClientIp>);

fn actor(who: &Who) -> Actor<'_> {
    Actor {
        viewer: &who.0 .0.viewer,
        ip: who.1 .0 .0,
    }
}

async fn me(Extension(s): Extension<Session>) -> Response {
    Json(s.viewer).into_response()
}

async fn campaigns(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Query(l): Query<Listing>,
) -> Response {
    let who = (s, c);
    answer(ops::campaigns(&st.pool, &actor(&who), &l.q, &l.sort, l.page.unwrap_or(1)).await)
}

async fn campaign(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
) -> Response {
    let who = (s, c);
    answer(ops::campaign(&st.pool, &actor(&who), id).await)
}

#[derive(Deserialize)]
struct CampaignUpdate {
    version: String,
    values: HashMap<String, serde_json::Value>,
}

async fn save_campaign(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
    Json(body): Json<CampaignUpdate>,
) -> Response {
    let who = (s, c);
    let actor = actor(&who);
    // Settings not sent keep their value: start from the stored row.
    let current = match ops::campaign(&st.pool, &actor, id).await {
        Ok(form) => form,
        Err(e) => return error(e),
    };
    let mut values: HashMap<String, String> = current.values.into_iter().collect();
    for (key, value) in body.values {
        let text = match value {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        values.insert(key, text);
    }
    saved(ops::save_campaign(&st.pool, &actor, id, &body.version, &values).await)
}

#[derive(Deserialize)]
struct NewCampaign {
    name: String,
    dial_method: String,
}

async fn create_campaign(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Json(body): Json<NewCampaign>,
) -> Response {
    let who = (s, c);
    saved(ops::create_campaign(&st.pool, &actor(&who), &body.name, &body.dial_method).await)
}

#[derive(Deserialize)]
struct Active {
    active: bool,
}

async fn set_active(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
    Json(body): Json<Active>,
) -> Response {
    let who = (s, c);
    saved(ops::set_campaign_active(&st.pool, &actor(&who), id, body.active).await)
}

async fn lists(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Query(l): Query<Listing>,
) -> Response {
    let who = (s, c);
    answer(ops::lists(&st.pool, &actor(&who), &l.q, l.page.unwrap_or(1)).await)
}

async fn dnc_search(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Query(l): Query<Listing>,
) -> Response {
    let who = (s, c);
    answer(ops::dnc_search(&st.pool, &actor(&who), &l.q, l.page.unwrap_or(1)).await)
}

#[derive(Deserialize)]
struct NewDnc {
    number: String,
    #[serde(default = "us")]
    country: String,
    #[serde(default)]
    campaign_id: Option<i64>,
    #[serde(default)]
    note: String,
}

fn us() -> String {
    "US".into()
}

async fn dnc_add(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Json(body): Json<NewDnc>,
) -> Response {
    let who = (s, c);
    saved(
        ops::dnc_add(
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

async fn dnc_remove(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
) -> Response {
    let who = (s, c);
    saved(ops::dnc_remove(&st.pool, &actor(&who), id).await)
}

async fn users(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Query(l): Query<Listing>,
) -> Response {
    let who = (s, c);
    answer(ops::users(&st.pool, &actor(&who), &l.q, l.page.unwrap_or(1)).await)
}

/// The OpenAPI 3.1 description of the routes above.
async fn openapi() -> Response {
    let page = |name: &str| {
        json!({"type": "object", "properties": {
        "rows": {"type": "array", "items": {"$ref": format!("#/components/schemas/{name}")}},
        "total": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"}}})
    };
    let listing = json!([
        {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "filter"},
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}}
    ]);
    let id = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}]);
    let saved = json!({
        "200": {"description": "done", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Saved"}}}},
        "403": {"description": "the token's user may not do this"},
        "404": {"description": "no such object, or not visible to this user"},
        "422": {"description": "invalid fields, named", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Invalid"}}}}
    });
    let ok = |schema: serde_json::Value| json!({"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}, "401": {"description": "no valid token"}, "403": {"description": "role not allowed"}});
    let body = |schema: serde_json::Value| json!({"required": true, "content": {"application/json": {"schema": schema}}});
    let doc = json!({
        "openapi": "3.1.0",
        "info": {"title": "Dialtone admin API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "The operations of the web admin, with the same roles. Send `Authorization: Bearer <token>`."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Saved": {"type": "object", "properties": {"id": {"type": "integer"}, "message": {"type": "string"}}},
                "Invalid": {"type": "object", "properties": {"error": {"type": "string"}, "fields": {"type": "object", "additionalProperties": {"type": "string"}}}},
                "Campaign": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "active": {"type": "boolean"}, "dial_method": {"type": "string"}, "lists": {"type": "integer"}, "agents_logged_in": {"type": "integer"}, "updated_at": {"type": "string"}}},
                "CampaignSettings": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "active": {"type": "boolean"}, "version": {"type": "string"}, "values": {"type": "array", "items": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "string"}]}}}},
                "List": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "campaign": {"type": ["string", "null"]}, "active": {"type": "boolean"}, "default_country": {"type": "string"}, "leads": {"type": "integer"}}},
                "Dnc": {"type": "object", "properties": {"id": {"type": "integer"}, "scope": {"type": "string"}, "value": {"type": "string"}, "source": {"type": "string"}, "note": {"type": "string"}, "added_at": {"type": "string"}}},
                "User": {"type": "object", "properties": {"id": {"type": "integer"}, "username": {"type": "string"}, "display_name": {"type": "string"}, "role": {"type": "string"}, "active": {"type": "boolean"}, "campaigns": {"type": "array", "items": {"type": "string"}}}}
            }
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/me": {"get": {"summary": "The token's user", "responses": ok(json!({"type": "object"}))}},
            "/api/v1/campaigns": {
                "get": {"summary": "Campaigns visible to the user", "parameters": listing, "responses": ok(page("Campaign"))},
                "post": {"summary": "Create a campaign (admin)", "requestBody": body(json!({"type": "object", "required": ["name", "dial_method"], "properties": {"name": {"type": "string"}, "dial_method": {"enum": ["manual", "preview", "progressive", "ratio", "predictive"]}}})), "responses": saved}
            },
            "/api/v1/campaigns/{id}": {
                "get": {"summary": "A campaign's settings", "parameters": id, "responses": ok(json!({"$ref": "#/components/schemas/CampaignSettings"}))},
                "put": {"summary": "Change settings (admin); refused with 422 when `version` is stale", "parameters": id,
                        "requestBody": body(json!({"type": "object", "required": ["version", "values"], "properties": {"version": {"type": "string"}, "values": {"type": "object"}}})), "responses": saved}
            },
            "/api/v1/campaigns/{id}/active": {"post": {"summary": "Activate or deactivate (admin)", "parameters": id, "requestBody": body(json!({"type": "object", "required": ["active"], "properties": {"active": {"type": "boolean"}}})), "responses": saved}},
            "/api/v1/lists": {"get": {"summary": "Lead lists visible to the user", "parameters": listing, "responses": ok(page("List"))}},
            "/api/v1/dnc": {
                "get": {"summary": "Search do-not-call entries by leading digits (admin)", "parameters": listing, "responses": ok(page("Dnc"))},
                "post": {"summary": "Add a number, or `area:1201` (admin)", "requestBody": body(json!({"type": "object", "required": ["number"], "properties": {"number": {"type": "string"}, "country": {"type": "string"}, "campaign_id": {"type": ["integer", "null"]}, "note": {"type": "string"}}})), "responses": saved}
            },
            "/api/v1/dnc/{id}": {"delete": {"summary": "Remove an entry (admin)", "parameters": id, "responses": saved}},
            "/api/v1/users": {"get": {"summary": "Accounts (admin)", "parameters": listing, "responses": ok(page("User"))}}
        }
    });
    Json(doc).into_response()
}
