//! `dialtone demo`: a ready-to-look-at installation. Safe to run again: what exists is kept.

use dialtone_core::vocabulary::AgentState;
use std::io::Write;

use anyhow::Context;
use clap::Args;
use dialtone_core::campaigns;
use dialtone_core::config::Config;
use dialtone_core::dnc::{self, Scope, Source};
use dialtone_core::import::{self, ImportOptions};
use dialtone_core::users::{self, UserError};
use dialtone_core::vocabulary::DialMethod;
use dialtone_core::vocabulary::Role;
use dialtone_core::{lists, phone};
use sqlx::postgres::PgConnectOptions;

use super::{import::print_report, sample_leads};

#[derive(Args)]
pub struct DemoArgs {
    /// Leads in the demo list.
    #[arg(long, default_value_t = 2000)]
    pub leads: usize,
    /// Then run the dialer this many seconds against the PBX simulator (0: don't).
    #[arg(long, default_value_t = 30)]
    pub run_secs: u64,
    /// Serve the web admin on `listen.web` during the run and afterwards, until Ctrl-C.
    #[arg(long)]
    pub serve: bool,
}

const CAMPAIGN: &str = "Demo outbound";
/// The demo's accounts and the phones assigned to them (the simulator answers any).
const ACCOUNTS: &[(&str, &str, Role, Option<&str>)] = &[
    ("admin", "Demo Admin", Role::Admin, None),
    (
        "supervisor",
        "Sam Supervisor",
        Role::Supervisor,
        Some("PJSIP/2001"),
    ),
    ("agent1", "Alex Agent", Role::Agent, Some("PJSIP/1001")),
    ("agent2", "Blair Agent", Role::Agent, Some("PJSIP/1002")),
    ("agent3", "Casey Agent", Role::Agent, Some("PJSIP/1003")),
];

pub async fn run(config: &Config, args: DemoArgs) -> anyhow::Result<()> {
    let pool = super::pool(config).await?;
    dialtone_core::db::migrate(&pool).await?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;

    let campaign = match campaigns::find_by_name(&pool, CAMPAIGN).await? {
        Some(c) => c.id,
        None => campaigns::create(&pool, CAMPAIGN, DialMethod::Progressive, "9am-9pm").await?,
    };
    campaigns::set_active(&pool, campaign, true).await?;

    let credentials_path = config.data_dir.join("demo-credentials.txt");
    let mut new_credentials = Vec::new();
    for (username, name, role, phone) in ACCOUNTS {
        let password = users::generate_password();
        match users::create(&pool, username, name, *role, &password).await {
            Ok(_) => new_credentials.push(format!("{username} {password} ({})", role.as_str())),
            Err(UserError::Exists(_)) => {}
            Err(e) => return Err(e.into()),
        }
        if *role != Role::Admin {
            let id: i64 = sqlx::query_scalar(
                "UPDATE users SET phone_dial_string = $2 WHERE username = $1 RETURNING id",
            )
            .bind(username)
            .bind(phone)
            .fetch_one(&pool)
            .await?;
            campaigns::grant(&pool, id, campaign).await?;
        }
    }
    if !new_credentials.is_empty() {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&credentials_path)?;
        for line in &new_credentials {
            writeln!(file, "{line}")?;
        }
    }

    // A few numbers of the demo file are on the DNC lists, so the import shows the scrub.
    let us = phone::country("US")?;
    for number in ["(305) 555-0100", "(212) 555-0199"] {
        dnc::add_number(
            &pool,
            Scope::System,
            &phone::normalize(number, us)?,
            Source::Manual,
            "demo",
        )
        .await?;
    }
    dnc::add_area_code(
        &pool,
        Scope::Campaign(campaign),
        "1808",
        "demo: no calls to Hawaii",
    )
    .await?;

    let list = match lists::all(&pool)
        .await?
        .into_iter()
        .find(|l| l.campaign_id == Some(campaign))
    {
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
    // Callees around the world, so that some are inside calling hours whenever the demo runs.
    let world = match lists::all(&pool)
        .await?
        .into_iter()
        .find(|l| l.name == "Demo world leads")
    {
        Some(l) => l.id,
        None => lists::create(&pool, "Demo world leads", Some(campaign), "GB").await?,
    };
    let world_csv = config.data_dir.join("demo-world-leads.csv");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&world_csv)?);
        sample_leads::write_world(&mut out, 300, 11)?;
        out.flush()?;
    }
    let world_report = import::import_csv(
        &pool,
        &world_csv,
        &ImportOptions::new(world, config.data_dir.join("demo-world-leads.errors.csv")),
        None,
    )
    .await?;

    let db: PgConnectOptions = config.database_url.expose().parse()?;
    println!();
    println!("Dialtone demo is ready.");
    println!(
        "  database     PostgreSQL {}:{} database '{}'",
        db.get_host(),
        db.get_port(),
        db.get_database().unwrap_or("postgres")
    );
    match &config.redis_url {
        Some(_) => println!("  event bus    Redis (REDIS_URL)"),
        None => println!("  event bus    in-process (one node; set REDIS_URL for several)"),
    }
    println!(
        "  campaign     '{CAMPAIGN}' (id {campaign}), progressive, 9am-9pm in each callee's zone"
    );
    print!("  leads        list {list} (US): ");
    print_report(&report);
    print!("               list {world} (around the world): ");
    print_report(&world_report);
    println!(
        "  accounts     {}",
        ACCOUNTS.iter().map(|a| a.0).collect::<Vec<_>>().join(", ")
    );
    for line in &new_credentials {
        println!("               {line}");
    }
    println!(
        "               passwords are kept in {}",
        credentials_path.display()
    );
    println!(
        "  node         `dialtone serve`: FastAGI on {}, AMI to {}:{}, dialer loops; metrics on {}",
        config.listen.agi, config.ami.host, config.ami.port, config.listen.metrics
    );
    println!("  Asterisk     include dialplan/ and asterisk-conf/ as docs/asterisk.md says");
    println!("  try          dialtone list show {list}");
    println!("               dialtone export --list {list} -o leads-out.csv");
    println!("               dialtone dnc check '(305) 555-0100'");
    let web_stop = tokio_util::sync::CancellationToken::new();
    // One bus for the web and the simulated node, so an agent signing in on the web has their
    // (simulated) phone rung by the node.
    let bus = dialtone_core::bus::Bus::from_config(config.redis_url.as_ref()).await?;
    let web = args.serve.then(|| {
        println!("  web admin    {} (sign in as admin with the password above; it must be changed at first sign-in)", config.web.public_url);
        let (config, pool, stop, bus) = (config.clone(), pool.clone(), web_stop.clone(), bus.clone());
        tokio::spawn(async move { super::web::serve_admin(&config, pool, bus, stop).await })
    });
    // A long-running demo is watched like any node: /metrics and /healthz.
    let ops = if args.serve {
        let metrics = dialtone_core::telemetry::install_metrics()?;
        let router = dialtone_core::telemetry::ops_router(
            metrics,
            super::node::Health {
                pool: pool.clone(),
                ami: None,
            },
        );
        println!(
            "  ops          http://{}/metrics and /healthz",
            config.listen.metrics
        );
        Some(tokio::spawn(dialtone_core::telemetry::serve_ops(
            config.listen.metrics,
            router,
            web_stop.clone().cancelled_owned(),
        )))
    } else {
        None
    };
    let node_stop = web_stop.child_token();
    if args.run_secs > 0 {
        run_simulated(
            config,
            &pool,
            &bus,
            campaign,
            args.run_secs,
            node_stop.clone(),
        )
        .await?;
    }
    if web.is_none() {
        node_stop.cancel();
    }
    if let Some(web) = web {
        println!();
        println!(
            "The web admin stays up at {}; Ctrl-C stops it.",
            config.web.public_url
        );
        if args.run_secs > 0 {
            println!("The simulated PBX and the dialer keep running: sign in as agent1 on /agent, log in to '{CAMPAIGN}' (agent1's phone, PJSIP/1001, is answered by the simulator), go ready, and take calls.");
        }
        tokio::select! {
            _ = super::node::shutdown_signal() => {}
            ended = web => ended.context("web task")??,
        }
        web_stop.cancel();
    }
    if let Some(ops) = ops {
        ops.await.context("ops task")??;
    }
    Ok(())
}

/// The demo campaign dialing for `secs` against the PBX simulator: the three demo agents' phones
/// are rung into their conferences, the agents go ready, and the dialer, the call flows and the
/// simulated callees do the rest. Calling hours hold here as anywhere: outside them, it says so.
/// With `stop` left running afterwards, the node (simulator, call flows, dialer, call control)
/// stays up for people to use from the web.
async fn run_simulated(
    config: &Config,
    pool: &sqlx::PgPool,
    bus: &dialtone_core::bus::Bus,
    campaign: i64,
    secs: u64,
    stop: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    use std::time::Duration;

    use dialtone_asterisk::ami::{AmiClient, AmiConfig};
    use dialtone_core::agents;
    use dialtone_fastagi::{control, node};
    use dialtone_sim::{CalleeModel, Pbx, PbxConfig};

    println!();
    println!("Running the campaign for {secs} s against the PBX simulator (seeded callees: people, machines, busy lines).");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let agi = listener.local_addr()?;
    let mut model = CalleeModel::new(7);
    model.ring = (Duration::from_secs(1), Duration::from_secs(4));
    model.talk = (Duration::from_secs(3), Duration::from_secs(8));
    let pbx = Pbx::start(PbxConfig { agi, model }).await?;
    println!(
        "  simulator    AMI on {}, running AGI against Dialtone's FastAGI on {agi}",
        pbx.ami
    );
    let ami = AmiClient::start(AmiConfig::new(pbx.ami.to_string(), "dialtone", "demo"));

    sqlx::query("UPDATE agent_sessions SET state = 'logged_out', logged_out_at = now(), logout_reason = 'demo restart' WHERE logged_out_at IS NULL")
        .execute(pool)
        .await?;
    // The node `dialtone serve` runs, on the simulator: it dials the demo campaign once its
    // agents are ready.
    let settings = node::Settings::new(&config.node, &config.recordings_dir);
    node::start(
        pool.clone(),
        bus.clone(),
        ami.clone(),
        listener,
        settings,
        stop.clone(),
    );
    let agent_ids: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT id, username, phone_dial_string FROM users WHERE role = 'agent' AND active AND phone_dial_string IS NOT NULL ORDER BY username",
    )
    .fetch_all(pool)
    .await?;
    let mut sessions = Vec::new();
    for (user, name, phone) in &agent_ids {
        let session = agents::open_session(pool, *user, campaign, &config.node, phone).await?;
        ami.send(control::ring_agent_phone(session, phone)?).await?;
        sessions.push((session, *user, name.clone()));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (session, _, _) in &sessions {
        agents::set_state(pool, *session, AgentState::Ready, None).await?;
    }

    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(secs) {
        let now = chrono::Utc::now();
        let heard: Vec<_> = sessions.iter().map(|(_, user, _)| (*user, now)).collect();
        agents::seen(pool, &heard).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        if started.elapsed().as_secs() % 5 == 0 {
            let (dials, people, machines, busy, abandons): (i64, i64, i64, i64, i64) = sqlx::query_as(
                "SELECT count(*), count(*) FILTER (WHERE outcome = 'answered_human'), count(*) FILTER (WHERE outcome = 'answered_machine'),
                        count(*) FILTER (WHERE outcome = 'busy'), count(*) FILTER (WHERE outcome = 'abandoned')
                 FROM call_attempts WHERE campaign_id = $1",
            )
            .bind(campaign)
            .fetch_one(pool)
            .await?;
            let states: Vec<String> = sqlx::query_scalar(
                "SELECT state FROM agent_sessions WHERE logged_out_at IS NULL ORDER BY id",
            )
            .fetch_all(pool)
            .await?;
            println!(
                "  {:>3} s  dials {dials}  people {people}  machines {machines}  busy {busy}  abandoned {abandons}  agents [{}]",
                started.elapsed().as_secs(),
                states.join(" ")
            );
            if dials == 0 && started.elapsed().as_secs() >= 5 {
                println!("         nothing dialed: no lead's time zone is inside calling hours now (or today is a holiday of the call time)");
            }
        }
    }
    for (session, _, _) in &sessions {
        agents::log_out(pool, *session, "demo over").await?;
    }
    println!("Demo run over. `dialtone export --list <id>` shows each lead's result.");
    Ok(())
}
