//! The one gate every request passes: who is asking (session cookie or API token), whether a
//! state change really comes from our own pages (CSRF), and whether their role may open the
//! path at all. Server functions check the role again, and the campaign, for what they touch.

use std::net::IpAddr;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use ipnet::IpNet;

use super::session::{self, Session};
use super::AppState;
use crate::model::Viewer;

/// What a path asks of the person opening it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Sign-in page, the browser bundle, the API description.
    Public,
    /// Anyone signed in (their own account, the agent screen, server functions, which check
    /// roles themselves).
    SignedIn,
    /// Admins and supervisors (supervisors see only their campaigns).
    Staff,
    Admin,
}

/// The rule for a path. Unknown paths are `Staff`: a new page is closed until it says otherwise.
pub fn rule(path: &str) -> Rule {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match first {
        "signin" | "pkg" | "favicon.ico" | "healthz" => Rule::Public,
        "api" if path == "/api/v1/openapi.json" => Rule::Public,
        // The sockets check the role themselves (the agent screen's is anyone's own).
        "api" | "account" | "signout" | "signout-everywhere" | "agent" | "ws" => Rule::SignedIn,
        "users" | "dnc" | "audit" | "uploads" | "inbound" | "codes" | "calltimes" => Rule::Admin,
        _ if path.starts_with("/lists/") && path.ends_with("/upload") => Rule::Admin,
        _ => Rule::Staff,
    }
}

pub fn allows(rule: Rule, viewer: &Viewer) -> bool {
    match rule {
        Rule::Public | Rule::SignedIn => true,
        Rule::Staff => viewer.role.is_staff(),
        Rule::Admin => viewer.is_admin(),
    }
}

/// True when a state-changing request names our own origin. Browsers always send `Origin` on
/// cross-site POSTs and cannot forge it, so with `SameSite=Strict` cookies this refuses CSRF.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let claimed = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split_once("://")
                .map(|(_, rest)| rest.split('/').next().unwrap_or("").to_string())
        });
    claimed.as_deref() == Some(host)
}

/// The client's address, for the audit log and the sign-in throttle (absent without a socket,
/// as in tests that call the router directly).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

/// The client's address: the socket's peer, unless the peer is one of `trusted_proxies`; then
/// the nearest address in `X-Forwarded-For` that is not a trusted proxy itself. Walking from
/// the right end matters: each proxy appends the address it saw, so only the entries our own
/// proxies added are true, and anything further left is whatever the client chose to send.
pub fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted_proxies: &[IpNet],
) -> Option<IpAddr> {
    let peer = peer?.to_canonical();
    let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    if !trusted(&peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // An entry we cannot read ends the walk at the last address we could.
        let Some(ip) = parse_hop(hop) else {
            break;
        };
        client = ip;
        if !trusted(&ip) {
            break;
        }
    }
    Some(client)
}

/// One `X-Forwarded-For` entry: an address, or an address and port.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

const X_FORWARDED_FOR: &str = "x-forwarded-for";

pub async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = client_address(peer, req.headers(), &state.trusted_proxies);
    req.extensions_mut().insert(ClientIp(ip));
    let bearer = session::bearer_from(req.headers());
    let changes_state = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if changes_state && bearer.is_none() && !same_origin(req.headers()) {
        tracing::warn!(%path, "cross-site or origin-less request refused");
        return (StatusCode::FORBIDDEN, "This request did not come from Dialtone's own pages (CSRF check). Reload the page and try again.").into_response();
    }
    let found = match (&bearer, session::token_from(req.headers())) {
        (Some(token), _) => session::find_api_token(&state.pool, token).await,
        (None, Some(token)) => session::find(&state.pool, &token).await,
        (None, None) => Ok(None),
    };
    let session: Option<Session> = match found {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot read sessions");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "The database is not answering; try again shortly.",
            )
                .into_response();
        }
    };
    let rule = rule(&path);
    let is_api = path.starts_with("/api/");
    match (&session, rule) {
        (_, Rule::Public) => {}
        (None, _) if is_api || bearer.is_some() => {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({"error": "sign in or send an API token"})),
            )
                .into_response();
        }
        (None, _) => {
            let next_path = if req.method() == Method::GET {
                path.clone()
            } else {
                "/".into()
            };
            let target = format!("/signin?next={}", form_urlencoded_path(&next_path));
            return Redirect::to(&target).into_response();
        }
        (Some(s), _)
            if s.viewer.must_change_password
                && !matches!(path.as_str(), "/account/password" | "/signout")
                && !path.starts_with("/pkg/") =>
        {
            if is_api {
                return (
                    StatusCode::FORBIDDEN,
                    axum::Json(serde_json::json!({"error": "change your password first"})),
                )
                    .into_response();
            }
            return Redirect::to("/account/password").into_response();
        }
        (Some(s), rule) if !allows(rule, &s.viewer) => {
            tracing::warn!(%path, user = %super::signin::loggable(&s.viewer.username), role = %s.viewer.role, "refused by role");
            if is_api {
                return (
                    StatusCode::FORBIDDEN,
                    axum::Json(serde_json::json!({"error": "your role may not do this"})),
                )
                    .into_response();
            }
            return forbidden_page(&s.viewer);
        }
        _ => {}
    }
    if let Some(session) = session {
        req.extensions_mut().insert(session);
    }
    next.run(req).await
}

fn form_urlencoded_path(path: &str) -> String {
    path.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"/-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn forbidden_page(viewer: &Viewer) -> Response {
    let home = if viewer.role == dialtone_core::vocabulary::Role::Agent {
        "/agent"
    } else {
        "/"
    };
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not allowed</title><link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" href=\"/pkg/admin.css\"></head>\
         <body><main class=\"narrow\"><h1>Not allowed</h1><p>Your role ({}) may not open this page.</p><p><a href=\"{home}\">Back to your start page</a></p></main></body></html>",
        viewer.role
    );
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::FORBIDDEN;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert_eq!(rule("/signin"), Rule::Public);
        assert_eq!(rule("/pkg/admin.wasm"), Rule::Public);
        assert_eq!(rule("/users"), Rule::Admin);
        assert_eq!(rule("/lists/4/upload"), Rule::Admin);
        assert_eq!(rule("/lists/4"), Rule::Staff);
        assert_eq!(rule("/campaigns/3"), Rule::Staff);
        assert_eq!(rule("/something-new"), Rule::Staff);
        assert_eq!(rule("/api/list_campaigns"), Rule::SignedIn);
    }

    #[test]
    fn origins() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "pbx.example:8080".parse().expect("header"));
        assert!(!same_origin(&h));
        h.insert(
            header::ORIGIN,
            "https://evil.example".parse().expect("header"),
        );
        assert!(!same_origin(&h));
        h.insert(
            header::ORIGIN,
            "http://pbx.example:8080".parse().expect("header"),
        );
        assert!(same_origin(&h));
    }
}
