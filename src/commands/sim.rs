//! `dialtone sim`: the PBX simulator on its own, standing in for Asterisk beside a node
//! (`dialtone serve` with `ami.port` pointed at it) until SIGINT.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;
use dialtone_sim::{CalleeModel, Pbx, PbxConfig};

#[derive(Args)]
pub struct SimArgs {
    /// Where the simulator's AMI listens.
    #[arg(long, default_value = "127.0.0.1:5038")]
    pub ami: SocketAddr,
    /// Dialtone's FastAGI server, where answered channels run their AGI steps.
    #[arg(long, default_value = "127.0.0.1:4573")]
    pub agi: SocketAddr,
    /// Seed of the callee model: the same seed, the same callees.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Shares of dials that are busy, answered by a person, answered by a machine (the rest ring out).
    #[arg(long, default_value_t = 0.1)]
    pub busy: f64,
    #[arg(long, default_value_t = 0.3)]
    pub human: f64,
    #[arg(long, default_value_t = 0.1)]
    pub machine: f64,
    /// Share of dials the network cannot complete (congestion).
    #[arg(long, default_value_t = 0.0)]
    pub congestion: f64,
    /// Ring time range before a callee answers (or the line is busy), in seconds.
    #[arg(long, default_value_t = 5)]
    pub ring_min_secs: u64,
    #[arg(long, default_value_t = 25)]
    pub ring_max_secs: u64,
    /// Talk time range of a person, in seconds.
    #[arg(long, default_value_t = 60)]
    pub talk_min_secs: u64,
    #[arg(long, default_value_t = 300)]
    pub talk_max_secs: u64,
    /// Share of people answering machine detection calls machines, and of machines it calls people.
    #[arg(long, default_value_t = 0.0)]
    pub amd_false_positive: f64,
    #[arg(long, default_value_t = 0.0)]
    pub amd_false_negative: f64,
    /// Share of people who hang up when no agent is with them within 1 to 5 seconds of answering.
    #[arg(long, default_value_t = 0.0)]
    pub impatient: f64,
    /// Runs simulated time this many times faster than the clock (ring, talk and patience times).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Callees by the number dialed, as the real-Asterisk tests' dialplan has them (the last
    /// four digits: 01xx a person, 02xx a machine, 04xx busy...); other numbers are drawn.
    #[arg(long)]
    pub callees_by_number: bool,
}

pub async fn run(args: SimArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.busy + args.congestion + args.human + args.machine <= 1.0,
        "--busy, --congestion, --human and --machine add up to more than 1"
    );
    for (flag, share) in [
        ("--amd-false-positive", args.amd_false_positive),
        ("--amd-false-negative", args.amd_false_negative),
        ("--impatient", args.impatient),
    ] {
        anyhow::ensure!(
            (0.0..=1.0).contains(&share),
            "{flag} is a share between 0 and 1, not {share}"
        );
    }
    anyhow::ensure!(
        args.time_scale.is_finite() && args.time_scale > 0.0,
        "--time-scale must be above 0, not {}",
        args.time_scale
    );
    let mut model = CalleeModel::new(args.seed);
    (model.busy, model.congestion, model.human, model.machine) =
        (args.busy, args.congestion, args.human, args.machine);
    model.talk = (
        Duration::from_secs(args.talk_min_secs),
        Duration::from_secs(args.talk_max_secs.max(args.talk_min_secs)),
    );
    model.ring = (
        Duration::from_secs(args.ring_min_secs),
        Duration::from_secs(args.ring_max_secs.max(args.ring_min_secs)),
    );
    (
        model.amd_false_positive,
        model.amd_false_negative,
        model.impatient,
    ) = (
        args.amd_false_positive,
        args.amd_false_negative,
        args.impatient,
    );
    model.time_scale = args.time_scale;
    model.by_number = args.callees_by_number;
    let pbx = Pbx::start_on(
        args.ami,
        PbxConfig {
            agi: args.agi,
            model,
        },
    )
    .await?;
    println!(
        "PBX simulator: AMI on {} (any username and secret), AGI to {}; seed {}; time x{}. Ctrl-C stops it.",
        pbx.ami, args.agi, args.seed, args.time_scale
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
