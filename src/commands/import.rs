use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use dialtone_core::config::Config;
use dialtone_core::import::{self, Duplicates, Field, ImportOptions, ImportReport};

#[derive(Args)]
pub struct ImportArgs {
    /// CSV file with a header line.
    pub file: PathBuf,
    #[arg(long)]
    pub list: i64,
    /// A number already in the list: keep the lead there (skip) or refresh it (update).
    #[arg(long, default_value = "skip", value_parser = ["skip", "update"])]
    pub duplicates: String,
    /// Column choices, e.g. --map "Tel A=phone" --map "Notes=ignore".
    #[arg(long = "map", value_name = "HEADER=FIELD")]
    pub mapping: Vec<String>,
    /// Rejected rows go here (default: FILE.errors.csv beside the input).
    #[arg(long)]
    pub errors: Option<PathBuf>,
    /// Connections merging at once; PostgreSQL spends about a core on each.
    #[arg(long, default_value_t = import::DEFAULT_CONNECTIONS as u16, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub connections: u16,
}

pub async fn run(config: &Config, args: ImportArgs) -> anyhow::Result<()> {
    let pool =
        dialtone_core::db::connect(&config.database_url, u32::from(args.connections) + 1).await?;
    let mut options = ImportOptions::new(
        args.list,
        args.errors
            .unwrap_or_else(|| args.file.with_extension("errors.csv")),
    );
    options.duplicates = if args.duplicates == "update" {
        Duplicates::Update
    } else {
        Duplicates::Skip
    };
    options.mapping = parse_mapping(&args.mapping)?;
    options.connections = usize::from(args.connections);
    let report = import::import_csv(&pool, &args.file, &options, None).await?;
    print_report(&report);
    Ok(())
}

fn parse_mapping(pairs: &[String]) -> anyhow::Result<HashMap<String, Field>> {
    let mut mapping = HashMap::new();
    for pair in pairs {
        let Some((header, field)) = pair.rsplit_once('=') else {
            bail!("--map '{pair}': write HEADER=FIELD");
        };
        let field: Field = serde_json::from_value(serde_json::Value::String(field.trim().to_string()))
            .with_context(|| format!("--map '{pair}': unknown field '{field}' (phone, alt_phone, first_name, ..., custom, ignore)"))?;
        mapping.insert(header.to_string(), field);
    }
    Ok(mapping)
}

pub fn print_report(report: &ImportReport) {
    let t = &report.totals;
    if report.already_imported {
        println!(
            "import job {} had already finished: nothing to do",
            report.job_id
        );
    } else if report.resumed_after_line > 0 {
        println!(
            "import job {} resumed after line {}",
            report.job_id, report.resumed_after_line
        );
    }
    println!(
        "lines {}  inserted {}  updated {}  duplicates {}  on DNC {}  rejected {}  ({:.1} s)",
        t.lines_committed,
        t.inserted,
        t.updated,
        t.duplicate,
        t.dnc,
        t.rejected,
        report.elapsed.as_secs_f64()
    );
    if let Some(path) = &report.error_report {
        println!(
            "rejected rows, with line numbers and reasons: {}",
            path.display()
        );
    }
}
