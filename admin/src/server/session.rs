//! Server-side sessions. The cookie carries a random token; the table keeps only its SHA-256,
//! so a copy of the database does not sign anyone in. API tokens resolve to the same `Session`.

use axum::http::{header, HeaderMap, HeaderValue};
use dialtone_core::users::{end_access, AccessEnd};
use dialtone_core::vocabulary::Role;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::model::Viewer;

pub const COOKIE: &str = "dialtone_session";
/// A session ends this long after sign-in, whatever happens.
pub const LIFETIME_HOURS: i64 = 12;

#[derive(Debug, Clone)]
pub struct Session {
    pub viewer: Viewer,
    /// Set for a browser session; `None` for an API token.
    pub token_sha256: Option<String>,
}

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Deletes sessions past their end. Run at each sign-in, so the table holds no more than a
/// day's sign-ins however long the admin runs (`web_sessions_expiry` serves it).
pub async fn purge_expired(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM web_sessions WHERE expires_at <= now()")
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

/// Opens a session for `user_id` (and purges expired ones); returns the token for the cookie.
pub async fn open(
    pool: &PgPool,
    user_id: i64,
    ip: Option<std::net::IpAddr>,
    user_agent: &str,
) -> Result<String, sqlx::Error> {
    let token = new_token();
    sqlx::query(
        "INSERT INTO web_sessions (token_sha256, user_id, csrf_token, expires_at, ip, user_agent)
         VALUES ($1, $2, $3, now() + make_interval(hours => $4), $5::inet, $6)",
    )
    .bind(digest(&token))
    .bind(user_id)
    .bind(new_token())
    .bind(i32::try_from(LIFETIME_HOURS).unwrap_or(12))
    .bind(ip.map(|ip| ip.to_string()))
    .bind(user_agent.chars().take(300).collect::<String>())
    .execute(pool)
    .await?;
    sqlx::query("UPDATE users SET last_login_at = now() WHERE id = $1")
        .bind(user_id)
        .execute(pool)
        .await?;
    // The session is open; a failed purge is tried again at the next sign-in.
    if let Err(e) = purge_expired(pool).await {
        tracing::warn!(error = %e, "cannot purge expired sessions");
    }
    Ok(token)
}

#[derive(sqlx::FromRow)]
struct ViewerRow {
    id: i64,
    username: String,
    display_name: String,
    role: Role,
    must_change_password: bool,
}

impl From<ViewerRow> for Viewer {
    fn from(r: ViewerRow) -> Self {
        Viewer {
            user_id: r.id,
            username: r.username,
            display_name: r.display_name,
            role: r.role,
            must_change_password: r.must_change_password,
        }
    }
}

/// The live session of a cookie token: not expired, its user still active.
pub async fn find(pool: &PgPool, token: &str) -> Result<Option<Session>, sqlx::Error> {
    let hash = digest(token);
    let row: Option<ViewerRow> = sqlx::query_as(
        "UPDATE web_sessions s SET last_seen_at = now()
         FROM users u
         WHERE s.token_sha256 = $1 AND s.expires_at > now() AND u.id = s.user_id AND u.active
         RETURNING u.id, u.username, u.display_name, u.role, u.must_change_password",
    )
    .bind(&hash)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| Session {
        viewer: r.into(),
        token_sha256: Some(hash),
    }))
}

/// The user of an API token neither revoked nor expired. Its user's must-change-password holds
/// as for a cookie: the guard refuses everything until they change it.
pub async fn find_api_token(pool: &PgPool, token: &str) -> Result<Option<Session>, sqlx::Error> {
    let row: Option<ViewerRow> = sqlx::query_as(
        "UPDATE api_tokens t SET last_used_at = now()
         FROM users u
         WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL AND t.expires_at > now() AND u.id = t.user_id AND u.active
         RETURNING u.id, u.username, u.display_name, u.role, u.must_change_password",
    )
    .bind(digest(token))
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| Session {
        viewer: r.into(),
        token_sha256: None,
    }))
}

/// Creates an API token for a user; the token is shown once and stored only as its hash.
pub async fn issue_api_token<'c>(
    db: impl sqlx::PgExecutor<'c>,
    user_id: i64,
    name: &str,
) -> Result<String, sqlx::Error> {
    let token = format!("dt_{}", new_token());
    sqlx::query("INSERT INTO api_tokens (user_id, name, token_sha256) VALUES ($1, $2, $3)")
        .bind(user_id)
        .bind(name)
        .bind(digest(&token))
        .execute(db)
        .await?;
    Ok(token)
}

/// Signs one browser out: its session, the agent's dialer session, its pages' sockets
/// (`core::users::end_access`).
pub async fn close(pool: &PgPool, user_id: i64, token_sha256: &str) -> Result<(), sqlx::Error> {
    end_access(
        pool,
        user_id,
        AccessEnd::SignedOut { token_sha256 },
        "signed out",
    )
    .await?;
    Ok(())
}

/// Signs the user out on every browser, revokes their API tokens and ends their dialer session.
pub async fn close_everywhere(pool: &PgPool, user_id: i64) -> Result<(), sqlx::Error> {
    end_access(
        pool,
        user_id,
        AccessEnd::Everything,
        "signed out everywhere",
    )
    .await?;
    Ok(())
}

/// Signs the user out on every other browser (their own password change keeps this one).
pub async fn close_others(pool: &PgPool, user_id: i64, except: &str) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM web_sessions WHERE user_id = $1 AND token_sha256 <> $2")
        .bind(user_id)
        .bind(except)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

/// The session token in a request's cookies.
pub fn token_from(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The bearer token of an API call.
pub fn bearer_from(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_string())
}

/// `HttpOnly` keeps scripts off it; `SameSite=Strict` keeps other sites' forms from sending it.
pub fn cookie(token: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let value = format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        LIFETIME_HOURS * 3600
    );
    HeaderValue::from_str(&value)
        .unwrap_or_else(|_| HeaderValue::from_static("dialtone_session=; Path=/; Max-Age=0"))
}

pub fn clear_cookie(secure: bool) -> HeaderValue {
    if secure {
        HeaderValue::from_static(
            "dialtone_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure",
        )
    } else {
        HeaderValue::from_static("dialtone_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
    }
}
