//! Accounts: who may sign in, as what, and their argon2id password hashes.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::distributions::{Alphanumeric, DistString};
use sqlx::PgPool;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Supervisor,
    Agent,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Agent => "agent",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = UserError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "supervisor" => Ok(Role::Supervisor),
            "agent" => Ok(Role::Agent),
            other => Err(UserError::Role(other.to_string())),
        }
    }
}

/// Shortest password accepted; generated ones are longer.
pub const MIN_PASSWORD_LEN: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("unknown role '{0}': use admin, supervisor or agent")]
    Role(String),
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
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| UserError::Hash(e.to_string()))
}

/// False for a wrong password and for a hash that cannot be read.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A password for a seeded or reset account; its owner must change it at first sign-in.
pub fn generate_password() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), 16)
}

fn valid_username(name: &str) -> bool {
    (2..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.@-".contains(&b))
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
pub async fn create(pool: &PgPool, username: &str, display_name: &str, role: Role, password: &str) -> Result<i64, UserError> {
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
    .fetch_optional(pool)
    .await?;
    id.ok_or_else(|| UserError::Exists(username.to_string()))
}

pub async fn set_password(pool: &PgPool, username: &str, password: &str, must_change: bool) -> Result<(), UserError> {
    let hash = hash_password(password)?;
    let done = sqlx::query("UPDATE users SET password_hash = $2, must_change_password = $3, updated_at = now() WHERE username = $1")
        .bind(username)
        .bind(hash)
        .bind(must_change)
        .execute(pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(UserError::NotFound(username.to_string()));
    }
    Ok(())
}

pub async fn set_active(pool: &PgPool, username: &str, active: bool) -> Result<(), UserError> {
    let done = sqlx::query("UPDATE users SET active = $2, updated_at = now() WHERE username = $1").bind(username).bind(active).execute(pool).await?;
    if done.rows_affected() == 0 {
        return Err(UserError::NotFound(username.to_string()));
    }
    if !active {
        sqlx::query("DELETE FROM web_sessions WHERE user_id = (SELECT id FROM users WHERE username = $1)").bind(username).execute(pool).await?;
    }
    Ok(())
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
        assert!(matches!(hash_password("short"), Err(UserError::WeakPassword)));
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
