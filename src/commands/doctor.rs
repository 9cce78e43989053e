//! `dialtone doctor`: asks this node's Asterisk, over AMI, whether it has every module,
//! context, ConfBridge profile, music class, prompt and AMD setting Dialtone uses, and prints
//! a line for each with the fix for what is missing. Exits non-zero when anything is.

use std::time::Duration;

use dialtone_asterisk::ami::{AmiClient, AmiConfig, Auth, Link};
use dialtone_core::config::Config;

pub async fn run(config: &Config) -> anyhow::Result<()> {
    let address = format!("{}:{}", config.ami.host, config.ami.port);
    let mut ami = AmiConfig::new(&address, &config.ami.username, config.ami.secret.expose());
    ami.auth = Auth::Md5;
    let ami = AmiClient::start(ami);
    let mut link = ami.link();
    let up = tokio::time::timeout(
        Duration::from_secs(10),
        link.wait_for(|l| matches!(l, Link::Up { .. })),
    )
    .await
    .is_ok();
    if !up {
        let why = match link.borrow().clone() {
            Link::Down { reason } => format!(": {reason}"),
            _ => String::new(),
        };
        anyhow::bail!("cannot reach Asterisk's AMI at {address} (ami.host, ami.port){why}");
    }
    if let Link::Up { version, .. } = &*link.borrow() {
        println!("Asterisk at {address}: {version}");
    }
    let sounds = campaign_sounds(config).await;
    let findings =
        dialtone_fastagi::doctor::examine(&ami, &config.listen.agi.to_string(), &sounds).await?;
    let missing = findings.iter().filter(|f| !f.ok).count();
    for f in &findings {
        println!(
            "{} {:<40} {}",
            if f.ok { "ok     " } else { "MISSING" },
            f.what,
            f.detail
        );
    }
    if missing > 0 {
        anyhow::bail!(
            "{missing} of {} checks failed: fix them as each line says",
            findings.len()
        );
    }
    println!("all {} checks passed", findings.len());
    Ok(())
}

/// The prompts the active campaigns name, when the database can be reached (doctor still looks
/// at Asterisk when it cannot).
async fn campaign_sounds(config: &Config) -> Vec<String> {
    let Ok(pool) = dialtone_core::db::connect(&config.database_url, 1).await else {
        println!("(the database cannot be reached: the campaigns' own prompts are not looked at)");
        return Vec::new();
    };
    dialtone_core::campaigns::prompts(&pool)
        .await
        .unwrap_or_default()
}
