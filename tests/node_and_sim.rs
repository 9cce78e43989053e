//! The real binaries as an operator runs them: `dialtone sim` standing in for Asterisk and
//! `dialtone serve` beside it, two processes speaking AMI and FastAGI over TCP, and the agents'
//! logins reaching the node over Redis as the web's do. A predictive campaign of a thousand
//! leads with ten agents against callees whose answering-machine verdicts are sometimes wrong
//! must keep every rule (`common::floor::thousand_lead_rules_kept`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's helpers fail the test as its #[test]s do

mod common;

use dialtone_core::vocabulary::AgentState;
use std::process::Stdio;
use std::time::Duration;

use common::floor::{progress, thousand_lead_campaign, thousand_lead_rules_kept};
use common::{free_port, heartbeat, serve_command, sim_command, wait_listening, Process};
use dialtone_core::bus::Bus;
use dialtone_core::config::Secret;
use dialtone_core::remote::{self, Command as Control};
use dialtone_core::{agents, users};
use sqlx::PgPool;

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_thousand_leads_through_the_real_binaries_keep_every_rule(pool: PgPool) {
    let redis = std::env::var("REDIS_URL")
        .expect("REDIS_URL: run the tests through scripts/test, which starts Redis");
    let (campaign, zone) = thousand_lead_campaign(&pool).await;
    // A node name of its own: tests share the Redis server.
    let node = format!("e2e-{}", uuid::Uuid::new_v4().simple());

    let (ami, agi, data) = (
        free_port(),
        free_port(),
        tempfile::tempdir().expect("data dir"),
    );
    // Simulated time runs 600 times faster: rings of 8–42 ms, talks of 0.1–0.5 s.
    let sim = sim_command(ami, agi)
        .args([
            "--seed",
            "21",
            "--time-scale",
            "600",
            "--busy",
            "0.15",
            "--congestion",
            "0.05",
            "--human",
            "0.6",
            "--machine",
            "0.2",
        ])
        .args([
            "--amd-false-positive",
            "0.02",
            "--amd-false-negative",
            "0.1",
        ])
        .spawn()
        .expect("starts dialtone sim");
    let _sim = Process(sim);
    wait_listening(ami, "dialtone sim").await;
    let serve = serve_command(&pool, ami, agi, data.path())
        .env("REDIS_URL", &redis)
        .env("DIALTONE_NODE", &node)
        .stdout(Stdio::null())
        .spawn()
        .expect("starts dialtone serve");
    let _serve = Process(serve);
    wait_listening(agi, "dialtone serve").await;

    // Ten agents log in: the node rings each phone into its conference, and they go ready.
    let bus = Bus::from_config(Some(&Secret::new(redis)))
        .await
        .expect("Redis");
    let mut sessions = Vec::new();
    for i in 0..10 {
        let name = format!("agent{i}");
        let user = users::create(
            &pool,
            &name,
            &name,
            dialtone_core::vocabulary::Role::Agent,
            "a long password",
        )
        .await
        .expect("user");
        let phone = format!("PJSIP/20{i:02}");
        let session = agents::open_session(&pool, user, campaign, &node, &phone)
            .await
            .expect("session");
        remote::call(
            &bus,
            &node,
            Control::RingPhone {
                session_id: session,
                dial_string: phone,
            },
            Duration::from_secs(20),
        )
        .await
        .expect("the node rings the phone");
        sessions.push(session);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    for session in &sessions {
        loop {
            if agents::set_state(&pool, *session, AgentState::Ready, None)
                .await
                .expect("ready")
            {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the phone of session {session} never connected"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // The agents' pages stay alive while the node works the list (it ends wrap-ups itself).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    loop {
        heartbeat(&pool, &sessions).await.expect("heartbeat");
        let (untouched, open) = progress(&pool, &zone).await;
        if untouched == 0 && open == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the campaign did not finish: {untouched} leads untried, {open} dials open"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The last calls end and their hangup handlers close them.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let open: i64 = sqlx::query_scalar("SELECT count(*) FROM calls WHERE state <> 'ended'")
            .fetch_one(&pool)
            .await
            .expect("calls");
        if open == 0 || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (connected, abandoned, dialed) = thousand_lead_rules_kept(&pool, &zone).await;
    eprintln!("across processes: {connected} connected, {abandoned} abandoned of {dialed} leads");
}
