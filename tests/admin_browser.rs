//! The web admin end to end: the real `dialtone web` binary, the built browser bundle, and
//! headless Chromium driven by `tests/browser/admin.mjs` (playwright-core). `scripts/test`
//! builds the bundle and installs Chromium and the npm tools first.
//!
//! Set `DIALTONE_SCREENSHOTS=docs/screenshots` to refresh the screenshots in the docs.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dialtone_core::users::{self, Role};
use sqlx::PgPool;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn database_url(pool: &PgPool) -> String {
    let o = pool.connect_options();
    format!(
        "postgres://{}@{}:{}/{}",
        o.get_username(),
        o.get_host(),
        o.get_port(),
        o.get_database().unwrap_or("postgres")
    )
}

/// Kills the server when the test ends, however it ends.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

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
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "Chromium is missing at {chromium}: apt-get install chromium (scripts/test does)"
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
        .env("RUST_LOG", "warn")
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starts dialtone web");
    let _server = Server(server);
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "dialtone web did not start listening"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let shots = std::env::var("DIALTONE_SCREENSHOTS")
        .map(|d| root.join(d))
        .unwrap_or_else(|_| data.path().join("screenshots"));
    let out = tokio::process::Command::new("node")
        .arg(root.join("tests/browser/admin.mjs"))
        .current_dir(root)
        .env("BASE", format!("http://127.0.0.1:{port}"))
        .env("ADMIN_USER", "ana")
        .env("ADMIN_PASS", admin_pass)
        .env("AGENT_USER", "alex")
        .env("AGENT_PASS", agent_pass)
        .env("SCREENSHOTS", &shots)
        .env("CHROMIUM", &chromium)
        .output()
        .await
        .expect("runs node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "browser checks failed (screenshots in {}):\n{stdout}\n{stderr}",
        shots.display()
    );
    assert!(stdout.contains("browser checks passed"));

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
