//! The agent screen's and the wallboard's actions against a real database, with a stand-in
//! node on the bus that records the call-control requests and answers them: what an agent may
//! do in each state, what is refused and how it is said, and that the page's news comes from
//! the database's own notifications.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use dialtone_admin::model::Viewer;
use dialtone_admin::server::actor::Actor;
use dialtone_admin::server::agent::{AgentActions, AgentError, LeadFields};
use dialtone_admin::server::live::{Hub, HubEvent};
use dialtone_admin::server::wallboard;
use dialtone_core::bus::Bus;
use dialtone_core::calls::{self, Answered, Ended};
use dialtone_core::dispositions::{CallbackRequest, DispositionError};
use dialtone_core::live::LiveEvent;
use dialtone_core::remote::{self, Command, Reply, Request};
use dialtone_core::users;
use dialtone_core::vocabulary::{AgentState, Role};
use dialtone_core::{agents, campaigns, lists};
use futures::StreamExt;
use sqlx::PgPool;
use uuid::Uuid;

/// A node that says yes to everything and remembers what it was asked.
async fn stand_in_node(bus: &Bus, node: &str) -> Arc<Mutex<Vec<Command>>> {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let mut requests = bus
        .subscribe::<Request>(&remote::channel(node))
        .await
        .expect("subscribe");
    let (bus, log) = (bus.clone(), asked.clone());
    tokio::spawn(async move {
        while let Some(Ok(request)) = requests.next().await {
            log.lock().expect("log").push(request.command);
            bus.publish(&request.reply_to, &Reply { result: Ok(None) })
                .await
                .expect("reply");
        }
    });
    asked
}

struct Floor {
    ctx: AgentActions,
    asked: Arc<Mutex<Vec<Command>>>,
    agent: i64,
    campaign: i64,
    lead: i64,
}

async fn floor(pool: &PgPool) -> Floor {
    dialtone_core::telemetry::test_logging();
    let bus = Bus::from_config(None).await.expect("bus");
    let asked = stand_in_node(&bus, "n1").await;
    let agent = users::create(pool, "amy", "Amy", Role::Agent, "a long password")
        .await
        .expect("agent");
    let campaign = campaigns::create(
        pool,
        "Floor",
        dialtone_core::vocabulary::DialMethod::Progressive,
        "9am-9pm",
    )
    .await
    .expect("campaign");
    sqlx::query("UPDATE campaigns SET active = true WHERE id = $1")
        .bind(campaign)
        .execute(pool)
        .await
        .expect("active");
    campaigns::grant(pool, agent, campaign)
        .await
        .expect("grant");
    sqlx::query("UPDATE users SET phone_dial_string = 'PJSIP/1001' WHERE id = $1")
        .bind(agent)
        .execute(pool)
        .await
        .expect("phone");
    let list = lists::create(pool, "l", Some(campaign), "US")
        .await
        .expect("list");
    let lead: i64 = sqlx::query_scalar(
        "INSERT INTO leads (list_id, phone_e164, country, time_zone, first_name) VALUES ($1, '+12015550123', 'US', 'America/New_York', 'Ann') RETURNING id",
    )
    .bind(list)
    .fetch_one(pool)
    .await
    .expect("lead");
    Floor {
        ctx: AgentActions {
            pool: pool.clone(),
            bus,
            node: "n1".into(),
        },
        asked,
        agent,
        campaign,
        lead,
    }
}

impl Floor {
    /// The agent logged in to the campaign, their phone in the conference, ready.
    async fn ready_agent(&self) -> i64 {
        let session = self.logged_in_agent().await;
        self.ctx.ready(self.agent).await.expect("ready");
        session
    }

    /// A call of the lead that reached the agent (as the outbound flow leaves it).
    async fn call(&self, session: i64) -> Uuid {
        let call_id = Uuid::new_v4();
        let pool = &self.ctx.pool;
        let a = Answered {
            call_id,
            campaign_id: self.campaign,
            lead_id: Some(self.lead),
            node: "n1",
            uniqueid: &call_id.to_string(),
            channel: "PJSIP/carrier-00000001",
            amd_status: Some("HUMAN"),
            amd_cause: None,
            waits_for_agent: true,
        };
        calls::answered(pool, &a).await.expect("answered");
        sqlx::query(
            "UPDATE agent_sessions SET state = 'reserved', current_call_id = $2 WHERE id = $1",
        )
        .bind(session)
        .bind(call_id)
        .execute(pool)
        .await
        .expect("reserved");
        let connected = calls::connected(pool, call_id, Some(self.campaign), session, self.agent)
            .await
            .expect("connected");
        assert_eq!(
            connected,
            calls::Connect::Connected,
            "the agent is on the call"
        );
        call_id
    }

    fn last_asked(&self) -> Option<Command> {
        self.asked.lock().expect("log").last().cloned()
    }

    /// The agent's phone as an admin would assign it (the check constraints apply).
    async fn set_phone(&self, phone: Option<&str>) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE users SET phone_dial_string = $2 WHERE id = $1")
            .bind(self.agent)
            .bind(phone)
            .execute(&self.ctx.pool)
            .await
            .map(|_| ())
    }

    /// The agent logged in and their phone answered: paused with the system's LOGIN code.
    async fn logged_in_agent(&self) -> i64 {
        let session = self
            .ctx
            .log_in(self.agent, self.campaign, &[])
            .await
            .expect("logged in");
        agents::phone_connected(&self.ctx.pool, session)
            .await
            .expect("phone");
        session
    }

    /// The agent logged in and paused with a code of their choosing, so a later pause has a
    /// code to replace.
    async fn agent_on_a_break(&self) -> i64 {
        let session = self.logged_in_agent().await;
        self.ctx.pause(self.agent, "BREAK").await.expect("break");
        session
    }

    async fn set_pause_codes_mode(&self, mode: &str) {
        sqlx::query("UPDATE campaigns SET pause_codes_mode = $2 WHERE id = $1")
            .bind(self.campaign)
            .bind(mode)
            .execute(&self.ctx.pool)
            .await
            .expect("pause codes mode");
    }

    async fn pause_code(&self, session: i64) -> Option<String> {
        sqlx::query_scalar("SELECT pause_code FROM agent_sessions WHERE id = $1")
            .bind(session)
            .fetch_one(&self.ctx.pool)
            .await
            .expect("code")
    }
}

/// A grant is what puts an agent on a campaign's floor; without one there is nothing to join.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_agent_cannot_log_in_to_a_campaign_they_were_not_granted(pool: PgPool) {
    let f = floor(&pool).await;
    let other = campaigns::create(
        &pool,
        "Other",
        dialtone_core::vocabulary::DialMethod::Progressive,
        "9am-9pm",
    )
    .await
    .expect("campaign");
    assert!(matches!(
        f.ctx.log_in(f.agent, other, &[]).await,
        Err(AgentError::NoCampaign)
    ));
}

/// Only the phone an admin assigned rings, so with none assigned there is nothing to ring.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_agent_without_an_assigned_phone_cannot_log_in(pool: PgPool) {
    let f = floor(&pool).await;
    f.set_phone(None).await.expect("no phone");
    assert!(matches!(
        f.ctx.log_in(f.agent, f.campaign, &[]).await,
        Err(AgentError::NoPhone)
    ));
}

/// Every login rings the stored dial string: anything but one local endpoint could inject
/// manager actions or ring a phone somewhere else.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn only_a_single_endpoint_can_be_assigned_as_a_phone(pool: PgPool) {
    let f = floor(&pool).await;
    for hostile in [
        "PJSIP/1001\r\nAction: Hangup",
        "Local/15551234567@dialtone-transfer",
        "PJSIP/1001@elsewhere",
    ] {
        assert!(f.set_phone(Some(hostile)).await.is_err(), "{hostile}");
    }
}

/// Inbound calls go only to agents a group was given to.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_agent_cannot_log_in_to_an_inbound_group_they_were_not_given(pool: PgPool) {
    let f = floor(&pool).await;
    assert!(matches!(
        f.ctx.log_in(f.agent, f.campaign, &[99]).await,
        Err(AgentError::NoGroup)
    ));
}

/// An outbound-only campaign's agents must not be handed inbound calls, even from groups they
/// were given.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_campaign_that_takes_no_inbound_calls_refuses_a_login_with_groups(pool: PgPool) {
    let f = floor(&pool).await;
    let group: i64 =
        sqlx::query_scalar("INSERT INTO inbound_groups (name) VALUES ('Help') RETURNING id")
            .fetch_one(&pool)
            .await
            .expect("group");
    sqlx::query("INSERT INTO user_inbound_groups (user_id, group_id) VALUES ($1, $2)")
        .bind(f.agent)
        .bind(group)
        .execute(&pool)
        .await
        .expect("grant");
    sqlx::query("UPDATE campaigns SET allow_inbound = false WHERE id = $1")
        .bind(f.campaign)
        .execute(&pool)
        .await
        .expect("outbound only");
    assert!(matches!(
        f.ctx.log_in(f.agent, f.campaign, &[group]).await,
        Err(AgentError::NoInbound)
    ));
}

/// The agent works through their phone in the conference, so logging in starts by ringing it.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn logging_in_rings_the_agents_assigned_phone(pool: PgPool) {
    let f = floor(&pool).await;
    let session = f
        .ctx
        .log_in(f.agent, f.campaign, &[])
        .await
        .expect("logged in");
    assert_eq!(
        f.last_asked(),
        Some(Command::RingPhone {
            session_id: session,
            dial_string: "PJSIP/1001".into()
        })
    );
}

/// One agent is one seat: a second login would take calls on two screens at once.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_agent_already_logged_in_cannot_log_in_again(pool: PgPool) {
    let f = floor(&pool).await;
    f.ctx
        .log_in(f.agent, f.campaign, &[])
        .await
        .expect("logged in");
    assert!(matches!(
        f.ctx.log_in(f.agent, f.campaign, &[]).await,
        Err(AgentError::AlreadyIn(_))
    ));
}

/// A ready agent is sent calls; with no phone in the conference nobody would hear them.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_agent_cannot_go_ready_until_their_phone_answers(pool: PgPool) {
    let f = floor(&pool).await;
    let session = f
        .ctx
        .log_in(f.agent, f.campaign, &[])
        .await
        .expect("logged in");
    assert!(matches!(
        f.ctx.ready(f.agent).await,
        Err(AgentError::Invalid(_))
    ));
    assert!(agents::phone_connected(&pool, session)
        .await
        .expect("phone"));
    f.ctx
        .ready(f.agent)
        .await
        .expect("ready once the phone answered");
}

/// System codes such as LOGIN record what the dialer did, not why an agent stepped away.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_agent_cannot_pause_with_a_system_code(pool: PgPool) {
    let f = floor(&pool).await;
    f.logged_in_agent().await;
    assert!(
        matches!(
            f.ctx.pause(f.agent, "LOGIN").await,
            Err(AgentError::BadPauseCode)
        ),
        "system codes are not the agent's to choose"
    );
    f.ctx.pause(f.agent, "BREAK").await.expect("break");
}

/// Optional is the default pause_codes_mode, so an agent must be able to step away without
/// picking a reason.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn optional_pause_codes_let_an_agent_pause_without_a_reason(pool: PgPool) {
    let f = floor(&pool).await;
    let session = f.agent_on_a_break().await;
    f.ctx.pause(f.agent, "").await.expect("no reason");
    assert_eq!(f.pause_code(session).await.as_deref(), Some("PAUSED"));
}

/// A campaign that reports on why agents pause can insist on a reason every time.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn forced_pause_codes_refuse_a_pause_without_a_reason(pool: PgPool) {
    let f = floor(&pool).await;
    f.logged_in_agent().await;
    f.set_pause_codes_mode("forced").await;
    assert!(matches!(
        f.ctx.pause(f.agent, "").await,
        Err(AgentError::BadPauseCode)
    ));
    f.ctx.pause(f.agent, "BREAK").await.expect("a reason");
}

/// A campaign that keeps no pause reasons neither takes one nor offers any on the screen.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn with_pause_codes_off_an_agent_pauses_without_a_code_and_is_offered_none(pool: PgPool) {
    let f = floor(&pool).await;
    let session = f.agent_on_a_break().await;
    f.set_pause_codes_mode("off").await;
    assert!(matches!(
        f.ctx.pause(f.agent, "LUNCH").await,
        Err(AgentError::NoPauseCodes)
    ));
    f.ctx.pause(f.agent, "").await.expect("no codes");
    assert_eq!(f.pause_code(session).await.as_deref(), Some("PAUSED"));
    let desk_session = dialtone_admin::server::agent::screen(&pool, f.agent)
        .await
        .expect("desk")
        .session
        .expect("session");
    assert!(desk_session.pause_codes.is_empty() && desk_session.pause_codes_mode == "off");
}

/// A seat limit caps how many agents work a campaign at once, not how many ever may.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_full_campaign_turns_a_second_agent_away_until_the_first_leaves(pool: PgPool) {
    let f = floor(&pool).await;
    f.logged_in_agent().await;
    sqlx::query("UPDATE campaigns SET max_logged_in_agents = 1 WHERE id = $1")
        .bind(f.campaign)
        .execute(&pool)
        .await
        .expect("cap");
    let ben = users::create(&pool, "ben", "Ben", Role::Agent, "a long password")
        .await
        .expect("ben");
    sqlx::query("UPDATE users SET phone_dial_string = 'PJSIP/1002' WHERE id = $1")
        .bind(ben)
        .execute(&pool)
        .await
        .expect("ben's phone");
    campaigns::grant(&pool, ben, f.campaign)
        .await
        .expect("grant");
    assert!(matches!(
        f.ctx.log_in(ben, f.campaign, &[]).await,
        Err(AgentError::CampaignFull)
    ));
    f.ctx.ready(f.agent).await.expect("ready");
    f.ctx.log_out(f.agent).await.expect("logout");
    f.ctx
        .log_in(ben, f.campaign, &[])
        .await
        .expect("a seat is free");
    f.ctx.log_out(ben).await.expect("ben leaves");
}

/// The login opened a line to the phone; logging out must close it and stop the agent being
/// sent calls.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn logging_out_hangs_up_the_phone_and_ends_the_session(pool: PgPool) {
    let f = floor(&pool).await;
    f.ready_agent().await;
    f.ctx.log_out(f.agent).await.expect("logout");
    assert_eq!(
        f.last_asked(),
        Some(Command::HangUpPhone {
            dial_string: "PJSIP/1001".into()
        })
    );
    assert!(matches!(
        f.ctx.ready(f.agent).await,
        Err(AgentError::NoSession)
    ));
}

/// A session the phone never joined would count as an agent on the floor and hold a seat.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_login_the_node_never_answers_fails_and_leaves_no_open_session(pool: PgPool) {
    let f = floor(&pool).await;
    let lonely = AgentActions {
        node: "ghost".into(),
        ..f.ctx.clone()
    };
    let refused = lonely.log_in(f.agent, f.campaign, &[]).await;
    assert!(
        matches!(
            &refused,
            Err(AgentError::Remote(remote::RemoteError::NoAnswer { .. }))
        ),
        "{refused:?}"
    );
    let open: i64 =
        sqlx::query_scalar("SELECT count(*) FROM agent_sessions WHERE logged_out_at IS NULL")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(open, 0);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn calls_dispositions_and_callbacks(pool: PgPool) {
    let f = floor(&pool).await;
    let session = f.ready_agent().await;
    let call = f.call(session).await;
    assert!(matches!(
        f.ctx.pause(f.agent, "BREAK").await,
        Err(AgentError::WrongState(AgentState::OnCall))
    ));
    assert!(
        matches!(f.ctx.log_out(f.agent).await, Err(AgentError::WrongState(_))),
        "no logging out in the middle of a call"
    );
    f.ctx.hang_up(f.agent).await.expect("hang up");
    assert_eq!(f.last_asked(), Some(Command::HangUp { call_id: call }));
    f.ctx.dtmf(f.agent, "12#").await.expect("keys");
    assert!(matches!(
        f.ctx.dtmf(f.agent, "").await,
        Err(AgentError::Invalid(_))
    ));

    // The call ends (the `h` extension): the agent wraps up; actions on the call say it ended.
    calls::end(&pool, call, &Ended::default())
        .await
        .expect("ended");
    let state: String = sqlx::query_scalar("SELECT state FROM agent_sessions WHERE id = $1")
        .bind(session)
        .fetch_one(&pool)
        .await
        .expect("state");
    assert_eq!(state, "wrapup");
    let ended = f.ctx.hang_up(f.agent).await;
    assert!(matches!(&ended, Err(AgentError::CallEnded)));
    assert_eq!(
        ended.err().map(|e| e.message()).as_deref(),
        Some("that call has ended")
    );
    assert!(matches!(
        f.ctx.transfer(f.agent, "2015550199", None).await,
        Err(AgentError::CallEnded)
    ));

    // Dispositions: only the campaign's, a callback needs a time within the campaign's limit.
    sqlx::query("DELETE FROM campaign_dispositions WHERE campaign_id = $1 AND status_code = 'NI'")
        .bind(f.campaign)
        .execute(&pool)
        .await
        .expect("trim");
    for code in ["NI", "MAXATT", "BOGUS"] {
        let refused = f.ctx.dispose(f.agent, code, None, false).await;
        assert!(
            matches!(&refused, Err(AgentError::Disposition(DispositionError::NotOffered(c))) if c == code),
            "{code}: {refused:?}"
        );
    }
    let soon = |days: i64| CallbackRequest {
        due_at: Utc::now() + chrono::Duration::days(days),
        only_me: false,
        comments: "after lunch".into(),
    };
    assert!(matches!(
        f.ctx.dispose(f.agent, "CALLBK", None, false).await,
        Err(AgentError::Disposition(DispositionError::CallbackMissing(
            _
        )))
    ));
    assert!(matches!(
        f.ctx
            .dispose(f.agent, "CALLBK", Some(soon(-1)), false)
            .await,
        Err(AgentError::Disposition(DispositionError::CallbackInPast))
    ));
    assert!(matches!(
        f.ctx
            .dispose(f.agent, "CALLBK", Some(soon(400)), false)
            .await,
        Err(AgentError::Disposition(DispositionError::CallbackTooFar(
            30
        )))
    ));
    let due = soon(1);
    f.ctx
        .dispose(f.agent, "CALLBK", Some(due.clone()), false)
        .await
        .expect("callback for anyone");
    let (status, next): (String, Option<chrono::DateTime<Utc>>) =
        sqlx::query_as("SELECT status, next_attempt_at FROM leads WHERE id = $1")
            .bind(f.lead)
            .fetch_one(&pool)
            .await
            .expect("lead");
    assert_eq!(status, "CALLBK", "the dialer calls it back when due");
    assert_eq!(next.map(|t| t.timestamp()), Some(due.due_at.timestamp()));
    let state: String = sqlx::query_scalar("SELECT state FROM agent_sessions WHERE id = $1")
        .bind(session)
        .fetch_one(&pool)
        .await
        .expect("state");
    assert_eq!(state, "ready", "the disposition ends the wrap-up");
    // The call left the screen with its disposition; setting another is refused either way.
    assert!(matches!(
        f.ctx.dispose(f.agent, "SALE", None, false).await,
        Err(AgentError::NoCall)
    ));
    let again = dialtone_core::dispositions::set(
        &pool,
        &dialtone_core::dispositions::Disposition {
            call_id: call,
            user_id: f.agent,
            status: "SALE",
            callback: None,
            then_pause: false,
        },
        Utc::now(),
    )
    .await;
    assert!(matches!(again, Err(DispositionError::AlreadySet(c)) if c == "CALLBK"));

    // A DNC disposition puts the number on the campaign's list.
    let second = f.call(session).await;
    calls::end(&pool, second, &Ended::default())
        .await
        .expect("ended");
    f.ctx
        .dispose(f.agent, "DNC", None, true)
        .await
        .expect("dnc");
    let listed = dialtone_core::dnc::check(&pool, Some(f.campaign), "+12015550123")
        .await
        .expect("check");
    assert!(listed.is_some(), "the callee asked not to be called again");
    let (state, code): (String, Option<String>) =
        sqlx::query_as("SELECT state, pause_code FROM agent_sessions WHERE id = $1")
            .bind(session)
            .fetch_one(&pool)
            .await
            .expect("state");
    assert_eq!(
        (state.as_str(), code.as_deref()),
        ("paused", Some("AFTCAL")),
        "paused after the call, as asked"
    );
}

/// The agent edits the lead on their screen, custom fields included, but not another lead, and
/// not the names of its custom fields.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn agents_edit_the_lead_on_their_screen(pool: PgPool) {
    let f = floor(&pool).await;
    sqlx::query("UPDATE leads SET custom = '{\"tier\": \"gold\", \"plan\": \"A\"}' WHERE id = $1")
        .bind(f.lead)
        .execute(&pool)
        .await
        .expect("custom");
    let session = f.ready_agent().await;
    f.call(session).await;
    let fields = LeadFields {
        first_name: "Anna".into(),
        last_name: "Lee".into(),
        email: "anna@example.com".into(),
        address1: "1 Main St".into(),
        city: "Newark".into(),
        comments: "call after 5".into(),
        custom: vec![
            ("tier".into(), "platinum".into()),
            ("invented".into(), "x".into()),
        ],
    };
    f.ctx
        .save_lead(f.agent, f.lead, &fields)
        .await
        .expect("saved");
    let (first, city, custom): (String, String, serde_json::Value) =
        sqlx::query_as("SELECT first_name, city, custom FROM leads WHERE id = $1")
            .bind(f.lead)
            .fetch_one(&pool)
            .await
            .expect("lead");
    assert_eq!((first.as_str(), city.as_str()), ("Anna", "Newark"));
    assert_eq!(custom, serde_json::json!({"tier": "platinum", "plan": "A"}));
    assert!(matches!(
        f.ctx.save_lead(f.agent, f.lead + 1000, &fields).await,
        Err(AgentError::Invalid(_))
    ));
    let long = LeadFields {
        custom: vec![("tier".into(), "x".repeat(2001))],
        ..fields
    };
    assert!(matches!(
        f.ctx.save_lead(f.agent, f.lead, &long).await,
        Err(AgentError::Invalid(_))
    ));
}

/// A disposition set while the caller is still on the line: when the call ends the agent goes
/// straight where the disposition says (ready, or paused if they asked), with no wrap-up.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_disposition_during_the_call_leaves_nothing_to_wrap_up(pool: PgPool) {
    let f = floor(&pool).await;
    let session = f.ready_agent().await;
    let state = || async {
        let row: (String, Option<String>) =
            sqlx::query_as("SELECT state, pause_code FROM agent_sessions WHERE id = $1")
                .bind(session)
                .fetch_one(&pool)
                .await
                .expect("state");
        row
    };

    let call = f.call(session).await;
    f.ctx
        .dispose(f.agent, "NI", None, false)
        .await
        .expect("disposed on the call");
    assert_eq!(state().await, ("on_call".into(), None), "the call goes on");
    calls::end(&pool, call, &Ended::default())
        .await
        .expect("ended");
    assert_eq!(state().await, ("ready".into(), None));

    let call = f.call(session).await;
    f.ctx
        .dispose(f.agent, "SALE", None, true)
        .await
        .expect("disposed, pausing after");
    // A second save (another tab, a hotkey) is refused and leaves the first one's choice.
    assert!(matches!(
        f.ctx.dispose(f.agent, "NI", None, false).await,
        Err(AgentError::Disposition(DispositionError::AlreadySet(_)))
    ));
    calls::end(&pool, call, &Ended::default())
        .await
        .expect("ended");
    assert_eq!(state().await, ("paused".into(), Some("AFTCAL".into())));

    // Without a disposition the end still brings wrap-up.
    f.ctx.ready(f.agent).await.expect("ready");
    let call = f.call(session).await;
    calls::end(&pool, call, &Ended::default())
        .await
        .expect("ended");
    assert_eq!(state().await, ("wrapup".into(), None));
    let wrapups: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM agent_state_history WHERE session_id = $1 AND state = 'wrapup'",
    )
    .bind(session)
    .fetch_one(&pool)
    .await
    .expect("history");
    assert_eq!(
        wrapups, 1,
        "only the call left without a disposition was wrapped up"
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn supervisors_act_only_on_their_campaigns(pool: PgPool) {
    let f = floor(&pool).await;
    let session = f.ready_agent().await;
    let sam = users::create(&pool, "sam", "Sam", Role::Supervisor, "a long password")
        .await
        .expect("sup");
    let viewer = Viewer {
        user_id: sam,
        username: "sam".into(),
        display_name: "Sam".into(),
        role: Role::Supervisor,
        must_change_password: false,
    };
    let actor = Actor {
        viewer: &viewer,
        ip: None,
    };
    assert!(matches!(
        wallboard::force_pause(&f.ctx, &actor, session).await,
        Err(AgentError::NoCampaign)
    ));
    campaigns::grant(&pool, sam, f.campaign)
        .await
        .expect("grant");
    wallboard::force_pause(&f.ctx, &actor, session)
        .await
        .expect("paused");
    let code: Option<String> =
        sqlx::query_scalar("SELECT pause_code FROM agent_sessions WHERE id = $1")
            .bind(session)
            .fetch_one(&pool)
            .await
            .expect("code");
    assert_eq!(code.as_deref(), Some("FORCED"));
    let monitor = wallboard::monitor(&f.ctx, &actor, session, remote::Monitor::Listen).await;
    assert!(
        matches!(monitor, Err(AgentError::Invalid(m)) if m.contains("no phone")),
        "a supervisor needs a phone on file"
    );
    sqlx::query("UPDATE users SET phone_dial_string = 'PJSIP/2001' WHERE id = $1")
        .bind(sam)
        .execute(&pool)
        .await
        .expect("phone");
    wallboard::monitor(&f.ctx, &actor, session, remote::Monitor::Whisper)
        .await
        .expect("whisper");
    assert_eq!(
        f.last_asked(),
        Some(Command::Monitor {
            supervisor_dial_string: "PJSIP/2001".into(),
            agent_dial_string: "PJSIP/1001".into(),
            how: remote::Monitor::Whisper
        })
    );
    wallboard::force_logout(&f.ctx, &actor, session)
        .await
        .expect("logged out");
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE entity = 'agent_session' AND user_id = $1",
    )
    .bind(sam)
    .fetch_one(&pool)
    .await
    .expect("audit");
    assert_eq!(audited, 3);
    let b = wallboard::board(&pool, f.campaign)
        .await
        .expect("board")
        .expect("exists");
    assert!(b.agents.is_empty(), "the logged-out agent is off the board");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_hub_hears_the_database_and_the_bus(pool: PgPool) {
    let f = floor(&pool).await;
    let hub = Arc::new(Hub::new(pool.clone(), f.ctx.bus.clone()));
    let mut events = hub.boards();
    // The listeners start with the first subscriber; each says so with a resync.
    for _ in 0..2 {
        let first = tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .expect("in time")
            .expect("event");
        assert!(matches!(*first, HubEvent::Resync));
    }
    let session = agents::open_session(&pool, f.agent, f.campaign, "n1", "PJSIP/1001")
        .await
        .expect("session");
    let heard = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("in time")
        .expect("event");
    match &*heard {
        HubEvent::Live(LiveEvent::Agent {
            session_id,
            state,
            user_id,
            ..
        }) => {
            assert_eq!(
                (*session_id, state.as_str(), *user_id),
                (session, "connecting", f.agent)
            );
        }
        other => panic!("expected the session's news, got {other:?}"),
    }
    // The heartbeat changes no state and tells nobody.
    agents::seen(&pool, &[(f.agent, chrono::Utc::now())])
        .await
        .expect("seen");
    f.ctx
        .bus
        .publish(
            dialtone_core::live::BUS_CHANNEL,
            &LiveEvent::Notice {
                user_id: f.agent,
                text: "hi".into(),
                sent_at_micros: 1,
            },
        )
        .await
        .expect("publish");
    let next = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("in time")
        .expect("event");
    assert!(
        matches!(&*next, HubEvent::Live(LiveEvent::Notice { text, .. }) if text == "hi"),
        "{next:?}"
    );

    // An agent's pages hear only that agent's news; their answers are written as heartbeats.
    let mut mine = hub.agent(f.agent);
    let other = users::create(&pool, "otto", "Otto", Role::Agent, "a long password")
        .await
        .expect("other");
    f.ctx
        .bus
        .publish(
            dialtone_core::live::BUS_CHANNEL,
            &LiveEvent::Notice {
                user_id: other,
                text: "not yours".into(),
                sent_at_micros: 1,
            },
        )
        .await
        .expect("publish");
    f.ctx
        .bus
        .publish(
            dialtone_core::live::BUS_CHANNEL,
            &LiveEvent::Notice {
                user_id: f.agent,
                text: "yours".into(),
                sent_at_micros: 1,
            },
        )
        .await
        .expect("publish");
    let got = tokio::time::timeout(Duration::from_secs(5), mine.recv())
        .await
        .expect("in time")
        .expect("event");
    assert!(
        matches!(&*got, HubEvent::Live(LiveEvent::Notice { text, .. }) if text == "yours"),
        "{got:?}"
    );
    sqlx::query(
        "UPDATE agent_sessions SET last_seen_at = now() - interval '1 minute' WHERE id = $1",
    )
    .bind(session)
    .execute(&pool)
    .await
    .expect("stale");
    let page = Uuid::new_v4();
    hub.heard(f.agent, page);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let fresh: bool = sqlx::query_scalar(
        "SELECT last_seen_at > now() - interval '3 seconds' FROM agent_sessions WHERE id = $1",
    )
    .bind(session)
    .fetch_one(&pool)
    .await
    .expect("seen");
    assert!(
        fresh,
        "the hub wrote the page's answer as the agent's heartbeat"
    );
    hub.gone(f.agent, page);
    sqlx::query(
        "UPDATE agent_sessions SET last_seen_at = now() - interval '1 minute' WHERE id = $1",
    )
    .bind(session)
    .execute(&pool)
    .await
    .expect("stale");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let fresh: bool = sqlx::query_scalar(
        "SELECT last_seen_at > now() - interval '3 seconds' FROM agent_sessions WHERE id = $1",
    )
    .bind(session)
    .fetch_one(&pool)
    .await
    .expect("seen");
    assert!(!fresh, "a gone page keeps nobody live");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_inbound_groups_board(pool: PgPool) {
    let f = floor(&pool).await;
    let group: i64 = sqlx::query_scalar(
        "INSERT INTO inbound_groups (name, service_level_secs) VALUES ('Support', 20) RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .expect("group");
    let session = agents::open_session(&pool, f.agent, f.campaign, "n1", "PJSIP/1001")
        .await
        .expect("session");
    agents::join_groups(&pool, session, &[group])
        .await
        .expect("join");
    // Today: one caller waiting, one answered in 5 s, one who hung up waiting.
    sqlx::query(
        "INSERT INTO calls (id, direction, inbound_group_id, node, state, caller_id, queued_at, agent_connected_at, wait_secs, outcome, ended_at)
         VALUES (gen_random_uuid(), 'inbound', $1, 'n1', 'queued', '2015550100', now(), NULL, NULL, NULL, NULL),
                (gen_random_uuid(), 'inbound', $1, 'n1', 'ended', '2015550101', now(), now(), 5, 'answered', now()),
                (gen_random_uuid(), 'inbound', $1, 'n1', 'ended', '2015550102', now(), NULL, 40, 'caller_hangup', now())",
    )
    .bind(group)
    .execute(&pool)
    .await
    .expect("calls");
    let b = wallboard::group_board(&pool, group)
        .await
        .expect("board")
        .expect("exists");
    assert_eq!((b.waiting, b.answers_today, b.abandons_today), (1, 1, 1));
    assert!(
        (b.abandon_pct_30d - 100.0 / 3.0).abs() < 0.01,
        "{}",
        b.abandon_pct_30d
    );
    assert_eq!(b.agents.len(), 1);
    assert!(
        b.pacer.contains("1 of 3 answered within 20 s"),
        "{}",
        b.pacer
    );
    assert!(wallboard::group_board(&pool, group + 1)
        .await
        .expect("board")
        .is_none());

    let sam = users::create(&pool, "sam", "Sam", Role::Supervisor, "a long password")
        .await
        .expect("sup");
    let viewer = Viewer {
        user_id: sam,
        username: "sam".into(),
        display_name: "Sam".into(),
        role: Role::Supervisor,
        must_change_password: false,
    };
    let scope = dialtone_admin::model::wallboard::BoardScope::Group(group);
    assert!(!wallboard::may_watch(&pool, &viewer, scope)
        .await
        .expect("access"));
    sqlx::query("INSERT INTO user_inbound_groups (user_id, group_id) VALUES ($1, $2)")
        .bind(sam)
        .bind(group)
        .execute(&pool)
        .await
        .expect("grant");
    assert!(wallboard::may_watch(&pool, &viewer, scope)
        .await
        .expect("access"));
    let agent_viewer = Viewer {
        user_id: f.agent,
        username: "amy".into(),
        display_name: "Amy".into(),
        role: Role::Agent,
        must_change_password: false,
    };
    assert!(!wallboard::may_watch(
        &pool,
        &agent_viewer,
        dialtone_admin::model::wallboard::BoardScope::Campaign(f.campaign)
    )
    .await
    .expect("access"));
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn preview_dialing(pool: PgPool) {
    let f = floor(&pool).await;
    let zone = dialtone_sim::daytime_zone().expect("a zone in daytime");
    sqlx::query("UPDATE campaigns SET dial_method = 'preview', manual_dial = false, call_time_id = NULL WHERE id = $1").bind(f.campaign).execute(&pool).await.expect("preview");
    sqlx::query("UPDATE lists SET time_zones = ARRAY[$1]")
        .bind(zone)
        .execute(&pool)
        .await
        .expect("zones");
    sqlx::query("UPDATE leads SET time_zone = $2, next_attempt_at = now() - interval '1 minute' WHERE id = $1").bind(f.lead).bind(zone).execute(&pool).await.expect("due");
    let session = f
        .ctx
        .log_in(f.agent, f.campaign, &[])
        .await
        .expect("logged in");
    agents::phone_connected(&pool, session)
        .await
        .expect("phone");

    let due = |pool: PgPool, lead: i64| async move {
        sqlx::query_scalar::<_, Option<chrono::DateTime<Utc>>>(
            "SELECT next_attempt_at FROM leads WHERE id = $1",
        )
        .bind(lead)
        .fetch_one(&pool)
        .await
        .expect("lead")
    };
    f.ctx
        .preview_next(f.agent)
        .await
        .expect("a lead to preview");
    let desk = dialtone_admin::server::agent::screen(&pool, f.agent)
        .await
        .expect("desk");
    let s = desk.session.expect("session");
    assert!(s.preview_mode);
    assert_eq!(s.preview.as_ref().map(|l| l.id), Some(f.lead));
    assert_eq!(
        due(pool.clone(), f.lead).await,
        None,
        "the previewed lead is held for this agent"
    );

    f.ctx.preview_skip(f.agent).await.expect("skip");
    let back = due(pool.clone(), f.lead).await.expect("due again");
    assert!(
        back > Utc::now() + chrono::Duration::minutes(55),
        "a skipped lead rests an hour"
    );
    let nothing = f.ctx.preview_next(f.agent).await;
    assert!(
        matches!(&nothing, Err(AgentError::Invalid(m)) if m.contains("no lead is due")),
        "{nothing:?}"
    );

    sqlx::query("UPDATE leads SET next_attempt_at = now() - interval '1 minute' WHERE id = $1")
        .bind(f.lead)
        .execute(&pool)
        .await
        .expect("due");
    f.ctx.preview_next(f.agent).await.expect("again");
    // Manual dialing is off, but the previewed lead may be dialed; another lead may not.
    assert!(matches!(
        f.ctx
            .dial(f.agent, dialtone_core::manual::Target::Lead(f.lead + 1))
            .await,
        Err(AgentError::NoManualDial)
    ));
    f.ctx
        .dial(f.agent, dialtone_core::manual::Target::Lead(f.lead))
        .await
        .expect("dial the previewed lead");
    assert_eq!(
        f.last_asked(),
        Some(Command::ManualDial {
            session_id: session,
            target: dialtone_core::manual::Target::Lead(f.lead)
        })
    );
    let held: Option<i64> =
        sqlx::query_scalar("SELECT preview_lead_id FROM agent_sessions WHERE id = $1")
            .bind(session)
            .fetch_one(&pool)
            .await
            .expect("held");
    assert_eq!(held, None);

    // Logging out hands a previewed lead back at once.
    sqlx::query("UPDATE leads SET next_attempt_at = NULL WHERE id = $1")
        .bind(f.lead)
        .execute(&pool)
        .await
        .expect("held");
    sqlx::query("UPDATE agent_sessions SET preview_lead_id = $2 WHERE id = $1")
        .bind(session)
        .bind(f.lead)
        .execute(&pool)
        .await
        .expect("preview");
    f.ctx.log_out(f.agent).await.expect("logout");
    assert!(
        due(pool.clone(), f.lead)
            .await
            .is_some_and(|t| t <= Utc::now()),
        "the lead is due again"
    );
}
