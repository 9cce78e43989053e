//! One module per subcommand; they parse arguments, call `dialtone-core`, and print.

pub mod bench;
pub mod demo;
pub mod dnc;
pub mod doctor;
pub mod export;
pub mod import;
pub mod list;
pub mod migrate;
pub mod node;
pub mod sample_leads;
pub mod sim;
pub mod user;
pub mod web;

use dialtone_core::config::Config;
use sqlx::PgPool;

/// The pool every one-shot command uses.
pub async fn pool(config: &Config) -> anyhow::Result<PgPool> {
    Ok(dialtone_core::db::connect(&config.database_url, 4).await?)
}

/// A setting's list of address ranges (`10.0.0.0/8`), each checked, the setting named in the error.
pub fn address_ranges<T: std::str::FromStr>(
    setting: &str,
    ranges: &[String],
) -> anyhow::Result<Vec<T>> {
    ranges
        .iter()
        .map(|net| {
            net.parse().map_err(|_| {
                anyhow::anyhow!("{setting}: '{net}' is not an address range such as 10.0.0.0/8")
            })
        })
        .collect()
}
