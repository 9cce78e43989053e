//! The web admin end to end: the real `dialtone web` binary, the built browser bundle, and
//! headless Chromium driven by `tests/browser/admin.mjs` (playwright-core). `scripts/test`
//! builds the bundle and installs Chromium and the npm tools first.
//!
//! Set `DIALTONE_SCREENSHOTS=docs/screenshots` to refresh the screenshots in the docs.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's helpers fail the test as its #[test]s do

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{browser, database_url, free_port, wait_listening, Process};
use dialtone_core::users;
use dialtone_core::vocabulary::Role;
use sqlx::PgPool;

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn admin_pages_in_chromium(pool: PgPool) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let site = root.join("target/site");
    assert!(
        site.join("pkg/admin_bg.wasm").exists(),
        "the browser bundle is missing: run scripts/build-admin (scripts/test does)"
    );
    assert!(
        root.join("node_modules/playwright-core").exists(),
        "playwright-core is missing: run scripts/build-admin (npm install)"
    );
    let admin_pass = "seeded admin password";
    users::create(&pool, "ana", "Ana Admin", Role::Admin, admin_pass)
        .await
        .expect("admin");
    let agent_pass = "agent alex password";
    let agent = users::create(&pool, "alex", "Alex Agent", Role::Agent, agent_pass)
        .await
        .expect("agent");
    sqlx::query("UPDATE users SET must_change_password = false WHERE id = $1")
        .bind(agent)
        .execute(&pool)
        .await
        .expect("agent ready");

    let port = free_port();
    let data = tempfile::tempdir().expect("data dir");
    let server = Command::new(env!("CARGO_BIN_EXE_dialtone"))
        .arg("web")
        .env_remove("DIALTONE_CONFIG")
        .env("DATABASE_URL", database_url(&pool))
        .env("DIALTONE_LISTEN__WEB", format!("127.0.0.1:{port}"))
        .env(
            "DIALTONE_LISTEN__METRICS",
            format!("127.0.0.1:{}", free_port()),
        )
        .env("DIALTONE_WEB__SITE_ROOT", &site)
        .env(
            "DIALTONE_WEB__PUBLIC_URL",
            format!("http://127.0.0.1:{port}"),
        )
        .env("DIALTONE_DATA_DIR", data.path())
        .env("RUST_LOG", dialtone_core::telemetry::test_child_log("warn"))
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starts dialtone web");
    let _server = Process(server);
    wait_listening(port, "dialtone web").await;

    let shots = common::screenshots(root, data.path());
    browser(
        root,
        "admin.mjs",
        &[
            ("BASE", format!("http://127.0.0.1:{port}")),
            ("ADMIN_USER", "ana".into()),
            ("ADMIN_PASS", admin_pass.into()),
            ("AGENT_USER", "alex".into()),
            ("AGENT_PASS", agent_pass.into()),
        ],
        &shots,
    )
    .await;

    // What the browser did is in the database and the audit log.
    let (campaigns, leads, audited): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM campaigns WHERE name = 'Browser campaign'),
                (SELECT count(*) FROM leads l JOIN lists s ON s.id = l.list_id WHERE s.name = 'Browser list'),
                (SELECT count(*) FROM audit_log WHERE entity IN ('campaign', 'list'))",
    )
    .fetch_one(&pool)
    .await
    .expect("counts");
    assert_eq!(campaigns, 1);
    assert!(leads > 50_000, "{leads} leads imported");
    assert!(audited >= 4, "{audited} audit entries");
    let sneaky: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE username = 'sneaky'")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(sneaky, 0);
}
