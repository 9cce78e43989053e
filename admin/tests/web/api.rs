//! What issue 6 left: tables sorted on the server (leads, DNC, recordings, the audit log), the
//! JSON API's reference data and lead uploads, and supervisors running their own campaigns.

use crate::helpers::*;
use serde_json::{json, Value};

/// The values of `key` in a page's rows, in order.
fn column(page: &Value, key: &str) -> Vec<String> {
    page["rows"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| match &r[key] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn tables_sort_on_the_server(pool: PgPool) {
    use dialtone_core::vocabulary::Role;
    let site = Site::new(pool.clone()).await;
    let api = admin_token(&site, "ana").await;
    let (_, admin) = site.user("root", Role::Admin).await;

    // DNC: by value either way (the index), by note's neighbours (the window), unknown = default.
    for n in ["2015550101", "2015550103", "2015550102"] {
        let r = site
            .api(
                "POST",
                "/api/v1/dnc",
                &api,
                Some(json!({"number": n, "note": format!("n{n}")})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let asc = column(
        &parse(&site.api("GET", "/api/v1/dnc?sort=value", &api, None).await),
        "value",
    );
    assert_eq!(asc, ["+12015550101", "+12015550102", "+12015550103"]);
    let desc = column(
        &parse(&site.api("GET", "/api/v1/dnc?sort=-value", &api, None).await),
        "value",
    );
    assert_eq!(desc, ["+12015550103", "+12015550102", "+12015550101"]);
    let bogus = column(
        &parse(
            &site
                .api(
                    "GET",
                    "/api/v1/dnc?sort=value;DROP%20TABLE%20users",
                    &api,
                    None,
                )
                .await,
        ),
        "value",
    );
    assert_eq!(bogus, asc, "an unknown key keeps the default order");
    let by_added = parse(&site.api("GET", "/api/v1/dnc?sort=-added", &api, None).await);
    assert_eq!(by_added["rows"].as_array().map(Vec::len), Some(3));
    // The page's header links reverse the order they show.
    let page = site.get("/dnc?sort=-value", Some(&admin)).await;
    let (a, b) = (
        page.body.find("+12015550103"),
        page.body.find("+12015550101"),
    );
    assert!(a.zip(b).is_some_and(|(a, b)| a < b), "{}", page.body);
    assert!(
        page.body.contains("sort=value"),
        "the Number header reverses: {}",
        page.body
    );

    // Leads found by name in a list: by id (the index), by name either way, unknown = by id.
    let list = dialtone_core::lists::create(&pool, "Sortable", None, "US")
        .await
        .expect("list");
    for (phone, first, last) in [
        ("+12025550101", "Ana", "Silva"),
        ("+12025550102", "Bo", "Sanchez"),
        ("+12025550103", "Cy", "Santos"),
    ] {
        sqlx::query("INSERT INTO leads (list_id, phone_e164, country, time_zone, first_name, last_name) VALUES ($1, $2, 'US', 'America/New_York', $3, $4)")
            .bind(list).bind(phone).bind(first).bind(last).execute(&pool).await.expect("lead");
    }
    let leads = |sort: &str| format!("/api/v1/leads?q=S&list={list}&sort={sort}");
    let by_id = column(
        &parse(&site.api("GET", &leads(""), &api, None).await),
        "name",
    );
    assert_eq!(by_id, ["Ana Silva", "Bo Sanchez", "Cy Santos"]);
    let by_name = column(
        &parse(&site.api("GET", &leads("name"), &api, None).await),
        "name",
    );
    assert_eq!(by_name, ["Bo Sanchez", "Cy Santos", "Ana Silva"]);
    let by_name_desc = column(
        &parse(&site.api("GET", &leads("-name"), &api, None).await),
        "name",
    );
    assert_eq!(by_name_desc, ["Ana Silva", "Cy Santos", "Bo Sanchez"]);
    let newest = column(
        &parse(&site.api("GET", &leads("-id"), &api, None).await),
        "name",
    );
    assert_eq!(newest, ["Cy Santos", "Bo Sanchez", "Ana Silva"]);
    let unknown = column(
        &parse(&site.api("GET", &leads("nope"), &api, None).await),
        "name",
    );
    assert_eq!(unknown, by_id);
    let page = site
        .get(&format!("/leads?q=S&list={list}&sort=-name"), Some(&admin))
        .await;
    let (a, b) = (page.body.find("Ana Silva"), page.body.find("Bo Sanchez"));
    assert!(a.zip(b).is_some_and(|(a, b)| a < b), "{}", page.body);

    // Recordings of one day: newest first by default, by length either way.
    let camp = campaign(&pool, "Recorded").await;
    for (secs, minute) in [(30, 1), (90, 2), (60, 0)] {
        sqlx::query("INSERT INTO recordings (campaign_id, file_path, started_at, duration_secs) VALUES ($1, 'x.wav', '2026-11-20 10:00:00+00'::timestamptz + make_interval(mins => $3), $2)")
            .bind(camp).bind(secs).bind(minute).execute(&pool).await.expect("recording");
    }
    let seconds = |sort: &str| format!("day=2026-11-20&campaign=&agent=&phone=&sort={sort}&page=1");
    let order = |r: &Reply| -> Vec<i64> {
        let v = parse(r);
        v["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| r["duration_secs"].as_f64().unwrap_or(0.0) as i64)
            .collect()
    };
    let r = site
        .post("/api/search_recordings", Some(&admin), &seconds(""))
        .await;
    assert_eq!(order(&r), [90, 30, 60], "newest first");
    let r = site
        .post("/api/search_recordings", Some(&admin), &seconds("seconds"))
        .await;
    assert_eq!(order(&r), [30, 60, 90]);
    let r = site
        .post("/api/search_recordings", Some(&admin), &seconds("-seconds"))
        .await;
    assert_eq!(order(&r), [90, 60, 30]);
    let r = site
        .post("/api/search_recordings", Some(&admin), &seconds("1;--"))
        .await;
    assert_eq!(order(&r), [90, 30, 60], "unknown key: the default");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn audit_log_pages_by_key_and_sorts(pool: PgPool) {
    use dialtone_admin::server::audit::{self, AuditQuery};
    for i in 1..=7 {
        let action = if i % 2 == 0 { "update" } else { "create" };
        audit::write(
            &pool,
            None,
            None,
            action,
            "thing",
            Some(i.to_string()),
            None,
            None,
        )
        .await
        .expect("write");
    }
    let ids = |rows: &[dialtone_admin::model::AuditRow]| -> Vec<String> {
        rows.iter()
            .map(|r| r.entity_id.clone().unwrap_or_default())
            .collect()
    };
    let q = |sort: &str, page: u32, after: Option<i64>, before: Option<i64>| AuditQuery {
        entity: "thing".into(),
        user: String::new(),
        sort: sort.into(),
        page,
        after,
        before,
    };
    // Newest first, three a page, each next page from the last id seen.
    let (first, total) = audit::page(&pool, &q("", 1, None, None), 3)
        .await
        .expect("page");
    assert_eq!(ids(&first), ["7", "6", "5"]);
    assert_eq!(total, 4, "one more than seen: there is a next page");
    let (second, _) = audit::page(&pool, &q("", 2, Some(first[2].id), None), 3)
        .await
        .expect("page");
    assert_eq!(ids(&second), ["4", "3", "2"]);
    let (third, total) = audit::page(&pool, &q("", 3, Some(second[2].id), None), 3)
        .await
        .expect("page");
    assert_eq!(ids(&third), ["1"]);
    assert_eq!(total, 7, "the end");
    // And back, from the first id of a page.
    let (back, _) = audit::page(&pool, &q("", 2, None, Some(third[0].id)), 3)
        .await
        .expect("page");
    assert_eq!(ids(&back), ["4", "3", "2"]);
    // Oldest first pages by key too.
    let (oldest, _) = audit::page(&pool, &q("at", 1, None, None), 3)
        .await
        .expect("page");
    assert_eq!(ids(&oldest), ["1", "2", "3"]);
    let (next, _) = audit::page(&pool, &q("at", 2, Some(oldest[2].id), None), 3)
        .await
        .expect("page");
    assert_eq!(ids(&next), ["4", "5", "6"]);
    // Another column: offset pages, newest first within equal values.
    let (by_action, _) = audit::page(&pool, &q("action", 1, None, None), 3)
        .await
        .expect("page");
    assert_eq!(ids(&by_action), ["7", "5", "3"]);
    let (by_action_desc, _) = audit::page(&pool, &q("-action", 1, None, None), 3)
        .await
        .expect("page");
    assert_eq!(ids(&by_action_desc), ["6", "4", "2"]);
    let (unknown, _) = audit::page(&pool, &q("nope", 1, None, None), 3)
        .await
        .expect("page");
    assert_eq!(ids(&unknown), ["7", "6", "5"]);

    // The page's links carry the cursors.
    let site = Site::new(pool.clone()).await;
    let (_, admin) = site
        .user("ana", dialtone_core::vocabulary::Role::Admin)
        .await;
    for i in 8..=60 {
        audit::write(
            &pool,
            None,
            None,
            "create",
            "thing",
            Some(i.to_string()),
            None,
            None,
        )
        .await
        .expect("write");
    }
    let page = site.get("/audit?entity=thing", Some(&admin)).await;
    assert!(page.body.contains("after="), "{}", page.body);
    assert!(page.body.contains("sort=at"), "{}", page.body);
    let page = site
        .get("/audit?entity=thing&sort=-action", Some(&admin))
        .await;
    assert_eq!(page.status, StatusCode::OK);
}

/// A supervisor's API token. They are staff, but the reference data is the admins' alone.
async fn supervisor_token(site: &Site) -> String {
    let (id, _) = site
        .user("sam", dialtone_core::vocabulary::Role::Supervisor)
        .await;
    session::issue_api_token(&site.pool, id, "t")
        .await
        .expect("token")
}

/// A step that builds the state a test then asserts on: if it fails, the test means nothing.
async fn given(site: &Site, method: &str, path: &str, token: &str, body: Value) -> Value {
    let r = site.api(method, path, token, Some(body)).await;
    assert!(
        r.status.is_success(),
        "given {method} {path}: {} {}",
        r.status,
        r.body
    );
    parse(&r)
}

/// A status the campaign-code tests offer with a hotkey.
fn hot() -> Value {
    json!({"code": "HOT", "name": "Hot lead", "category": "contact", "flags": ["selectable", "customer_contact"]})
}

fn coffee() -> Value {
    json!({"code": "COFFEE", "name": "Coffee"})
}

/// What a campaign offers: HOT with a hotkey sent as text, NI without one, two breaks.
fn offer() -> Value {
    json!({
    "dispositions": [{"code": "SALE", "hotkey": 1}, {"code": "HOT", "hotkey": "2"}, {"code": "NI"}],
    "pause_codes": ["COFFEE", "BREAK"]})
}

fn weekdays() -> Value {
    json!({"name": "Weekdays", "description": "9 to 5", "windows": [
    {"weekday": 1, "opens": "09:00", "closes": "17:00"}, {"weekday": 5, "opens": "09:00", "closes": "13:00"}]})
}

fn new_year() -> Value {
    json!({"name": "New Year", "day": "2027-01-01"})
}

fn florida() -> Value {
    json!({"state": "FL", "opens": "08:00", "closes": "20:00", "max_attempts_24h": 3, "citation": "Fla. Stat. 501.616"})
}

/// Clients learn the API from the document: a path missing there is one they cannot find.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_api_document_names_every_reference_data_path(pool: PgPool) {
    let site = Site::new(pool).await;
    let spec = parse(&site.get("/api/v1/openapi.json", None).await);
    for path in [
        "/api/v1/campaigns/{id}/codes",
        "/api/v1/statuses",
        "/api/v1/statuses/{code}",
        "/api/v1/pause-codes",
        "/api/v1/pause-codes/{code}",
        "/api/v1/call-times",
        "/api/v1/call-times/{id}",
        "/api/v1/holidays",
        "/api/v1/holidays/{id}",
        "/api/v1/calling-rules",
        "/api/v1/lists/{id}/upload",
        "/api/v1/uploads/{id}",
        "/api/v1/uploads/{id}/start",
    ] {
        assert!(
            spec["paths"][path].is_object(),
            "{path} missing from openapi.json"
        );
    }
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_admin_creates_a_status_that_the_list_then_shows(pool: PgPool) {
    let site = Site::new(pool).await;
    let api = admin_token(&site, "ana").await;
    let r = site
        .api("POST", "/api/v1/statuses", &api, Some(hot()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let statuses = parse(&site.api("GET", "/api/v1/statuses", &api, None).await);
    assert!(statuses
        .as_array()
        .is_some_and(|a| a.iter().any(|s| s["code"] == "HOT")));
}

/// A refusal names its field, so a client can show it next to the input.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_status_with_an_unknown_category_is_refused_naming_the_field(pool: PgPool) {
    let site = Site::new(pool).await;
    let api = admin_token(&site, "ana").await;
    given(&site, "POST", "/api/v1/statuses", &api, hot()).await;
    let r = site
        .api(
            "POST",
            "/api/v1/statuses",
            &api,
            Some(json!({"code": "HOT", "name": "Hot", "category": "warm"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(parse(&r)["fields"]["category"].is_string(), "{}", r.body);
}

/// Flags are a closed set: a typo is refused, not silently dropped.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_status_update_with_an_unknown_flag_is_refused_naming_it(pool: PgPool) {
    let site = Site::new(pool).await;
    let api = admin_token(&site, "ana").await;
    given(&site, "POST", "/api/v1/statuses", &api, hot()).await;
    let r = site
        .api(
            "PUT",
            "/api/v1/statuses/HOT",
            &api,
            Some(json!({"flags": ["selectable", "sale", "bogus"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        parse(&r)["fields"]["flags"]
            .as_str()
            .is_some_and(|m| m.contains("bogus")),
        "{}",
        r.body
    );
}

/// An update sends only what changes: fields left out keep their value.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_status_update_replaces_the_flags_and_keeps_the_name(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let api = admin_token(&site, "ana").await;
    given(&site, "POST", "/api/v1/statuses", &api, hot()).await;
    let r = site
        .api(
            "PUT",
            "/api/v1/statuses/HOT",
            &api,
            Some(json!({"flags": ["selectable", "sale"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let (name, sale, contact): (String, bool, bool) =
        sqlx::query_as("SELECT name, sale, customer_contact FROM statuses WHERE code = 'HOT'")
            .fetch_one(&pool)
            .await
            .expect("status");
    assert_eq!(
        (name.as_str(), sale, contact),
        ("Hot lead", true, false),
        "the name kept, the flags replaced"
    );
}

/// An update does not create: a mistyped code is not a new status.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn updating_a_status_that_does_not_exist_is_not_found(pool: PgPool) {
    let site = Site::new(pool).await;
    let api = admin_token(&site, "ana").await;
    let r = site
        .api(
            "PUT",
            "/api/v1/statuses/NOSUCH",
            &api,
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// Statuses and calling rules apply to every campaign, so only admins read or change them.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn supervisors_are_refused_system_wide_reference_data(pool: PgPool) {
    let site = Site::new(pool).await;
    let sup = supervisor_token(&site).await;
    assert_eq!(
        site.api("GET", "/api/v1/statuses", &sup, None).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        site.api(
            "POST",
            "/api/v1/statuses",
            &sup,
            Some(json!({"code": "SUP", "name": "x", "category": "other"}))
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        site.api("GET", "/api/v1/calling-rules", &sup, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_admin_creates_a_pause_code_then_makes_it_billable(pool: PgPool) {
    let site = Site::new(pool).await;
    let api = admin_token(&site, "ana").await;
    let r = site
        .api("POST", "/api/v1/pause-codes", &api, Some(coffee()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = site
        .api(
            "PUT",
            "/api/v1/pause-codes/COFFEE",
            &api,
            Some(json!({"billable": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let codes = parse(&site.api("GET", "/api/v1/pause-codes", &api, None).await);
    assert!(
        codes.as_array().is_some_and(|a| a
            .iter()
            .any(|p| p["code"] == "COFFEE" && p["billable"] == true)),
        "{codes}"
    );
}

/// Every bad field is named at once, not one per attempt.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_pause_code_with_a_bad_code_and_no_name_is_refused_naming_both(pool: PgPool) {
    let site = Site::new(pool).await;
    let api = admin_token(&site, "ana").await;
    let r = site
        .api(
            "POST",
            "/api/v1/pause-codes",
            &api,
            Some(json!({"code": "bad code!", "name": ""})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = &parse(&r)["fields"];
    assert!(
        fields["code"].is_string() && fields["name"].is_string(),
        "{}",
        r.body
    );
}

/// Agents press hotkeys 1 to 9: a key they do not have is refused, naming its code.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_campaign_hotkey_out_of_range_is_refused_naming_the_code(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let api = admin_token(&site, "ana").await;
    let camp = campaign(&pool, "Codes").await;
    given(&site, "POST", "/api/v1/statuses", &api, hot()).await;
    given(&site, "POST", "/api/v1/pause-codes", &api, coffee()).await;
    let r = site
        .api(
            "PUT",
            &format!("/api/v1/campaigns/{camp}/codes"),
            &api,
            Some(json!({
        "dispositions": [{"code": "SALE", "hotkey": 1}, {"code": "HOT", "hotkey": 12}],
        "pause_codes": ["COFFEE"]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(parse(&r)["fields"]["hotkey:HOT"].is_string(), "{}", r.body);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_campaign_offers_agents_the_chosen_codes_with_their_hotkeys(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let api = admin_token(&site, "ana").await;
    let camp = campaign(&pool, "Codes").await;
    given(&site, "POST", "/api/v1/statuses", &api, hot()).await;
    given(&site, "POST", "/api/v1/pause-codes", &api, coffee()).await;
    let codes = format!("/api/v1/campaigns/{camp}/codes");
    let r = site.api("PUT", &codes, &api, Some(offer())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let offered = parse(&site.api("GET", &codes, &api, None).await);
    let hot = offered["dispositions"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["code"] == "HOT"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (hot["offered"].clone(), hot["hotkey"].clone()),
        (json!(true), json!(2)),
        "{offered}"
    );
    let breaks = offered["pause_codes"]
        .as_array()
        .map(|p| p.iter().filter(|p| p["offered"] == true).count());
    assert_eq!(breaks, Some(2));
}

/// A campaign not granted to a supervisor does not exist for them: not even a 403 says it does.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_supervisor_does_not_see_the_codes_of_a_campaign_not_granted_to_them(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let sup = supervisor_token(&site).await;
    let camp = campaign(&pool, "Codes").await;
    assert_eq!(
        site.api(
            "GET",
            &format!("/api/v1/campaigns/{camp}/codes"),
            &sup,
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND,
        "not granted: not visible"
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_call_time_with_a_weekday_out_of_range_is_refused(pool: PgPool) {
    let site = Site::new(pool).await;
    let api = admin_token(&site, "ana").await;
    let r = site.api("POST", "/api/v1/call-times", &api, Some(json!({"name": "Bad", "windows": [{"weekday": 8, "opens": "09:00", "closes": "17:00"}]}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(parse(&r)["fields"]["windows"].is_string(), "{}", r.body);
}

/// The refusal names the day, the row of the week the admin has to fix.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_call_time_window_closing_before_it_opens_is_refused_naming_the_day(pool: PgPool) {
    let site = Site::new(pool).await;
    let api = admin_token(&site, "ana").await;
    let ct = given(&site, "POST", "/api/v1/call-times", &api, weekdays()).await["id"]
        .as_i64()
        .expect("id");
    let r = site
        .api(
            "PUT",
            &format!("/api/v1/call-times/{ct}"),
            &api,
            Some(json!({"windows": [{"weekday": 2, "opens": "17:00", "closes": "09:00"}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(parse(&r)["fields"]["day:2"].is_string(), "{}", r.body);
}

/// The windows sent are the whole week: days left out are closed, not kept.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_call_time_update_replaces_the_week_and_keeps_the_description(pool: PgPool) {
    let site = Site::new(pool).await;
    let api = admin_token(&site, "ana").await;
    let r = site
        .api("POST", "/api/v1/call-times", &api, Some(weekdays()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let ct = parse(&r)["id"].as_i64().expect("id");
    let r = site
        .api(
            "PUT",
            &format!("/api/v1/call-times/{ct}"),
            &api,
            Some(json!({"windows": [{"weekday": 2, "opens": "10:00", "closes": "16:00"}]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let times = parse(&site.api("GET", "/api/v1/call-times", &api, None).await);
    let weekdays = times
        .as_array()
        .and_then(|t| t.iter().find(|t| t["id"] == ct))
        .map(|t| t["windows"].clone());
    assert_eq!(weekdays, Some(json!([[2, "10:00", "16:00"]])));
    assert_eq!(
        times
            .as_array()
            .and_then(|t| t.iter().find(|t| t["id"] == ct))
            .map(|t| t["description"].clone()),
        Some(json!("9 to 5"))
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_admin_creates_a_holiday_that_the_list_then_shows(pool: PgPool) {
    let site = Site::new(pool).await;
    let api = admin_token(&site, "ana").await;
    let r = site
        .api("POST", "/api/v1/holidays", &api, Some(new_year()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let holiday = parse(&r)["id"].as_i64().expect("id");
    let listed = parse(&site.api("GET", "/api/v1/holidays", &api, None).await);
    assert!(listed
        .as_array()
        .is_some_and(|h| h.iter().any(|h| h["id"] == holiday)));
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_holiday_with_a_bad_day_and_state_is_refused_naming_both(pool: PgPool) {
    let site = Site::new(pool).await;
    let api = admin_token(&site, "ana").await;
    let r = site
        .api(
            "POST",
            "/api/v1/holidays",
            &api,
            Some(json!({"name": "Someday", "day": "soon", "state": "Texas"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = &parse(&r)["fields"];
    assert!(
        fields["day"].is_string() && fields["state"].is_string(),
        "{}",
        r.body
    );
}

/// A body that does not fit is 422 too, naming the field, not a bare 400.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_holiday_without_a_day_is_refused_as_required(pool: PgPool) {
    let site = Site::new(pool).await;
    let api = admin_token(&site, "ana").await;
    let r = site
        .api(
            "POST",
            "/api/v1/holidays",
            &api,
            Some(json!({"name": "No day"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(parse(&r)["fields"]["day"], "required", "{}", r.body);
}

/// A field of the wrong JSON type is named like any other bad field.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_holiday_whose_call_time_is_not_an_id_is_refused_naming_it(pool: PgPool) {
    let site = Site::new(pool).await;
    let api = admin_token(&site, "ana").await;
    let r = site
        .api(
            "POST",
            "/api/v1/holidays",
            &api,
            Some(json!({"name": "x", "day": "2027-01-02", "call_time_id": "soon"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        parse(&r)["fields"]["call_time_id"].is_string(),
        "{}",
        r.body
    );
}

/// A repeated delete tells the client it is gone rather than pretending to delete it again.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_deleted_holiday_is_not_found_the_second_time(pool: PgPool) {
    let site = Site::new(pool).await;
    let api = admin_token(&site, "ana").await;
    let holiday = given(&site, "POST", "/api/v1/holidays", &api, new_year()).await["id"]
        .as_i64()
        .expect("id");
    assert_eq!(
        site.api("DELETE", &format!("/api/v1/holidays/{holiday}"), &api, None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        site.api("DELETE", &format!("/api/v1/holidays/{holiday}"), &api, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_admin_sets_a_states_calling_rule_that_the_list_then_shows(pool: PgPool) {
    let site = Site::new(pool).await;
    let api = admin_token(&site, "ana").await;
    let r = site
        .api("POST", "/api/v1/calling-rules", &api, Some(florida()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let rules = parse(&site.api("GET", "/api/v1/calling-rules", &api, None).await);
    assert!(
        rules.as_array().is_some_and(|r| r
            .iter()
            .any(|r| r["state"] == "FL" && r["max_attempts_24h"] == 3)),
        "{rules}"
    );
}

/// No limit is an empty field: a zero would block every call into the state, so it is refused.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_calling_rule_allowing_no_attempts_is_refused(pool: PgPool) {
    let site = Site::new(pool).await;
    let api = admin_token(&site, "ana").await;
    given(&site, "POST", "/api/v1/calling-rules", &api, florida()).await;
    let r = site
        .api(
            "POST",
            "/api/v1/calling-rules",
            &api,
            Some(
                json!({"state": "FL", "opens": "08:00", "closes": "20:00", "max_attempts_24h": 0}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        parse(&r)["fields"]["max_attempts_24h"].is_string(),
        "{}",
        r.body
    );
}

/// Changes through the API answer to the same audit as the pages: who changed what.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn each_reference_data_change_is_audited_under_the_tokens_user(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let api = admin_token(&site, "ana").await;
    let camp = campaign(&pool, "Codes").await;
    given(&site, "POST", "/api/v1/statuses", &api, hot()).await;
    given(&site, "POST", "/api/v1/pause-codes", &api, coffee()).await;
    let codes = format!("/api/v1/campaigns/{camp}/codes");
    given(&site, "PUT", &codes, &api, offer()).await;
    given(&site, "POST", "/api/v1/call-times", &api, weekdays()).await;
    given(&site, "POST", "/api/v1/holidays", &api, new_year()).await;
    given(&site, "POST", "/api/v1/calling-rules", &api, florida()).await;
    let audited: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT entity FROM audit_log WHERE user_id IS NOT NULL ORDER BY entity",
    )
    .fetch_all(&pool)
    .await
    .expect("audit");
    for entity in [
        "call_time",
        "calling_rule",
        "campaign_codes",
        "holiday",
        "pause_code",
        "status",
    ] {
        assert!(
            audited.iter().any(|e| e == entity),
            "{entity} not audited: {audited:?}"
        );
    }
}

/// Three leads: two good numbers and one that is not a number.
const LEADS_CSV: &[u8] =
    b"Tel,Given,Tier\n(201) 555-0123,Ana,gold\nnot a number,Bo,\n(312) 555-0199,Cy,silver\n";

/// A file posted as the raw request body, as a script sends it with curl.
fn raw_upload(path: &str, token: &str, body: &'static [u8]) -> Request<Body> {
    Request::post(path)
        .header(header::HOST, HOST)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "text/csv")
        .body(Body::from(body))
        .expect("request")
}

/// An admin's API token, and a list to upload to.
async fn upload_world(site: &Site) -> (String, i64) {
    let api = admin_token(site, "ana").await;
    let list = dialtone_core::lists::create(&site.pool, "Api upload", None, "US")
        .await
        .expect("list");
    (api, list)
}

/// The leads file uploaded to `list` and waiting for its mapping: its upload id.
async fn uploaded(site: &Site, api: &str, list: i64) -> String {
    let path = format!("/api/v1/lists/{list}/upload?name=spring.csv");
    let r = site.send(raw_upload(&path, api, LEADS_CSV)).await;
    assert!(r.status.is_success(), "given an upload: {}", r.body);
    parse(&r)["upload_id"].as_str().expect("id").to_string()
}

/// A mapping that imports the leads file: the given name, the tier kept as a custom field.
fn mapping() -> Value {
    json!({"mapping": {"Given": "first_name", "Tier": "custom"}, "duplicates": "skip"})
}

/// Loading leads is an admin's job: a supervisor's token is refused at both steps.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_supervisor_can_neither_upload_leads_nor_start_an_import(pool: PgPool) {
    let site = Site::new(pool).await;
    let (api, list) = upload_world(&site).await;
    let sup = supervisor_token(&site).await;
    let r = site
        .send(raw_upload(
            &format!("/api/v1/lists/{list}/upload"),
            &sup,
            LEADS_CSV,
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let id = uploaded(&site, &api, list).await;
    let start = format!("/api/v1/uploads/{id}/start");
    assert_eq!(
        site.api("POST", &start, &sup, Some(json!({}))).await.status,
        StatusCode::FORBIDDEN
    );
}

/// The refusal names the file, so a client knows it sent the wrong one, not a bad row.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_upload_that_is_not_csv_text_is_refused_naming_the_file(pool: PgPool) {
    let site = Site::new(pool).await;
    let (api, list) = upload_world(&site).await;
    let r = site
        .send(raw_upload(
            &format!("/api/v1/lists/{list}/upload"),
            &api,
            b"PK\x03\x04\x00binary",
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        parse(&r)["fields"]["file"]
            .as_str()
            .is_some_and(|m| m.contains("not a CSV")),
        "{}",
        r.body
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_upload_to_an_unknown_list_is_not_found(pool: PgPool) {
    let site = Site::new(pool).await;
    let (api, _) = upload_world(&site).await;
    let r = site
        .send(raw_upload("/api/v1/lists/999999/upload", &api, LEADS_CSV))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// Nothing is imported yet: the client sees the columns as recognised and may correct them.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_upload_waits_for_its_mapping_with_the_columns_recognised(pool: PgPool) {
    let site = Site::new(pool).await;
    let (api, list) = upload_world(&site).await;
    let r = site
        .send(raw_upload(
            &format!("/api/v1/lists/{list}/upload?name=spring.csv"),
            &api,
            LEADS_CSV,
        ))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let upload = parse(&r);
    assert_eq!(upload["state"], "Mapping");
    assert_eq!(upload["columns"][0], json!(["Tel", "phone"]));
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_mapping_to_an_unknown_field_is_refused_naming_the_column(pool: PgPool) {
    let site = Site::new(pool).await;
    let (api, list) = upload_world(&site).await;
    let id = uploaded(&site, &api, list).await;
    let start = format!("/api/v1/uploads/{id}/start");
    let r = site
        .api(
            "POST",
            &start,
            &api,
            Some(json!({"mapping": {"Tier": "shoe_size"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        parse(&r)["fields"]["mapping.Tier"].is_string(),
        "{}",
        r.body
    );
}

/// Headers not named keep the field their name suggests: naming another `phone` makes two.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_mapping_with_two_phone_columns_is_refused(pool: PgPool) {
    let site = Site::new(pool).await;
    let (api, list) = upload_world(&site).await;
    let id = uploaded(&site, &api, list).await;
    let start = format!("/api/v1/uploads/{id}/start");
    let r = site
        .api(
            "POST",
            &start,
            &api,
            Some(json!({"mapping": {"Given": "phone"}})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "two phone columns"
    );
    assert!(parse(&r)["fields"]["mapping"].is_string(), "{}", r.body);
}

/// The import runs in the background: the client polls until it is done, then counts.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_import_inserts_the_good_rows_rejects_the_bad_and_is_audited(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let (api, list) = upload_world(&site).await;
    let id = uploaded(&site, &api, list).await;
    let start = format!("/api/v1/uploads/{id}/start");
    let r = site.api("POST", &start, &api, Some(mapping())).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let mut done = Value::Null;
    for _ in 0..100 {
        let state = parse(
            &site
                .api("GET", &format!("/api/v1/uploads/{id}"), &api, None)
                .await,
        )["state"]
            .clone();
        if state.get("Done").is_some() {
            done = state["Done"].clone();
            break;
        }
        assert!(state.get("Failed").is_none(), "{state}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(done["inserted"], 2, "{done}");
    assert_eq!(done["rejected"], 1, "{done}");
    let names: Vec<String> =
        sqlx::query_scalar("SELECT first_name FROM leads WHERE list_id = $1 ORDER BY first_name")
            .bind(list)
            .fetch_all(&pool)
            .await
            .expect("leads");
    assert_eq!(names, ["Ana", "Cy"]);
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'import' AND entity = 'list' AND entity_id = $1")
        .bind(list.to_string()).fetch_one(&pool).await.expect("audit");
    assert_eq!(audited, 1);
}

/// A retried start must not import the file twice.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_import_cannot_be_started_twice(pool: PgPool) {
    let site = Site::new(pool).await;
    let (api, list) = upload_world(&site).await;
    let id = uploaded(&site, &api, list).await;
    let start = format!("/api/v1/uploads/{id}/start");
    given(&site, "POST", &start, &api, mapping()).await;
    assert_eq!(
        site.api("POST", &start, &api, Some(json!({}))).await.status,
        StatusCode::CONFLICT
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_unknown_upload_is_not_found(pool: PgPool) {
    let site = Site::new(pool).await;
    let (api, _) = upload_world(&site).await;
    assert_eq!(
        site.api("GET", "/api/v1/uploads/nosuch", &api, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

/// Clients that post files as browsers do get the same upload, named after the file.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_multipart_upload_is_taken_under_its_files_name(pool: PgPool) {
    let site = Site::new(pool).await;
    let (api, list) = upload_world(&site).await;
    let boundary = "XapiX";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"more.csv\"\r\nContent-Type: text/csv\r\n\r\nphone\n2025550111\n\r\n--{boundary}--\r\n").as_bytes());
    let r = site
        .send(
            Request::post(format!("/api/v1/lists/{list}/upload"))
                .header(header::HOST, HOST)
                .header(header::AUTHORIZATION, format!("Bearer {api}"))
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(Body::from(body))
                .expect("request"),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(parse(&r)["file_name"], "more.csv");
}

/// A supervisor granted `mine` but not `theirs`, signed in and with an API token.
struct Granted {
    id: i64,
    browser: String,
    token: String,
    mine: i64,
    theirs: i64,
}

async fn granted(site: &Site) -> Granted {
    let (id, browser) = site
        .user("sam", dialtone_core::vocabulary::Role::Supervisor)
        .await;
    let token = session::issue_api_token(&site.pool, id, "t")
        .await
        .expect("token");
    let mine = campaign(&site.pool, "Mine").await;
    let theirs = campaign(&site.pool, "Theirs").await;
    dialtone_core::campaigns::grant(&site.pool, id, mine)
        .await
        .expect("grant");
    Granted {
        id,
        browser,
        token,
        mine,
        theirs,
    }
}

/// A campaign's version: it changes with every save, so an unchanged one means nothing saved.
async fn version(pool: &PgPool, id: i64) -> String {
    sqlx::query_scalar::<_, String>("SELECT updated_at::text FROM campaigns WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("version")
}

async fn dial_ratio(pool: &PgPool, id: i64) -> f64 {
    sqlx::query_scalar::<_, f64>("SELECT dial_ratio::float8 FROM campaigns WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("ratio")
}

/// Campaign `id`'s settings form as read by `browser`, filled in with a dial ratio of 2.5:
/// the version it was read at, and the body that saves it.
async fn settings_form(site: &Site, browser: &str, id: i64) -> (String, String) {
    let r = site
        .post("/api/get_campaign", Some(browser), &format!("id={id}"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let form = parse(&r);
    let read_at = form["version"].as_str().expect("version").to_string();
    let mut body = format!("id={id}&version={}", urlencode(&read_at));
    for pair in form["values"].as_array().expect("values") {
        let (k, v) = (
            pair[0].as_str().unwrap_or(""),
            pair[1].as_str().unwrap_or(""),
        );
        let v = if k == "dial_ratio" { "2.5" } else { v };
        body.push_str(&format!("&values[{k}]={}", urlencode(v)));
    }
    (read_at, body)
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_supervisor_saves_their_campaigns_settings_under_their_name(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let sam = granted(&site).await;
    let (_, body) = settings_form(&site, &sam.browser, sam.mine).await;
    let r = site
        .post("/api/save_campaign", Some(&sam.browser), &body)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("\"Ok\""), "{}", r.body);
    assert_eq!(dial_ratio(&pool, sam.mine).await, 2.5);
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE user_id = $1 AND entity = 'campaign' AND entity_id = $2 AND action = 'update'")
        .bind(sam.id).bind(sam.mine.to_string()).fetch_one(&pool).await.expect("audit");
    assert_eq!(audited, 1);
}

/// Refused before anything is written: the campaign keeps its settings and its version.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_supervisor_cannot_change_a_campaign_not_granted_to_them(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let sam = granted(&site).await;
    let (read_at, body) = settings_form(&site, &sam.browser, sam.mine).await;
    let before = (
        dial_ratio(&pool, sam.theirs).await,
        version(&pool, sam.theirs).await,
    );
    let other = body.replace(&format!("id={}", sam.mine), &format!("id={}", sam.theirs));
    let other = other.replace(&urlencode(&read_at), &urlencode(&before.1));
    let r = site
        .post("/api/save_campaign", Some(&sam.browser), &other)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(
        (
            dial_ratio(&pool, sam.theirs).await,
            version(&pool, sam.theirs).await
        ),
        before
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_agent_cannot_save_campaign_settings(pool: PgPool) {
    let site = Site::new(pool).await;
    let sam = granted(&site).await;
    let (_, agent) = site
        .user("alex", dialtone_core::vocabulary::Role::Agent)
        .await;
    let (_, body) = settings_form(&site, &sam.browser, sam.mine).await;
    let r = site.post("/api/save_campaign", Some(&agent), &body).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_supervisor_switches_on_their_campaign_but_not_another(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let sam = granted(&site).await;
    let r = site
        .post(
            "/api/set_campaign_active",
            Some(&sam.browser),
            &format!("id={}&active=true", sam.mine),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = site
        .post(
            "/api/set_campaign_active",
            Some(&sam.browser),
            &format!("id={}&active=true", sam.theirs),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let active: Vec<bool> =
        sqlx::query_scalar("SELECT active FROM campaigns WHERE id IN ($1, $2) ORDER BY id")
            .bind(sam.mine)
            .bind(sam.theirs)
            .fetch_all(&pool)
            .await
            .expect("active");
    assert_eq!(active, [true, false]);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_supervisor_chooses_what_their_campaign_offers_agents(pool: PgPool) {
    let site = Site::new(pool).await;
    let sam = granted(&site).await;
    let r = site
        .post(
            "/api/set_campaign_codes",
            Some(&sam.browser),
            &format!(
                "campaign={}&offer[disposition:SALE]=on&offer[hotkey:SALE]=3",
                sam.mine
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("\"Ok\""), "{}", r.body);
}

/// A supervisor runs the campaigns they are given; creating them, and whatever every campaign
/// shares, stays with the admins.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_supervisor_cannot_create_copy_or_change_anything_system_wide(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let sam = granted(&site).await;
    let mine = sam.mine;
    for (path, form) in [
        (
            "/api/create_campaign",
            "name=Fresh&dial_method=ratio".to_string(),
        ),
        ("/api/clone_campaign", format!("id={mine}&name=Copy")),
        (
            "/api/create_user",
            "username=newbie&display_name=&role=agent".into(),
        ),
        (
            "/api/add_dnc",
            "number=2015550123&country=US&campaign_id=&note=".into(),
        ),
        ("/api/save_status", "code=SUPX&name=x&category=other".into()),
        ("/api/save_pause_code", "code=SUPX&name=x".into()),
        ("/api/save_call_time", "name=Sup&description=".into()),
        (
            "/api/save_rule",
            "country=US&state=TX&opens=09%3A00&closes=20%3A00&max_attempts_24h=&citation=".into(),
        ),
        (
            "/api/add_holiday",
            "name=x&day=2027-01-01&state=&call_time=".into(),
        ),
        ("/api/create_list", "name=L&campaign_id=&country=US".into()),
    ] {
        let r = site.post(path, Some(&sam.browser), &form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
    }
    let campaigns: i64 = sqlx::query_scalar("SELECT count(*) FROM campaigns")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(campaigns, 2);
}

/// The API grants a supervisor what the pages do.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_supervisor_runs_their_campaign_through_the_api(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let sam = granted(&site).await;
    let campaign = format!("/api/v1/campaigns/{}", sam.mine);
    let active = format!("{campaign}/active");
    given(&site, "POST", &active, &sam.token, json!({"active": true})).await;
    let current = parse(&site.api("GET", &campaign, &sam.token, None).await);
    let r = site
        .api(
            "PUT",
            &campaign,
            &sam.token,
            Some(json!({"version": current["version"], "values": {"dial_ratio": 3}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(dial_ratio(&pool, sam.mine).await, 3.0);
    let r = site
        .api("POST", &active, &sam.token, Some(json!({"active": false})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// The API is no way around the pages' limits: what they refuse, it refuses.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_supervisor_cannot_change_another_campaign_or_create_one_through_the_api(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let sam = granted(&site).await;
    let theirs = format!("/api/v1/campaigns/{}", sam.theirs);
    let before = (
        dial_ratio(&pool, sam.theirs).await,
        version(&pool, sam.theirs).await,
    );
    let r = site
        .api(
            "PUT",
            &theirs,
            &sam.token,
            Some(json!({"version": before.1, "values": {"dial_ratio": 3}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = site
        .api(
            "POST",
            &format!("{theirs}/active"),
            &sam.token,
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = site
        .api(
            "POST",
            "/api/v1/campaigns",
            &sam.token,
            Some(json!({"name": "Nope", "dial_method": "ratio"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        (
            dial_ratio(&pool, sam.theirs).await,
            version(&pool, sam.theirs).await
        ),
        before,
        "theirs untouched"
    );
}

/// The pages offer only what the server allows: no buttons that answer 403.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_supervisors_campaign_pages_offer_save_but_neither_copy_nor_new(pool: PgPool) {
    let site = Site::new(pool).await;
    let sam = granted(&site).await;
    let page = site
        .get(&format!("/campaigns/{}", sam.mine), Some(&sam.browser))
        .await;
    assert!(
        page.body.contains("Save settings") && !page.body.contains("Copy campaign"),
        "{}",
        page.body
    );
    let page = site.get("/campaigns", Some(&sam.browser)).await;
    assert!(!page.body.contains("New campaign"), "{}", page.body);
}

/// The supervisor's pages hide Copy and New for their role, not for everyone.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_admins_campaign_pages_offer_copy_and_new(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let mine = campaign(&pool, "Mine").await;
    let (_, admin) = site
        .user("ana", dialtone_core::vocabulary::Role::Admin)
        .await;
    let page = site.get(&format!("/campaigns/{mine}"), Some(&admin)).await;
    assert!(page.body.contains("Copy campaign"), "{}", page.body);
    let page = site.get("/campaigns", Some(&admin)).await;
    assert!(page.body.contains("New campaign"), "{}", page.body);
}

/// Pages keep rendering while another router is being built in the same process: generating
/// the route list stalls every resource created meanwhile (a process-wide flag in Leptos), so
/// the list is generated once. A CI run hung on this before.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn pages_render_while_other_routers_are_built(pool: PgPool) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let site = Site::new(pool.clone()).await;
    let (_, admin) = site
        .user("ana", dialtone_core::vocabulary::Role::Admin)
        .await;
    let stop = Arc::new(AtomicBool::new(false));
    let builder = std::thread::spawn({
        let (stop, pool) = (stop.clone(), pool.clone());
        move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let mut built = 0u32;
            while !stop.load(Ordering::Relaxed) {
                drop(runtime.block_on(Site::new(pool.clone())));
                built += 1;
            }
            built
        }
    });
    for _ in 0..30 {
        let page = tokio::time::timeout(
            Duration::from_secs(10),
            site.get("/campaigns", Some(&admin)),
        )
        .await
        .expect("the page rendered while routers were being built");
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    }
    stop.store(true, Ordering::Relaxed);
    let built = builder.join().expect("builder");
    assert!(built > 0, "routers were built meanwhile");
}
