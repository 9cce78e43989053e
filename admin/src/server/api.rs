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
        .route("/api/v1/lists", get(lists).post(create_list))
        .route(
            "/api/v1/lists/{id}",
            axum::routing::patch(update_list).delete(delete_list),
        )
        .route("/api/v1/lists/{id}/reset", post(reset_list))
        .route("/api/v1/leads", get(search_leads))
        .route("/api/v1/leads/{id}", get(lead))
        .route(
            "/api/v1/inbound-groups",
            get(inbound_groups).post(create_inbound_group),
        )
        .route("/api/v1/dids", get(dids).post(add_did))
        .route("/api/v1/dids/{id}", delete(remove_did))
        .route("/api/v1/dnc", get(dnc_search).post(dnc_add))
        .route("/api/v1/dnc/{id}", delete(dnc_remove))
        .route("/api/v1/users", get(users).post(create_user))
        .route("/api/v1/users/{id}", axum::routing::patch(update_user))
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
    answer(ops::lists(&st.pool, &actor(&who), &l.q, &l.sort, l.page.unwrap_or(1)).await)
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
    answer(ops::users(&st.pool, &actor(&who), &l.q, &l.sort, l.page.unwrap_or(1)).await)
}

#[derive(Deserialize)]
struct NewList {
    name: String,
    #[serde(default)]
    campaign_id: Option<i64>,
    #[serde(default = "us")]
    country: String,
}

async fn create_list(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Json(body): Json<NewList>,
) -> Response {
    let who = (s, c);
    saved(
        ops::create_list(
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
struct ListChange {
    campaign_id: Option<i64>,
    active: bool,
}

async fn update_list(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
    Json(body): Json<ListChange>,
) -> Response {
    let who = (s, c);
    saved(ops::update_list(&st.pool, &actor(&who), id, body.campaign_id, body.active).await)
}

async fn delete_list(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
) -> Response {
    let who = (s, c);
    saved(ops::delete_list(&st.pool, &actor(&who), id).await)
}

async fn reset_list(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
) -> Response {
    let who = (s, c);
    saved(ops::reset_list(&st.pool, &actor(&who), id).await)
}

#[derive(Deserialize)]
struct LeadSearch {
    q: String,
    #[serde(default)]
    list: Option<i64>,
    #[serde(default)]
    page: Option<u32>,
}

async fn search_leads(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Query(q): Query<LeadSearch>,
) -> Response {
    let who = (s, c);
    match super::leads::search(&st.pool, &actor(&who), &q.q, q.list, q.page.unwrap_or(1)).await {
        Ok(Ok(page)) => Json(page).into_response(),
        Ok(Err(message)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": message})),
        )
            .into_response(),
        Err(e) => error(e),
    }
}

async fn lead(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
) -> Response {
    let who = (s, c);
    answer(super::leads::detail(&st.pool, &actor(&who), id).await)
}

async fn inbound_groups(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
) -> Response {
    let who = (s, c);
    answer(ops::inbound_groups(&st.pool, &actor(&who)).await)
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

async fn create_inbound_group(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Json(body): Json<Named>,
) -> Response {
    let who = (s, c);
    saved(ops::create_inbound_group(&st.pool, &actor(&who), &body.name).await)
}

async fn dids(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
) -> Response {
    let who = (s, c);
    answer(ops::dids(&st.pool, &actor(&who)).await)
}

#[derive(Deserialize)]
struct NewDid {
    number: String,
    group_id: i64,
    #[serde(default)]
    description: String,
}

async fn add_did(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Json(body): Json<NewDid>,
) -> Response {
    let who = (s, c);
    saved(
        ops::add_did(
            &st.pool,
            &actor(&who),
            &body.number,
            &body.description,
            Some(body.group_id),
        )
        .await,
    )
}

async fn remove_did(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
) -> Response {
    let who = (s, c);
    saved(ops::remove_did(&st.pool, &actor(&who), id).await)
}

#[derive(Deserialize)]
struct NewUser {
    username: String,
    #[serde(default)]
    display_name: String,
    role: String,
}

async fn create_user(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Json(body): Json<NewUser>,
) -> Response {
    let who = (s, c);
    saved(
        ops::create_user(
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
struct UserChange {
    role: String,
    active: bool,
    #[serde(default)]
    campaign_ids: Vec<i64>,
    #[serde(default)]
    inbound_group_ids: Vec<i64>,
}

async fn update_user(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<i64>,
    Json(body): Json<UserChange>,
) -> Response {
    let who = (s, c);
    saved(
        ops::update_user(
            &st.pool,
            &actor(&who),
            id,
            &body.role,
            body.active,
            &body.campaign_ids,
            &body.inbound_group_ids,
        )
        .await,
    )
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
                "Lead": {"type": "object", "properties": {"id": {"type": "integer"}, "list_id": {"type": "integer"}, "list_name": {"type": "string"}, "phone": {"type": "string"}, "name": {"type": "string"}, "status": {"type": "string"}, "time_zone": {"type": "string"}, "attempts": {"type": "integer"}}},
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
            "/api/v1/lists": {
                "get": {"summary": "Lead lists visible to the user", "parameters": listing, "responses": ok(page("List"))},
                "post": {"summary": "Create a list (admin)", "requestBody": body(json!({"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "campaign_id": {"type": ["integer", "null"]}, "country": {"type": "string"}}})), "responses": saved}
            },
            "/api/v1/lists/{id}": {
                "patch": {"summary": "Move a list to a campaign, turn it on or off (admin)", "parameters": id, "requestBody": body(json!({"type": "object", "required": ["active"], "properties": {"campaign_id": {"type": ["integer", "null"]}, "active": {"type": "boolean"}}})), "responses": saved},
                "delete": {"summary": "Delete a list and its leads (admin)", "parameters": id, "responses": saved}
            },
            "/api/v1/lists/{id}/reset": {"post": {"summary": "Dial the list's unfinished leads again (admin)", "parameters": id, "responses": saved}},
            "/api/v1/leads": {"get": {"summary": "Find leads by number, #id, or name within a list", "parameters": [
                {"name": "q", "in": "query", "required": true, "schema": {"type": "string"}},
                {"name": "list", "in": "query", "schema": {"type": "integer"}},
                {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}}], "responses": ok(page("Lead"))}},
            "/api/v1/leads/{id}": {"get": {"summary": "A lead with its calls and recordings", "parameters": id, "responses": ok(json!({"type": "object"}))}},
            "/api/v1/inbound-groups": {
                "get": {"summary": "Inbound groups (admin)", "responses": ok(json!({"type": "array", "items": {"type": "object"}}))},
                "post": {"summary": "Create a group (admin)", "requestBody": body(json!({"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}})), "responses": saved}
            },
            "/api/v1/dids": {
                "get": {"summary": "Numbers and the group each rings (admin)", "responses": ok(json!({"type": "array", "items": {"type": "object"}}))},
                "post": {"summary": "Route a number to a group (admin)", "requestBody": body(json!({"type": "object", "required": ["number", "group_id"], "properties": {"number": {"type": "string"}, "group_id": {"type": "integer"}, "description": {"type": "string"}}})), "responses": saved}
            },
            "/api/v1/dids/{id}": {"delete": {"summary": "Remove a number (admin)", "parameters": id, "responses": saved}},
            "/api/v1/dnc": {
                "get": {"summary": "Search do-not-call entries by leading digits (admin)", "parameters": listing, "responses": ok(page("Dnc"))},
                "post": {"summary": "Add a number, or `area:1201` (admin)", "requestBody": body(json!({"type": "object", "required": ["number"], "properties": {"number": {"type": "string"}, "country": {"type": "string"}, "campaign_id": {"type": ["integer", "null"]}, "note": {"type": "string"}}})), "responses": saved}
            },
            "/api/v1/dnc/{id}": {"delete": {"summary": "Remove an entry (admin)", "parameters": id, "responses": saved}},
            "/api/v1/users": {
                "get": {"summary": "Accounts (admin)", "parameters": listing, "responses": ok(page("User"))},
                "post": {"summary": "Create an account with a generated first password, in the message (admin)", "requestBody": body(json!({"type": "object", "required": ["username", "role"], "properties": {"username": {"type": "string"}, "display_name": {"type": "string"}, "role": {"enum": ["admin", "supervisor", "agent"]}}})), "responses": saved}
            },
            "/api/v1/users/{id}": {"patch": {"summary": "Role, active flag, campaign and inbound-group access (admin)", "parameters": id,
                "requestBody": body(json!({"type": "object", "required": ["role", "active"], "properties": {"role": {"type": "string"}, "active": {"type": "boolean"}, "campaign_ids": {"type": "array", "items": {"type": "integer"}}, "inbound_group_ids": {"type": "array", "items": {"type": "integer"}}}})), "responses": saved}}
        }
    });
    Json(doc).into_response()
}
