use clap::Subcommand;
use dialtone_core::config::Config;
use dialtone_core::lists;

#[derive(Subcommand)]
pub enum ListCommand {
    /// Create a list; prints its id.
    Create {
        name: String,
        #[arg(long)]
        campaign: Option<i64>,
        /// Country of numbers written without a country code.
        #[arg(long, default_value = "US")]
        country: String,
    },
    /// Lead counts of a list, by status.
    Show { id: i64 },
    /// Every list.
    All,
}

pub async fn run(config: &Config, command: ListCommand) -> anyhow::Result<()> {
    let pool = super::pool(config).await?;
    match command {
        ListCommand::Create {
            name,
            campaign,
            country,
        } => {
            let id = lists::create(&pool, &name, campaign, &country).await?;
            println!("created list {id} '{name}'");
        }
        ListCommand::Show { id } => {
            let list = lists::get(&pool, id).await?;
            let counts = lists::counts(&pool, id).await?;
            println!(
                "list {} '{}' campaign {:?} active {}",
                list.id, list.name, list.campaign_id, list.active
            );
            println!(
                "leads {}  dialable {}  time zones {}",
                counts.leads,
                counts.dialable,
                list.time_zones.join(" ")
            );
            for (status, n) in counts.by_status {
                println!("  {status:<8} {n}");
            }
        }
        ListCommand::All => {
            for l in lists::all(&pool).await? {
                println!(
                    "{:<6} {:<30} campaign {:?} active {}",
                    l.id, l.name, l.campaign_id, l.active
                );
            }
        }
    }
    Ok(())
}
