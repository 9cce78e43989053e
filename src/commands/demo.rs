//! `dialtone demo`: a ready-to-look-at installation. Safe to run again: what exists is kept.

use std::io::Write;

use anyhow::Context;
use clap::Args;
use dialtone_core::campaigns::{self, DialMethod};
use dialtone_core::config::Config;
use dialtone_core::dnc::{self, Scope, Source};
use dialtone_core::import::{self, ImportOptions};
use dialtone_core::users::{self, Role, UserError};
use dialtone_core::{lists, phone};
use sqlx::postgres::PgConnectOptions;

use super::{import::print_report, sample_leads};

#[derive(Args)]
pub struct DemoArgs {
    /// Leads in the demo list.
    #[arg(long, default_value_t = 2000)]
    pub leads: usize,
}

const CAMPAIGN: &str = "Demo outbound";
const ACCOUNTS: &[(&str, &str, Role)] = &[
    ("admin", "Demo Admin", Role::Admin),
    ("supervisor", "Sam Supervisor", Role::Supervisor),
    ("agent1", "Alex Agent", Role::Agent),
    ("agent2", "Blair Agent", Role::Agent),
    ("agent3", "Casey Agent", Role::Agent),
];

pub async fn run(config: &Config, args: DemoArgs) -> anyhow::Result<()> {
    let pool = super::pool(config).await?;
    dialtone_core::db::migrate(&pool).await?;
    std::fs::create_dir_all(&config.data_dir).with_context(|| format!("creating {}", config.data_dir.display()))?;

    let campaign = match campaigns::find_by_name(&pool, CAMPAIGN).await? {
        Some(c) => c.id,
        None => campaigns::create(&pool, CAMPAIGN, DialMethod::Progressive, "9am-9pm").await?,
    };
    campaigns::set_active(&pool, campaign, true).await?;

    let credentials_path = config.data_dir.join("demo-credentials.txt");
    let mut new_credentials = Vec::new();
    for (username, name, role) in ACCOUNTS {
        let password = users::generate_password();
        match users::create(&pool, username, name, *role, &password).await {
            Ok(_) => new_credentials.push(format!("{username} {password} ({})", role.as_str())),
            Err(UserError::Exists(_)) => {}
            Err(e) => return Err(e.into()),
        }
        if *role != Role::Admin {
            let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE username = $1").bind(username).fetch_one(&pool).await?;
            campaigns::grant(&pool, id, campaign).await?;
        }
    }
    if !new_credentials.is_empty() {
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&credentials_path)?;
        for line in &new_credentials {
            writeln!(file, "{line}")?;
        }
    }

    // A few numbers of the demo file are on the DNC lists, so the import shows the scrub.
    let us = phone::country("US")?;
    for number in ["(305) 555-0100", "(212) 555-0199"] {
        dnc::add_number(&pool, Scope::System, &phone::normalize(number, us)?, Source::Manual, "demo").await?;
    }
    dnc::add_area_code(&pool, Scope::Campaign(campaign), "1808", "demo: no calls to Hawaii").await?;

    let list = match lists::all(&pool).await?.into_iter().find(|l| l.campaign_id == Some(campaign)) {
        Some(l) => l.id,
        None => lists::create(&pool, "Demo leads", Some(campaign), "US").await?,
    };
    let csv_path = config.data_dir.join("demo-leads.csv");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&csv_path)?);
        sample_leads::write(&mut out, args.leads, 7, 10)?;
        out.flush()?;
    }
    let options = ImportOptions::new(list, config.data_dir.join("demo-leads.errors.csv"));
    let report = import::import_csv(&pool, &csv_path, &options, None).await?;

    let db: PgConnectOptions = config.database_url.expose().parse()?;
    println!();
    println!("Dialtone demo is ready.");
    println!("  database     PostgreSQL {}:{} database '{}'", db.get_host(), db.get_port(), db.get_database().unwrap_or("postgres"));
    match &config.redis_url {
        Some(_) => println!("  event bus    Redis (REDIS_URL)"),
        None => println!("  event bus    in-process (one node; set REDIS_URL for several)"),
    }
    println!("  campaign     '{CAMPAIGN}' (id {campaign}), progressive, 9am-9pm in each callee's zone");
    print!("  leads        list {list}: ");
    print_report(&report);
    println!("  accounts     {}", ACCOUNTS.iter().map(|a| a.0).collect::<Vec<_>>().join(", "));
    for line in &new_credentials {
        println!("               {line}");
    }
    println!("               passwords are kept in {}", credentials_path.display());
    println!("  node         `dialtone serve`: FastAGI on {}, AMI to {}:{}, dialer loops; metrics on {}", config.listen.agi, config.ami.host, config.ami.port, config.listen.metrics);
    println!("  Asterisk     include dialplan/ and asterisk-conf/ as docs/asterisk.md says");
    println!("  try          dialtone list show {list}");
    println!("               dialtone export --list {list} -o leads-out.csv");
    println!("               dialtone dnc check '(305) 555-0100'");
    Ok(())
}
