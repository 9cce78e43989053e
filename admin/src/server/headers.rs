//! What every answer carries: a Content-Security-Policy, no sniffing, no framing, no referrer to
//! other sites, no caching of what shows leads, and HSTS behind https. And the status of a
//! server function called with arguments it cannot read.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use rand::RngCore;

/// The nonce of this request's inline scripts: the hydration script and, on pages rendered
/// whole (`SsrMode::Async`), the resources' data. The shell hands it to Leptos
/// (`crate::app::shell`), and the policy allows scripts carrying it and no other inline ones.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

/// What the headers depend on.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// The public address is https (`web.public_url`): browsers are told to keep to it.
    pub https: bool,
}

/// The policy for a page whose inline scripts carry `nonce`. The bundle is a module from
/// `/pkg/` and compiles its WebAssembly (`'wasm-unsafe-eval'`, not `'unsafe-eval'`); the upload
/// progress bar sets its width in a `style` attribute, the only inline style.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; \
         media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Adds the security headers to every answer, the guard's refusals and redirects included.
/// Everything but the browser bundle (`/pkg/`) is `no-store`: pages and API answers show
/// leads, and a shared or back-button cache should not keep them.
pub async fn security_headers(
    State(policy): State<Policy>,
    mut req: Request,
    next: Next,
) -> Response {
    let nonce = new_nonce();
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let is_static = req.uri().path().starts_with("/pkg/");
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(&nonce)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // `frame-ancestors` says it to current browsers; this to older ones.
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !is_static {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if policy.https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// Leptos marks a server function's error answers with this header.
const SERVER_FN_ERROR: &str = "serverfnerror";
/// The most of a server function's error answer read to classify it.
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// A server function whose arguments could not be read answers 400 (or 413 for a body over the
/// limit), not Leptos' 500: the caller sent something wrong, the server did not fail.
pub async fn server_fn_status(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key(SERVER_FN_ERROR)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BYTES).await else {
        return Response::from_parts(parts, Body::from("the answer was too long"));
    };
    if let Some(status) = argument_error_status(&bytes) {
        parts.status = status;
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The status for a server function's encoded error (`Kind|message`) when it is about the
/// request's arguments.
fn argument_error_status(encoded: &[u8]) -> Option<StatusCode> {
    let text = String::from_utf8_lossy(encoded);
    let (kind, message) = text.split_once('|')?;
    match kind {
        "Deserialization" if message.contains("length limit exceeded") => {
            Some(StatusCode::PAYLOAD_TOO_LARGE)
        }
        "Args" | "MissingArg" | "Deserialization" => Some(StatusCode::BAD_REQUEST),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_errors_are_the_callers() {
        assert_eq!(
            argument_error_status(b"Args|missing field `name`"),
            Some(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            argument_error_status(b"Deserialization|length limit exceeded"),
            Some(StatusCode::PAYLOAD_TOO_LARGE)
        );
        assert_eq!(
            argument_error_status(b"ServerError|the database did not answer"),
            None
        );
    }
}
