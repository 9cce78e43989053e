//! Lead files into a list: the same steps as the list page (`server::uploads`), as calls.
//! Upload the CSV (the raw body, or a multipart form with a `file` field), start the import
//! with the mapping wanted, then read the upload until its state is `Done` or `Failed`.

use std::collections::HashMap;

use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use dialtone_core::import::Duplicates;
use serde::Deserialize;
use serde_json::json;

use super::{actor, answer, error, invalid, JsonBody};
use crate::server::guard::ClientIp;
use crate::server::session::Session;
use crate::server::uploads::{self, Refused, Source};
use crate::server::AppState;

fn refused(e: Refused) -> Response {
    match e {
        Refused::Op(e) => error(e),
        Refused::File(e) => invalid("file", &e.to_string()),
        Refused::Mapping(message) => invalid("mapping", &message),
        Refused::Started => (
            StatusCode::CONFLICT,
            Json(json!({"error": "this upload has already been started"})),
        )
            .into_response(),
    }
}

#[derive(Deserialize, Default)]
pub(super) struct FileName {
    /// The file's name, for the report and the audit log, when the body is the file itself.
    #[serde(default)]
    name: Option<String>,
}

/// `POST /api/v1/lists/{id}/upload`: takes the file and answers the upload with its columns
/// (header and the field each maps to by default) and first rows; nothing is imported yet.
pub(super) async fn receive(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(list_id): Path<i64>,
    Query(q): Query<FileName>,
    request: Request,
) -> Response {
    let who = (s, c);
    let actor = actor(&who);
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let result = if is_form {
        let mut multipart = match Multipart::from_request(request, &st).await {
            Ok(m) => m,
            Err(e) => return invalid("file", &e.body_text()),
        };
        uploads::accept(&st, &actor, list_id, Source::Form(&mut multipart)).await
    } else {
        let file_name = q.name.unwrap_or_else(|| "leads.csv".into());
        let body = request.into_body();
        uploads::accept(&st, &actor, list_id, Source::Body { body, file_name }).await
    };
    match result {
        Ok(upload) => (StatusCode::CREATED, Json(upload.view())).into_response(),
        Err(e) => refused(e),
    }
}

#[derive(Deserialize, Default)]
pub(super) struct Start {
    /// Header -> field (`phone`, `first_name`, `custom`, `ignore`...); headers not named keep
    /// the field their name suggests.
    #[serde(default)]
    mapping: HashMap<String, String>,
    /// `skip` (the default) or `update` leads whose number is already in the list.
    #[serde(default)]
    duplicates: Option<String>,
}

/// `POST /api/v1/uploads/{id}/start`: starts the import in the background (202).
pub(super) async fn start(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Start>,
) -> Response {
    let who = (s, c);
    let actor = actor(&who);
    let mut mapping = HashMap::new();
    for (header, name) in &body.mapping {
        match uploads::field_named(name) {
            Some(field) => {
                mapping.insert(header.clone(), field);
            }
            None => {
                return invalid(
                    &format!("mapping.{header}"),
                    &format!("'{name}' is not a lead field"),
                )
            }
        }
    }
    let duplicates = match body.duplicates.as_deref() {
        None | Some("skip") => Duplicates::Skip,
        Some("update") => Duplicates::Update,
        Some(_) => return invalid("duplicates", "skip or update"),
    };
    match uploads::begin(&st, &actor, &id, mapping, duplicates).await {
        Ok(upload) => (StatusCode::ACCEPTED, Json(upload.view())).into_response(),
        Err(e) => refused(e),
    }
}

/// `GET /api/v1/uploads/{id}`: the upload and its state: `Mapping`, `Importing` with the lines
/// done so far, `Done` with the counts, or `Failed` with the reason.
pub(super) async fn progress(
    State(st): State<AppState>,
    s: Extension<Session>,
    c: Extension<ClientIp>,
    Path(id): Path<String>,
) -> Response {
    let who = (s, c);
    answer(uploads::view(&st, &actor(&who), &id))
}
