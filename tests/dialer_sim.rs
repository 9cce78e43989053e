//! The whole outbound path against the PBX simulator: agents' phones nailed into their
//! conferences over AMI and AGI, the dialer pacing and originating, simulated callees answering
//! (people and machines) or busy, the call flows handing people to agents, `call-end` closing
//! calls, wrap-ups ending. Progressive pacing must never abandon a call.

use std::sync::Arc;
use std::time::Duration;

use dialtone_asterisk::agi::{serve, ServerConfig};
use dialtone_asterisk::ami::{AmiClient, AmiConfig, Auth};
use dialtone_core::bus::Bus;
use dialtone_core::{agents, campaigns, lists, users};
use dialtone_fastagi::dialer::{run_campaign, watch_outcomes, DialerContext};
use dialtone_fastagi::{control, router, FlowContext};
use dialtone_sim::{CalleeModel, Pbx, PbxConfig};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn progressive_campaign_end_to_end_against_the_simulator(pool: PgPool) {
    let zone = dialtone_sim::daytime_zone().expect("some zone is in daytime").to_string();
    let campaign = campaigns::create(&pool, "sim", campaigns::DialMethod::Progressive, "9am-9pm").await.expect("campaign");
    sqlx::query("UPDATE campaigns SET call_time_id = NULL, active = true, wrapup_secs = 0, recording_policy = 'never' WHERE id = $1")
        .bind(campaign)
        .execute(&pool)
        .await
        .expect("settings");
    let list = lists::create(&pool, "l", Some(campaign), "US").await.expect("list");
    sqlx::query("UPDATE lists SET time_zones = ARRAY[$2] WHERE id = $1").bind(list).bind(&zone).execute(&pool).await.expect("zones");
    sqlx::query(
        "INSERT INTO leads (list_id, phone_e164, country, time_zone, next_attempt_at)
         SELECT $1, '+1201555' || lpad(g::text, 4, '0'), 'US', $2, now() - interval '1 minute' FROM generate_series(1, 20) g",
    )
    .bind(list)
    .bind(&zone)
    .execute(&pool)
    .await
    .expect("leads");

    // Dialtone's FastAGI server, and the simulator pointed at it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let agi = listener.local_addr().expect("addr");
    let stop = CancellationToken::new();
    let ctx = FlowContext { pool: pool.clone(), bus: Bus::from_config(None).await.expect("bus"), node: "n1".into(), recordings_dir: "/rec".into(), agent_poll: std::time::Duration::from_millis(20) };
    tokio::spawn(serve(listener, router(ctx), ServerConfig::default(), stop.clone()));
    let mut model = CalleeModel::new(7);
    (model.busy, model.human, model.machine) = (0.2, 0.6, 0.2);
    model.ring = (Duration::from_millis(50), Duration::from_millis(150));
    model.talk = (Duration::from_millis(150), Duration::from_millis(300));
    let pbx = Pbx::start(PbxConfig { agi, model }).await.expect("simulator");
    let mut ami_config = AmiConfig::new(pbx.ami.to_string(), "dialtone", "secret");
    ami_config.auth = Auth::Md5;
    let ami = AmiClient::start(ami_config);

    // Two agents log in: their phones are rung into their conferences.
    let mut sessions = Vec::new();
    for (i, name) in ["ana", "ben"].into_iter().enumerate() {
        let user = users::create(&pool, name, name, users::Role::Agent, "a long password").await.expect("user");
        let phone = format!("PJSIP/10{i:02}");
        let session = agents::open_session(&pool, user, campaign, "n1", &phone).await.expect("session");
        ami.send(control::ring_agent_phone(session, &phone)).await.expect("ring");
        sessions.push(session);
    }
    for _ in 0..100 {
        let paused: i64 = sqlx::query_scalar("SELECT count(*) FROM agent_sessions WHERE state = 'paused'").fetch_one(&pool).await.expect("n");
        if paused == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for session in &sessions {
        assert!(agents::set_state(&pool, *session, "ready", None).await.expect("ready"), "the phone connected the session");
    }

    let dialer = Arc::new(DialerContext { pool: pool.clone(), ami: ami.clone(), node: "n1".into(), tick: Duration::from_millis(30) });
    tokio::spawn(watch_outcomes(dialer.clone(), stop.clone()));
    tokio::spawn(run_campaign(dialer, campaign, stop.clone()));

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        for session in &sessions {
            agents::seen(&pool, *session).await.expect("heartbeat");
        }
        agents::end_wrapups(&pool).await.expect("wrap-ups");
        let (untouched, open): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM leads WHERE attempt_count = 0), (SELECT count(*) FROM call_attempts WHERE state <> 'resolved')",
        )
        .fetch_one(&pool)
        .await
        .expect("progress");
        if (untouched == 0 && open == 0) || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();

    let per_lead: Vec<i64> = sqlx::query_scalar("SELECT count(a.id) FROM leads l LEFT JOIN call_attempts a ON a.lead_id = l.id GROUP BY l.id").fetch_all(&pool).await.expect("attempts");
    assert_eq!(per_lead.len(), 20);
    assert!(per_lead.iter().all(|n| *n == 1), "every lead dialed exactly once: {per_lead:?}");
    let outcomes: Vec<(String, i64)> =
        sqlx::query_as("SELECT outcome, count(*) FROM call_attempts GROUP BY outcome ORDER BY outcome").fetch_all(&pool).await.expect("outcomes");
    let count = |o: &str| outcomes.iter().find(|(k, _)| k == o).map_or(0, |(_, n)| *n);
    assert_eq!(count("busy") + count("answered_human") + count("answered_machine") + count("abandoned"), 20, "{outcomes:?}");
    assert!(count("answered_human") > 0 && count("busy") > 0 && count("answered_machine") > 0, "{outcomes:?}");
    assert_eq!(count("abandoned"), 0, "progressive never dials more lines than ready agents: {outcomes:?}");
    let (live, abandons): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE kind = 'live_answer'), count(*) FILTER (WHERE kind = 'abandon') FROM abandon_ledger",
    )
    .fetch_one(&pool)
    .await
    .expect("ledger");
    assert_eq!((live, abandons), (count("answered_human"), 0));
    let open_calls: i64 = sqlx::query_scalar("SELECT count(*) FROM calls WHERE state <> 'ended'").fetch_one(&pool).await.expect("calls");
    assert_eq!(open_calls, 0, "call-end closed every call");
}
