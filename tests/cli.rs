//! The `dialtone` binary as an operator runs it, against a fresh database per test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's helpers fail the test as its #[test]s do

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::database_url;
use sqlx::PgPool;

fn dialtone(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dialtone"))
        .args(args)
        .env("DATABASE_URL", url)
        .env_remove("DIALTONE_CONFIG")
        .env("RUST_LOG", "warn")
        .output()
        .expect("runs dialtone")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(url: &str, args: &[&str]) -> String {
    let out = dialtone(url, args);
    assert!(
        out.status.success(),
        "dialtone {args:?} failed: {}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

#[sqlx::test(migrations = false)]
async fn migrate_twice_then_import_export_and_dnc(pool: PgPool) {
    let url = database_url(&pool);
    let first = ok(&url, &["migrate"]);
    assert_eq!(
        ok(&url, &["migrate"]),
        first,
        "a second run changes nothing"
    );

    let dir = tempfile::tempdir().expect("dir");
    let csv = dir.path().join("leads.csv");
    std::fs::write(
        &csv,
        "Phone,First Name,Tier\n(201) 555-0123,=cmd(),gold\n12345,Bad,\n(312) 555-0199,Ben,\n",
    )
    .expect("csv");
    assert!(ok(&url, &["list", "create", "Spring", "--country", "US"]).contains("created list 1"));
    let report = ok(
        &url,
        &["import", csv.to_str().expect("path"), "--list", "1"],
    );
    assert!(
        report.contains("inserted 2") && report.contains("rejected 1"),
        "{report}"
    );
    let errors =
        std::fs::read_to_string(dir.path().join("leads.errors.csv")).expect("error report");
    assert!(
        errors
            .lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("3,'12345' is not a valid number")),
        "{errors}"
    );
    let again = ok(
        &url,
        &["import", csv.to_str().expect("path"), "--list", "1"],
    );
    assert!(again.contains("already finished"), "{again}");

    let out = dir.path().join("out.csv");
    ok(
        &url,
        &["export", "--list", "1", "-o", out.to_str().expect("path")],
    );
    let exported = std::fs::read_to_string(&out).expect("export");
    assert!(exported.contains("+12015550123,,'=cmd()"), "{exported}");
    assert!(
        exported
            .lines()
            .next()
            .is_some_and(|h| h.ends_with(",Tier")),
        "{exported}"
    );

    let registry = dir.path().join("registry.txt");
    std::fs::write(&registry, "3125550199\n2125550100\nnot a number\n").expect("registry");
    let loaded = ok(&url, &["dnc", "load", registry.to_str().expect("path")]);
    assert!(
        loaded.contains("added 2") && loaded.contains("line 3:"),
        "{loaded}"
    );
    assert!(ok(&url, &["dnc", "check", "312-555-0199"]).contains("blocked by the system list"));
    assert!(ok(&url, &["dnc", "check", "312-555-0198"]).contains("not on any DNC list"));
    // An area code goes in and out as the same digits.
    assert!(ok(&url, &["dnc", "add-area-code", "1415"]).contains("+1415 added"));
    assert!(ok(&url, &["dnc", "check", "415-555-0198"]).contains("area_code +1415"));
    assert!(ok(&url, &["dnc", "remove", "1415"]).contains("+1415 removed"));
    assert!(ok(&url, &["dnc", "check", "415-555-0198"]).contains("not on any DNC list"));
}

#[sqlx::test(migrations = false)]
async fn bad_input_gets_a_clear_error_and_a_failing_exit(pool: PgPool) {
    let url = database_url(&pool);
    ok(&url, &["migrate"]);
    ok(&url, &["list", "create", "L"]);
    let dir = tempfile::tempdir().expect("dir");
    let csv = dir.path().join("nophone.csv");
    std::fs::write(&csv, "name,email\nAna,a@example.com\n").expect("csv");
    let out = dialtone(
        &url,
        &["import", csv.to_str().expect("path"), "--list", "1"],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("line 1: no phone column"),
        "{}",
        stderr(&out)
    );

    let out = dialtone(
        &url,
        &[
            "import",
            csv.to_str().expect("path"),
            "--list",
            "1",
            "--map",
            "name=shoe",
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("unknown field 'shoe'"),
        "{}",
        stderr(&out)
    );

    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[ami]\nport = 70000\n").expect("config");
    let out = dialtone(
        &url,
        &["--config", config.to_str().expect("path"), "migrate"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("ami.port"), "{}", stderr(&out));

    let out = dialtone("postgres://postgres@127.0.0.1:1/none", &["migrate"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot reach the database at 127.0.0.1:1"),
        "{}",
        stderr(&out)
    );
}

#[sqlx::test(migrations = false)]
async fn demo_sets_up_and_runs_again(pool: PgPool) {
    let url = database_url(&pool);
    let dir = tempfile::tempdir().expect("dir");
    let run = |secs: &str| {
        Command::new(env!("CARGO_BIN_EXE_dialtone"))
            .args(["demo", "--leads", "300", "--run-secs", secs])
            .env("DATABASE_URL", &url)
            .env("DIALTONE_DATA_DIR", dir.path())
            .env("RUST_LOG", "warn")
            .output()
            .expect("runs")
    };
    let first = run("2");
    assert!(first.status.success(), "{}", stderr(&first));
    let text = stdout(&first);
    assert!(
        text.contains("Dialtone demo is ready") && text.contains("agent1 "),
        "{text}"
    );
    assert!(
        text.contains("Running the campaign for 2 s against the PBX simulator")
            && text.contains("Demo run over"),
        "{text}"
    );
    assert!(Path::new(&dir.path().join("demo-credentials.txt")).exists());
    let second = run("0");
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stdout(&second).contains("already finished"),
        "{}",
        stdout(&second)
    );
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&pool)
        .await
        .expect("users");
    assert_eq!(users, 5);
}

#[sqlx::test(migrations = false)]
async fn user_token_prints_a_token_the_api_accepts(pool: PgPool) {
    let url = database_url(&pool);
    ok(&url, &["migrate"]);
    let out = Command::new(env!("CARGO_BIN_EXE_dialtone"))
        .args(["user", "add", "ops", "--role", "admin", "--password-stdin"])
        .env("DATABASE_URL", &url)
        .env_remove("DIALTONE_CONFIG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(b"a long enough password\n")?;
            child.wait_with_output()
        })
        .expect("runs dialtone");
    assert!(out.status.success(), "{}", stderr(&out));

    // Standard output is the token alone, for `TOKEN=$(dialtone user token …)`.
    let token = ok(&url, &["user", "token", "ops", "--name", "ci"]);
    let token = token.trim_end();
    assert!(
        token.starts_with("dt_") && !token.contains(char::is_whitespace),
        "{token:?}"
    );
    let session = dialtone_admin::server::session::find_api_token(&pool, token)
        .await
        .expect("lookup")
        .expect("the token is valid");
    assert_eq!(session.viewer.username, "ops");
    let stored: String = sqlx::query_scalar("SELECT name FROM api_tokens")
        .fetch_one(&pool)
        .await
        .expect("one token");
    assert_eq!(stored, "ci");

    let out = dialtone(&url, &["user", "token", "nobody", "--name", "ci"]);
    assert!(
        !out.status.success() && stderr(&out).contains("no user 'nobody'"),
        "{}",
        stderr(&out)
    );
    let out = dialtone(&url, &["user", "token", "ops", "--name", " "]);
    assert!(
        !out.status.success() && stderr(&out).contains("1 to 80 characters"),
        "{}",
        stderr(&out)
    );
}
