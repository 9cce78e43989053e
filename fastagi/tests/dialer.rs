//! The dialer loop against a scripted manager and a real PostgreSQL: it dials each due lead
//! once, through the campaign's dial string, and records Asterisk's failures as outcomes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's helpers fail the test as its #[test]s do

use dialtone_core::vocabulary::AgentState;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dialtone_asterisk::ami::{AmiClient, AmiCodec, AmiConfig, AmiFrame, Auth};
use dialtone_core::{agents, campaigns, lists, users};
use dialtone_fastagi::dialer::{run_campaign, watch_outcomes, DialerContext};
use futures::StreamExt;
use sqlx::PgPool;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

/// A manager that logs anyone in and answers every Originate as a busy callee does.
/// How the scripted manager reports a busy callee.
#[derive(Clone, Copy)]
enum Busy {
    /// The trunk refuses the Originate: OriginateResponse Failure, Reason 5.
    Originate,
    /// A `Local/...` template: the Originate succeeds, the carrier leg's DialEnd says BUSY, and
    /// the channel hangs up with cause 17, as Asterisk reports them.
    DialEnd,
}

/// The fields of each Originate the manager received.
type Originates = Arc<Mutex<Vec<Vec<(String, String)>>>>;

async fn busy_manager(listener: TcpListener, originates: Originates, live: Vec<String>) {
    busy_manager_reporting(listener, originates, live, Busy::Originate).await
}

async fn busy_manager_reporting(
    listener: TcpListener,
    originates: Originates,
    live: Vec<String>,
    busy: Busy,
) {
    while let Ok((stream, _)) = listener.accept().await {
        let (originates, live) = (originates.clone(), live.clone());
        tokio::spawn(async move {
            let (r, mut w) = stream.into_split();
            let mut actions = FramedRead::new(r, AmiCodec::server());
            let _ = w.write_all(b"Asterisk Call Manager/11.0.0\r\n").await;
            loop {
                let Some(Ok(AmiFrame::Message(action))) = actions.next().await else {
                    return;
                };
                let fields = action.fields;
                let get = |k: &str| {
                    fields
                        .iter()
                        .find(|(f, _)| f == k)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                let id = get("ActionID");
                let reply = match get("Action").as_str() {
                    "Originate" => {
                        let channel_id = get("ChannelId");
                        originates.lock().expect("lock").push(fields.clone());
                        match busy {
                            Busy::Originate => format!(
                                "Response: Success\r\nActionID: {id}\r\nMessage: Originate successfully queued\r\n\r\n\
                                 Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: {id}\r\nResponse: Failure\r\nReason: 5\r\nUniqueid: {channel_id}\r\n\r\n"
                            ),
                            Busy::DialEnd => format!(
                                "Response: Success\r\nActionID: {id}\r\nMessage: Originate successfully queued\r\n\r\n\
                                 Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: {id}\r\nResponse: Success\r\nChannel: Local/5550100@carrier-00000001;1\r\nReason: 4\r\nUniqueid: {channel_id}\r\n\r\n\
                                 Event: DialEnd\r\nPrivilege: call,all\r\nChannel: Local/5550100@carrier-00000001;2\r\nUniqueid: {channel_id};2\r\nLinkedid: {channel_id}\r\nDestChannel: PJSIP/acme-00000002\r\nDestUniqueid: 1764000000.7\r\nDestLinkedid: {channel_id}\r\nDialStatus: BUSY\r\n\r\n\
                                 Event: Hangup\r\nPrivilege: call,all\r\nChannel: Local/5550100@carrier-00000001;1\r\nUniqueid: {channel_id}\r\nLinkedid: {channel_id}\r\nCause: 17\r\nCause-txt: User busy\r\n\r\n"
                            ),
                        }
                    }
                    "CoreShowChannels" => {
                        let mut out = format!("Response: Success\r\nActionID: {id}\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n");
                        for u in &live {
                            out.push_str(&format!("Event: CoreShowChannel\r\nActionID: {id}\r\nChannel: PJSIP/acme-0001\r\nUniqueid: {u}\r\nLinkedid: {u}\r\n\r\n"));
                        }
                        out.push_str(&format!("Event: CoreShowChannelsComplete\r\nActionID: {id}\r\nEventList: Complete\r\nListItems: {}\r\n\r\n", live.len()));
                        out
                    }
                    _ => format!("Response: Success\r\nActionID: {id}\r\nMessage: Authentication accepted\r\n\r\n"),
                };
                if w.write_all(reply.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn dials_each_due_lead_once_and_records_busy(pool: PgPool) {
    busy_leads_are_dialed_once(pool, Busy::Originate, "PJSIP/{number}@{trunk}").await
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn behind_a_local_template_the_outcome_comes_from_dial_end(pool: PgPool) {
    busy_leads_are_dialed_once(pool, Busy::DialEnd, "Local/{number}@carrier").await
}

/// A progressive campaign dialing through `template`, three leads due in a zone where it is day,
/// and a ready agent: (campaign, the agent's session).
async fn due_campaign(pool: &PgPool, template: &str) -> (i64, i64) {
    let zone = dialtone_sim::daytime_zone()
        .expect("some zone is in daytime")
        .to_string();
    let campaign = campaigns::create(
        pool,
        "c",
        dialtone_core::vocabulary::DialMethod::Progressive,
        "9am-9pm",
    )
    .await
    .expect("campaign");
    sqlx::query("UPDATE campaigns SET call_time_id = NULL, active = true, dial_template = $2, trunk = 'acme', dial_prefix = '9', caller_id_number = '+15125550000', caller_id_name = 'ACME' WHERE id = $1")
        .bind(campaign)
        .bind(template)
        .execute(pool)
        .await
        .expect("settings");
    let list = lists::create(pool, "l", Some(campaign), "US")
        .await
        .expect("list");
    sqlx::query("UPDATE lists SET time_zones = ARRAY[$2] WHERE id = $1")
        .bind(list)
        .bind(&zone)
        .execute(pool)
        .await
        .expect("zones");
    for i in 0..3 {
        sqlx::query("INSERT INTO leads (list_id, phone_e164, country, time_zone, next_attempt_at) VALUES ($1, $2, 'US', $3, now() - interval '1 minute')")
            .bind(list)
            .bind(format!("+1201555010{i}"))
            .bind(&zone)
            .execute(pool)
            .await
            .expect("lead");
    }
    let user = users::create(
        pool,
        "ana",
        "Ana",
        dialtone_core::vocabulary::Role::Agent,
        "a long password",
    )
    .await
    .expect("user");
    let session = agents::open_session(pool, user, campaign, "n1", "PJSIP/1001")
        .await
        .expect("session");
    agents::set_state(pool, session, AgentState::Ready, None)
        .await
        .expect("ready");

    (campaign, user)
}

async fn busy_leads_are_dialed_once(pool: PgPool, busy: Busy, template: &str) {
    let (campaign, agent) = due_campaign(&pool, template).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let originates = Arc::new(Mutex::new(Vec::new()));
    tokio::spawn(busy_manager_reporting(
        listener,
        originates.clone(),
        Vec::new(),
        busy,
    ));
    let mut config = AmiConfig::new(addr.to_string(), "dialer", "secret");
    config.auth = Auth::Plain;
    let ctx = Arc::new(DialerContext {
        pool: pool.clone(),
        ami: AmiClient::start(config),
        node: "n1".into(),
        tick: Duration::from_millis(50),
    });
    let stop = CancellationToken::new();
    tokio::spawn(watch_outcomes(ctx.clone(), stop.clone()));
    tokio::spawn(run_campaign(ctx.clone(), campaign, stop.clone()));

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        // The agent's page stays alive.
        agents::seen(&pool, &[(agent, chrono::Utc::now())])
            .await
            .expect("seen");
        let busy: i64 = sqlx::query_scalar("SELECT count(*) FROM leads WHERE status = 'B'")
            .fetch_one(&pool)
            .await
            .expect("count");
        if busy == 3 || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.cancel();

    let originates = originates.lock().expect("lock").clone();
    assert_eq!(originates.len(), 3, "each lead dialed once: {originates:?}");
    let channels: Vec<String> = originates
        .iter()
        .map(|f| {
            f.iter()
                .find(|(k, _)| k == "Channel")
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        })
        .collect();
    let mut sorted = channels.clone();
    sorted.sort();
    let expected: Vec<String> = (0..3)
        .map(|i| {
            template
                .replace("{number}", &format!("91201555010{i}"))
                .replace("{trunk}", "acme")
        })
        .collect();
    assert_eq!(sorted, expected);
    let first = &originates[0];
    let field = |k: &str| {
        first
            .iter()
            .filter(|(f, _)| f == k)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(field("Timeout"), ["26000"]);
    assert_eq!(field("CallerID"), ["\"ACME\" <+15125550000>"]);
    assert_eq!(field("Context"), ["dialtone-outbound"]);
    let variables = field("Variable");
    assert!(
        variables
            .iter()
            .any(|v| v == &format!("DIALTONE_CALL_ID={}", field("ChannelId")[0])),
        "{variables:?}"
    );
    assert!(
        variables
            .iter()
            .any(|v| v == &format!("DIALTONE_CAMPAIGN_ID={campaign}")),
        "{variables:?}"
    );

    let rows: Vec<(String, i32, bool)> =
        sqlx::query_as("SELECT status, attempt_count, coalesce(next_attempt_at > now() + interval '10 minutes', false) FROM leads ORDER BY id")
            .fetch_all(&pool)
            .await
            .expect("leads");
    assert_eq!(
        rows,
        vec![("B".to_string(), 1, true); 3],
        "busy, one attempt each, due again in 15 minutes"
    );
    let resolved: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM call_attempts WHERE state = 'resolved' AND outcome = 'busy'",
    )
    .fetch_one(&pool)
    .await
    .expect("attempts");
    assert_eq!(resolved, 3);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn after_a_gap_dials_with_no_channel_are_resolved_and_none_is_dialed_again(pool: PgPool) {
    use dialtone_core::attempts;
    let campaign = campaigns::create(
        &pool,
        "c",
        dialtone_core::vocabulary::DialMethod::Progressive,
        "9am-9pm",
    )
    .await
    .expect("campaign");
    let list = lists::create(&pool, "l", Some(campaign), "US")
        .await
        .expect("list");
    let mut calls = Vec::new();
    for i in 0..4 {
        let lead: i64 = sqlx::query_scalar("INSERT INTO leads (list_id, phone_e164, country, time_zone) VALUES ($1, $2, 'US', 'America/New_York') RETURNING id")
            .bind(list)
            .bind(format!("+1201555020{i}"))
            .fetch_one(&pool)
            .await
            .expect("lead");
        let call = attempts::reserve(&pool, campaign, lead, "n1")
            .await
            .expect("reserve");
        // The fourth was reserved, and the database went away before it was sent.
        if i < 3 {
            assert!(attempts::originating(&pool, call)
                .await
                .expect("originating"));
        }
        calls.push(call);
    }
    sqlx::query(
        "UPDATE call_attempts SET reserved_at = now() - interval '5 minutes' WHERE call_id = $1",
    )
    .bind(calls[3])
    .execute(&pool)
    .await
    .expect("age");
    // Two were dialed five minutes ago, the third just now.
    sqlx::query(
        "UPDATE call_attempts SET dialed_at = now() - interval '5 minutes' WHERE call_id = ANY($1)",
    )
    .bind(&calls[..2])
    .execute(&pool)
    .await
    .expect("age");
    // Three inbound calls a database outage left open: a caller still talking, one gone, one too recent to judge.
    for (uniqueid, age) in [
        ("1764000000.1", "5 minutes"),
        ("1764000000.2", "5 minutes"),
        ("1764000000.3", "1 second"),
    ] {
        sqlx::query(&format!(
            "INSERT INTO calls (id, direction, node, uniqueid, state, answered_at, created_at) VALUES (gen_random_uuid(), 'inbound', 'n1', $1, 'answered', now(), now() - interval '{age}')"
        ))
        .bind(uniqueid)
        .execute(&pool)
        .await
        .expect("open call");
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    // Asterisk still has the first dial's channel and the first caller's.
    tokio::spawn(busy_manager(
        listener,
        Arc::new(Mutex::new(Vec::new())),
        vec![calls[0].to_string(), "1764000000.1".into()],
    ));
    let mut config = AmiConfig::new(addr.to_string(), "dialer", "secret");
    config.auth = Auth::Plain;
    let ctx = DialerContext {
        pool: pool.clone(),
        ami: AmiClient::start(config),
        node: "n1".into(),
        tick: Duration::from_millis(50),
    };
    let mut link = ctx.ami.link();
    link.wait_for(|l| matches!(l, dialtone_asterisk::ami::Link::Up { .. }))
        .await
        .expect("up");
    let done = dialtone_fastagi::dialer::reconcile(&ctx, dialtone_fastagi::dialer::GRACE)
        .await
        .expect("reconcile");
    assert_eq!(
        done,
        dialtone_fastagi::dialer::Reconciled {
            dials: 2,
            calls: 1,
            abandons: 0
        }
    );
    let open: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT uniqueid, state, outcome FROM calls ORDER BY uniqueid")
            .fetch_all(&pool)
            .await
            .expect("calls");
    assert_eq!(
        open,
        vec![
            ("1764000000.1".to_string(), "answered".to_string(), None),
            (
                "1764000000.2".to_string(),
                "ended".to_string(),
                Some("caller_hangup".to_string())
            ),
            ("1764000000.3".to_string(), "answered".to_string(), None),
        ],
        "a live caller and a recent call are left alone; the gone one is closed"
    );
    let states: Vec<(uuid::Uuid, String, Option<String>)> =
        sqlx::query_as("SELECT call_id, state, outcome FROM call_attempts")
            .fetch_all(&pool)
            .await
            .expect("attempts");
    let state = |call: uuid::Uuid| {
        states
            .iter()
            .find(|(c, _, _)| *c == call)
            .map(|(_, s, o)| (s.clone(), o.clone()))
            .expect("attempt")
    };
    assert_eq!(
        state(calls[0]),
        ("originating".to_string(), None),
        "its channel is live"
    );
    assert_eq!(
        state(calls[1]),
        ("resolved".to_string(), Some("failed".to_string())),
        "gone: resolved, counted"
    );
    assert_eq!(
        state(calls[2]),
        ("originating".to_string(), None),
        "too recent to judge"
    );
    assert_eq!(
        state(calls[3]),
        ("resolved".to_string(), Some("cancelled".to_string())),
        "never sent: cancelled, its lead due again"
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn call_control_refuses_ended_calls_and_dnc_transfers(pool: PgPool) {
    use dialtone_fastagi::control::{Control, ControlError};
    let campaign = campaigns::create(
        &pool,
        "c",
        dialtone_core::vocabulary::DialMethod::Progressive,
        "9am-9pm",
    )
    .await
    .expect("campaign");
    let (live, ended) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    sqlx::query("INSERT INTO calls (id, direction, campaign_id, node, channel, state) VALUES ($1, 'outbound', $2, 'n1', 'PJSIP/acme-01', 'connected')")
        .bind(live)
        .bind(campaign)
        .execute(&pool)
        .await
        .expect("live");
    sqlx::query("INSERT INTO calls (id, direction, campaign_id, node, channel, state, ended_at) VALUES ($1, 'outbound', $2, 'n1', 'PJSIP/acme-02', 'ended', now())")
        .bind(ended)
        .bind(campaign)
        .execute(&pool)
        .await
        .expect("ended");
    let number = dialtone_core::phone::normalize(
        "212-555-0199",
        dialtone_core::phone::country("US").expect("US"),
    )
    .expect("number");
    dialtone_core::dnc::add_number(
        &pool,
        dialtone_core::dnc::Scope::Campaign(campaign),
        &number,
        dialtone_core::dnc::Source::Manual,
        "",
    )
    .await
    .expect("dnc");

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(busy_manager(
        listener,
        Arc::new(Mutex::new(Vec::new())),
        Vec::new(),
    ));
    let mut config = AmiConfig::new(addr.to_string(), "dialer", "secret");
    config.auth = Auth::Plain;
    let control = Control {
        pool: pool.clone(),
        ami: AmiClient::start(config),
        recordings_dir: "/rec".into(),
    };

    assert!(
        matches!(
            control.hang_up(ended).await,
            Err(ControlError::CallEnded(_))
        ),
        "an action on a call that ended says so"
    );
    assert!(matches!(
        control.hang_up(uuid::Uuid::new_v4()).await,
        Err(ControlError::NoCall(_))
    ));
    assert!(matches!(
        control
            .blind_transfer_to_number(live, "+12125550199", "dialtone-transfer")
            .await,
        Err(ControlError::DoNotCall(..))
    ));
    assert!(matches!(
        control.dtmf(live, "12x").await,
        Err(ControlError::Refused(_))
    ));
    control.hang_up(live).await.expect("hangs up a live call");
    control
        .blind_transfer_to_number(live, "+15125550100", "dialtone-transfer")
        .await
        .expect("transfers");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn with_the_ami_link_down_nothing_is_dialed_until_it_is_back(pool: PgPool) {
    let (campaign, agent) = due_campaign(&pool, "PJSIP/{number}@{trunk}").await;
    // Asterisk is not there yet: the port is free, nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut config = AmiConfig::new(format!("127.0.0.1:{port}"), "dialer", "secret");
    config.auth = Auth::Plain;
    config.backoff_min = Duration::from_millis(100);
    config.backoff_max = Duration::from_millis(200);
    let ctx = Arc::new(DialerContext {
        pool: pool.clone(),
        ami: AmiClient::start(config),
        node: "n1".into(),
        tick: Duration::from_millis(50),
    });
    let stop = CancellationToken::new();
    tokio::spawn(watch_outcomes(ctx.clone(), stop.clone()));
    tokio::spawn(run_campaign(ctx.clone(), campaign, stop.clone()));
    for _ in 0..20 {
        agents::seen(&pool, &[(agent, chrono::Utc::now())])
            .await
            .expect("seen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let taken: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM call_attempts) + (SELECT count(*) FROM hopper)",
    )
    .fetch_one(&pool)
    .await
    .expect("n");
    assert_eq!(
        taken, 0,
        "no lead is taken while no Originate can be confirmed"
    );

    // Asterisk comes up: the link logs in by itself and the leads are dialed, once each.
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind the manager's port");
    let originates = Arc::new(Mutex::new(Vec::new()));
    tokio::spawn(busy_manager(listener, originates.clone(), Vec::new()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        agents::seen(&pool, &[(agent, chrono::Utc::now())])
            .await
            .expect("seen");
        let busy: i64 = sqlx::query_scalar("SELECT count(*) FROM leads WHERE status = 'B'")
            .fetch_one(&pool)
            .await
            .expect("count");
        if busy == 3 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "dialing did not resume"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    assert_eq!(
        originates.lock().expect("lock").len(),
        3,
        "each lead dialed once"
    );
}
