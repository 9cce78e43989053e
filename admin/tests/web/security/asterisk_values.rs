//! Values that reach Asterisk: refused at the form and API boundary with the field named,
//! refused again by the database whoever writes the row, and the two rules are the same.

use dialtone_core::asterisk_values::Kind;
use dialtone_core::vocabulary::Role;
use serde_json::{json, Value};

use crate::helpers::*;

/// MixMonitor reads `file,options,command` and runs the command when the recording ends.
const RUNS_A_COMMAND: &str = "{date}/{lead}-{uniqueid},b,touch proof;#";

/// `PUT /api/v1/campaigns/{id}` with `values`, on the campaign's current version.
async fn put_settings(site: &Site, api: &str, id: i64, values: Value) -> Reply {
    let path = format!("/api/v1/campaigns/{id}");
    let form = parse(&site.api("GET", &path, api, None).await);
    let version = form["version"].as_str().expect("version");
    site.api(
        "PUT",
        &path,
        api,
        Some(json!({"version": version, "values": values})),
    )
    .await
}

async fn stored(pool: &PgPool, id: i64, column: &str) -> Option<String> {
    sqlx::query_scalar(&format!(
        "SELECT {column}::text FROM campaigns WHERE id = $1"
    ))
    .bind(id)
    .fetch_one(pool)
    .await
    .expect("campaign")
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_recording_pattern_that_runs_a_command_is_refused_naming_the_field(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let api = admin_token(&site, "ana").await;
    let id = campaign(&pool, "Spring").await;
    let before = stored(&pool, id, "recording_pattern").await;
    let r = put_settings(
        &site,
        &api,
        id,
        json!({"recording_pattern": RUNS_A_COMMAND}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        parse(&r)["fields"]["recording_pattern"].is_string(),
        "{}",
        r.body
    );
    assert_eq!(stored(&pool, id, "recording_pattern").await, before);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE entity = 'campaign' AND action = 'update'",
    )
    .fetch_one(&pool)
    .await
    .expect("audit");
    assert_eq!(audited, 0, "nothing was saved, so nothing is audited");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn every_campaign_setting_that_reaches_asterisk_refuses_what_would_break_out(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let api = admin_token(&site, "ana").await;
    let id = campaign(&pool, "Spring").await;
    let hostile = [
        ("safe_harbor_audio", "dialtone/safe-harbor,,x"),
        ("machine_message_audio", "../../../etc/shadow"),
        ("recording_pattern", RUNS_A_COMMAND),
        ("caller_id_name", "Acme\r\nAction: Hangup"),
        ("caller_id_number", "+1555;1"),
        ("dial_template", "PJSIP/{number}@{trunk}&Local/1@evil"),
        ("trunk", "carrier,30"),
        ("dial_prefix", "9w"),
    ];
    for (field, value) in hostile {
        let before = stored(&pool, id, field).await;
        let r = put_settings(&site, &api, id, json!({ field: value })).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            r.body
        );
        assert!(
            parse(&r)["fields"][field].is_string(),
            "{field}: {}",
            r.body
        );
        assert_eq!(
            stored(&pool, id, field).await,
            before,
            "{field} kept its value"
        );
    }
    // What operators write is still taken.
    let good = json!({
        "safe_harbor_audio": "custom/acme-safe-harbor", "recording_pattern": "{date}/{campaign}/{lead}-{call}",
        "caller_id_name": "Acme Sales", "caller_id_number": "+12125550100",
        "dial_template": "PJSIP/{number}@{trunk}", "trunk": "carrier-east", "dial_prefix": "9"});
    let r = put_settings(&site, &api, id, good).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_nul_byte_is_refused_naming_the_field_not_as_a_database_failure(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let api = admin_token(&site, "ana").await;
    let (_, cookie) = site.user("root", Role::Admin).await;
    let id = campaign(&pool, "Spring").await;
    let r = put_settings(&site, &api, id, json!({"description": "a\u{0}b"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        parse(&r)["fields"]["values.description"].is_string(),
        "{}",
        r.body
    );
    let r = site
        .post(
            "/api/create_campaign",
            Some(&cookie),
            "name=Sp%00ring&dial_method=predictive",
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(parse(&r)["fields"]["name"].is_string(), "{}", r.body);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_inbound_routes_target_is_held_to_what_its_action_sends(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let (_, cookie) = site.user("root", Role::Admin).await;
    let group: i64 =
        sqlx::query_scalar("INSERT INTO inbound_groups (name) VALUES ('Help') RETURNING id")
            .fetch_one(&pool)
            .await
            .expect("group");
    let version: String =
        sqlx::query_scalar("SELECT updated_at::text FROM inbound_groups WHERE id = $1")
            .bind(group)
            .fetch_one(&pool)
            .await
            .expect("version");
    for (action, target) in [
        ("voicemail", "1234,u,x"),
        ("message_hangup", "/etc/passwd,x"),
        ("transfer_number", "Local/1@evil"),
    ] {
        let form = format!(
            "id={group}&version={}&values[name]=Help&values[time_zone]=America/New_York&values[music_class]=default\
             &values[queue_priority]=0&values[position_announce_secs]=0&values[max_wait_secs]=60&values[service_level_secs]=20\
             &values[recording_policy]=never&values[closed_action]={action}&values[closed_target]={}\
             &values[no_agents_action]=message_hangup&values[timeout_action]=message_hangup",
            urlencode(&version),
            urlencode(target)
        );
        let r = site.post("/api/save_inbound", Some(&cookie), &form).await;
        assert!(
            r.body.contains("closed_target"),
            "{action} {target}: {} {}",
            r.status,
            r.body
        );
        let kept: Option<String> =
            sqlx::query_scalar("SELECT closed_target FROM inbound_groups WHERE id = $1")
                .bind(group)
                .fetch_one(&pool)
                .await
                .expect("group");
        assert_eq!(kept, None, "{action}: nothing saved");
    }
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_admin_assigns_phones_and_no_other_kind_of_channel(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let api = admin_token(&site, "ana").await;
    let (agent, _) = site.user("amy", Role::Agent).await;
    for phone in [
        "Local/15551234567@dialtone-transfer",
        "PJSIP/1001@other-host",
        "PJSIP/1001\r\nAction: Hangup",
        "PJSIP/1001&PJSIP/1002",
    ] {
        let r = site
            .api(
                "PATCH",
                &format!("/api/v1/users/{agent}"),
                &api,
                Some(json!({"role": "agent", "active": true, "phone": phone})),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{phone}: {}",
            r.body
        );
        assert!(parse(&r)["fields"]["phone"].is_string(), "{}", r.body);
    }
    let r = site
        .api(
            "PATCH",
            &format!("/api/v1/users/{agent}"),
            &api,
            Some(json!({"role": "agent", "active": true, "phone": "PJSIP/1001"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // A change that does not name the phone keeps it.
    let r = site
        .api(
            "PATCH",
            &format!("/api/v1/users/{agent}"),
            &api,
            Some(json!({"role": "agent", "active": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let phone: Option<String> =
        sqlx::query_scalar("SELECT phone_dial_string FROM users WHERE id = $1")
            .bind(agent)
            .fetch_one(&pool)
            .await
            .expect("user");
    assert_eq!(phone.as_deref(), Some("PJSIP/1001"));
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_database_refuses_what_asterisk_must_not_receive_whoever_writes_it(pool: PgPool) {
    let id = campaign(&pool, "Spring").await;
    let user = dialtone_core::users::create(&pool, "amy", "", Role::Agent, PASSWORD)
        .await
        .expect("user");
    let writes = [
        (
            "UPDATE campaigns SET recording_pattern = $1 WHERE id = $2",
            RUNS_A_COMMAND,
        ),
        (
            "UPDATE campaigns SET safe_harbor_audio = $1 WHERE id = $2",
            "x,,y",
        ),
        (
            "UPDATE campaigns SET caller_id_name = $1 WHERE id = $2",
            "A\nB",
        ),
        (
            "UPDATE campaigns SET dial_template = $1 WHERE id = $2",
            "PJSIP/{number},20",
        ),
        (
            "UPDATE campaigns SET machine_message_audio = $1 WHERE id = $2",
            "a|b",
        ),
    ];
    // A Local phone may not start calls in one of Dialtone's own contexts.
    let phones = [(
        "UPDATE users SET phone_dial_string = $1 WHERE id = $2",
        "Local/1@dialtone-outbound",
    )];
    for (sql, value, row) in writes
        .iter()
        .map(|(q, v)| (q, v, id))
        .chain(phones.iter().map(|(q, v)| (q, v, user)))
    {
        let err = sqlx::query(sql)
            .bind(value)
            .bind(row)
            .execute(&pool)
            .await
            .expect_err(sql);
        assert!(err.to_string().contains("check constraint"), "{sql}: {err}");
    }
}

/// The same answer from `core::asterisk_values` and from the database's
/// `dialtone_asterisk_value_ok`, for every kind, on values each side could get wrong.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_rust_and_database_whitelists_answer_alike(pool: PgPool) {
    let values = [
        "dialtone/safe-harbor",
        "/var/lib/asterisk/sounds/x",
        "a/../b",
        "a//b",
        ".a",
        "a.",
        "-a",
        "/",
        "{date}/{campaign}/{lead}-{uniqueid}",
        "{date}.{time}",
        "{nope}",
        "{date",
        "x/.{lead}",
        "Acme Sales & Co.",
        "Acme, Inc",
        "O'Brien",
        "+12125550100",
        "12",
        "1234567890123456",
        "9",
        "*9#",
        "9w",
        "PJSIP/{number}@{trunk}",
        "PJSIP/{trunk}",
        "IAX2/u:p@h/{number}",
        "Local/{number}@ctx&x",
        "PJSIP/912125550100@carrier",
        "PJSIP/1 2",
        "carrier-1.east",
        "a b",
        "PJSIP/1001",
        "SIP/a_b",
        "IAX2/x",
        "DAHDI/1",
        "PJSIP/a@b",
        "Local/1001@phones",
        "Local/1001@dialtone-agent",
        "Local/1001@phones/n",
        "1234@default",
        "1234@",
        "agent-17",
        "default",
        "1234#*A",
        "1w",
        "+18005550100",
        "_X.",
        "",
        " ",
        "é",
        "a\tb",
        RUNS_A_COMMAND,
    ];
    for kind in Kind::ALL {
        for value in values {
            let sql: Option<bool> = sqlx::query_scalar("SELECT dialtone_asterisk_value_ok($1, $2)")
                .bind(kind.sql_name())
                .bind(value)
                .fetch_one(&pool)
                .await
                .expect("asks");
            assert_eq!(sql, Some(kind.accepts(value)), "{kind} {value:?}");
        }
    }
}
