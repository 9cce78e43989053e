//! `dialtone bench web`: server render time of the admin's pages on a large database.
//!
//! Seeds a fresh database (leads, attempts, the abandon ledger, DNC entries, audit rows), signs
//! an admin in, and requests each page through the real router in-process (no socket, so the
//! number is the server's: guard, session, queries, rendering). Prints p50, p99 and max per
//! page, and the browser bundle's compressed size when it has been built.

use std::time::{Duration, Instant};

use anyhow::Context;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use clap::Args;
use dialtone_admin::server::{router, session, AppState, WebConfig};
use dialtone_core::config::Config;
use http_body_util::BodyExt;
use sqlx::PgPool;
use tower::ServiceExt;

#[derive(Args)]
pub struct WebArgs {
    /// Leads in the database.
    #[arg(long, default_value_t = 1_000_000)]
    pub leads: i64,
    /// Requests per page.
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
    /// Keep the benchmark database afterwards.
    #[arg(long)]
    pub keep: bool,
}

const LISTS: i64 = 20;
const CAMPAIGNS: i64 = 10;

async fn seed(pool: &PgPool, leads: i64) -> anyhow::Result<()> {
    let started = Instant::now();
    for c in 1..=CAMPAIGNS {
        dialtone_core::campaigns::create(
            pool,
            &format!("Campaign {c:02}"),
            dialtone_core::vocabulary::DialMethod::Predictive,
            "9am-9pm",
        )
        .await?;
    }
    for l in 1..=LISTS {
        dialtone_core::lists::create(
            pool,
            &format!("List {l:02}"),
            Some((l - 1) % CAMPAIGNS + 1),
            "US",
        )
        .await?;
    }
    // Numbers +1 2xx 2xx xxxx, unique per lead; each list gets an even share.
    sqlx::query(
        "INSERT INTO leads (list_id, phone_e164, country, time_zone, state, first_name, last_name, next_attempt_at, custom)
         SELECT 1 + (i % $2), '+1' || (2000000000 + i)::text, 'US', 'America/New_York', 'NY',
                'First' || (i % 5000), 'Last' || (i % 7919), now(), jsonb_build_object('tier', 'gold')
         FROM generate_series(1, $1) i",
    )
    .bind(leads)
    .bind(LISTS)
    .execute(pool)
    .await?;
    let attempts = (leads / 5).max(1);
    sqlx::query(
        "INSERT INTO call_attempts (call_id, campaign_id, lead_id, list_id, phone_e164, node, state, outcome, reserved_at, dialed_at, resolved_at)
         SELECT gen_random_uuid(), 1 + (i % $2), i, 1 + (i % $3), '+1' || (2000000000 + i)::text, 'node1', 'resolved',
                (ARRAY['answered_human','no_answer','busy','answered_machine'])[1 + i % 4],
                now() - (i % 86400) * interval '1 second', now() - (i % 86400) * interval '1 second', now() - (i % 86400) * interval '1 second'
         FROM generate_series(1, $1) i",
    )
    .bind(attempts)
    .bind(CAMPAIGNS)
    .bind(LISTS)
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO abandon_ledger (campaign_id, call_id, kind, occurred_at)
         SELECT 1 + (i % $2), gen_random_uuid(), CASE WHEN i % 40 = 0 THEN 'abandon' ELSE 'live_answer' END, now() - (i % 2592000) * interval '1 second'
         FROM generate_series(1, $1) i",
    )
    .bind(attempts / 2)
    .bind(CAMPAIGNS)
    .execute(pool)
    .await?;
    sqlx::query("INSERT INTO dnc_entries (kind, value) SELECT 'number', '+1' || (3000000000 + i)::text FROM generate_series(1, $1) i")
        .bind(leads / 10)
        .execute(pool)
        .await?;
    sqlx::query(
        "INSERT INTO audit_log (action, entity, entity_id, before, after)
         SELECT 'update', 'campaign', (1 + i % 10)::text, jsonb_build_object('ring_timeout_secs', 26), jsonb_build_object('ring_timeout_secs', 30)
         FROM generate_series(1, 50000) i",
    )
    .execute(pool)
    .await?;
    // As autovacuum leaves a table in production: statistics and the visibility map set.
    sqlx::query("VACUUM ANALYZE").execute(pool).await?;
    println!("seeded {leads} leads, {attempts} attempts, {} ledger rows, {} DNC entries, 50000 audit rows in {:.1} s", attempts / 2, leads / 10, started.elapsed().as_secs_f64());
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

pub async fn run(config: &Config, args: WebArgs) -> anyhow::Result<()> {
    let (pool, base, name) = super::fresh_database(config, 8).await?;
    let outcome = measure(&pool, &args).await;
    pool.close().await;
    if args.keep {
        println!("kept database {name}");
    } else {
        super::drop_database(&base, &name).await?;
    }
    outcome
}

async fn measure(pool: &PgPool, args: &WebArgs) -> anyhow::Result<()> {
    seed(pool, args.leads).await?;
    let admin = dialtone_core::users::create(
        pool,
        "bench",
        "Bench Admin",
        dialtone_core::vocabulary::Role::Admin,
        "bench password 1",
    )
    .await?;
    sqlx::query("UPDATE users SET must_change_password = false WHERE id = $1")
        .bind(admin)
        .execute(pool)
        .await?;
    let token = session::open(pool, admin, None, "bench").await?;
    let dir = tempfile::tempdir()?;
    let web = WebConfig {
        site_root: dir.path().join("site"),
        upload_dir: dir.path().join("uploads"),
        recordings_dir: dir.path().join("recordings"),
        secure_cookies: false,
        max_upload_bytes: dialtone_admin::server::uploads::MAX_UPLOAD_BYTES,
    };
    let app = router(AppState::new(pool.clone(), &web));
    let lead: i64 = sqlx::query_scalar("SELECT id FROM leads ORDER BY id DESC LIMIT 1")
        .fetch_one(pool)
        .await?;
    let number: String = sqlx::query_scalar("SELECT phone_e164 FROM leads WHERE id = $1")
        .bind(lead)
        .fetch_one(pool)
        .await?;
    let pages = [
        "/".to_string(),
        "/campaigns".into(),
        "/campaigns?sort=-updated&page=1".into(),
        "/campaigns/1".into(),
        "/lists".into(),
        "/lists/1".into(),
        format!("/leads?q={}", number.replace('+', "%2B")),
        "/leads?q=Last42&list=3".into(),
        format!("/leads/{lead}"),
        "/dnc?q=1300".into(),
        "/users".into(),
        "/audit".into(),
        "/audit?entity=campaign&page=20".into(),
        "/inbound".into(),
        "/codes".into(),
        "/calltimes".into(),
        "/recordings".into(),
    ];
    println!(
        "{:<44} {:>9} {:>9} {:>9} {:>9}",
        "page", "p50 ms", "p99 ms", "max ms", "bytes"
    );
    let mut worst = Duration::ZERO;
    for path in &pages {
        let mut times = Vec::with_capacity(args.requests);
        let mut bytes = 0;
        for _ in 0..args.requests {
            let request = Request::get(path.as_str())
                .header(header::HOST, "bench")
                .header(header::COOKIE, format!("{}={token}", session::COOKIE))
                .body(Body::empty())
                .context("request")?;
            let started = Instant::now();
            let response = app.clone().oneshot(request).await.context("router")?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .context("body")?
                .to_bytes();
            times.push(started.elapsed());
            anyhow::ensure!(status == StatusCode::OK, "{path}: HTTP {status}");
            bytes = body.len();
        }
        times.sort();
        let p99 = percentile(&times, 0.99);
        worst = worst.max(p99);
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{:<44} {:>9.2} {:>9.2} {:>9.2} {:>9}",
            path,
            ms(percentile(&times, 0.5)),
            ms(p99),
            ms(*times.last().unwrap_or(&Duration::ZERO)),
            bytes
        );
    }
    println!(
        "worst page p99: {:.2} ms (target: under 50 ms with 1,000,000 leads)",
        worst.as_secs_f64() * 1000.0
    );
    let pkg = std::path::Path::new("target/site/pkg");
    let size = |f: &str| std::fs::metadata(pkg.join(f)).map(|m| m.len()).ok();
    match (size("admin_bg.wasm.gz"), size("admin.js.gz"), size("admin.css.gz")) {
        (Some(wasm), Some(js), Some(css)) => println!(
            "browser bundle, gzip -9: wasm {wasm} B + js {js} B + css {css} B = {:.2} MB (target: under 1.5 MB)",
            (wasm + js + css) as f64 / 1_000_000.0
        ),
        _ => println!("browser bundle: not built here (scripts/build-admin)"),
    }
    Ok(())
}
