use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use dialtone_core::config::Config;
use dialtone_core::dnc::{self, Scope, Source};
use dialtone_core::phone;

#[derive(Subcommand)]
pub enum DncCommand {
    /// Add a number (any format; --country for numbers without a country code).
    Add {
        number: String,
        #[arg(long)]
        campaign: Option<i64>,
        #[arg(long, default_value = "US")]
        country: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Block every number in an area code, given with its country code: 1201 for +1 201.
    AddAreaCode {
        digits: String,
        #[arg(long)]
        campaign: Option<i64>,
    },
    /// Remove a number, or an area code given as add-area-code takes it (1201 or +1201).
    Remove {
        number: String,
        #[arg(long)]
        campaign: Option<i64>,
        #[arg(long, default_value = "US")]
        country: String,
    },
    /// Say whether a number may be called, and which entry blocks it.
    Check {
        number: String,
        #[arg(long)]
        campaign: Option<i64>,
        #[arg(long, default_value = "US")]
        country: String,
    },
    /// Load a national-registry file: one 10-digit number a line.
    Load {
        file: PathBuf,
        #[arg(long)]
        campaign: Option<i64>,
    },
}

fn scope(campaign: Option<i64>) -> Scope {
    campaign.map_or(Scope::System, Scope::Campaign)
}

fn e164(number: &str, country: &str) -> anyhow::Result<phone::E164> {
    Ok(phone::normalize(
        number,
        phone::country(&country.to_ascii_uppercase())?,
    )?)
}

pub async fn run(config: &Config, command: DncCommand) -> anyhow::Result<()> {
    let pool = super::pool(config).await?;
    match command {
        DncCommand::Add {
            number,
            campaign,
            country,
            note,
        } => {
            let n = e164(&number, &country)?;
            let added = dnc::add_number(&pool, scope(campaign), &n, Source::Manual, &note).await?;
            println!(
                "{} {}",
                n.number,
                if added { "added" } else { "was already listed" }
            );
        }
        DncCommand::AddAreaCode { digits, campaign } => {
            let added = dnc::add_area_code(&pool, scope(campaign), &digits, "").await?;
            println!(
                "+{} {}",
                digits.trim_start_matches('+'),
                if added { "added" } else { "was already listed" }
            );
        }
        DncCommand::Remove {
            number,
            campaign,
            country,
        } => {
            // 2 to 7 digits (with or without +) is an area code, as add-area-code reads it.
            let digits = number.trim().trim_start_matches('+');
            let value =
                if (2..=7).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
                    format!("+{digits}")
                } else {
                    e164(&number, &country)?.number
                };
            let removed = dnc::remove(&pool, scope(campaign), &value).await?;
            println!(
                "{value} {}",
                if removed { "removed" } else { "was not listed" }
            );
        }
        DncCommand::Check {
            number,
            campaign,
            country,
        } => {
            let n = e164(&number, &country)?;
            match dnc::check(&pool, campaign, &n.number).await? {
                None => println!("{}: not on any DNC list", n.number),
                Some(hit) => println!(
                    "{}: blocked by the {} list ({} {})",
                    n.number,
                    hit.campaign_id
                        .map_or("system".to_string(), |c| format!("campaign {c}")),
                    hit.kind,
                    hit.value
                ),
            }
        }
        DncCommand::Load { file, campaign } => {
            let input = std::fs::File::open(&file)
                .with_context(|| format!("opening {}", file.display()))?;
            let started = std::time::Instant::now();
            let report = dnc::load_registry(
                &pool,
                scope(campaign),
                std::io::BufReader::new(input),
                Source::Registry,
            )
            .await?;
            println!(
                "lines {}  added {}  already listed {}  rejected {}  ({:.1} s)",
                report.lines,
                report.added,
                report.already_listed,
                report.rejected_count,
                started.elapsed().as_secs_f64()
            );
            for (line, reason) in &report.rejected {
                println!("  line {line}: {reason}");
            }
        }
    }
    Ok(())
}
