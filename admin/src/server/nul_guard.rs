//! No field, on any page, form or API route, can hold a NUL byte: PostgreSQL's text refuses it,
//! so one that got through failed its statement deep in a handler as "the database did not
//! answer" (a 503, as if it were down) with an ERROR in the log. This layer answers 400 to a
//! `%00` in the address (a path or query parameter), and reads form and JSON bodies before any
//! handler, answering 422 naming the first field that holds one. Multipart uploads are left to
//! the importer, which rejects such a row and keeps the rest.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// The most of a form or JSON body this layer reads: the bound against a client that sends an
/// endless one. The routes' own limits (smaller) apply again when handlers read the body.
const MAX_READ: usize = 1024 * 1024;

pub async fn refuse_nul(request: Request, next: Next) -> Response {
    let address = request.uri().path_and_query().map_or("", |p| p.as_str());
    if address.contains("%00") {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "a NUL character (%00) in the address"})),
        )
            .into_response();
    }
    let kind = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    let form = match kind.as_deref() {
        Some("application/x-www-form-urlencoded") => true,
        Some("application/json") => false,
        _ => return next.run(request).await,
    };
    let (parts, body) = request.into_parts();
    let bytes = match to_bytes(body, MAX_READ).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                "The request is larger than this page or API accepts.",
            )
                .into_response()
        }
    };
    let field = if form {
        form_field_with_nul(&bytes)
    } else {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(value) => json_field_with_nul(&value, ""),
            // A document `Value` cannot hold (a number such as 1e400) that the handler's type
            // may still read: the escape itself is looked for.
            Err(_) => bytes
                .windows(6)
                .any(|w| w.eq_ignore_ascii_case(b"\\u0000"))
                .then(|| "body".to_string()),
        }
    };
    if let Some(field) = field {
        tracing::info!(field = %field.escape_debug(), "a NUL byte refused");
        let message = "contains a NUL byte, which no field can hold";
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({
                "error": format!("{field}: {message}"),
                "fields": { field: message },
            })),
        )
            .into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The name of the first form field whose name or value holds a NUL byte.
fn form_field_with_nul(body: &[u8]) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        .map(|(k, _)| k.replace('\0', "\\0"))
}

/// The path (`values.caller_id_name`, `rows[2]`) of the first JSON string or key holding one.
fn json_field_with_nul(value: &Value, path: &str) -> Option<String> {
    let here = || {
        if path.is_empty() {
            "body".to_string()
        } else {
            path.to_string()
        }
    };
    match value {
        Value::String(s) if s.contains('\0') => Some(here()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| json_field_with_nul(v, &format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let key = if path.is_empty() {
                k.replace('\0', "\\0")
            } else {
                format!("{path}.{}", k.replace('\0', "\\0"))
            };
            if k.contains('\0') {
                Some(key)
            } else {
                json_field_with_nul(v, &key)
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_holding_a_nul_is_named() {
        assert_eq!(
            form_field_with_nul(b"id=3&caller_id_name=Acme%00x"),
            Some("caller_id_name".into())
        );
        assert_eq!(form_field_with_nul(b"id=3&name=Acme"), None);
        let body = json!({"version": "v", "values": {"trunk": "ok", "script": "a\u{0}b"}});
        assert_eq!(json_field_with_nul(&body, ""), Some("values.script".into()));
        assert_eq!(
            json_field_with_nul(&json!(["a", "b\u{0}"]), ""),
            Some("[1]".into())
        );
        assert_eq!(json_field_with_nul(&json!({"a": 1}), ""), None);
        let parsed =
            |text: &str| json_field_with_nul(&serde_json::from_str(text).expect("json"), "");
        assert_eq!(
            parsed(r#"{"name": "a", "windows": [{"opens": "9\u0000"}]}"#),
            Some("windows[0].opens".into())
        );
        assert_eq!(
            parsed(r#"{"name": "a\\u0000"}"#),
            None,
            "an escaped backslash, then text"
        );
    }
}
