//! The whole outbound path against the PBX simulator: agents' phones nailed into their
//! conferences over AMI and AGI, the dialer pacing and originating, simulated callees answering
//! (people and machines) or busy, the call flows handing people to agents, `call-end` closing
//! calls, wrap-ups ending. Progressive pacing must never abandon a call; predictive pacing of
//! a thousand leads must keep every rule.

use std::sync::Arc;
use std::time::Duration;

use dialtone_asterisk::agi::{serve, ServerConfig};
use dialtone_asterisk::ami::{AmiClient, AmiConfig, Auth};
use dialtone_core::{agents, campaigns, lists, users};
use dialtone_fastagi::dialer::{run_campaign, watch_outcomes, DialerContext};
use dialtone_fastagi::{control, router, FlowContext};
use dialtone_sim::{CalleeModel, Pbx, PbxConfig};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// Dialtone's FastAGI server, the simulator pointed at it, an AMI client, agents logged in and
/// ready, and the campaign's dialer running.
struct Floor {
    sessions: Vec<i64>,
    stop: CancellationToken,
}

async fn start(pool: &PgPool, campaign: i64, agents: usize, model: CalleeModel) -> Floor {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let agi = listener.local_addr().expect("addr");
    let stop = CancellationToken::new();
    let ctx = FlowContext { pool: pool.clone(), node: "n1".into(), recordings_dir: "/rec".into(), agent_poll: std::time::Duration::from_millis(20) };
    tokio::spawn(serve(listener, router(ctx), ServerConfig::default(), stop.clone()));
    let pbx = Pbx::start(PbxConfig { agi, model }).await.expect("simulator");
    let mut ami_config = AmiConfig::new(pbx.ami.to_string(), "dialtone", "secret");
    ami_config.auth = Auth::Md5;
    let ami = AmiClient::start(ami_config);

    // The agents log in: their phones are rung into their conferences.
    let mut sessions = Vec::new();
    for i in 0..agents {
        let name = format!("agent{i}");
        let user = users::create(pool, &name, &name, users::Role::Agent, "a long password").await.expect("user");
        let phone = format!("PJSIP/10{i:02}");
        let session = agents::open_session(pool, user, campaign, "n1", &phone).await.expect("session");
        ami.send(control::ring_agent_phone(session, &phone)).await.expect("ring");
        sessions.push(session);
    }
    for _ in 0..200 {
        let paused: i64 = sqlx::query_scalar("SELECT count(*) FROM agent_sessions WHERE state = 'paused'").fetch_one(pool).await.expect("n");
        if paused == agents as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for session in &sessions {
        assert!(agents::set_state(pool, *session, "ready", None).await.expect("ready"), "the phone connected the session");
    }
    let dialer = Arc::new(DialerContext { pool: pool.clone(), ami: ami.clone(), node: "n1".into(), tick: Duration::from_millis(30) });
    tokio::spawn(watch_outcomes(dialer.clone(), stop.clone()));
    tokio::spawn(run_campaign(dialer, campaign, stop.clone()));
    Floor { sessions, stop }
}

impl Floor {
    /// Keeps the agents' pages alive and their wrap-ups ending until every due lead of `zone`
    /// that is not on a DNC list was tried and no dial is open, or `limit` passes.
    async fn run_until_done(&self, pool: &PgPool, zone: &str, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            for session in &self.sessions {
                agents::seen(pool, *session).await.expect("heartbeat");
            }
            agents::end_wrapups(pool).await.expect("wrap-ups");
            let (untouched, open): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT count(*) FROM leads WHERE attempt_count = 0 AND next_attempt_at <= now() AND time_zone = $1
                           AND phone_e164 NOT IN (SELECT value FROM dnc_entries)),
                        (SELECT count(*) FROM call_attempts WHERE state <> 'resolved') + (SELECT count(*) FROM hopper)",
            )
            .bind(zone)
            .fetch_one(pool)
            .await
            .expect("progress");
            if (untouched == 0 && open == 0) || tokio::time::Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.stop.cancel();
    }
}

async fn campaign_with_list(pool: &PgPool, method: campaigns::DialMethod, zone: &str) -> (i64, i64) {
    let campaign = campaigns::create(pool, "sim", method, "9am-9pm").await.expect("campaign");
    sqlx::query("UPDATE campaigns SET call_time_id = NULL, active = true, wrapup_secs = 0, recording_policy = 'never' WHERE id = $1")
        .bind(campaign)
        .execute(pool)
        .await
        .expect("settings");
    let list = lists::create(pool, "l", Some(campaign), "US").await.expect("list");
    sqlx::query("UPDATE lists SET time_zones = ARRAY[$2] WHERE id = $1").bind(list).bind(zone).execute(pool).await.expect("zones");
    (campaign, list)
}

async fn add_leads(pool: &PgPool, list: i64, first: i32, count: i32, zone: &str) {
    sqlx::query(
        "INSERT INTO leads (list_id, phone_e164, country, time_zone, next_attempt_at)
         SELECT $1, '+1201' || lpad(g::text, 7, '0'), 'US', $4, now() - interval '1 minute' FROM generate_series($2, $2 + $3 - 1) g",
    )
    .bind(list)
    .bind(first)
    .bind(count)
    .bind(zone)
    .execute(pool)
    .await
    .expect("leads");
}

fn fast_callees(seed: u64) -> CalleeModel {
    let mut model = CalleeModel::new(seed);
    (model.busy, model.human, model.machine) = (0.2, 0.6, 0.2);
    model.ring = (Duration::from_millis(50), Duration::from_millis(150));
    model.talk = (Duration::from_millis(150), Duration::from_millis(300));
    model
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn progressive_campaign_end_to_end_against_the_simulator(pool: PgPool) {
    let zone = dialtone_sim::daytime_zone().expect("some zone is in daytime").to_string();
    let (campaign, list) = campaign_with_list(&pool, campaigns::DialMethod::Progressive, &zone).await;
    add_leads(&pool, list, 5_550_001, 20, &zone).await;
    let floor = start(&pool, campaign, 2, fast_callees(7)).await;
    floor.run_until_done(&pool, &zone, Duration::from_secs(60)).await;

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

/// Checks that the abandon ledger is the call records (a live answer per call an agent took, an
/// abandon per abandoned call) and that every abandon heard the safe-harbor message within 2
/// seconds of answer; returns (connected, abandoned).
async fn ledger_is_the_call_records(pool: &PgPool) -> (i64, i64) {
    let (ledger_live, ledger_abandons, connected, abandoned): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM abandon_ledger WHERE kind = 'live_answer'), (SELECT count(*) FROM abandon_ledger WHERE kind = 'abandon'),
                (SELECT count(*) FROM calls WHERE agent_connected_at IS NOT NULL), (SELECT count(*) FROM calls WHERE outcome = 'abandoned')",
    )
    .fetch_one(pool)
    .await
    .expect("ledger");
    assert_eq!((ledger_live, ledger_abandons), (connected, abandoned), "the ledger is the call records");
    let late: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM calls c JOIN abandon_ledger l ON l.call_id = c.id
         WHERE l.kind = 'abandon' AND l.occurred_at - c.answered_at > interval '2 seconds'",
    )
    .fetch_one(pool)
    .await
    .expect("late");
    assert_eq!(late, 0, "every abandon got the safe-harbor message within 2 seconds of answer");
    (connected, abandoned)
}

/// A zone where it is night now: its callees are outside every calling window.
fn night_zone() -> &'static str {
    use chrono::Timelike;
    let now = chrono::Utc::now();
    ["Pacific/Kiritimati", "Pacific/Auckland", "Asia/Tokyo", "Asia/Kolkata", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "Pacific/Honolulu"]
        .into_iter()
        .find(|z| z.parse::<chrono_tz::Tz>().is_ok_and(|tz| !(7..22).contains(&now.with_timezone(&tz).hour())))
        .expect("somewhere it is night")
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_thousand_leads_predictive_with_ten_agents_keep_every_rule(pool: PgPool) {
    use dialtone_core::dnc::{self, Scope, Source};
    let zone = dialtone_sim::daytime_zone().expect("some zone is in daytime").to_string();
    let night = night_zone();
    let (campaign, list) = campaign_with_list(&pool, campaigns::DialMethod::Predictive, &zone).await;
    // A short drop window, so that the pacer's misses become abandons the test can see.
    sqlx::query("UPDATE campaigns SET drop_timeout_secs = 0.3, max_lines = 60 WHERE id = $1").bind(campaign).execute(&pool).await.expect("drop");
    sqlx::query("UPDATE lists SET time_zones = ARRAY[$2, $3] WHERE id = $1").bind(list).bind(&zone).bind(night).execute(&pool).await.expect("zones");
    add_leads(&pool, list, 5_550_001, 1000, &zone).await;
    add_leads(&pool, list, 6_660_001, 20, night).await;
    for n in 5_550_001..5_550_021 {
        let number = dialtone_core::phone::normalize(&format!("+1201{n:07}"), dialtone_core::phone::country("US").expect("US")).expect("number");
        dnc::add_number(&pool, Scope::System, &number, Source::Manual, "asked").await.expect("dnc");
    }

    let mut callees = fast_callees(11);
    (callees.busy, callees.congestion) = (0.15, 0.05);
    let floor = start(&pool, campaign, 10, callees).await;
    floor.run_until_done(&pool, &zone, Duration::from_secs(240)).await;

    // Every lead that could be called was called once, and ended final or scheduled for later.
    let (dialed_once, never, unsettled): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE n = 1), count(*) FILTER (WHERE n = 0), count(*) FILTER (WHERE n > 0 AND next_attempt_at <= now())
         FROM (SELECT l.id, l.next_attempt_at, count(a.id) AS n FROM leads l LEFT JOIN call_attempts a ON a.lead_id = l.id
               WHERE l.time_zone = $1 AND l.phone_e164 NOT IN (SELECT value FROM dnc_entries) GROUP BY l.id) x",
    )
    .bind(&zone)
    .fetch_one(&pool)
    .await
    .expect("leads");
    assert_eq!((dialed_once, never, unsettled), (980, 0, 0), "every callable lead dialed exactly once and settled");
    let twice: i64 = sqlx::query_scalar("SELECT count(*) FROM (SELECT phone_e164 FROM call_attempts GROUP BY phone_e164 HAVING count(*) > 1) x")
        .fetch_one(&pool)
        .await
        .expect("twice");
    assert_eq!(twice, 0, "no number dialed twice within its retry delay");
    let forbidden: (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE phone_e164 IN (SELECT value FROM dnc_entries)), count(*) FILTER (WHERE phone_e164 LIKE '+1201666%')
         FROM call_attempts",
    )
    .fetch_one(&pool)
    .await
    .expect("forbidden");
    assert_eq!(forbidden, (0, 0), "no DNC number and no callee outside calling hours was dialed");
    let kinds: Vec<String> = sqlx::query_scalar("SELECT DISTINCT outcome FROM call_attempts ORDER BY 1").fetch_all(&pool).await.expect("outcomes");
    for kind in ["answered_human", "answered_machine", "busy", "congestion"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} among the outcomes: {kinds:?}");
    }

    let (calls_live, calls_abandoned) = ledger_is_the_call_records(&pool).await;
    let open_calls: i64 = sqlx::query_scalar("SELECT count(*) FROM calls WHERE state <> 'ended'").fetch_one(&pool).await.expect("calls");
    assert_eq!(open_calls, 0, "call-end closed every call");
    eprintln!("predictive run: {calls_live} connected, {calls_abandoned} abandoned of {dialed_once} leads");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn over_dialing_abandons_get_the_safe_harbor_message_and_the_ledger(pool: PgPool) {
    let zone = dialtone_sim::daytime_zone().expect("some zone is in daytime").to_string();
    let (campaign, list) = campaign_with_list(&pool, campaigns::DialMethod::Ratio, &zone).await;
    // Four lines per ready agent and a short drop window: some callees must find no agent.
    sqlx::query("UPDATE campaigns SET dial_ratio = 4, drop_timeout_secs = 0.2 WHERE id = $1").bind(campaign).execute(&pool).await.expect("ratio");
    add_leads(&pool, list, 5_550_001, 80, &zone).await;
    let mut callees = fast_callees(3);
    (callees.busy, callees.human, callees.machine) = (0.0, 1.0, 0.0);
    callees.talk = (Duration::from_millis(600), Duration::from_millis(900));
    let floor = start(&pool, campaign, 2, callees).await;
    floor.run_until_done(&pool, &zone, Duration::from_secs(120)).await;

    let (connected, abandoned) = ledger_is_the_call_records(&pool).await;
    assert!(abandoned > 0, "four lines per agent abandon some callees ({connected} connected)");
    let locked_out: i64 = sqlx::query_scalar("SELECT count(*) FROM leads WHERE status = 'DROP' AND (next_attempt_at IS NULL OR next_attempt_at > now() + interval '47 hours')")
        .fetch_one(&pool)
        .await
        .expect("drops");
    assert_eq!(locked_out, abandoned, "an abandoned callee is not called again for 48 hours");
}
