//! The PostgreSQL pool and the schema migrations (the SQL lives in `/migrations`).

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::config::Secret;

/// The workspace's migrations, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL itself is not shown: it may carry a password.
    #[error("the database URL is not valid: {0}")]
    Url(sqlx::Error),
    #[error("cannot reach the database at {host}:{port} ({source})")]
    Connect {
        host: String,
        port: u16,
        source: sqlx::Error,
    },
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Opens a pool; fails fast (5 s) when the server cannot be reached, naming host and port.
pub async fn connect(url: &Secret, max_connections: u32) -> Result<PgPool, DbError> {
    let options: PgConnectOptions = url.expose().parse().map_err(DbError::Url)?;
    let (host, port) = (options.get_host().to_string(), options.get_port());
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(|source| DbError::Connect { host, port, source })
}

/// Brings the schema up to date. Running it again applies nothing.
pub async fn migrate(pool: &PgPool) -> Result<(), DbError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}
