//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`.

use axum::response::{IntoResponse, Response};
use axum::Json;
use dialtone_core::vocabulary::{DialMethod, Role};
use serde_json::{json, Value};
use strum::VariantNames;

/// The OpenAPI 3.1 description of the routes above.
pub(super) async fn openapi() -> Response {
    let page = |name: &str| {
        json!({"type": "object", "properties": {
        "rows": {"type": "array", "items": {"$ref": format!("#/components/schemas/{name}")}},
        "total": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"}}})
    };
    let listing = json!([
        {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "filter"},
        {"name": "sort", "in": "query", "schema": {"type": "string"}, "description": "a column's key, `-` in front for descending; an unknown key keeps the default order"},
        {"name": "page", "in": "query", "schema": page_number()}
    ]);
    let id = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}]);
    let saved = json!({
        "200": {"description": "done", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Saved"}}}},
        "400": {"description": "a path parameter not of its type"},
        "401": {"description": "no valid token"},
        "403": {"description": "the token's user may not do this"},
        "404": {"description": "no such object, or not visible to this user"},
        "422": {"description": "invalid fields, named", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Invalid"}}}}
    });
    let ok = |schema: serde_json::Value| json!({"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}, "400": {"description": "a path or query parameter not of its type"}, "401": {"description": "no valid token"}, "403": {"description": "role not allowed"}});
    let body = |schema: serde_json::Value| json!({"required": true, "content": {"application/json": {"schema": schema}}});
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {"title": "Dialtone admin API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "The operations of the web admin, with the same roles. Send `Authorization: Bearer <token>`."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Saved": {"type": "object", "properties": {"id": {"type": "integer"}, "message": {"type": "string"}}},
                "Invalid": {"type": "object", "properties": {"error": {"type": "string"}, "fields": {"type": "object", "additionalProperties": {"type": "string"}}}},
                "Campaign": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "active": {"type": "boolean"}, "dial_method": {"type": "string"}, "lists": {"type": "integer"}, "agents_logged_in": {"type": "integer"}, "updated_at": {"type": "string"}}},
                "CampaignSettings": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "active": {"type": "boolean"}, "version": {"type": "string"}, "values": {"type": "array", "items": pair(), "description": "[setting, value as the form shows it]"}}},
                "List": {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "campaign": {"type": ["string", "null"]}, "active": {"type": "boolean"}, "default_country": {"type": "string"}, "leads": {"type": "integer"}}},
                "Lead": {"type": "object", "properties": {"id": {"type": "integer"}, "list_id": {"type": "integer"}, "list_name": {"type": "string"}, "phone": {"type": "string"}, "name": {"type": "string"}, "status": {"type": "string"}, "time_zone": {"type": "string"}, "attempts": {"type": "integer"}}},
                "Dnc": {"type": "object", "properties": {"id": {"type": "integer"}, "scope": {"type": "string"}, "value": {"type": "string"}, "source": {"type": "string"}, "note": {"type": "string"}, "added_at": {"type": "string"}}},
                "User": {"type": "object", "properties": {"id": {"type": "integer"}, "username": {"type": "string"}, "display_name": {"type": "string"}, "role": {"type": "string"}, "active": {"type": "boolean"}, "campaigns": {"type": "array", "items": {"type": "string"}}, "inbound_groups": {"type": "array", "items": {"type": "string"}}, "phone": {"type": ["string", "null"]}, "must_change_password": {"type": "boolean"}, "last_login_at": {"type": ["string", "null"]}}},
                "ApiToken": {"type": "object", "properties": {"id": {"type": "integer"}, "user_id": {"type": "integer"}, "username": {"type": "string"}, "name": {"type": "string"}, "created_at": {"type": "string"}, "expires_at": {"type": "string"}, "last_used_at": {"type": ["string", "null"]}, "state": {"enum": ["active", "expired", "revoked"]}}}
            }
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/me": {"get": {"summary": "The token's user", "responses": ok(json!({"type": "object"}))}},
            "/api/v1/campaigns": {
                "get": {"summary": "Campaigns visible to the user", "parameters": listing, "responses": ok(page("Campaign"))},
                "post": {"summary": "Create a campaign (admin)", "requestBody": body(json!({"type": "object", "required": ["name", "dial_method"], "properties": {"name": {"type": "string"}, "dial_method": {"enum": <DialMethod as VariantNames>::VARIANTS}}})), "responses": saved}
            },
            "/api/v1/campaigns/{id}": {
                "get": {"summary": "A campaign's settings", "parameters": id, "responses": found(ok(json!({"$ref": "#/components/schemas/CampaignSettings"})))},
                "put": {"summary": "Change settings (admin, or a supervisor for a campaign granted to them); refused with 422 when `version` is stale", "parameters": id,
                        "requestBody": body(json!({"type": "object", "required": ["version", "values"], "properties": {"version": {"type": "string"}, "values": {"type": "object"}}})), "responses": saved}
            },
            "/api/v1/campaigns/{id}/active": {"post": {"summary": "Activate or deactivate (admin, or a supervisor for their own)", "parameters": id, "requestBody": body(json!({"type": "object", "required": ["active"], "properties": {"active": {"type": "boolean"}}})), "responses": saved}},
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
                {"name": "sort", "in": "query", "schema": {"type": "string"}, "description": "`id`, `phone`, `name`, `list`, `status`, `zone` or `attempts`, `-` in front for descending; lead id by default and for an unknown key; other orders sort the first 10,000 matches"},
                {"name": "page", "in": "query", "schema": page_number()}], "responses": refused(ok(page("Lead")), "a query that cannot find leads (a name without a list), with what to type instead")}},
            "/api/v1/leads/{id}": {"get": {"summary": "A lead with its calls and recordings", "parameters": id, "responses": found(ok(json!({"type": "object"})))}},
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
                "post": {"summary": "Create an account with a generated first password, in the message (admin)", "requestBody": body(json!({"type": "object", "required": ["username", "role"], "properties": {"username": {"type": "string"}, "display_name": {"type": "string"}, "role": {"enum": <Role as VariantNames>::VARIANTS}}})), "responses": saved}
            },
            "/api/v1/users/{id}": {"patch": {"summary": "Role, active flag, campaign and inbound-group access (admin)", "parameters": id,
                "requestBody": body(json!({"type": "object", "required": ["role", "active"], "properties": {"role": {"type": "string"}, "active": {"type": "boolean"}, "phone": {"type": ["string", "null"], "description": "the phone agents log in with and supervisors listen with: a PJSIP, SIP or IAX2 endpoint such as PJSIP/1001, or Local/extension@context; absent keeps it, empty clears it"}, "campaign_ids": {"type": "array", "items": {"type": "integer"}}, "inbound_group_ids": {"type": "array", "items": {"type": "integer"}}}})), "responses": saved}},
            "/api/v1/tokens": {"get": {"summary": "API tokens, with whether each is active, expired or revoked (admin)", "responses": ok(json!({"type": "array", "items": {"$ref": "#/components/schemas/ApiToken"}}))}},
            "/api/v1/tokens/{id}": {"delete": {"summary": "Revoke an API token at once (admin)", "parameters": id, "responses": saved}}
        }
    });
    reference_paths(&mut doc, &ok, &body, &saved, &id);
    upload_paths(&mut doc, &ok, &body);
    Json(doc).into_response()
}

type Schema = dyn Fn(Value) -> Value;

/// Campaign codes, statuses, pause codes, call times, holidays and calling rules.
fn reference_paths(doc: &mut Value, ok: &Schema, body: &Schema, saved: &Value, id: &Value) {
    let code =
        json!([{"name": "code", "in": "path", "required": true, "schema": {"type": "string"}}]);
    let array = |items: Value| json!({"type": "array", "items": items});
    let window = json!({"type": "object", "required": ["weekday", "opens", "closes"], "properties": {
        "weekday": {"type": "integer", "minimum": 1, "maximum": 7, "description": "1 is Monday"},
        "opens": {"type": "string", "example": "09:00"}, "closes": {"type": "string", "example": "21:00"}}});
    let paths = [
        (
            "/api/v1/campaigns/{id}/codes",
            json!({
                "get": {"summary": "The dispositions and pause codes a campaign offers its agents, with hotkeys (staff, their campaigns)", "parameters": id,
                        "responses": found(ok(json!({"type": "object", "properties": {
                            "dispositions": array(json!({"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"}, "offered": {"type": "boolean"}, "hotkey": {"type": ["integer", "null"]}}})),
                            "pause_codes": array(json!({"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"}, "offered": {"type": "boolean"}}}))}})))},
                "put": {"summary": "Replace what the campaign offers (admin, or a supervisor for their own); 422 names a bad `hotkey:CODE`", "parameters": id,
                        "requestBody": body(json!({"type": "object", "required": ["dispositions"], "properties": {
                            "dispositions": array(json!({"type": "object", "required": ["code"], "properties": {"code": {"type": "string"}, "hotkey": {"type": ["integer", "null"], "minimum": 1, "maximum": 9}}})),
                            "pause_codes": array(json!({"type": "string"}))}})), "responses": saved}
            }),
        ),
        (
            "/api/v1/statuses",
            json!({
                "get": {"summary": "Statuses (dispositions) with their flags (admin)", "responses": ok(array(json!({"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"}, "category": {"type": "string"}, "system": {"type": "boolean"}, "flags": array(json!({"type": "string"}))}})))},
                "post": {"summary": "Create a status, or replace the one with that code (admin; the dialer's own are refused)",
                         "requestBody": body(json!({"type": "object", "required": ["code", "name", "category"], "properties": {"code": {"type": "string", "pattern": "^[A-Z0-9_]{1,12}$"}, "name": {"type": "string"}, "category": {"type": "string"}, "flags": array(json!({"type": "string"}))}})), "responses": saved}
            }),
        ),
        (
            "/api/v1/statuses/{code}",
            json!({
                "put": {"summary": "Change a status's name, category or flags; what is not sent (or null) is kept (admin)", "parameters": code,
                        "requestBody": body(json!({"type": "object", "properties": {"name": {"type": ["string", "null"]}, "category": {"type": ["string", "null"]}, "flags": {"type": ["array", "null"], "items": {"type": "string"}}}})), "responses": saved}
            }),
        ),
        (
            "/api/v1/pause-codes",
            json!({
                "get": {"summary": "Pause codes (admin)", "responses": ok(array(json!({"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": "string"}, "billable": {"type": "boolean"}, "system": {"type": "boolean"}}})))},
                "post": {"summary": "Create a pause code, or replace the one with that code (admin)",
                         "requestBody": body(json!({"type": "object", "required": ["code", "name"], "properties": {"code": {"type": "string"}, "name": {"type": "string"}, "billable": {"type": "boolean"}}})), "responses": saved}
            }),
        ),
        (
            "/api/v1/pause-codes/{code}",
            json!({
                "put": {"summary": "Change a pause code's name or billable flag; what is not sent (or null) is kept (admin)", "parameters": code,
                        "requestBody": body(json!({"type": "object", "properties": {"name": {"type": ["string", "null"]}, "billable": {"type": ["boolean", "null"]}}})), "responses": saved}
            }),
        ),
        (
            "/api/v1/call-times",
            json!({
                "get": {"summary": "Call times with their weekly windows `[weekday, opens, closes]` (admin)", "responses": ok(array(json!({"type": "object"})))},
                "post": {"summary": "Create a call time, or replace the week of the one with that name (admin); days not listed are closed",
                         "requestBody": body(json!({"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "description": {"type": "string"}, "windows": array(window.clone())}})), "responses": saved}
            }),
        ),
        (
            "/api/v1/call-times/{id}",
            json!({
                "put": {"summary": "Replace a call time's week (and description, when sent) (admin)", "parameters": id,
                        "requestBody": body(json!({"type": "object", "required": ["windows"], "properties": {"description": {"type": ["string", "null"], "description": "absent or null keeps it"}, "windows": array(window)}})), "responses": saved}
            }),
        ),
        (
            "/api/v1/holidays",
            json!({
                "get": {"summary": "Holidays from a month ago on (admin)", "responses": ok(array(json!({"type": "object"})))},
                "post": {"summary": "No calls that day, or only the hours of `call_time_id` (admin)",
                         "requestBody": body(json!({"type": "object", "required": ["name", "day"], "properties": {"name": {"type": "string"}, "day": {"type": "string", "format": "date"}, "state": {"type": "string"}, "call_time_id": {"type": ["integer", "null"]}}})), "responses": saved}
            }),
        ),
        (
            "/api/v1/holidays/{id}",
            json!({"delete": {"summary": "Remove a holiday (admin)", "parameters": id, "responses": saved}}),
        ),
        (
            "/api/v1/calling-rules",
            json!({
                "get": {"summary": "Legal calling windows per country and state (admin)", "responses": ok(array(json!({"type": "object"})))},
                "post": {"summary": "Set the window of a country (no state) or a state, replacing the one there (admin)",
                         "requestBody": body(json!({"type": "object", "required": ["opens", "closes"], "properties": {"country": {"type": "string", "default": "US"}, "state": {"type": "string"}, "opens": {"type": "string"}, "closes": {"type": "string"}, "max_attempts_24h": {"type": ["integer", "null"], "minimum": 1}, "citation": {"type": "string"}}})), "responses": saved}
            }),
        ),
    ];
    for (path, item) in paths {
        doc["paths"][path] = item;
    }
}

/// Lead files: upload, start, follow.
fn upload_paths(doc: &mut Value, ok: &Schema, body: &Schema) {
    let upload_id =
        json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}]);
    let upload = json!({"type": "object", "properties": {
        "upload_id": {"type": "string"}, "list_id": {"type": "integer"}, "list_name": {"type": "string"}, "file_name": {"type": "string"},
        "total_lines": {"type": "integer"},
        "columns": {"type": "array", "items": pair(), "description": "[header, field it maps to]"},
        "sample": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}},
        "state": {"description": "\"Mapping\", {\"Importing\": {lines_done, inserted, rejected}}, {\"Done\": {inserted, updated, duplicate, dnc, rejected, has_report}} or {\"Failed\": {error, lines_done}}"}}});
    let invalid = json!({"description": "invalid, named in `fields`", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Invalid"}}}});
    doc["components"]["schemas"]["Upload"] = upload;
    let upload_ref = json!({"$ref": "#/components/schemas/Upload"});
    doc["paths"]["/api/v1/lists/{id}/upload"] = json!({"post": {
        "summary": "Upload a lead file into the list (admin): the CSV as the body (`?name=` its file name) or a multipart form with a `file` field. Nothing is imported until started.",
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}, {"name": "name", "in": "query", "schema": {"type": "string"}}],
        "requestBody": {"required": true, "content": {"text/csv": {"schema": {"type": "string"}}, "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}}},
        "responses": {"201": {"description": "stored and read", "content": {"application/json": {"schema": upload_ref.clone()}}}, "400": {"description": "a path or query parameter not of its type"}, "401": {"description": "no valid token"}, "403": {"description": "not an admin"}, "404": {"description": "no such list"}, "422": invalid.clone()}}});
    doc["paths"]["/api/v1/uploads/{id}/start"] = json!({"post": {
        "summary": "Start the import (admin); `mapping` overrides the recognised field of a header",
        "parameters": upload_id.clone(),
        "requestBody": body(json!({"type": "object", "properties": {"mapping": {"type": "object", "additionalProperties": {"type": "string"}}, "duplicates": {"enum": ["skip", "update", null]}}})),
        "responses": {"202": {"description": "started", "content": {"application/json": {"schema": upload_ref.clone()}}}, "400": {"description": "a NUL in the address"}, "401": {"description": "no valid token"}, "403": {"description": "not an admin"}, "404": {"description": "no such upload"}, "409": {"description": "already started"}, "422": invalid}}});
    doc["paths"]["/api/v1/uploads/{id}"] = json!({"get": {
        "summary": "The upload and its progress or result (admin)", "parameters": upload_id, "responses": found(ok(upload_ref))}});
}

/// A `[text, text]` pair. Written with `items` rather than 3.1's `prefixItems`, which
/// schemathesis 4 turns into an `items` array that its own schema check then rejects.
fn pair() -> Value {
    json!({"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2})
}

/// A page number as the server reads it (an unsigned 32-bit integer): pages count from 1, and
/// 0 is the first page too.
fn page_number() -> Value {
    json!({"type": "integer", "minimum": 0, "maximum": u32::MAX, "description": "from 1; 0 is the first page too"})
}

/// `responses` with the 404 of a call that names an object.
fn found(mut responses: Value) -> Value {
    responses["404"] = json!({"description": "no such object, or not visible to this user"});
    responses
}

/// `responses` with a 422 that says, in `error`, why the input was refused.
fn refused(mut responses: Value, description: &str) -> Value {
    responses["422"] = json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Invalid"}}}});
    responses
}
