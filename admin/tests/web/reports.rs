//! The reports against a seeded database: exact numbers in each report, the CSV files
//! (attachment, neutralised cells), who may see which campaign or group, and bad filters.

use dialtone_admin::pages::reports::{Data, Report};
use dialtone_core::vocabulary::Role;

use crate::helpers::*;

impl Site {
    /// A report through its server function, as the page's browser half asks for it.
    async fn report(
        &self,
        token: &str,
        report: &str,
        query: &str,
    ) -> (StatusCode, Result<Report, String>) {
        let mut fields: Vec<(String, String)> = ["from", "to", "campaign", "group", "secs"]
            .iter()
            .map(|k| (k.to_string(), String::new()))
            .collect();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            if let Some(field) = fields.iter_mut().find(|(key, _)| *key == k) {
                field.1 = v.into_owned();
            }
        }
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("report", report)
            .extend_pairs(fields)
            .append_pair("page", "1")
            .finish();
        let r = Request::post("/api/run_report")
            .header(header::HOST, HOST)
            .header(header::ORIGIN, ORIGIN)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .header(header::COOKIE, format!("{}={token}", session::COOKIE));
        let reply = self.send(r.body(Body::from(form)).expect("request")).await;
        let parsed = if reply.status == StatusCode::OK {
            serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("{e}: {}", reply.body))
        } else {
            Err(reply.body)
        };
        (reply.status, parsed)
    }
}

/// The seeded world: ids the assertions need.
struct World {
    mine: i64,
    other: i64,
    g1: i64,
    g2: i64,
    admin: String,
    supervisor: String,
    agent: String,
    recording: i64,
}

async fn exec(pool: &PgPool, sql: &str) {
    sqlx::raw_sql(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
}

async fn attempt(pool: &PgPool, campaign: i64, at: &str, outcome: &str) {
    sqlx::query(
        "INSERT INTO call_attempts (call_id, campaign_id, phone_e164, node, state, outcome, reserved_at)
         VALUES (gen_random_uuid(), $1, '+12015550100', 'n1', 'resolved', $2, $3::timestamptz)",
    )
    .bind(campaign)
    .bind(outcome)
    .bind(at)
    .execute(pool)
    .await
    .expect("attempt");
}

async fn ledger(pool: &PgPool, campaign: i64, at: &str, kind: &str, n: usize) {
    for _ in 0..n {
        sqlx::query("INSERT INTO abandon_ledger (campaign_id, call_id, kind, occurred_at) VALUES ($1, gen_random_uuid(), $2, $3::timestamptz)")
            .bind(campaign)
            .bind(kind)
            .bind(at)
            .execute(pool)
            .await
            .expect("ledger");
    }
}

#[allow(clippy::too_many_arguments)]
async fn state(
    pool: &PgPool,
    session: i64,
    user: i64,
    campaign: i64,
    state: &str,
    code: Option<&str>,
    start: &str,
    end: Option<&str>,
) {
    sqlx::query(
        "INSERT INTO agent_state_history (session_id, user_id, campaign_id, state, pause_code, started_at, ended_at)
         VALUES ($1, $2, $3, $4, $5, $6::timestamptz, $7::timestamptz)",
    )
    .bind(session)
    .bind(user)
    .bind(campaign)
    .bind(state)
    .bind(code)
    .bind(start)
    .bind(end)
    .execute(pool)
    .await
    .expect("state");
}

/// An ended call; `group` makes it inbound. Returns its id as text.
#[allow(clippy::too_many_arguments)]
async fn call(
    pool: &PgPool,
    campaign: Option<i64>,
    group: Option<i64>,
    agent: Option<i64>,
    at: &str,
    outcome: &str,
    disposition: Option<&str>,
    wait: Option<f64>,
    caller: &str,
) -> String {
    sqlx::query_scalar(
        "INSERT INTO calls (id, direction, campaign_id, inbound_group_id, agent_user_id, node, phone_e164, caller_id, state, outcome, disposition,
                            created_at, answered_at, agent_connected_at, ended_at, wait_secs, talk_secs)
         VALUES (gen_random_uuid(), CASE WHEN $2::bigint IS NULL THEN 'outbound' ELSE 'inbound' END, $1, $2, $3, 'n1',
                 CASE WHEN $2::bigint IS NULL THEN '+12015550100' END, $8, 'ended', $5, $6,
                 $4::timestamptz, $4::timestamptz, CASE WHEN $3::bigint IS NOT NULL THEN $4::timestamptz END,
                 $4::timestamptz + interval '5 minutes', $7, CASE WHEN $3::bigint IS NOT NULL THEN 240 END)
         RETURNING id::text",
    )
    .bind(campaign)
    .bind(group)
    .bind(agent)
    .bind(at)
    .bind(outcome)
    .bind(disposition)
    .bind(wait)
    .bind(caller)
    .fetch_one(pool)
    .await
    .expect("call")
}

async fn seed(site: &Site) -> World {
    let pool = &site.pool;
    let (_, admin) = site.user("ana", Role::Admin).await;
    let (sup_id, supervisor) = site.user("sam", Role::Supervisor).await;
    let (alex, agent) = site.user("alex", Role::Agent).await;
    let (bea, _) = site.user("bea", Role::Agent).await;
    let new_campaign = |name: &'static str| async move {
        dialtone_core::campaigns::create(
            pool,
            name,
            dialtone_core::vocabulary::DialMethod::Progressive,
            "default",
        )
        .await
        .expect("campaign")
    };
    let mine = new_campaign("Mine").await;
    let other = new_campaign("=Other").await;
    dialtone_core::campaigns::grant(pool, sup_id, mine)
        .await
        .expect("grant");
    exec(
        pool,
        &format!("UPDATE campaigns SET abandon_cap_pct = 2.5 WHERE id = {mine}"),
    )
    .await;
    let g1: i64 =
        sqlx::query_scalar("INSERT INTO inbound_groups (name) VALUES ('Support') RETURNING id")
            .fetch_one(pool)
            .await
            .expect("group");
    let g2: i64 =
        sqlx::query_scalar("INSERT INTO inbound_groups (name) VALUES ('Billing') RETURNING id")
            .fetch_one(pool)
            .await
            .expect("group");
    exec(
        pool,
        &format!("INSERT INTO user_inbound_groups (user_id, group_id) VALUES ({sup_id}, {g1})"),
    )
    .await;

    // Dials: 8 on the 1st, 3 on the 2nd; one just before the range; the other campaign's.
    for outcome in [
        "answered_human",
        "answered_human",
        "answered_machine",
        "no_answer",
        "busy",
        "congestion",
        "abandoned",
        "invalid_number",
    ] {
        attempt(pool, mine, "2026-03-01 10:00:00+00", outcome).await;
    }
    for outcome in ["answered_human", "no_answer", "no_answer"] {
        attempt(pool, mine, "2026-03-02 23:59:59+00", outcome).await;
    }
    attempt(pool, mine, "2026-02-28 23:59:59+00", "busy").await;
    attempt(pool, other, "2026-03-01 12:00:00+00", "busy").await;

    // Ledger: on the 1st, 30 days back to Jan 31: 12 live, 2 abandons; on the 2nd (Feb 1 on): 13 live, 1 abandon.
    ledger(pool, mine, "2026-01-31 12:00:00+00", "abandon", 1).await;
    ledger(pool, mine, "2026-02-05 12:00:00+00", "live_answer", 10).await;
    ledger(pool, mine, "2026-03-01 12:00:00+00", "live_answer", 2).await;
    ledger(pool, mine, "2026-03-01 12:00:00+00", "abandon", 1).await;
    ledger(pool, mine, "2026-03-01 12:00:00+00", "machine", 3).await;
    ledger(pool, mine, "2026-03-02 12:00:00+00", "live_answer", 1).await;
    ledger(pool, other, "2026-03-01 12:00:00+00", "abandon", 5).await;

    // Agent time: alex in Mine (one state clipped at the start, one open and clipped at the end),
    // bea in the other campaign.
    let session = |user: i64, campaign: i64| async move {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO agent_sessions (user_id, campaign_id, node, phone_dial_string, conference, state, logged_out_at)
             VALUES ($1, $2, 'n1', 'PJSIP/1001', '9001', 'logged_out', now()) RETURNING id",
        )
        .bind(user)
        .bind(campaign)
        .fetch_one(pool)
        .await
        .expect("session")
    };
    let s1 = session(alex, mine).await;
    let s2 = session(bea, other).await;
    let h = |s: &str| format!("2026-03-01 {s}:00+00");
    state(
        pool,
        s1,
        alex,
        mine,
        "ready",
        None,
        "2026-02-28 23:00:00+00",
        Some(h("00:30").as_str()),
    )
    .await;
    state(
        pool,
        s1,
        alex,
        mine,
        "ready",
        None,
        &h("08:00"),
        Some(h("09:00").as_str()),
    )
    .await;
    state(
        pool,
        s1,
        alex,
        mine,
        "on_call",
        None,
        &h("09:00"),
        Some(h("09:10").as_str()),
    )
    .await;
    state(
        pool,
        s1,
        alex,
        mine,
        "wrapup",
        None,
        &h("09:10"),
        Some(h("09:12").as_str()),
    )
    .await;
    state(
        pool,
        s1,
        alex,
        mine,
        "paused",
        Some("BREAK"),
        &h("09:12"),
        Some(h("09:42").as_str()),
    )
    .await;
    state(
        pool,
        s1,
        alex,
        mine,
        "paused",
        Some("LUNCH"),
        &h("09:42"),
        Some(h("10:00").as_str()),
    )
    .await;
    state(
        pool,
        s1,
        alex,
        mine,
        "on_call",
        None,
        "2026-03-02 23:00:00+00",
        None,
    )
    .await;
    state(
        pool,
        s1,
        alex,
        mine,
        "ready",
        None,
        "2026-02-20 08:00:00+00",
        Some("2026-02-20 09:00:00+00"),
    )
    .await;
    state(
        pool,
        s2,
        bea,
        other,
        "ready",
        None,
        &h("10:00"),
        Some(h("11:00").as_str()),
    )
    .await;

    // Calls: three of alex's in Mine with dispositions (one recorded), one unanswered.
    let c1 = call(
        pool,
        Some(mine),
        None,
        Some(alex),
        &h("09:00"),
        "answered",
        Some("SALE"),
        None,
        "",
    )
    .await;
    call(
        pool,
        Some(mine),
        None,
        Some(alex),
        &h("09:30"),
        "answered",
        Some("NI"),
        None,
        "",
    )
    .await;
    call(
        pool,
        Some(mine),
        None,
        Some(alex),
        "2026-03-02 12:00:00+00",
        "answered",
        Some("SALE"),
        None,
        "",
    )
    .await;
    call(
        pool,
        Some(mine),
        None,
        None,
        &h("10:00"),
        "no_answer",
        None,
        None,
        "",
    )
    .await;
    call(
        pool,
        Some(other),
        None,
        Some(bea),
        &h("10:30"),
        "answered",
        Some("DNC"),
        None,
        "",
    )
    .await;
    let recording: i64 = sqlx::query_scalar(&format!(
        "INSERT INTO recordings (call_id, campaign_id, agent_user_id, file_path) VALUES ('{c1}', {mine}, {alex}, '2026-03-01/c1.wav') RETURNING id"
    ))
    .fetch_one(pool)
    .await
    .expect("recording");

    // Inbound: Support gets 5 calls (answered after 5, 20 and 45 s; two abandoned); Billing 1.
    call(
        pool,
        None,
        Some(g1),
        Some(alex),
        &h("11:00"),
        "answered",
        Some("SALE"),
        Some(5.0),
        "+13125550101",
    )
    .await;
    call(
        pool,
        None,
        Some(g1),
        Some(alex),
        &h("11:05"),
        "answered",
        None,
        Some(20.0),
        "+13125550102",
    )
    .await;
    call(
        pool,
        None,
        Some(g1),
        Some(alex),
        &h("11:10"),
        "answered",
        None,
        Some(45.0),
        "+13125550103",
    )
    .await;
    call(
        pool,
        None,
        Some(g1),
        None,
        &h("11:15"),
        "caller_hangup",
        None,
        Some(30.0),
        "=cmd",
    )
    .await;
    call(
        pool,
        None,
        Some(g1),
        None,
        &h("11:20"),
        "queue_timeout",
        None,
        Some(300.0),
        "+13125550105",
    )
    .await;
    call(
        pool,
        None,
        Some(g2),
        Some(bea),
        &h("11:25"),
        "answered",
        None,
        Some(3.0),
        "+13125550106",
    )
    .await;

    World {
        mine,
        other,
        g1,
        g2,
        admin,
        supervisor,
        agent,
        recording,
    }
}

const RANGE: &str = "from=2026-03-01&to=2026-03-02";

/// A site on the seeded world.
async fn seeded(pool: PgPool) -> (Site, World) {
    let site = Site::new(pool).await;
    let w = seed(&site).await;
    (site, w)
}

impl Site {
    /// A report's data as the admin sees it, for the tests that check its numbers.
    async fn admin_data(&self, w: &World, report: &str, query: &str) -> Data {
        let (_, r) = self.report(&w.admin, report, query).await;
        r.unwrap_or_else(|e| panic!("{report}: {e}")).data
    }
}

/// Each day's dials by outcome are what a manager reads the campaign's day from.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_campaign_summary_counts_each_days_dials_by_outcome(pool: PgPool) {
    let (site, w) = seeded(pool).await;
    let query = format!("{RANGE}&campaign={}", w.mine);
    let Data::Summary(s) = site.admin_data(&w, "summary", &query).await else {
        panic!("not a summary")
    };
    assert_eq!(s.days.len(), 2);
    let (d1, d2) = (&s.days[0], &s.days[1]);
    assert_eq!(d1.day, "2026-03-01");
    assert_eq!(
        (
            d1.dials,
            d1.human,
            d1.machine,
            d1.no_answer,
            d1.busy,
            d1.congestion,
            d1.abandoned,
            d1.other
        ),
        (8, 2, 1, 1, 1, 1, 1, 1)
    );
    assert_eq!((d2.dials, d2.human, d2.no_answer, d2.other), (3, 1, 2, 0));
}

/// The FTC's abandon rate is measured over 30 days, so a day's rate counts the ledger back a
/// month, and it is shown next to the campaign's cap.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_campaign_summary_rolls_the_abandon_rate_over_30_days_against_the_cap(pool: PgPool) {
    let (site, w) = seeded(pool).await;
    let query = format!("{RANGE}&campaign={}", w.mine);
    let Data::Summary(s) = site.admin_data(&w, "summary", &query).await else {
        panic!("not a summary")
    };
    assert_eq!(s.cap_pct, 2.5);
    let (d1, d2) = (&s.days[0], &s.days[1]);
    assert_eq!((d1.live_30d, d1.abandons_30d), (12, 2));
    assert_eq!((d2.live_30d, d2.abandons_30d), (13, 1));
    assert!((d1.rate_30d() - 100.0 * 2.0 / 14.0).abs() < 1e-9);
    assert!((d2.rate_30d() - 100.0 / 14.0).abs() < 1e-9);
}

/// Time outside the range belongs to other reports: states are clipped to it, and the one
/// still open ends at the range's end.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_agents_report_clips_each_agents_time_to_the_range(pool: PgPool) {
    let (site, w) = seeded(pool).await;
    let query = format!("{RANGE}&campaign={}", w.mine);
    let Data::Agents(agents) = site.admin_data(&w, "agents", &query).await else {
        panic!("not agents")
    };
    assert_eq!(agents.len(), 1, "{agents:?}");
    let a = &agents[0];
    assert_eq!(a.agent, "alex");
    assert_eq!(
        (a.wait, a.talk, a.wrapup, a.pause),
        (5400.0, 4200.0, 120.0, 2880.0)
    );
    assert_eq!(a.logged_in, 12600.0);
}

/// Pause time is only useful to a supervisor split by the reason the agent gave.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_agents_report_splits_pause_time_by_pause_code(pool: PgPool) {
    let (site, w) = seeded(pool).await;
    let query = format!("{RANGE}&campaign={}", w.mine);
    let Data::Agents(agents) = site.admin_data(&w, "agents", &query).await else {
        panic!("not agents")
    };
    assert_eq!(
        agents[0].pauses,
        vec![("BREAK".to_string(), 1800.0), ("LUNCH".to_string(), 1080.0)]
    );
}

/// An agent's results are their calls and what came of them.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_agents_report_counts_each_agents_calls_and_dispositions(pool: PgPool) {
    let (site, w) = seeded(pool).await;
    let query = format!("{RANGE}&campaign={}", w.mine);
    let Data::Agents(agents) = site.admin_data(&w, "agents", &query).await else {
        panic!("not agents")
    };
    let a = &agents[0];
    assert_eq!(a.calls, 3);
    assert_eq!(
        a.dispositions,
        vec![("SALE".to_string(), 2), ("NI".to_string(), 1)]
    );
}

/// Agents work several campaigns and groups; with none chosen, the report must miss none of
/// their calls, inbound ones included.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_agents_report_without_a_campaign_covers_every_campaign_and_group(pool: PgPool) {
    let (site, w) = seeded(pool).await;
    let Data::Agents(agents) = site.admin_data(&w, "agents", RANGE).await else {
        panic!("not agents")
    };
    let names: Vec<_> = agents.iter().map(|a| (a.agent.as_str(), a.calls)).collect();
    assert_eq!(names, vec![("alex", 6), ("bea", 2)]);
}

/// Codes mean little to a reader without their names, and counts little without the share.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_dispositions_report_gives_each_codes_name_count_and_share(pool: PgPool) {
    let (site, w) = seeded(pool).await;
    let query = format!("{RANGE}&campaign={}", w.mine);
    let Data::Dispositions(rows) = site.admin_data(&w, "dispositions", &query).await else {
        panic!("not dispositions")
    };
    let got: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.code.as_str(),
                r.name.as_str(),
                r.calls,
                (r.share_pct * 100.0).round() / 100.0,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("SALE", "Sale", 2, 66.67),
            ("NI", "Not interested", 1, 33.33)
        ]
    );
}

/// Service level is the share of calls answered within a threshold, 20 s unless asked:
/// Support's 5 calls were answered after 5, 20 and 45 s, and two abandoned.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_service_level_report_counts_each_groups_calls_answered_within_20_seconds(
    pool: PgPool,
) {
    let (site, w) = seeded(pool).await;
    let Data::ServiceLevel { secs, rows } = site.admin_data(&w, "service-level", RANGE).await
    else {
        panic!("not service level")
    };
    assert_eq!(secs, 20);
    let support = rows.iter().find(|r| r.group_id == w.g1).expect("support");
    assert_eq!(
        (
            support.offered,
            support.answered,
            support.within,
            support.abandons
        ),
        (5, 3, 2, 2)
    );
    let billing = rows.iter().find(|r| r.group_id == w.g2).expect("billing");
    assert_eq!((billing.offered, billing.within), (1, 1));
}

/// Rates are shares of every call offered, abandons included, so callers who hang up cannot
/// flatter them; the average wait is the answer speed, over answered calls only.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_service_level_report_gives_the_rates_and_the_average_wait(pool: PgPool) {
    let (site, w) = seeded(pool).await;
    let Data::ServiceLevel { rows, .. } = site.admin_data(&w, "service-level", RANGE).await else {
        panic!("not service level")
    };
    let support = rows.iter().find(|r| r.group_id == w.g1).expect("support");
    assert_eq!(support.service_level_pct(), 40.0);
    assert_eq!(support.abandon_pct(), 40.0);
    assert!((support.avg_wait.expect("wait") - 70.0 / 3.0).abs() < 1e-9);
}

/// Each group has its own target, so the report takes one group and its own threshold.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_service_level_report_takes_one_group_and_its_own_threshold(pool: PgPool) {
    let (site, w) = seeded(pool).await;
    let query = format!("{RANGE}&group={}&secs=45", w.g1);
    let Data::ServiceLevel { rows, .. } = site.admin_data(&w, "service-level", &query).await else {
        panic!("not service level")
    };
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].within, 3);
}

/// The call detail is where a supervisor finds one call and listens to it.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_call_detail_lists_calls_newest_first_with_their_recordings(pool: PgPool) {
    let (site, w) = seeded(pool).await;
    let query = format!("{RANGE}&campaign={}", w.mine);
    let Data::Calls(page) = site.admin_data(&w, "calls", &query).await else {
        panic!("not calls")
    };
    let order: Vec<_> = page
        .rows
        .iter()
        .map(|c| (c.started.as_str(), c.disposition.as_deref()))
        .collect();
    assert_eq!(
        order,
        vec![
            ("2026-03-02 12:00:00", Some("SALE")),
            ("2026-03-01 10:00:00", None),
            ("2026-03-01 09:30:00", Some("NI")),
            ("2026-03-01 09:00:00", Some("SALE")),
        ]
    );
    assert_eq!(page.rows[3].recording_id, Some(w.recording));
    assert_eq!(page.rows[3].agent.as_deref(), Some("alex"));
    assert_eq!(page.total, 4);
}

/// The pages are drawn on the server, so the chart and the CSV link are there before any
/// script runs.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_summary_page_renders_its_chart_and_csv_link_on_the_server(pool: PgPool) {
    let (site, w) = seeded(pool).await;
    let html = site
        .get(
            &format!("/reports/summary?{RANGE}&campaign={}", w.mine),
            Some(&w.admin),
        )
        .await;
    assert_eq!(html.status, StatusCode::OK);
    assert!(
        html.body.contains("<svg")
            && html.body.contains("14.29%")
            && html.body.contains("<polyline"),
        "{}",
        html.body
    );
    assert!(
        html.body.contains("/reports/summary.csv?from=2026-03-01"),
        "{}",
        html.body
    );
}

/// Every report's page, not only the summary's, must show its numbers without a script.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn each_report_page_renders_its_table_on_the_server(pool: PgPool) {
    let (site, w) = seeded(pool).await;
    for (page, text) in [
        ("agents", "3:30:00"),
        ("dispositions", "Not interested"),
        ("service-level", "40.0%"),
        ("calls", &format!("/recordings/{}/file", w.recording)),
    ] {
        let html = site
            .get(&format!("/reports/{page}?{RANGE}"), Some(&w.admin))
            .await;
        assert_eq!(html.status, StatusCode::OK, "{page}");
        assert!(
            html.body.contains(text),
            "{page}: {text} not in {}",
            html.body
        );
    }
}

/// The index is where a report is chosen and its dates set.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_reports_index_offers_the_reports_and_a_date_filter(pool: PgPool) {
    let (site, w) = seeded(pool).await;
    let html = site.get("/reports", Some(&w.admin)).await;
    assert_eq!(html.status, StatusCode::OK);
    assert!(
        html.body.contains("Campaign summary") && html.body.contains("type=\"date\""),
        "{}",
        html.body
    );
}

/// A mistyped report address must say so, not fall back to some other report.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_unknown_report_is_not_found(pool: PgPool) {
    let (site, w) = seeded(pool).await;
    assert_eq!(
        site.get("/reports/nonsense", Some(&w.admin)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn csv_files_are_attachments_with_safe_cells(pool: PgPool) {
    let site = Site::new(pool).await;
    let w = seed(&site).await;

    let r = site
        .get(
            &format!("/reports/summary.csv?{RANGE}&campaign={}", w.mine),
            Some(&w.admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert_eq!(
        r.headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"summary-2026-03-01-to-2026-03-02.csv\""
    );
    let lines: Vec<&str> = r.body.lines().collect();
    assert_eq!(lines[0], "day,dials,human_answers,machines,no_answer,busy,congestion,abandons,other,live_answers_30d,abandons_30d,abandon_rate_30d_pct,abandon_cap_pct");
    assert_eq!(lines[1], "2026-03-01,8,2,1,1,1,1,1,1,12,2,14.29,2.50");
    assert_eq!(lines.len(), 3);

    let r = site
        .get(
            &format!("/reports/agents.csv?{RANGE}&campaign={}", w.mine),
            Some(&w.admin),
        )
        .await;
    let lines: Vec<&str> = r.body.lines().collect();
    assert_eq!(lines[0], "agent,logged_in_secs,talk_secs,wait_secs,pause_secs,wrapup_secs,calls,pause_BREAK_secs,pause_LUNCH_secs,disposition_NI,disposition_SALE");
    assert_eq!(lines[1], "alex,12600,4200,5400,2880,120,3,1800,1080,1,2");

    let r = site
        .get(
            &format!("/reports/dispositions.csv?{RANGE}&campaign={}", w.mine),
            Some(&w.admin),
        )
        .await;
    assert_eq!(
        r.body,
        "code,name,calls,share_pct\nSALE,Sale,2,66.67\nNI,Not interested,1,33.33\n"
    );

    let r = site
        .get(
            &format!("/reports/service-level.csv?{RANGE}&group={}", w.g1),
            Some(&w.admin),
        )
        .await;
    assert_eq!(
        r.body,
        "inbound_group,offered,answered,answered_within_20s,service_level_pct,avg_wait_secs,abandons,abandon_pct\nSupport,5,3,2,40.00,23.3,2,40.00\n"
    );

    // The call detail streams every call; a caller ID that is a formula is written as text.
    let r = site
        .get(
            &format!("/reports/calls.csv?{RANGE}&group={}", w.g1),
            Some(&w.admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"calls-2026-03-01-to-2026-03-02.csv\""
    );
    let lines: Vec<&str> = r.body.lines().collect();
    assert!(
        lines[0].starts_with(
            "call_id,started_utc,direction,campaign,inbound_group,number,agent,outcome"
        ),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), 6, "{}", r.body);
    assert!(r.body.contains(",'=cmd,"), "{}", r.body);
    assert!(!r.body.contains(",=cmd"), "{}", r.body);
    let r = site
        .get(
            &format!("/reports/calls.csv?{RANGE}&campaign={}", w.mine),
            Some(&w.admin),
        )
        .await;
    assert!(
        r.body
            .contains(&format!("/recordings/{}/file", w.recording)),
        "{}",
        r.body
    );
    // A campaign named like a formula is neutralised too.
    let r = site
        .get(
            &format!("/reports/calls.csv?{RANGE}&campaign={}", w.other),
            Some(&w.admin),
        )
        .await;
    assert!(r.body.contains(",'=Other,"), "{}", r.body);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn roles_and_bad_filters_are_refused(pool: PgPool) {
    let site = Site::new(pool).await;
    let w = seed(&site).await;

    // A supervisor sees their campaign and group, not the others.
    let (status, r) = site
        .report(
            &w.supervisor,
            "summary",
            &format!("{RANGE}&campaign={}", w.other),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(r
        .expect_err("refused")
        .contains("may not see that campaign"));
    let page = site
        .get(
            &format!("/reports/summary?{RANGE}&campaign={}", w.other),
            Some(&w.supervisor),
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(
        page.body.contains("you may not see that campaign"),
        "{}",
        page.body
    );
    let csv = site
        .get(
            &format!("/reports/calls.csv?{RANGE}&campaign={}", w.other),
            Some(&w.supervisor),
        )
        .await;
    assert_eq!(csv.status, StatusCode::FORBIDDEN);
    assert!(!csv.body.contains("=Other"));
    let csv = site
        .get(
            &format!("/reports/service-level.csv?{RANGE}&group={}", w.g2),
            Some(&w.supervisor),
        )
        .await;
    assert_eq!(csv.status, StatusCode::FORBIDDEN);
    // With no campaign chosen, a supervisor's report holds only what they may see.
    let (_, r) = site.report(&w.supervisor, "summary", RANGE).await;
    let Data::Summary(s) = r.expect("summary").data else {
        panic!("not a summary")
    };
    assert_eq!(s.days.iter().map(|d| d.dials).sum::<i64>(), 11);
    assert_eq!(s.days[0].abandons_30d, 2, "not the other campaign's 5");
    let (_, r) = site.report(&w.supervisor, "service-level", RANGE).await;
    let Data::ServiceLevel { rows, .. } = r.expect("service").data else {
        panic!("not service level")
    };
    assert_eq!(
        rows.iter()
            .map(|r| r.group_name.as_str())
            .collect::<Vec<_>>(),
        vec!["Support"]
    );
    let (_, r) = site.report(&w.supervisor, "calls", RANGE).await;
    let Data::Calls(page) = r.expect("calls").data else {
        panic!("not calls")
    };
    assert_eq!(page.rows.len(), 4 + 5, "Mine's and Support's calls only");

    // Agents are refused everywhere.
    for path in [
        "/reports",
        "/reports/agents",
        "/reports/summary.csv?from=2026-03-01",
    ] {
        assert_eq!(
            site.get(path, Some(&w.agent)).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let (status, _) = site.report(&w.agent, "summary", RANGE).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Bad filters get a message, never a 500.
    for (query, message) in [
        (
            "from=2026-03-05&to=2026-03-01",
            "ends (2026-03-01) before it starts (2026-03-05)",
        ),
        ("from=2025-01-01&to=2026-03-01", "at most 366 days"),
        ("from=March&to=2026-03-01", "is not a date; use YYYY-MM-DD"),
        ("from=99999-01-01&to=2026-03-01", "is not a date"),
        ("campaign=abc", "not a campaign or group number"),
        ("secs=0", "1 to 3600 seconds"),
    ] {
        let (status, r) = site.report(&w.admin, "service-level", query).await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert!(r.expect_err("refused").contains(message), "{query}");
        let page = site
            .get(&format!("/reports/service-level?{query}"), Some(&w.admin))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{query}");
        assert!(page.body.contains(message), "{query}: {}", page.body);
        let csv = site
            .get(
                &format!("/reports/service-level.csv?{query}"),
                Some(&w.admin),
            )
            .await;
        assert_eq!(csv.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(csv.body.contains(message), "{query}: {}", csv.body);
    }
}
