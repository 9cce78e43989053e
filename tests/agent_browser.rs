//! The agent screen and the wallboard end to end: the real `dialtone sim` (the PBX) and
//! `dialtone serve` (FastAGI, AMI, dialer, call control and the web), and headless Chromium
//! driven by `tests/browser/agent.mjs`. An agent logs in, goes ready, takes the call a simulated
//! callee answers, sees the right lead, edits it, hangs up, sets a disposition and a callback;
//! a supervisor's wallboard follows; a second tab takes over; a closed page stops the agent
//! getting calls. Set `DIALTONE_SCREENSHOTS=docs/screenshots` to refresh the docs' pictures.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's helpers fail the test as its #[test]s do

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::{browser, free_port, serve_command, sim_command, wait_listening, Process};
use dialtone_core::users;
use dialtone_core::vocabulary::Role;
use dialtone_core::{campaigns, lists};
use sqlx::PgPool;

const FIRST_NAMES: [&str; 6] = ["Ada", "Bert", "Cleo", "Dora", "Emil", "Fay"];

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn agent_screen_and_wallboard_in_chromium(pool: PgPool) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let site = root.join("target/site");
    assert!(
        site.join("pkg/admin_bg.wasm").exists(),
        "the browser bundle is missing: run scripts/build-admin (scripts/test does)"
    );
    let zone = dialtone_sim::daytime_zone().expect("a zone in daytime");

    let agent_pass = "agent amy password";
    let agent = users::create(&pool, "amy", "Amy Agent", Role::Agent, agent_pass)
        .await
        .expect("agent");
    let sup_pass = "supervisor sam password";
    let sup = users::create(&pool, "sam", "Sam Supervisor", Role::Supervisor, sup_pass)
        .await
        .expect("supervisor");
    sqlx::query("UPDATE users SET must_change_password = false")
        .execute(&pool)
        .await
        .expect("accounts ready");
    sqlx::query("UPDATE users SET phone_dial_string = 'PJSIP/1001' WHERE id = $1")
        .bind(agent)
        .execute(&pool)
        .await
        .expect("amy's phone");
    let campaign = campaigns::create(
        &pool,
        "Floor",
        dialtone_core::vocabulary::DialMethod::Progressive,
        "9am-9pm",
    )
    .await
    .expect("campaign");
    sqlx::query(
        "UPDATE campaigns SET call_time_id = NULL, active = true, wrapup_secs = 300, recording_policy = 'never',
                script = 'Hello {first_name}, this is {agent} from {campaign}.' WHERE id = $1",
    )
    .bind(campaign)
    .execute(&pool)
    .await
    .expect("settings");
    campaigns::grant(&pool, agent, campaign)
        .await
        .expect("grant agent");
    campaigns::grant(&pool, sup, campaign)
        .await
        .expect("grant supervisor");
    let list = lists::create(&pool, "Floor leads", Some(campaign), "US")
        .await
        .expect("list");
    sqlx::query("UPDATE lists SET time_zones = ARRAY[$2] WHERE id = $1")
        .bind(list)
        .bind(zone)
        .execute(&pool)
        .await
        .expect("zones");
    let mut leads = serde_json::Map::new();
    for (i, name) in FIRST_NAMES.iter().enumerate() {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO leads (list_id, phone_e164, country, time_zone, first_name, last_name, custom, next_attempt_at)
             VALUES ($1, $2, 'US', $3, $4, 'Tester', '{\"tier\": \"gold\"}', now() - interval '1 minute') RETURNING id",
        )
        .bind(list)
        .bind(format!("+1201555{:04}", 100 + i))
        .bind(zone)
        .bind(*name)
        .fetch_one(&pool)
        .await
        .expect("lead");
        leads.insert(id.to_string(), serde_json::Value::String(name.to_string()));
    }

    let (ami, agi, web, data) = (
        free_port(),
        free_port(),
        free_port(),
        tempfile::tempdir().expect("data dir"),
    );
    let sim = sim_command(ami, agi)
        .args([
            "--busy",
            "0",
            "--human",
            "1",
            "--machine",
            "0",
            "--ring-min-secs",
            "1",
            "--ring-max-secs",
            "2",
        ])
        .args(["--talk-min-secs", "600", "--talk-max-secs", "900"])
        .spawn()
        .expect("starts dialtone sim");
    let _sim = Process(sim);
    wait_listening(ami, "dialtone sim").await;
    let serve = serve_command(&pool, ami, agi, data.path())
        .env("DIALTONE_LISTEN__WEB", format!("127.0.0.1:{web}"))
        .env("DIALTONE_WEB__SITE_ROOT", &site)
        .env(
            "DIALTONE_WEB__PUBLIC_URL",
            format!("http://127.0.0.1:{web}"),
        )
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starts dialtone serve");
    let _serve = Process(serve);
    wait_listening(web, "dialtone serve").await;

    let shots = common::screenshots(root, data.path());
    let stdout = browser(
        root,
        "agent.mjs",
        &[
            ("BASE", format!("http://127.0.0.1:{web}")),
            ("AGENT_USER", "amy".into()),
            ("AGENT_PASS", agent_pass.into()),
            ("AGENT_ID", agent.to_string()),
            ("SUP_USER", "sam".into()),
            ("SUP_PASS", sup_pass.into()),
            ("CAMPAIGN_ID", campaign.to_string()),
            (
                "LEADS",
                serde_json::Value::Object(leads.clone()).to_string(),
            ),
        ],
        &shots,
    )
    .await;

    // What the agent did is in the database.
    let (dispo, city, tier, lead_status): (Option<String>, String, Option<String>, String) = sqlx::query_as(
        "SELECT c.disposition, l.city, l.custom->>'tier', l.status FROM calls c JOIN leads l ON l.id = c.lead_id
         WHERE c.agent_user_id = $1 ORDER BY c.created_at LIMIT 1",
    )
    .bind(agent)
    .fetch_one(&pool)
    .await
    .expect("the agent's call");
    assert_eq!(dispo.as_deref(), Some("CALLBK"));
    assert_eq!(city, "Springfield");
    assert_eq!(
        tier.as_deref(),
        Some("platinum"),
        "a custom field edited on the agent screen"
    );
    assert_eq!(
        lead_status, "CBHOLD",
        "a callback for the agent alone is held out of the dialer"
    );
    let callbacks: i64 = sqlx::query_scalar("SELECT count(*) FROM callbacks WHERE agent_user_id = $1 AND state = 'scheduled' AND due_at > now()")
        .bind(agent)
        .fetch_one(&pool)
        .await
        .expect("callbacks");
    assert_eq!(callbacks, 1);

    // The closed page: five seconds after it closed, the agent gets no call and none is dialed
    // for them, though leads remain.
    let closed_ms: i64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("closed_at_ms "))
        .and_then(|v| v.trim().parse().ok())
        .expect("the script printed when the page closed");
    let watch_until = closed_ms + 14_000;
    while chrono::Utc::now().timestamp_millis() < watch_until {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (late_calls, late_dials, leads_left): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM calls WHERE agent_user_id = $1 AND agent_connected_at > to_timestamp($2 / 1000.0) + interval '5 seconds'),
                (SELECT count(*) FROM call_attempts WHERE campaign_id = $3 AND reserved_at > to_timestamp($2 / 1000.0) + interval '6 seconds'),
                (SELECT count(*) FROM leads WHERE list_id = $4 AND attempt_count = 0)",
    )
    .bind(agent)
    .bind(closed_ms as f64)
    .bind(campaign)
    .bind(list)
    .fetch_one(&pool)
    .await
    .expect("after the close");
    assert!(leads_left > 0, "leads remained to be dialed");
    assert_eq!(
        late_calls, 0,
        "no call reached the agent after their page closed"
    );
    assert_eq!(
        late_dials, 0,
        "nothing was dialed for an agent whose page is gone"
    );
}
