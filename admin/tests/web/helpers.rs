//! What the router tests share: a site in-process against the test's database, its users
//! and sessions, and requests as browsers and API clients send them.
#![allow(dead_code)]

pub use std::time::Duration;

pub use axum::body::Body;
pub use axum::http::{header, Request, StatusCode};
use axum::Router;
pub use dialtone_admin::server::session;
use dialtone_admin::server::{router, AppState, WebConfig};
use http_body_util::BodyExt;
pub use sqlx::PgPool;
use tower::ServiceExt;

pub const HOST: &str = "admin.test";
pub const ORIGIN: &str = "http://admin.test";
pub const PASSWORD: &str = "a long test password";

pub struct Site {
    pub app: Router,
    pub pool: PgPool,
    pub _dir: tempfile::TempDir,
}

pub struct Reply {
    pub status: StatusCode,
    pub location: String,
    pub cookie: Option<String>,
    pub body: String,
    pub headers: axum::http::HeaderMap,
}

impl Site {
    pub async fn new(pool: PgPool) -> Self {
        Self::with_upload_limit(pool, dialtone_admin::server::uploads::MAX_UPLOAD_BYTES).await
    }

    pub async fn with_upload_limit(pool: PgPool, max_upload_bytes: usize) -> Self {
        Self::configured(pool, max_upload_bytes, false, |state| state).await
    }

    /// A site whose state `adjust` changes (trusted proxies...); `https` as behind an https
    /// public address.
    pub async fn configured(
        pool: PgPool,
        max_upload_bytes: usize,
        https: bool,
        adjust: impl FnOnce(AppState) -> AppState,
    ) -> Self {
        dialtone_core::telemetry::test_logging();
        let dir = tempfile::tempdir().expect("dir");
        let config = WebConfig {
            site_root: dir.path().join("site"),
            upload_dir: dir.path().join("uploads"),
            recordings_dir: dir.path().join("recordings"),
            secure_cookies: https,
            max_upload_bytes,
        };
        Self {
            app: router(adjust(AppState::new(pool.clone(), &config))),
            pool,
            _dir: dir,
        }
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("router answers");
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let cookie = response
            .headers()
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        Reply {
            status,
            location,
            cookie,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            headers,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut r = Request::get(path).header(header::HOST, HOST);
        if let Some(t) = token {
            r = r.header(header::COOKIE, format!("{}={t}", session::COOKIE));
        }
        self.send(r.body(Body::empty()).expect("request")).await
    }

    /// A form post from our own pages (same origin), as a browser sends it.
    pub async fn post(&self, path: &str, token: Option<&str>, form: &str) -> Reply {
        let mut r = Request::post(path)
            .header(header::HOST, HOST)
            .header(header::ORIGIN, ORIGIN)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json");
        if let Some(t) = token {
            r = r.header(header::COOKIE, format!("{}={t}", session::COOKIE));
        }
        self.send(r.body(Body::from(form.to_string())).expect("request"))
            .await
    }

    pub async fn api(
        &self,
        method: &str,
        path: &str,
        bearer: &str,
        json: Option<serde_json::Value>,
    ) -> Reply {
        let r = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, HOST)
            .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
            .header(header::CONTENT_TYPE, "application/json");
        let body = json
            .map(|j| Body::from(j.to_string()))
            .unwrap_or_else(Body::empty);
        self.send(r.body(body).expect("request")).await
    }

    /// A user with a known password that needs no change, and an open session.
    pub async fn user(
        &self,
        username: &str,
        role: dialtone_core::vocabulary::Role,
    ) -> (i64, String) {
        let id = dialtone_core::users::create(&self.pool, username, "", role, PASSWORD)
            .await
            .expect("user");
        sqlx::query("UPDATE users SET must_change_password = false WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .expect("update");
        let token = session::open(&self.pool, id, None, "test")
            .await
            .expect("session");
        (id, token)
    }
}

pub async fn campaign(pool: &PgPool, name: &str) -> i64 {
    dialtone_core::campaigns::create(
        pool,
        name,
        dialtone_core::vocabulary::DialMethod::Progressive,
        "default",
    )
    .await
    .expect("campaign")
}

/// A file posted as the list page's form posts it.
pub async fn multipart(
    site: &Site,
    path: &str,
    token: &str,
    file_name: &str,
    bytes: &[u8],
) -> Reply {
    let boundary = "XdialtoneX";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes());
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let r = Request::post(path)
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .header(header::COOKIE, format!("{}={token}", session::COOKIE))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .expect("request");
    site.send(r).await
}

/// A reply's JSON body; a body that is not JSON fails the test with what came instead.
pub fn parse(r: &Reply) -> serde_json::Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {} {}", r.status, r.body))
}

/// An admin of this name, and an API token of theirs.
pub async fn admin_token(site: &Site, name: &str) -> String {
    let (id, _) = site
        .user(name, dialtone_core::vocabulary::Role::Admin)
        .await;
    session::issue_api_token(&site.pool, id, "test")
        .await
        .expect("token")
}

/// `s` percent-encoded for a path segment or a query value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
