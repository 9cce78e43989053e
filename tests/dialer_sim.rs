//! The whole outbound path against the PBX simulator: agents' phones nailed into their
//! conferences over AMI and AGI, the dialer pacing and originating, simulated callees answering
//! (people and machines) or busy, the call flows handing people to agents, `call-end` closing
//! calls, wrap-ups ending. Progressive pacing must never abandon a call; predictive pacing of
//! a thousand leads must keep every rule. Call control (hold, park, keys, recording, warm and
//! blind transfers) acts on the simulator's channels; a database restart in the middle of a
//! campaign stops the dialing, which comes back on its own with every call record closed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's helpers fail the test as its #[test]s do

use dialtone_core::vocabulary::AgentState;
use std::sync::Arc;
use std::time::Duration;

use dialtone_asterisk::ami::{AmiClient, AmiConfig, Auth};
use dialtone_core::bus::Bus;
use dialtone_core::{agents, users};
use dialtone_fastagi::control::{self, Control};
use dialtone_fastagi::node;
use dialtone_sim::{CalleeModel, Pbx, PbxConfig};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

mod common;
use common::floor::{
    add_leads, campaign_with_list, ledger_is_the_call_records, progress, thousand_lead_campaign,
    thousand_lead_rules_kept,
};
use common::heartbeat;

/// A node (`dialtone_fastagi::node`, as `dialtone serve` starts it) on the simulator, an AMI
/// client of the test's own, and agents logged in and ready.
struct Floor {
    sessions: Vec<i64>,
    ami: AmiClient,
    /// The node's call control, as the web's requests reach it.
    control: Control,
    stop: CancellationToken,
}

async fn start(pool: &PgPool, campaign: i64, agents: usize, model: CalleeModel) -> Floor {
    dialtone_core::telemetry::test_logging();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let agi = listener.local_addr().expect("addr");
    let stop = CancellationToken::new();
    let pbx = Pbx::start(PbxConfig { agi, model })
        .await
        .expect("simulator");
    let ami_config = |user: &str| {
        let mut config = AmiConfig::new(pbx.ami.to_string(), user, "secret");
        config.auth = Auth::Md5;
        config
    };
    let ami = AmiClient::start(ami_config("dialtone"));

    // The agents log in: their phones are rung into their conferences. The campaign's dialer
    // waits for them to be ready.
    let mut sessions = Vec::new();
    for i in 0..agents {
        let name = format!("agent{i}");
        let user = users::create(
            pool,
            &name,
            &name,
            dialtone_core::vocabulary::Role::Agent,
            "a long password",
        )
        .await
        .expect("user");
        let phone = format!("PJSIP/10{i:02}");
        let session = agents::open_session(pool, user, campaign, "n1", &phone)
            .await
            .expect("session");
        sessions.push((session, phone));
    }
    let settings = node::Settings {
        agent_poll: Duration::from_millis(20),
        dial_tick: Duration::from_millis(30),
        campaign_scan: Duration::from_millis(200),
        reconcile_every: Duration::from_millis(500),
        reconcile_grace: Duration::from_secs(2),
        ..node::Settings::new("n1", "/rec")
    };
    let bus = Bus::from_config(None).await.expect("an in-process bus");
    let node = node::start(
        pool.clone(),
        bus,
        AmiClient::start(ami_config("dialtone")),
        listener,
        settings,
        stop.clone(),
    );
    for (session, phone) in &sessions {
        ami.send(control::ring_agent_phone(*session, phone).expect("a phone"))
            .await
            .expect("ring");
    }
    for _ in 0..200 {
        let paused: i64 =
            sqlx::query_scalar("SELECT count(*) FROM agent_sessions WHERE state = 'paused'")
                .fetch_one(pool)
                .await
                .expect("n");
        if paused == agents as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for (session, _) in &sessions {
        assert!(
            agents::set_state(pool, *session, AgentState::Ready, None)
                .await
                .expect("ready"),
            "the phone connected the session"
        );
    }
    Floor {
        sessions: sessions.into_iter().map(|(s, _)| s).collect(),
        ami,
        control: node.control,
        stop,
    }
}

impl Floor {
    /// Keeps the agents' pages alive and their wrap-ups ending until every due lead of `zone`
    /// that is not on a DNC list was tried and no dial is open, or `limit` passes.
    async fn run_until_done(&self, pool: &PgPool, zone: &str, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            heartbeat(pool, &self.sessions).await.expect("heartbeat");
            agents::end_wrapups(pool).await.expect("wrap-ups");
            let (untouched, open) = progress(pool, zone).await;
            if (untouched == 0 && open == 0) || tokio::time::Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.stop.cancel();
    }
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
    let zone = dialtone_sim::daytime_zone()
        .expect("some zone is in daytime")
        .to_string();
    let (campaign, list) = campaign_with_list(
        &pool,
        dialtone_core::vocabulary::DialMethod::Progressive,
        &zone,
    )
    .await;
    add_leads(&pool, list, 5_550_001, 20, &zone).await;
    let floor = start(&pool, campaign, 2, fast_callees(7)).await;
    floor
        .run_until_done(&pool, &zone, Duration::from_secs(60))
        .await;

    let per_lead: Vec<i64> = sqlx::query_scalar("SELECT count(a.id) FROM leads l LEFT JOIN call_attempts a ON a.lead_id = l.id GROUP BY l.id").fetch_all(&pool).await.expect("attempts");
    assert_eq!(per_lead.len(), 20);
    assert!(
        per_lead.iter().all(|n| *n == 1),
        "every lead dialed exactly once: {per_lead:?}"
    );
    let outcomes: Vec<(String, i64)> = sqlx::query_as(
        "SELECT outcome, count(*) FROM call_attempts GROUP BY outcome ORDER BY outcome",
    )
    .fetch_all(&pool)
    .await
    .expect("outcomes");
    let count = |o: &str| outcomes.iter().find(|(k, _)| k == o).map_or(0, |(_, n)| *n);
    assert_eq!(
        count("busy") + count("answered_human") + count("answered_machine") + count("abandoned"),
        20,
        "{outcomes:?}"
    );
    assert!(
        count("answered_human") > 0 && count("busy") > 0 && count("answered_machine") > 0,
        "{outcomes:?}"
    );
    assert_eq!(
        count("abandoned"),
        0,
        "progressive never dials more lines than ready agents: {outcomes:?}"
    );
    let (live, abandons): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE kind = 'live_answer'), count(*) FILTER (WHERE kind = 'abandon') FROM abandon_ledger",
    )
    .fetch_one(&pool)
    .await
    .expect("ledger");
    assert_eq!((live, abandons), (count("answered_human"), 0));
    let open_calls: i64 = sqlx::query_scalar("SELECT count(*) FROM calls WHERE state <> 'ended'")
        .fetch_one(&pool)
        .await
        .expect("calls");
    assert_eq!(open_calls, 0, "call-end closed every call");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_thousand_leads_predictive_with_ten_agents_keep_every_rule(pool: PgPool) {
    let (campaign, zone) = thousand_lead_campaign(&pool).await;
    let mut callees = fast_callees(11);
    (callees.busy, callees.congestion) = (0.15, 0.05);
    let floor = start(&pool, campaign, 10, callees).await;
    floor
        .run_until_done(&pool, &zone, Duration::from_secs(240))
        .await;

    let (calls_live, calls_abandoned, dialed_once) = thousand_lead_rules_kept(&pool, &zone).await;
    eprintln!("predictive run: {calls_live} connected, {calls_abandoned} abandoned of {dialed_once} leads");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn over_dialing_abandons_get_the_safe_harbor_message_and_the_ledger(pool: PgPool) {
    let zone = dialtone_sim::daytime_zone()
        .expect("some zone is in daytime")
        .to_string();
    let (campaign, list) =
        campaign_with_list(&pool, dialtone_core::vocabulary::DialMethod::Ratio, &zone).await;
    // Four lines per ready agent and a short drop window: some callees must find no agent.
    sqlx::query("UPDATE campaigns SET dial_ratio = 4, drop_timeout_secs = 0.2 WHERE id = $1")
        .bind(campaign)
        .execute(&pool)
        .await
        .expect("ratio");
    add_leads(&pool, list, 5_550_001, 80, &zone).await;
    let mut callees = fast_callees(3);
    (callees.busy, callees.human, callees.machine) = (0.0, 1.0, 0.0);
    callees.talk = (Duration::from_millis(600), Duration::from_millis(900));
    let floor = start(&pool, campaign, 2, callees).await;
    floor
        .run_until_done(&pool, &zone, Duration::from_secs(120))
        .await;

    let (connected, abandoned) = ledger_is_the_call_records(&pool).await;
    assert!(
        abandoned > 0,
        "four lines per agent abandon some callees ({connected} connected)"
    );
    let locked_out: i64 = sqlx::query_scalar("SELECT count(*) FROM leads WHERE status = 'DROP' AND (next_attempt_at IS NULL OR next_attempt_at > now() + interval '47 hours')")
        .fetch_one(&pool)
        .await
        .expect("drops");
    assert_eq!(
        locked_out, abandoned,
        "an abandoned callee is not called again for 48 hours"
    );
}

/// The next event named `event` about `channel`.
/// The node's own check, the last of three: a dial string that got past the form and the
/// database (the CHECK dropped here, as on a database restored from before it) is never sent to
/// the simulator; the attempt fails instead (security issue 16).
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_stored_dial_string_that_would_dial_elsewhere_never_reaches_the_pbx(pool: PgPool) {
    let zone = dialtone_sim::daytime_zone()
        .expect("some zone is in daytime")
        .to_string();
    let (campaign, list) = campaign_with_list(
        &pool,
        dialtone_core::vocabulary::DialMethod::Progressive,
        &zone,
    )
    .await;
    sqlx::query("ALTER TABLE campaigns DROP CONSTRAINT campaigns_dial_template_asterisk")
        .execute(&pool)
        .await
        .expect("drop");
    sqlx::query("UPDATE campaigns SET dial_template = 'PJSIP/{number}@{trunk}&Local/evil@elsewhere' WHERE id = $1")
        .bind(campaign)
        .execute(&pool)
        .await
        .expect("hostile");
    add_leads(&pool, list, 5_550_001, 1, &zone).await;
    let floor = start(&pool, campaign, 1, fast_callees(3)).await;
    let mut events = floor.ami.events();
    let mut failed = false;
    for _ in 0..250 {
        failed = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM call_attempts WHERE campaign_id = $1 AND state = 'resolved')")
            .bind(campaign)
            .fetch_one(&pool)
            .await
            .expect("attempts");
        if failed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(failed, "the attempt was never resolved");
    while let Ok(event) = events.try_recv() {
        assert!(
            !format!("{event:?}").contains("evil"),
            "the simulator saw the hostile dial string: {event:?}"
        );
    }
    let outcome: Option<String> =
        sqlx::query_scalar("SELECT outcome FROM call_attempts WHERE campaign_id = $1")
            .bind(campaign)
            .fetch_one(&pool)
            .await
            .expect("attempt");
    assert_eq!(outcome.as_deref(), Some("failed"));
    floor.stop.cancel();
}

/// A deactivated agent's phone is hung up by the node that rang it, though nothing asked that
/// node to (the CLI, the API or another web node ended the session): access ends on Asterisk
/// too (security issue 16).
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_deactivated_agents_phone_is_hung_up_by_their_node(pool: PgPool) {
    let zone = dialtone_sim::daytime_zone()
        .expect("some zone is in daytime")
        .to_string();
    let (campaign, _) = campaign_with_list(
        &pool,
        dialtone_core::vocabulary::DialMethod::Progressive,
        &zone,
    )
    .await;
    let floor = start(&pool, campaign, 1, fast_callees(3)).await;
    // The node's `remote::follow_logouts` LISTENs for sessions ending: up well within this.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut events = floor.ami.events();
    let started = std::time::Instant::now();
    users::set_active(&pool, "agent0", false)
        .await
        .expect("deactivated");
    event_where(&mut events, "the agent's phone hanging up", |e| {
        e.event() == Some("Hangup")
            && e.get("Channel")
                .is_some_and(|c| c.starts_with("PJSIP/1000-"))
    })
    .await;
    println!(
        "the phone hung up {:?} after the deactivation",
        started.elapsed()
    );
    assert_eq!(agent_state(&pool, floor.sessions[0]).await, "logged_out");
    floor.stop.cancel();
}

/// The AMI events a test waits on.
type Events = tokio::sync::broadcast::Receiver<Arc<dialtone_asterisk::ami::Message>>;

async fn event(
    events: &mut Events,
    event: &str,
    channel: &str,
) -> Arc<dialtone_asterisk::ami::Message> {
    event_where(events, &format!("{event} for {channel}"), |e| {
        e.event() == Some(event) && e.get("Channel") == Some(channel)
    })
    .await
}

/// The next event `wanted` says yes to (10 s at most; `what` names it in the failure).
async fn event_where(
    events: &mut Events,
    what: &str,
    wanted: impl Fn(&dialtone_asterisk::ami::Message) -> bool,
) -> Arc<dialtone_asterisk::ami::Message> {
    let wait = async {
        loop {
            match events.recv().await {
                Ok(e) if wanted(&e) => return e,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    panic!("event stream closed")
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap_or_else(|_| panic!("no {what}"))
}

/// The agent's next call once its customer is in the agent's conference: (call, customer channel).
async fn next_call(pool: &PgPool, ami: &AmiClient, session: i64) -> (uuid::Uuid, String) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no call reached the agent"
        );
        heartbeat(pool, &[session]).await.expect("heartbeat");
        let row: Option<(uuid::Uuid, String, String)> = sqlx::query_as(
            "SELECT c.id, c.channel, s.conference FROM agent_sessions s JOIN calls c ON c.id = s.current_call_id
             WHERE s.id = $1 AND s.state = 'on_call' AND c.state <> 'ended' AND c.channel IS NOT NULL",
        )
        .bind(session)
        .fetch_optional(pool)
        .await
        .expect("session");
        if let Some((call, channel, conference)) = row {
            if let Ok(list) = ami
                .send_list(
                    dialtone_asterisk::ami::Action::new("ConfbridgeList")
                        .field("Conference", &conference),
                )
                .await
            {
                if list
                    .events
                    .iter()
                    .any(|e| e.get("Channel") == Some(channel.as_str()))
                {
                    return (call, channel);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

async fn call_state(pool: &PgPool, call: uuid::Uuid) -> (String, Option<String>) {
    sqlx::query_as("SELECT state, outcome FROM calls WHERE id = $1")
        .bind(call)
        .fetch_one(pool)
        .await
        .expect("call")
}

async fn agent_state(pool: &PgPool, session: i64) -> String {
    sqlx::query_scalar("SELECT state FROM agent_sessions WHERE id = $1")
        .bind(session)
        .fetch_one(pool)
        .await
        .expect("session")
}

/// An agent on a call, its customer in the agent's conference: where each call control test
/// starts.
struct OnCall {
    floor: Floor,
    campaign: i64,
    session: i64,
    conference: String,
    call: uuid::Uuid,
    customer: String,
}

/// One agent ready on a progressive campaign of `leads` leads whose callees all answer and talk
/// for two minutes, longer than any test: a call ends only when the test ends it.
async fn one_agent(pool: &PgPool, leads: i32) -> (Floor, i64) {
    let zone = dialtone_sim::daytime_zone()
        .expect("some zone is in daytime")
        .to_string();
    let (campaign, list) = campaign_with_list(
        pool,
        dialtone_core::vocabulary::DialMethod::Progressive,
        &zone,
    )
    .await;
    add_leads(pool, list, 5_550_001, leads, &zone).await;
    let mut callees = fast_callees(5);
    (callees.busy, callees.human, callees.machine) = (0.0, 1.0, 0.0);
    callees.talk = (Duration::from_secs(120), Duration::from_secs(121));
    (start(pool, campaign, 1, callees).await, campaign)
}

/// The agent's first call, connected. One lead, for that call: a spare one, dialed by a pacer
/// over-dialing for an agent already promised to it, could reach them mid-test.
async fn on_call(pool: &PgPool) -> OnCall {
    let (floor, campaign) = one_agent(pool, 1).await;
    let session = floor.sessions[0];
    let conference: String =
        sqlx::query_scalar("SELECT conference FROM agent_sessions WHERE id = $1")
            .bind(session)
            .fetch_one(pool)
            .await
            .expect("conf");
    let (call, customer) = next_call(pool, &floor.ami, session).await;
    OnCall {
        floor,
        campaign,
        session,
        conference,
        call,
        customer,
    }
}

/// Hangs `channel` up from outside, as its caller putting the phone down does.
async fn hang_up(ami: &AmiClient, channel: &str) {
    ami.send(dialtone_asterisk::ami::Action::new("Hangup").field("Channel", channel))
        .await
        .expect("hang up");
}

/// The `ConfbridgeJoin` of the consult leg `leg`.
async fn third_party_joining(
    events: &mut Events,
    leg: &str,
) -> Arc<dialtone_asterisk::ami::Message> {
    event_where(events, "third party joining", |e| {
        e.event() == Some("ConfbridgeJoin") && e.get("Uniqueid") == Some(leg)
    })
    .await
}

/// Puts the customer through to a third party the agent spoke to first, the customer on hold
/// meanwhile: the third party's `ConfbridgeJoin`, and the two channels the bridge took, sorted.
async fn warm_transfer(
    on: &OnCall,
    events: &mut Events,
) -> (Arc<dialtone_asterisk::ami::Message>, Vec<String>) {
    let leg = on
        .floor
        .control
        .consult(on.call, "+15125550199", true)
        .await
        .expect("consult");
    event(events, "MusicOnHoldStart", &on.customer).await;
    let joined = third_party_joining(events, &leg.to_string()).await;
    on.floor
        .control
        .complete_transfer(on.call)
        .await
        .expect("complete");
    // Both enter the bridge, in either order.
    let mut bridged = Vec::new();
    while bridged.len() < 2 {
        let e = event_where(events, "BridgeEnter", |e| e.event() == Some("BridgeEnter")).await;
        bridged.push(e.get("Channel").unwrap_or_default().to_string());
    }
    bridged.sort();
    (joined, bridged)
}

/// Brings the third party `number` into the agent's conference with the customer, neither put
/// on hold: (the consult leg's uniqueid, the third party's channel).
async fn three_way(on: &OnCall, events: &mut Events, number: &str) -> (String, String) {
    let leg = on
        .floor
        .control
        .consult(on.call, number, false)
        .await
        .expect("three-way")
        .to_string();
    let joined = third_party_joining(events, &leg).await;
    let third = joined.get("Channel").expect("channel").to_string();
    (leg, third)
}

/// Hold must take the customer out of the conference to music, and resume must put them back
/// in the agent's own conference, not a new one.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_held_customer_comes_back_to_the_agents_conference_on_resume(pool: PgPool) {
    let on = on_call(&pool).await;
    let mut events = on.floor.ami.events();
    on.floor.control.hold(on.call).await.expect("hold");
    event(&mut events, "MusicOnHoldStart", &on.customer).await;
    on.floor.control.resume(on.call).await.expect("resume");
    let back = event(&mut events, "ConfbridgeJoin", &on.customer).await;
    assert_eq!(back.get("Conference"), Some(on.conference.as_str()));
    on.floor.stop.cancel();
}

/// An IVR at the far end needs every key, in order, on the customer's channel.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_agents_keys_reach_the_customer_one_digit_at_a_time_in_order(pool: PgPool) {
    let on = on_call(&pool).await;
    let mut events = on.floor.ami.events();
    on.floor.control.dtmf(on.call, "1#").await.expect("dtmf");
    assert_eq!(
        event(&mut events, "DTMFEnd", &on.customer)
            .await
            .get("Digit"),
        Some("1")
    );
    assert_eq!(
        event(&mut events, "DTMFEnd", &on.customer)
            .await
            .get("Digit"),
        Some("#")
    );
    on.floor.stop.cancel();
}

/// Campaigns that do not record every call still let the agent record a part of one.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_recording_on_demand_starts_and_stops_on_the_customers_channel(pool: PgPool) {
    let on = on_call(&pool).await;
    let mut events = on.floor.ami.events();
    on.floor
        .control
        .record(on.call, Some("2026/demo.wav"))
        .await
        .expect("record");
    event(&mut events, "MixMonitorStart", &on.customer).await;
    on.floor
        .control
        .record(on.call, None)
        .await
        .expect("stop recording");
    event(&mut events, "MixMonitorStop", &on.customer).await;
    on.floor.stop.cancel();
}

/// The agent hands the customer over only after speaking to the third party in their own
/// conference; once the two are bridged the agent is free for the next call.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_completed_warm_transfer_bridges_customer_and_third_party_and_frees_the_agent(
    pool: PgPool,
) {
    let on = on_call(&pool).await;
    let mut events = on.floor.ami.events();
    let (joined, bridged) = warm_transfer(&on, &mut events).await;
    assert_eq!(joined.get("Conference"), Some(on.conference.as_str()));
    let third = joined.get("Channel").expect("channel").to_string();
    let mut pair = vec![on.customer.clone(), third];
    pair.sort();
    assert_eq!(bridged, pair);
    assert_eq!(
        call_state(&pool, on.call).await,
        ("ended".into(), Some("transferred".into()))
    );
    assert_eq!(
        agent_state(&pool, on.session).await,
        "wrapup",
        "the agent is free of a transferred call"
    );
    on.floor.stop.cancel();
}

/// The transferred pair talk on without the agent; the hangup handler that then runs must not
/// rewrite the outcome the transfer recorded.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_warm_transferred_pair_hang_up_together_and_the_call_stays_transferred(pool: PgPool) {
    let on = on_call(&pool).await;
    let mut events = on.floor.ami.events();
    let (joined, _) = warm_transfer(&on, &mut events).await;
    let third = joined.get("Channel").expect("channel");
    hang_up(&on.floor.ami, third).await;
    event(&mut events, "Hangup", &on.customer).await;
    assert_eq!(
        call_state(&pool, on.call).await.1.as_deref(),
        Some("transferred")
    );
    on.floor.stop.cancel();
}

/// Coaching needs a supervisor's phone to hear the agent's, which is up from login on.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_supervisor_listens_in_on_an_agents_phone(pool: PgPool) {
    let (floor, _) = one_agent(&pool, 0).await;
    let mut events = floor.ami.events();
    let agent_phone: String =
        sqlx::query_scalar("SELECT phone_dial_string FROM agent_sessions WHERE id = $1")
            .bind(floor.sessions[0])
            .fetch_one(&pool)
            .await
            .expect("phone");
    floor
        .ami
        .send(
            dialtone_fastagi::control::monitor(
                "PJSIP/9001",
                &agent_phone,
                dialtone_fastagi::control::Monitor::Listen,
            )
            .expect("phones"),
        )
        .await
        .expect("monitor");
    let spying = event_where(&mut events, "ChanSpyStart", |e| {
        e.event() == Some("ChanSpyStart")
    })
    .await;
    assert!(
        spying
            .get("SpyeeChannel")
            .is_some_and(|c| c.starts_with(&format!("{agent_phone}-"))),
        "{spying:?}"
    );
    assert!(
        spying
            .get("SpyerChannel")
            .is_some_and(|c| c.starts_with("PJSIP/9001-")),
        "{spying:?}"
    );
    floor
        .ami
        .send(dialtone_fastagi::control::hang_up_agent_phone("PJSIP/9001").expect("a phone"))
        .await
        .expect("supervisor hangs up");
    floor.stop.cancel();
}

/// A customer sent to a group goes through its inbound flow as a new call, so the group's
/// no-agents action applies to them as to any caller.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_customer_sent_blind_to_an_inbound_group_becomes_a_call_of_that_group(pool: PgPool) {
    let on = on_call(&pool).await;
    // A group nobody is logged in to: a caller sent there hears a message and is hung up.
    let group: i64 = sqlx::query_scalar(
        "INSERT INTO inbound_groups (name, campaign_id, no_agents_action, no_agents_target) VALUES ('help', $1, 'message_hangup', 'acme/nobody') RETURNING id",
    )
    .bind(on.campaign)
    .fetch_one(&pool)
    .await
    .expect("group");
    sqlx::query("INSERT INTO dids (number, group_id) VALUES ('5557000', $1)")
        .bind(group)
        .execute(&pool)
        .await
        .expect("did");
    let uniqueid: String = sqlx::query_scalar("SELECT uniqueid FROM calls WHERE id = $1")
        .bind(on.call)
        .fetch_one(&pool)
        .await
        .expect("uniqueid");
    on.floor
        .control
        .transfer_to_group(on.call, "5557000")
        .await
        .expect("to the group");
    assert_eq!(
        call_state(&pool, on.call).await,
        ("ended".into(), Some("transferred".into()))
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let inbound = loop {
        let row: Option<(String, Option<String>)> = sqlx::query_as("SELECT state, outcome FROM calls WHERE direction = 'inbound' AND uniqueid = $1 AND inbound_group_id = $2")
            .bind(&uniqueid)
            .bind(group)
            .fetch_optional(&pool)
            .await
            .expect("inbound");
        if let Some(r) = row.filter(|(s, _)| s == "ended") {
            break r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the transferred customer never reached the group"
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    };
    assert_eq!(inbound.1.as_deref(), Some("no_agents"));
    on.floor.stop.cancel();
}

/// A blind transfer leaves the agent out at once: the customer's own channel dials the number.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_customer_sent_blind_to_a_number_dials_it_from_their_own_channel(pool: PgPool) {
    let on = on_call(&pool).await;
    let mut events = on.floor.ami.events();
    on.floor
        .control
        .blind_transfer_to_number(on.call, "+15125550123", "dialtone-transfer")
        .await
        .expect("to a number");
    let dialed = event(&mut events, "DialBegin", &on.customer).await;
    assert!(
        dialed
            .get("DestChannel")
            .is_some_and(|d| d.contains("15125550123")),
        "{dialed:?}"
    );
    assert_eq!(
        call_state(&pool, on.call).await,
        ("ended".into(), Some("transferred".into()))
    );
    on.floor.stop.cancel();
}

/// A parked customer is out of the agent's conference, so only the hangup handler can see them
/// go; the call must not stay open, nor the agent on it.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_parked_customer_who_hangs_up_closes_the_call(pool: PgPool) {
    let on = on_call(&pool).await;
    let mut events = on.floor.ami.events();
    on.floor.control.park(on.call).await.expect("park");
    let parked = event_where(&mut events, "ParkedCall", |e| {
        e.event() == Some("ParkedCall") && e.get("ParkeeChannel") == Some(on.customer.as_str())
    })
    .await;
    assert!(parked.get("ParkingSpace").is_some());
    hang_up(&on.floor.ami, &on.customer).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while call_state(&pool, on.call).await.0 != "ended" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a call that ends parked is closed"
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_eq!(agent_state(&pool, on.session).await, "wrapup");
    on.floor.stop.cancel();
}

/// The third party was there for the customer: left alone with the agent they would hold the
/// agent's conference, and their leg, open.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_third_party_of_a_three_way_call_leaves_with_the_customer(pool: PgPool) {
    let on = on_call(&pool).await;
    let mut events = on.floor.ami.events();
    let (leg, third) = three_way(&on, &mut events, "+15125550188").await;
    hang_up(&on.floor.ami, &on.customer).await;
    event(&mut events, "Hangup", &third).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let ended: Option<i32> = sqlx::query_scalar(
            "SELECT hangup_cause FROM call_legs WHERE uniqueid = $1 AND ended_at IS NOT NULL",
        )
        .bind(&leg)
        .fetch_optional(&pool)
        .await
        .expect("leg");
        if ended.is_some() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the third party's leg is closed"
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let members = on
        .floor
        .ami
        .send_list(
            dialtone_asterisk::ami::Action::new("ConfbridgeList")
                .field("Conference", &on.conference),
        )
        .await
        .expect("list");
    assert!(
        members
            .events
            .iter()
            .all(|e| e.get("Channel") != Some(third.as_str())),
        "{members:?}"
    );
    on.floor.stop.cancel();
}

/// A hang-up the node never heard of (events lost, a reconnect) must not leave a third party
/// in the conference: the node's sweep finds those of calls that ended, and only those.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_sweep_hangs_up_the_third_party_of_a_call_that_ended_unheard(pool: PgPool) {
    let on = on_call(&pool).await;
    let mut events = on.floor.ami.events();
    let (leg, third) = three_way(&on, &mut events, "+15125550177").await;
    assert_eq!(
        control::sweep_consults(&pool, &on.floor.ami, "n1")
            .await
            .expect("sweep"),
        0,
        "the call goes on: nothing to sweep"
    );
    dialtone_core::calls::end(&pool, on.call, &dialtone_core::calls::Ended::default())
        .await
        .expect("ended, unheard");
    assert_eq!(
        control::sweep_consults(&pool, &on.floor.ami, "n1")
            .await
            .expect("sweep"),
        1
    );
    event(&mut events, "Hangup", &third).await;
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM call_legs WHERE uniqueid = $1 AND ended_at IS NULL",
    )
    .bind(&leg)
    .fetch_one(&pool)
    .await
    .expect("leg");
    assert_eq!(open, 0);
    on.floor.stop.cancel();
}

/// A TCP proxy in front of PostgreSQL that can be cut: while it is down every connection through
/// it is dropped and new ones are closed at once, as a restarting server does to its clients.
struct DbProxy {
    addr: std::net::SocketAddr,
    up: tokio::sync::watch::Sender<bool>,
}

async fn db_proxy(target: String) -> DbProxy {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (up, watch) = tokio::sync::watch::channel(true);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            if !*watch.borrow() {
                continue;
            }
            let (target, mut watch) = (target.clone(), watch.clone());
            tokio::spawn(async move {
                let Ok(mut server) = tokio::net::TcpStream::connect(&target).await else {
                    return;
                };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    _ = watch.wait_for(|up| !*up) => {}
                }
            });
        }
    });
    DbProxy { addr, up }
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_database_restart_stops_dialing_which_resumes_with_no_call_record_lost(pool: PgPool) {
    use sqlx::postgres::PgPoolOptions;
    let zone = dialtone_sim::daytime_zone()
        .expect("some zone is in daytime")
        .to_string();
    let (campaign, list) = campaign_with_list(
        &pool,
        dialtone_core::vocabulary::DialMethod::Progressive,
        &zone,
    )
    .await;
    add_leads(&pool, list, 5_550_001, 40, &zone).await;
    // The node reaches the database through a proxy the test can cut.
    let options = pool.connect_options();
    let proxy = db_proxy(format!("{}:{}", options.get_host(), options.get_port())).await;
    let node_pool = PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(Duration::from_millis(500))
        .connect_with((*options).clone().host("127.0.0.1").port(proxy.addr.port()))
        .await
        .expect("pool through the proxy");
    let mut callees = fast_callees(13);
    callees.talk = (Duration::from_millis(400), Duration::from_millis(800));
    let floor = start(&node_pool, campaign, 3, callees).await;
    let mut events = floor.ami.events();
    // Dials are Newchannel events whose Uniqueid is a call id (agents' phones have none).
    let dials = Arc::new(std::sync::Mutex::new(Vec::new()));
    {
        let dials = dials.clone();
        tokio::spawn(async move {
            loop {
                let e = match events.recv().await {
                    Ok(e) => e,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                };
                if e.event() == Some("Newchannel")
                    && e.get("Uniqueid")
                        .is_some_and(|u| u.parse::<uuid::Uuid>().is_ok())
                {
                    dials
                        .lock()
                        .expect("lock")
                        .push(tokio::time::Instant::now());
                }
            }
        });
    }
    let keep_alive = |pool: PgPool, sessions: Vec<i64>| async move {
        let _ = heartbeat(&pool, &sessions).await;
        let _ = agents::end_wrapups(&pool).await;
    };
    // Some calls first.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        keep_alive(pool.clone(), floor.sessions.clone()).await;
        let done: i64 =
            sqlx::query_scalar("SELECT count(*) FROM call_attempts WHERE state = 'resolved'")
                .fetch_one(&pool)
                .await
                .expect("n");
        if done >= 5 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no calls before the restart"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The database restarts: three seconds away.
    proxy.up.send_replace(false);
    let cut = tokio::time::Instant::now();
    assert!(
        sqlx::query("SELECT 1").execute(&node_pool).await.is_err(),
        "the node's database is away"
    );
    while cut.elapsed() < Duration::from_secs(3) {
        keep_alive(pool.clone(), floor.sessions.clone()).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    proxy.up.send_replace(true);
    let restored = tokio::time::Instant::now();
    // A dial already on its way when the database went may still show; none starts after.
    let during = dials
        .lock()
        .expect("lock")
        .iter()
        .filter(|t| **t > cut + Duration::from_millis(500) && **t < restored)
        .count();
    assert_eq!(during, 0, "no dial while the database is away");

    // It resumes on its own and finishes the list; the gap's open calls are reconciled.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        keep_alive(pool.clone(), floor.sessions.clone()).await;
        let (untried, open_dials, open_calls): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM leads l WHERE NOT EXISTS (SELECT 1 FROM call_attempts a WHERE a.lead_id = l.id)),
                    (SELECT count(*) FROM call_attempts WHERE state <> 'resolved') + (SELECT count(*) FROM hopper),
                    (SELECT count(*) FROM calls WHERE state <> 'ended')",
        )
        .fetch_one(&pool)
        .await
        .expect("progress");
        if (untried, open_dials, open_calls) == (0, 0, 0) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "after the restart: {untried} leads untried, {open_dials} dials and {open_calls} calls open");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let resumed = dials
        .lock()
        .expect("lock")
        .iter()
        .filter(|t| **t > restored)
        .count();
    assert!(resumed > 0, "dialing resumed");
    let twice: i64 = sqlx::query_scalar("SELECT count(*) FROM (SELECT lead_id FROM call_attempts WHERE dialed_at IS NOT NULL GROUP BY lead_id HAVING count(*) > 1) x")
        .fetch_one(&pool)
        .await
        .expect("twice");
    assert_eq!(twice, 0, "no lead dialed twice across the restart");
    let stuck: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM agent_sessions WHERE state IN ('on_call', 'reserved')",
    )
    .fetch_one(&pool)
    .await
    .expect("agents");
    assert_eq!(stuck, 0, "no agent is left on a call that ended");
    let reconciled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM calls WHERE hangup_cause IS NULL AND dial_status IS NULL",
    )
    .fetch_one(&pool)
    .await
    .expect("reconciled");
    eprintln!("database restart: {reconciled} calls closed by reconciliation");
    floor.stop.cancel();
    node_pool.close().await;
}
