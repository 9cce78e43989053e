//! `dialtone bench agi`: the FastAGI server under load, and the outbound routing decision.
//!
//! Part one runs the server in a child process (`bench agi-server`) and plays Asterisk against
//! it over loopback from this one: each session is the environment block of a real Asterisk 22
//! outbound call, five commands answered as the transcripts answer them, and HANGUP. It prints
//! sessions per second, the server's command round trip (p50, p99: from writing a command to
//! reading its reply, as the server sees it), the server's CPU, and its memory per idle session.
//!
//! Part two (with a reachable DATABASE_URL) runs the real `outbound` flow in this process with
//! many logged-in agents and answered calls arriving at a steady rate, and times the routing
//! decision: from Asterisk's last reply before it (the lead id) to the conference command.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use dialtone_asterisk::agi::{serve, Router, ServerConfig, TcpSession};
use dialtone_core::config::Config;
use hdrhistogram::Histogram;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::{drop_database, fresh_database, proc_status_kib};

#[derive(Args)]
pub struct AgiArgs {
    /// Sessions to play in the throughput run.
    #[arg(long, default_value_t = 100_000)]
    pub sessions: usize,
    /// Sessions open at once.
    #[arg(long, default_value_t = 1000)]
    pub concurrency: usize,
    /// Idle sessions opened to measure memory per session.
    #[arg(long, default_value_t = 1000)]
    pub idle: usize,
    /// Logged-in agents in the routing run (0 skips it).
    #[arg(long, default_value_t = 500)]
    pub agents: usize,
    /// Answered calls per second in the routing run.
    #[arg(long, default_value_t = 100)]
    pub calls_per_second: u32,
    /// Length of the routing run.
    #[arg(long, default_value_t = 20)]
    pub routing_secs: u64,
}

/// The environment of a real Asterisk 22 outbound call (`outbound-full-call.jsonl`).
const ENV: &[u8] = b"agi_network: yes\nagi_network_script: outbound?campaign=1\nagi_request: agi://127.0.0.1:4573/outbound?campaign=1\n\
agi_channel: Local/s@callee-human-0000000f;1\nagi_language: en\nagi_type: Local\nagi_uniqueid: lead-42-call\n\
agi_version: GIT-22-22.0.0-pre1-541-g69535d4837\nagi_callerid: 5550100\nagi_calleridname: ACME\nagi_callingpres: 0\n\
agi_callingani2: 0\nagi_callington: 0\nagi_callingtns: 0\nagi_dnid: unknown\nagi_rdnis: unknown\nagi_context: dialer-outbound\n\
agi_extension: 5553001\nagi_priority: 3\nagi_enhanced: 0.0\nagi_accountcode: \nagi_threadid: 140487850727104\n\
agi_arg_1: HUMAN\nagi_arg_2: HUMAN-800-800\n\n";

/// Asterisk's reply to each command of the session, as recorded.
fn reply_to(command: &str) -> &'static [u8] {
    match command {
        c if c.starts_with("GET VARIABLE AMDSTATUS") => b"200 result=1 (HUMAN)\n",
        c if c.starts_with("GET VARIABLE AMDCAUSE") => b"200 result=1 (HUMAN-800-800)\n",
        c if c.starts_with("GET VARIABLE CHANNEL(state)") => b"200 result=1 (Up)\n",
        c if c.starts_with("SET VARIABLE") => b"200 result=1\n",
        c if c.starts_with("EXEC") => b"200 result=0\n",
        c if c.starts_with("HANGUP") => {
            b"HANGUP\n511 Command Not Permitted on a dead channel or intercept routine\n"
        }
        _ => b"510 Invalid or unknown command\n",
    }
}

/// One session as Asterisk plays it, opening with `env`.
async fn play(addr: std::net::SocketAddr, env: &[u8]) -> anyhow::Result<()> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (reader, mut writer) = stream.into_split();
    writer.write_all(env).await?;
    let mut reader = BufReader::new(reader);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        writer.write_all(reply_to(&line)).await?;
    }
}

/// The server's side of the benchmark session: the outbound flow's five commands and HANGUP,
/// timing each round trip.
/// `pause` between commands spreads them out as a real call does (Asterisk plays, waits,
/// bridges between them), so that round trips are measured below saturation.
async fn bench_session(
    mut s: TcpSession,
    times: Arc<Mutex<Histogram<u64>>>,
    pause: Duration,
) -> Result<(), dialtone_asterisk::agi::AgiError> {
    let mut local = [0u64; 6];
    for (i, slot) in local.iter_mut().enumerate() {
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
        let t = Instant::now();
        match i {
            0 => s.get_variable("AMDSTATUS").await.map(drop)?,
            1 => s.get_variable("AMDCAUSE").await.map(drop)?,
            2 => s.get_variable("CHANNEL(state)").await.map(drop)?,
            3 => s.set_variable("CDR(userfield)", "lead=42").await?,
            4 => s.exec("ConfBridge", "agent-101").await.map(drop)?,
            // 511: the callee is gone, as in the transcript.
            _ => drop(s.hangup().await),
        }
        *slot = t.elapsed().as_micros() as u64;
    }
    if let Ok(mut h) = times.lock() {
        for micros in local {
            let _ = h.record(micros.max(1));
        }
    }
    Ok(())
}

/// `bench agi-server`: serves until standard input closes. Lines on standard input: `reset`
/// clears the timings, `report` prints them as one JSON line.
pub async fn serve_child() -> anyhow::Result<()> {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening {}", listener.local_addr()?);
    let times = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(
        1, 60_000_000, 3,
    )?));
    let (for_route, for_paced) = (times.clone(), times.clone());
    let router = Router::new()
        .route("outbound", move |s| {
            bench_session(s, for_route.clone(), Duration::ZERO)
        })
        .route("paced", move |s| {
            // 25 to 75 ms apart, so sessions do not wake in step.
            let pause = Duration::from_millis(25 + rand::random::<u64>() % 51);
            bench_session(s, for_paced.clone(), pause)
        })
        // Idle: one command that is never answered, so the session stays open.
        .route("idle", |mut s: TcpSession| async move {
            s.get_variable("AMDSTATUS").await.map(drop)
        });
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve(
        listener,
        router,
        ServerConfig {
            max_sessions: 100_000,
            ..ServerConfig::default()
        },
        shutdown.clone(),
    ));
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = stdin.next_line().await? {
        let mut h = times
            .lock()
            .map_err(|_| anyhow::anyhow!("timings lock poisoned"))?;
        match line.trim() {
            "reset" => h.reset(),
            "report" => println!(
                "{{\"commands\":{},\"p50_us\":{},\"p99_us\":{},\"max_us\":{}}}",
                h.len(),
                h.value_at_quantile(0.5),
                h.value_at_quantile(0.99),
                h.max()
            ),
            _ => {}
        }
    }
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(2), server).await;
    Ok(())
}

/// CPU seconds (user + system) a process has used.
fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks / per_sec)
}

pub async fn run(config: &Config, args: AgiArgs) -> anyhow::Result<()> {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let exe = std::env::current_exe().context("locating the dialtone binary")?;
    let mut child = tokio::process::Command::new(exe)
        .args(["bench", "agi-server"])
        .env("RUST_LOG", "error")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting the server process")?;
    let pid = child.id().context("server pid")?;
    let mut from_server = BufReader::new(child.stdout.take().context("server stdout")?).lines();
    let mut to_server = child.stdin.take().context("server stdin")?;
    let first = from_server.next_line().await?.unwrap_or_default();
    let Some(addr) = first.strip_prefix("listening ") else {
        bail!("the server said {first:?}")
    };
    let addr: std::net::SocketAddr = addr.parse()?;
    println!("FastAGI server: pid {pid} on {addr}");

    // Memory first, in a fresh server: each idle session fully open (its first command sent).
    let rss_before = proc_status_kib(&pid.to_string(), "VmRSS:").unwrap_or(0.0);
    let idle_env = String::from_utf8_lossy(ENV).replace("outbound?campaign=1", "idle");
    let mut idle = Vec::with_capacity(args.idle);
    for _ in 0..args.idle {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(idle_env.as_bytes()).await?;
        idle.push(stream);
    }
    // Wait until every idle session has sent its first command, so each is fully open.
    for stream in &mut idle {
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await?;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_after = proc_status_kib(&pid.to_string(), "VmRSS:").unwrap_or(0.0);
    println!(
        "idle sessions: {} open, server RSS {:.1} -> {:.1} MiB = {:.1} KiB per session",
        args.idle,
        rss_before / 1024.0,
        rss_after / 1024.0,
        (rss_after - rss_before) / args.idle.max(1) as f64
    );
    drop(idle);

    // Warm up, then measure.
    let outbound: Arc<[u8]> = Arc::from(ENV);
    run_sessions(
        addr,
        outbound.clone(),
        args.concurrency.min(1000),
        args.concurrency,
    )
    .await?;
    to_server.write_all(b"reset\n").await?;
    let cpu_before = cpu_secs(pid).unwrap_or(0.0);
    let started = Instant::now();
    let done = run_sessions(addr, outbound, args.sessions, args.concurrency).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_secs(pid).unwrap_or(0.0) - cpu_before;
    to_server.write_all(b"report\n").await?;
    let report = from_server.next_line().await?.unwrap_or_default();
    let report: serde_json::Value = serde_json::from_str(&report).context("server report")?;
    println!(
        "sessions: {done} in {elapsed:.2} s = {:.0} sessions/s, {} open at once (each: environment, 5 commands, HANGUP)",
        done as f64 / elapsed,
        args.concurrency
    );
    println!(
        "command round trip at the server, saturated: p50 {} µs, p99 {} µs, max {} µs over {} commands",
        report["p50_us"], report["p99_us"], report["max_us"], report["commands"]
    );
    println!("server CPU: {cpu:.2} s over {elapsed:.2} s = {:.0}% of one core (the players run in this process)", 100.0 * cpu / elapsed);
    println!(
        "server peak RSS: {:.1} MiB",
        proc_status_kib(&pid.to_string(), "VmHWM:").unwrap_or(0.0) / 1024.0
    );

    // Round trips below saturation: the same sessions, commands 25 to 75 ms apart, 1000 open at once.
    let paced: Arc<[u8]> = Arc::from(
        String::from_utf8_lossy(ENV)
            .replace("outbound?campaign=1", "paced")
            .into_bytes(),
    );
    to_server.write_all(b"reset\n").await?;
    let started = Instant::now();
    let (total, concurrency) = (args.concurrency * 10, args.concurrency);
    let paced_done = on_one_thread(move || run_sessions(addr, paced, total, concurrency)).await?;
    let paced_elapsed = started.elapsed().as_secs_f64();
    to_server.write_all(b"report\n").await?;
    let report: serde_json::Value =
        serde_json::from_str(&from_server.next_line().await?.unwrap_or_default())
            .context("server report")?;
    println!(
        "command round trip at the server, {} sessions open, commands 25-75 ms apart ({:.0} commands/s): p50 {} µs, p99 {} µs, max {} µs",
        args.concurrency,
        paced_done as f64 * 6.0 / paced_elapsed,
        report["p50_us"],
        report["p99_us"],
        report["max_us"]
    );

    drop(to_server);
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;

    if args.agents > 0 {
        routing(config, &args).await?;
    }
    Ok(())
}

/// Runs the players on a thread of their own: Asterisk answers from its own process, and the
/// players' wake-ups should not queue behind the server's on the same two workers.
async fn on_one_thread<F, Fut>(players: F) -> anyhow::Result<usize>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<usize>>,
{
    tokio::task::spawn_blocking(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(players())
    })
    .await?
}

/// Plays `total` sessions, `concurrency` at a time; returns how many completed.
async fn run_sessions(
    addr: std::net::SocketAddr,
    env: Arc<[u8]>,
    total: usize,
    concurrency: usize,
) -> anyhow::Result<usize> {
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let mut players = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (next, done, env) = (next.clone(), done.clone(), env.clone());
        players.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < total {
                play(addr, &env).await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        });
    }
    while let Some(player) = players.join_next().await {
        player??;
    }
    Ok(done.load(Ordering::Relaxed))
}

/// Part two: the real outbound flow, `agents` ready agents, calls answered at a steady rate.
async fn routing(config: &Config, args: &AgiArgs) -> anyhow::Result<()> {
    let (pool, base, name) = match fresh_database(config, 40).await {
        Ok(db) => db,
        Err(e) => {
            println!("routing run skipped: no database ({e:#})");
            return Ok(());
        }
    };
    let outcome = routing_in(&pool, args).await;
    pool.close().await;
    drop_database(&base, &name).await?;
    outcome
}

async fn routing_in(pool: &sqlx::PgPool, args: &AgiArgs) -> anyhow::Result<()> {
    use dialtone_core::campaigns;
    use dialtone_core::vocabulary::DialMethod;
    let campaign = campaigns::create(pool, "bench", DialMethod::Predictive, "9am-9pm").await?;
    sqlx::query("UPDATE campaigns SET recording_policy = 'never' WHERE id = $1")
        .bind(campaign)
        .execute(pool)
        .await?;
    let list = dialtone_core::lists::create(pool, "bench", Some(campaign), "US").await?;
    let lead: i64 = sqlx::query_scalar(
        "INSERT INTO leads (list_id, phone_e164, country, time_zone) VALUES ($1, '+12015550123', 'US', 'America/New_York') RETURNING id",
    )
    .bind(list)
    .fetch_one(pool)
    .await?;
    // Agents that never sign in to the web: their hash is valid in form only.
    sqlx::query(
        "INSERT INTO users (username, role, password_hash)
         SELECT 'agent' || g, 'agent', '$argon2id$v=19$m=19456,t=2,p=1$YmVuY2g$bench' FROM generate_series(1, $1) g",
    )
    .bind(args.agents as i32)
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO agent_sessions (user_id, campaign_id, node, phone_dial_string, conference, state, state_since)
         SELECT id, $1, 'bench', 'PJSIP/bench', 'agent-pending', 'ready', now() - random() * interval '1 minute' FROM users",
    )
    .bind(campaign)
    .execute(pool)
    .await?;
    sqlx::query("UPDATE agent_sessions SET conference = 'agent-' || id")
        .execute(pool)
        .await?;

    let stop = CancellationToken::new();
    // The agents' pages: a heartbeat a second, as the agent screen sends it.
    let heartbeat = {
        let (pool, stop) = (pool.clone(), stop.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            while !stop.is_cancelled() {
                tick.tick().await;
                let _ = sqlx::query("UPDATE agent_sessions SET last_seen_at = now()")
                    .execute(&pool)
                    .await;
            }
        })
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let ctx = dialtone_fastagi::FlowContext {
        pool: pool.clone(),
        node: "bench".into(),
        recordings_dir: "/tmp".into(),
        agent_poll: Duration::from_millis(20),
        ami: None,
    };
    let server = tokio::spawn(serve(
        listener,
        dialtone_fastagi::router(ctx),
        ServerConfig::default(),
        stop.clone(),
    ));

    let times = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(
        1, 60_000_000, 3,
    )?));
    let abandons = Arc::new(AtomicUsize::new(0));
    let mut calls = tokio::task::JoinSet::new();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(
        1.0 / f64::from(args.calls_per_second.max(1)),
    ));
    let total = args.routing_secs * u64::from(args.calls_per_second);
    let started = Instant::now();
    for _ in 0..total {
        tick.tick().await;
        let (pool, times, abandons) = (pool.clone(), times.clone(), abandons.clone());
        calls.spawn(async move {
            one_routed_call(addr, campaign, lead, &pool, &times, &abandons).await
        });
    }
    while let Some(call) = calls.join_next().await {
        call??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    stop.cancel();
    let _ = heartbeat.await;
    let _ = server.await;
    let h = times
        .lock()
        .map_err(|_| anyhow::anyhow!("timings lock poisoned"))?;
    println!(
        "outbound routing decision (AMD verdict in, conference command out), {} ready agents, {:.0} answered calls/s over {elapsed:.1} s:",
        args.agents,
        total as f64 / elapsed
    );
    println!(
        "  {} calls: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {} did not reach an agent",
        h.len(),
        h.value_at_quantile(0.5) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
        h.max() as f64 / 1000.0,
        abandons.load(Ordering::Relaxed)
    );
    Ok(())
}

/// One answered call through the outbound flow; the agent is made ready again at once.
async fn one_routed_call(
    addr: std::net::SocketAddr,
    campaign: i64,
    lead: i64,
    pool: &sqlx::PgPool,
    times: &Mutex<Histogram<u64>>,
    abandons: &AtomicUsize,
) -> anyhow::Result<()> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (reader, mut writer) = stream.into_split();
    let call = uuid::Uuid::new_v4();
    let env = format!("agi_network_script: outbound?campaign={campaign}\nagi_uniqueid: {call}\nagi_arg_1: HUMAN\nagi_arg_2: HUMAN-800-800\n\n");
    writer.write_all(env.as_bytes()).await?;
    let mut reader = BufReader::new(reader);
    let mut line = String::new();
    next_line(&mut reader, &mut line).await?;
    writer
        .write_all(format!("200 result=1 ({call})\n").as_bytes())
        .await?;
    next_line(&mut reader, &mut line).await?;
    writer
        .write_all(format!("200 result=1 ({lead})\n").as_bytes())
        .await?;
    let asked = Instant::now();
    next_line(&mut reader, &mut line).await?;
    let micros = asked.elapsed().as_micros() as u64;
    if let Ok(mut h) = times.lock() {
        let _ = h.record(micros.max(1));
    }
    let session: Option<i64> = line
        .strip_prefix("EXEC ConfBridge \"agent-")
        .and_then(|rest| rest.split(',').next())
        .and_then(|id| id.parse().ok());
    if session.is_none() {
        abandons.fetch_add(1, Ordering::Relaxed);
    }
    // Answer everything else as a channel that hangs up: the flow finishes.
    loop {
        writer.write_all(reply_to(&line)).await?;
        if next_line(&mut reader, &mut line).await? == 0 {
            break;
        }
    }
    if let Some(session) = session {
        sqlx::query("UPDATE agent_sessions SET state = 'ready', state_since = now(), current_call_id = NULL WHERE id = $1")
            .bind(session)
            .execute(pool)
            .await?;
    }
    Ok(())
}

async fn next_line(
    reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    line: &mut String,
) -> std::io::Result<usize> {
    line.clear();
    reader.read_line(line).await
}
