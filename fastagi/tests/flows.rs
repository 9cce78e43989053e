//! The call flows end to end: a scripted Asterisk over TCP, the real FastAGI server, a real
//! PostgreSQL (one fresh database per test).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's helpers fail the test as its #[test]s do

use dialtone_core::vocabulary::AgentState;
use std::time::Duration;

use dialtone_asterisk::agi::{serve, ServerConfig};
use dialtone_core::{agents, campaigns, lists, users};
use dialtone_fastagi::{router, FlowContext};
use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

struct Asterisk {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Asterisk {
    async fn connect(
        addr: std::net::SocketAddr,
        script: &str,
        args: &[&str],
        uniqueid: &str,
    ) -> Self {
        let (r, mut w) = TcpStream::connect(addr)
            .await
            .expect("connects")
            .into_split();
        let mut env = format!("agi_network: yes\nagi_network_script: {script}\nagi_channel: PJSIP/carrier-0001\nagi_uniqueid: {uniqueid}\n");
        for (i, arg) in args.iter().enumerate() {
            env.push_str(&format!("agi_arg_{}: {arg}\n", i + 1));
        }
        env.push('\n');
        w.write_all(env.as_bytes()).await.expect("env");
        Self {
            reader: BufReader::new(r),
            writer: w,
        }
    }

    async fn next(&mut self) -> Option<String> {
        let mut line = String::new();
        let n = tokio::time::timeout(Duration::from_secs(10), self.reader.read_line(&mut line))
            .await
            .expect("no hang")
            .expect("read");
        (n > 0).then_some(line)
    }

    /// Expects the server's next command to start with `prefix`, and answers it.
    async fn on(&mut self, prefix: &str, reply: &str) -> String {
        let line = self
            .next()
            .await
            .unwrap_or_else(|| panic!("closed; expected {prefix:?}"));
        assert!(
            line.starts_with(prefix),
            "expected {prefix:?}, got {line:?}"
        );
        self.writer
            .write_all(reply.as_bytes())
            .await
            .expect("reply");
        line
    }

    async fn closed(&mut self) {
        assert_eq!(self.next().await, None, "the server should be done");
    }
}

struct World {
    pool: PgPool,
    addr: std::net::SocketAddr,
    _shutdown: tokio_util::sync::DropGuard,
    campaign: i64,
    lead: i64,
}

async fn world(pool: PgPool) -> World {
    let campaign = campaigns::create(
        &pool,
        "Spring",
        dialtone_core::vocabulary::DialMethod::Predictive,
        "9am-9pm",
    )
    .await
    .expect("campaign");
    sqlx::query("UPDATE campaigns SET drop_timeout_secs = 0.5 WHERE id = $1")
        .bind(campaign)
        .execute(&pool)
        .await
        .expect("drop");
    let list = lists::create(&pool, "l", Some(campaign), "US")
        .await
        .expect("list");
    let lead: i64 = sqlx::query_scalar(
        "INSERT INTO leads (list_id, phone_e164, country, time_zone) VALUES ($1, '+12015550123', 'US', 'America/New_York') RETURNING id",
    )
    .bind(list)
    .fetch_one(&pool)
    .await
    .expect("lead");
    let ctx = FlowContext {
        pool: pool.clone(),
        node: "test".into(),
        recordings_dir: "/rec".into(),
        agent_poll: Duration::from_millis(20),
        ami: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let shutdown = CancellationToken::new();
    tokio::spawn(serve(
        listener,
        router(ctx),
        ServerConfig::default(),
        shutdown.clone(),
    ));
    World {
        pool,
        addr,
        _shutdown: shutdown.drop_guard(),
        campaign,
        lead,
    }
}

/// A logged-in agent whose page is alive and who is ready; returns (user id, session id).
async fn ready_agent(w: &World, name: &str) -> (i64, i64) {
    let user = users::create(
        &w.pool,
        name,
        name,
        dialtone_core::vocabulary::Role::Agent,
        "a long password",
    )
    .await
    .expect("user");
    let session = agents::open_session(&w.pool, user, w.campaign, "test", "PJSIP/1001")
        .await
        .expect("session");
    assert!(agents::phone_connected(&w.pool, session)
        .await
        .expect("phone"));
    assert!(agents::set_state(&w.pool, session, AgentState::Ready, None)
        .await
        .expect("ready"));
    (user, session)
}

async fn outbound_call(w: &World, call: Uuid, amd: &[&str]) -> Asterisk {
    let mut a = Asterisk::connect(
        w.addr,
        &format!("outbound?campaign={}", w.campaign),
        amd,
        &format!("u-{call}"),
    )
    .await;
    a.on(
        "GET VARIABLE DIALTONE_CALL_ID\n",
        &format!("200 result=1 ({call})\n"),
    )
    .await;
    a.on(
        "GET VARIABLE DIALTONE_LEAD_ID\n",
        &format!("200 result=1 ({})\n", w.lead),
    )
    .await;
    a
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_person_reaches_the_longest_idle_agent_recorded_and_popped(pool: PgPool) {
    let w = world(pool).await;
    let (_, _) = ready_agent(&w, "ana").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (ben, ben_session) = ready_agent(&w, "ben").await;
    sqlx::query(
        "UPDATE agent_sessions SET state_since = now() - interval '1 minute' WHERE id = $1",
    )
    .bind(ben_session)
    .execute(&w.pool)
    .await
    .expect("idle");
    let mut pops = listen(&w).await;

    let call = Uuid::new_v4();
    let mut a = outbound_call(&w, call, &["HUMAN", "HUMAN-800-800"]).await;
    let mix = a.on("EXEC MixMonitor \"/rec/", "200 result=0\n").await;
    assert!(
        mix.contains(&format!("/Spring/{}-u-{call}.wav,b\"", w.lead)),
        "{mix}"
    );
    a.on(
        &format!(
            "EXEC ConfBridge \"agent-{ben_session},dialtone_agent_bridge,dialtone_customer\"\n"
        ),
        "200 result=0\n",
    )
    .await;
    a.on("SET VARIABLE DIALTONE_RESULT agent\n", "200 result=1\n")
        .await;
    a.closed().await;

    assert_eq!(screen_pop(&mut pops, ben).await, Some(call));
    let lead: Option<i64> = sqlx::query_scalar("SELECT lead_id FROM calls WHERE id = $1")
        .bind(call)
        .fetch_one(&w.pool)
        .await
        .expect("lead");
    assert_eq!(lead, Some(w.lead));
    let (state, agent, outcome): (String, Option<i64>, Option<String>) =
        sqlx::query_as("SELECT state, agent_user_id, outcome FROM calls WHERE id = $1")
            .bind(call)
            .fetch_one(&w.pool)
            .await
            .expect("call");
    assert_eq!(
        (state.as_str(), agent, outcome.as_deref()),
        ("connected", Some(ben), Some("answered"))
    );
    let ledger: String = sqlx::query_scalar("SELECT kind FROM abandon_ledger WHERE call_id = $1")
        .bind(call)
        .fetch_one(&w.pool)
        .await
        .expect("ledger");
    assert_eq!(ledger, "live_answer");
    let recording: String =
        sqlx::query_scalar("SELECT file_path FROM recordings WHERE call_id = $1")
            .bind(call)
            .fetch_one(&w.pool)
            .await
            .expect("rec");
    assert!(
        recording.ends_with(&format!("Spring/{}-u-{call}.wav", w.lead))
            && !recording.starts_with('/'),
        "{recording}"
    );
    let agent_state: String = sqlx::query_scalar("SELECT state FROM agent_sessions WHERE id = $1")
        .bind(ben_session)
        .fetch_one(&w.pool)
        .await
        .expect("agent");
    assert_eq!(agent_state, "on_call");

    // The h extension closes the call once; the agent goes to wrap-up.
    for first in [true, false] {
        let mut h = Asterisk::connect(w.addr, "call-end", &[], &format!("u-{call}")).await;
        h.on(
            "GET VARIABLE DIALTONE_CALL_ID\n",
            &format!("200 result=1 ({call})\n"),
        )
        .await;
        h.on("GET VARIABLE HANGUPCAUSE\n", "200 result=1 (16)\n")
            .await;
        h.on("GET VARIABLE DIALSTATUS\n", "200 result=0\n").await;
        h.closed().await;
        let (state, cause, text): (String, Option<i32>, Option<String>) = sqlx::query_as(
            "SELECT state, hangup_cause, hangup_cause_text FROM calls WHERE id = $1",
        )
        .bind(call)
        .fetch_one(&w.pool)
        .await
        .expect("call");
        assert_eq!(
            (state.as_str(), cause, text.as_deref()),
            ("ended", Some(16), Some("NORMAL_CLEARING")),
            "first run: {first}"
        );
    }
    // The recording ended with the call, with its length (issue 17: rows stayed open).
    let (ended, length): (bool, Option<f64>) = sqlx::query_as(
        "SELECT ended_at IS NOT NULL, duration_secs::float8 FROM recordings WHERE call_id = $1",
    )
    .bind(call)
    .fetch_one(&w.pool)
    .await
    .expect("rec");
    assert!(
        ended && length.is_some_and(|l| l >= 0.0),
        "{ended} {length:?}"
    );
    let agent_state: String = sqlx::query_scalar("SELECT state FROM agent_sessions WHERE id = $1")
        .bind(ben_session)
        .fetch_one(&w.pool)
        .await
        .expect("agent");
    assert_eq!(agent_state, "wrapup");
}

/// The node's own check, the last of three: a stored value that got past the form and the
/// database (here the CHECK is dropped, as on a database restored from before it) is refused
/// where the AGI command is built, and the abandon is still counted.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_stored_audio_name_that_would_run_a_command_is_never_sent(pool: PgPool) {
    let w = world(pool).await;
    sqlx::query("ALTER TABLE campaigns DROP CONSTRAINT campaigns_safe_harbor_audio_asterisk")
        .execute(&w.pool)
        .await
        .expect("drop");
    sqlx::query("UPDATE campaigns SET safe_harbor_audio = 'x,b,touch proof' WHERE id = $1")
        .bind(w.campaign)
        .execute(&w.pool)
        .await
        .expect("hostile");
    let call = Uuid::new_v4();
    let mut a = outbound_call(&w, call, &["HUMAN", "HUMAN-800-800"]).await;
    let next = a.on("EXEC Hangup 16\n", "200 result=-1\n").await;
    assert!(!next.contains("touch"), "{next}");
    a.on(
        "SET VARIABLE DIALTONE_RESULT abandoned\n",
        "HANGUP\n200 result=1\n",
    )
    .await;
    a.closed().await;
    let kind: String = sqlx::query_scalar("SELECT kind FROM abandon_ledger WHERE call_id = $1")
        .bind(call)
        .fetch_one(&w.pool)
        .await
        .expect("ledger");
    assert_eq!(kind, "abandon");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn no_agent_in_time_is_an_abandon_with_the_safe_harbor_message(pool: PgPool) {
    let w = world(pool).await;
    let call = Uuid::new_v4();
    let started = std::time::Instant::now();
    let mut a = outbound_call(&w, call, &["HUMAN", "HUMAN-800-800"]).await;
    a.on(
        "STREAM FILE dialtone/safe-harbor \"\"\n",
        "200 result=0 endpos=24000\n",
    )
    .await;
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "waited the drop timeout: {:?}",
        started.elapsed()
    );
    a.on("EXEC Hangup 16\n", "200 result=-1\n").await;
    a.on(
        "SET VARIABLE DIALTONE_RESULT abandoned\n",
        "HANGUP\n200 result=1\n",
    )
    .await;
    a.closed().await;
    let kind: String = sqlx::query_scalar("SELECT kind FROM abandon_ledger WHERE call_id = $1")
        .bind(call)
        .fetch_one(&w.pool)
        .await
        .expect("ledger");
    assert_eq!(kind, "abandon");
    let (status, due): (String, bool) = sqlx::query_as(
        "SELECT status, next_attempt_at > now() + interval '47 hours' FROM leads WHERE id = $1",
    )
    .bind(w.lead)
    .fetch_one(&w.pool)
    .await
    .expect("lead");
    assert_eq!(
        (status.as_str(), due),
        ("DROP", true),
        "the lead rests for the drop lockout"
    );
    let rate = dialtone_core::calls::abandon_rate(&w.pool, w.campaign, 30)
        .await
        .expect("rate");
    assert_eq!((rate.abandons, rate.live_answers), (1, 0));
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn two_calls_one_agent_never_both_get_her(pool: PgPool) {
    let w = world(pool).await;
    let (_, session) = ready_agent(&w, "ana").await;
    let (c1, c2) = (Uuid::new_v4(), Uuid::new_v4());
    let (mut a, mut b) = tokio::join!(
        outbound_call(&w, c1, &["HUMAN", "x"]),
        outbound_call(&w, c2, &["HUMAN", "x"])
    );
    let (first, second) = tokio::join!(async { a.on("", "200 result=0\n").await }, async {
        b.on("", "200 result=0\n").await
    },);
    let mut lines = [first, second];
    lines.sort();
    // One is sent on (recording first), the other gets the safe-harbor message.
    assert!(lines[0].starts_with("EXEC MixMonitor"), "{lines:?}");
    assert!(
        lines[1].starts_with("STREAM FILE dialtone/safe-harbor"),
        "{lines:?}"
    );
    let connected: i64 =
        sqlx::query_scalar("SELECT count(*) FROM calls WHERE agent_session_id = $1")
            .bind(session)
            .fetch_one(&w.pool)
            .await
            .expect("count");
    assert_eq!(connected, 1);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn machines_follow_the_campaign(pool: PgPool) {
    let w = world(pool).await;
    let call = Uuid::new_v4();
    let mut a = outbound_call(&w, call, &["MACHINE", "LONGGREETING-1500-1500"]).await;
    a.on("EXEC Hangup 16\n", "200 result=-1\n").await;
    a.on(
        "SET VARIABLE DIALTONE_RESULT \"machine-hangup\"\n",
        "200 result=1\n",
    )
    .await;
    a.closed().await;
    let status: String = sqlx::query_scalar("SELECT status FROM leads WHERE id = $1")
        .bind(w.lead)
        .fetch_one(&w.pool)
        .await
        .expect("lead");
    assert_eq!(status, "AA");

    sqlx::query("UPDATE campaigns SET amd_machine_action = 'message', machine_message_audio = 'acme/please-call' WHERE id = $1")
        .bind(w.campaign)
        .execute(&w.pool)
        .await
        .expect("message");
    let call = Uuid::new_v4();
    let mut a = outbound_call(&w, call, &["MACHINE", "INITIALSILENCE-2500-2500"]).await;
    a.on("EXEC WaitForSilence \"1500,1,20\"\n", "200 result=0\n")
        .await;
    a.on(
        "STREAM FILE acme/please-call \"\"\n",
        "200 result=0 endpos=8000\n",
    )
    .await;
    a.on("EXEC Hangup 16\n", "200 result=-1\n").await;
    a.on(
        "SET VARIABLE DIALTONE_RESULT \"machine-message\"\n",
        "200 result=1\n",
    )
    .await;
    a.closed().await;
    let outcome: String = sqlx::query_scalar("SELECT outcome FROM calls WHERE id = $1")
        .bind(call)
        .fetch_one(&w.pool)
        .await
        .expect("call");
    assert_eq!(outcome, "machine_message");
    let machines: i64 =
        sqlx::query_scalar("SELECT count(*) FROM abandon_ledger WHERE kind = 'machine'")
            .fetch_one(&w.pool)
            .await
            .expect("n");
    assert_eq!(machines, 2);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn agent_phone_sits_in_its_conference_for_the_session(pool: PgPool) {
    let w = world(pool).await;
    let user = users::create(
        &w.pool,
        "ana",
        "Ana",
        dialtone_core::vocabulary::Role::Agent,
        "a long password",
    )
    .await
    .expect("user");
    let session = agents::open_session(&w.pool, user, w.campaign, "test", "PJSIP/1001")
        .await
        .expect("session");
    let mut a = Asterisk::connect(
        w.addr,
        &format!("agent-login?session={session}"),
        &[],
        "agent-1",
    )
    .await;
    let line = a.next().await.expect("a command");
    assert_eq!(
        line,
        format!("EXEC ConfBridge \"agent-{session},dialtone_agent_bridge,dialtone_agent\"\n")
    );
    let (state, code): (String, Option<String>) =
        sqlx::query_as("SELECT state, pause_code FROM agent_sessions WHERE id = $1")
            .bind(session)
            .fetch_one(&w.pool)
            .await
            .expect("session");
    assert_eq!(
        (state.as_str(), code.as_deref()),
        ("paused", Some("LOGIN")),
        "connected while the phone is in"
    );
    a.writer.write_all(b"200 result=0\n").await.expect("reply");
    a.on(
        "SET VARIABLE DIALTONE_RESULT \"logged-out\"\n",
        "HANGUP\n200 result=1\n",
    )
    .await;
    a.closed().await;
    let state: String = sqlx::query_scalar("SELECT state FROM agent_sessions WHERE id = $1")
        .bind(session)
        .fetch_one(&w.pool)
        .await
        .expect("session");
    assert_eq!(state, "logged_out");

    let mut b = Asterisk::connect(w.addr, "agent-login?session=999", &[], "agent-2").await;
    b.on("STREAM FILE invalid \"\"\n", "200 result=0 endpos=100\n")
        .await;
    b.on(
        "SET VARIABLE DIALTONE_RESULT \"no-session\"\n",
        "200 result=1\n",
    )
    .await;
    b.closed().await;
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_bad_request_tells_the_dialplan(pool: PgPool) {
    let w = world(pool).await;
    let mut a = Asterisk::connect(w.addr, "outbound?campaign=oops", &["HUMAN"], "x").await;
    a.on("SET VARIABLE DIALTONE_RESULT error\n", "200 result=1\n")
        .await;
    a.closed().await;
    let mut b = Asterisk::connect(w.addr, "outbound?campaign=424242", &["HUMAN"], "y").await;
    b.on("GET VARIABLE DIALTONE_CALL_ID\n", "200 result=0\n")
        .await;
    b.on("GET VARIABLE DIALTONE_LEAD_ID\n", "200 result=0\n")
        .await;
    b.on("SET VARIABLE DIALTONE_RESULT error\n", "200 result=1\n")
        .await;
    b.closed().await;
}

async fn group(w: &World, number: &str, settings: &str) -> i64 {
    let id: i64 = sqlx::query_scalar("INSERT INTO inbound_groups (name, campaign_id, position_announce_secs) VALUES ($1, $2, 0) RETURNING id")
        .bind(format!("group {number}"))
        .bind(w.campaign)
        .fetch_one(&w.pool)
        .await
        .expect("group");
    if !settings.is_empty() {
        sqlx::query(&format!(
            "UPDATE inbound_groups SET {settings} WHERE id = $1"
        ))
        .bind(id)
        .execute(&w.pool)
        .await
        .expect("settings");
    }
    sqlx::query("INSERT INTO dids (number, group_id) VALUES ($1, $2)")
        .bind(number)
        .bind(id)
        .execute(&w.pool)
        .await
        .expect("did");
    id
}

async fn inbound_call(w: &World, did: &str, caller: &str) -> (Asterisk, Uuid) {
    let (r, mut wr) = TcpStream::connect(w.addr)
        .await
        .expect("connects")
        .into_split();
    let env = format!("agi_network_script: inbound?did={did}\nagi_channel: PJSIP/carrier-00a1\nagi_uniqueid: in-{caller}\nagi_callerid: {caller}\n\n");
    wr.write_all(env.as_bytes()).await.expect("env");
    let mut a = Asterisk {
        reader: BufReader::new(r),
        writer: wr,
    };
    let line = a
        .on("SET VARIABLE DIALTONE_CALL_ID \"", "200 result=1\n")
        .await;
    let call: Uuid = line
        .trim_end()
        .trim_end_matches('"')
        .rsplit('"')
        .next()
        .expect("id")
        .parse()
        .expect("uuid");
    (a, call)
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn inbound_reaches_an_agent_of_the_group_with_the_callers_lead(pool: PgPool) {
    let w = world(pool).await;
    let group_id = group(&w, "+18005550100", "recording_policy = 'never'").await;
    let (ana, session) = ready_agent(&w, "ana").await;
    agents::join_groups(&w.pool, session, &[group_id])
        .await
        .expect("join");
    let mut pops = listen(&w).await;
    let (mut a, call) = inbound_call(&w, "18005550100", "2015550123").await;
    a.on("SET MUSIC off\n", "200 result=0\n").await;
    a.on(
        &format!("EXEC ConfBridge \"agent-{session},dialtone_agent_bridge,dialtone_customer\"\n"),
        "200 result=0\n",
    )
    .await;
    a.on("SET VARIABLE DIALTONE_RESULT agent\n", "200 result=1\n")
        .await;
    a.closed().await;
    assert_eq!(screen_pop(&mut pops, ana).await, Some(call));
    let lead: Option<i64> = sqlx::query_scalar("SELECT lead_id FROM calls WHERE id = $1")
        .bind(call)
        .fetch_one(&w.pool)
        .await
        .expect("lead");
    assert_eq!(lead, Some(w.lead), "the caller's number found their lead");
    let (state, group, outcome): (String, Option<i64>, Option<String>) =
        sqlx::query_as("SELECT state, inbound_group_id, outcome FROM calls WHERE id = $1")
            .bind(call)
            .fetch_one(&w.pool)
            .await
            .expect("call");
    assert_eq!(
        (state.as_str(), group, outcome.as_deref()),
        ("connected", Some(group_id), Some("answered"))
    );
    let ledger: i64 = sqlx::query_scalar("SELECT count(*) FROM abandon_ledger")
        .fetch_one(&w.pool)
        .await
        .expect("ledger");
    assert_eq!(
        ledger, 0,
        "inbound calls are not in the outbound abandon ledger"
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn inbound_without_agents_or_out_of_hours_follows_the_group(pool: PgPool) {
    let w = world(pool).await;
    group(
        &w,
        "8005550101",
        "no_agents_action = 'message_hangup', no_agents_target = 'acme/nobody'",
    )
    .await;
    let (mut a, call) = inbound_call(&w, "8005550101", "3125550000").await;
    a.on("SET MUSIC off\n", "200 result=0\n").await;
    a.on(
        "STREAM FILE acme/nobody \"\"\n",
        "200 result=0 endpos=100\n",
    )
    .await;
    a.on("EXEC Hangup 16\n", "200 result=-1\n").await;
    a.on(
        "SET VARIABLE DIALTONE_RESULT message\n",
        "HANGUP\n200 result=1\n",
    )
    .await;
    a.closed().await;
    let outcome: String = sqlx::query_scalar("SELECT outcome FROM calls WHERE id = $1")
        .bind(call)
        .fetch_one(&w.pool)
        .await
        .expect("call");
    assert_eq!(outcome, "no_agents");

    // A call time with no open day is closed now.
    let closed: i64 =
        sqlx::query_scalar("INSERT INTO call_times (name) VALUES ('never') RETURNING id")
            .fetch_one(&w.pool)
            .await
            .expect("ct");
    group(&w, "8005550102", &format!("call_time_id = {closed}, closed_action = 'transfer_number', closed_target = '+15125550000'")).await;
    let (mut b, call) = inbound_call(&w, "8005550102", "3125550001").await;
    b.on(
        "SET VARIABLE DIALTONE_TRANSFER 15125550000\n",
        "200 result=1\n",
    )
    .await;
    b.on("SET VARIABLE DIALTONE_RESULT transfer\n", "200 result=1\n")
        .await;
    b.closed().await;
    let outcome: String = sqlx::query_scalar("SELECT outcome FROM calls WHERE id = $1")
        .bind(call)
        .fetch_one(&w.pool)
        .await
        .expect("call");
    assert_eq!(outcome, "transferred");

    let mut c = Asterisk::connect(w.addr, "inbound?did=9999", &[], "x").await;
    c.on(
        "SET VARIABLE DIALTONE_RESULT \"no-route\"\n",
        "200 result=1\n",
    )
    .await;
    c.closed().await;
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn callers_wait_with_music_and_are_served_in_arrival_order(pool: PgPool) {
    let w = world(pool).await;
    let group_id = group(
        &w,
        "8005550103",
        "recording_policy = 'never', music_class = 'acme'",
    )
    .await;
    let (user, session) = ready_agent(&w, "ana").await;
    agents::join_groups(&w.pool, session, &[group_id])
        .await
        .expect("join");
    agents::set_state(&w.pool, session, AgentState::Paused, Some("BREAK"))
        .await
        .expect("pause");

    let (mut first, first_call) = inbound_call(&w, "8005550103", "3125550002").await;
    first.on("SET MUSIC on acme\n", "200 result=0\n").await;
    let (mut second, _) = inbound_call(&w, "8005550103", "3125550003").await;
    second.on("SET MUSIC on acme\n", "200 result=0\n").await;
    assert_eq!(
        dialtone_core::inbound::position(&w.pool, first_call, group_id)
            .await
            .expect("position"),
        1
    );

    agents::set_state(&w.pool, session, AgentState::Ready, None)
        .await
        .expect("ready");
    agents::seen(&w.pool, &[(user, chrono::Utc::now())])
        .await
        .expect("seen");
    first.on("SET MUSIC off\n", "200 result=0\n").await;
    first
        .on(
            &format!("EXEC ConfBridge \"agent-{session},"),
            "200 result=0\n",
        )
        .await;
    first
        .on("SET VARIABLE DIALTONE_RESULT agent\n", "200 result=1\n")
        .await;
    first.closed().await;
    // The second caller still waits; then hangs up.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), second.next())
            .await
            .is_err(),
        "no command while waiting"
    );
    second.writer.write_all(b"HANGUP\n").await.expect("hangup");
    drop(second);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let outcomes: Vec<String> = sqlx::query_scalar(
        "SELECT outcome FROM calls WHERE inbound_group_id = $1 ORDER BY queued_at",
    )
    .bind(group_id)
    .fetch_all(&w.pool)
    .await
    .expect("calls");
    assert_eq!(outcomes, ["answered", "caller_hangup"]);
}

/// Listens to what the agent pages hear (the `dialtone_live` notifications).
async fn listen(w: &World) -> sqlx::postgres::PgListener {
    let mut listener = sqlx::postgres::PgListener::connect_with(&w.pool)
        .await
        .expect("listener");
    listener
        .listen(dialtone_core::live::PG_CHANNEL)
        .await
        .expect("listen");
    listener
}

/// The agent's screen pop as their page hears it: their session on a call, and which.
async fn screen_pop(listener: &mut sqlx::postgres::PgListener, user: i64) -> Option<Uuid> {
    loop {
        let n = tokio::time::timeout(Duration::from_secs(2), listener.recv())
            .await
            .expect("a screen pop")
            .expect("notification");
        if let Ok(dialtone_core::live::LiveEvent::Agent {
            user_id,
            state,
            call_id,
            ..
        }) = serde_json::from_str(n.payload())
        {
            if user_id == user && state == dialtone_core::vocabulary::AgentState::OnCall {
                return call_id;
            }
        }
    }
}
