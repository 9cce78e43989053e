//! The admin facing an open network: each test is one way an attacker got in or wore the
//! server down, and checks that it no longer works.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use crate::helpers::*;
use axum::extract::ConnectInfo;
use dialtone_core::vocabulary::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A form post from our own pages, from the socket address `peer`, with extra headers.
async fn post_from(
    site: &Site,
    peer: &str,
    path: &str,
    form: &str,
    headers: &[(&str, &str)],
) -> Reply {
    let mut r = Request::post(path)
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (name, value) in headers {
        r = r.header(*name, *value);
    }
    let mut request = r.body(Body::from(form.to_string())).expect("request");
    let peer: SocketAddr = SocketAddr::new(peer.parse::<IpAddr>().expect("ip"), 40000);
    request.extensions_mut().insert(ConnectInfo(peer));
    site.send(request).await
}

fn sign_in_form(username: &str, password: &str, next: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("username", username)
        .append_pair("password", password)
        .append_pair("next", next)
        .finish()
}

/// `csv` uploaded as `file_name` into a new list, as the list page posts it; the upload's id.
async fn uploaded(site: &Site, admin: &str, file_name: &str, csv: &str) -> String {
    let list = dialtone_core::lists::create(&site.pool, "Spring", None, "US")
        .await
        .expect("list");
    let r = multipart(
        site,
        &format!("/lists/{list}/upload"),
        admin,
        file_name,
        csv.as_bytes(),
    )
    .await;
    assert!(r.location.starts_with("/uploads/"), "{}", r.location);
    r.location.trim_start_matches("/uploads/").to_string()
}

/// The import of an upload, started with `form`, until it is done.
async fn import(site: &Site, token: &str, upload: &str, form: &str) {
    let r = site
        .post(&format!("/uploads/{upload}/start"), Some(token), form)
        .await;
    assert_eq!(r.location, format!("/uploads/{upload}"), "{}", r.body);
    for _ in 0..200 {
        let r = site
            .post("/api/get_upload", Some(token), &format!("id={upload}"))
            .await;
        if r.body.contains("\"Done\"") {
            return;
        }
        assert!(!r.body.contains("\"Failed\""), "{}", r.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the import did not finish");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn sign_in_next_refuses_a_path_that_leaves_the_site(pool: PgPool) {
    let site = Site::new(pool).await;
    site.user("ana", Role::Admin).await;
    // Browsers drop the tab: `/\t/evil.example` is `//evil.example`, another site.
    for next in ["/\t/evil.example", "/lists\u{1}", "/\n/evil.example"] {
        let r = site
            .post("/signin", None, &sign_in_form("ana", PASSWORD, next))
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next:?}: {}", r.body);
        assert_eq!(r.location, "/", "{next:?}");
    }
    let r = site
        .post(
            "/signin",
            None,
            &sign_in_form("ana", PASSWORD, "/lists?page=2"),
        )
        .await;
    assert_eq!(r.location, "/lists?page=2");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_body_over_64_kib_is_refused_except_on_the_upload_routes(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let (_, admin) = site.user("ana", Role::Admin).await;
    let large = "x".repeat(100 * 1024);
    let r = site
        .post("/signin", None, &sign_in_form("ana", &large, ""))
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.location);
    let r = site
        .post(
            "/api/list_lists",
            Some(&admin),
            &format!("q={large}&page=0"),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);

    let list = dialtone_core::lists::create(&pool, "Big", None, "US")
        .await
        .expect("list");
    let mut csv = String::from("phone,note\n");
    while csv.len() < 100 * 1024 {
        csv.push_str("2015550123,a note long enough to make the file grow quickly\n");
    }
    let r = multipart(
        &site,
        &format!("/lists/{list}/upload"),
        &admin,
        "big.csv",
        csv.as_bytes(),
    )
    .await;
    assert!(
        r.location.starts_with("/uploads/"),
        "{} {}",
        r.location,
        r.body
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn an_overlong_password_is_refused_before_it_is_counted_or_hashed(pool: PgPool) {
    let site = Site::new(pool).await;
    let (_, token) = site.user("ana", Role::Admin).await;
    let long = "p".repeat(2000);
    for _ in 0..10 {
        let r = site
            .post("/signin", None, &sign_in_form("ana", &long, ""))
            .await;
        assert!(r.location.contains("error=too_long"), "{}", r.location);
    }
    // None of them counted against the user.
    let r = site
        .post("/signin", None, &sign_in_form("ana", PASSWORD, ""))
        .await;
    assert_eq!(r.location, "/");
    let form = format!("current={PASSWORD}&new={long}&confirm={long}");
    let r = site.post("/account/password", Some(&token), &form).await;
    assert!(r.location.contains("error=long"), "{}", r.location);
    let page = site.get("/signin?error=too_long", None).await;
    assert!(page.body.contains("too long"), "{}", page.body);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_strangers_failed_sign_ins_do_not_lock_the_user_out(pool: PgPool) {
    let site = Site::new(pool).await;
    site.user("ana", Role::Admin).await;
    let mut throttled = false;
    for _ in 0..12 {
        let r = post_from(
            &site,
            "203.0.113.7",
            "/signin",
            &sign_in_form("ana", "a wrong guess", ""),
            &[],
        )
        .await;
        throttled |= r.location.contains("error=throttled");
    }
    assert!(throttled, "the stranger is slowed down");
    let r = post_from(
        &site,
        "198.51.100.2",
        "/signin",
        &sign_in_form("ana", PASSWORD, ""),
        &[],
    )
    .await;
    assert_eq!(r.location, "/", "ana signs in from her own desk");
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn x_forwarded_for_names_the_client_only_behind_a_trusted_proxy(pool: PgPool) {
    let proxy = "10.0.0.5/32".parse().expect("net");
    let site = Site::configured(
        pool.clone(),
        dialtone_admin::server::uploads::MAX_UPLOAD_BYTES,
        false,
        |state| state.with_trusted_proxies(vec![proxy]),
    )
    .await;
    let (id, _) = site.user("ana", Role::Admin).await;
    let forwarded = [("x-forwarded-for", "192.0.2.66, 198.51.100.9")];
    let login = sign_in_form("ana", PASSWORD, "");
    let r = post_from(&site, "10.0.0.5", "/signin", &login, &forwarded).await;
    assert_eq!(r.location, "/");
    let r = post_from(&site, "203.0.113.7", "/signin", &login, &forwarded).await;
    assert_eq!(r.location, "/");
    let addresses: Vec<String> = sqlx::query_scalar(
        "SELECT host(ip) FROM audit_log WHERE user_id = $1 AND action = 'login' ORDER BY id",
    )
    .bind(id)
    .fetch_all(&pool)
    .await
    .expect("audit");
    // Through the proxy: the address it saw, not the one the client wrote before it.
    assert_eq!(addresses, ["198.51.100.9", "203.0.113.7"]);
}

/// Log output gathered in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_newline_in_a_username_cannot_forge_a_log_line(pool: PgPool) {
    let site = Site::new(pool).await;
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer({
            let captured = captured.clone();
            move || captured.clone()
        })
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);
    // Usernames are lowercased before they are logged.
    let forged = "eve\nforged info signed in username=admin";
    site.post("/signin", None, &sign_in_form(forged, "a wrong guess", ""))
        .await;
    let very_long = format!("mallory{}", "x".repeat(140));
    site.post(
        "/signin",
        None,
        &sign_in_form(&very_long, "a wrong guess", ""),
    )
    .await;
    let log = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
    assert!(log.contains("sign-in refused"), "{log}");
    assert!(!log.lines().any(|line| line.starts_with("forged")), "{log}");
    assert!(log.contains("eve\\nforged"), "{log}");
    assert!(
        log.contains("mallory") && !log.contains(&very_long),
        "{log}"
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_client_that_never_finishes_its_header_is_disconnected(pool: PgPool) {
    use dialtone_admin::server::listen::{serve, ListenOptions};
    let site = Site::new(pool).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let options = ListenOptions {
        header_read_timeout: Duration::from_secs(1),
        ..ListenOptions::default()
    };
    let stop = stop_signal();
    tokio::spawn(serve(listener, site.app.clone(), options, stop.1));

    // A whole request is answered.
    let mut whole = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    whole
        .write_all(b"GET /signin HTTP/1.1\r\nHost: admin.test\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), whole.read_to_end(&mut answer))
        .await
        .expect("answered in time")
        .expect("read");
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );

    // Half a header, then nothing: the server hangs up.
    let mut slow = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    slow.write_all(b"GET /signin HTTP/1.1\r\nHost: adm")
        .await
        .expect("write");
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(20), slow.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the connection is still open after 20 s");
    let _ = stop.0.send(());
}

/// A stop signal for the listener: send on the first half, the second resolves.
fn stop_signal() -> (
    tokio::sync::oneshot::Sender<()>,
    impl std::future::Future<Output = ()> + Send + 'static,
) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    (tx, async move {
        let _ = rx.await;
    })
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_connection_over_the_cap_waits_until_another_closes(pool: PgPool) {
    use dialtone_admin::server::listen::{serve, ListenOptions};
    let site = Site::new(pool).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let options = ListenOptions {
        max_connections: 1,
        ..ListenOptions::default()
    };
    let stop = stop_signal();
    tokio::spawn(serve(listener, site.app.clone(), options, stop.1));
    let request = b"GET /signin HTTP/1.1\r\nHost: admin.test\r\nConnection: close\r\n\r\n";

    let idle = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    // Let the server take the first connection before the second arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut second = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    second.write_all(request).await.expect("write");
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), second.read(&mut byte)).await;
    assert!(
        early.is_err(),
        "the second connection was served beside the first"
    );
    drop(idle);
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), second.read_to_end(&mut answer))
        .await
        .expect("answered once the first closed")
        .expect("read");
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let _ = stop.0.send(());
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn every_answer_carries_the_security_headers(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let (id, token) = site.user("ana", Role::Admin).await;
    let page = site.get("/signin", None).await;
    let csp = page
        .headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .expect("a Content-Security-Policy")
        .to_string();
    for part in [
        "script-src 'self' 'nonce-",
        "'wasm-unsafe-eval'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ] {
        assert!(csp.contains(part), "{part}: {csp}");
    }
    let scripts = csp
        .split(';')
        .find(|d| d.trim().starts_with("script-src"))
        .expect("script-src");
    assert!(!scripts.contains("'unsafe-inline'"), "{csp}");
    // The hydration script is inline: it carries the nonce the policy allows.
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("nonce");
    assert!(
        page.body
            .contains(&format!("<script type=\"module\" nonce=\"{nonce}\"")),
        "{}",
        page.body
    );
    let api_token = session::issue_api_token(&pool, id, "test")
        .await
        .expect("token");
    for reply in [
        &page,
        &site.get("/leads", Some(&token)).await,
        &site.api("GET", "/api/v1/me", &api_token, None).await,
        &site.get("/users", None).await,
    ] {
        let h = &reply.headers;
        assert_eq!(
            h.get(header::X_CONTENT_TYPE_OPTIONS).map(|v| v.as_bytes()),
            Some(&b"nosniff"[..])
        );
        assert_eq!(
            h.get(header::REFERRER_POLICY).map(|v| v.as_bytes()),
            Some(&b"same-origin"[..])
        );
        assert_eq!(
            h.get(header::CACHE_CONTROL).map(|v| v.as_bytes()),
            Some(&b"no-store"[..])
        );
        assert!(h.contains_key(header::CONTENT_SECURITY_POLICY));
        assert!(
            !h.contains_key(header::STRICT_TRANSPORT_SECURITY),
            "plain http"
        );
    }
    let https = Site::configured(
        pool,
        dialtone_admin::server::uploads::MAX_UPLOAD_BYTES,
        true,
        |state| state,
    )
    .await;
    let page = https.get("/signin", None).await;
    assert!(page
        .headers
        .get(header::STRICT_TRANSPORT_SECURITY)
        .is_some_and(|v| v.to_str().is_ok_and(|v| v.starts_with("max-age="))));
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_recording_answers_a_range_request_with_just_those_bytes(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let (_, admin) = site.user("ana", Role::Admin).await;
    let dir = site._dir.path().join("recordings/2026-12-01");
    std::fs::create_dir_all(&dir).expect("dir");
    let audio: Vec<u8> = (0..100_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    std::fs::write(dir.join("call.wav"), &audio).expect("file");
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO recordings (file_path) VALUES ('2026-12-01/call.wav') RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .expect("recording");
    let request = Request::get(format!("/recordings/{id}/file"))
        .header(header::HOST, HOST)
        .header(header::COOKIE, format!("{}={admin}", session::COOKIE))
        .header(header::RANGE, "bytes=1000-1999")
        .body(Body::empty())
        .expect("request");
    let r = site.send(request).await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT, "{}", r.body);
    assert_eq!(r.body.as_bytes(), &audio[1000..2000]);
    let h = &r.headers;
    assert_eq!(
        h.get(header::ACCEPT_RANGES).map(|v| v.as_bytes()),
        Some(&b"bytes"[..])
    );
    assert_eq!(
        h.get(header::CONTENT_RANGE).map(|v| v.as_bytes()),
        Some(&b"bytes 1000-1999/100000"[..])
    );
    assert_eq!(
        h.get(header::CONTENT_TYPE).map(|v| v.as_bytes()),
        Some(&b"audio/wav"[..])
    );
    assert!(h
        .get(header::CONTENT_DISPOSITION)
        .is_some_and(|v| v.as_bytes().starts_with(b"inline; filename=\"call.wav\"")));
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn the_rejected_rows_report_neutralises_formulas_in_its_header(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let (_, admin) = site.user("ana", Role::Admin).await;
    let csv = "phone,=1+1\n(201) 555-0123,fine\nnot a number,=2+2\n";
    let upload = uploaded(&site, &admin, "formulas.csv", csv).await;
    import(&site, &admin, &upload, "col_0=phone&col_1=custom").await;
    let report = site
        .get(&format!("/uploads/{upload}/errors.csv"), Some(&admin))
        .await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    let mut lines = report.body.lines();
    assert_eq!(
        lines.next(),
        Some("line,error,phone,'=1+1"),
        "{}",
        report.body
    );
    assert!(
        lines
            .next()
            .is_some_and(|row| row.ends_with(",not a number,'=2+2")),
        "{}",
        report.body
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_server_function_sent_arguments_it_cannot_read_answers_400(pool: PgPool) {
    let site = Site::new(pool).await;
    let (_, admin) = site.user("ana", Role::Admin).await;
    let r = site
        .post("/api/create_list", Some(&admin), "nonsense=1")
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = site
        .post(
            "/api/get_list",
            Some(&admin),
            "id=not-a-number&counts=false",
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_value_the_database_refuses_is_a_sentence_naming_its_field(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let (admin, _) = site.user("ana", Role::Admin).await;
    let (sam, _) = site.user("sam", Role::Supervisor).await;
    let token = session::issue_api_token(&pool, admin, "test")
        .await
        .expect("token");
    let r = site
        .api(
            "PATCH",
            &format!("/api/v1/users/{sam}"),
            &token,
            Some(
                serde_json::json!({"role": "supervisor", "active": true, "campaign_ids": [999999]}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let answer: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    let sentence = answer["error"].as_str().unwrap_or_default();
    assert!(
        !sentence.contains("violates")
            && !sentence.contains("constraint")
            && !sentence.contains("user_campaigns"),
        "{sentence}"
    );
    assert!(sentence.contains("campaign"), "{sentence}");
    assert!(answer["fields"]["campaign_id"].is_string(), "{}", r.body);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn expired_sessions_are_purged_at_sign_in(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let (id, _) = site.user("ana", Role::Admin).await;
    sqlx::query(
        "INSERT INTO web_sessions (token_sha256, user_id, csrf_token, expires_at)
         VALUES (repeat('a', 64), $1, 'x', now() - interval '1 day')",
    )
    .bind(id)
    .execute(&pool)
    .await
    .expect("expired session");
    let r = site
        .post("/signin", None, &sign_in_form("ana", PASSWORD, ""))
        .await;
    assert_eq!(r.location, "/");
    let expired: i64 =
        sqlx::query_scalar("SELECT count(*) FROM web_sessions WHERE expires_at <= now()")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(expired, 0);
}

#[cfg(unix)]
#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn uploaded_files_and_their_folder_are_readable_by_the_service_only(pool: PgPool) {
    use std::os::unix::fs::PermissionsExt;
    let site = Site::new(pool.clone()).await;
    let (_, admin) = site.user("ana", Role::Admin).await;
    let upload = uploaded(
        &site,
        &admin,
        "leads.csv",
        "phone\n(201) 555-0123\nnot a number\n",
    )
    .await;
    let folder = site._dir.path().join("uploads");
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    };
    let files = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&folder)
            .expect("folder")
            .map(|entry| entry.expect("entry").path())
            .collect()
    };
    assert_eq!(mode(&folder), 0o700);
    // The uploaded file, waiting for its mapping...
    let waiting = files();
    assert_eq!(waiting.len(), 1);
    assert_eq!(mode(&waiting[0]), 0o600);
    // ...and, once imported, its rejected-rows report.
    import(&site, &admin, &upload, "col_0=phone").await;
    let reports: Vec<_> = files()
        .into_iter()
        .filter(|f| f.to_string_lossy().ends_with(".errors.csv"))
        .collect();
    assert_eq!(reports.len(), 1);
    assert_eq!(mode(&reports[0]), 0o600);
}
