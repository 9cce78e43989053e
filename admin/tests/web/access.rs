//! The admin's router driven in-process (no socket), against a real database per test: who may
//! open what, CSRF, sign-in and sessions, validation, stale forms, the audit log, uploads and
//! the JSON API.

use crate::helpers::*;

/// Every page and the status (admin, supervisor, agent) get from it. `{mine}` is the campaign
/// the supervisor runs.
const PAGES: &[(&str, u16, u16, u16)] = &[
    ("/", 200, 200, 403),
    ("/campaigns", 200, 200, 403),
    ("/campaigns/{mine}", 200, 200, 403),
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

/// Server functions called directly, as a script would: (endpoint, form, admin, supervisor,
/// agent). `{mine}` is the supervisor's campaign, `{theirs}` one they do not run.
const CALLS: &[(&str, &str, u16, u16, u16)] = &[
    ("/api/list_campaigns", "q=&sort=&page=1", 200, 200, 403),
    ("/api/get_campaign", "id={theirs}", 200, 404, 403),
    (
        "/api/create_campaign",
        "name=Fresh&dial_method=ratio",
        200,
        403,
        403,
    ),
    // Supervisors run their own campaigns; creating and copying stay admins'.
    (
        "/api/set_campaign_active",
        "id={mine}&active=true",
        200,
        200,
        403,
    ),
    (
        "/api/set_campaign_active",
        "id={theirs}&active=true",
        200,
        403,
        403,
    ),
    ("/api/clone_campaign", "id={mine}&name=Copy", 200, 403, 403),
    (
        "/api/set_campaign_codes",
        "campaign={theirs}&offer[disposition:SALE]=on",
        200,
        403,
        403,
    ),
    (
        "/api/save_status",
        "code=HOTLEAD&name=Hot&category=contact",
        200,
        403,
        403,
    ),
    (
        "/api/save_call_time",
        "name=Late&description=",
        200,
        403,
        403,
    ),
    ("/api/list_users", "q=&page=1", 200, 403, 403),
    (
        "/api/create_user",
        "username=newbie&display_name=&role=admin",
        200,
        403,
        403,
    ),
    ("/api/search_dnc", "q=&page=1", 200, 403, 403),
    (
        "/api/add_dnc",
        "number=2015550123&country=US&campaign_id=&note=",
        200,
        403,
        403,
    ),
    ("/api/audit_page", "entity=&user=&page=1", 200, 403, 403),
    ("/api/overview", "", 200, 200, 403),
    ("/api/list_inbound", "", 200, 403, 403),
    ("/api/create_inbound", "name=Support", 200, 403, 403),
    ("/api/list_codes", "", 200, 403, 403),
    (
        "/api/save_pause_code",
        "code=COFFEE&name=Coffee",
        200,
        403,
        403,
    ),
    ("/api/list_calltimes", "", 200, 403, 403),
    (
        "/api/search_leads",
        "q=%2B12015550123&list=&page=1",
        200,
        200,
        403,
    ),
    ("/api/agent_desk", "", 200, 200, 200),
];

/// One signed-in user of each role, and two campaigns of which the supervisor runs only `mine`.
struct Roles {
    site: Site,
    admin: String,
    supervisor: String,
    agent: String,
    mine: i64,
    theirs: i64,
}

impl Roles {
    /// A table's path or form with `{mine}` and `{theirs}` as this database's campaign ids.
    fn fill(&self, s: &str) -> String {
        s.replace("{mine}", &self.mine.to_string())
            .replace("{theirs}", &self.theirs.to_string())
    }
}

async fn three_roles(pool: PgPool) -> Roles {
    use dialtone_core::vocabulary::Role;
    let site = Site::new(pool.clone()).await;
    let (_, admin) = site.user("ana", Role::Admin).await;
    let (sup_id, supervisor) = site.user("sam", Role::Supervisor).await;
    let (_, agent) = site.user("alex", Role::Agent).await;
    let mine = campaign(&pool, "Mine").await;
    let theirs = campaign(&pool, "Theirs").await;
    dialtone_core::campaigns::grant(&pool, sup_id, mine)
        .await
        .expect("grant");
    Roles {
        site,
        admin,
        supervisor,
        agent,
        mine,
        theirs,
    }
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn each_role_gets_the_status_the_table_gives_it_on_every_page(pool: PgPool) {
    let roles = three_roles(pool).await;
    for (path, a, s, g) in PAGES {
        let path = roles.fill(path);
        for (who, token, want) in [
            ("admin", &roles.admin, a),
            ("supervisor", &roles.supervisor, s),
            ("agent", &roles.agent, g),
        ] {
            let r = roles.site.get(&path, Some(token)).await;
            assert_eq!(r.status.as_u16(), *want, "{who} GET {path}: {}", r.body);
        }
    }
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_visitor_not_signed_in_is_sent_to_sign_in_from_every_page(pool: PgPool) {
    let roles = three_roles(pool).await;
    for (path, ..) in PAGES {
        let path = roles.fill(path);
        let r = roles.site.get(&path, None).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "anonymous GET {path}");
        assert!(
            r.location.starts_with("/signin?next="),
            "{path}: {}",
            r.location
        );
    }
}

/// Everyone else is sent there, so it must open without a session.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_sign_in_page_opens_without_a_session(pool: PgPool) {
    let site = Site::new(pool).await;
    let r = site.get("/signin", None).await;
    assert_eq!(r.status, StatusCode::OK);
}

/// Sorted on the server, so that the order holds across pages, not only within one.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn users_are_listed_in_the_order_of_the_column_asked_for(pool: PgPool) {
    let roles = three_roles(pool).await;
    let by_name =
        |body: &str, a: &str, b: &str| body.find(a).zip(body.find(b)).is_some_and(|(x, y)| x < y);
    let r = roles
        .site
        .get("/users?sort=-username", Some(&roles.admin))
        .await;
    assert!(by_name(&r.body, ">sam<", ">alex<"), "{}", r.body);
    let r = roles
        .site
        .get("/users?sort=username", Some(&roles.admin))
        .await;
    assert!(by_name(&r.body, ">alex<", ">sam<"), "{}", r.body);
}

/// The sort column comes from the address bar: anything else must not reach the SQL.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_table_ignores_a_sort_column_it_does_not_know(pool: PgPool) {
    let roles = three_roles(pool).await;
    assert_eq!(
        roles
            .site
            .get("/lists?sort=-leads;DROP+TABLE+leads", Some(&roles.admin))
            .await
            .status,
        StatusCode::OK
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_supervisor_cannot_open_the_settings_of_a_campaign_they_do_not_run(pool: PgPool) {
    let roles = three_roles(pool).await;
    let r = roles
        .site
        .get(
            &format!("/campaigns/{}", roles.theirs),
            Some(&roles.supervisor),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_supervisor_sees_only_their_own_campaigns_listed(pool: PgPool) {
    let roles = three_roles(pool).await;
    let r = roles.site.get("/campaigns", Some(&roles.supervisor)).await;
    assert!(
        r.body.contains("Mine") && !r.body.contains("Theirs"),
        "{}",
        r.body
    );
}

/// A script can call a server function without its page, so each checks the role itself.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn each_role_gets_the_status_the_table_gives_it_from_every_server_function(pool: PgPool) {
    let roles = three_roles(pool).await;
    for (path, form, a, s, g) in CALLS {
        let form = roles.fill(form);
        for (who, token, want) in [
            ("agent", &roles.agent, g),
            ("supervisor", &roles.supervisor, s),
            ("admin", &roles.admin, a),
        ] {
            let r = roles.site.post(path, Some(token), &form).await;
            assert_eq!(r.status.as_u16(), *want, "{who} POST {path}: {}", r.body);
        }
    }
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_server_function_called_without_a_session_is_unauthorized(pool: PgPool) {
    let roles = three_roles(pool).await;
    for (path, form, ..) in CALLS {
        let r = roles.site.post(path, None, &roles.fill(form)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "anonymous POST {path}");
    }
}

/// A refused call must not have half-happened: what the agent and supervisor tried did not.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn of_three_roles_calling_create_user_only_the_admin_creates_one(pool: PgPool) {
    let roles = three_roles(pool.clone()).await;
    for token in [&roles.agent, &roles.supervisor, &roles.admin] {
        roles
            .site
            .post(
                "/api/create_user",
                Some(token),
                "username=newbie&display_name=&role=admin",
            )
            .await;
    }
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE username = 'newbie'")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(users, 1, "created once, by the admin");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn sign_in_throttle_csrf_and_sign_out(pool: PgPool) {
    use dialtone_core::vocabulary::Role;
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
    use dialtone_core::vocabulary::Role;
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

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn csv_upload_maps_imports_and_reports(pool: PgPool) {
    use dialtone_core::vocabulary::Role;
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

/// An admin's and an agent's API tokens: a script holds a token, not a session cookie.
async fn api_tokens(pool: PgPool) -> (Site, String, String) {
    use dialtone_core::vocabulary::Role;
    let site = Site::new(pool.clone()).await;
    let (admin_id, _) = site.user("ana", Role::Admin).await;
    let (agent_id, _) = site.user("alex", Role::Agent).await;
    let admin = session::issue_api_token(&pool, admin_id, "ci")
        .await
        .expect("token");
    let agent = session::issue_api_token(&pool, agent_id, "ci")
        .await
        .expect("token");
    (site, admin, agent)
}

/// A campaign made through the API, as a script makes what it then works on.
async fn api_campaign(site: &Site, admin: &str) -> i64 {
    let r = site
        .api(
            "POST",
            "/api/v1/campaigns",
            admin,
            Some(serde_json::json!({"name": "Api", "dial_method": "predictive"})),
        )
        .await;
    parse(&r)["id"].as_i64().expect("id")
}

/// A list of `campaign` made through the API.
async fn api_list(site: &Site, admin: &str, campaign: i64) -> i64 {
    let r = site
        .api(
            "POST",
            "/api/v1/lists",
            admin,
            Some(serde_json::json!({"name": "Api list", "campaign_id": campaign})),
        )
        .await;
    parse(&r)["id"].as_i64().expect("id")
}

/// The version a change to campaign `id` must name, as the API reads it out.
async fn api_campaign_version(site: &Site, admin: &str, id: i64) -> String {
    let form = parse(
        &site
            .api("GET", &format!("/api/v1/campaigns/{id}"), admin, None)
            .await,
    );
    form["version"].as_str().expect("version").to_string()
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_openapi_document_describes_the_api_without_a_token(pool: PgPool) {
    let site = Site::new(pool).await;
    let spec = parse(&site.get("/api/v1/openapi.json", None).await);
    assert_eq!(spec["openapi"], "3.1.0");
    assert!(spec["paths"]["/api/v1/campaigns/{id}"]["put"].is_object());
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_token_that_was_never_issued_is_unauthorized(pool: PgPool) {
    let (site, _, _) = api_tokens(pool).await;
    assert_eq!(
        site.api("GET", "/api/v1/campaigns", "dt_wrong", None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_admin_token_creates_a_campaign(pool: PgPool) {
    let (site, admin, _) = api_tokens(pool).await;
    let r = site
        .api(
            "POST",
            "/api/v1/campaigns",
            &admin,
            Some(serde_json::json!({"name": "Api", "dial_method": "predictive"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(parse(&r)["id"].is_i64(), "{}", r.body);
}

/// A token carries its user's role: the API allows what the pages allow.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_agent_token_cannot_create_a_campaign(pool: PgPool) {
    let (site, _, agent) = api_tokens(pool).await;
    let r = site
        .api(
            "POST",
            "/api/v1/campaigns",
            &agent,
            Some(serde_json::json!({"name": "Nope", "dial_method": "ratio"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_agent_token_cannot_list_users(pool: PgPool) {
    let (site, _, agent) = api_tokens(pool).await;
    assert_eq!(
        site.api("GET", "/api/v1/users", &agent, None).await.status,
        StatusCode::FORBIDDEN
    );
}

/// The API checks a campaign as its form does, and says which value is wrong.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_campaign_change_out_of_range_is_unprocessable_and_names_the_value(pool: PgPool) {
    let (site, admin, _) = api_tokens(pool).await;
    let id = api_campaign(&site, &admin).await;
    let version = api_campaign_version(&site, &admin, id).await;
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
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_campaign_change_in_range_is_saved(pool: PgPool) {
    let (site, admin, _) = api_tokens(pool).await;
    let id = api_campaign(&site, &admin).await;
    let version = api_campaign_version(&site, &admin, id).await;
    let r = site
        .api(
            "PUT",
            &format!("/api/v1/campaigns/{id}"),
            &admin,
            Some(serde_json::json!({"version": version, "values": {"abandon_cap_pct": 2.5}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// A number is kept as a number, whatever the punctuation it was sent with.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_number_put_on_the_dnc_list_with_a_token_is_found_there(pool: PgPool) {
    let (site, admin, _) = api_tokens(pool).await;
    let r = site
        .api(
            "POST",
            "/api/v1/dnc",
            &admin,
            Some(serde_json::json!({"number": "(201) 555-0123"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let found = parse(&site.api("GET", "/api/v1/dnc?q=1201", &admin, None).await);
    assert_eq!(found["total"], 1);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_dnc_number_too_short_to_dial_is_unprocessable(pool: PgPool) {
    let (site, admin, _) = api_tokens(pool).await;
    let r = site
        .api(
            "POST",
            "/api/v1/dnc",
            &admin,
            Some(serde_json::json!({"number": "12"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

/// Lists through the API get the same checks as on the pages.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_list_for_a_country_that_does_not_exist_is_unprocessable(pool: PgPool) {
    let (site, admin, _) = api_tokens(pool).await;
    let id = api_campaign(&site, &admin).await;
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
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_admin_token_creates_a_list_for_a_campaign(pool: PgPool) {
    let (site, admin, _) = api_tokens(pool).await;
    let id = api_campaign(&site, &admin).await;
    let r = site
        .api(
            "POST",
            "/api/v1/lists",
            &admin,
            Some(serde_json::json!({"name": "Api list", "campaign_id": id})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(parse(&r)["id"].is_i64(), "{}", r.body);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_api_finds_a_lead_by_its_phone_number_as_written(pool: PgPool) {
    let (site, admin, _) = api_tokens(pool.clone()).await;
    let id = api_campaign(&site, &admin).await;
    let list = api_list(&site, &admin, id).await;
    sqlx::query("INSERT INTO leads (list_id, phone_e164, country, time_zone) VALUES ($1, '+12025550100', 'US', 'America/New_York')").bind(list).execute(&pool).await.expect("lead");
    let found = parse(
        &site
            .api("GET", "/api/v1/leads?q=202-555-0100", &admin, None)
            .await,
    );
    assert_eq!(found["rows"][0]["list_id"], list);
}

/// A name search must be within a list, as on the leads page.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_api_refuses_a_lead_search_by_name_in_no_list(pool: PgPool) {
    let (site, admin, _) = api_tokens(pool).await;
    assert_eq!(
        site.api("GET", "/api/v1/leads?q=Smith", &admin, None)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_agent_token_cannot_change_a_list(pool: PgPool) {
    let (site, admin, agent) = api_tokens(pool).await;
    let id = api_campaign(&site, &admin).await;
    let list = api_list(&site, &admin, id).await;
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
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_admin_token_gives_a_new_supervisor_a_campaign_to_run(pool: PgPool) {
    let (site, admin, _) = api_tokens(pool.clone()).await;
    let id = api_campaign(&site, &admin).await;
    let r = site
        .api(
            "POST",
            "/api/v1/users",
            &admin,
            Some(serde_json::json!({"username": "newbie", "role": "supervisor"})),
        )
        .await;
    let newbie = parse(&r)["id"].as_i64().expect("id");
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
}

/// A token is not a cookie: no CSRF check applies, and none is needed.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_token_alone_tells_the_api_who_calls(pool: PgPool) {
    let (site, _, agent) = api_tokens(pool).await;
    let who = parse(&site.api("GET", "/api/v1/me", &agent, None).await);
    assert_eq!(who["role"], "agent");
}

/// A supervisor running `mine`, whose list holds `lead` (Ana Silva, tier gold); `hidden` is on
/// a list of `other`, a campaign they do not run.
struct Leads {
    site: Site,
    admin: String,
    supervisor: String,
    mine: i64,
    other: i64,
    my_list: i64,
    lead: i64,
    hidden: i64,
}

async fn leads_of_two_campaigns(pool: PgPool) -> Leads {
    use dialtone_core::vocabulary::Role;
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
    Leads {
        site,
        admin,
        supervisor,
        mine,
        other,
        my_list,
        lead,
        hidden,
    }
}

/// The leads search form for `q`, within `list` (an id, or "" for every list).
fn search(q: &str, list: &str) -> String {
    format!(
        "q={}&list={list}&page=1",
        form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
    )
}

/// The version a save of `leads.lead` must name, as its page loads it.
async fn lead_version(leads: &Leads) -> String {
    let detail = parse(
        &leads
            .site
            .post(
                "/api/get_lead",
                Some(&leads.admin),
                &format!("id={}", leads.lead),
            )
            .await,
    );
    detail["version"].as_str().expect("version").to_string()
}

/// The lead page's form for `lead` with this email and status.
fn lead_form(lead: i64, email: &str, status: &str, version: &str) -> String {
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
}

/// A recording of `lead` in `campaign`, its file in the site's recordings directory.
async fn recording(leads: &Leads, lead: i64, campaign: i64) -> i64 {
    let dir = leads.site._dir.path().join("recordings/2026-11-25");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("call.wav"), b"RIFF....WAVEfmt ").expect("file");
    sqlx::query_scalar("INSERT INTO recordings (lead_id, campaign_id, file_path) VALUES ($1, $2, '2026-11-25/call.wav') RETURNING id")
        .bind(lead)
        .bind(campaign)
        .fetch_one(&leads.site.pool)
        .await
        .expect("recording")
}

/// A number is found however it is written down.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_admin_finds_a_lead_by_its_phone_number_as_written(pool: PgPool) {
    let leads = leads_of_two_campaigns(pool).await;
    let r = leads
        .site
        .post(
            "/api/search_leads",
            Some(&leads.admin),
            &search("(201) 555-0123", ""),
        )
        .await;
    assert!(
        r.body.contains(&format!("\"id\":{}", leads.lead)) && r.body.contains("Ana Silva"),
        "{}",
        r.body
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_admin_finds_a_lead_of_any_campaign_by_its_id(pool: PgPool) {
    let leads = leads_of_two_campaigns(pool).await;
    let r = leads
        .site
        .post(
            "/api/search_leads",
            Some(&leads.admin),
            &search(&format!("#{}", leads.hidden), ""),
        )
        .await;
    assert!(r.body.contains("Hidden"), "{}", r.body);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_search_by_name_in_no_list_asks_for_the_list(pool: PgPool) {
    let leads = leads_of_two_campaigns(pool).await;
    let r = leads
        .site
        .post("/api/search_leads", Some(&leads.admin), &search("silv", ""))
        .await;
    assert!(
        r.body.contains("choose the list"),
        "a name search needs a list: {}",
        r.body
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_search_by_name_in_a_list_finds_a_last_name_by_its_start(pool: PgPool) {
    let leads = leads_of_two_campaigns(pool).await;
    let r = leads
        .site
        .post(
            "/api/search_leads",
            Some(&leads.admin),
            &search("silv", &leads.my_list.to_string()),
        )
        .await;
    assert!(r.body.contains("Ana Silva"), "{}", r.body);
}

/// The typed name is lower-cased as the index is, by PostgreSQL: Rust's to_lowercase makes
/// "İ" two characters, which no indexed name starts with.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_search_by_name_lower_cases_as_the_index_does(pool: PgPool) {
    let leads = leads_of_two_campaigns(pool.clone()).await;
    sqlx::query(
        "INSERT INTO leads (list_id, phone_e164, country, time_zone, first_name, last_name)
         VALUES ($1, '+12015550124', 'US', 'America/New_York', 'Efe', 'İnce')",
    )
    .bind(leads.my_list)
    .execute(&pool)
    .await
    .expect("lead");
    let r = leads
        .site
        .post(
            "/api/search_leads",
            Some(&leads.admin),
            &search("İnce", &leads.my_list.to_string()),
        )
        .await;
    assert!(r.body.contains("Efe İnce"), "{}", r.body);
}

/// A first name alone is not a last name.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_search_by_name_takes_a_first_and_a_last_name_in_either_order(pool: PgPool) {
    let leads = leads_of_two_campaigns(pool).await;
    for (q, found) in [
        ("ana silva", true),
        ("Silva An", true),
        ("bob silva", false),
        ("ana", false),
    ] {
        let r = leads
            .site
            .post(
                "/api/search_leads",
                Some(&leads.admin),
                &search(q, &leads.my_list.to_string()),
            )
            .await;
        assert_eq!(r.body.contains("Ana Silva"), found, "{q}: {}", r.body);
    }
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_supervisor_finds_no_lead_of_a_campaign_they_do_not_run(pool: PgPool) {
    let leads = leads_of_two_campaigns(pool).await;
    let r = leads
        .site
        .post(
            "/api/search_leads",
            Some(&leads.supervisor),
            &search("312 555 0199", ""),
        )
        .await;
    assert!(
        !r.body.contains("Hidden") && r.body.contains("\"rows\":[]"),
        "{}",
        r.body
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_supervisor_cannot_open_a_lead_of_a_campaign_they_do_not_run(pool: PgPool) {
    let leads = leads_of_two_campaigns(pool).await;
    assert_eq!(
        leads
            .site
            .get(&format!("/leads/{}", leads.hidden), Some(&leads.supervisor))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_supervisor_opens_a_lead_of_their_campaign_with_its_custom_fields(pool: PgPool) {
    let leads = leads_of_two_campaigns(pool).await;
    let page = leads
        .site
        .get(&format!("/leads/{}", leads.lead), Some(&leads.supervisor))
        .await;
    assert!(
        page.status == StatusCode::OK && page.body.contains("gold"),
        "{}",
        page.body
    );
}

/// Every wrong field is named at once, not the first only.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_lead_saved_with_a_bad_email_and_status_names_both(pool: PgPool) {
    let leads = leads_of_two_campaigns(pool).await;
    let version = lead_version(&leads).await;
    let r = leads
        .site
        .post(
            "/api/save_lead",
            Some(&leads.admin),
            &lead_form(leads.lead, "not an email", "NOPE", &version),
        )
        .await;
    assert!(
        r.body.contains("\"email\"") && r.body.contains("\"status\""),
        "{}",
        r.body
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_lead_saves_its_fields_and_custom_values_under_any_header(pool: PgPool) {
    let leads = leads_of_two_campaigns(pool.clone()).await;
    let version = lead_version(&leads).await;
    let r = leads
        .site
        .post(
            "/api/save_lead",
            Some(&leads.admin),
            &lead_form(leads.lead, "ana@example.com", "NEW", &version),
        )
        .await;
    assert!(r.body.contains("\"Ok\""), "{}", r.body);
    let (first, tier, second): (String, String, String) = sqlx::query_as(
        "SELECT first_name, custom->>'tier', custom->>'2nd phone [home]' FROM leads WHERE id = $1",
    )
    .bind(leads.lead)
    .fetch_one(&pool)
    .await
    .expect("lead");
    assert_eq!(
        (first.as_str(), tier.as_str(), second.as_str()),
        ("Ana Maria", "platinum", "5550100")
    );
}

/// Two people editing one lead: the second save must not silently undo the first.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_lead_form_saved_since_it_was_opened_is_refused(pool: PgPool) {
    let leads = leads_of_two_campaigns(pool).await;
    let version = lead_version(&leads).await;
    let form = lead_form(leads.lead, "ana@example.com", "NEW", &version);
    leads
        .site
        .post("/api/save_lead", Some(&leads.admin), &form)
        .await;
    let r = leads
        .site
        .post("/api/save_lead", Some(&leads.admin), &form)
        .await;
    assert!(
        r.body.contains("changed this lead after you opened it"),
        "stale: {}",
        r.body
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_supervisor_plays_a_recording_of_their_campaign(pool: PgPool) {
    let leads = leads_of_two_campaigns(pool).await;
    let rec = recording(&leads, leads.lead, leads.mine).await;
    let audio = leads
        .site
        .get(&format!("/recordings/{rec}/file"), Some(&leads.supervisor))
        .await;
    assert_eq!(audio.status, StatusCode::OK);
    assert!(audio.body.starts_with("RIFF"));
}

/// The file is there: it is the campaign that keeps the supervisor out.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_supervisor_cannot_play_a_recording_of_a_campaign_they_do_not_run(pool: PgPool) {
    let leads = leads_of_two_campaigns(pool).await;
    let other_rec = recording(&leads, leads.hidden, leads.other).await;
    assert_eq!(
        leads
            .site
            .get(
                &format!("/recordings/{other_rec}/file"),
                Some(&leads.supervisor)
            )
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_recordings_page_links_each_recording_to_its_file(pool: PgPool) {
    let leads = leads_of_two_campaigns(pool).await;
    let rec = recording(&leads, leads.lead, leads.mine).await;
    let listed = leads.site.get("/recordings", Some(&leads.admin)).await;
    assert!(
        listed.body.contains(&format!("/recordings/{rec}/file")),
        "{}",
        listed.body
    );
}

/// A new disposition with its flags, as the codes page saves it.
const APPOINTMENT: &str = "code=APPT&name=Appointment+set&category=sale&flags%5Bselectable%5D=on&flags%5Bsale%5D=on&flags%5Bhuman_answered%5D=on";
/// A call time open on day 1 from 17:00 to 20:30.
const EVENINGS: &str =
    "name=Evenings&description=After+work&hours%5Bopen:1%5D=17:00&hours%5Bclose:1%5D=20:30";
/// A state's calling hours, with the law that sets them.
const TEXAS: &str = "country=US&state=TX&opens=09:00&closes=21:00&max_attempts_24h=&citation=Tex.+Bus.+%26+Com.+Code+305.053";

/// A site with a signed-in admin.
async fn admin_site(pool: PgPool) -> (Site, String) {
    let site = Site::new(pool).await;
    let (_, admin) = site
        .user("ana", dialtone_core::vocabulary::Role::Admin)
        .await;
    (site, admin)
}

/// A new inbound group, and its settings form as its page loads it.
async fn inbound_group(site: &Site, admin: &str) -> (i64, serde_json::Value) {
    let r = site
        .post("/api/create_inbound", Some(admin), "name=Support")
        .await;
    let id = parse(&r)["Ok"]["id"].as_i64().expect("created");
    let form = parse(
        &site
            .post("/api/get_inbound", Some(admin), &format!("id={id}"))
            .await,
    );
    (id, form)
}

/// The group's settings form with `changes` over the values it was loaded with: they are
/// checked as a whole.
fn inbound_form(id: i64, form: &serde_json::Value, changes: &[(&str, &str)]) -> String {
    let values: Vec<(String, String)> =
        serde_json::from_value(form["values"].clone()).expect("values");
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
}

/// A campaign offering SALE on hotkey 1, APPT and the LUNCH pause.
fn offer_sale_and_appointment(campaign: i64) -> String {
    format!("campaign={campaign}&offer%5Bdisposition:SALE%5D=on&offer%5Bhotkey:SALE%5D=1&offer%5Bdisposition:APPT%5D=on&offer%5Bpause:LUNCH%5D=on")
}

/// A transfer needs somewhere to go; each wrong value is named, not the first only.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_inbound_group_transferring_nowhere_in_no_real_zone_names_both(pool: PgPool) {
    let (site, admin) = admin_site(pool).await;
    let (id, form) = inbound_group(&site, &admin).await;
    let r = site
        .post(
            "/api/save_inbound",
            Some(&admin),
            &inbound_form(
                id,
                &form,
                &[
                    ("timeout_action", "transfer_number"),
                    ("time_zone", "Mars/Olympus"),
                ],
            ),
        )
        .await;
    let fields: Vec<String> = parse(&r)["Invalid"]["fields"]
        .as_array()
        .expect("invalid")
        .iter()
        .map(|f| f[0].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        fields.contains(&"timeout_target".to_string()) && fields.contains(&"time_zone".to_string()),
        "{fields:?}"
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_inbound_group_saves_a_transfer_to_a_number_and_its_longest_wait(pool: PgPool) {
    let (site, admin) = admin_site(pool.clone()).await;
    let (id, form) = inbound_group(&site, &admin).await;
    let r = site
        .post(
            "/api/save_inbound",
            Some(&admin),
            &inbound_form(
                id,
                &form,
                &[
                    ("timeout_action", "transfer_number"),
                    ("timeout_target", "+12025550100"),
                    ("max_wait_secs", "120"),
                ],
            ),
        )
        .await;
    assert!(r.body.contains("\"Ok\""), "{}", r.body);
    let wait: i32 = sqlx::query_scalar("SELECT max_wait_secs FROM inbound_groups WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .expect("group");
    assert_eq!(wait, 120);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_number_written_any_way_is_added_to_ring_an_inbound_group(pool: PgPool) {
    let (site, admin) = admin_site(pool).await;
    let (id, _) = inbound_group(&site, &admin).await;
    let r = site
        .post(
            "/api/add_did",
            Some(&admin),
            &format!("number=%2B1+(800)+555-0100&description=Main&group_id={id}"),
        )
        .await;
    assert!(r.body.contains("\"Ok\""), "{}", r.body);
}

/// A number rings one group: the same digits written another way are the same number.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_number_already_ringing_a_group_is_refused_as_taken(pool: PgPool) {
    let (site, admin) = admin_site(pool).await;
    let (id, _) = inbound_group(&site, &admin).await;
    site.post(
        "/api/add_did",
        Some(&admin),
        &format!("number=%2B1+(800)+555-0100&description=Main&group_id={id}"),
    )
    .await;
    let r = site
        .post(
            "/api/add_did",
            Some(&admin),
            &format!("number=%2B18005550100&description=Again&group_id={id}"),
        )
        .await;
    assert!(r.body.contains("already taken"), "{}", r.body);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_inbound_number_that_is_not_a_phone_number_is_named(pool: PgPool) {
    let (site, admin) = admin_site(pool).await;
    let (id, _) = inbound_group(&site, &admin).await;
    let r = site
        .post(
            "/api/add_did",
            Some(&admin),
            &format!("number=call+me&description=&group_id={id}"),
        )
        .await;
    assert!(r.body.contains("\"number\""), "{}", r.body);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_new_disposition_is_saved_with_its_flags(pool: PgPool) {
    let (site, admin) = admin_site(pool.clone()).await;
    let r = site
        .post("/api/save_status", Some(&admin), APPOINTMENT)
        .await;
    assert!(r.body.contains("\"Ok\""), "{}", r.body);
    let (sale, selectable): (bool, bool) =
        sqlx::query_as("SELECT sale, selectable FROM statuses WHERE code = 'APPT'")
            .fetch_one(&pool)
            .await
            .expect("status");
    assert!(sale && selectable);
}

/// The dialer's own dispositions mean what it relies on them to mean.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_disposition_the_dialer_sets_cannot_be_redefined(pool: PgPool) {
    let (site, admin) = admin_site(pool).await;
    let r = site
        .post(
            "/api/save_status",
            Some(&admin),
            "code=NA&name=Mine+now&category=other",
        )
        .await;
    assert!(r.body.contains("set by the dialer"), "{}", r.body);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_disposition_with_a_bad_code_and_category_names_both(pool: PgPool) {
    let (site, admin) = admin_site(pool).await;
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
}

/// An agent's key press must mean one disposition.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_campaign_cannot_offer_two_dispositions_on_one_hotkey(pool: PgPool) {
    let (site, admin) = admin_site(pool.clone()).await;
    let campaign = campaign(&pool, "Spring").await;
    let r = site.post("/api/set_campaign_codes", Some(&admin), &format!("campaign={campaign}&offer%5Bdisposition:SALE%5D=on&offer%5Bhotkey:SALE%5D=1&offer%5Bdisposition:NI%5D=on&offer%5Bhotkey:NI%5D=1")).await;
    assert!(r.body.contains("each hotkey once"), "{}", r.body);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_campaign_offers_exactly_the_dispositions_ticked_for_it(pool: PgPool) {
    let (site, admin) = admin_site(pool.clone()).await;
    site.post("/api/save_status", Some(&admin), APPOINTMENT)
        .await;
    let campaign = campaign(&pool, "Spring").await;
    let r = site
        .post(
            "/api/set_campaign_codes",
            Some(&admin),
            &offer_sale_and_appointment(campaign),
        )
        .await;
    assert!(r.body.contains("\"Ok\""), "{}", r.body);
    let offered: Vec<String> = sqlx::query_scalar(
        "SELECT status_code FROM campaign_dispositions WHERE campaign_id = $1 ORDER BY 1",
    )
    .bind(campaign)
    .fetch_all(&pool)
    .await
    .expect("codes");
    assert_eq!(offered, ["APPT", "SALE"]);
}

/// Each bad day is named, so all of them can be fixed at once.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn call_times_name_each_day_that_closes_before_it_opens_or_never(pool: PgPool) {
    let (site, admin) = admin_site(pool).await;
    let r = site.post("/api/save_call_time", Some(&admin), "name=Evenings&description=&hours%5Bopen:1%5D=18:00&hours%5Bclose:1%5D=17:00&hours%5Bopen:2%5D=18:00").await;
    assert!(
        r.body.contains("day:1") && r.body.contains("day:2"),
        "{}",
        r.body
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_call_time_is_saved_with_one_window_per_open_day(pool: PgPool) {
    let (site, admin) = admin_site(pool.clone()).await;
    let r = site
        .post("/api/save_call_time", Some(&admin), EVENINGS)
        .await;
    assert!(r.body.contains("\"Ok\""), "{}", r.body);
    let windows: i64 = sqlx::query_scalar("SELECT count(*) FROM call_time_windows w JOIN call_times c ON c.id = w.call_time_id WHERE c.name = 'Evenings'").fetch_one(&pool).await.expect("windows");
    assert_eq!(windows, 1);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_holiday_on_a_day_that_does_not_exist_is_named(pool: PgPool) {
    let (site, admin) = admin_site(pool).await;
    let r = site
        .post(
            "/api/add_holiday",
            Some(&admin),
            "name=Founders&day=2026-13-40&state=&call_time=",
        )
        .await;
    assert!(r.body.contains("\"day\""), "{}", r.body);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_states_calling_hours_are_saved_with_the_law_that_sets_them(pool: PgPool) {
    let (site, admin) = admin_site(pool).await;
    let r = site.post("/api/save_rule", Some(&admin), TEXAS).await;
    assert!(r.body.contains("\"Ok\""), "{}", r.body);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_call_times_page_lists_call_times_and_state_rules(pool: PgPool) {
    let (site, admin) = admin_site(pool).await;
    site.post("/api/save_call_time", Some(&admin), EVENINGS)
        .await;
    site.post("/api/save_rule", Some(&admin), TEXAS).await;
    let page = site.get("/calltimes", Some(&admin)).await;
    assert!(
        page.body.contains("Evenings") && page.body.contains("US TX"),
        "{}",
        page.body
    );
}

/// Who changed how calls are routed, coded and timed must show in the audit log.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn every_change_to_inbound_codes_and_hours_is_audited(pool: PgPool) {
    let (site, admin) = admin_site(pool.clone()).await;
    let (id, form) = inbound_group(&site, &admin).await;
    let changes = [
        ("timeout_action", "transfer_number"),
        ("timeout_target", "+12025550100"),
        ("max_wait_secs", "120"),
    ];
    let did = format!("number=%2B1+(800)+555-0100&description=Main&group_id={id}");
    let campaign = campaign(&pool, "Spring").await;
    for (path, body) in [
        ("/api/save_inbound", inbound_form(id, &form, &changes)),
        ("/api/add_did", did),
        ("/api/save_status", APPOINTMENT.to_string()),
        (
            "/api/set_campaign_codes",
            offer_sale_and_appointment(campaign),
        ),
        ("/api/save_call_time", EVENINGS.to_string()),
        ("/api/save_rule", TEXAS.to_string()),
    ] {
        site.post(path, Some(&admin), &body).await;
    }
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
