//! Lead import against a real PostgreSQL, one fresh database per test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test's helpers fail the test as its #[test]s do

use std::io::Write;
use std::path::{Path, PathBuf};

use dialtone_core::dnc::{self, Scope, Source};
use dialtone_core::import::{import_csv, Duplicates, ImportError, ImportOptions};
use dialtone_core::{campaigns, lists, phone};
use sqlx::PgPool;

fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(bytes))
        .expect("writes fixture");
    path
}

async fn list(pool: &PgPool) -> i64 {
    let campaign = campaigns::create(
        pool,
        "c",
        dialtone_core::vocabulary::DialMethod::Progressive,
        "9am-9pm",
    )
    .await
    .expect("campaign");
    lists::create(pool, "l", Some(campaign), "US")
        .await
        .expect("list")
}

fn options(list: i64, dir: &Path) -> ImportOptions {
    ImportOptions::new(list, dir.join("errors.csv"))
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn imports_normalised_leads_with_zones_and_custom_fields(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let csv = file(
        dir.path(),
        "a.csv",
        "Phone Number,First Name,Last,State,Zip,Shoe Size\n\
         (201) 555-0123,Ana,Silva,,,38\n\
         312.555.0101,Ben,Okafor,IL,,\n\
         +44 20 7946 0958,Chloé,Lee,,,41\n\
         915-555-0102,Dee,Ruiz,,79901,\n"
            .as_bytes(),
    );
    let list = list(&pool).await;
    let report = import_csv(&pool, &csv, &options(list, dir.path()), None)
        .await
        .expect("imports");
    assert_eq!(report.totals.inserted, 4);
    assert_eq!(report.totals.rejected, 0);
    assert_eq!(report.error_report, None);

    let rows: Vec<(String, String, Option<String>, String, serde_json::Value, String)> =
        sqlx::query_as("SELECT phone_e164, time_zone, state, country, custom, status FROM leads ORDER BY phone_e164")
            .fetch_all(&pool)
            .await
            .expect("reads");
    assert_eq!(rows[0].0, "+12015550123");
    assert_eq!(
        (rows[0].1.as_str(), rows[0].2.as_deref()),
        ("America/New_York", Some("NJ"))
    );
    assert_eq!(rows[0].4, serde_json::json!({"Shoe Size": "38"}));
    assert_eq!(rows[0].5, "NEW");
    assert_eq!(rows[1].1, "America/Chicago");
    assert_eq!(
        (rows[2].1.as_str(), rows[2].2.as_deref()),
        ("America/Denver", Some("TX"))
    );
    assert_eq!(
        (rows[3].0.as_str(), rows[3].1.as_str(), rows[3].3.as_str()),
        ("+442079460958", "Europe/London", "GB")
    );
    let zones = lists::get(&pool, list).await.expect("list").time_zones;
    assert_eq!(zones.len(), 4, "{zones:?}");
    let dialable: i64 =
        sqlx::query_scalar("SELECT count(*) FROM leads WHERE next_attempt_at IS NOT NULL")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(dialable, 4);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn bad_rows_are_reported_by_line_and_good_rows_still_load(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let mut bytes = b"phone,first_name,priority,note\n2015550123,Ana,1,\nnot a phone,Ben,0,\n2015550124,Jos\xe9,0,\n2015550125,Eve\n".to_vec();
    bytes.extend_from_slice(b"2015550126,");
    bytes.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
    bytes.extend_from_slice(b",0,\n2015550127,Fay,high,\n2015550128,Gus,2,\n2015550129,Hal,0,a\0b\n2015550130,Ivy,0,ok\n");
    let csv = file(dir.path(), "b.csv", &bytes);
    let list = list(&pool).await;
    let report = import_csv(&pool, &csv, &options(list, dir.path()), None)
        .await
        .expect("imports");
    assert_eq!((report.totals.inserted, report.totals.rejected), (3, 6));

    let path = report.error_report.expect("a report");
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .expect("report");
    let rows: Vec<(String, String)> = reader
        .records()
        .map(|r| r.expect("row"))
        .map(|r| (r[0].to_string(), r[1].to_string()))
        .collect();
    let lines: Vec<&str> = rows.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(lines, ["3", "4", "5", "6", "7", "9"]);
    assert!(rows[0].1.contains("'not a phone'"), "{}", rows[0].1);
    assert!(rows[1].1.contains("not valid UTF-8"), "{}", rows[1].1);
    assert!(
        rows[2].1.contains("has 2 fields, the header has 4"),
        "{}",
        rows[2].1
    );
    assert!(rows[3].1.contains("over the limit"), "{}", rows[3].1);
    assert!(rows[4].1.contains("priority 'high'"), "{}", rows[4].1);
    assert!(
        rows[5].1.contains("column 'note' holds a NUL byte"),
        "{}",
        rows[5].1
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_record_that_never_ends_stops_the_import_at_its_line(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    // A quote opened on line 3 and never closed, before many megabytes of ordinary rows: the
    // parser would hold them all as one record.
    let mut bytes = b"phone,first_name\n2015550123,Ana\n\"2015550124,Ben\n".to_vec();
    let row = b"2015550125,Cy\n";
    while (bytes.len() as u64) < dialtone_core::import::MAX_RECORD_SPAN + (4 << 20) {
        bytes.extend_from_slice(row);
    }
    let csv = file(dir.path(), "open.csv", &bytes);
    let list = list(&pool).await;
    let err = import_csv(&pool, &csv, &options(list, dir.path()), None)
        .await
        .expect_err("runs on");
    assert!(matches!(err, ImportError::Csv { line: 3, .. }), "{err}");
    assert!(err.to_string().contains("a quote left open?"), "{err}");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_unclosed_quote_is_named(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let csv = file(
        dir.path(),
        "q.csv",
        b"phone,first_name\n2015550123,Ana\n\"2015550124,Ben\n2015550125,Cy\n",
    );
    let list = list(&pool).await;
    let report = import_csv(&pool, &csv, &options(list, dir.path()), None)
        .await
        .expect("imports");
    assert_eq!((report.totals.inserted, report.totals.rejected), (1, 1));
    let text = std::fs::read_to_string(report.error_report.expect("report")).expect("reads");
    assert!(
        text.contains("a quote left open joined lines 3 to 4"),
        "{text}"
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn files_that_cannot_be_leads_say_why(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let list = list(&pool).await;
    let no_phone = file(dir.path(), "n.csv", b"name,email\nAna,a@x\n");
    let err = import_csv(&pool, &no_phone, &options(list, dir.path()), None)
        .await
        .expect_err("no phone");
    assert!(matches!(err, ImportError::Mapping(_)), "{err}");
    assert!(
        err.to_string().contains("line 1: no phone column")
            && err.to_string().contains("name, email"),
        "{err}"
    );

    let utf16: Vec<u8> = "phone,name\n"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    let err = import_csv(
        &pool,
        &file(dir.path(), "u.csv", &utf16),
        &options(list, dir.path()),
        None,
    )
    .await
    .expect_err("utf16");
    assert!(matches!(err, ImportError::Utf16(_)), "{err}");

    let err = import_csv(
        &pool,
        &file(dir.path(), "e.csv", b""),
        &options(list, dir.path()),
        None,
    )
    .await
    .expect_err("empty");
    assert!(matches!(err, ImportError::Empty(_)), "{err}");

    let err = import_csv(
        &pool,
        &dir.path().join("missing.csv"),
        &options(list, dir.path()),
        None,
    )
    .await
    .expect_err("missing");
    assert!(matches!(err, ImportError::Read { .. }), "{err}");

    let err = import_csv(&pool, &no_phone, &options(list + 100, dir.path()), None)
        .await
        .expect_err("no list");
    assert!(matches!(err, ImportError::ListNotFound(_)), "{err}");
    let leads: i64 = sqlx::query_scalar("SELECT count(*) FROM leads")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(leads, 0);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn duplicates_are_skipped_or_update_the_lead(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let list = list(&pool).await;
    let first = file(dir.path(), "1.csv", b"phone,first_name,email,tier\n2015550123,Ana,,gold\n2015550124,Ben,ben@x,\n2015550123,Anna,,\n");
    let report = import_csv(&pool, &first, &options(list, dir.path()), None)
        .await
        .expect("imports");
    assert_eq!((report.totals.inserted, report.totals.duplicate), (2, 1));
    let name: String =
        sqlx::query_scalar("SELECT first_name FROM leads WHERE phone_e164 = '+12015550123'")
            .fetch_one(&pool)
            .await
            .expect("ana");
    assert_eq!(name, "Ana", "skip keeps the first row");

    let second = file(
        dir.path(),
        "2.csv",
        b"phone,first_name,email,size\n(201) 555-0124,Benjamin,,L\n2015550125,Cy,,\n",
    );
    let skip = import_csv(&pool, &second, &options(list, dir.path()), None)
        .await
        .expect("skip");
    assert_eq!(
        (
            skip.totals.inserted,
            skip.totals.updated,
            skip.totals.duplicate
        ),
        (1, 0, 1)
    );

    let third = file(
        dir.path(),
        "3.csv",
        b"phone,first_name,email,size\n(201) 555-0124,Benjamin,,L\n",
    );
    let mut update = options(list, dir.path());
    update.duplicates = Duplicates::Update;
    let report = import_csv(&pool, &third, &update, None)
        .await
        .expect("update");
    assert_eq!((report.totals.inserted, report.totals.updated), (0, 1));
    let (name, email, custom): (String, String, serde_json::Value) = sqlx::query_as(
        "SELECT first_name, email, custom FROM leads WHERE phone_e164 = '+12015550124'",
    )
    .fetch_one(&pool)
    .await
    .expect("ben");
    assert_eq!(name, "Benjamin");
    assert_eq!(email, "ben@x", "an empty cell keeps what the lead had");
    assert_eq!(custom, serde_json::json!({"size": "L"}));
}

/// Rows are merged over two connections, split by number: every row of a number still goes
/// through one of them in file order, whichever batch it is in.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_file_order_of_a_number_holds_across_batches_and_connections(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let mut text = String::from("phone,first_name\n");
    for round in 0..4 {
        for n in 0..8 {
            text.push_str(&format!("20155502{n:02},Round {round}\n"));
        }
    }
    let csv = file(dir.path(), "rounds.csv", text.as_bytes());
    let names = |list: i64| {
        let pool = pool.clone();
        async move {
            let names: Vec<String> =
                sqlx::query_scalar("SELECT DISTINCT first_name FROM leads WHERE list_id = $1")
                    .bind(list)
                    .fetch_all(&pool)
                    .await
                    .expect("names");
            names
        }
    };

    let skip_list = list(&pool).await;
    let mut skip = options(skip_list, dir.path());
    (skip.batch_lines, skip.connections) = (3, 2);
    let report = import_csv(&pool, &csv, &skip, None).await.expect("skip");
    assert_eq!(
        (
            report.totals.inserted,
            report.totals.duplicate,
            report.totals.lines_committed
        ),
        (8, 24, 33)
    );
    assert_eq!(
        names(skip_list).await,
        ["Round 0"],
        "skip keeps each number's first row"
    );

    let update_list = lists::create(&pool, "second", None, "US")
        .await
        .expect("list");
    let mut update = options(update_list, dir.path());
    (update.batch_lines, update.connections, update.duplicates) = (3, 2, Duplicates::Update);
    let report = import_csv(&pool, &csv, &update, None)
        .await
        .expect("update");
    assert_eq!(
        (report.totals.inserted, report.totals.lines_committed),
        (8, 33)
    );
    assert_eq!(
        names(update_list).await,
        ["Round 3"],
        "update leaves each number's last row"
    );
    let parts: Vec<i64> =
        sqlx::query_scalar("SELECT part_lines FROM import_jobs WHERE list_id = $1")
            .bind(update_list)
            .fetch_one(&pool)
            .await
            .expect("job");
    assert_eq!(parts, [33, 33], "each part's checkpoint reaches the end");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn dnc_numbers_load_but_are_never_dialable(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let list = list(&pool).await;
    let campaign: i64 = sqlx::query_scalar("SELECT campaign_id FROM lists WHERE id = $1")
        .bind(list)
        .fetch_one(&pool)
        .await
        .expect("campaign");
    let other = campaigns::create(
        &pool,
        "other",
        dialtone_core::vocabulary::DialMethod::Ratio,
        "9am-9pm",
    )
    .await
    .expect("other");
    let us = phone::country("US").expect("US");
    let n = |raw: &str| phone::normalize(raw, us).expect(raw);
    dnc::add_number(&pool, Scope::System, &n("2015550001"), Source::Manual, "")
        .await
        .expect("dnc");
    dnc::add_number(
        &pool,
        Scope::Campaign(campaign),
        &n("2015550002"),
        Source::Manual,
        "",
    )
    .await
    .expect("dnc");
    dnc::add_number(
        &pool,
        Scope::Campaign(other),
        &n("2015550003"),
        Source::Manual,
        "",
    )
    .await
    .expect("dnc");
    dnc::add_area_code(&pool, Scope::System, "1808", "")
        .await
        .expect("dnc");
    let csv = file(
        dir.path(),
        "d.csv",
        b"phone\n2015550001\n2015550002\n2015550003\n8085550004\n2015550005\n",
    );
    let report = import_csv(&pool, &csv, &options(list, dir.path()), None)
        .await
        .expect("imports");
    assert_eq!((report.totals.inserted, report.totals.dnc), (5, 3));
    let rows: Vec<(String, String, bool)> = sqlx::query_as(
        "SELECT phone_e164, status, next_attempt_at IS NOT NULL FROM leads ORDER BY phone_e164",
    )
    .fetch_all(&pool)
    .await
    .expect("rows");
    let expected = [
        ("+12015550001", "DNCL", false),
        ("+12015550002", "DNCC", false),
        ("+12015550003", "NEW", true),
        ("+12015550005", "NEW", true),
        ("+18085550004", "DNCL", false),
    ];
    let got: Vec<(&str, &str, bool)> = rows
        .iter()
        .map(|(p, s, d)| (p.as_str(), s.as_str(), *d))
        .collect();
    assert_eq!(got, expected);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_import_that_died_resumes_and_a_finished_one_is_not_repeated(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let list = list(&pool).await;
    let mut text = String::from("phone,first_name\n");
    for i in 0..50 {
        if i == 7 {
            text.push_str("bad,Row\n");
        }
        text.push_str(&format!("20155501{i:02},Lead {i}\n"));
    }
    let csv = file(dir.path(), "r.csv", text.as_bytes());
    // The database refuses one lead in the fourth batch, as a crash half way would.
    sqlx::raw_sql(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN IF NEW.phone_e164 = '+12015550135' THEN RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; END $$;
         CREATE TRIGGER refuse BEFORE INSERT ON leads FOR EACH ROW EXECUTE FUNCTION refuse();",
    )
    .execute(&pool)
    .await
    .expect("trigger");
    let mut opts = options(list, dir.path());
    opts.batch_lines = 10;
    let err = import_csv(&pool, &csv, &opts, None)
        .await
        .expect_err("dies");
    assert!(err.to_string().contains("disk full"), "{err}");
    let (status, committed): (String, i64) =
        sqlx::query_as("SELECT status, lines_committed FROM import_jobs")
            .fetch_one(&pool)
            .await
            .expect("job");
    assert_eq!((status.as_str(), committed), ("failed", 31));
    // Lines 2 to 31 hold leads 0 to 28; the other part may have committed past them.
    let kept: i64 =
        sqlx::query_scalar("SELECT count(*) FROM leads WHERE phone_e164 <= '+12015550128'")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(kept, 29, "every committed batch stays");
    let refused: i64 =
        sqlx::query_scalar("SELECT count(*) FROM leads WHERE phone_e164 = '+12015550135'")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(refused, 0);

    sqlx::query("DROP TRIGGER refuse ON leads")
        .execute(&pool)
        .await
        .expect("drop");
    // The rerun asks for more connections: the job keeps the two parts it began with, whose
    // checkpoints differ, and counts nothing twice.
    opts.connections = 3;
    let report = import_csv(&pool, &csv, &opts, None).await.expect("resumes");
    assert_eq!(report.resumed_after_line, 31);
    assert_eq!(
        (
            report.totals.inserted,
            report.totals.rejected,
            report.totals.duplicate
        ),
        (50, 1, 0)
    );
    let leads: i64 = sqlx::query_scalar("SELECT count(*) FROM leads")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(leads, 50);
    let report_text = std::fs::read_to_string(report.error_report.expect("report")).expect("reads");
    assert_eq!(
        report_text.lines().count(),
        2,
        "the rejected row is reported once: {report_text}"
    );

    let again = import_csv(&pool, &csv, &opts, None).await.expect("again");
    assert!(again.already_imported);
    assert_eq!(again.totals.inserted, 50);
    let leads: i64 = sqlx::query_scalar("SELECT count(*) FROM leads")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(leads, 50);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn progress_is_published_per_batch(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let list = list(&pool).await;
    let mut text = String::from("phone\n");
    for i in 0..25 {
        text.push_str(&format!("20155502{i:02}\n"));
    }
    let csv = file(dir.path(), "p.csv", text.as_bytes());
    let mut opts = options(list, dir.path());
    opts.batch_lines = 10;
    let (tx, mut rx) = tokio::sync::watch::channel(dialtone_core::import::Progress::default());
    let watcher = tokio::spawn(async move {
        let mut seen = Vec::new();
        while rx.changed().await.is_ok() {
            seen.push(rx.borrow_and_update().inserted);
        }
        seen
    });
    import_csv(&pool, &csv, &opts, Some(tx))
        .await
        .expect("imports");
    let seen = watcher.await.expect("watcher");
    assert_eq!(seen.last(), Some(&25));
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
}

/// A list exported and imported into another list, and a mended rejected-rows report imported
/// again, bring the leads' fields, not Dialtone's own columns as custom fields.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn exports_and_reports_import_again(pool: PgPool) {
    let dir = tempfile::tempdir().expect("dir");
    let first = list(&pool).await;
    let csv = file(dir.path(), "a.csv", b"phone,first_name,tier\n2015550123,Ana,gold\n+1 201 555 0124,Ben,\nnot a phone,Cy,silver\n");
    let report = import_csv(&pool, &csv, &options(first, dir.path()), None)
        .await
        .expect("imports");
    assert_eq!((report.totals.inserted, report.totals.rejected), (2, 1));

    let mut exported = Vec::new();
    dialtone_core::export::export_leads(
        &pool,
        dialtone_core::export::Selection::List(first),
        &mut exported,
    )
    .await
    .expect("exports");
    let second = lists::create(&pool, "again", None, "US")
        .await
        .expect("list");
    let again = file(dir.path(), "export.csv", &exported);
    let report = import_csv(
        &pool,
        &again,
        &ImportOptions::new(second, dir.path().join("e2.csv")),
        None,
    )
    .await
    .expect("imports the export");
    assert_eq!((report.totals.inserted, report.totals.rejected), (2, 0));
    let leads: Vec<(String, String, serde_json::Value)> = sqlx::query_as(
        "SELECT phone_e164, first_name, custom FROM leads WHERE list_id = $1 ORDER BY phone_e164",
    )
    .bind(second)
    .fetch_all(&pool)
    .await
    .expect("leads");
    assert_eq!(
        leads[0],
        (
            "+12015550123".into(),
            "Ana".into(),
            serde_json::json!({"tier": "gold"})
        )
    );
    assert_eq!(
        leads[1],
        ("+12015550124".into(), "Ben".into(), serde_json::json!({}))
    );

    // The report, its row mended.
    let text = std::fs::read_to_string(dir.path().join("errors.csv"))
        .expect("report")
        .replace("not a phone", "2015550125");
    let third = lists::create(&pool, "mended", None, "US")
        .await
        .expect("list");
    let mended = file(dir.path(), "mended.csv", text.as_bytes());
    let report = import_csv(
        &pool,
        &mended,
        &ImportOptions::new(third, dir.path().join("e3.csv")),
        None,
    )
    .await
    .expect("imports the report");
    assert_eq!(report.totals.inserted, 1);
    let custom: serde_json::Value =
        sqlx::query_scalar("SELECT custom FROM leads WHERE list_id = $1")
            .bind(third)
            .fetch_one(&pool)
            .await
            .expect("lead");
    assert_eq!(custom, serde_json::json!({"tier": "silver"}));
}

/// A job its process left `running` (the web server restarted mid-import) reads as interrupted;
/// one whose import holds its lock reads as running.
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_job_left_running_by_a_stopped_process_reads_interrupted(pool: PgPool) {
    let list = list(&pool).await;
    let job: i64 = sqlx::query_scalar(
        "INSERT INTO import_jobs (list_id, file_name, file_sha256, duplicates) VALUES ($1, 'a.csv', repeat('0', 64), 'skip') RETURNING id",
    )
    .bind(list)
    .fetch_one(&pool)
    .await
    .expect("job");
    let live = || {
        sqlx::query_scalar::<_, String>("SELECT live_status FROM import_jobs_live WHERE id = $1")
            .bind(job)
            .fetch_one(&pool)
    };
    assert_eq!(live().await.expect("status"), "interrupted");
    let mut running = pool.acquire().await.expect("connection");
    sqlx::query("SELECT pg_advisory_lock($1, $2::int)")
        .bind(dialtone_core::import::JOB_LOCK_CLASS)
        .bind(job as i32)
        .execute(&mut *running)
        .await
        .expect("lock");
    assert_eq!(live().await.expect("status"), "running");
}
