//! DNC lists, the next-leads query, export, accounts and the schema's own rules, against a real
//! PostgreSQL, one fresh database per test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's helpers fail the test as its #[test]s do

use chrono::{Duration, Utc};
use dialtone_core::dnc::{self, Scope, Source};
use dialtone_core::export::{export_leads, Selection};
use dialtone_core::leads::{next_due, DueQuery};
use dialtone_core::users::{self, UserError};
use dialtone_core::vocabulary::AgentState;
use dialtone_core::vocabulary::Role;
use dialtone_core::{campaigns, lists, phone};
use sqlx::PgPool;

fn e164(raw: &str) -> phone::E164 {
    phone::normalize(raw, phone::country("US").expect("US")).expect(raw)
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn migrations_run_twice_do_nothing_the_second_time(pool: PgPool) {
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .expect("count");
    dialtone_core::db::migrate(&pool).await.expect("second run");
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(before, after);
    let statuses: i64 = sqlx::query_scalar("SELECT count(*) FROM statuses")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert!(
        statuses > 20,
        "seed rows are not inserted twice either: {statuses}"
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn campaigns_cannot_be_set_outside_the_law(pool: PgPool) {
    let id = campaigns::create(
        &pool,
        "c",
        dialtone_core::vocabulary::DialMethod::Predictive,
        "9am-9pm",
    )
    .await
    .expect("campaign");
    for (setting, value) in [
        ("abandon_cap_pct", "3.5"),
        ("ring_timeout_secs", "10"),
        ("drop_timeout_secs", "2.5"),
        ("dial_ratio", "0.5"),
    ] {
        let err = sqlx::query(&format!(
            "UPDATE campaigns SET {setting} = {value} WHERE id = $1"
        ))
        .bind(id)
        .execute(&pool)
        .await
        .expect_err(setting);
        assert!(
            err.to_string().contains("check constraint"),
            "{setting}: {err}"
        );
    }
    let offered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM campaign_dispositions WHERE campaign_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .expect("count");
    assert!(offered >= 5, "{offered}");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn dnc_numbers_area_codes_and_scopes(pool: PgPool) {
    let a = campaigns::create(
        &pool,
        "a",
        dialtone_core::vocabulary::DialMethod::Progressive,
        "9am-9pm",
    )
    .await
    .expect("a");
    let b = campaigns::create(
        &pool,
        "b",
        dialtone_core::vocabulary::DialMethod::Progressive,
        "9am-9pm",
    )
    .await
    .expect("b");
    assert!(dnc::add_number(
        &pool,
        Scope::Campaign(a),
        &e164("201-555-0100"),
        Source::Manual,
        ""
    )
    .await
    .expect("add"));
    assert!(!dnc::add_number(
        &pool,
        Scope::Campaign(a),
        &e164("(201) 555-0100"),
        Source::Manual,
        ""
    )
    .await
    .expect("again"));
    assert!(dnc::add_area_code(&pool, Scope::System, "1212", "")
        .await
        .expect("area"));
    assert!(matches!(
        dnc::add_area_code(&pool, Scope::System, "12a", "").await,
        Err(dnc::DncError::BadAreaCode(_))
    ));

    let hit = dnc::check(&pool, Some(a), "+12015550100")
        .await
        .expect("check")
        .expect("blocked for a");
    assert_eq!((hit.campaign_id, hit.kind.as_str()), (Some(a), "number"));
    assert_eq!(
        dnc::check(&pool, Some(b), "+12015550100")
            .await
            .expect("check"),
        None,
        "another campaign's list does not apply"
    );
    let hit = dnc::check(&pool, Some(b), "+12125550199")
        .await
        .expect("check")
        .expect("area code");
    assert_eq!((hit.campaign_id, hit.value.as_str()), (None, "+1212"));
    assert_eq!(
        dnc::check(&pool, None, "+12135550199")
            .await
            .expect("check"),
        None
    );

    assert!(dnc::remove(&pool, Scope::System, "+1212")
        .await
        .expect("remove"));
    assert!(!dnc::remove(&pool, Scope::System, "+1212")
        .await
        .expect("remove again"));
    assert_eq!(
        dnc::check(&pool, None, "+12125550199")
            .await
            .expect("check"),
        None
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn registry_files_load_in_bulk_and_again_without_duplicates(pool: PgPool) {
    let mut file = String::new();
    for i in 0..2500 {
        file.push_str(&format!("20155{i:05}\n"));
    }
    file.push_str("12125550100\n(415) 555-0100\n\n0123456789\n12345\n");
    let report = dnc::load_registry(&pool, Scope::System, file.as_bytes(), Source::Registry)
        .await
        .expect("loads");
    assert_eq!(
        (report.added, report.already_listed, report.rejected_count),
        (2502, 0, 2)
    );
    assert_eq!(
        report.rejected.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![2504, 2505]
    );
    let again = dnc::load_registry(&pool, Scope::System, file.as_bytes(), Source::Registry)
        .await
        .expect("again");
    assert_eq!((again.added, again.already_listed), (0, 2502));
    assert!(dnc::check(&pool, None, "+14155550100")
        .await
        .expect("check")
        .is_some());
}

#[allow(clippy::too_many_arguments)] // one column each, as the INSERT reads
async fn lead(
    pool: &PgPool,
    list: i64,
    phone: &str,
    status: &str,
    zone: &str,
    state: &str,
    attempts: i32,
    due: Option<chrono::DateTime<Utc>>,
    priority: i16,
) {
    sqlx::query(
        "INSERT INTO leads (list_id, status, phone_e164, country, time_zone, state, attempt_count, next_attempt_at, priority)
         VALUES ($1, $2, $3, 'US', $4, $5, $6, $7, $8)",
    )
    .bind(list)
    .bind(status)
    .bind(phone)
    .bind(zone)
    .bind(state)
    .bind(attempts)
    .bind(due)
    .bind(priority)
    .execute(pool)
    .await
    .expect("lead");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn next_due_honours_every_filter_and_orders_by_due_time(pool: PgPool) {
    let list = lists::create(&pool, "l", None, "US").await.expect("list");
    let other = lists::create(&pool, "other", None, "US")
        .await
        .expect("list");
    let now = Utc::now();
    let ny = "America/New_York";
    lead(
        &pool,
        list,
        "+12015550001",
        "NEW",
        ny,
        "NJ",
        0,
        Some(now - Duration::minutes(5)),
        0,
    )
    .await;
    lead(
        &pool,
        list,
        "+12015550002",
        "NEW",
        ny,
        "NJ",
        0,
        Some(now - Duration::minutes(50)),
        0,
    )
    .await;
    lead(
        &pool,
        list,
        "+12015550003",
        "NA",
        ny,
        "NJ",
        1,
        Some(now - Duration::minutes(1)),
        5,
    )
    .await;
    lead(
        &pool,
        list,
        "+12015550004",
        "NEW",
        ny,
        "NJ",
        0,
        Some(now + Duration::minutes(5)),
        0,
    )
    .await; // not yet due
    lead(
        &pool,
        list,
        "+12015550005",
        "SALE",
        ny,
        "NJ",
        1,
        Some(now - Duration::minutes(5)),
        0,
    )
    .await; // status not dialed
    lead(
        &pool,
        list,
        "+12015550006",
        "NEW",
        "America/Los_Angeles",
        "CA",
        0,
        Some(now - Duration::minutes(5)),
        0,
    )
    .await; // zone closed
    lead(
        &pool,
        list,
        "+13055550007",
        "NEW",
        ny,
        "FL",
        0,
        Some(now - Duration::minutes(5)),
        0,
    )
    .await; // state closed
    lead(
        &pool,
        list,
        "+12015550008",
        "NA",
        ny,
        "NJ",
        5,
        Some(now - Duration::minutes(5)),
        0,
    )
    .await; // too many attempts
    lead(&pool, list, "+12015550009", "NEW", ny, "NJ", 0, None, 0).await; // not dialable
    lead(
        &pool,
        other,
        "+12015550010",
        "NEW",
        ny,
        "NJ",
        0,
        Some(now - Duration::minutes(5)),
        0,
    )
    .await; // other list

    let statuses = vec!["NEW".to_string(), "NA".to_string()];
    let zones = vec![ny.to_string()];
    let closed = vec!["FL".to_string()];
    let query = DueQuery {
        list_ids: &[list],
        statuses: &statuses,
        open_zones: &zones,
        closed_states: &closed,
        max_attempts: 5,
        now,
        limit: 10,
    };
    let due: Vec<String> = next_due(&pool, &query)
        .await
        .expect("query")
        .into_iter()
        .map(|l| l.phone_e164)
        .collect();
    assert_eq!(due, ["+12015550002", "+12015550001", "+12015550003"]);
    let one = DueQuery {
        limit: 1,
        ..query.clone()
    };
    assert_eq!(next_due(&pool, &one).await.expect("query").len(), 1);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn export_writes_custom_columns_and_defuses_formulas(pool: PgPool) {
    let list = lists::create(&pool, "l", None, "US").await.expect("list");
    sqlx::query(
        "INSERT INTO leads (list_id, phone_e164, country, time_zone, first_name, last_name, custom)
         VALUES ($1, '+12015550001', 'US', 'America/New_York', '=HYPERLINK(\"http://evil\")', 'Smith', '{\"tier\": \"gold\"}'),
                ($1, '+12015550002', 'US', 'America/New_York', 'Ana', '@SUM(1)', '{\"notes\": \"-2+3\"}')",
    )
    .bind(list)
    .execute(&pool)
    .await
    .expect("leads");
    let mut out = Vec::new();
    assert_eq!(
        export_leads(&pool, Selection::List(list), &mut out)
            .await
            .expect("exports"),
        2
    );
    let mut reader = csv::Reader::from_reader(out.as_slice());
    let headers = reader.headers().expect("header").clone();
    assert_eq!(
        headers.iter().rev().take(2).collect::<Vec<_>>(),
        ["tier", "notes"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    let col = |name: &str| headers.iter().position(|h| h == name).expect(name);
    assert_eq!(&rows[0][col("phone")], "+12015550001");
    assert_eq!(&rows[0][col("first_name")], "'=HYPERLINK(\"http://evil\")");
    assert_eq!(&rows[0][col("tier")], "gold");
    assert_eq!(&rows[1][col("last_name")], "'@SUM(1)");
    assert_eq!(&rows[1][col("notes")], "'-2+3");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn accounts(pool: PgPool) {
    let id = users::create(&pool, "ana", "Ana", Role::Agent, "a long password")
        .await
        .expect("creates");
    assert!(matches!(
        users::create(&pool, "ana", "Ana", Role::Agent, "a long password").await,
        Err(UserError::Exists(_))
    ));
    assert!(matches!(
        users::create(&pool, "Ana!", "Ana", Role::Agent, "a long password").await,
        Err(UserError::Username(_))
    ));
    users::set_password(&pool, "ana", "another long one", false)
        .await
        .expect("passwd");
    let (hash, must_change): (String, bool) =
        sqlx::query_as("SELECT password_hash, must_change_password FROM users WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .expect("row");
    assert!(users::verify_password(&hash, "another long one"));
    assert!(!must_change);
    assert!(matches!(
        users::set_password(&pool, "bob", "another long one", false).await,
        Err(UserError::NotFound(_))
    ));
    users::set_active(&pool, "ana", false)
        .await
        .expect("disable");
    assert!(!users::list(&pool).await.expect("list")[0].active);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn leads_must_name_a_list_and_go_with_it(pool: PgPool) {
    let list = lists::create(&pool, "l", None, "US").await.expect("list");
    let insert = |list_id: i64| {
        sqlx::query("INSERT INTO leads (list_id, phone_e164, country, time_zone) VALUES ($1, '+12015550001', 'US', 'America/New_York')")
            .bind(list_id)
    };
    let err = insert(list + 1)
        .execute(&pool)
        .await
        .expect_err("no such list");
    assert!(
        err.to_string()
            .contains(&format!("list {} does not exist", list + 1)),
        "{err}"
    );
    insert(list).execute(&pool).await.expect("inserts");
    let count = || {
        sqlx::query_scalar::<_, i64>("SELECT lead_count FROM lists WHERE id = $1")
            .bind(list)
            .fetch_one(&pool)
    };
    assert_eq!(count().await.expect("count"), 1);
    // One statement naming a list and a missing one: nothing is inserted, nothing counted.
    let err = sqlx::query(
        "INSERT INTO leads (list_id, phone_e164, country, time_zone)
         VALUES ($1, '+12015550002', 'US', 'America/New_York'), ($1 + 1, '+12015550003', 'US', 'America/New_York')",
    )
    .bind(list)
    .execute(&pool)
    .await
    .expect_err("one row names no list");
    assert!(
        err.to_string()
            .contains(&format!("list {} does not exist", list + 1)),
        "{err}"
    );
    assert_eq!(count().await.expect("count"), 1);
    let err = sqlx::query("UPDATE leads SET list_id = list_id + 1")
        .execute(&pool)
        .await
        .expect_err("moved to no list");
    assert!(err.to_string().contains("does not exist"), "{err}");
    sqlx::query("DELETE FROM lists WHERE id = $1")
        .bind(list)
        .execute(&pool)
        .await
        .expect("deletes");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM leads")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(left, 0, "a list's leads go with it");
}

fn at(rfc3339: &str) -> chrono::DateTime<Utc> {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .expect("time")
        .with_timezone(&Utc)
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn calling_window_intersects_the_campaign_the_law_and_the_states(pool: PgPool) {
    use dialtone_core::compliance::window;
    let every_day: i64 = sqlx::query_scalar("SELECT id FROM call_times WHERE name = '9am-9pm'")
        .fetch_one(&pool)
        .await
        .expect("ct");
    let zones: Vec<String> = [
        "America/New_York",
        "America/Chicago",
        "America/Los_Angeles",
        "Mars/Olympus",
    ]
    .map(String::from)
    .to_vec();

    // Tuesday 2026-11-24 20:30 in New York = 19:30 Chicago = 17:30 Los Angeles.
    let w = window(&pool, Some(every_day), &zones, at("2026-11-25T01:30:00Z"))
        .await
        .expect("window");
    assert_eq!(
        w.open_zones,
        ["America/New_York", "America/Chicago", "America/Los_Angeles"],
        "an unknown zone is never called"
    );
    assert_eq!(
        w.closed_states,
        ["FL", "OK"],
        "after 20:00 in New York, Florida is closed (and so is Oklahoma, conservatively)"
    );

    // 08:30 in New York: the campaign opens at 9, the law at 8.
    let w = window(&pool, Some(every_day), &zones, at("2026-11-24T13:30:00Z"))
        .await
        .expect("window");
    assert!(w.open_zones.is_empty(), "{w:?}");

    // A campaign without a call time is still held to 8:00-21:00.
    let w = window(&pool, None, &zones, at("2026-11-24T13:30:00Z"))
        .await
        .expect("window");
    assert_eq!(
        w.open_zones,
        ["America/New_York"],
        "08:30 in New York is legal; 07:30 in Chicago is not"
    );

    // Thanksgiving closes the shipped call times.
    let w = window(&pool, Some(every_day), &zones, at("2026-11-26T18:00:00Z"))
        .await
        .expect("window");
    assert!(w.open_zones.is_empty(), "{w:?}");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn per_number_caps_take_the_strictest(pool: PgPool) {
    use dialtone_core::compliance::{attempt_cap_24h, attempts_last_24h};
    let c = campaigns::create(
        &pool,
        "c",
        dialtone_core::vocabulary::DialMethod::Ratio,
        "9am-9pm",
    )
    .await
    .expect("campaign");
    assert_eq!(
        attempt_cap_24h(&pool, c, Some("NJ")).await.expect("cap"),
        None
    );
    assert_eq!(
        attempt_cap_24h(&pool, c, Some("FL")).await.expect("cap"),
        Some(3)
    );
    sqlx::query("UPDATE campaigns SET max_number_attempts_24h = 2 WHERE id = $1")
        .bind(c)
        .execute(&pool)
        .await
        .expect("cap");
    assert_eq!(
        attempt_cap_24h(&pool, c, Some("FL")).await.expect("cap"),
        Some(2)
    );
    assert_eq!(attempt_cap_24h(&pool, c, None).await.expect("cap"), Some(2));
    for hours_ago in [1, 5, 30] {
        sqlx::query(
            "INSERT INTO call_attempts (call_id, campaign_id, phone_e164, node, reserved_at) VALUES (gen_random_uuid(), $1, '+13055550100', 'n', now() - make_interval(hours => $2))",
        )
        .bind(c)
        .bind(hours_ago)
        .execute(&pool)
        .await
        .expect("attempt");
    }
    assert_eq!(
        attempts_last_24h(&pool, "+13055550100", Utc::now())
            .await
            .expect("count"),
        2
    );
}

/// Noon in New York on an ordinary Tuesday: inside every calling window.
fn noon_ny() -> chrono::DateTime<Utc> {
    at("2026-11-24T17:00:00Z")
}

/// The phones a fill of [`hopper_floor`] at [`noon_ny`] may claim, in order.
fn claimable() -> Vec<String> {
    [
        "+12015550100",
        "+12015550101",
        "+12015550102",
        "+12015550103",
        "+12015550104",
        "+14155550100",
    ]
    .map(String::from)
    .to_vec()
}

/// An active campaign with due leads in New York and Los Angeles, among them a number on the
/// DNC list and a Florida number called three times by noon: what the hopper must tell apart.
async fn hopper_floor(pool: &PgPool) -> i64 {
    let c = campaigns::create(
        pool,
        "c",
        dialtone_core::vocabulary::DialMethod::Progressive,
        "9am-9pm",
    )
    .await
    .expect("campaign");
    campaigns::set_active(pool, c, true).await.expect("active");
    let list = lists::create(pool, "l", Some(c), "US").await.expect("list");
    sqlx::query(
        "UPDATE lists SET time_zones = '{America/New_York,America/Los_Angeles}' WHERE id = $1",
    )
    .bind(list)
    .execute(pool)
    .await
    .expect("zones");
    let due = noon_ny() - Duration::hours(1);
    let numbers = (0..6)
        .map(|i| (format!("+1201555010{i}"), "America/New_York", "NJ"))
        .chain([
            ("+13055550100".to_string(), "America/New_York", "FL"),
            ("+14155550100".to_string(), "America/Los_Angeles", "CA"),
        ]);
    for (phone, zone, state) in numbers {
        lead(pool, list, &phone, "NEW", zone, state, 0, Some(due), 0).await;
    }
    dnc::add_number(
        pool,
        Scope::System,
        &e164("201-555-0105"),
        Source::Manual,
        "",
    )
    .await
    .expect("dnc");
    for hours_ago in [1, 2, 3] {
        sqlx::query(
            "INSERT INTO call_attempts (call_id, campaign_id, phone_e164, node, reserved_at) VALUES (gen_random_uuid(), $1, '+13055550100', 'n', $2 - make_interval(hours => $3))",
        )
        .bind(c)
        .bind(noon_ny())
        .bind(hours_ago)
        .execute(pool)
        .await
        .expect("attempt");
    }
    c
}

/// Two nodes fill at noon at once, then one fills again: the phones each time claimed, the two
/// nodes' first and the later fill's apart.
async fn claim_from_two_nodes_then_the_rest(pool: &PgPool, c: i64) -> (Vec<String>, Vec<String>) {
    use dialtone_core::hopper::{fill, Filled};
    let (a, b) = tokio::join!(
        fill(pool, c, "n1", 4, noon_ny()),
        fill(pool, c, "n2", 4, noon_ny())
    );
    let at_once: Vec<String> = [a.expect("a"), b.expect("b")]
        .into_iter()
        .flat_map(|f| match f {
            Filled::Leads(leads) => leads,
            other => panic!("{other:?}"),
        })
        .map(|l| l.phone_e164)
        .collect();
    let rest = fill(pool, c, "n1", 10, noon_ny()).await.expect("rest");
    let Filled::Leads(rest) = rest else {
        panic!("{rest:?}")
    };
    (at_once, rest.into_iter().map(|l| l.phone_e164).collect())
}

/// Claims as old as the hopper's hold, as a node that stopped leaves them.
async fn let_the_claims_go_stale(pool: &PgPool, c: i64) {
    sqlx::query(
        "UPDATE hopper SET claimed_at = now() - interval '2 minutes' WHERE campaign_id = $1",
    )
    .bind(c)
    .execute(pool)
    .await
    .expect("age");
}

/// A paused campaign must not dial, whatever its lists hold.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_inactive_campaign_claims_no_leads(pool: PgPool) {
    use dialtone_core::hopper::{fill, Filled};
    let c = campaigns::create(
        &pool,
        "c",
        dialtone_core::vocabulary::DialMethod::Progressive,
        "9am-9pm",
    )
    .await
    .expect("campaign");
    assert_eq!(
        fill(&pool, c, "n1", 10, noon_ny()).await.expect("fill"),
        Filled::Inactive
    );
}

/// The operator's screen must tell a campaign with nothing to dial from one that is paused.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_active_campaign_without_lists_claims_no_leads(pool: PgPool) {
    use dialtone_core::hopper::{fill, Filled};
    let c = campaigns::create(
        &pool,
        "c",
        dialtone_core::vocabulary::DialMethod::Progressive,
        "9am-9pm",
    )
    .await
    .expect("campaign");
    campaigns::set_active(&pool, c, true).await.expect("active");
    assert_eq!(
        fill(&pool, c, "n1", 10, noon_ny()).await.expect("fill"),
        Filled::NoLists
    );
}

/// Every node fills the same campaign's hopper; a lead claimed twice is a person called twice.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn two_nodes_filling_at_once_never_claim_the_same_lead(pool: PgPool) {
    let c = hopper_floor(&pool).await;
    let (mut claimed, _) = claim_from_two_nodes_then_the_rest(&pool, c).await;
    let total = claimed.len();
    claimed.sort();
    claimed.dedup();
    assert_eq!(claimed.len(), total, "no lead claimed twice");
}

/// DNC lists and caps are checked at the claim, since either may have changed since the import.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_hopper_claims_every_due_lead_but_dnc_numbers_and_numbers_at_their_cap(pool: PgPool) {
    let c = hopper_floor(&pool).await;
    let (mut claimed, rest) = claim_from_two_nodes_then_the_rest(&pool, c).await;
    claimed.extend(rest);
    claimed.sort();
    assert_eq!(
        claimed,
        claimable(),
        "not the DNC number, not the Florida number with three calls today"
    );
}

/// A number listed since its lead was loaded must never come due again, not only be skipped.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_lead_whose_number_is_now_on_the_dnc_list_is_marked_and_never_due_again(pool: PgPool) {
    let c = hopper_floor(&pool).await;
    claim_from_two_nodes_then_the_rest(&pool, c).await;
    let (status, dialable): (String, bool) = sqlx::query_as(
        "SELECT status, next_attempt_at IS NOT NULL FROM leads WHERE phone_e164 = '+12015550105'",
    )
    .fetch_one(&pool)
    .await
    .expect("dnc lead");
    assert_eq!((status.as_str(), dialable), ("DNCL", false));
}

/// The dialer dials only what the hopper holds, so a claim not stored there is never called.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn every_claimed_lead_waits_in_the_hopper(pool: PgPool) {
    let c = hopper_floor(&pool).await;
    claim_from_two_nodes_then_the_rest(&pool, c).await;
    let in_hopper: i64 = sqlx::query_scalar("SELECT count(*) FROM hopper WHERE campaign_id = $1")
        .bind(c)
        .fetch_one(&pool)
        .await
        .expect("hopper");
    assert_eq!(in_hopper, 6);
}

/// Calling hours are the law: due leads wait until their zone opens.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_hopper_claims_nothing_outside_calling_hours(pool: PgPool) {
    use dialtone_core::hopper::{fill, Filled};
    let c = hopper_floor(&pool).await;
    assert_eq!(
        fill(&pool, c, "n1", 10, at("2026-11-24T08:00:00Z"))
            .await
            .expect("fill"),
        Filled::OutsideHours,
        "03:00 in New York"
    );
}

/// Hours, DNC lists and caps were checked when the lead was claimed; after the hold that check
/// is too old to dial on.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_claim_older_than_the_hold_is_not_dialed(pool: PgPool) {
    let c = hopper_floor(&pool).await;
    claim_from_two_nodes_then_the_rest(&pool, c).await;
    let_the_claims_go_stale(&pool, c).await;
    assert!(
        dialtone_core::hopper::take(&pool, c, "n1", None)
            .await
            .expect("take")
            .is_none(),
        "a stale claim is not dialed"
    );
}

/// A stopped node's claims must not strand their leads: the next fill checks them again.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn stale_claims_go_back_among_the_due_leads(pool: PgPool) {
    let c = hopper_floor(&pool).await;
    claim_from_two_nodes_then_the_rest(&pool, c).await;
    let_the_claims_go_stale(&pool, c).await;
    assert_eq!(
        dialtone_core::hopper::release_stale(&pool, c)
            .await
            .expect("release"),
        6
    );
    let due_again: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM leads WHERE next_attempt_at IS NOT NULL AND phone_e164 = ANY($1)",
    )
    .bind(claimable())
    .fetch_one(&pool)
    .await
    .expect("due");
    assert_eq!(due_again, 6);
}

/// A claim may be dialed until its hold runs out, so its zone must stay open that long.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn near_closing_time_only_leads_whose_hours_outlast_the_hold_are_claimed(pool: PgPool) {
    use chrono::TimeZone;
    use dialtone_core::hopper::{fill, Filled};
    let c = hopper_floor(&pool).await;
    // At 20:59:30 in New York, only the Los Angeles lead. (The law's hours alone: the shipped
    // call time closes on holidays.)
    sqlx::query("UPDATE campaigns SET call_time_id = NULL WHERE id = $1")
        .bind(c)
        .execute(&pool)
        .await
        .expect("law only");
    let ny = chrono_tz::America::New_York;
    let mut day = Utc::now().with_timezone(&ny).date_naive();
    let late = loop {
        let t = ny
            .from_local_datetime(&day.and_hms_opt(20, 59, 30).expect("time"))
            .single()
            .expect("one instant")
            .with_timezone(&Utc);
        if t > Utc::now() {
            break t;
        }
        day = day.succ_opt().expect("next day");
    };
    let late_fill = fill(&pool, c, "n1", 10, late).await.expect("fill");
    let Filled::Leads(late_claims) = late_fill else {
        panic!("{late_fill:?} at {late}")
    };
    assert_eq!(
        late_claims
            .into_iter()
            .map(|l| l.phone_e164)
            .collect::<Vec<_>>(),
        ["+14155550100"]
    );
}

/// A lead taken but its attempt not reserved would be neither in the hopper nor due: never
/// dialed. One statement does both.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn taking_a_lead_from_the_hopper_reserves_its_attempt_at_once(pool: PgPool) {
    let c = hopper_floor(&pool).await;
    dialtone_core::hopper::fill(&pool, c, "n1", 10, noon_ny())
        .await
        .expect("fill");
    let attempt = uuid::Uuid::new_v4();
    let taken = dialtone_core::hopper::take(&pool, c, "n1", Some(attempt))
        .await
        .expect("take")
        .expect("the claim");
    let reserved: (i64, String) =
        sqlx::query_as("SELECT lead_id, state FROM call_attempts WHERE call_id = $1")
            .bind(attempt)
            .fetch_one(&pool)
            .await
            .expect("attempt");
    assert_eq!(reserved, (taken.lead_id, "reserved".to_string()));
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_attempt_is_dialed_once_and_moves_its_lead_on_once(pool: PgPool) {
    use dialtone_core::attempts::{originating, reserve, resolve, unresolved, Outcome};
    let c = campaigns::create(
        &pool,
        "c",
        dialtone_core::vocabulary::DialMethod::Progressive,
        "9am-9pm",
    )
    .await
    .expect("campaign");
    let list = lists::create(&pool, "l", Some(c), "US")
        .await
        .expect("list");
    let now = at("2026-11-24T17:00:00Z");
    lead(
        &pool,
        list,
        "+12015550100",
        "NEW",
        "America/New_York",
        "NJ",
        0,
        None,
        0,
    )
    .await;
    let lead_id: i64 = sqlx::query_scalar("SELECT id FROM leads")
        .fetch_one(&pool)
        .await
        .expect("lead");
    let next = |pool: PgPool| async move {
        sqlx::query_as::<_, (String, i32, Option<chrono::DateTime<Utc>>)>(
            "SELECT status, attempt_count, next_attempt_at FROM leads",
        )
        .fetch_one(&pool)
        .await
        .expect("lead")
    };

    let call = reserve(&pool, c, lead_id, "n1").await.expect("reserve");
    assert!(originating(&pool, call).await.expect("originating"));
    assert!(
        !originating(&pool, call).await.expect("twice"),
        "an attempt is dialed once"
    );
    assert_eq!(
        unresolved(&pool, "n1").await.expect("open"),
        vec![(call, "originating".to_string())],
        "a restart finds it"
    );
    assert!(resolve(&pool, call, Outcome::Busy, now)
        .await
        .expect("resolve"));
    assert!(
        !resolve(&pool, call, Outcome::NoAnswer, now)
            .await
            .expect("again"),
        "only the first outcome counts"
    );
    assert_eq!(
        next(pool.clone()).await,
        ("B".to_string(), 1, Some(now + Duration::seconds(900)))
    );
    assert!(unresolved(&pool, "n1").await.expect("open").is_empty());

    // The campaign's rule for NA: two hours, at most two attempts in that status.
    sqlx::query("INSERT INTO campaign_retry_rules (campaign_id, status_code, delay_secs, max_attempts) VALUES ($1, 'NA', 7200, 2)")
        .bind(c)
        .execute(&pool)
        .await
        .expect("rule");
    let call = reserve(&pool, c, lead_id, "n1").await.expect("reserve");
    resolve(
        &pool,
        call,
        Outcome::from_originate_reason("3").expect("no answer"),
        now,
    )
    .await
    .expect("resolve");
    assert_eq!(
        next(pool.clone()).await,
        ("NA".to_string(), 2, None),
        "two attempts reach the rule's limit"
    );

    sqlx::query("DELETE FROM campaign_retry_rules")
        .execute(&pool)
        .await
        .expect("no rule");
    sqlx::query("UPDATE leads SET next_attempt_at = now()")
        .execute(&pool)
        .await
        .expect("due");
    let call = reserve(&pool, c, lead_id, "n1").await.expect("reserve");
    resolve(&pool, call, Outcome::Cancelled, now)
        .await
        .expect("cancel");
    assert_eq!(
        next(pool.clone()).await,
        ("NA".to_string(), 2, Some(now)),
        "a cancelled attempt does not count and is due again"
    );
    let call = reserve(&pool, c, lead_id, "n1").await.expect("reserve");
    resolve(&pool, call, Outcome::from_hangup_cause(1), now)
        .await
        .expect("invalid");
    assert_eq!(
        next(pool.clone()).await,
        ("DC".to_string(), 3, None),
        "a disconnected number is not dialed again"
    );

    assert_eq!(
        Outcome::from_originate_reason("4"),
        None,
        "answered: the call flow decides"
    );
    assert_eq!(Outcome::from_originate_reason("5"), Some(Outcome::Busy));
    assert_eq!(
        Outcome::from_originate_reason("8"),
        Some(Outcome::Congestion)
    );
    assert_eq!(Outcome::from_originate_reason("0"), Some(Outcome::Failed));
    assert_eq!(
        Outcome::from_dial_status("ANSWER"),
        None,
        "answered: the call flow decides"
    );
    assert_eq!(Outcome::from_dial_status("BUSY"), Some(Outcome::Busy));
    assert_eq!(Outcome::from_dial_status("CANCEL"), Some(Outcome::NoAnswer));
    assert_eq!(
        Outcome::from_dial_status("CHANUNAVAIL"),
        Some(Outcome::Failed)
    );
}

/// A campaign's agent, logged in, and its two leads. A live call reaches its agent in one step
/// and ends in one: the agent is never left on a call that ended, also when the caller hangs up
/// between the agent's reservation and the connect.
struct AgentFloor {
    campaign: i64,
    user: i64,
    session: i64,
    leads: Vec<i64>,
}

async fn agent_floor(pool: &PgPool) -> AgentFloor {
    use dialtone_core::agents;
    let c = campaigns::create(
        pool,
        "c",
        dialtone_core::vocabulary::DialMethod::Progressive,
        "9am-9pm",
    )
    .await
    .expect("campaign");
    let list = lists::create(pool, "l", Some(c), "US").await.expect("list");
    for phone in ["+12015550100", "+12015550101"] {
        lead(
            pool,
            list,
            phone,
            "NEW",
            "America/New_York",
            "NJ",
            0,
            None,
            0,
        )
        .await;
    }
    let leads: Vec<i64> = sqlx::query_scalar("SELECT id FROM leads ORDER BY id")
        .fetch_all(pool)
        .await
        .expect("leads");
    let user = users::create(pool, "ana", "Ana", Role::Agent, "a long password")
        .await
        .expect("user");
    let session = agents::open_session(pool, user, c, "n1", "PJSIP/1")
        .await
        .expect("session");
    AgentFloor {
        campaign: c,
        user,
        session,
        leads,
    }
}

/// The one agent's state and the call it is on.
async fn agent_and_call(pool: &PgPool) -> (String, Option<uuid::Uuid>) {
    sqlx::query_as::<_, (String, Option<uuid::Uuid>)>(
        "SELECT state, current_call_id FROM agent_sessions",
    )
    .fetch_one(pool)
    .await
    .expect("state")
}

/// Live answers so far, of which the abandon rate is taken.
async fn live_answers(pool: &PgPool) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT count(*) FROM abandon_ledger")
        .fetch_one(pool)
        .await
        .expect("ledger")
}

/// The lead is dialed and answered by a person, and the agent, made ready, is reserved for the
/// call: the moment before the flow connects them. These steps' checks run for every caller.
async fn answer(pool: &PgPool, floor: &AgentFloor, lead_id: i64) -> uuid::Uuid {
    use dialtone_core::attempts::{originating, reserve};
    use dialtone_core::{agents, calls};
    let c = floor.campaign;
    let call_id = reserve(pool, c, lead_id, "n1").await.expect("reserve");
    assert!(originating(pool, call_id).await.expect("originating"));
    let a = calls::Answered {
        call_id,
        campaign_id: c,
        lead_id: Some(lead_id),
        node: "n1",
        uniqueid: "1.1",
        channel: "PJSIP/carrier-1",
        amd_status: Some("HUMAN"),
        amd_cause: None,
        waits_for_agent: true,
    };
    calls::answered(pool, &a).await.expect("answered");
    // Answered and waiting for its agent: a line that needs one, for the pacer.
    assert_eq!(
        dialtone_core::campaigns::live_counts(pool, c, "n1")
            .await
            .expect("counts")
            .lines_ringing,
        1
    );
    agents::set_state(pool, floor.session, AgentState::Ready, None)
        .await
        .expect("ready");
    sqlx::query("UPDATE agent_sessions SET last_seen_at = now()")
        .execute(pool)
        .await
        .expect("seen");
    let agent = agents::claim_ready(pool, c, call_id)
        .await
        .expect("claim")
        .expect("an agent");
    assert_eq!(agent.session_id, floor.session);
    call_id
}

/// A call to the first lead that reached the agent and ended: one live answer so far.
async fn a_live_call_that_ended(pool: &PgPool, floor: &AgentFloor) {
    use dialtone_core::calls;
    let call = answer(pool, floor, floor.leads[0]).await;
    calls::connected(pool, call, Some(floor.campaign), floor.session, floor.user)
        .await
        .expect("connected");
    calls::end(
        pool,
        call,
        &calls::Ended {
            hangup_cause: Some(16),
            ..calls::Ended::default()
        },
    )
    .await
    .expect("end");
}

/// The pacer and the abandon rate read the call and its agent: they must change in one step.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_connected_call_puts_its_agent_on_it_and_counts_one_live_answer(pool: PgPool) {
    use dialtone_core::calls;
    let floor = agent_floor(&pool).await;
    let c = floor.campaign;
    let call = answer(&pool, &floor, floor.leads[0]).await;
    assert_eq!(
        calls::connected(&pool, call, Some(c), floor.session, floor.user)
            .await
            .expect("connected"),
        calls::Connect::Connected
    );
    assert_eq!(
        dialtone_core::campaigns::live_counts(&pool, c, "n1")
            .await
            .expect("counts")
            .lines_ringing,
        0,
        "on its agent: no line waiting"
    );
    assert_eq!(
        agent_and_call(&pool).await,
        ("on_call".to_string(), Some(call))
    );
    assert_eq!(live_answers(&pool).await, 1);
}

/// Freeing the agent and resolving the dial together: neither is left behind by a crash.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_end_of_a_connected_call_sends_its_agent_to_wrapup_and_resolves_the_dial(pool: PgPool) {
    use dialtone_core::calls;
    let floor = agent_floor(&pool).await;
    let call = answer(&pool, &floor, floor.leads[0]).await;
    calls::connected(&pool, call, Some(floor.campaign), floor.session, floor.user)
        .await
        .expect("connected");
    assert!(calls::end(
        &pool,
        call,
        &calls::Ended {
            hangup_cause: Some(16),
            ..calls::Ended::default()
        }
    )
    .await
    .expect("end"));
    assert_eq!(
        agent_and_call(&pool).await,
        ("wrapup".to_string(), Some(call))
    );
    let attempt: (String, Option<String>) =
        sqlx::query_as("SELECT state, outcome FROM call_attempts WHERE call_id = $1")
            .bind(call)
            .fetch_one(&pool)
            .await
            .expect("attempt");
    assert_eq!(
        attempt,
        ("resolved".to_string(), Some("answered_human".to_string()))
    );
}

/// The caller may hang up while the flow is on its way to the agent; the agent must not wait
/// for a call that is gone.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_caller_who_hangs_up_before_the_connect_frees_the_reserved_agent(pool: PgPool) {
    use dialtone_core::calls;
    let floor = agent_floor(&pool).await;
    let call = answer(&pool, &floor, floor.leads[1]).await;
    assert_eq!(
        agent_and_call(&pool).await,
        ("reserved".to_string(), Some(call))
    );
    assert!(calls::end(
        &pool,
        call,
        &calls::Ended {
            hangup_cause: Some(16),
            ..calls::Ended::default()
        }
    )
    .await
    .expect("end"));
    assert_eq!(agent_and_call(&pool).await, ("ready".to_string(), None));
}

/// The flow's connect races the hangup handler; once the call is closed it must change nothing.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_connect_after_the_caller_hung_up_leaves_the_agent_ready(pool: PgPool) {
    use dialtone_core::calls;
    let floor = agent_floor(&pool).await;
    let call = answer(&pool, &floor, floor.leads[1]).await;
    calls::end(
        &pool,
        call,
        &calls::Ended {
            hangup_cause: Some(16),
            ..calls::Ended::default()
        },
    )
    .await
    .expect("end");
    assert_eq!(
        calls::connected(&pool, call, Some(floor.campaign), floor.session, floor.user)
            .await
            .expect("connected"),
        calls::Connect::CallEnded
    );
    assert_eq!(
        agent_and_call(&pool).await.0,
        "ready",
        "nobody is left on a closed call"
    );
    let call_state: String = sqlx::query_scalar("SELECT state FROM calls WHERE id = $1")
        .bind(call)
        .fetch_one(&pool)
        .await
        .expect("call");
    assert_eq!(call_state, "ended");
}

/// The abandon rate counts callers who reached an agent; one who hung up first is not one.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_caller_who_hangs_up_before_reaching_an_agent_is_no_live_answer(pool: PgPool) {
    use dialtone_core::calls;
    let floor = agent_floor(&pool).await;
    a_live_call_that_ended(&pool, &floor).await;
    let call = answer(&pool, &floor, floor.leads[1]).await;
    calls::end(
        &pool,
        call,
        &calls::Ended {
            hangup_cause: Some(16),
            ..calls::Ended::default()
        },
    )
    .await
    .expect("end");
    calls::connected(&pool, call, Some(floor.campaign), floor.session, floor.user)
        .await
        .expect("connected");
    assert_eq!(
        live_answers(&pool).await,
        1,
        "no live answer for a caller who never reached an agent"
    );
}

/// An agent who pauses while a caller is on the way must not get the call; another agent may.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_call_whose_agent_paused_before_the_connect_stays_open_for_another(pool: PgPool) {
    use dialtone_core::{agents, calls};
    let floor = agent_floor(&pool).await;
    let call = answer(&pool, &floor, floor.leads[0]).await;
    agents::set_state(&pool, floor.session, AgentState::Paused, Some("BREAK"))
        .await
        .expect("paused");
    assert_eq!(
        calls::connected(&pool, call, Some(floor.campaign), floor.session, floor.user)
            .await
            .expect("connected"),
        calls::Connect::AgentGone
    );
    let call_state: String = sqlx::query_scalar("SELECT state FROM calls WHERE id = $1")
        .bind(call)
        .fetch_one(&pool)
        .await
        .expect("call");
    assert_eq!(call_state, "answered", "still waiting for an agent");
}

/// A caller still waiting for an agent is not yet a live answer for the abandon rate.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_call_whose_agent_paused_before_the_connect_is_no_live_answer_yet(pool: PgPool) {
    use dialtone_core::{agents, calls};
    let floor = agent_floor(&pool).await;
    a_live_call_that_ended(&pool, &floor).await;
    sqlx::query("UPDATE leads SET next_attempt_at = now()")
        .execute(&pool)
        .await
        .expect("due");
    let call = answer(&pool, &floor, floor.leads[0]).await;
    agents::set_state(&pool, floor.session, AgentState::Paused, Some("BREAK"))
        .await
        .expect("paused");
    calls::connected(&pool, call, Some(floor.campaign), floor.session, floor.user)
        .await
        .expect("connected");
    assert_eq!(live_answers(&pool).await, 1);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn wrapups_end_after_the_campaigns_time(pool: PgPool) {
    use dialtone_core::agents;
    let c = campaigns::create(
        &pool,
        "c",
        dialtone_core::vocabulary::DialMethod::Progressive,
        "9am-9pm",
    )
    .await
    .expect("campaign");
    sqlx::query("UPDATE campaigns SET wrapup_secs = 10 WHERE id = $1")
        .bind(c)
        .execute(&pool)
        .await
        .expect("wrapup");
    let mut sessions = Vec::new();
    for name in ["ana", "ben"] {
        let user = users::create(&pool, name, name, Role::Agent, "a long password")
            .await
            .expect("user");
        let s = agents::open_session(&pool, user, c, "n", "PJSIP/1")
            .await
            .expect("session");
        agents::set_state(&pool, s, AgentState::Wrapup, None)
            .await
            .expect("wrapup");
        sessions.push(s);
    }
    sqlx::query(
        "UPDATE agent_sessions SET state_since = now() - interval '11 seconds' WHERE id = $1",
    )
    .bind(sessions[0])
    .execute(&pool)
    .await
    .expect("age");
    assert_eq!(agents::end_wrapups(&pool).await.expect("end"), 1);
    let states: Vec<String> = sqlx::query_scalar("SELECT state FROM agent_sessions ORDER BY id")
        .fetch_all(&pool)
        .await
        .expect("states");
    assert_eq!(states, ["ready", "wrapup"]);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_predictive_pacer_reads_the_floor_and_learns_from_history(pool: PgPool) {
    use dialtone_core::attempts::{originating, reserve, resolve, Outcome};
    use dialtone_core::{agents, dial_history, pacing::Pacer};
    let c = campaigns::create(
        &pool,
        "c",
        dialtone_core::vocabulary::DialMethod::Predictive,
        "9am-9pm",
    )
    .await
    .expect("campaign");
    let list = lists::create(&pool, "l", Some(c), "US")
        .await
        .expect("list");
    // Three agents: ready, on a call for 40 s, wrapping up; a fourth whose page went silent.
    let mut sessions = Vec::new();
    for (name, state) in [
        ("ana", AgentState::Ready),
        ("ben", AgentState::OnCall),
        ("cy", AgentState::Wrapup),
        ("di", AgentState::Ready),
    ] {
        let user = users::create(&pool, name, name, Role::Agent, "a long password")
            .await
            .expect("user");
        let s = agents::open_session(&pool, user, c, "n1", "PJSIP/1")
            .await
            .expect("session");
        agents::set_state(&pool, s, state, None)
            .await
            .expect("state");
        sessions.push(s);
    }
    sqlx::query(
        "UPDATE agent_sessions SET state_since = now() - interval '40 seconds' WHERE id = $1",
    )
    .bind(sessions[1])
    .execute(&pool)
    .await
    .expect("age");
    sqlx::query(
        "UPDATE agent_sessions SET last_seen_at = now() - interval '1 minute' WHERE id = $1",
    )
    .bind(sessions[3])
    .execute(&pool)
    .await
    .expect("silent");

    // 40 resolved dials a minute ago: every fourth answered by a person 12 s after dialing.
    let now = Utc::now();
    for i in 0..41 {
        lead(
            &pool,
            list,
            &format!("+1201555{:04}", 100 + i),
            "NEW",
            "America/New_York",
            "NJ",
            0,
            None,
            0,
        )
        .await;
    }
    let leads: Vec<i64> = sqlx::query_scalar("SELECT id FROM leads ORDER BY id")
        .fetch_all(&pool)
        .await
        .expect("leads");
    for (i, &lead_id) in leads.iter().take(40).enumerate() {
        let call = reserve(&pool, c, lead_id, "n1").await.expect("reserve");
        assert!(originating(&pool, call).await.expect("originating"));
        let live = i % 4 == 0;
        sqlx::query("UPDATE call_attempts SET dialed_at = $2, answered_at = CASE WHEN $3 THEN $2 + interval '12 seconds' END WHERE call_id = $1")
            .bind(call)
            .bind(now - Duration::seconds(60))
            .bind(live)
            .execute(&pool)
            .await
            .expect("times");
        let outcome = if live {
            Outcome::AnsweredHuman
        } else {
            Outcome::NoAnswer
        };
        resolve(&pool, call, outcome, now - Duration::seconds(35))
            .await
            .expect("resolve");
    }
    // And one ringing for 5 s now.
    let ringing = reserve(&pool, c, leads[40], "n1").await.expect("reserve");
    assert!(originating(&pool, ringing).await.expect("originating"));
    sqlx::query(
        "UPDATE call_attempts SET dialed_at = now() - interval '5 seconds' WHERE call_id = $1",
    )
    .bind(ringing)
    .execute(&pool)
    .await
    .expect("age");

    let floor = dial_history::floor(&pool, c, "n1").await.expect("floor");
    assert_eq!(
        (
            floor.ready,
            floor.waiting,
            floor.talking.len(),
            floor.wrapping.len(),
            floor.pending.len()
        ),
        (1, 0, 1, 1, 1)
    );
    assert!((floor.talking[0] - 40.0).abs() < 5.0, "{:?}", floor.talking);
    assert!((floor.pending[0] - 5.0).abs() < 5.0, "{:?}", floor.pending);

    let mut pacer = Pacer::new();
    dial_history::learn(&pool, c, &mut pacer)
        .await
        .expect("learn");
    assert_eq!(
        (pacer.estimator().dials(), pacer.estimator().live()),
        (40, 10)
    );
    let tables = pacer.estimator().tables();
    assert!(
        (tables.new_dial_live_by(13.0) - 0.25).abs() < 1e-9,
        "live dials settle at their answer"
    );
    assert_eq!(tables.new_dial_live_by(11.0), 0.0);

    // The limit and the ledger cursor survive a restart.
    let (theta, cursor) = dial_history::load_state(&pool, c).await.expect("load");
    assert_eq!((theta, cursor), (None, 0));
    dial_history::save_state(&pool, c, 0.02, 7)
        .await
        .expect("save");
    assert_eq!(
        dial_history::load_state(&pool, c).await.expect("load"),
        (Some(0.02), 7)
    );
}

/// A manual campaign's ready agent, and its two leads: in New Jersey and in Florida.
struct ManualFloor {
    campaign: i64,
    session: i64,
    leads: Vec<i64>,
}

async fn manual_floor(pool: &PgPool) -> ManualFloor {
    use dialtone_core::agents;
    let c = campaigns::create(
        pool,
        "c",
        dialtone_core::vocabulary::DialMethod::Manual,
        "9am-9pm",
    )
    .await
    .expect("campaign");
    let list = lists::create(pool, "l", Some(c), "US").await.expect("list");
    let user = users::create(pool, "ana", "Ana", Role::Agent, "a long password")
        .await
        .expect("user");
    let session = agents::open_session(pool, user, c, "n1", "PJSIP/1")
        .await
        .expect("session");
    agents::set_state(pool, session, AgentState::Ready, None)
        .await
        .expect("ready");
    for (phone, state) in [("+12015550100", "NJ"), ("+13055550100", "FL")] {
        lead(
            pool,
            list,
            phone,
            "NEW",
            "America/New_York",
            state,
            0,
            None,
            0,
        )
        .await;
    }
    let leads: Vec<i64> = sqlx::query_scalar("SELECT id FROM leads ORDER BY id")
        .fetch_all(pool)
        .await
        .expect("leads");
    ManualFloor {
        campaign: c,
        session,
        leads,
    }
}

/// The one agent's state.
async fn agent_state(pool: &PgPool) -> String {
    sqlx::query_scalar::<_, String>("SELECT state FROM agent_sessions")
        .fetch_one(pool)
        .await
        .expect("state")
}

/// A hand-dialed call counts in the caps like the dialer's, and holds its agent for itself.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_manual_dial_of_a_lead_is_recorded_and_reserves_its_agent(pool: PgPool) {
    use dialtone_core::manual::{self, Target};
    let floor = manual_floor(&pool).await;
    let noon = at("2026-11-24T17:00:00Z");
    let placed = manual::place(
        &pool,
        floor.session,
        "n1",
        &Target::Lead(floor.leads[0]),
        noon,
    )
    .await
    .expect("placed");
    assert_eq!(
        (
            placed.phone_e164.as_str(),
            placed.lead_id,
            placed.conference.as_str()
        ),
        (
            "+12015550100",
            Some(floor.leads[0]),
            format!("agent-{}", floor.session).as_str()
        )
    );
    let attempt: (String, Option<i64>) =
        sqlx::query_as("SELECT state, lead_id FROM call_attempts WHERE call_id = $1")
            .bind(placed.call_id)
            .fetch_one(&pool)
            .await
            .expect("attempt");
    assert_eq!(attempt, ("originating".to_string(), Some(floor.leads[0])));
    assert_eq!(agent_state(&pool).await, "reserved");
}

/// An agent has one line: a second call would have nobody to talk to.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_agent_reserved_for_a_manual_dial_cannot_place_another(pool: PgPool) {
    use dialtone_core::manual::{self, ManualError, Target};
    let floor = manual_floor(&pool).await;
    let noon = at("2026-11-24T17:00:00Z");
    manual::place(
        &pool,
        floor.session,
        "n1",
        &Target::Lead(floor.leads[0]),
        noon,
    )
    .await
    .expect("placed");
    assert!(matches!(
        manual::place(
            &pool,
            floor.session,
            "n1",
            &Target::Number("2015550199".into()),
            noon
        )
        .await,
        Err(ManualError::AgentBusy(AgentState::Reserved))
    ));
}

/// The callee is put through to the agent's conference, so the agent is talking from the answer.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_answered_manual_dial_puts_its_agent_on_the_call(pool: PgPool) {
    use dialtone_core::manual::{self, Target};
    let floor = manual_floor(&pool).await;
    let noon = at("2026-11-24T17:00:00Z");
    let placed = manual::place(
        &pool,
        floor.session,
        "n1",
        &Target::Lead(floor.leads[0]),
        noon,
    )
    .await
    .expect("placed");
    assert!(
        manual::answered(&pool, placed.call_id, Some("PJSIP/carrier-00000001"))
            .await
            .expect("answered")
    );
    assert_eq!(agent_state(&pool).await, "on_call");
}

/// A hand-dialed call ends as the dialer's do: the agent wraps up, the lead is moved on once.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_manual_call_that_ends_sends_its_agent_to_wrapup_and_resolves_its_attempt(pool: PgPool) {
    use dialtone_core::calls;
    use dialtone_core::manual::{self, Target};
    let floor = manual_floor(&pool).await;
    let noon = at("2026-11-24T17:00:00Z");
    let placed = manual::place(
        &pool,
        floor.session,
        "n1",
        &Target::Lead(floor.leads[0]),
        noon,
    )
    .await
    .expect("placed");
    manual::answered(&pool, placed.call_id, Some("PJSIP/carrier-00000001"))
        .await
        .expect("answered");
    assert!(calls::end(&pool, placed.call_id, &calls::Ended::default())
        .await
        .expect("end"));
    assert_eq!(agent_state(&pool).await, "wrapup");
    let outcome: Option<String> =
        sqlx::query_scalar("SELECT outcome FROM call_attempts WHERE call_id = $1")
            .bind(placed.call_id)
            .fetch_one(&pool)
            .await
            .expect("outcome");
    assert_eq!(outcome.as_deref(), Some("answered_human"));
}

/// The agent screen cannot be trusted to check the DNC lists, nor to type a number one way.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_manual_dial_to_a_number_on_the_dnc_list_is_refused_however_it_is_typed(pool: PgPool) {
    use dialtone_core::compliance::Refusal;
    use dialtone_core::manual::{self, ManualError, Target};
    let floor = manual_floor(&pool).await;
    dnc::add_number(
        &pool,
        Scope::System,
        &phone::normalize("+12015550101", phone::country("US").expect("US")).expect("number"),
        Source::Manual,
        "asked",
    )
    .await
    .expect("dnc");
    let refused = manual::place(
        &pool,
        floor.session,
        "n1",
        &Target::Number("(201) 555-0101".into()),
        at("2026-11-24T17:00:00Z"),
    )
    .await;
    assert!(
        matches!(
            refused,
            Err(ManualError::Refused(Refusal::DoNotCall { .. }))
        ),
        "{refused:?}"
    );
}

/// Calling hours bind an agent's hand as they bind the dialer.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_manual_dial_outside_the_callees_calling_hours_is_refused(pool: PgPool) {
    use dialtone_core::compliance::Refusal;
    use dialtone_core::manual::{self, ManualError, Target};
    let floor = manual_floor(&pool).await;
    // 21:30 in New Jersey.
    let late = manual::place(
        &pool,
        floor.session,
        "n1",
        &Target::Number("201 555 0102".into()),
        at("2026-11-25T02:30:00Z"),
    )
    .await;
    assert!(
        matches!(
            late,
            Err(ManualError::Refused(Refusal::OutsideHours { .. }))
        ),
        "{late:?}"
    );
}

/// A state's cap on calls a day counts every call to the number, by hand or not.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_manual_dial_to_a_number_at_its_daily_cap_is_refused(pool: PgPool) {
    use dialtone_core::compliance::Refusal;
    use dialtone_core::manual::{self, ManualError, Target};
    let floor = manual_floor(&pool).await;
    let noon = at("2026-11-24T17:00:00Z");
    // Florida's three calls in 24 hours.
    for _ in 0..3 {
        sqlx::query("INSERT INTO call_attempts (call_id, campaign_id, phone_e164, node, state, outcome, reserved_at) VALUES (gen_random_uuid(), $1, '+13055550100', 'n', 'resolved', 'no_answer', $2)")
            .bind(floor.campaign)
            .bind(noon - Duration::hours(1))
            .execute(&pool)
            .await
            .expect("attempt");
    }
    let capped = manual::place(
        &pool,
        floor.session,
        "n1",
        &Target::Lead(floor.leads[1]),
        noon,
    )
    .await;
    assert!(
        matches!(
            capped,
            Err(ManualError::Refused(Refusal::AttemptCap {
                attempts: 3,
                cap: 3,
                ..
            }))
        ),
        "{capped:?}"
    );
}

/// The dialer may dial a lead in its hopper any moment: by hand too, the person is called twice.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_lead_in_the_dialers_hopper_cannot_be_dialed_by_hand(pool: PgPool) {
    use dialtone_core::manual::{self, ManualError, Target};
    let floor = manual_floor(&pool).await;
    sqlx::query("INSERT INTO hopper (lead_id, campaign_id, node) VALUES ($1, $2, 'n1')")
        .bind(floor.leads[0])
        .bind(floor.campaign)
        .execute(&pool)
        .await
        .expect("hopper");
    let busy = manual::place(
        &pool,
        floor.session,
        "n1",
        &Target::Lead(floor.leads[0]),
        at("2026-11-24T17:00:00Z"),
    )
    .await;
    assert!(matches!(busy, Err(ManualError::LeadBusy(_))), "{busy:?}");
}

/// What cannot be read as a number cannot be checked against the DNC lists or the hours.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_manual_dial_to_text_that_is_not_a_number_is_refused(pool: PgPool) {
    use dialtone_core::manual::{self, ManualError, Target};
    let floor = manual_floor(&pool).await;
    assert!(matches!(
        manual::place(
            &pool,
            floor.session,
            "n1",
            &Target::Number("not a number".into()),
            at("2026-11-24T17:00:00Z")
        )
        .await,
        Err(ManualError::BadNumber(_))
    ));
}

/// An agent works one campaign's lists; another campaign's leads are not theirs to call.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_agent_cannot_dial_another_campaigns_lead_by_hand(pool: PgPool) {
    use dialtone_core::manual::{self, ManualError, Target};
    let floor = manual_floor(&pool).await;
    let other = campaigns::create(
        &pool,
        "other",
        dialtone_core::vocabulary::DialMethod::Manual,
        "9am-9pm",
    )
    .await
    .expect("campaign");
    let theirs = lists::create(&pool, "theirs", Some(other), "US")
        .await
        .expect("list");
    lead(
        &pool,
        theirs,
        "+12015550177",
        "NEW",
        "America/New_York",
        "NJ",
        0,
        None,
        0,
    )
    .await;
    let their_lead: i64 = sqlx::query_scalar("SELECT id FROM leads WHERE list_id = $1")
        .bind(theirs)
        .fetch_one(&pool)
        .await
        .expect("lead");
    let foreign = manual::place(
        &pool,
        floor.session,
        "n1",
        &Target::Lead(their_lead),
        at("2026-11-24T17:00:00Z"),
    )
    .await;
    assert!(
        matches!(foreign, Err(ManualError::NoLead(_))),
        "another campaign's lead: {foreign:?}"
    );
}

/// The campaign's agent_selection picks which ready agent a call goes to.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_campaign_chooses_which_ready_agent_gets_a_call(pool: PgPool) {
    use dialtone_core::agents;
    let c = campaigns::create(
        &pool,
        "c",
        dialtone_core::vocabulary::DialMethod::Progressive,
        "9am-9pm",
    )
    .await
    .expect("campaign");
    let mut sessions = Vec::new();
    // Ana has been ready longest but took two calls today; Ben took one; Cy none, and is the
    // most recently ready.
    for (name, idle_secs, calls) in [("ana", 300, 2), ("ben", 200, 1), ("cy", 100, 0)] {
        let user = users::create(&pool, name, name, Role::Agent, "a long password")
            .await
            .expect("user");
        let session = agents::open_session(&pool, user, c, "n1", "PJSIP/1")
            .await
            .expect("session");
        for _ in 0..calls {
            sqlx::query("INSERT INTO calls (id, direction, campaign_id, agent_user_id, node) VALUES ($1, 'outbound', $2, $3, 'n1')")
                .bind(uuid::Uuid::new_v4())
                .bind(c)
                .bind(user)
                .execute(&pool)
                .await
                .expect("call");
        }
        sessions.push((session, idle_secs));
    }
    let reset = || async {
        for (session, idle_secs) in &sessions {
            sqlx::query(
                "UPDATE agent_sessions SET state = 'ready', pause_code = NULL, current_call_id = NULL, last_seen_at = now(),
                        state_since = now() - make_interval(secs => $2) WHERE id = $1",
            )
            .bind(session)
            .bind(*idle_secs as f64)
            .execute(&pool)
            .await
            .expect("ready");
        }
    };
    let choose = |selection: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query("UPDATE campaigns SET agent_selection = $2 WHERE id = $1")
                .bind(c)
                .bind(selection)
                .execute(&pool)
                .await
                .expect("setting");
            reset().await;
            let call: uuid::Uuid = sqlx::query_scalar("INSERT INTO calls (id, direction, campaign_id, node) VALUES (gen_random_uuid(), 'outbound', $1, 'n1') RETURNING id")
                .bind(c)
                .fetch_one(&pool)
                .await
                .expect("call");
            agents::claim_ready(&pool, c, call)
                .await
                .expect("claim")
                .expect("an agent")
                .session_id
        }
    };
    assert_eq!(choose("longest_idle").await, sessions[0].0);
    assert_eq!(choose("fewest_calls").await, sessions[2].0);
    let mut picked = std::collections::HashSet::new();
    for _ in 0..40 {
        picked.insert(choose("random").await);
    }
    assert!(picked.len() > 1, "random always picked {picked:?}");
}

/// A queued inbound call reaches a ready agent of the group, unless the agent's campaign has
/// been switched to outbound only.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn inbound_calls_reach_only_agents_whose_campaign_takes_them(pool: PgPool) {
    use dialtone_core::agents;
    let c = campaigns::create(
        &pool,
        "c",
        dialtone_core::vocabulary::DialMethod::Progressive,
        "9am-9pm",
    )
    .await
    .expect("campaign");
    let group: i64 =
        sqlx::query_scalar("INSERT INTO inbound_groups (name) VALUES ('help') RETURNING id")
            .fetch_one(&pool)
            .await
            .expect("group");
    let user = users::create(&pool, "ana", "Ana", Role::Agent, "a long password")
        .await
        .expect("user");
    let session = agents::open_session(&pool, user, c, "n1", "PJSIP/1")
        .await
        .expect("session");
    agents::join_groups(&pool, session, &[group])
        .await
        .expect("groups");
    agents::set_state(&pool, session, AgentState::Ready, None)
        .await
        .expect("ready");
    let call: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO calls (id, direction, inbound_group_id, node, state, queued_at) VALUES (gen_random_uuid(), 'inbound', $1, 'n1', 'queued', now()) RETURNING id",
    )
    .bind(group)
    .fetch_one(&pool)
    .await
    .expect("queued call");
    sqlx::query("UPDATE campaigns SET allow_inbound = false WHERE id = $1")
        .bind(c)
        .execute(&pool)
        .await
        .expect("outbound only");
    assert!(agents::claim_for_inbound(&pool, call, group)
        .await
        .expect("claim")
        .is_none());
    sqlx::query("UPDATE campaigns SET allow_inbound = true WHERE id = $1")
        .bind(c)
        .execute(&pool)
        .await
        .expect("blended");
    let agent = agents::claim_for_inbound(&pool, call, group)
        .await
        .expect("claim")
        .expect("an agent");
    assert_eq!(agent.session_id, session);
}
