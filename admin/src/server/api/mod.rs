//! The JSON API for integrations: the same operations as the pages (`server::<name>`), the same roles,
//! reached with `Authorization: Bearer <token>` (tokens are issued on the Users page).
//! `/api/v1/openapi.json` describes it.

mod calltimes;
mod campaigns;
mod dispositions;
mod dnc;
mod inbound;
mod lists;
mod openapi;
mod uploads;
mod users;

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::actor::{Actor, OpError};
use super::guard::ClientIp;
use super::session::Session;
use super::AppState;
use crate::model::Saved;

/// The API's routes; `upload_limit` is the body limit of the one that takes a lead file.
pub fn routes(upload_limit: axum::extract::DefaultBodyLimit) -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi::openapi))
        .route("/api/v1/me", get(me))
        .route(
            "/api/v1/campaigns",
            get(campaigns::list).post(campaigns::create),
        )
        .route(
            "/api/v1/campaigns/{id}",
            get(campaigns::get_one).put(campaigns::save),
        )
        .route("/api/v1/campaigns/{id}/active", post(campaigns::set_active))
        .route(
            "/api/v1/campaigns/{id}/codes",
            get(campaigns::codes).put(campaigns::set_codes),
        )
        .route("/api/v1/lists", get(lists::list).post(lists::create))
        .route(
            "/api/v1/lists/{id}",
            patch(lists::update).delete(lists::remove),
        )
        .route("/api/v1/lists/{id}/reset", post(lists::reset))
        .route(
            "/api/v1/lists/{id}/upload",
            post(uploads::receive).layer(upload_limit),
        )
        .route("/api/v1/uploads/{id}", get(uploads::progress))
        .route("/api/v1/uploads/{id}/start", post(uploads::start))
        .route("/api/v1/leads", get(lists::search_leads))
        .route("/api/v1/leads/{id}", get(lists::lead))
        .route(
            "/api/v1/inbound-groups",
            get(inbound::groups).post(inbound::create_group),
        )
        .route("/api/v1/dids", get(inbound::dids).post(inbound::add_did))
        .route("/api/v1/dids/{id}", delete(inbound::remove_did))
        .route("/api/v1/dnc", get(dnc::search).post(dnc::add))
        .route("/api/v1/dnc/{id}", delete(dnc::remove))
        .route("/api/v1/users", get(users::list).post(users::create))
        .route("/api/v1/users/{id}", patch(users::update))
        .route("/api/v1/tokens", get(users::tokens))
        .route("/api/v1/tokens/{id}", delete(users::revoke_token))
        .route(
            "/api/v1/statuses",
            get(dispositions::statuses).post(dispositions::create_status),
        )
        .route(
            "/api/v1/statuses/{code}",
            axum::routing::put(dispositions::update_status),
        )
        .route(
            "/api/v1/pause-codes",
            get(dispositions::pause_codes).post(dispositions::create_pause_code),
        )
        .route(
            "/api/v1/pause-codes/{code}",
            axum::routing::put(dispositions::update_pause_code),
        )
        .route(
            "/api/v1/call-times",
            get(calltimes::call_times).post(calltimes::save_call_time),
        )
        .route(
            "/api/v1/call-times/{id}",
            axum::routing::put(calltimes::replace_call_time),
        )
        .route(
            "/api/v1/holidays",
            get(calltimes::holidays).post(calltimes::add_holiday),
        )
        .route("/api/v1/holidays/{id}", delete(calltimes::remove_holiday))
        .route(
            "/api/v1/calling-rules",
            get(calltimes::rules).post(calltimes::save_rule),
        )
}

pub(super) fn error(e: OpError) -> Response {
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
            if let Some(refused) = super::settings::Refusal::of(&e, "name") {
                tracing::warn!(error = %e, "API: the database refused a value");
                let fields: HashMap<String, String> = refused
                    .field
                    .into_iter()
                    .map(|f| (f, refused.message.clone()))
                    .collect();
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(json!({"error": refused.sentence, "fields": fields})),
                )
                    .into_response();
            }
            tracing::error!(error = %e, "API: database");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "the database did not answer; try again"})),
            )
                .into_response()
        }
    }
}

pub(super) fn answer<T: serde::Serialize>(result: Result<T, OpError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(e) => error(e),
    }
}

pub(super) fn saved(result: Result<Saved, OpError>) -> Response {
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
pub(super) struct Listing {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub page: Option<u32>,
}

pub(super) type Who = (Extension<Session>, Extension<ClientIp>);

pub(super) fn actor(who: &Who) -> Actor<'_> {
    Actor {
        viewer: &who.0 .0.viewer,
        ip: who.1 .0 .0,
    }
}

async fn me(Extension(s): Extension<Session>) -> Response {
    Json(s.viewer).into_response()
}

/// Bad input found before an operation runs (a weekday out of range, say), answered as the
/// operations answer theirs: 422 with a message per field.
pub(super) fn invalid(field: &str, message: &str) -> Response {
    saved(Ok(Saved::Invalid {
        fields: vec![(field.to_string(), message.to_string())],
        form: None,
    }))
}

pub(super) fn us() -> String {
    "US".into()
}

/// A JSON value sent where the pages send text (a setting, a hotkey, a limit), as that text:
/// the operation checks it and names the field, as it does for the page.
pub(super) fn form_text(value: Option<serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s,
        Some(other) => other.to_string(),
    }
}

/// A JSON body. One that does not fit the call (a missing field, a wrong type) is answered as
/// the operations answer bad input: 422, with the field named when serde names it.
pub(super) struct JsonBody<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Response> {
        // A NUL character was refused before (`nul_guard`), naming its field.
        let Json(value) = Json::<T>::from_request(req, state)
            .await
            .map_err(|rejection| unfit(&rejection.body_text()))?;
        Ok(Self(value))
    }
}

/// The 422 of a body that did not fit, from the extractor's rejection text.
fn unfit(text: &str) -> Response {
    let (field, message) = misfit(text);
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({"error": message, "fields": {field: message}})),
    )
        .into_response()
}

/// The field and message of a body that did not deserialize: axum says `…type: path: what`, or
/// `missing field `name``; anything else is the body's.
fn misfit(text: &str) -> (String, String) {
    let detail = text.rsplit_once("target type: ").map_or(text, |(_, d)| d);
    if let Some(name) = detail
        .split_once("missing field `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(name, _)| name)
    {
        return (name.to_string(), "required".to_string());
    }
    match detail.split_once(": ") {
        Some((path, what)) if !path.is_empty() && !path.contains(' ') => {
            (path.to_string(), what.to_string())
        }
        _ => ("body".to_string(), detail.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::misfit;

    #[test]
    fn misfits_name_the_field() {
        assert_eq!(
            misfit("Failed to deserialize the JSON body into the target type: missing field `day` at line 1 column 17"),
            ("day".into(), "required".into())
        );
        assert_eq!(
            misfit("Failed to deserialize the JSON body into the target type: dispositions[0].code: invalid type: integer `3`, expected a string at line 1 column 30"),
            ("dispositions[0].code".into(), "invalid type: integer `3`, expected a string at line 1 column 30".into())
        );
        assert_eq!(
            misfit("Failed to parse the request body as JSON: EOF while parsing").0,
            "body"
        );
    }
}
