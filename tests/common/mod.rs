//! What the end-to-end tests share: the test database's URL for a child process, free ports,
//! child processes that die with the test, and running a browser script.
#![allow(dead_code)]

pub mod asterisk;
pub mod floor;

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use dialtone_core::telemetry::test_child_log;
use sqlx::PgPool;

/// The URL of the test's own database, for a `dialtone` child process.
pub fn database_url(pool: &PgPool) -> String {
    let o = pool.connect_options();
    format!(
        "postgres://{}@{}:{}/{}",
        o.get_username(),
        o.get_host(),
        o.get_port(),
        o.get_database().unwrap_or("postgres")
    )
}

/// The agents' pages answer: the heartbeat the live hub writes, for these sessions' agents.
pub async fn heartbeat(pool: &PgPool, sessions: &[i64]) -> Result<u64, sqlx::Error> {
    let users: Vec<i64> =
        sqlx::query_scalar("SELECT user_id FROM agent_sessions WHERE id = ANY($1)")
            .bind(sessions)
            .fetch_all(pool)
            .await?;
    let now = chrono::Utc::now();
    let heard: Vec<(i64, chrono::DateTime<chrono::Utc>)> =
        users.into_iter().map(|u| (u, now)).collect();
    dialtone_core::agents::seen(pool, &heard).await
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Kills a child process when the test ends, however it ends.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `dialtone sim` with its AMI on `ami`, running AGI against `agi`; add the callee model's flags.
pub fn sim_command(ami: u16, agi: u16) -> std::process::Command {
    let mut sim = std::process::Command::new(env!("CARGO_BIN_EXE_dialtone"));
    sim.args([
        "sim",
        "--ami",
        &format!("127.0.0.1:{ami}"),
        "--agi",
        &format!("127.0.0.1:{agi}"),
    ])
    .env("RUST_LOG", test_child_log("warn"))
    .stdout(std::process::Stdio::null());
    sim
}

/// `dialtone serve` on the test's database, its AMI link to a simulator on `ami`, its FastAGI
/// on `agi`, its files in `data`, scanning campaigns every second; without Redis (set
/// `REDIS_URL` for a bus across processes).
pub fn serve_command(pool: &PgPool, ami: u16, agi: u16, data: &Path) -> std::process::Command {
    let mut serve = std::process::Command::new(env!("CARGO_BIN_EXE_dialtone"));
    serve
        .args(["serve", "--campaign-scan-secs", "1"])
        .env_remove("DIALTONE_CONFIG")
        .env_remove("REDIS_URL")
        .env("DATABASE_URL", database_url(pool))
        .env("DIALTONE_AMI__HOST", "127.0.0.1")
        .env("DIALTONE_AMI__PORT", ami.to_string())
        .env("DIALTONE_AMI__SECRET", "sim")
        .env("DIALTONE_LISTEN__AGI", format!("127.0.0.1:{agi}"))
        .env("DIALTONE_LISTEN__WEB", format!("127.0.0.1:{}", free_port()))
        .env(
            "DIALTONE_LISTEN__METRICS",
            format!("127.0.0.1:{}", free_port()),
        )
        .env("DIALTONE_DATA_DIR", data)
        .env("DIALTONE_RECORDINGS_DIR", data.join("recordings"))
        .env("RUST_LOG", test_child_log("warn"));
    serve
}

/// Waits until something listens on `port` (30 s at most).
pub async fn wait_listening(port: u16, what: &str) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{what} did not start listening"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Where a browser test's screenshots go: `DIALTONE_SCREENSHOTS` (to refresh the docs'), or
/// beside the test's data.
pub fn screenshots(root: &Path, data: &Path) -> std::path::PathBuf {
    std::env::var("DIALTONE_SCREENSHOTS")
        .map(|d| root.join(d))
        .unwrap_or_else(|_| data.join("screenshots"))
}

/// The Chromium the browser scripts drive, checked to be there.
pub fn chromium() -> String {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "Chromium is missing at {chromium}: apt-get install chromium (scripts/test does)"
    );
    chromium
}

/// Runs `tests/browser/<script>` with node and `env`; fails the test with its output unless it
/// ends with "browser checks passed". Returns what it printed.
pub async fn browser(root: &Path, script: &str, env: &[(&str, String)], shots: &Path) -> String {
    let out = tokio::process::Command::new("node")
        .arg(root.join("tests/browser").join(script))
        .current_dir(root)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("SCREENSHOTS", shots)
        .env("CHROMIUM", chromium())
        .output()
        .await
        .expect("runs node");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success() && stdout.contains("browser checks passed"),
        "browser checks failed (screenshots in {}):\n{stdout}\n{stderr}",
        shots.display()
    );
    stdout
}
