//! Signing in and out, and changing one's password: plain form posts, so they work with
//! JavaScript off, each answered with a redirect.

use dialtone_core::vocabulary::Role;
use std::net::IpAddr;
use std::num::NonZeroU32;

use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Deserialize;

use super::audit;
use super::guard::ClientIp;
use super::session::{self, Session};
use super::AppState;

/// Sign-in attempts per minute for one username from one address. Counted before the password
/// is checked, so guessing is slow whether or not the guesses are right; keyed by address too,
/// so a stranger's failures do not lock the user out of their own desk.
pub const PER_USER_AND_ADDRESS_PER_MINUTE: u32 = 5;
/// Attempts per minute for one username from every address together: above what one address
/// may try, so one address cannot exhaust it, but a guess spread over many addresses is still
/// slowed.
pub const PER_USER_PER_MINUTE: u32 = 12;
/// Attempts per minute from one address, whatever the username.
pub const PER_ADDRESS_PER_MINUTE: u32 = 30;

/// Longest username and password read at sign-in; longer ones are refused before they are
/// counted or hashed (argon2 over megabytes of "password" costs memory and time).
pub const MAX_USERNAME_BYTES: usize = 150;
pub const MAX_PASSWORD_BYTES: usize = 1024;

pub struct Throttle {
    pairs: DefaultKeyedRateLimiter<(String, Option<IpAddr>)>,
    users: DefaultKeyedRateLimiter<String>,
    addresses: DefaultKeyedRateLimiter<IpAddr>,
}

impl Default for Throttle {
    fn default() -> Self {
        let quota = |n: u32| Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        Self {
            pairs: RateLimiter::keyed(quota(PER_USER_AND_ADDRESS_PER_MINUTE)),
            users: RateLimiter::keyed(quota(PER_USER_PER_MINUTE)),
            addresses: RateLimiter::keyed(quota(PER_ADDRESS_PER_MINUTE)),
        }
    }
}

impl Throttle {
    /// False when this username from this address, this username from anywhere, or this
    /// address has tried too often lately. An attempt refused by the first bucket is not
    /// counted in the others, so one address hammering a username does not drain its
    /// all-addresses bucket.
    pub fn allow(&self, username: &str, ip: Option<IpAddr>) -> bool {
        self.pairs.retain_recent();
        self.users.retain_recent();
        self.addresses.retain_recent();
        self.pairs.check_key(&(username.to_string(), ip)).is_ok()
            && ip.is_none_or(|ip| self.addresses.check_key(&ip).is_ok())
            && self.users.check_key(&username.to_string()).is_ok()
    }
}

/// A username or other text from a request as a log field: escaped (a newline cannot forge a
/// log line) and cut to 64 characters.
pub fn loggable(text: &str) -> String {
    const MAX_CHARS: usize = 64;
    let mut shown: String = text
        .chars()
        .take(MAX_CHARS)
        .flat_map(char::escape_debug)
        .collect();
    if text.chars().nth(MAX_CHARS).is_some() {
        shown.push('…');
    }
    shown
}

#[derive(Deserialize)]
pub struct SignInForm {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub next: String,
}

/// A path on this site to go to after signing in; anything else goes home. Only a relative
/// path of plain URL characters: browsers drop tabs and newlines from a URL, so `/\t/evil`
/// would become `//evil`, another site; and a control character cannot be a header value.
fn safe_next(next: &str) -> Option<&str> {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"/-._~%?=&+,:;@!$*()'#".contains(&b);
    let mut bytes = next.bytes();
    (bytes.next() == Some(b'/')
        && !matches!(bytes.next(), Some(b'/'))
        && next.len() <= 2000
        && next.bytes().all(plain)
        && !next.starts_with("/signin"))
    .then_some(next)
}

pub async fn sign_in(
    State(state): State<AppState>,
    Extension(ClientIp(client)): Extension<ClientIp>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let ip = client;
    let username = form.username.trim().to_ascii_lowercase();
    let again = |error: &str| {
        Redirect::to(&format!(
            "/signin?error={error}&next={}",
            urlencode(&form.next)
        ))
        .into_response()
    };
    if form.username.len() > MAX_USERNAME_BYTES || form.password.len() > MAX_PASSWORD_BYTES {
        tracing::warn!(username = %loggable(&username), ?ip, "sign-in refused: username or password too long");
        return again("too_long");
    }
    if !state.throttle.allow(&username, ip) {
        tracing::warn!(username = %loggable(&username), ?ip, "sign-in throttled");
        return again("throttled");
    }
    let row: Result<Option<(i64, String, Role, bool)>, sqlx::Error> =
        sqlx::query_as("SELECT id, password_hash, role, must_change_password FROM users WHERE username = $1 AND active")
            .bind(&username)
            .fetch_optional(&state.pool)
            .await;
    let row = match row {
        Ok(row) => row,
        Err(e) => {
            tracing::error!(error = %e, "sign-in: database");
            return again("unavailable");
        }
    };
    // An unknown user costs a hash too, so timing does not tell which usernames exist.
    let hash = row
        .as_ref()
        .map(|r| r.1.clone())
        .unwrap_or_else(|| DUMMY_HASH.to_string());
    let password = form.password.clone();
    let verified = tokio::task::spawn_blocking(move || {
        dialtone_core::users::verify_password(&hash, &password)
    })
    .await
    .unwrap_or(false);
    let Some((user_id, _, role, must_change)) = row.filter(|_| verified) else {
        tracing::warn!(username = %loggable(&username), ?ip, "sign-in refused");
        return again("bad");
    };
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let token = match session::open(&state.pool, user_id, ip, agent).await {
        Ok(token) => token,
        Err(e) => {
            tracing::error!(error = %e, "sign-in: cannot open a session");
            return again("unavailable");
        }
    };
    audit::record(
        &state.pool,
        Some(user_id),
        ip,
        "login",
        "session",
        None,
        None,
        None,
    )
    .await;
    tracing::info!(username = %loggable(&username), %role, "signed in");
    let target = if must_change {
        "/account/password".to_string()
    } else if let Some(next) = safe_next(&form.next) {
        next.to_string()
    } else if role == Role::Agent {
        "/agent".to_string()
    } else {
        "/".to_string()
    };
    let mut response = Redirect::to(&target).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session::cookie(&token, state.secure_cookies),
    );
    response
}

/// An argon2id hash of a random password, checked against when the username is unknown.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$3HyS6sxVw2S38n9PB2t3vBBJY4Ek6k5tCpV7S3jPGUc";

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn signed_out(state: &AppState) -> Response {
    let mut response = Redirect::to("/signin?error=signed_out").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session::clear_cookie(state.secure_cookies),
    );
    response
}

pub async fn sign_out(
    State(state): State<AppState>,
    Extension(ClientIp(client)): Extension<ClientIp>,
    session: Option<Extension<Session>>,
) -> Response {
    if let Some(Extension(s)) = session {
        if let Some(hash) = &s.token_sha256 {
            if let Err(e) = session::close(&state.pool, s.viewer.user_id, hash).await {
                tracing::error!(error = %e, "sign-out: database");
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The database is not answering; you are still signed in.",
                )
                    .into_response();
            }
        }
        audit::record(
            &state.pool,
            Some(s.viewer.user_id),
            client,
            "logout",
            "session",
            None,
            None,
            None,
        )
        .await;
    }
    signed_out(&state)
}

pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    Extension(ClientIp(client)): Extension<ClientIp>,
    session: Option<Extension<Session>>,
) -> Response {
    if let Some(Extension(s)) = session {
        match session::close_everywhere(&state.pool, s.viewer.user_id).await {
            Ok(()) => {
                let after = serde_json::json!({ "everywhere": true });
                audit::record(
                    &state.pool,
                    Some(s.viewer.user_id),
                    client,
                    "logout",
                    "session",
                    None,
                    None,
                    Some(after),
                )
                .await;
            }
            Err(e) => {
                tracing::error!(error = %e, "sign-out everywhere: database");
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The database is not answering; your sessions are still open.",
                )
                    .into_response();
            }
        }
    }
    signed_out(&state)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    pub current: String,
    pub new: String,
    pub confirm: String,
}

/// Checks a new password against the rules; the message is shown beside the field.
pub fn check_new_password(current: &str, new: &str, confirm: &str) -> Result<(), &'static str> {
    if new.chars().count() < dialtone_core::users::MIN_PASSWORD_LEN {
        Err("short")
    } else if new != confirm {
        Err("mismatch")
    } else if new == current {
        Err("same")
    } else {
        Ok(())
    }
}

pub async fn change_password(
    State(state): State<AppState>,
    Extension(ClientIp(client)): Extension<ClientIp>,
    Extension(s): Extension<Session>,
    Form(form): Form<PasswordForm>,
) -> Response {
    let again =
        |error: &str| Redirect::to(&format!("/account/password?error={error}")).into_response();
    let ip = client;
    if [&form.current, &form.new, &form.confirm]
        .iter()
        .any(|p| p.len() > MAX_PASSWORD_BYTES)
    {
        return again("long");
    }
    if !state.throttle.allow(&s.viewer.username, ip) {
        return again("throttled");
    }
    let hash: Result<String, sqlx::Error> =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(s.viewer.user_id)
            .fetch_one(&state.pool)
            .await;
    let Ok(hash) = hash else {
        return again("unavailable");
    };
    let current = form.current.clone();
    if !tokio::task::spawn_blocking(move || dialtone_core::users::verify_password(&hash, &current))
        .await
        .unwrap_or(false)
    {
        return again("current");
    }
    if let Err(code) = check_new_password(&form.current, &form.new, &form.confirm) {
        return again(code);
    }
    if let Err(e) =
        dialtone_core::users::set_password(&state.pool, &s.viewer.username, &form.new, false).await
    {
        tracing::error!(error = %e, "password change");
        return again("unavailable");
    }
    // A changed password ends every other session: whoever knew the old one is out.
    if let Some(current) = s.token_sha256.as_deref() {
        let _ = session::close_others(&state.pool, s.viewer.user_id, current).await;
    }
    audit::record(
        &state.pool,
        Some(s.viewer.user_id),
        ip,
        "update",
        "user_password",
        Some(s.viewer.user_id.to_string()),
        None,
        None,
    )
    .await;
    let home = if s.viewer.role == Role::Agent {
        "/agent?changed=1"
    } else {
        "/?changed=1"
    };
    Redirect::to(home).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_site() {
        assert_eq!(safe_next("/campaigns/2"), Some("/campaigns/2"));
        assert_eq!(safe_next("//evil.example/x"), None);
        assert_eq!(safe_next("https://evil.example"), None);
        assert_eq!(safe_next("/\\evil.example"), None);
        assert_eq!(safe_next("/\t/evil.example"), None);
        assert_eq!(safe_next("/lists\u{1}"), None);
        assert_eq!(safe_next("/signin?next=/"), None);
        assert_eq!(
            safe_next("/leads?q=ana+silva&page=2"),
            Some("/leads?q=ana+silva&page=2")
        );
    }

    #[test]
    fn log_fields_are_escaped_and_short() {
        assert_eq!(loggable("eve\nforged"), "eve\\nforged");
        let long = "x".repeat(100);
        assert_eq!(loggable(&long), format!("{}…", "x".repeat(64)));
    }

    #[test]
    fn throttle_counts_attempts_per_user_and_address() {
        let t = Throttle::default();
        let here: Option<IpAddr> = "192.0.2.1".parse().ok();
        for _ in 0..PER_USER_AND_ADDRESS_PER_MINUTE {
            assert!(t.allow("ana", here));
        }
        assert!(!t.allow("ana", here));
        assert!(t.allow("bo", here));
        // Another address still may, until the user's all-addresses bucket runs out.
        let mut elsewhere = 0;
        for i in 2..=255u8 {
            if t.allow("ana", Some(IpAddr::from([192, 0, 2, i]))) {
                elsewhere += 1;
            }
        }
        assert_eq!(
            elsewhere,
            PER_USER_PER_MINUTE - PER_USER_AND_ADDRESS_PER_MINUTE
        );
    }

    #[test]
    fn dummy_hash_is_readable() {
        assert!(!dialtone_core::users::verify_password(
            DUMMY_HASH, "anything"
        ));
        assert!(argon2::password_hash::PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn new_password_rules() {
        assert_eq!(
            check_new_password("old password", "short", "short"),
            Err("short")
        );
        assert_eq!(
            check_new_password("old password", "a long new one", "a long new 1"),
            Err("mismatch")
        );
        assert_eq!(
            check_new_password("old password", "old password", "old password"),
            Err("same")
        );
        assert_eq!(
            check_new_password("old password", "a long new one", "a long new one"),
            Ok(())
        );
    }
}
