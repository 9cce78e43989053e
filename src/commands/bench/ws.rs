//! `dialtone bench ws`: the pushed pages under load. A real `dialtone web` runs as a child
//! process on its own database and Redis; this process opens one agent-screen WebSocket per
//! agent (1,000 by default), then times two paths an event takes to every page:
//!
//! - the bus: a note per agent published on Redis (`live` channel), stamped with its send time;
//! - the database: one UPDATE that changes every agent's state; the NOTIFY of each row reaches
//!   the web node's listener, and each page is pushed its new state;
//! - the screen pop: waves of agents (50 by default) are given a call at once, as a busy floor's
//!   answers arrive; each page is pushed its whole screen with the call, the lead and its history.
//!
//! It prints each path's latency distribution (p50, p90, p99, max, from publish to the page's
//! socket) and the server's resident memory before and after the pages connected.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use dialtone_core::bus::Bus;
use dialtone_core::config::{Config, Secret};
use dialtone_core::live::{LiveEvent, BUS_CHANNEL};
use futures::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use super::{drop_database, fresh_database, proc_status_kib};

#[derive(Args)]
pub struct WsArgs {
    /// Agent pages connected at once.
    #[arg(long, default_value_t = 1000)]
    pub pages: usize,
    /// Rounds of events (each round: one event to every page).
    #[arg(long, default_value_t = 10)]
    pub rounds: usize,
    /// Agents given a call at once in each screen-pop wave.
    #[arg(long, default_value_t = 50)]
    pub wave: usize,
    /// Keep the benchmark database afterwards.
    #[arg(long)]
    pub keep: bool,
}

fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// What a page's socket saw: a note's latency, or the moment a state push arrived.
enum Seen {
    Note(i64),
    State(Instant),
    Pop(Instant),
}

pub async fn run(config: &Config, args: WsArgs) -> anyhow::Result<()> {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let redis = config
        .redis_url
        .clone()
        .unwrap_or_else(|| Secret::new("redis://127.0.0.1:6379"));
    let bus = Bus::from_config(Some(&redis)).await.context(
        "connecting to Redis (REDIS_URL; the bench needs it, as several web nodes would)",
    )?;
    let (pool, base, name) = fresh_database(config, 8).await?;
    let db_url = super::database_url(&config.database_url, &name)?;

    // Agents, each signed in, each logged in to one campaign (paused), as on a busy floor.
    let first = dialtone_core::users::create(
        &pool,
        "bench0000",
        "Bench 0",
        dialtone_core::vocabulary::Role::Agent,
        "bench password 1234",
    )
    .await?;
    sqlx::query(
        "INSERT INTO users (username, display_name, role, password_hash, must_change_password)
         SELECT 'bench' || lpad(i::text, 4, '0'), 'Bench ' || i, 'agent', (SELECT password_hash FROM users WHERE id = $1), false
         FROM generate_series(1, $2 - 1) i",
    )
    .bind(first)
    .bind(args.pages as i64)
    .execute(&pool)
    .await?;
    sqlx::query("UPDATE users SET must_change_password = false")
        .execute(&pool)
        .await?;
    let campaign = dialtone_core::campaigns::create(
        &pool,
        "Bench",
        dialtone_core::vocabulary::DialMethod::Predictive,
        "9am-9pm",
    )
    .await?;
    sqlx::query("INSERT INTO user_campaigns (user_id, campaign_id) SELECT id, $1 FROM users")
        .bind(campaign)
        .execute(&pool)
        .await?;
    sqlx::query(
        "INSERT INTO agent_sessions (user_id, campaign_id, node, phone_dial_string, conference, state, pause_code)
         SELECT id, $1, 'bench', 'PJSIP/' || id, 'agent-' || id, 'paused', 'BREAK' FROM users",
    )
    .bind(campaign)
    .execute(&pool)
    .await?;
    // A lead and a connected call for each agent, for the screen-pop waves.
    let list = dialtone_core::lists::create(&pool, "Bench", Some(campaign), "US").await?;
    sqlx::query(
        "INSERT INTO leads (list_id, phone_e164, country, time_zone, first_name, last_name, custom)
         SELECT $1, '+1212' || lpad(id::text, 7, '0'), 'US', 'America/New_York', 'Lead', 'No ' || id, '{\"plan\": \"gold\"}'
         FROM users",
    )
    .bind(list)
    .execute(&pool)
    .await?;
    sqlx::query(
        "INSERT INTO calls (id, direction, campaign_id, lead_id, node, state, phone_e164, agent_user_id, agent_session_id, answered_at, agent_connected_at)
         SELECT gen_random_uuid(), 'outbound', $1, l.id, 'bench', 'connected', l.phone_e164, s.user_id, s.id, now(), now()
         FROM agent_sessions s JOIN leads l ON l.phone_e164 = '+1212' || lpad(s.user_id::text, 7, '0')",
    )
    .bind(campaign)
    .execute(&pool)
    .await?;
    let users: Vec<i64> = sqlx::query_scalar("SELECT id FROM users ORDER BY id")
        .fetch_all(&pool)
        .await?;
    let mut tokens = Vec::with_capacity(users.len());
    for user in &users {
        tokens.push(dialtone_admin::server::session::open(&pool, *user, None, "bench").await?);
    }

    let port = free_port()?;
    let exe = std::env::current_exe().context("locating the dialtone binary")?;
    let data = tempfile::tempdir()?;
    let mut child = tokio::process::Command::new(exe)
        .arg("web")
        .env_remove("DIALTONE_CONFIG")
        .env("DATABASE_URL", db_url.expose())
        .env("REDIS_URL", redis.expose())
        .env("DIALTONE_LISTEN__WEB", format!("127.0.0.1:{port}"))
        .env(
            "DIALTONE_LISTEN__METRICS",
            format!("127.0.0.1:{}", free_port()?),
        )
        .env(
            "DIALTONE_WEB__PUBLIC_URL",
            format!("http://127.0.0.1:{port}"),
        )
        .env("DIALTONE_DATA_DIR", data.path())
        .env("RUST_LOG", "error")
        .kill_on_drop(true)
        .spawn()
        .context("starting dialtone web")?;
    let pid = child.id().context("server pid")?.to_string();
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if started.elapsed() > Duration::from_secs(30) {
            bail!("dialtone web did not start listening");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_idle = proc_status_kib(&pid, "VmRSS:").unwrap_or(0.0);
    println!(
        "dialtone web: pid {pid} on 127.0.0.1:{port}, {:.1} MiB resident before any page",
        rss_idle / 1024.0
    );

    // The pages: each waits for its first whole screen before counting as connected.
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel::<Seen>();
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<()>();
    let connect_started = Instant::now();
    for token in &tokens {
        let mut request = format!("ws://127.0.0.1:{port}/ws/agent").into_client_request()?;
        request
            .headers_mut()
            .insert("Cookie", format!("dialtone_session={token}").parse()?);
        let (seen_tx, ready_tx) = (seen_tx.clone(), ready_tx.clone());
        let (mut socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .context("opening an agent page's socket")?;
        tokio::spawn(async move {
            let mut first = true;
            while let Some(Ok(message)) = socket.next().await {
                let Message::Text(text) = message else {
                    if let Message::Ping(p) = message {
                        let _ = socket.send(Message::Pong(p)).await;
                    }
                    continue;
                };
                let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                match value.get("type").and_then(|t| t.as_str()) {
                    Some("screen") if first => {
                        first = false;
                        let _ = ready_tx.send(());
                    }
                    Some("screen")
                        if value
                            .pointer("/desk/session/call")
                            .is_some_and(|c| !c.is_null()) =>
                    {
                        let _ = seen_tx.send(Seen::Pop(Instant::now()));
                    }
                    Some("notice") => {
                        let sent = value
                            .get("sent_at_micros")
                            .and_then(|v| v.as_i64())
                            .unwrap_or(0);
                        let _ = seen_tx.send(Seen::Note(now_micros() - sent));
                    }
                    Some("state") => {
                        let _ = seen_tx.send(Seen::State(Instant::now()));
                    }
                    _ => {}
                }
            }
        });
    }
    for _ in 0..tokens.len() {
        tokio::time::timeout(Duration::from_secs(60), ready_rx.recv())
            .await
            .context("a page got no screen within 60 s")?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_connected = proc_status_kib(&pid, "VmRSS:").unwrap_or(0.0);
    println!(
        "{} pages connected in {:.2} s; server resident {:.1} MiB ({:.1} KiB a page)",
        tokens.len(),
        connect_started.elapsed().as_secs_f64(),
        rss_connected / 1024.0,
        (rss_connected - rss_idle) / tokens.len().max(1) as f64
    );

    // Path 1: a note per agent on the bus, all of a round at once.
    let mut bus_hist = Histogram::<u64>::new(3)?;
    for round in 0..args.rounds {
        // All of a round's notes at once, pipelined on the one Redis connection.
        let notes = users.iter().map(|user| {
            let bus = bus.clone();
            let note = LiveEvent::Notice {
                user_id: *user,
                text: format!("round {round}"),
                sent_at_micros: now_micros(),
            };
            async move { bus.publish(BUS_CHANNEL, &note).await }
        });
        for sent in futures::future::join_all(notes).await {
            sent?;
        }
        for _ in 0..users.len() {
            match tokio::time::timeout(Duration::from_secs(30), seen_rx.recv())
                .await
                .context("a note did not arrive within 30 s")?
            {
                Some(Seen::Note(us)) => bus_hist.record(us.max(0) as u64)?,
                Some(Seen::State(_) | Seen::Pop(_)) => {}
                None => bail!("the pages stopped"),
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    report(
        "bus (Redis) note to every page",
        &bus_hist,
        users.len() * args.rounds,
    );

    // Path 2: one UPDATE changes every agent's state; each page is pushed its state.
    let mut db_hist = Histogram::<u64>::new(3)?;
    for round in 0..args.rounds {
        let (state, code) = if round % 2 == 0 {
            ("ready", None)
        } else {
            ("paused", Some("BREAK"))
        };
        let sent = Instant::now();
        sqlx::query("UPDATE agent_sessions SET state = $1, pause_code = $2, state_since = now() WHERE logged_out_at IS NULL")
            .bind(state)
            .bind(code)
            .execute(&pool)
            .await?;
        let mut got = 0;
        while got < users.len() {
            match tokio::time::timeout(Duration::from_secs(30), seen_rx.recv())
                .await
                .context("a state push did not arrive within 30 s")?
            {
                Some(Seen::State(at)) => {
                    db_hist.record(at.duration_since(sent).as_micros() as u64)?;
                    got += 1;
                }
                Some(Seen::Note(_) | Seen::Pop(_)) => {}
                None => bail!("the pages stopped"),
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    report(
        "database change (NOTIFY) to every page",
        &db_hist,
        users.len() * args.rounds,
    );

    // Path 3: screen pops, a wave of agents at a time.
    let sessions: Vec<i64> = sqlx::query_scalar("SELECT id FROM agent_sessions ORDER BY id")
        .fetch_all(&pool)
        .await?;
    let mut pop_hist = Histogram::<u64>::new(3)?;
    for wave in sessions.chunks(args.wave.max(1)) {
        let sent = Instant::now();
        sqlx::query(
            "UPDATE agent_sessions s SET state = 'on_call', pause_code = NULL, state_since = now(), current_call_id = c.id
             FROM calls c WHERE c.agent_session_id = s.id AND s.id = ANY($1)",
        )
        .bind(wave)
        .execute(&pool)
        .await?;
        let mut got = 0;
        while got < wave.len() {
            match tokio::time::timeout(Duration::from_secs(30), seen_rx.recv())
                .await
                .context("a screen pop did not arrive within 30 s")?
            {
                Some(Seen::Pop(at)) => {
                    pop_hist.record(at.duration_since(sent).as_micros() as u64)?;
                    got += 1;
                }
                Some(_) => {}
                None => bail!("the pages stopped"),
            }
        }
        sqlx::query("UPDATE agent_sessions SET state = 'paused', pause_code = 'BREAK', state_since = now(), current_call_id = NULL WHERE id = ANY($1)")
            .bind(wave)
            .execute(&pool)
            .await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    report(
        &format!("screen pop (waves of {}) to each page", args.wave.max(1)),
        &pop_hist,
        sessions.len(),
    );
    let peak = proc_status_kib(&pid, "VmHWM:").unwrap_or(0.0);
    println!("server peak resident memory: {:.1} MiB", peak / 1024.0);

    let _ = child.kill().await;
    pool.close().await;
    if !args.keep {
        drop_database(&base, &name).await?;
    }
    Ok(())
}

fn report(path: &str, h: &Histogram<u64>, events: usize) {
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{path}: {events} deliveries  p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        ms(0.5),
        ms(0.9),
        ms(0.99),
        h.max() as f64 / 1000.0
    );
}
