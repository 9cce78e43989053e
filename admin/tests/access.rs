//! The admin's router driven in-process (no socket), against a real database per test: who may
//! open what, CSRF, sign-in and sessions, validation, stale forms, the audit log, uploads and
//! the JSON API.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's helpers fail the test as its #[test]s do
#![cfg(feature = "ssr")]

mod common;

use common::*;

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn every_path_by_role(pool: PgPool) {
    use dialtone_core::users::Role;
    let site = Site::new(pool.clone()).await;
    let (_, admin) = site.user("ana", Role::Admin).await;
    let (sup_id, supervisor) = site.user("sam", Role::Supervisor).await;
    let (_, agent) = site.user("alex", Role::Agent).await;
    let mine = campaign(&pool, "Mine").await;
    let theirs = campaign(&pool, "Theirs").await;
    dialtone_core::campaigns::grant(&pool, sup_id, mine)
        .await
        .expect("grant");

    // Pages: (path, admin, supervisor, agent) -> expected status; nobody signed in is sent to sign in.
    let pages: &[(&str, u16, u16, u16)] = &[
        ("/", 200, 200, 403),
        ("/campaigns", 200, 200, 403),
        (&format!("/campaigns/{mine}"), 200, 200, 403),
        ("/lists", 200, 200, 403),
        ("/dnc", 200, 403, 403),
        ("/users", 200, 403, 403),
        ("/audit", 200, 403, 403),
        ("/leads", 200, 200, 403),
        ("/recordings", 200, 200, 403),
        ("/inbound", 200, 403, 403),
        ("/codes", 200, 403, 403),
        ("/calltimes", 200, 403, 403),
        ("/agent", 200, 200, 200),
        ("/account/password", 200, 200, 200),
    ];
    for (path, a, s, g) in pages {
        for (who, token, want) in [
            ("admin", &admin, a),
            ("supervisor", &supervisor, s),
            ("agent", &agent, g),
        ] {
            let r = site.get(path, Some(token)).await;
            assert_eq!(r.status.as_u16(), *want, "{who} GET {path}: {}", r.body);
        }
        let r = site.get(path, None).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "anonymous GET {path}");
        assert!(
            r.location.starts_with("/signin?next="),
            "{path}: {}",
            r.location
        );
    }
    let r = site.get("/signin", None).await;
    assert_eq!(r.status, StatusCode::OK);

    // Tables sort on the server by the column asked for, and ignore a column they do not know.
    let by_name =
        |body: &str, a: &str, b: &str| body.find(a).zip(body.find(b)).is_some_and(|(x, y)| x < y);
    let r = site.get("/users?sort=-username", Some(&admin)).await;
    assert!(by_name(&r.body, ">sam<", ">alex<"), "{}", r.body);
    let r = site.get("/users?sort=username", Some(&admin)).await;
    assert!(by_name(&r.body, ">alex<", ">sam<"), "{}", r.body);
    assert_eq!(
        site.get("/lists?sort=-leads;DROP+TABLE+leads", Some(&admin))
            .await
            .status,
        StatusCode::OK
    );

    // A supervisor sees their own campaign's settings, not another's.
    let r = site
        .get(&format!("/campaigns/{theirs}"), Some(&supervisor))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = site.get("/campaigns", Some(&supervisor)).await;
    assert!(
        r.body.contains("Mine") && !r.body.contains("Theirs"),
        "{}",
        r.body
    );

    // Server functions called directly, as a script would: (endpoint, form, admin, supervisor, agent).
    let calls: Vec<(&str, String, u16, u16, u16)> = vec![
        (
            "/api/list_campaigns",
            "q=&sort=&page=1".into(),
            200,
            200,
            403,
        ),
        ("/api/get_campaign", format!("id={theirs}"), 200, 404, 403),
        (
            "/api/create_campaign",
            "name=Fresh&dial_method=ratio".into(),
            200,
            403,
            403,
        ),
        // Supervisors run their own campaigns; creating and copying stay admins'.
        (
            "/api/set_campaign_active",
            format!("id={mine}&active=true"),
            200,
            200,
            403,
        ),
        (
            "/api/set_campaign_active",
            format!("id={theirs}&active=true"),
            200,
            403,
            403,
        ),
        (
            "/api/clone_campaign",
            format!("id={mine}&name=Copy"),
            200,
            403,
            403,
        ),
        (
            "/api/set_campaign_codes",
            format!("campaign={theirs}&offer[disposition:SALE]=on"),
            200,
            403,
            403,
        ),
        (
            "/api/save_status",
            "code=HOTLEAD&name=Hot&category=contact".into(),
            200,
            403,
            403,
        ),
        (
            "/api/save_call_time",
            "name=Late&description=".into(),
            200,
            403,
            403,
        ),
        ("/api/list_users", "q=&page=1".into(), 200, 403, 403),
        (
            "/api/create_user",
            "username=newbie&display_name=&role=admin".into(),
            200,
            403,
            403,
        ),
        ("/api/search_dnc", "q=&page=1".into(), 200, 403, 403),
        (
            "/api/add_dnc",
            "number=2015550123&country=US&campaign_id=&note=".into(),
            200,
            403,
            403,
        ),
        (
            "/api/audit_page",
            "entity=&user=&page=1".into(),
            200,
            403,
            403,
        ),
        ("/api/overview", String::new(), 200, 200, 403),
        ("/api/list_inbound", String::new(), 200, 403, 403),
        ("/api/create_inbound", "name=Support".into(), 200, 403, 403),
        ("/api/list_codes", String::new(), 200, 403, 403),
        (
            "/api/save_pause_code",
            "code=COFFEE&name=Coffee".into(),
            200,
            403,
            403,
        ),
        ("/api/list_calltimes", String::new(), 200, 403, 403),
        (
            "/api/search_leads",
            "q=%2B12015550123&list=&page=1".into(),
            200,
            200,
            403,
        ),
        ("/api/agent_desk", String::new(), 200, 200, 200),
    ];
    for (path, form, a, s, g) in &calls {
        for (who, token, want) in [
            ("agent", &agent, g),
            ("supervisor", &supervisor, s),
            ("admin", &admin, a),
        ] {
            let r = site.post(path, Some(token), form).await;
            assert_eq!(r.status.as_u16(), *want, "{who} POST {path}: {}", r.body);
        }
        let r = site.post(path, None, form).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "anonymous POST {path}");
    }
    // What the agent tried did not happen.
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE username = 'newbie'")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(users, 1, "created once, by the admin");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn sign_in_throttle_csrf_and_sign_out(pool: PgPool) {
    use dialtone_core::users::Role;
    let site = Site::new(pool.clone()).await;
    let id = dialtone_core::users::create(&pool, "ana", "Ana", Role::Admin, PASSWORD)
        .await
        .expect("user");

    let wrong = site
        .post(
            "/signin",
            None,
            "username=ana&password=wrong+password&next=",
        )
        .await;
    assert_eq!(wrong.status, StatusCode::SEE_OTHER);
    assert!(
        wrong.location.starts_with("/signin?error=bad"),
        "{}",
        wrong.location
    );
    assert!(wrong.cookie.is_none());

    // A seeded account must choose its own password before anything else.
    let ok = site
        .post(
            "/signin",
            None,
            &format!(
                "username=ana&password={}&next=/users",
                PASSWORD.replace(' ', "+")
            ),
        )
        .await;
    assert_eq!(ok.location, "/account/password");
    let cookie = ok.cookie.expect("session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let token = cookie
        .split(';')
        .next()
        .and_then(|c| c.split_once('='))
        .map(|(_, v)| v.to_string())
        .expect("token");
    let r = site.get("/users", Some(&token)).await;
    assert_eq!(r.location, "/account/password", "forced to change first");

    let short = site
        .post(
            "/account/password",
            Some(&token),
            &format!(
                "current={}&new=short&confirm=short",
                PASSWORD.replace(' ', "+")
            ),
        )
        .await;
    assert_eq!(short.location, "/account/password?error=short");
    let changed = site
        .post(
            "/account/password",
            Some(&token),
            &format!(
                "current={}&new=another+long+one&confirm=another+long+one",
                PASSWORD.replace(' ', "+")
            ),
        )
        .await;
    assert_eq!(changed.location, "/?changed=1");
    assert_eq!(
        site.get("/users", Some(&token)).await.status,
        StatusCode::OK
    );

    // A cross-site form (or one with no Origin) is refused, even with the cookie.
    let forged = Request::post("/api/create_campaign")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, "https://evil.example")
        .header(header::COOKIE, format!("{}={token}", session::COOKIE))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("name=Evil&dial_method=ratio"))
        .expect("request");
    assert_eq!(site.send(forged).await.status, StatusCode::FORBIDDEN);
    let campaigns: i64 = sqlx::query_scalar("SELECT count(*) FROM campaigns WHERE name = 'Evil'")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(campaigns, 0);

    // Sign out everywhere ends every session of the user.
    let other = session::open(&pool, id, None, "other browser")
        .await
        .expect("session");
    let out = site.post("/signout-everywhere", Some(&token), "").await;
    assert!(out.location.starts_with("/signin"));
    assert_eq!(
        site.get("/users", Some(&other)).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        site.get("/users", Some(&token)).await.status,
        StatusCode::SEE_OTHER
    );

    // Attempts per username are throttled before the password is checked.
    let mut throttled = false;
    for _ in 0..8 {
        let r = site
            .post(
                "/signin",
                None,
                "username=ana&password=guess+guess+guess&next=",
            )
            .await;
        throttled |= r.location.contains("error=throttled");
    }
    assert!(throttled, "guessing is slowed down");

    let audit: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE user_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&pool)
            .await
            .expect("audit");
    assert_eq!(
        audit,
        ["login", "update", "logout"],
        "sign-in, password change and sign-out are audited"
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn campaign_form_validates_refuses_stale_and_audits(pool: PgPool) {
    use dialtone_core::users::Role;
    let site = Site::new(pool.clone()).await;
    let (_, admin) = site.user("ana", Role::Admin).await;
    let id = campaign(&pool, "Spring").await;
    let form: serde_json::Value = serde_json::from_str(
        &site
            .post("/api/get_campaign", Some(&admin), &format!("id={id}"))
            .await
            .body,
    )
    .expect("json");
    let version = form["version"].as_str().expect("version").to_string();
    let values: Vec<(String, String)> =
        serde_json::from_value(form["values"].clone()).expect("values");
    let encode = |values: &[(String, String)], version: &str| {
        let mut body = form_urlencoded::Serializer::new(String::new());
        body.append_pair("id", &id.to_string())
            .append_pair("version", version);
        for (k, v) in values {
            body.append_pair(&format!("values[{k}]"), v);
        }
        body.finish()
    };
    let with = |key: &str, value: &str| -> Vec<(String, String)> {
        values
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    if k == key {
                        value.to_string()
                    } else {
                        v.clone()
                    },
                )
            })
            .collect()
    };

    // A value out of range is named on its field, and nothing changes.
    let r = site
        .post(
            "/api/save_campaign",
            Some(&admin),
            &encode(&with("ring_timeout_secs", "5"), &version),
        )
        .await;
    let saved: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    let fields = saved["Invalid"]["fields"].as_array().expect("invalid");
    assert!(
        fields
            .iter()
            .any(|f| f[0] == "ring_timeout_secs" && f[1] == "between 15 and 120"),
        "{saved}"
    );
    let ring: i32 = sqlx::query_scalar("SELECT ring_timeout_secs FROM campaigns WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .expect("ring");
    assert_eq!(ring, 26);

    // A good save is audited with before and after.
    let r = site
        .post(
            "/api/save_campaign",
            Some(&admin),
            &encode(&with("ring_timeout_secs", "30"), &version),
        )
        .await;
    assert!(r.body.contains("\"Ok\""), "{}", r.body);
    let (before, after): (serde_json::Value, serde_json::Value) =
        sqlx::query_as("SELECT before, after FROM audit_log WHERE entity = 'campaign' AND action = 'update' ORDER BY id DESC LIMIT 1").fetch_one(&pool).await.expect("audit");
    assert_eq!(
        (
            before["ring_timeout_secs"].as_i64(),
            after["ring_timeout_secs"].as_i64()
        ),
        (Some(26), Some(30))
    );

    // The same (now stale) form again is refused, not silently overwriting.
    let r = site
        .post(
            "/api/save_campaign",
            Some(&admin),
            &encode(&with("ring_timeout_secs", "40"), &version),
        )
        .await;
    assert!(
        r.body.contains("Someone else saved this campaign"),
        "{}",
        r.body
    );
    let ring: i32 = sqlx::query_scalar("SELECT ring_timeout_secs FROM campaigns WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .expect("ring");
    assert_eq!(ring, 30);

    // Cloning copies settings and dispositions into an inactive campaign.
    let r = site
        .post(
            "/api/clone_campaign",
            Some(&admin),
            &format!("id={id}&name=Spring+copy"),
        )
        .await;
    assert!(r.body.contains("\"Ok\""), "{}", r.body);
    let (ring, active, dispositions): (i32, bool, i64) = sqlx::query_as(
        "SELECT ring_timeout_secs, active, (SELECT count(*) FROM campaign_dispositions d WHERE d.campaign_id = c.id) FROM campaigns c WHERE name = 'Spring copy'",
    )
    .fetch_one(&pool)
    .await
    .expect("copy");
    assert_eq!((ring, active), (30, false));
    assert!(dispositions > 0);
    let r = site
        .post(
            "/api/clone_campaign",
            Some(&admin),
            &format!("id={id}&name=Spring+copy"),
        )
        .await;
    assert!(r.body.contains("already taken"), "{}", r.body);
}

async fn multipart(site: &Site, path: &str, token: &str, file_name: &str, bytes: &[u8]) -> Reply {
    let boundary = "XdialtoneX";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes());
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let r = Request::post(path)
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .header(header::COOKIE, format!("{}={token}", session::COOKIE))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .expect("request");
    site.send(r).await
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn csv_upload_maps_imports_and_reports(pool: PgPool) {
    use dialtone_core::users::Role;
    let site = Site::new(pool.clone()).await;
    let (_, admin) = site.user("ana", Role::Admin).await;
    let list = dialtone_core::lists::create(&pool, "Spring", None, "US")
        .await
        .expect("list");

    // Not text: refused with a message, nothing imported.
    let r = multipart(
        &site,
        &format!("/lists/{list}/upload"),
        &admin,
        "leads.xlsx",
        b"PK\x03\x04\x00\x00binary",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.location.contains("upload_error=") && r.location.contains("not+a+CSV"),
        "{}",
        r.location
    );
    let r = multipart(
        &site,
        &format!("/lists/{list}/upload"),
        &admin,
        "latin1.csv",
        b"phone,name\n2015550123,Jos\xe9\n",
    )
    .await;
    assert!(
        r.location.contains("not+UTF-8") && r.location.contains("line+2"),
        "{}",
        r.location
    );
    let r = multipart(
        &site,
        &format!("/lists/{list}/upload"),
        &admin,
        "empty.csv",
        b"",
    )
    .await;
    assert!(r.location.contains("empty"), "{}", r.location);
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM import_jobs")
        .fetch_one(&pool)
        .await
        .expect("jobs");
    assert_eq!(jobs, 0);

    // A good file: the mapping step names the columns, then the import runs.
    let csv =
        "Tel,Given,Tier\n(201) 555-0123,Ana,gold\nnot a number,Bo,\n(312) 555-0199,Cy,silver\n";
    let r = multipart(
        &site,
        &format!("/lists/{list}/upload"),
        &admin,
        "spring.csv",
        csv.as_bytes(),
    )
    .await;
    assert!(
        r.location.starts_with("/uploads/"),
        "{} {}",
        r.location,
        r.body
    );
    let upload = r.location.trim_start_matches("/uploads/").to_string();
    let page = site.get(&r.location, Some(&admin)).await;
    assert!(
        page.body.contains("Tel")
            && page.body.contains("(201) 555-0123")
            && page.body.contains("col_0"),
        "{}",
        page.body
    );
    // An agent cannot see or start it.
    let (_, agent) = site.user("alex", Role::Agent).await;
    assert_eq!(
        site.post(
            &format!("/uploads/{upload}/start"),
            Some(&agent),
            "col_0=phone"
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );

    let r = site
        .post(
            &format!("/uploads/{upload}/start"),
            Some(&admin),
            "col_0=phone&col_1=first_name&col_2=custom&duplicates=skip",
        )
        .await;
    assert_eq!(r.location, format!("/uploads/{upload}"));
    let mut done = false;
    for _ in 0..100 {
        let r = site
            .post("/api/get_upload", Some(&admin), &format!("id={upload}"))
            .await;
        if r.body.contains("\"Done\"") {
            assert!(
                r.body.contains("\"inserted\":2") && r.body.contains("\"rejected\":1"),
                "{}",
                r.body
            );
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(done, "the import finished");
    let names: Vec<String> =
        sqlx::query_scalar("SELECT first_name FROM leads WHERE list_id = $1 ORDER BY first_name")
            .bind(list)
            .fetch_all(&pool)
            .await
            .expect("leads");
    assert_eq!(names, ["Ana", "Cy"]);
    let report = site
        .get(&format!("/uploads/{upload}/errors.csv"), Some(&admin))
        .await;
    assert_eq!(report.status, StatusCode::OK);
    assert!(
        report.body.contains("3,") && report.body.contains("not a number"),
        "{}",
        report.body
    );
    let events = site
        .get(&format!("/uploads/{upload}/events"), Some(&admin))
        .await;
    assert!(
        events.body.contains("event: progress") && events.body.contains("Done"),
        "{}",
        events.body
    );
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'import' AND entity = 'list'",
    )
    .fetch_one(&pool)
    .await
    .expect("audit");
    assert_eq!(audited, 1);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn json_api_with_tokens_and_the_same_roles(pool: PgPool) {
    use dialtone_core::users::Role;
    let site = Site::new(pool.clone()).await;
    let (admin_id, _) = site.user("ana", Role::Admin).await;
    let (agent_id, _) = site.user("alex", Role::Agent).await;
    let admin = session::issue_api_token(&pool, admin_id, "ci")
        .await
        .expect("token");
    let agent = session::issue_api_token(&pool, agent_id, "ci")
        .await
        .expect("token");

    let spec = site.get("/api/v1/openapi.json", None).await;
    let spec: serde_json::Value = serde_json::from_str(&spec.body).expect("openapi json");
    assert_eq!(spec["openapi"], "3.1.0");
    assert!(spec["paths"]["/api/v1/campaigns/{id}"]["put"].is_object());

    assert_eq!(
        site.api("GET", "/api/v1/campaigns", "dt_wrong", None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let r = site
        .api(
            "POST",
            "/api/v1/campaigns",
            &admin,
            Some(serde_json::json!({"name": "Api", "dial_method": "predictive"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = serde_json::from_str::<serde_json::Value>(&r.body).expect("json")["id"]
        .as_i64()
        .expect("id");
    let r = site
        .api(
            "POST",
            "/api/v1/campaigns",
            &agent,
            Some(serde_json::json!({"name": "Nope", "dial_method": "ratio"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        site.api("GET", "/api/v1/users", &agent, None).await.status,
        StatusCode::FORBIDDEN
    );

    let form: serde_json::Value = serde_json::from_str(
        &site
            .api("GET", &format!("/api/v1/campaigns/{id}"), &admin, None)
            .await
            .body,
    )
    .expect("json");
    let version = form["version"].as_str().expect("version");
    let r = site
        .api(
            "PUT",
            &format!("/api/v1/campaigns/{id}"),
            &admin,
            Some(serde_json::json!({"version": version, "values": {"abandon_cap_pct": 5}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("abandon_cap_pct"), "{}", r.body);
    let r = site
        .api(
            "PUT",
            &format!("/api/v1/campaigns/{id}"),
            &admin,
            Some(serde_json::json!({"version": version, "values": {"abandon_cap_pct": 2.5}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let r = site
        .api(
            "POST",
            "/api/v1/dnc",
            &admin,
            Some(serde_json::json!({"number": "(201) 555-0123"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = site
        .api(
            "POST",
            "/api/v1/dnc",
            &admin,
            Some(serde_json::json!({"number": "12"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let found: serde_json::Value = serde_json::from_str(
        &site
            .api("GET", "/api/v1/dnc?q=1201", &admin, None)
            .await
            .body,
    )
    .expect("json");
    assert_eq!(found["total"], 1);
    // Lists, leads and users through the API, with the same checks as the pages.
    let r = site
        .api(
            "POST",
            "/api/v1/lists",
            &admin,
            Some(serde_json::json!({"name": "Api list", "campaign_id": id, "country": "ZZ"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("country"), "{}", r.body);
    let r = site
        .api(
            "POST",
            "/api/v1/lists",
            &admin,
            Some(serde_json::json!({"name": "Api list", "campaign_id": id})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let list = serde_json::from_str::<serde_json::Value>(&r.body).expect("json")["id"]
        .as_i64()
        .expect("id");
    sqlx::query("INSERT INTO leads (list_id, phone_e164, country, time_zone) VALUES ($1, '+12025550100', 'US', 'America/New_York')").bind(list).execute(&pool).await.expect("lead");
    let found: serde_json::Value = serde_json::from_str(
        &site
            .api("GET", "/api/v1/leads?q=202-555-0100", &admin, None)
            .await
            .body,
    )
    .expect("json");
    assert_eq!(found["rows"][0]["list_id"], list);
    assert_eq!(
        site.api("GET", "/api/v1/leads?q=Smith", &admin, None)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        site.api(
            "PATCH",
            &format!("/api/v1/lists/{list}"),
            &agent,
            Some(serde_json::json!({"campaign_id": null, "active": false}))
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let r = site
        .api(
            "POST",
            "/api/v1/users",
            &admin,
            Some(serde_json::json!({"username": "newbie", "role": "supervisor"})),
        )
        .await;
    let newbie = serde_json::from_str::<serde_json::Value>(&r.body).expect("json")["id"]
        .as_i64()
        .expect("id");
    let r = site
        .api(
            "PATCH",
            &format!("/api/v1/users/{newbie}"),
            &admin,
            Some(serde_json::json!({"role": "supervisor", "active": true, "campaign_ids": [id]})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let granted: i64 = sqlx::query_scalar("SELECT count(*) FROM user_campaigns WHERE user_id = $1")
        .bind(newbie)
        .fetch_one(&pool)
        .await
        .expect("grants");
    assert_eq!(granted, 1);

    // A token is not a cookie: no CSRF check applies, and none is needed.
    let who: serde_json::Value =
        serde_json::from_str(&site.api("GET", "/api/v1/me", &agent, None).await.body)
            .expect("json");
    assert_eq!(who["role"], "agent");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn leads_search_edit_and_recordings(pool: PgPool) {
    use dialtone_core::users::Role;
    let site = Site::new(pool.clone()).await;
    let (_, admin) = site.user("ana", Role::Admin).await;
    let (sup_id, supervisor) = site.user("sam", Role::Supervisor).await;
    let mine = campaign(&pool, "Mine").await;
    let other = campaign(&pool, "Other").await;
    dialtone_core::campaigns::grant(&pool, sup_id, mine)
        .await
        .expect("grant");
    let my_list = dialtone_core::lists::create(&pool, "Mine list", Some(mine), "US")
        .await
        .expect("list");
    let other_list = dialtone_core::lists::create(&pool, "Other list", Some(other), "US")
        .await
        .expect("list");
    let lead: i64 = sqlx::query_scalar(
        "INSERT INTO leads (list_id, phone_e164, country, time_zone, first_name, last_name, custom)
         VALUES ($1, '+12015550123', 'US', 'America/New_York', 'Ana', 'Silva', '{\"tier\": \"gold\"}') RETURNING id",
    )
    .bind(my_list)
    .fetch_one(&pool)
    .await
    .expect("lead");
    let hidden: i64 = sqlx::query_scalar(
        "INSERT INTO leads (list_id, phone_e164, country, time_zone, last_name) VALUES ($1, '+13125550199', 'US', 'America/Chicago', 'Hidden') RETURNING id",
    )
    .bind(other_list)
    .fetch_one(&pool)
    .await
    .expect("lead");

    let search = |q: &str, list: &str| {
        format!(
            "q={}&list={list}&page=1",
            form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
        )
    };
    let r = site
        .post(
            "/api/search_leads",
            Some(&admin),
            &search("(201) 555-0123", ""),
        )
        .await;
    assert!(
        r.body.contains(&format!("\"id\":{lead}")) && r.body.contains("Ana Silva"),
        "{}",
        r.body
    );
    let r = site
        .post(
            "/api/search_leads",
            Some(&admin),
            &search(&format!("#{hidden}"), ""),
        )
        .await;
    assert!(r.body.contains("Hidden"), "{}", r.body);
    let r = site
        .post("/api/search_leads", Some(&admin), &search("silv", ""))
        .await;
    assert!(
        r.body.contains("choose the list"),
        "a name search needs a list: {}",
        r.body
    );
    let r = site
        .post(
            "/api/search_leads",
            Some(&admin),
            &search("silv", &my_list.to_string()),
        )
        .await;
    assert!(r.body.contains("Ana Silva"), "{}", r.body);
    // The typed name is lower-cased as the index is, by PostgreSQL: Rust's to_lowercase makes
    // "İ" two characters, which no indexed name starts with.
    sqlx::query(
        "INSERT INTO leads (list_id, phone_e164, country, time_zone, first_name, last_name)
         VALUES ($1, '+12015550124', 'US', 'America/New_York', 'Efe', 'İnce')",
    )
    .bind(my_list)
    .execute(&pool)
    .await
    .expect("lead");
    let r = site
        .post(
            "/api/search_leads",
            Some(&admin),
            &search("İnce", &my_list.to_string()),
        )
        .await;
    assert!(r.body.contains("Efe İnce"), "{}", r.body);
    // A first and a last name, in either order; a first name alone is not a last name.
    for (q, found) in [
        ("ana silva", true),
        ("Silva An", true),
        ("bob silva", false),
        ("ana", false),
    ] {
        let r = site
            .post(
                "/api/search_leads",
                Some(&admin),
                &search(q, &my_list.to_string()),
            )
            .await;
        assert_eq!(r.body.contains("Ana Silva"), found, "{q}: {}", r.body);
    }
    // A supervisor finds only leads of their campaigns.
    let r = site
        .post(
            "/api/search_leads",
            Some(&supervisor),
            &search("312 555 0199", ""),
        )
        .await;
    assert!(
        !r.body.contains("Hidden") && r.body.contains("\"rows\":[]"),
        "{}",
        r.body
    );
    assert_eq!(
        site.get(&format!("/leads/{hidden}"), Some(&supervisor))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let page = site.get(&format!("/leads/{lead}"), Some(&supervisor)).await;
    assert!(
        page.status == StatusCode::OK && page.body.contains("gold"),
        "{}",
        page.body
    );

    let detail: serde_json::Value = serde_json::from_str(
        &site
            .post("/api/get_lead", Some(&admin), &format!("id={lead}"))
            .await
            .body,
    )
    .expect("json");
    let version = detail["version"].as_str().expect("version").to_string();
    let form = |email: &str, status: &str, version: &str| {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("id", &lead.to_string())
            .append_pair("version", version)
            .append_pair("status", status)
            .append_pair("fields[first_name]", "Ana Maria")
            .append_pair("fields[email]", email)
            .append_pair("custom_key[0]", "tier")
            .append_pair("custom_value[0]", "platinum")
            // A header name a `custom[name]` form field could not carry.
            .append_pair("custom_key[1]", "2nd phone [home]")
            .append_pair("custom_value[1]", "5550100")
            .finish()
    };
    let r = site
        .post(
            "/api/save_lead",
            Some(&admin),
            &form("not an email", "NOPE", &version),
        )
        .await;
    assert!(
        r.body.contains("\"email\"") && r.body.contains("\"status\""),
        "{}",
        r.body
    );
    let r = site
        .post(
            "/api/save_lead",
            Some(&admin),
            &form("ana@example.com", "NEW", &version),
        )
        .await;
    assert!(r.body.contains("\"Ok\""), "{}", r.body);
    let (first, tier, second): (String, String, String) = sqlx::query_as(
        "SELECT first_name, custom->>'tier', custom->>'2nd phone [home]' FROM leads WHERE id = $1",
    )
    .bind(lead)
    .fetch_one(&pool)
    .await
    .expect("lead");
    assert_eq!(
        (first.as_str(), tier.as_str(), second.as_str()),
        ("Ana Maria", "platinum", "5550100")
    );
    let r = site
        .post(
            "/api/save_lead",
            Some(&admin),
            &form("ana@example.com", "NEW", &version),
        )
        .await;
    assert!(
        r.body.contains("changed this lead after you opened it"),
        "stale: {}",
        r.body
    );

    // A recording of the lead plays from the recordings directory; another campaign's does not.
    let dir = site._dir.path().join("recordings/2026-11-25");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("call.wav"), b"RIFF....WAVEfmt ").expect("file");
    let rec: i64 = sqlx::query_scalar("INSERT INTO recordings (lead_id, campaign_id, file_path) VALUES ($1, $2, '2026-11-25/call.wav') RETURNING id")
        .bind(lead)
        .bind(mine)
        .fetch_one(&pool)
        .await
        .expect("recording");
    let other_rec: i64 = sqlx::query_scalar("INSERT INTO recordings (lead_id, campaign_id, file_path) VALUES ($1, $2, '2026-11-25/call.wav') RETURNING id")
        .bind(hidden)
        .bind(other)
        .fetch_one(&pool)
        .await
        .expect("recording");
    let audio = site
        .get(&format!("/recordings/{rec}/file"), Some(&supervisor))
        .await;
    assert_eq!(audio.status, StatusCode::OK);
    assert!(audio.body.starts_with("RIFF"));
    assert_eq!(
        site.get(&format!("/recordings/{other_rec}/file"), Some(&supervisor))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let listed = site.get("/recordings", Some(&admin)).await;
    assert!(
        listed.body.contains(&format!("/recordings/{rec}/file")),
        "{}",
        listed.body
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn inbound_codes_and_hours(pool: PgPool) {
    use dialtone_core::users::Role;
    let site = Site::new(pool.clone()).await;
    let (_, admin) = site.user("ana", Role::Admin).await;
    let json = |r: &Reply| serde_json::from_str::<serde_json::Value>(&r.body).expect("json");

    // An inbound group: created, then its settings checked as a whole.
    let r = site
        .post("/api/create_inbound", Some(&admin), "name=Support")
        .await;
    let id = json(&r)["Ok"]["id"].as_i64().expect("created");
    let form = json(
        &site
            .post("/api/get_inbound", Some(&admin), &format!("id={id}"))
            .await,
    );
    let values: Vec<(String, String)> =
        serde_json::from_value(form["values"].clone()).expect("values");
    let encode = |changes: &[(&str, &str)]| {
        let mut body = form_urlencoded::Serializer::new(String::new());
        body.append_pair("id", &id.to_string())
            .append_pair("version", form["version"].as_str().expect("version"));
        for (k, v) in &values {
            let v = changes
                .iter()
                .find(|(c, _)| c == k)
                .map(|(_, n)| n.to_string())
                .unwrap_or_else(|| v.clone());
            body.append_pair(&format!("values[{k}]"), &v);
        }
        body.finish()
    };
    let r = site
        .post(
            "/api/save_inbound",
            Some(&admin),
            &encode(&[
                ("timeout_action", "transfer_number"),
                ("time_zone", "Mars/Olympus"),
            ]),
        )
        .await;
    let fields: Vec<String> = json(&r)["Invalid"]["fields"]
        .as_array()
        .expect("invalid")
        .iter()
        .map(|f| f[0].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        fields.contains(&"timeout_target".to_string()) && fields.contains(&"time_zone".to_string()),
        "{fields:?}"
    );
    let r = site
        .post(
            "/api/save_inbound",
            Some(&admin),
            &encode(&[
                ("timeout_action", "transfer_number"),
                ("timeout_target", "+12025550100"),
                ("max_wait_secs", "120"),
            ]),
        )
        .await;
    assert!(r.body.contains("\"Ok\""), "{}", r.body);
    let wait: i32 = sqlx::query_scalar("SELECT max_wait_secs FROM inbound_groups WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .expect("group");
    assert_eq!(wait, 120);

    // Numbers that ring it.
    let r = site
        .post(
            "/api/add_did",
            Some(&admin),
            &format!("number=%2B1+(800)+555-0100&description=Main&group_id={id}"),
        )
        .await;
    assert!(r.body.contains("\"Ok\""), "{}", r.body);
    let r = site
        .post(
            "/api/add_did",
            Some(&admin),
            &format!("number=%2B18005550100&description=Again&group_id={id}"),
        )
        .await;
    assert!(r.body.contains("already taken"), "{}", r.body);
    let r = site
        .post(
            "/api/add_did",
            Some(&admin),
            &format!("number=call+me&description=&group_id={id}"),
        )
        .await;
    assert!(r.body.contains("\"number\""), "{}", r.body);

    // Dispositions: a new one; the dialer's own are refused.
    let r = site.post("/api/save_status", Some(&admin), "code=APPT&name=Appointment+set&category=sale&flags%5Bselectable%5D=on&flags%5Bsale%5D=on&flags%5Bhuman_answered%5D=on").await;
    assert!(r.body.contains("\"Ok\""), "{}", r.body);
    let (sale, selectable): (bool, bool) =
        sqlx::query_as("SELECT sale, selectable FROM statuses WHERE code = 'APPT'")
            .fetch_one(&pool)
            .await
            .expect("status");
    assert!(sale && selectable);
    let r = site
        .post(
            "/api/save_status",
            Some(&admin),
            "code=NA&name=Mine+now&category=other",
        )
        .await;
    assert!(r.body.contains("set by the dialer"), "{}", r.body);
    let r = site
        .post(
            "/api/save_status",
            Some(&admin),
            "code=bad+code!&name=x&category=nope",
        )
        .await;
    assert!(
        r.body.contains("\"code\"") && r.body.contains("\"category\""),
        "{}",
        r.body
    );

    // What a campaign offers, with hotkeys that must be unique.
    let campaign = campaign(&pool, "Spring").await;
    let r = site.post("/api/set_campaign_codes", Some(&admin), &format!("campaign={campaign}&offer%5Bdisposition:SALE%5D=on&offer%5Bhotkey:SALE%5D=1&offer%5Bdisposition:NI%5D=on&offer%5Bhotkey:NI%5D=1")).await;
    assert!(r.body.contains("each hotkey once"), "{}", r.body);
    let r = site.post("/api/set_campaign_codes", Some(&admin), &format!("campaign={campaign}&offer%5Bdisposition:SALE%5D=on&offer%5Bhotkey:SALE%5D=1&offer%5Bdisposition:APPT%5D=on&offer%5Bpause:LUNCH%5D=on")).await;
    assert!(r.body.contains("\"Ok\""), "{}", r.body);
    let offered: Vec<String> = sqlx::query_scalar(
        "SELECT status_code FROM campaign_dispositions WHERE campaign_id = $1 ORDER BY 1",
    )
    .bind(campaign)
    .fetch_all(&pool)
    .await
    .expect("codes");
    assert_eq!(offered, ["APPT", "SALE"]);

    // Hours: a bad day is named; a good week replaces the windows.
    let r = site.post("/api/save_call_time", Some(&admin), "name=Evenings&description=&hours%5Bopen:1%5D=18:00&hours%5Bclose:1%5D=17:00&hours%5Bopen:2%5D=18:00").await;
    assert!(
        r.body.contains("day:1") && r.body.contains("day:2"),
        "{}",
        r.body
    );
    let r = site
        .post(
            "/api/save_call_time",
            Some(&admin),
            "name=Evenings&description=After+work&hours%5Bopen:1%5D=17:00&hours%5Bclose:1%5D=20:30",
        )
        .await;
    assert!(r.body.contains("\"Ok\""), "{}", r.body);
    let windows: i64 = sqlx::query_scalar("SELECT count(*) FROM call_time_windows w JOIN call_times c ON c.id = w.call_time_id WHERE c.name = 'Evenings'").fetch_one(&pool).await.expect("windows");
    assert_eq!(windows, 1);
    let r = site
        .post(
            "/api/add_holiday",
            Some(&admin),
            "name=Founders&day=2026-13-40&state=&call_time=",
        )
        .await;
    assert!(r.body.contains("\"day\""), "{}", r.body);
    let r = site.post("/api/save_rule", Some(&admin), "country=US&state=TX&opens=09:00&closes=21:00&max_attempts_24h=&citation=Tex.+Bus.+%26+Com.+Code+305.053").await;
    assert!(r.body.contains("\"Ok\""), "{}", r.body);
    let page = site.get("/calltimes", Some(&admin)).await;
    assert!(
        page.body.contains("Evenings") && page.body.contains("US TX"),
        "{}",
        page.body
    );
    let audited: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT entity FROM audit_log ORDER BY 1")
            .fetch_all(&pool)
            .await
            .expect("audit");
    for entity in [
        "call_time",
        "calling_rule",
        "campaign_codes",
        "did",
        "inbound_group",
        "status",
    ] {
        assert!(
            audited.iter().any(|e| e == entity),
            "{entity} audited: {audited:?}"
        );
    }
}
