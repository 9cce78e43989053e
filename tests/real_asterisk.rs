//! Dialtone against a real Asterisk 22 running the project's own `dialplan/` and
//! `asterisk-conf/` (`common::asterisk`): `dialtone serve` beside it as an operator runs it,
//! campaigns dialing the harness's callees, agents' phones nailed into their conferences, and
//! call control from the agents' side over the bus, as the web sends it. Each test asserts on
//! Asterisk's own state (its CLI: channels, conference members, files, its log) and on the
//! database. Skipped, saying so, where no Asterisk is found or built (`scripts/test`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's helpers fail the test as its #[test]s do

mod common;

use dialtone_core::vocabulary::AgentState;
use std::process::Stdio;
use std::time::Duration;

use common::asterisk::{
    phone, Asterisk, Callee, Install, AMI_SECRET, CALLEES, MAILBOX, PARKING_SECS,
};
use common::{free_port, heartbeat, serve_command, wait_listening, Process};
use dialtone_core::bus::Bus;
use dialtone_core::config::Secret;
use dialtone_core::remote::{self, Command as Control};
use dialtone_core::{agents, campaigns, lists, users};
use sqlx::PgPool;
use uuid::Uuid;

/// A real Asterisk, `dialtone serve` beside it, a campaign dialing the harness's callees, and
/// its agents logged in.
struct Floor {
    /// The real Asterisk; `None` where the simulator stands in (`_sim`).
    asterisk: Option<Asterisk>,
    _sim: Option<Process>,
    ami_port: u16,
    serve: Option<Process>,
    data: tempfile::TempDir,
    pool: PgPool,
    bus: Bus,
    redis: String,
    node: String,
    campaign: i64,
    list: i64,
    zone: String,
    sessions: Vec<i64>,
    agi: u16,
    metrics: u16,
}

/// Starts the floor for `test`, with the campaign's settings changed by `settings` (SQL
/// assignments, such as `amd_machine_action = 'message'`), or `None` when there is no Asterisk.
async fn floor(pool: &PgPool, test: &str, settings: &str) -> Option<Floor> {
    let install = Install::find(test)?;
    let agi = free_port();
    let asterisk = Asterisk::start(&install, agi).await;
    Some(floor_on(pool, Some(asterisk), None, agi, settings).await)
}

/// The floor with the simulator in Asterisk's place, its callees by number as the harness's
/// dialplan has them.
async fn sim_floor(pool: &PgPool, settings: &str) -> Floor {
    let (ami, agi) = (free_port(), free_port());
    let sim = common::sim_command(ami, agi)
        .arg("--callees-by-number")
        .spawn()
        .expect("starts dialtone sim");
    let sim = Process(sim);
    wait_listening(ami, "dialtone sim").await;
    let mut floor = floor_on(pool, None, Some(sim), agi, settings).await;
    floor.ami_port = ami;
    floor.serve = None;
    floor.start_node().await;
    floor
}

async fn floor_on(
    pool: &PgPool,
    asterisk: Option<Asterisk>,
    sim: Option<Process>,
    agi: u16,
    settings: &str,
) -> Floor {
    let redis = std::env::var("REDIS_URL")
        .expect("REDIS_URL: run the tests through scripts/test, which starts Redis");
    let ami_port = asterisk.as_ref().map_or(0, |a| a.ami_port);
    let zone = dialtone_sim::daytime_zone()
        .expect("some zone is in daytime")
        .to_string();
    let campaign = campaigns::create(
        pool,
        &format!("Real {agi}"),
        dialtone_core::vocabulary::DialMethod::Progressive,
        "9am-9pm",
    )
    .await
    .expect("campaign");
    sqlx::query(
        "UPDATE campaigns SET call_time_id = NULL, active = true, wrapup_secs = 0, recording_policy = 'never', dial_template = $2,
                              drop_timeout_secs = 2, ring_timeout_secs = 15, machine_message_audio = 'dialtone/machine-message'
         WHERE id = $1",
    )
    .bind(campaign)
    .bind(CALLEES)
    .execute(pool)
    .await
    .expect("campaign settings");
    if !settings.is_empty() {
        sqlx::query(&format!("UPDATE campaigns SET {settings} WHERE id = $1"))
            .bind(campaign)
            .execute(pool)
            .await
            .expect("the test's settings");
    }
    let list = lists::create(pool, &format!("Real {agi}"), Some(campaign), "US")
        .await
        .expect("list");
    sqlx::query("UPDATE lists SET time_zones = ARRAY[$2] WHERE id = $1")
        .bind(list)
        .bind(&zone)
        .execute(pool)
        .await
        .expect("zones");

    let node = format!("real-{}", Uuid::new_v4().simple());
    // Not a dot-name: the whitelist refuses a recording path through one.
    let data = tempfile::Builder::new()
        .prefix("data")
        .tempdir()
        .expect("data dir");
    let bus = Bus::from_config(Some(&Secret::new(redis.clone())))
        .await
        .expect("Redis");
    let mut floor = Floor {
        asterisk,
        _sim: sim,
        ami_port,
        serve: None,
        data,
        pool: pool.clone(),
        bus,
        redis,
        node,
        campaign,
        list,
        zone,
        sessions: Vec::new(),
        agi,
        metrics: free_port(),
    };
    if floor.ami_port != 0 {
        floor.start_node().await;
    }
    floor
}

impl Floor {
    /// `dialtone serve` beside the Asterisk, as an operator runs it, on the floor's ports.
    async fn start_node(&mut self) {
        let serve = serve_command(&self.pool, self.ami_port, self.agi, self.data.path())
            .env("DIALTONE_AMI__SECRET", AMI_SECRET)
            .env("REDIS_URL", &self.redis)
            .env("DIALTONE_NODE", &self.node)
            .env(
                "DIALTONE_LISTEN__METRICS",
                format!("127.0.0.1:{}", self.metrics),
            )
            .stdout(Stdio::null())
            .spawn()
            .expect("starts dialtone serve");
        self.serve = Some(Process(serve));
        wait_listening(self.agi, "dialtone serve").await;
    }

    /// Asterisk's log, for failures; the simulator keeps none.
    fn pbx_log(&self) -> String {
        self.asterisk
            .as_ref()
            .map_or_else(|| "(the simulator)".to_string(), Asterisk::log)
    }

    fn asterisk(&self) -> &Asterisk {
        self.asterisk
            .as_ref()
            .expect("a real Asterisk on this floor")
    }

    fn asterisk_mut(&mut self) -> &mut Asterisk {
        self.asterisk
            .as_mut()
            .expect("a real Asterisk on this floor")
    }

    /// Stops `dialtone serve` at once, as a crash would.
    fn stop_node(&mut self) {
        self.serve = None;
    }

    /// The node's Prometheus metrics.
    async fn metrics(&self) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.metrics))
            .await
            .expect("the metrics port");
        stream
            .write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .await
            .expect("asks");
        let mut text = String::new();
        stream.read_to_string(&mut text).await.expect("reads");
        text
    }

    /// An agent logs in: the node rings their phone into their conference; they go ready.
    async fn agent(&mut self, n: u32) -> i64 {
        let name = format!("agent{n}");
        let user = users::create(
            &self.pool,
            &name,
            &name,
            dialtone_core::vocabulary::Role::Agent,
            "a long password",
        )
        .await
        .expect("user");
        let session = agents::open_session(&self.pool, user, self.campaign, &self.node, &phone(n))
            .await
            .expect("session");
        self.command(Control::RingPhone {
            session_id: session,
            dial_string: phone(n),
        })
        .await
        .expect("the node rings the phone");
        // The phone in its conference, the agent is paused (LOGIN) until they go ready.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let state: String =
                sqlx::query_scalar("SELECT state FROM agent_sessions WHERE id = $1")
                    .bind(session)
                    .fetch_one(&self.pool)
                    .await
                    .expect("state");
            if state == "paused" {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the phone of session {session} never joined its conference:\n{}",
                self.pbx_log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            agents::set_state(&self.pool, session, AgentState::Ready, None)
                .await
                .expect("ready"),
            "the agent goes ready"
        );
        if let Some(asterisk) = &self.asterisk {
            let members = asterisk
                .conference_members(&format!("agent-{session}"))
                .await;
            assert_eq!(
                members.len(),
                1,
                "the agent's phone waits alone in the conference: {members:?}"
            );
        }
        self.sessions.push(session);
        session
    }

    async fn command(&self, command: Control) -> Result<Option<Uuid>, remote::RemoteError> {
        remote::call(&self.bus, &self.node, command, Duration::from_secs(10)).await
    }

    /// Puts a lead with `number` in the campaign's list, due now; returns its id.
    async fn lead(&self, number: &str) -> i64 {
        sqlx::query_scalar(
            "INSERT INTO leads (list_id, phone_e164, country, time_zone, next_attempt_at) VALUES ($1, $2, 'US', $3, now() - interval '1 minute') RETURNING id",
        )
        .bind(self.list)
        .bind(number)
        .bind(&self.zone)
        .fetch_one(&self.pool)
        .await
        .expect("lead")
    }

    /// Keeps the agents' pages alive until `done` holds on the database, for at most `limit`.
    async fn until(&self, limit: Duration, what: &str, mut done: impl AsyncFnMut(&PgPool) -> bool) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            heartbeat(&self.pool, &self.sessions)
                .await
                .expect("heartbeat");
            if done(&self.pool).await {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what} did not happen within {limit:?}; Asterisk's log:\n{}",
                self.pbx_log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the lead is being dialed (its phone rings).
    async fn dialing(&self, lead: i64) {
        self.until(Duration::from_secs(20), "the dial", async |pool| {
            sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM call_attempts WHERE lead_id = $1 AND state = 'originating')")
                .bind(lead)
                .fetch_one(pool)
                .await
                .expect("attempt")
        })
        .await;
    }

    /// The call placed to `lead` once it has one, waiting up to 30 seconds.
    async fn call_of(&self, lead: i64) -> Uuid {
        self.first_call("SELECT id FROM calls WHERE lead_id = $1", lead)
            .await
    }

    /// The call `sql` (one `$1`) finds once it has a record, waiting up to 30 seconds.
    async fn first_call(&self, sql: &str, id: i64) -> Uuid {
        let mut found = None;
        self.until(Duration::from_secs(30), sql, async |pool| {
            found = sqlx::query_scalar(sql)
                .bind(id)
                .fetch_optional(pool)
                .await
                .expect("call");
            found.is_some()
        })
        .await;
        found.expect("a call")
    }

    /// Waits for the call to close and returns its (outcome, hang-up cause).
    async fn ended(&self, call: Uuid) -> (String, Option<i32>) {
        self.until(Duration::from_secs(40), "the call's end", async |pool| {
            sqlx::query_scalar::<_, bool>("SELECT state = 'ended' FROM calls WHERE id = $1")
                .bind(call)
                .fetch_one(pool)
                .await
                .expect("state")
        })
        .await;
        sqlx::query_as("SELECT coalesce(outcome, ''), hangup_cause FROM calls WHERE id = $1")
            .bind(call)
            .fetch_one(&self.pool)
            .await
            .expect("outcome")
    }

    /// The status the lead was left with.
    async fn lead_status(&self, lead: i64) -> String {
        sqlx::query_scalar("SELECT status FROM leads WHERE id = $1")
            .bind(lead)
            .fetch_one(&self.pool)
            .await
            .expect("status")
    }

    /// The attempt's outcome once the dialer settled it.
    async fn attempt(&self, lead: i64) -> String {
        let mut outcome = None;
        self.until(
            Duration::from_secs(40),
            "the attempt's outcome",
            async |pool| {
                outcome = sqlx::query_scalar(
                    "SELECT outcome FROM call_attempts WHERE lead_id = $1 AND outcome IS NOT NULL",
                )
                .bind(lead)
                .fetch_optional(pool)
                .await
                .expect("attempt");
                outcome.is_some()
            },
        )
        .await;
        outcome.expect("an outcome")
    }

    /// The members of the agent's conference once a customer has joined the agent's phone
    /// there (or 15 seconds have passed).
    async fn with_customer(&self, session: i64) -> Vec<String> {
        let command = format!("confbridge list agent-{session}");
        let members = self
            .asterisk()
            .cli_until(&command, Duration::from_secs(15), |out| {
                out.matches("Local/").count() >= 2
            })
            .await;
        members
            .lines()
            .filter(|l| l.starts_with("Local/"))
            .map(str::to_string)
            .collect()
    }

    /// An agent logged in and a person put through to them: (session, lead, call).
    async fn talking(&mut self, person: u32) -> (i64, i64, Uuid) {
        let session = self.agent(1).await;
        let lead = self.lead(&Callee::Person.number(person)).await;
        let call = self.call_of(lead).await;
        let members = self.with_customer(session).await;
        assert_eq!(
            members.len(),
            2,
            "the agent's phone and the customer: {members:?}\n{}",
            self.asterisk().log()
        );
        self.within_two_seconds(&Callee::Person.number(person));
        (session, lead, call)
    }

    /// The FTC's 2 seconds from the end of the callee's greeting to an agent, AMD included,
    /// measured on Asterisk's log; printed.
    fn within_two_seconds(&self, number: &str) {
        let delay = self
            .asterisk()
            .greeting_to_agent(number)
            .unwrap_or_else(|| {
                panic!(
                    "the log times the call to {number}:\n{}",
                    self.asterisk().log()
                )
            });
        println!("greeting end to agent: {} ms ({number})", delay.as_millis());
        assert!(
            delay <= Duration::from_secs(2),
            "the callee reached the agent {delay:?} after their greeting"
        );
    }

    /// The customer's channel, as the call record names it.
    async fn customer_channel(&self, call: Uuid) -> String {
        sqlx::query_scalar::<_, Option<String>>("SELECT channel FROM calls WHERE id = $1")
            .bind(call)
            .fetch_one(&self.pool)
            .await
            .expect("call")
            .expect("a channel")
    }

    /// The `core show channels concise` line of a channel (`!`-separated: name, context,
    /// extension, priority, state, application, data...), waiting up to 10 seconds for one where
    /// `until` holds.
    async fn channel_line(&self, channel: &str, until: impl Fn(&str) -> bool) -> String {
        let prefix = format!("{channel}!");
        let out = self
            .asterisk()
            .cli_until(
                "core show channels concise",
                Duration::from_secs(10),
                |out| out.lines().any(|l| l.starts_with(&prefix) && until(l)),
            )
            .await;
        out.lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_default()
            .to_string()
    }

    /// How many times the call-end handler started, by Asterisk's log of the dialplan.
    fn call_end_runs(&self) -> usize {
        self.asterisk()
            .log()
            .matches("Executing [s@dialtone-call-end:1]")
            .count()
    }
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_person_who_answers_talks_with_the_free_agent_in_their_conference(pool: PgPool) {
    let Some(mut floor) = floor(
        &pool,
        "a_person_who_answers_talks_with_the_free_agent_in_their_conference",
        "",
    )
    .await
    else {
        return;
    };
    let session = floor.agent(1).await;
    let lead = floor.lead(&Callee::Person.number(1)).await;
    let call = floor.call_of(lead).await;
    let members = floor.with_customer(session).await;
    assert_eq!(
        members.len(),
        2,
        "the agent's phone and the customer: {members:?}"
    );
    floor.within_two_seconds(&Callee::Person.number(1));
    let (amd, agent_connected): (Option<String>, bool) = sqlx::query_as(
        "SELECT amd_status, agent_connected_at IS NOT NULL FROM calls WHERE id = $1",
    )
    .bind(call)
    .fetch_one(&pool)
    .await
    .expect("call");
    assert_eq!(
        (amd.as_deref(), agent_connected),
        (Some("HUMAN"), true),
        "AMD heard a person and the agent got them"
    );

    floor
        .command(Control::HangUp { call_id: call })
        .await
        .expect("the agent hangs up");
    let (outcome, _) = floor.ended(call).await;
    assert_eq!(outcome, "answered");
    assert_eq!(floor.attempt(lead).await, "answered_human");
    let members = floor
        .asterisk()
        .conference_members(&format!("agent-{session}"))
        .await;
    assert_eq!(
        members.len(),
        1,
        "the agent stays in the conference for the next call: {members:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        floor.call_end_runs(),
        1,
        "the call-end handler ran once for the customer's channel"
    );
    let (live, abandons): (i64, i64) =
        sqlx::query_as("SELECT count(*) FILTER (WHERE kind = 'live_answer'), count(*) FILTER (WHERE kind = 'abandon') FROM abandon_ledger")
            .fetch_one(&pool)
            .await
            .expect("ledger");
    assert_eq!((live, abandons), (1, 0), "the ledger holds the live answer");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_person_with_no_agent_free_hears_the_safe_harbor_message_and_is_counted(pool: PgPool) {
    let Some(mut floor) = floor(
        &pool,
        "a_person_with_no_agent_free_hears_the_safe_harbor_message_and_is_counted",
        "",
    )
    .await
    else {
        return;
    };
    let session = floor.agent(1).await;
    // The agent's only free moment is the dial: they pause while the callee's phone rings.
    let lead = floor.lead(&Callee::RingsThenAnswers.number(2)).await;
    floor.dialing(lead).await;
    agents::set_state(&pool, session, AgentState::Paused, Some("BREAK"))
        .await
        .expect("pause");
    let call = floor.call_of(lead).await;
    let (outcome, _) = floor.ended(call).await;
    assert_eq!(outcome, "abandoned");
    let log = floor.asterisk().log();
    assert!(
        log.contains("dialtone/safe-harbor"),
        "Asterisk played the safe-harbor message:\n{log}"
    );
    let abandons: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM abandon_ledger WHERE kind = 'abandon' AND call_id = $1",
    )
    .bind(call)
    .fetch_one(&pool)
    .await
    .expect("ledger");
    assert_eq!(abandons, 1, "the abandon is in the ledger");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_machine_is_hung_up_and_the_lead_marked_answering_machine(pool: PgPool) {
    let Some(mut floor) = floor(
        &pool,
        "a_machine_is_hung_up_and_the_lead_marked_answering_machine",
        "amd_machine_action = 'hangup'",
    )
    .await
    else {
        return;
    };
    floor.agent(1).await;
    let lead = floor.lead(&Callee::Machine.number(1)).await;
    let call = floor.call_of(lead).await;
    let (outcome, _) = floor.ended(call).await;
    assert_eq!(outcome, "machine");
    let (amd, cause, text): (Option<String>, Option<i32>, Option<String>) = sqlx::query_as(
        "SELECT amd_status, hangup_cause, hangup_cause_text FROM calls WHERE id = $1",
    )
    .bind(call)
    .fetch_one(&pool)
    .await
    .expect("amd");
    assert_eq!(amd.as_deref(), Some("MACHINE"));
    assert_eq!(
        (cause, text.as_deref()),
        (Some(16), Some("NORMAL_CLEARING")),
        "Dialtone hung up with a normal clearing"
    );
    assert_eq!(floor.lead_status(lead).await, "AA");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_machine_given_the_message_is_marked_as_a_message_left(pool: PgPool) {
    let Some(mut floor) = floor(
        &pool,
        "a_machine_given_the_message_is_marked_as_a_message_left",
        "amd_machine_action = 'message'",
    )
    .await
    else {
        return;
    };
    floor.agent(1).await;
    let lead = floor.lead(&Callee::Machine.number(2)).await;
    let call = floor.call_of(lead).await;
    let (outcome, _) = floor.ended(call).await;
    assert_eq!(outcome, "machine_message");
    let log = floor.asterisk().log();
    assert!(
        log.contains("dialtone/machine-message"),
        "Asterisk played the machine message:\n{log}"
    );
    assert_eq!(
        floor.lead_status(lead).await,
        "AM",
        "the lead says a message was left"
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_machine_the_campaign_sends_to_agents_reaches_the_free_agent(pool: PgPool) {
    let Some(mut floor) = floor(
        &pool,
        "a_machine_the_campaign_sends_to_agents_reaches_the_free_agent",
        "amd_machine_action = 'agent'",
    )
    .await
    else {
        return;
    };
    let session = floor.agent(1).await;
    let lead = floor.lead(&Callee::Machine.number(2)).await;
    let call = floor.call_of(lead).await;
    let members = floor.with_customer(session).await;
    assert_eq!(
        members.len(),
        2,
        "the machine is in the agent's conference: {members:?}\n{}",
        floor.asterisk().log()
    );
    let amd: Option<String> = sqlx::query_scalar("SELECT amd_status FROM calls WHERE id = $1")
        .bind(call)
        .fetch_one(&pool)
        .await
        .expect("amd");
    assert_eq!(
        amd.as_deref(),
        Some("MACHINE"),
        "AMD heard a machine, and the campaign put it through anyway"
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn busy_congested_and_unanswered_calls_get_their_own_outcomes(pool: PgPool) {
    let Some(mut floor) = floor(
        &pool,
        "busy_congested_and_unanswered_calls_get_their_own_outcomes",
        "dial_method = 'ratio', dial_ratio = 3",
    )
    .await
    else {
        return;
    };
    floor.agent(1).await;
    let busy = floor.lead(&Callee::Busy.number(1)).await;
    let congested = floor.lead(&Callee::Congestion.number(1)).await;
    let unanswered = floor.lead(&Callee::NoAnswer.number(1)).await;
    assert_eq!(floor.attempt(busy).await, "busy");
    assert_eq!(floor.attempt(congested).await, "congestion");
    assert_eq!(floor.attempt(unanswered).await, "no_answer");
    let statuses = (
        floor.lead_status(busy).await,
        floor.lead_status(congested).await,
        floor.lead_status(unanswered).await,
    );
    assert_eq!(
        statuses,
        ("B".to_string(), "CONG".to_string(), "NA".to_string())
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn hold_sends_the_customer_to_music_and_resume_brings_them_back(pool: PgPool) {
    let Some(mut floor) = floor(
        &pool,
        "hold_sends_the_customer_to_music_and_resume_brings_them_back",
        "",
    )
    .await
    else {
        return;
    };
    let (session, _, call) = floor.talking(10).await;
    let customer = floor.customer_channel(call).await;
    floor
        .command(Control::Hold { call_id: call })
        .await
        .expect("hold");
    let line = floor
        .channel_line(&customer, |l| l.contains("!MusicOnHold!"))
        .await;
    assert!(
        line.contains("!dialtone-hold!"),
        "the customer hears music on hold: {line}"
    );
    assert_eq!(
        floor
            .asterisk()
            .conference_members(&format!("agent-{session}"))
            .await
            .len(),
        1,
        "the agent is alone"
    );
    floor
        .command(Control::Resume { call_id: call })
        .await
        .expect("resume");
    let members = floor.with_customer(session).await;
    assert_eq!(
        members.len(),
        2,
        "the customer is back with the agent: {members:?}\n{}",
        floor.asterisk().log()
    );
    let state: String = sqlx::query_scalar("SELECT state FROM calls WHERE id = $1")
        .bind(call)
        .fetch_one(&pool)
        .await
        .expect("state");
    assert_eq!(state, "connected", "the call goes on");
}

impl Floor {
    /// Parks the call's customer; returns the space, once Asterisk's lot shows them there.
    async fn park(&self, call: Uuid, customer: &str) -> String {
        self.command(Control::Park { call_id: call })
            .await
            .expect("park");
        let space: Option<String> =
            sqlx::query_scalar("SELECT parked_space FROM calls WHERE id = $1")
                .bind(call)
                .fetch_one(&self.pool)
                .await
                .expect("call");
        let space = space.expect("the call keeps its parking space");
        let lot = self.asterisk().cli("parking show default").await;
        assert!(
            lot.contains(&format!("Space               :  {space}")) && lot.contains(customer),
            "the customer waits in space {space}: {lot}"
        );
        space
    }

    /// Waits until the call has left the parking lot, by its record.
    async fn unparked(&self, call: Uuid) {
        self.until(
            Duration::from_secs(PARKING_SECS + 15),
            "the space freed",
            async |pool| {
                sqlx::query_scalar::<_, bool>(
                    "SELECT parked_space IS NULL FROM calls WHERE id = $1",
                )
                .bind(call)
                .fetch_one(pool)
                .await
                .expect("call")
            },
        )
        .await;
    }
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_parked_customer_waits_in_the_lot_and_resume_brings_them_back(pool: PgPool) {
    let Some(mut floor) = floor(
        &pool,
        "a_parked_customer_waits_in_the_lot_and_resume_brings_them_back",
        "",
    )
    .await
    else {
        return;
    };
    let (session, _, call) = floor.talking(35).await;
    let customer = floor.customer_channel(call).await;
    floor.park(call, &customer).await;
    assert_eq!(
        floor
            .asterisk()
            .conference_members(&format!("agent-{session}"))
            .await
            .len(),
        1,
        "the agent is alone"
    );
    floor
        .command(Control::Resume { call_id: call })
        .await
        .expect("resume");
    let members = floor.with_customer(session).await;
    assert_eq!(
        members.len(),
        2,
        "the customer is back with the agent: {members:?}\n{}",
        floor.asterisk().log()
    );
    floor.unparked(call).await;
    assert!(
        floor
            .asterisk()
            .cli("parking show default")
            .await
            .contains("(none)"),
        "the lot is empty"
    );
    assert_eq!(floor.call_end_runs(), 0, "the call goes on");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_parked_customer_nobody_takes_comes_back_to_the_agent_when_the_lot_time_is_up(
    pool: PgPool,
) {
    let Some(mut floor) = floor(
        &pool,
        "a_parked_customer_nobody_takes_comes_back_to_the_agent_when_the_lot_time_is_up",
        "",
    )
    .await
    else {
        return;
    };
    let (session, _, call) = floor.talking(36).await;
    let customer = floor.customer_channel(call).await;
    floor.park(call, &customer).await;
    floor.unparked(call).await;
    let members = floor.with_customer(session).await;
    assert_eq!(
        members.len(),
        2,
        "the customer came back to the agent: {members:?}\n{}",
        floor.asterisk().log()
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn any_phone_dialing_the_space_takes_the_parked_customer(pool: PgPool) {
    let Some(mut floor) = floor(
        &pool,
        "any_phone_dialing_the_space_takes_the_parked_customer",
        "",
    )
    .await
    else {
        return;
    };
    let (_, _, call) = floor.talking(37).await;
    let customer = floor.customer_channel(call).await;
    let space = floor.park(call, &customer).await;
    floor
        .asterisk()
        .cli(&format!(
            "channel originate Local/{space}@parkedcalls application Wait 60"
        ))
        .await;
    floor.unparked(call).await;
    let lot = floor.asterisk().cli("parking show default").await;
    assert!(lot.contains("(none)"), "the lot is empty: {lot}");
    let line = floor.channel_line(&customer, |_| true).await;
    assert!(
        line.contains("!Up!"),
        "the customer is on the line with the phone that took them: {line}\n{}",
        floor.asterisk().log()
    );
    let state: String = sqlx::query_scalar("SELECT state FROM calls WHERE id = $1")
        .bind(call)
        .fetch_one(&pool)
        .await
        .expect("state");
    assert_eq!(state, "connected", "the call goes on");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_warm_transfer_puts_the_customer_through_to_the_third_party_and_frees_the_agent(
    pool: PgPool,
) {
    let Some(mut floor) = floor(
        &pool,
        "a_warm_transfer_puts_the_customer_through_to_the_third_party_and_frees_the_agent",
        "",
    )
    .await
    else {
        return;
    };
    let (session, _, call) = floor.talking(11).await;
    let customer = floor.customer_channel(call).await;
    let leg = floor
        .command(Control::Consult {
            call_id: call,
            e164: Callee::Person.number(12),
            hold_customer: true,
        })
        .await
        .expect("consult")
        .expect("a leg");
    floor
        .channel_line(&customer, |l| l.contains("!MusicOnHold!"))
        .await;
    let members = floor.with_customer(session).await;
    assert_eq!(
        members.len(),
        2,
        "the agent talks with the third party: {members:?}\n{}",
        floor.asterisk().log()
    );
    floor
        .command(Control::CompleteTransfer { call_id: call })
        .await
        .expect("complete");
    let line = floor
        .channel_line(&customer, |l| l.contains("!Bridge!"))
        .await;
    assert!(
        line.contains(&leg.to_string()) || line.contains("!Bridge!"),
        "the customer is bridged with the third party: {line}\n{}",
        floor.asterisk().log()
    );
    let members = floor
        .asterisk()
        .cli_until(
            &format!("confbridge list agent-{session}"),
            Duration::from_secs(10),
            |o| o.matches("Local/").count() == 1,
        )
        .await;
    assert_eq!(
        members.matches("Local/").count(),
        1,
        "the agent is free, alone in the conference: {members}"
    );
    let (outcome, _) = floor.ended(call).await;
    assert_eq!(outcome, "transferred");
    assert!(
        floor
            .channel_line(&customer, |_| true)
            .await
            .contains("!Bridge!"),
        "the customer still talks with the third party"
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_three_way_call_completed_leaves_the_customer_with_the_third_party(pool: PgPool) {
    let Some(mut floor) = floor(
        &pool,
        "a_three_way_call_completed_leaves_the_customer_with_the_third_party",
        "",
    )
    .await
    else {
        return;
    };
    let (session, _, call) = floor.talking(13).await;
    let customer = floor.customer_channel(call).await;
    floor
        .command(Control::Consult {
            call_id: call,
            e164: Callee::Person.number(14),
            hold_customer: false,
        })
        .await
        .expect("consult");
    let members = floor
        .asterisk()
        .cli_until(
            &format!("confbridge list agent-{session}"),
            Duration::from_secs(15),
            |o| o.matches("Local/").count() == 3,
        )
        .await;
    assert_eq!(
        members.matches("Local/").count(),
        3,
        "agent, customer and third party together: {members}\n{}",
        floor.asterisk().log()
    );
    floor
        .command(Control::CompleteTransfer { call_id: call })
        .await
        .expect("complete");
    let line = floor
        .channel_line(&customer, |l| l.contains("!Bridge!"))
        .await;
    assert!(
        line.contains("!Bridge!"),
        "the customer is bridged with the third party: {line}\n{}",
        floor.asterisk().log()
    );
    let members = floor
        .asterisk()
        .cli_until(
            &format!("confbridge list agent-{session}"),
            Duration::from_secs(10),
            |o| o.matches("Local/").count() == 1,
        )
        .await;
    assert_eq!(
        members.matches("Local/").count(),
        1,
        "the agent is free: {members}"
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn cancelling_a_consultation_hangs_up_the_third_party_and_brings_the_customer_back(
    pool: PgPool,
) {
    let Some(mut floor) = floor(
        &pool,
        "cancelling_a_consultation_hangs_up_the_third_party_and_brings_the_customer_back",
        "",
    )
    .await
    else {
        return;
    };
    let (session, _, call) = floor.talking(15).await;
    let leg = floor
        .command(Control::Consult {
            call_id: call,
            e164: Callee::Person.number(16),
            hold_customer: true,
        })
        .await
        .expect("consult")
        .expect("a leg");
    let customer = floor.customer_channel(call).await;
    floor
        .channel_line(&customer, |l| l.contains("!MusicOnHold!"))
        .await;
    floor.with_customer(session).await;
    floor
        .command(Control::CancelConsult { call_id: call })
        .await
        .expect("cancel");
    let line = floor
        .channel_line(&customer, |l| l.contains("!ConfBridge!"))
        .await;
    assert!(
        line.contains("!ConfBridge!"),
        "the customer is back in the conference: {line}"
    );
    let gone = floor
        .asterisk()
        .cli_until("core show channels concise", Duration::from_secs(10), |o| {
            !o.contains(&leg.to_string())
        })
        .await;
    assert!(
        !gone.contains(&leg.to_string()),
        "the third party was hung up: {gone}"
    );
    let members = floor
        .asterisk()
        .conference_members(&format!("agent-{session}"))
        .await;
    assert_eq!(members.len(), 2, "agent and customer: {members:?}");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_busy_third_party_sends_the_held_customer_back_to_the_agent(pool: PgPool) {
    let Some(mut floor) = floor(
        &pool,
        "a_busy_third_party_sends_the_held_customer_back_to_the_agent",
        "",
    )
    .await
    else {
        return;
    };
    let (session, _, call) = floor.talking(17).await;
    let customer = floor.customer_channel(call).await;
    let leg = floor
        .command(Control::Consult {
            call_id: call,
            e164: Callee::Busy.number(2),
            hold_customer: true,
        })
        .await
        .expect("consult")
        .expect("a leg");
    floor
        .until(
            Duration::from_secs(15),
            "the consultation's leg closed",
            async |pool| {
                sqlx::query_scalar::<_, bool>(
                    "SELECT ended_at IS NOT NULL FROM call_legs WHERE uniqueid = $1",
                )
                .bind(leg.to_string())
                .fetch_one(pool)
                .await
                .expect("leg")
            },
        )
        .await;
    let members = floor.with_customer(session).await;
    assert_eq!(
        members.len(),
        2,
        "the customer is back with the agent: {members:?}\n{}",
        floor.asterisk().log()
    );
    assert!(floor
        .channel_line(&customer, |_| true)
        .await
        .contains("!ConfBridge!"));
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_callee_who_hangs_up_during_the_safe_harbor_message_is_an_abandon_not_an_error(
    pool: PgPool,
) {
    let Some(mut floor) = floor(
        &pool,
        "a_callee_who_hangs_up_during_the_safe_harbor_message_is_an_abandon_not_an_error",
        "drop_timeout_secs = 0.5",
    )
    .await
    else {
        return;
    };
    let session = floor.agent(1).await;
    let lead = floor.lead(&Callee::HangsUpEarly.number(1)).await;
    floor.dialing(lead).await;
    agents::set_state(&pool, session, AgentState::Paused, Some("BREAK"))
        .await
        .expect("pause");
    let call = floor.call_of(lead).await;
    let (outcome, cause) = floor.ended(call).await;
    assert_eq!(outcome, "abandoned");
    assert!(
        floor.asterisk().log().contains("dialtone/safe-harbor"),
        "the message had started"
    );
    let abandons: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM abandon_ledger WHERE kind = 'abandon' AND call_id = $1",
    )
    .bind(call)
    .fetch_one(&pool)
    .await
    .expect("ledger");
    assert_eq!(
        abandons, 1,
        "the abandon is in the ledger though the callee left during the message"
    );
    let metrics = floor.metrics().await;
    assert!(
        !metrics
            .lines()
            .any(|l| l.starts_with("dialtone_agi_session_errors_total")
                && l.contains("dead_channel")),
        "no AGI error was counted:\n{metrics}"
    );
    assert_ne!(cause, Some(0), "the hang-up cause is known");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn abandons_the_dialplan_handles_while_dialtone_is_away_reach_the_ledger(pool: PgPool) {
    let Some(mut floor) = floor(
        &pool,
        "abandons_the_dialplan_handles_while_dialtone_is_away_reach_the_ledger",
        "",
    )
    .await
    else {
        return;
    };
    floor.agent(1).await;
    let lead = floor.lead(&Callee::RingsThenAnswers.number(1)).await;
    floor.dialing(lead).await;
    // Dialtone goes away while the callee's phone rings.
    floor.stop_node();
    let log = floor
        .asterisk()
        .cli_until(
            "database show dialtone_abandoned",
            Duration::from_secs(20),
            |o| o.contains("dialtone_abandoned/"),
        )
        .await;
    assert!(
        log.contains("dialtone_abandoned/"),
        "the dialplan noted the abandon: {log}\n{}",
        floor.asterisk().log()
    );
    assert!(
        floor.asterisk().log().contains("dialtone/safe-harbor"),
        "the callee heard the safe-harbor message"
    );
    floor.start_node().await;
    floor
        .until(
            Duration::from_secs(20),
            "the abandon in the ledger",
            async |pool| {
                sqlx::query_scalar::<_, i64>(
                    "SELECT count(*) FROM abandon_ledger WHERE kind = 'abandon'",
                )
                .fetch_one(pool)
                .await
                .expect("ledger")
                    == 1
            },
        )
        .await;
    assert_eq!(floor.lead_status(lead).await, "DROP");
    assert_eq!(floor.attempt(lead).await, "abandoned");
    let left = floor
        .asterisk()
        .cli("database show dialtone_abandoned")
        .await;
    assert!(
        !left.contains("dialtone_abandoned/"),
        "the note is removed once counted: {left}"
    );
}

/// `dialtone doctor` against the floor's Asterisk, as the node's configuration names it.
async fn doctor(floor: &Floor) -> (bool, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_dialtone"))
        .arg("doctor")
        .env_remove("DIALTONE_CONFIG")
        .env("DATABASE_URL", common::database_url(&floor.pool))
        .env("DIALTONE_AMI__HOST", "127.0.0.1")
        .env("DIALTONE_AMI__PORT", floor.asterisk().ami_port.to_string())
        .env("DIALTONE_AMI__SECRET", AMI_SECRET)
        .env("DIALTONE_LISTEN__AGI", format!("127.0.0.1:{}", floor.agi))
        .env("RUST_LOG", "error")
        .output()
        .await
        .expect("runs dialtone doctor");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn doctor_finds_everything_in_a_complete_install_and_names_the_fix_for_a_missing_module(
    pool: PgPool,
) {
    let Some(floor) = floor(
        &pool,
        "doctor_finds_everything_in_a_complete_install_and_names_the_fix_for_a_missing_module",
        "",
    )
    .await
    else {
        return;
    };
    let (ok, out) = doctor(&floor).await;
    println!("{out}");
    assert!(
        ok && out.contains("checks passed") && !out.contains("MISSING"),
        "a complete install passes:\n{out}"
    );
    for what in [
        "module app_amd",
        "context dialtone-outbound",
        "ConfBridge profile dialtone_agent",
        "music class default",
        "sound dialtone/safe-harbor",
        "AMD after_greeting_silence",
        "global DIALTONE_AGI",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with("ok") && l.contains(what)),
            "{what} is looked at:\n{out}"
        );
    }

    floor.asterisk().cli("module unload app_amd.so").await;
    let (ok, out) = doctor(&floor).await;
    assert!(!ok, "a missing module fails doctor:\n{out}");
    let line = out
        .lines()
        .find(|l| l.contains("module app_amd"))
        .unwrap_or_default();
    assert!(
        line.starts_with("MISSING") && line.contains("module load app_amd.so"),
        "the line says what is missing and how to fix it: {line}"
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_recorded_call_leaves_its_file_on_disk_and_a_closed_recording_row(pool: PgPool) {
    let Some(mut floor) = floor(
        &pool,
        "a_recorded_call_leaves_its_file_on_disk_and_a_closed_recording_row",
        "recording_policy = 'all_calls'",
    )
    .await
    else {
        return;
    };
    let (_, _, call) = floor.talking(20).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    floor
        .command(Control::HangUp { call_id: call })
        .await
        .expect("hang up");
    floor.ended(call).await;
    let (file, closed, duration): (String, bool, Option<f64>) =
        sqlx::query_as("SELECT file_path, ended_at IS NOT NULL, duration_secs::float8 FROM recordings WHERE call_id = $1").bind(call).fetch_one(&pool).await.expect("recording");
    assert!(
        closed && duration.is_some_and(|d| d > 0.5),
        "the row is closed with its length: {duration:?}"
    );
    let path = floor.data.path().join("recordings").join(&file);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 1000,
        "MixMonitor wrote {} ({size} bytes)\n{}",
        path.display(),
        floor.asterisk().log()
    );
    let mut stored = None;
    floor
        .until(
            Duration::from_secs(15),
            "the recording's size",
            async |pool| {
                stored = sqlx::query_scalar::<_, Option<i64>>(
                    "SELECT size_bytes FROM recordings WHERE call_id = $1",
                )
                .bind(call)
                .fetch_one(pool)
                .await
                .expect("row");
                stored.is_some()
            },
        )
        .await;
    let finished = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    assert_eq!(
        stored,
        Some(finished as i64),
        "the row has the finished file's size"
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_manual_dial_reaches_the_agent_and_is_recorded_when_the_campaign_records(pool: PgPool) {
    let Some(mut floor) = floor(
        &pool,
        "a_manual_dial_reaches_the_agent_and_is_recorded_when_the_campaign_records",
        "recording_policy = 'all_calls_forced', dial_method = 'manual'",
    )
    .await
    else {
        return;
    };
    let session = floor.agent(1).await;
    let lead = floor.lead(&Callee::Person.number(21)).await;
    let call = floor
        .command(Control::ManualDial {
            session_id: session,
            target: dialtone_core::manual::Target::Lead(lead),
        })
        .await
        .expect("dial")
        .expect("a call");
    let members = floor.with_customer(session).await;
    assert_eq!(
        members.len(),
        2,
        "the callee joined the agent: {members:?}\n{}",
        floor.asterisk().log()
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    floor
        .command(Control::HangUp { call_id: call })
        .await
        .expect("hang up");
    floor.ended(call).await;
    let (file, closed): (String, bool) =
        sqlx::query_as("SELECT file_path, ended_at IS NOT NULL FROM recordings WHERE call_id = $1")
            .bind(call)
            .fetch_one(&pool)
            .await
            .expect("a recording row");
    assert!(closed);
    let size = std::fs::metadata(floor.data.path().join("recordings").join(&file))
        .map(|m| m.len())
        .unwrap_or(0);
    assert!(
        size > 1000,
        "the manual call was recorded ({size} bytes)\n{}",
        floor.asterisk().log()
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_previewed_lead_the_agent_dials_reaches_them_and_is_recorded(pool: PgPool) {
    let Some(mut floor) = floor(
        &pool,
        "a_previewed_lead_the_agent_dials_reaches_them_and_is_recorded",
        "recording_policy = 'all_calls', dial_method = 'preview'",
    )
    .await
    else {
        return;
    };
    let session = floor.agent(1).await;
    let lead = floor.lead(&Callee::Person.number(23)).await;
    let previewed = dialtone_core::preview::next(&pool, session, &floor.node, chrono::Utc::now())
        .await
        .expect("a lead to preview");
    assert_eq!(previewed, lead);
    let call = floor
        .command(Control::ManualDial {
            session_id: session,
            target: dialtone_core::manual::Target::Lead(lead),
        })
        .await
        .expect("dial")
        .expect("a call");
    let members = floor.with_customer(session).await;
    assert_eq!(
        members.len(),
        2,
        "the previewed lead joined the agent: {members:?}\n{}",
        floor.asterisk().log()
    );
    let direction: String = sqlx::query_scalar("SELECT direction FROM calls WHERE id = $1")
        .bind(call)
        .fetch_one(&pool)
        .await
        .expect("call");
    assert_eq!(direction, "manual");
    tokio::time::sleep(Duration::from_secs(1)).await;
    floor
        .command(Control::HangUp { call_id: call })
        .await
        .expect("hang up");
    floor.ended(call).await;
    let file: String = sqlx::query_scalar("SELECT file_path FROM recordings WHERE call_id = $1")
        .bind(call)
        .fetch_one(&pool)
        .await
        .expect("a recording row");
    let size = std::fs::metadata(floor.data.path().join("recordings").join(&file))
        .map(|m| m.len())
        .unwrap_or(0);
    assert!(
        size > 1000,
        "the previewed call was recorded ({size} bytes)\n{}",
        floor.asterisk().log()
    );
    let dialed: i64 = sqlx::query_scalar("SELECT count(*) FROM call_attempts WHERE lead_id = $1")
        .bind(lead)
        .fetch_one(&pool)
        .await
        .expect("attempts");
    assert_eq!(dialed, 1, "the lead was dialed once, by the agent");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn logging_out_hangs_up_the_agents_phone_and_closes_the_session(pool: PgPool) {
    let Some(mut floor) = floor(
        &pool,
        "logging_out_hangs_up_the_agents_phone_and_closes_the_session",
        "",
    )
    .await
    else {
        return;
    };
    let session = floor.agent(1).await;
    floor
        .command(Control::HangUpPhone {
            dial_string: phone(1),
        })
        .await
        .expect("log out");
    let list = floor
        .asterisk()
        .cli_until(
            &format!("confbridge list agent-{session}"),
            Duration::from_secs(10),
            |o| !o.contains("Local/"),
        )
        .await;
    assert!(
        !list.contains("Local/"),
        "the phone left the conference: {list}"
    );
    floor
        .until(Duration::from_secs(10), "the session's end", async |pool| {
            sqlx::query_scalar::<_, bool>(
                "SELECT logged_out_at IS NOT NULL FROM agent_sessions WHERE id = $1",
            )
            .bind(session)
            .fetch_one(pool)
            .await
            .expect("session")
        })
        .await;
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_asterisk_restart_mid_campaign_dials_no_lead_twice_and_rings_the_phones_again(
    pool: PgPool,
) {
    let Some(mut floor) = floor(
        &pool,
        "an_asterisk_restart_mid_campaign_dials_no_lead_twice_and_rings_the_phones_again",
        "dial_method = 'ratio', dial_ratio = 3",
    )
    .await
    else {
        return;
    };
    let session = floor.agent(1).await;
    let ringing = [
        floor.lead(&Callee::NoAnswer.number(3)).await,
        floor.lead(&Callee::NoAnswer.number(4)).await,
    ];
    for lead in ringing {
        floor.dialing(lead).await;
    }
    floor.asterisk_mut().restart().await;
    // The node's link comes back (its reconnect backs off up to 30 s, and a loaded machine
    // boots Asterisk slowly) and it rings the agent's phone into the conference again.
    let list = floor
        .asterisk()
        .cli_until(
            &format!("confbridge list agent-{session}"),
            Duration::from_secs(75),
            |o| o.contains("Local/"),
        )
        .await;
    assert!(
        list.contains("Local/"),
        "the agent's phone was rung again: {list}\n{}",
        floor.asterisk().log()
    );
    floor
        .until(Duration::from_secs(20), "the phone back", async |pool| {
            sqlx::query_scalar::<_, String>("SELECT state FROM agent_sessions WHERE id = $1")
                .bind(session)
                .fetch_one(pool)
                .await
                .expect("state")
                == "paused"
        })
        .await;
    assert!(agents::set_state(&pool, session, AgentState::Ready, None)
        .await
        .expect("ready"));
    // Dialing goes on with the next lead; the two that were ringing are not dialed again.
    let next = floor.lead(&Callee::Person.number(22)).await;
    let call = floor.call_of(next).await;
    let members = floor.with_customer(session).await;
    assert_eq!(
        members.len(),
        2,
        "the next call reached the agent: {members:?}\n{}",
        floor.asterisk().log()
    );
    let _ = call;
    let dialed: Vec<i64> = sqlx::query_scalar(
        "SELECT count(*) FROM call_attempts WHERE lead_id = ANY($1) GROUP BY lead_id",
    )
    .bind(&ringing[..])
    .fetch_all(&pool)
    .await
    .expect("attempts");
    assert_eq!(
        dialed,
        [1, 1],
        "each lead ringing at the restart was dialed once"
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_graceful_asterisk_restart_keeps_the_agents_logged_in_and_rings_their_phones_again(
    pool: PgPool,
) {
    let Some(mut floor) = floor(
        &pool,
        "a_graceful_asterisk_restart_keeps_the_agents_logged_in_and_rings_their_phones_again",
        "",
    )
    .await
    else {
        return;
    };
    let session = floor.agent(1).await;
    floor.asterisk_mut().restart_gracefully().await;
    let list = floor
        .asterisk()
        .cli_until(
            &format!("confbridge list agent-{session}"),
            Duration::from_secs(75),
            |o| o.contains("Local/"),
        )
        .await;
    assert!(
        list.contains("Local/"),
        "the agent's phone was rung again: {list}\n{}",
        floor.asterisk().log()
    );
    let (state, out): (String, bool) =
        sqlx::query_as("SELECT state, logged_out_at IS NOT NULL FROM agent_sessions WHERE id = $1")
            .bind(session)
            .fetch_one(&pool)
            .await
            .expect("session");
    assert!(!out, "the session outlived the restart");
    assert_ne!(state, "logged_out");
}

impl Floor {
    /// An inbound group of the floor's campaign with `did` routed to it, `settings` (SQL
    /// assignments) applied.
    async fn group(&self, did: &str, settings: &str) -> i64 {
        let id: i64 = sqlx::query_scalar("INSERT INTO inbound_groups (name, campaign_id, position_announce_secs) VALUES ($1, $2, 0) RETURNING id")
            .bind(format!("group {did}"))
            .bind(self.campaign)
            .fetch_one(&self.pool)
            .await
            .expect("group");
        if !settings.is_empty() {
            sqlx::query(&format!(
                "UPDATE inbound_groups SET {settings} WHERE id = $1"
            ))
            .bind(id)
            .execute(&self.pool)
            .await
            .expect("group settings");
        }
        sqlx::query("INSERT INTO dids (number, group_id) VALUES ($1, $2)")
            .bind(did)
            .bind(id)
            .execute(&self.pool)
            .await
            .expect("did");
        id
    }

    /// A caller dials `did`: a channel into `dialtone-inbound` whose far end listens.
    async fn inbound_call(&self, did: &str) {
        self.asterisk()
            .cli(&format!(
                "channel originate Local/{did}@dialtone-inbound application Wait 120"
            ))
            .await;
    }

    /// The inbound call to the group, once it has a record.
    async fn inbound_call_of(&self, group: i64) -> Uuid {
        self.first_call("SELECT id FROM calls WHERE inbound_group_id = $1", group)
            .await
    }
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_inbound_caller_is_queued_and_reaches_an_agent_of_the_group(pool: PgPool) {
    let Some(mut floor) = floor(
        &pool,
        "an_inbound_caller_is_queued_and_reaches_an_agent_of_the_group",
        "",
    )
    .await
    else {
        return;
    };
    let group = floor
        .group("18005550100", "recording_policy = 'never'")
        .await;
    let session = floor.agent(1).await;
    agents::join_groups(&pool, session, &[group])
        .await
        .expect("join");
    floor.inbound_call("18005550100").await;
    let call = floor.inbound_call_of(group).await;
    let members = floor.with_customer(session).await;
    assert_eq!(
        members.len(),
        2,
        "the caller reached the agent: {members:?}\n{}",
        floor.asterisk().log()
    );
    floor
        .command(Control::HangUp { call_id: call })
        .await
        .expect("hang up");
    let (outcome, cause) = floor.ended(call).await;
    assert_eq!((outcome.as_str(), cause), ("answered", Some(16)));
    assert_eq!(
        floor.call_end_runs(),
        1,
        "the inbound call's hangup handler ran once"
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_closed_group_plays_its_message_and_hangs_up(pool: PgPool) {
    let Some(floor) = floor(&pool, "a_closed_group_plays_its_message_and_hangs_up", "").await
    else {
        return;
    };
    let never: i64 =
        sqlx::query_scalar("INSERT INTO call_times (name) VALUES ('never') RETURNING id")
            .fetch_one(&pool)
            .await
            .expect("call time");
    let group = floor
        .group(
            "18005550101",
            &format!("call_time_id = {never}, closed_action = 'message_hangup'"),
        )
        .await;
    floor.inbound_call("18005550101").await;
    let call = floor.inbound_call_of(group).await;
    let (outcome, _) = floor.ended(call).await;
    assert_eq!(outcome, "after_hours");
    let log = floor.asterisk().log();
    assert!(
        log.contains("dialtone/closed"),
        "the caller heard the closed message:\n{log}"
    );
}

impl Floor {
    /// A group that is closed now, whose closed action is `action`; a caller dials it.
    async fn call_closed_group(&self, did: &str, action: &str) -> (i64, Uuid) {
        let never: i64 =
            sqlx::query_scalar("INSERT INTO call_times (name) VALUES ($1) RETURNING id")
                .bind(format!("never {did}"))
                .fetch_one(&self.pool)
                .await
                .expect("call time");
        let group = self
            .group(did, &format!("call_time_id = {never}, {action}"))
            .await;
        self.inbound_call(did).await;
        // By the number dialed: the closed action may move the call to another group at once.
        let mut found = None;
        self.until(
            Duration::from_secs(30),
            "the inbound call's record",
            async |pool| {
                found = sqlx::query_scalar("SELECT id FROM calls WHERE did = $1")
                    .bind(did)
                    .fetch_optional(pool)
                    .await
                    .expect("call");
                found.is_some()
            },
        )
        .await;
        (group, found.expect("a call"))
    }
}

impl Floor {
    /// The inbound caller of `call` ends in `MAILBOX` (VoiceMail, by Asterisk's channel list),
    /// and the call closes as `voicemail` once they hang up.
    async fn left_in_voicemail(&self, call: Uuid) {
        let caller = self.customer_channel(call).await;
        let out = self
            .asterisk()
            .cli_until("core show channels concise", Duration::from_secs(20), |o| {
                o.lines()
                    .any(|l| l.starts_with(&format!("{caller}!")) && l.contains("!VoiceMail!"))
            })
            .await;
        assert!(
            out.contains(&format!("!VoiceMail!{MAILBOX},u")),
            "the caller is leaving a message in the group's box: {out}\n{}",
            self.asterisk().log()
        );
        self.asterisk()
            .cli(&format!("channel request hangup {caller}"))
            .await;
        let (outcome, _) = self.ended(call).await;
        assert_eq!(outcome, "voicemail");
    }

    /// The inbound caller of `call` is dialed out on the trunk to `number`, which answers, and
    /// the call is closed as transferred.
    async fn put_through_to(&self, call: Uuid, number: &str) {
        let caller = self.customer_channel(call).await;
        let line = self.channel_line(&caller, |l| l.contains("!Dial!")).await;
        let dialed = format!("PJSIP/{}@carrier", number.trim_start_matches('+'));
        assert!(
            line.contains("!dialtone-inbound!") && line.contains(&dialed),
            "the caller is dialed out to {dialed}: {line}\n{}",
            self.asterisk().log()
        );
        let out = self
            .asterisk()
            .cli_until("core show channels concise", Duration::from_secs(10), |o| {
                o.contains("PJSIP/carrier-") && o.contains("!Up!")
            })
            .await;
        assert!(
            out.lines()
                .any(|l| l.starts_with("PJSIP/carrier-") && l.contains("!Up!")),
            "the number answered on the trunk: {out}"
        );
        let outcome: Option<String> = sqlx::query_scalar("SELECT outcome FROM calls WHERE id = $1")
            .bind(call)
            .fetch_one(&self.pool)
            .await
            .expect("call");
        assert_eq!(outcome.as_deref(), Some("transferred"));
    }

    /// The inbound caller of `call` reached the agent of `session` in `group`'s queue, and the
    /// call is that group's now.
    async fn moved_to_group(&self, call: Uuid, session: i64, group: i64) {
        let members = self.with_customer(session).await;
        assert_eq!(
            members.len(),
            2,
            "the caller reached the next group's agent: {members:?}\n{}",
            self.asterisk().log()
        );
        let now: Option<i64> =
            sqlx::query_scalar("SELECT inbound_group_id FROM calls WHERE id = $1")
                .bind(call)
                .fetch_one(&self.pool)
                .await
                .expect("call");
        assert_eq!(now, Some(group), "the call is the next group's now");
    }
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_caller_to_a_closed_group_is_sent_to_its_voicemail(pool: PgPool) {
    let Some(floor) = floor(
        &pool,
        "a_caller_to_a_closed_group_is_sent_to_its_voicemail",
        "",
    )
    .await
    else {
        return;
    };
    let action = format!("closed_action = 'voicemail', closed_target = '{MAILBOX}'");
    let (_, call) = floor.call_closed_group("18005550108", &action).await;
    floor.left_in_voicemail(call).await;
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_caller_to_a_closed_group_is_put_through_to_its_number(pool: PgPool) {
    let Some(floor) = floor(
        &pool,
        "a_caller_to_a_closed_group_is_put_through_to_its_number",
        "",
    )
    .await
    else {
        return;
    };
    let number = Callee::Person.number(39);
    let action = format!("closed_action = 'transfer_number', closed_target = '{number}'");
    let (_, call) = floor.call_closed_group("18005550109", &action).await;
    floor.put_through_to(call, &number).await;
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_caller_to_a_closed_group_moves_to_the_open_groups_queue(pool: PgPool) {
    let Some(mut floor) = floor(
        &pool,
        "a_caller_to_a_closed_group_moves_to_the_open_groups_queue",
        "",
    )
    .await
    else {
        return;
    };
    let open = floor.group("18005550111", "").await;
    let session = floor.agent(1).await;
    agents::join_groups(&pool, session, &[open])
        .await
        .expect("join");
    let action = "closed_action = 'transfer_group', closed_target = 'group 18005550111'";
    let (_, call) = floor.call_closed_group("18005550110", action).await;
    floor.moved_to_group(call, session, open).await;
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn keys_the_agent_sends_reach_the_far_end(pool: PgPool) {
    use dialtone_asterisk::ami::{AmiClient, AmiConfig, Auth};
    use futures::StreamExt;
    let Some(mut floor) = floor(&pool, "keys_the_agent_sends_reach_the_far_end", "").await else {
        return;
    };
    let mut config = AmiConfig::new(
        format!("127.0.0.1:{}", floor.asterisk().ami_port),
        "dialtone",
        AMI_SECRET,
    );
    config.auth = Auth::Md5;
    let ami = AmiClient::start(config);
    let mut keys = Box::pin(ami.events_matching(|e| e.event() == Some("DTMFEnd")));
    let (_, _, call) = floor.talking(30).await;
    floor
        .command(Control::Dtmf {
            call_id: call,
            digits: "1#".into(),
        })
        .await
        .expect("keys");
    let mut heard = String::new();
    while heard.len() < 2 {
        let event = tokio::time::timeout(Duration::from_secs(10), keys.next())
            .await
            .expect("DTMF events")
            .expect("a DTMF event");
        if event.get("Direction") == Some("Received")
            && event
                .get("Channel")
                .is_some_and(|c| c.contains("12015550130") && c.ends_with(";2"))
        {
            heard.push_str(event.get("Digit").unwrap_or_default());
        }
    }
    assert_eq!(heard, "1#", "the callee's side received the keys in order");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_supervisor_listens_whispers_and_barges_on_an_agent(pool: PgPool) {
    let Some(mut floor) = floor(
        &pool,
        "a_supervisor_listens_whispers_and_barges_on_an_agent",
        "",
    )
    .await
    else {
        return;
    };
    floor.talking(31).await;
    for (how, option) in [
        (remote::Monitor::Listen, "qE"),
        (remote::Monitor::Whisper, "qEw"),
        (remote::Monitor::Barge, "qEB"),
    ] {
        floor
            .command(Control::Monitor {
                supervisor_dial_string: phone(99),
                agent_dial_string: phone(1),
                how,
            })
            .await
            .expect("monitor");
        let spying = floor
            .asterisk()
            .cli_until("core show channels concise", Duration::from_secs(10), |o| {
                o.contains("!ChanSpy!")
            })
            .await;
        let line = spying
            .lines()
            .find(|l| l.contains("!ChanSpy!"))
            .unwrap_or_default()
            .to_string();
        assert!(
            line.starts_with(&format!("{}-", phone(99)))
                && line.contains(&format!("{}-,{option}", phone(1))),
            "{how:?}: {line}\n{spying}"
        );
        floor
            .asterisk()
            .cli(&format!(
                "channel request hangup {}",
                line.split('!').next().unwrap_or_default()
            ))
            .await;
        floor
            .asterisk()
            .cli_until("core show channels concise", Duration::from_secs(10), |o| {
                !o.contains("!ChanSpy!")
            })
            .await;
    }
}

/// One scenario, dialed with the agent `agent` logged in, its outcomes read back in order:
/// (callee, the attempt's outcome, the lead's status). Each person is hung up by the agent once
/// they are through.
/// What each call of `scenario` came to: (callee, attempt outcome, lead status, the events the
/// dialer acted on for it ([`acted_on`])).
async fn outcomes_of(
    floor: &mut Floor,
    scenario: &[(Callee, u32)],
    agent: u32,
) -> Vec<(Callee, String, String, Acted)> {
    use dialtone_asterisk::ami::{AmiClient, AmiConfig, Auth};
    use futures::StreamExt;
    // The dialer's own events (`watch_outcomes`), heard as it hears them.
    let mut config = AmiConfig::new(
        format!("127.0.0.1:{}", floor.ami_port),
        "dialtone",
        AMI_SECRET,
    );
    config.auth = Auth::Md5;
    let ami = AmiClient::start(config);
    let mut heard = Box::pin(ami.events_matching(|e| {
        matches!(e.event(), Some("OriginateResponse" | "DialEnd" | "Hangup"))
    }));
    floor
        .until(Duration::from_secs(10), "the test's AMI link", async |_| {
            matches!(
                *ami.link().borrow(),
                dialtone_asterisk::ami::Link::Up { .. }
            )
        })
        .await;
    let session = floor.agent(agent).await;
    let mut leads = Vec::new();
    for (callee, n) in scenario {
        leads.push((*callee, floor.lead(&callee.number(*n)).await));
    }
    let mut seen = Vec::new();
    for (callee, lead) in &leads {
        if *callee == Callee::Person {
            let call = floor.call_of(*lead).await;
            floor
                .until(
                    Duration::from_secs(20),
                    "the person with the agent",
                    async |pool| {
                        sqlx::query_scalar::<_, bool>(
                            "SELECT agent_connected_at IS NOT NULL FROM calls WHERE id = $1",
                        )
                        .bind(call)
                        .fetch_one(pool)
                        .await
                        .expect("call")
                    },
                )
                .await;
            let _ = session;
            floor
                .command(Control::HangUp { call_id: call })
                .await
                .expect("hang up");
        }
        let outcome = floor.attempt(*lead).await;
        seen.push((*callee, outcome, floor.lead_status(*lead).await));
    }
    // Late events (a Hangup after the outcome) have a moment to arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut events: Vec<std::sync::Arc<dialtone_asterisk::ami::Message>> = Vec::new();
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_millis(100), heard.next()).await
    {
        events.push(event);
    }
    let mut out = Vec::new();
    for ((callee, outcome, status), (_, lead)) in seen.into_iter().zip(&leads) {
        let call: Uuid = sqlx::query_scalar("SELECT call_id FROM call_attempts WHERE lead_id = $1")
            .bind(lead)
            .fetch_one(&floor.pool)
            .await
            .expect("attempt");
        out.push((callee, outcome, status, acted_on(&events, call)));
    }
    out
}

/// The events the dialer acted on for one call: all of them, sorted, and the order of those
/// Asterisk passes through Stasis. Asterisk writes OriginateResponse straight to the manager
/// while DialEnd and Hangup come through Stasis's own thread, so where OriginateResponse falls
/// among them varies from call to call on the same Asterisk (seen: an answered person's DialEnd
/// before it, a machine's after). The dialer must not depend on that order (the first outcome
/// wins and every event of a call says the same), and the comparison does not either; the order
/// within Stasis is Asterisk's and must be the simulator's too.
#[derive(Debug, PartialEq)]
struct Acted {
    all: Vec<String>,
    stasis_order: Vec<String>,
}

/// The events `watch_outcomes` reads for `call`, as what it reads from each: the dial's
/// OriginateResponse and its reason, the far end's DialEnd and status, and the dial's own
/// Hangup and cause (a cause 0 says nothing and is skipped, as the dialer skips it).
fn acted_on(events: &[std::sync::Arc<dialtone_asterisk::ami::Message>], call: Uuid) -> Acted {
    let call = call.to_string();
    let mut order = Vec::new();
    for e in events {
        let is = |key: &str| e.get(key) == Some(call.as_str());
        let said = match e.event() {
            Some("OriginateResponse") if is("Uniqueid") => {
                format!("OriginateResponse {}", e.get("Reason").unwrap_or_default())
            }
            Some("DialEnd") if is("DestLinkedid") || is("DestUniqueid") => {
                format!("DialEnd {}", e.get("DialStatus").unwrap_or_default())
            }
            Some("Hangup") if is("Uniqueid") && e.get("Cause") != Some("0") => {
                format!("Hangup {}", e.get("Cause").unwrap_or_default())
            }
            _ => continue,
        };
        order.push(said);
    }
    let stasis_order = order
        .iter()
        .filter(|e| !e.starts_with("OriginateResponse"))
        .cloned()
        .collect();
    order.sort();
    Acted {
        all: order,
        stasis_order,
    }
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_simulator_gives_each_call_the_outcome_asterisk_gives_it(pool: PgPool) {
    let scenario = [
        (Callee::Person, 40),
        (Callee::Machine, 40),
        (Callee::Silence, 40),
        (Callee::Busy, 40),
        (Callee::Congestion, 40),
        (Callee::NoAnswer, 40),
    ];
    let settings = "dial_method = 'ratio', dial_ratio = 3, amd_machine_action = 'hangup'";
    let Some(mut real) = floor(
        &pool,
        "the_simulator_gives_each_call_the_outcome_asterisk_gives_it",
        settings,
    )
    .await
    else {
        return;
    };
    let on_asterisk = outcomes_of(&mut real, &scenario, 1).await;
    drop(real);
    sqlx::query("UPDATE agent_sessions SET state = 'logged_out', logged_out_at = now() WHERE logged_out_at IS NULL").execute(&pool).await.expect("log out");
    sqlx::query("DELETE FROM abandon_ledger")
        .execute(&pool)
        .await
        .expect("ledger");
    sqlx::query("UPDATE campaigns SET active = false")
        .execute(&pool)
        .await
        .expect("stop");
    let mut sim = sim_floor(&pool, settings).await;
    // Numbers of their own: the first run's are resting after their dials.
    let scenario = scenario.map(|(callee, n)| (callee, n + 1));
    let on_sim = outcomes_of(&mut sim, &scenario, 2).await;
    println!("asterisk: {on_asterisk:?}\nsimulator: {on_sim:?}");
    assert_eq!(on_sim, on_asterisk, "the simulator and Asterisk agree call by call: outcome, status and the events the dialer acted on ([`Acted`])");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_customer_transferred_to_an_inbound_group_reaches_an_agent_of_that_group(pool: PgPool) {
    let Some(mut floor) = floor(
        &pool,
        "a_customer_transferred_to_an_inbound_group_reaches_an_agent_of_that_group",
        "",
    )
    .await
    else {
        return;
    };
    let (first, _, call) = floor.talking(32).await;
    let group = floor.group("18005550102", "").await;
    let second = floor.agent(2).await;
    agents::join_groups(&pool, second, &[group])
        .await
        .expect("join");
    floor
        .command(Control::TransferToGroup {
            call_id: call,
            did: "18005550102".into(),
        })
        .await
        .expect("transfer");
    let members = floor.with_customer(second).await;
    assert_eq!(
        members.len(),
        2,
        "the customer reached the group's agent: {members:?}\n{}",
        floor.asterisk().log()
    );
    let (outcome, _) = floor.ended(call).await;
    assert_eq!(outcome, "transferred");
    assert_eq!(
        floor
            .asterisk()
            .conference_members(&format!("agent-{first}"))
            .await
            .len(),
        1,
        "the first agent is free"
    );
    let inbound = floor.inbound_call_of(group).await;
    floor
        .command(Control::HangUp { call_id: inbound })
        .await
        .expect("hang up");
    let (outcome, _) = floor.ended(inbound).await;
    assert_eq!(outcome, "answered");
    assert_eq!(
        floor.call_end_runs(),
        1,
        "one hangup handler for the customer's one channel"
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_group_with_no_agent_logged_in_plays_its_message_and_hangs_up(pool: PgPool) {
    let Some(floor) = floor(
        &pool,
        "a_group_with_no_agent_logged_in_plays_its_message_and_hangs_up",
        "",
    )
    .await
    else {
        return;
    };
    let group = floor
        .group(
            "18005550103",
            "no_agents_action = 'message_hangup', no_agents_target = 'dialtone/closed'",
        )
        .await;
    floor.inbound_call("18005550103").await;
    let call = floor.inbound_call_of(group).await;
    let (outcome, cause) = floor.ended(call).await;
    assert_eq!((outcome.as_str(), cause), ("no_agents", Some(16)));
    assert!(
        floor.asterisk().log().contains("dialtone/closed"),
        "the caller heard the group's message"
    );
}

impl Floor {
    /// A group whose callers wait at most 5 seconds, then meet `action`; an agent of it logged
    /// in but paused, so callers queue. Returns (group, the caller's call).
    async fn queue_times_out(&mut self, did: &str, action: &str) -> (i64, Uuid) {
        let group = self
            .group(did, &format!("max_wait_secs = 5, {action}"))
            .await;
        let session = self.agent(1).await;
        agents::join_groups(&self.pool, session, &[group])
            .await
            .expect("join");
        assert!(
            agents::set_state(&self.pool, session, AgentState::Paused, Some("PAUSED"))
                .await
                .expect("pause")
        );
        self.inbound_call(did).await;
        let call = self.inbound_call_of(group).await;
        (group, call)
    }
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_caller_who_waits_past_the_groups_limit_is_sent_to_its_voicemail(pool: PgPool) {
    let Some(mut floor) = floor(
        &pool,
        "a_caller_who_waits_past_the_groups_limit_is_sent_to_its_voicemail",
        "",
    )
    .await
    else {
        return;
    };
    let action = format!("timeout_action = 'voicemail', timeout_target = '{MAILBOX}'");
    let (_, call) = floor.queue_times_out("18005550104", &action).await;
    floor.left_in_voicemail(call).await;
    let waited: f64 = sqlx::query_scalar("SELECT wait_secs::float8 FROM calls WHERE id = $1")
        .bind(call)
        .fetch_one(&pool)
        .await
        .expect("wait");
    assert!(
        waited >= 5.0,
        "the caller waited the group's limit first: {waited} s"
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_caller_who_waits_past_the_groups_limit_is_put_through_to_its_number(pool: PgPool) {
    let Some(mut floor) = floor(
        &pool,
        "a_caller_who_waits_past_the_groups_limit_is_put_through_to_its_number",
        "",
    )
    .await
    else {
        return;
    };
    let number = Callee::Person.number(38);
    let action = format!("timeout_action = 'transfer_number', timeout_target = '{number}'");
    let (_, call) = floor.queue_times_out("18005550105", &action).await;
    floor.put_through_to(call, &number).await;
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_caller_who_waits_past_the_groups_limit_moves_to_the_next_groups_queue(pool: PgPool) {
    let Some(mut floor) = floor(
        &pool,
        "a_caller_who_waits_past_the_groups_limit_moves_to_the_next_groups_queue",
        "",
    )
    .await
    else {
        return;
    };
    let overflow = floor.group("18005550107", "").await;
    let second = floor.agent(2).await;
    agents::join_groups(&pool, second, &[overflow])
        .await
        .expect("join");
    let action = "timeout_action = 'transfer_group', timeout_target = 'group 18005550107'";
    let (_, call) = floor.queue_times_out("18005550106", action).await;
    floor.moved_to_group(call, second, overflow).await;
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_blind_transfer_sends_the_customer_out_on_the_trunk_to_the_number(pool: PgPool) {
    let Some(mut floor) = floor(
        &pool,
        "a_blind_transfer_sends_the_customer_out_on_the_trunk_to_the_number",
        "",
    )
    .await
    else {
        return;
    };
    let (session, _, call) = floor.talking(33).await;
    let customer = floor.customer_channel(call).await;
    floor
        .command(Control::TransferToNumber {
            call_id: call,
            e164: Callee::Person.number(34),
        })
        .await
        .expect("transfer");
    let line = floor
        .channel_line(&customer, |l| l.contains("!Dial!"))
        .await;
    assert!(
        line.contains("!dialtone-transfer!") && line.contains("PJSIP/12015550134@carrier"),
        "the customer is dialed out: {line}\n{}",
        floor.asterisk().log()
    );
    let out = floor
        .asterisk()
        .cli_until("core show channels concise", Duration::from_secs(10), |o| {
            o.contains("PJSIP/carrier-") && o.contains("!Up!")
        })
        .await;
    assert!(
        out.lines()
            .any(|l| l.starts_with("PJSIP/carrier-") && l.contains("!Up!")),
        "the number answered on the trunk: {out}"
    );
    let (outcome, _) = floor.ended(call).await;
    assert_eq!(outcome, "transferred");
    assert_eq!(
        floor
            .asterisk()
            .conference_members(&format!("agent-{session}"))
            .await
            .len(),
        1,
        "the agent is free"
    );
}
