//! Accounts: who may sign in, as what, and their argon2id password hashes.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::distributions::{Alphanumeric, DistString};
use sqlx::PgPool;

use crate::vocabulary::Role;

/// Shortest password accepted; generated ones are longer.
pub const MIN_PASSWORD_LEN: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("username '{0}' is not allowed: 2 to 64 of a-z 0-9 _ . @ -")]
    Username(String),
    #[error("the password must have at least {MIN_PASSWORD_LEN} characters")]
    WeakPassword,
    #[error("user '{0}' already exists")]
    Exists(String),
    #[error("no user '{0}'")]
    NotFound(String),
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub fn hash_password(password: &str) -> Result<String, UserError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(UserError::WeakPassword);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| UserError::Hash(e.to_string()))
}

/// False for a wrong password and for a hash that cannot be read.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A password for a seeded or reset account; its owner must change it at first sign-in.
pub fn generate_password() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), 16)
}

fn valid_username(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.@-".contains(&b))
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub active: bool,
    pub must_change_password: bool,
}

/// Creates an account that must change its password at first sign-in.
/// In the caller's transaction when `db` is one (the admin audits it there).
pub async fn create<'c>(
    db: impl sqlx::PgExecutor<'c>,
    username: &str,
    display_name: &str,
    role: Role,
    password: &str,
) -> Result<i64, UserError> {
    if !valid_username(username) {
        return Err(UserError::Username(username.to_string()));
    }
    let hash = hash_password(password)?;
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO users (username, display_name, role, password_hash) VALUES ($1, $2, $3, $4)
         ON CONFLICT (username) DO NOTHING RETURNING id",
    )
    .bind(username)
    .bind(display_name)
    .bind(role.as_str())
    .bind(hash)
    .fetch_optional(db)
    .await?;
    id.ok_or_else(|| UserError::Exists(username.to_string()))
}

/// Sets a password. One an admin or operator sets for someone (`must_change`) is a reset: it
/// ends everything the old password opened ([`AccessEnd::Everything`]). A user's own change
/// keeps their sessions; the web closes their other browsers itself.
pub async fn set_password(
    pool: &PgPool,
    username: &str,
    password: &str,
    must_change: bool,
) -> Result<(), UserError> {
    let id = store_password(pool, username, password, must_change).await?;
    if must_change {
        end_access(pool, id, AccessEnd::Everything, "password reset").await?;
    }
    Ok(())
}

/// Stores a new password's hash and nothing else (in the caller's transaction when `db` is
/// one); returns the user's id. [`set_password`] also ends what a reset must end.
pub async fn store_password<'c>(
    db: impl sqlx::PgExecutor<'c>,
    username: &str,
    password: &str,
    must_change: bool,
) -> Result<i64, UserError> {
    let hash = hash_password(password)?;
    let id: Option<i64> = sqlx::query_scalar("UPDATE users SET password_hash = $2, must_change_password = $3, updated_at = now() WHERE username = $1 RETURNING id")
        .bind(username)
        .bind(hash)
        .bind(must_change)
        .fetch_optional(db)
        .await?;
    id.ok_or_else(|| UserError::NotFound(username.to_string()))
}

/// An account's phone as an edit leaves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phone<'a> {
    /// As it is.
    Keep,
    /// This dial string (checked by the caller against `asterisk_values`), or none.
    Set(Option<&'a str>),
}

/// Changes an account's role, whether it may sign in, and its phone, in the caller's
/// transaction. Returns the phone it has after.
pub async fn update_in(
    tx: &mut sqlx::PgConnection,
    id: i64,
    role: Role,
    active: bool,
    phone: Phone<'_>,
) -> Result<Option<String>, sqlx::Error> {
    let (keep, dial_string) = match phone {
        Phone::Keep => (true, None),
        Phone::Set(dial_string) => (false, dial_string),
    };
    sqlx::query_scalar(
        "UPDATE users SET role = $2, active = $3, updated_at = now(),
                phone_dial_string = CASE WHEN $5 THEN phone_dial_string ELSE $4 END
         WHERE id = $1 RETURNING phone_dial_string",
    )
    .bind(id)
    .bind(role)
    .bind(active)
    .bind(dial_string)
    .bind(keep)
    .fetch_one(tx)
    .await
}

/// Turns an account on or off; off ends everything it had open ([`AccessEnd::Everything`]).
pub async fn set_active(pool: &PgPool, username: &str, active: bool) -> Result<(), UserError> {
    let id: Option<i64> = sqlx::query_scalar(
        "UPDATE users SET active = $2, updated_at = now() WHERE username = $1 RETURNING id",
    )
    .bind(username)
    .bind(active)
    .fetch_optional(pool)
    .await?;
    let id = id.ok_or_else(|| UserError::NotFound(username.to_string()))?;
    if !active {
        end_access(pool, id, AccessEnd::Everything, "account deactivated").await?;
    }
    Ok(())
}

/// How a user's access ended, and so what of theirs closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessEnd<'a> {
    /// Signed out of one browser: that web session, and their dialer session.
    SignedOut { token_sha256: &'a str },
    /// Signed out everywhere, deactivated, or given a new password by someone else: every web
    /// session, every API token, and their dialer session.
    Everything,
    /// The campaigns they may work changed: their dialer session ends if its campaign is no
    /// longer theirs, and their pages reopen with what they may now see.
    Campaigns,
}

/// Closes what `end` says, at once: web sessions (each deletion closes that session's pages'
/// sockets on every web node: migration `20261202000002_access_ends.sql`), API tokens, and
/// dialer sessions, which take no call from then on and whose phones their nodes hang up
/// (`dialtone_fastagi::remote`). Returns the dialer sessions it ended.
pub async fn end_access(
    pool: &PgPool,
    user_id: i64,
    end: AccessEnd<'_>,
    reason: &str,
) -> Result<Vec<i64>, sqlx::Error> {
    match end {
        AccessEnd::SignedOut { token_sha256 } => {
            sqlx::query("DELETE FROM web_sessions WHERE user_id = $1 AND token_sha256 = $2")
                .bind(user_id)
                .bind(token_sha256)
                .execute(pool)
                .await?;
        }
        AccessEnd::Everything => {
            sqlx::query("DELETE FROM web_sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(pool)
                .await?;
            sqlx::query("UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL").bind(user_id).execute(pool).await?;
        }
        AccessEnd::Campaigns => {
            let news = crate::live::LiveEvent::Revoked {
                user_id,
                session: None,
            };
            let payload =
                serde_json::to_string(&news).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(crate::live::PG_CHANNEL)
                .bind(payload)
                .execute(pool)
                .await?;
        }
    }
    let sessions: Vec<i64> = sqlx::query_scalar(
        "SELECT s.id FROM agent_sessions s
         WHERE s.user_id = $1 AND s.logged_out_at IS NULL
           AND (NOT $2 OR NOT EXISTS (SELECT 1 FROM user_campaigns uc WHERE uc.user_id = s.user_id AND uc.campaign_id = s.campaign_id))",
    )
    .bind(user_id)
    .bind(matches!(end, AccessEnd::Campaigns))
    .fetch_all(pool)
    .await?;
    let mut ended = Vec::with_capacity(sessions.len());
    for session_id in sessions {
        // A lead being previewed goes back to the dialer.
        crate::preview::release(pool, session_id, 0).await?;
        if crate::agents::log_out(pool, session_id, reason).await? {
            ended.push(session_id);
        }
    }
    Ok(ended)
}

pub async fn list(pool: &PgPool) -> Result<Vec<User>, UserError> {
    Ok(sqlx::query_as("SELECT id, username, display_name, role, active, must_change_password FROM users ORDER BY username")
        .fetch_all(pool)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").expect("hashes");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password(&hash, "correct horse battery"));
        assert!(!verify_password(&hash, "wrong horse battery"));
        assert!(!verify_password("not a hash", "anything"));
        assert!(matches!(
            hash_password("short"),
            Err(UserError::WeakPassword)
        ));
        assert_eq!(generate_password().len(), 16);
    }

    #[test]
    fn usernames() {
        assert!(valid_username("ana.silva@acme"));
        assert!(!valid_username("Ana"));
        assert!(!valid_username("a"));
        assert!(!valid_username("robert'); drop"));
    }
}
