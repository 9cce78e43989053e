//! What issue 6 left: tables sorted on the server (leads, DNC, recordings, the audit log), the
//! JSON API's reference data and lead uploads, and supervisors running their own campaigns.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's helpers fail the test as its #[test]s do
#![cfg(feature = "ssr")]

mod common;

use common::*;
use serde_json::{json, Value};

fn parse(r: &Reply) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {} {}", r.status, r.body))
}

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

async fn admin_token(site: &Site, name: &str) -> String {
    let (id, _) = site.user(name, dialtone_core::users::Role::Admin).await;
    session::issue_api_token(&site.pool, id, "test")
        .await
        .expect("token")
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn tables_sort_on_the_server(pool: PgPool) {
    use dialtone_core::users::Role;
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
    let (_, admin) = site.user("ana", dialtone_core::users::Role::Admin).await;
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

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn api_reference_data(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let api = admin_token(&site, "ana").await;
    let (sup_id, _) = site
        .user("sam", dialtone_core::users::Role::Supervisor)
        .await;
    let sup = session::issue_api_token(&pool, sup_id, "t")
        .await
        .expect("token");
    let camp = campaign(&pool, "Codes").await;

    // The document names every new path.
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

    // Statuses: create, a bad field named, update flags only, supervisors refused.
    let r = site.api("POST", "/api/v1/statuses", &api, Some(json!({"code": "HOT", "name": "Hot lead", "category": "contact", "flags": ["selectable", "customer_contact"]}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
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
    let r = site
        .api(
            "PUT",
            "/api/v1/statuses/NOSUCH",
            &api,
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let statuses = parse(&site.api("GET", "/api/v1/statuses", &api, None).await);
    assert!(statuses
        .as_array()
        .is_some_and(|a| a.iter().any(|s| s["code"] == "HOT")));
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

    // Pause codes.
    let r = site
        .api(
            "POST",
            "/api/v1/pause-codes",
            &api,
            Some(json!({"code": "COFFEE", "name": "Coffee"})),
        )
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
    let codes = parse(&site.api("GET", "/api/v1/pause-codes", &api, None).await);
    assert!(
        codes.as_array().is_some_and(|a| a
            .iter()
            .any(|p| p["code"] == "COFFEE" && p["billable"] == true)),
        "{codes}"
    );

    // What a campaign offers, with hotkeys.
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
    let r = site.api("PUT", &format!("/api/v1/campaigns/{camp}/codes"), &api, Some(json!({
        "dispositions": [{"code": "SALE", "hotkey": 1}, {"code": "HOT", "hotkey": "2"}, {"code": "NI"}],
        "pause_codes": ["COFFEE", "BREAK"]}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let offered = parse(
        &site
            .api(
                "GET",
                &format!("/api/v1/campaigns/{camp}/codes"),
                &api,
                None,
            )
            .await,
    );
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

    // Call times with their week, holidays, calling rules.
    let r = site.api("POST", "/api/v1/call-times", &api, Some(json!({"name": "Weekdays", "description": "9 to 5", "windows": [
        {"weekday": 1, "opens": "09:00", "closes": "17:00"}, {"weekday": 5, "opens": "09:00", "closes": "13:00"}]}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let ct = parse(&r)["id"].as_i64().expect("id");
    let r = site.api("POST", "/api/v1/call-times", &api, Some(json!({"name": "Bad", "windows": [{"weekday": 8, "opens": "09:00", "closes": "17:00"}]}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(parse(&r)["fields"]["windows"].is_string(), "{}", r.body);
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

    let r = site
        .api(
            "POST",
            "/api/v1/holidays",
            &api,
            Some(json!({"name": "New Year", "day": "2027-01-01"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let holiday = parse(&r)["id"].as_i64().expect("id");
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
    // A body that does not fit is 422 too, naming the field.
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
    let listed = parse(&site.api("GET", "/api/v1/holidays", &api, None).await);
    assert!(listed
        .as_array()
        .is_some_and(|h| h.iter().any(|h| h["id"] == holiday)));
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

    let r = site.api("POST", "/api/v1/calling-rules", &api, Some(json!({"state": "FL", "opens": "08:00", "closes": "20:00", "max_attempts_24h": 3, "citation": "Fla. Stat. 501.616"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
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
    let rules = parse(&site.api("GET", "/api/v1/calling-rules", &api, None).await);
    assert!(
        rules.as_array().is_some_and(|r| r
            .iter()
            .any(|r| r["state"] == "FL" && r["max_attempts_24h"] == 3)),
        "{rules}"
    );
    assert_eq!(
        site.api("GET", "/api/v1/calling-rules", &sup, None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // Each change is in the audit log, by the token's user.
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

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn api_upload_imports_and_reports(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let api = admin_token(&site, "ana").await;
    let (sup_id, _) = site
        .user("sam", dialtone_core::users::Role::Supervisor)
        .await;
    let sup = session::issue_api_token(&pool, sup_id, "t")
        .await
        .expect("token");
    let list = dialtone_core::lists::create(&pool, "Api upload", None, "US")
        .await
        .expect("list");
    let raw = |path: &str, token: &str, body: &'static [u8]| {
        Request::post(path)
            .header(header::HOST, HOST)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from(body))
            .expect("request")
    };
    let csv: &[u8] =
        b"Tel,Given,Tier\n(201) 555-0123,Ana,gold\nnot a number,Bo,\n(312) 555-0199,Cy,silver\n";

    // Only admins upload; a file that is not CSV text is refused, naming the file.
    let r = site
        .send(raw(&format!("/api/v1/lists/{list}/upload"), &sup, csv))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = site
        .send(raw(
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
    let r = site
        .send(raw("/api/v1/lists/999999/upload", &api, csv))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The raw body: the columns as recognised, then start with one override.
    let r = site
        .send(raw(
            &format!("/api/v1/lists/{list}/upload?name=spring.csv"),
            &api,
            csv,
        ))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let upload = parse(&r);
    assert_eq!(upload["state"], "Mapping");
    assert_eq!(upload["columns"][0], json!(["Tel", "phone"]));
    let id = upload["upload_id"].as_str().expect("id").to_string();
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
    assert_eq!(
        site.api("POST", &start, &sup, Some(json!({}))).await.status,
        StatusCode::FORBIDDEN
    );
    let r = site
        .api(
            "POST",
            &start,
            &api,
            Some(
                json!({"mapping": {"Given": "first_name", "Tier": "custom"}, "duplicates": "skip"}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(
        site.api("POST", &start, &api, Some(json!({}))).await.status,
        StatusCode::CONFLICT
    );

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
    assert_eq!(
        site.api("GET", "/api/v1/uploads/nosuch", &api, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Multipart works too.
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

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn supervisors_run_their_own_campaigns(pool: PgPool) {
    use dialtone_core::users::Role;
    let site = Site::new(pool.clone()).await;
    let (sup_id, supervisor) = site.user("sam", Role::Supervisor).await;
    let (_, agent) = site.user("alex", Role::Agent).await;
    let token = session::issue_api_token(&pool, sup_id, "t")
        .await
        .expect("token");
    let mine = campaign(&pool, "Mine").await;
    let theirs = campaign(&pool, "Theirs").await;
    dialtone_core::campaigns::grant(&pool, sup_id, mine)
        .await
        .expect("grant");
    let version = |id: i64| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT updated_at::text FROM campaigns WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .expect("version")
        }
    };
    let ratio = |id: i64| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, f64>("SELECT dial_ratio::float8 FROM campaigns WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .expect("ratio")
        }
    };

    // The settings form of their campaign: saved (200) and audited under their name.
    let form: Value = {
        let r = site
            .post(
                "/api/get_campaign",
                Some(&supervisor),
                &format!("id={mine}"),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        parse(&r)
    };
    let mut body = format!(
        "id={mine}&version={}",
        urlencode(form["version"].as_str().expect("version"))
    );
    for pair in form["values"].as_array().expect("values") {
        let (k, v) = (
            pair[0].as_str().unwrap_or(""),
            pair[1].as_str().unwrap_or(""),
        );
        let v = if k == "dial_ratio" { "2.5" } else { v };
        body.push_str(&format!("&values[{k}]={}", urlencode(v)));
    }
    let r = site
        .post("/api/save_campaign", Some(&supervisor), &body)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("\"Ok\""), "{}", r.body);
    assert_eq!(ratio(mine).await, 2.5);
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE user_id = $1 AND entity = 'campaign' AND entity_id = $2 AND action = 'update'")
        .bind(sup_id).bind(mine.to_string()).fetch_one(&pool).await.expect("audit");
    assert_eq!(audited, 1);

    // Another campaign: 403, nothing changed, nothing audited.
    let before = (ratio(theirs).await, version(theirs).await);
    let other = body.replace(&format!("id={mine}"), &format!("id={theirs}"));
    let other = other.replace(
        &urlencode(form["version"].as_str().unwrap_or("")),
        &urlencode(&before.1),
    );
    let r = site
        .post("/api/save_campaign", Some(&supervisor), &other)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!((ratio(theirs).await, version(theirs).await), before);
    let r = site.post("/api/save_campaign", Some(&agent), &body).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // On and off: theirs yes, another no.
    let r = site
        .post(
            "/api/set_campaign_active",
            Some(&supervisor),
            &format!("id={mine}&active=true"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = site
        .post(
            "/api/set_campaign_active",
            Some(&supervisor),
            &format!("id={theirs}&active=true"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let active: Vec<bool> =
        sqlx::query_scalar("SELECT active FROM campaigns WHERE id IN ($1, $2) ORDER BY id")
            .bind(mine)
            .bind(theirs)
            .fetch_all(&pool)
            .await
            .expect("active");
    assert_eq!(active, [true, false]);

    // What their campaign offers agents.
    let r = site
        .post(
            "/api/set_campaign_codes",
            Some(&supervisor),
            &format!("campaign={mine}&offer[disposition:SALE]=on&offer[hotkey:SALE]=3"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("\"Ok\""), "{}", r.body);

    // Not create, copy, or anything system-wide.
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
        let r = site.post(path, Some(&supervisor), &form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
    }
    let campaigns: i64 = sqlx::query_scalar("SELECT count(*) FROM campaigns")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(campaigns, 2);

    // The same through the API.
    let current = parse(
        &site
            .api("GET", &format!("/api/v1/campaigns/{mine}"), &token, None)
            .await,
    );
    let r = site
        .api(
            "PUT",
            &format!("/api/v1/campaigns/{mine}"),
            &token,
            Some(json!({"version": current["version"], "values": {"dial_ratio": 3}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(ratio(mine).await, 3.0);
    let r = site
        .api(
            "PUT",
            &format!("/api/v1/campaigns/{theirs}"),
            &token,
            Some(json!({"version": before.1, "values": {"dial_ratio": 3}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = site
        .api(
            "POST",
            &format!("/api/v1/campaigns/{mine}/active"),
            &token,
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = site
        .api(
            "POST",
            &format!("/api/v1/campaigns/{theirs}/active"),
            &token,
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = site
        .api(
            "POST",
            "/api/v1/campaigns",
            &token,
            Some(json!({"name": "Nope", "dial_method": "ratio"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        (ratio(theirs).await, version(theirs).await),
        before,
        "theirs untouched"
    );

    // The page offers them Activate but not Copy.
    let page = site
        .get(&format!("/campaigns/{mine}"), Some(&supervisor))
        .await;
    assert!(
        page.body.contains("Save settings") && !page.body.contains("Copy campaign"),
        "{}",
        page.body
    );
    let page = site.get("/campaigns", Some(&supervisor)).await;
    assert!(!page.body.contains("New campaign"), "{}", page.body);
    let (_, admin) = site.user("ana", Role::Admin).await;
    let page = site.get(&format!("/campaigns/{mine}"), Some(&admin)).await;
    assert!(page.body.contains("Copy campaign"), "{}", page.body);
    let page = site.get("/campaigns", Some(&admin)).await;
    assert!(page.body.contains("New campaign"), "{}", page.body);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Pages keep rendering while another router is being built in the same process: generating
/// the route list stalls every resource created meanwhile (a process-wide flag in Leptos), so
/// the list is generated once. A CI run hung on this before.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn pages_render_while_other_routers_are_built(pool: PgPool) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let site = Site::new(pool.clone()).await;
    let (_, admin) = site.user("ana", dialtone_core::users::Role::Admin).await;
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
