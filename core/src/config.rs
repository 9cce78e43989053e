//! Configuration for every Dialtone process: defaults, then a TOML file, then the environment.
//!
//! Each key can be set in the file (`[ami] host = "..."`) or as `DIALTONE_<SECTION>__<KEY>`
//! (`DIALTONE_AMI__HOST`). The conventional `DATABASE_URL` and `REDIS_URL` are read as well.
//! The full list, with defaults, is in `docs/configuration.md`.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// A value that must never reach a log line: `Debug` and `Display` print a placeholder.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that has to send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Names this node in call and attempt rows; several nodes share one database.
    pub node: String,
    /// PostgreSQL URL. It may carry a password, so it is a secret.
    pub database_url: Secret,
    /// Redis URL for the event bus between nodes; unset, one node uses an in-process bus.
    pub redis_url: Option<Secret>,
    pub data_dir: PathBuf,
    /// Where Asterisk's MixMonitor writes recordings, on the Asterisk machine; recording rows
    /// hold paths relative to it.
    pub recordings_dir: PathBuf,
    pub log: LogConfig,
    pub ami: AmiConfig,
    pub listen: ListenConfig,
    pub web: WebConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// The built browser bundle: `target/site` after `scripts/build-admin`.
    pub site_root: PathBuf,
    /// The address people type to reach the admin; with https, cookies are marked `Secure`.
    pub public_url: String,
    /// Largest lead or DNC file the admin accepts, in MiB.
    pub max_upload_mb: u32,
    /// Reverse proxies in front of the admin (address ranges): from these peers, and only
    /// these, `X-Forwarded-For` names the client for the audit log and the sign-in throttle.
    pub trusted_proxies: Vec<String>,
    /// Seconds a client has to send a request's header before its connection is closed.
    pub header_read_timeout_secs: u64,
    /// Connections the admin keeps open at once; more wait to be accepted.
    pub max_connections: usize,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing` filter such as `info,dialtone_core=debug`; `RUST_LOG` overrides it.
    pub filter: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AmiConfig {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub secret: Secret,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ListenConfig {
    /// FastAGI server; Asterisk connects here.
    pub agi: SocketAddr,
    /// Web admin, agent and supervisor pages.
    pub web: SocketAddr,
    /// `/metrics` and `/healthz` of the process.
    pub metrics: SocketAddr,
    /// Addresses allowed to open FastAGI sessions (AGI has no authentication).
    pub agi_allow: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            node: "node1".into(),
            database_url: Secret::new("postgres://postgres@127.0.0.1:5432/dialtone"),
            redis_url: None,
            data_dir: PathBuf::from(".dialtone"),
            recordings_dir: PathBuf::from("/var/spool/asterisk/monitor/dialtone"),
            log: LogConfig {
                format: LogFormat::Human,
                filter: "info,sqlx=warn".into(),
            },
            ami: AmiConfig {
                host: "127.0.0.1".into(),
                port: 5038,
                username: "dialtone".into(),
                secret: Secret::default(),
            },
            listen: ListenConfig {
                agi: SocketAddr::from(([127, 0, 0, 1], 4573)),
                web: SocketAddr::from(([127, 0, 0, 1], 8080)),
                metrics: SocketAddr::from(([127, 0, 0, 1], 9464)),
                agi_allow: vec!["127.0.0.1/32".into(), "::1/128".into()],
            },
            web: WebConfig {
                site_root: PathBuf::from("target/site"),
                public_url: "http://127.0.0.1:8080".into(),
                max_upload_mb: 200,
                trusted_proxies: Vec::new(),
                header_read_timeout_secs: 10,
                max_connections: 4096,
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    Missing(PathBuf),
    /// figment's message names the key and where its value came from.
    #[error("invalid configuration: {0}")]
    Invalid(#[from] Box<figment::Error>),
}

impl Config {
    /// The top-level keys. Other `DIALTONE_*` variables (the scripts' own, `DIALTONE_CONFIG`)
    /// are not configuration and are left alone.
    const SECTIONS: &'static [&'static str] = &[
        "node",
        "database_url",
        "redis_url",
        "data_dir",
        "recordings_dir",
        "log",
        "ami",
        "listen",
        "web",
    ];

    /// Loads defaults, then `file` (when given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::figment(file)?
            .extract()
            .map_err(|e| ConfigError::Invalid(Box::new(e)))
    }

    fn figment(file: Option<&Path>) -> Result<Figment, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError::Missing(file.to_path_buf()));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        Ok(figment
            .merge(
                Env::prefixed("DIALTONE_")
                    .filter(|key| {
                        Self::SECTIONS
                            .iter()
                            .any(|s| key.as_str().to_ascii_lowercase().starts_with(s))
                    })
                    .split("__"),
            )
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL", "REDIS_URL"])
                    .map(|k| k.as_str().to_ascii_lowercase().into()),
            ))
    }
}

#[cfg(test)]
// figment's Jail closures return its (large) Error.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn file_then_environment() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "d.toml",
                "node = \"east\"\n[ami]\nhost = \"pbx1\"\nsecret = \"s3cret\"\n",
            )?;
            jail.set_env("DATABASE_URL", "postgres://u:pw@db/x");
            jail.set_env("DIALTONE_AMI__PORT", "5039");
            let config = Config::load(Some(Path::new("d.toml"))).expect("loads");
            assert_eq!(config.node, "east");
            assert_eq!(config.ami.host, "pbx1");
            assert_eq!(config.ami.port, 5039);
            assert_eq!(config.database_url.expose(), "postgres://u:pw@db/x");
            let shown = format!("{config:?}");
            assert!(
                !shown.contains("s3cret") && !shown.contains("pw@"),
                "{shown}"
            );
            Ok(())
        });
    }

    #[test]
    fn other_dialtone_variables_are_not_configuration() {
        Jail::expect_with(|jail| {
            jail.set_env("DIALTONE_CONFIG", "x.toml");
            jail.set_env("DIALTONE_PG_PORT", "5433");
            jail.set_env("DIALTONE_LISTEN__WEB", "127.0.0.1:9000");
            let config = Config::load(None).expect("loads");
            assert_eq!(config.listen.web.port(), 9000);
            jail.set_env("DIALTONE_LISTEN__WBE", "127.0.0.1:9000");
            let err = Config::load(None).expect_err("a typo inside a section is named");
            assert!(err.to_string().contains("wbe"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn invalid_value_names_the_key() {
        Jail::expect_with(|jail| {
            jail.create_file("d.toml", "[ami]\nport = \"not a port\"\n")?;
            let err = Config::load(Some(Path::new("d.toml"))).expect_err("rejects");
            assert!(err.to_string().contains("ami.port"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn unknown_key_is_named() {
        Jail::expect_with(|jail| {
            jail.create_file("d.toml", "[listen]\nwbe = \"127.0.0.1:1\"\n")?;
            let err = Config::load(Some(Path::new("d.toml"))).expect_err("rejects");
            assert!(err.to_string().contains("wbe"), "{err}");
            Ok(())
        });
    }
}
