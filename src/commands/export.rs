use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use dialtone_core::config::Config;
use dialtone_core::export::{self, Selection};

#[derive(Args)]
pub struct ExportArgs {
    #[arg(long, conflicts_with = "campaign")]
    pub list: Option<i64>,
    #[arg(long)]
    pub campaign: Option<i64>,
    /// Output file; standard output when absent.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

pub async fn run(config: &Config, args: ExportArgs) -> anyhow::Result<()> {
    let selection = match (args.list, args.campaign) {
        (Some(list), None) => Selection::List(list),
        (None, Some(campaign)) => Selection::Campaign(campaign),
        _ => bail!("give --list ID or --campaign ID"),
    };
    let pool = super::pool(config).await?;
    let rows = match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            let rows = export::export_leads(&pool, selection, &mut out).await?;
            out.flush()?;
            rows
        }
        None => export::export_leads(&pool, selection, std::io::stdout().lock()).await?,
    };
    eprintln!("{rows} leads written");
    Ok(())
}
