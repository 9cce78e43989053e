//! `dialtone`: the one binary an operator runs. Each subcommand lives in `commands/`.

mod commands;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use dialtone_core::config::Config;

#[derive(Parser)]
#[command(
    name = "dialtone",
    version,
    about = "Predictive dialer and contact center for Asterisk"
)]
struct Cli {
    /// TOML configuration file; every key can also come from the environment (docs/configuration.md).
    #[arg(long, global = true, env = "DIALTONE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create or update the database schema (safe to run again).
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    User(commands::user::UserCommand),
    /// Manage lead lists.
    #[command(subcommand)]
    List(commands::list::ListCommand),
    /// Import a CSV file of leads into a list.
    Import(commands::import::ImportArgs),
    /// Write leads and their latest call results to CSV.
    Export(commands::export::ExportArgs),
    /// Manage do-not-call lists.
    #[command(subcommand)]
    Dnc(commands::dnc::DncCommand),
    /// Run the FastAGI server with the call flows (Asterisk's `AGI(agi://...)` connects here).
    Agi(commands::node::AgiArgs),
    /// Run a node: FastAGI, the AMI link to its Asterisk, the dialer of every active campaign, and the web admin.
    Serve(commands::node::ServeArgs),
    /// Check that this node's Asterisk has every module, context, profile and prompt Dialtone uses.
    Doctor,
    /// Run the web admin (pages and JSON API).
    Web(commands::web::WebArgs),
    /// Run the PBX simulator, standing in for Asterisk.
    Sim(commands::sim::SimArgs),
    /// Set up a demonstration: schema, users, a campaign and leads.
    Demo(commands::demo::DemoArgs),
    /// Measure performance; each prints its numbers.
    #[command(subcommand)]
    Bench(commands::bench::BenchCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("dialtone: {e}");
            return ExitCode::from(2);
        }
    };
    dialtone_core::telemetry::init_logging(config.log.format, &config.log.filter);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("dialtone: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dialtone: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Migrate => commands::migrate::run(&config).await,
        Command::User(c) => commands::user::run(&config, c).await,
        Command::List(c) => commands::list::run(&config, c).await,
        Command::Import(a) => commands::import::run(&config, a).await,
        Command::Export(a) => commands::export::run(&config, a).await,
        Command::Dnc(c) => commands::dnc::run(&config, c).await,
        Command::Agi(a) => commands::node::run(&config, a).await,
        Command::Serve(a) => commands::node::serve(&config, a).await,
        Command::Web(a) => commands::web::run(&config, a).await,
        Command::Doctor => commands::doctor::run(&config).await,
        Command::Sim(a) => commands::sim::run(a).await,
        Command::Demo(a) => commands::demo::run(&config, a).await,
        Command::Bench(c) => commands::bench::run(&config, c).await,
    }
}
