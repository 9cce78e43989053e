//! Access taken away ends at once: the pages' sockets close, the agent's dialer session ends
//! (their phone is hung up by its node: `dialtone_fastagi::remote::follow_logouts`), and API
//! tokens stop working.

use dialtone_core::vocabulary::AgentState;
use std::net::SocketAddr;

use dialtone_core::vocabulary::Role;
use futures::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::*;

/// How soon a revoked page must lose its socket (the issue's bound).
const WITHIN: Duration = Duration::from_secs(2);

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The site on a real port, for sockets.
async fn serve(site: &Site) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = site.app.clone();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("serves");
    });
    addr
}

/// A page's socket at `path`, opened with the session cookie `token`; its first push read.
async fn open_socket(addr: SocketAddr, path: &str, token: &str) -> Socket {
    let mut request = format!("ws://{addr}{path}")
        .into_client_request()
        .expect("request");
    let headers = request.headers_mut();
    headers.insert(
        header::COOKIE,
        format!("{}={token}", session::COOKIE)
            .parse()
            .expect("cookie"),
    );
    headers.insert(
        header::ORIGIN,
        format!("http://{addr}").parse().expect("origin"),
    );
    headers.insert(header::HOST, addr.to_string().parse().expect("host"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("socket opens");
    let first = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .expect("a first push");
    assert!(matches!(first, Some(Ok(Message::Text(_)))), "{first:?}");
    socket
}

/// Whether the server closes the socket within [`WITHIN`] (pings and pushes read past).
async fn closed_within(socket: &mut Socket) -> bool {
    tokio::time::timeout(WITHIN, async {
        loop {
            match socket.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await
    .is_ok()
}

struct Floor {
    site: Site,
    addr: SocketAddr,
    api: String,
    agent: i64,
    agent_cookie: String,
    campaign: i64,
    session: i64,
}

/// An admin with an API token; an agent signed in, logged in to a campaign and ready.
async fn floor(pool: PgPool) -> Floor {
    let site = Site::new(pool.clone()).await;
    let (admin, _) = site.user("root", Role::Admin).await;
    let api = session::issue_api_token(&pool, admin, "test")
        .await
        .expect("token");
    let (agent, agent_cookie) = site.user("amy", Role::Agent).await;
    let campaign = campaign(&pool, "Floor").await;
    sqlx::query("UPDATE campaigns SET active = true WHERE id = $1")
        .bind(campaign)
        .execute(&pool)
        .await
        .expect("active");
    dialtone_core::campaigns::grant(&pool, agent, campaign)
        .await
        .expect("grant");
    sqlx::query("UPDATE users SET phone_dial_string = 'PJSIP/1001' WHERE id = $1")
        .bind(agent)
        .execute(&pool)
        .await
        .expect("phone");
    let session = dialtone_core::agents::open_session(&pool, agent, campaign, "n1", "PJSIP/1001")
        .await
        .expect("session");
    dialtone_core::agents::set_state(&pool, session, AgentState::Ready, None)
        .await
        .expect("ready");
    let addr = serve(&site).await;
    Floor {
        site,
        addr,
        api,
        agent,
        agent_cookie,
        campaign,
        session,
    }
}

impl Floor {
    async fn session_open(&self) -> bool {
        sqlx::query_scalar("SELECT logged_out_at IS NULL FROM agent_sessions WHERE id = $1")
            .bind(self.session)
            .fetch_one(&self.site.pool)
            .await
            .expect("session")
    }

    async fn patch_agent(&self, body: serde_json::Value) {
        let r = self
            .site
            .api(
                "PATCH",
                &format!("/api/v1/users/{}", self.agent),
                &self.api,
                Some(body),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn deactivating_an_agent_closes_their_pages_and_ends_their_dialer_session(pool: PgPool) {
    let f = floor(pool).await;
    let mut page = open_socket(f.addr, "/ws/agent", &f.agent_cookie).await;
    f.patch_agent(json!({"role": "agent", "active": false, "campaign_ids": [f.campaign]}))
        .await;
    assert!(
        closed_within(&mut page).await,
        "the agent's page still streams"
    );
    assert!(
        !f.session_open().await,
        "a deactivated agent still takes calls"
    );
    let r = f.site.get("/agent", Some(&f.agent_cookie)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn taking_a_campaign_away_ends_the_agents_session_in_it(pool: PgPool) {
    let f = floor(pool).await;
    let mut page = open_socket(f.addr, "/ws/agent", &f.agent_cookie).await;
    f.patch_agent(json!({"role": "agent", "active": true, "campaign_ids": []}))
        .await;
    assert!(
        closed_within(&mut page).await,
        "the page keeps the old rights"
    );
    assert!(!f.session_open().await);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn keeping_a_campaign_on_a_save_keeps_the_agent_working(pool: PgPool) {
    let f = floor(pool).await;
    f.patch_agent(json!({"role": "agent", "active": true, "phone": "PJSIP/1001", "campaign_ids": [f.campaign]})).await;
    assert!(f.session_open().await);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn signing_out_closes_that_browsers_pages_and_the_dialer_session(pool: PgPool) {
    let f = floor(pool).await;
    let mut page = open_socket(f.addr, "/ws/agent", &f.agent_cookie).await;
    let r = f.site.post("/signout", Some(&f.agent_cookie), "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        closed_within(&mut page).await,
        "a signed-out page still streams"
    );
    assert!(!f.session_open().await);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn signing_out_everywhere_closes_the_wallboard_and_revokes_api_tokens(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let (sup, cookie) = site.user("sam", Role::Supervisor).await;
    let campaign = campaign(&pool, "Floor").await;
    dialtone_core::campaigns::grant(&pool, sup, campaign)
        .await
        .expect("grant");
    let token = session::issue_api_token(&pool, sup, "mine")
        .await
        .expect("token");
    let addr = serve(&site).await;
    let mut board = open_socket(addr, &format!("/ws/wallboard?campaign={campaign}"), &cookie).await;
    let r = site.post("/signout-everywhere", Some(&cookie), "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        closed_within(&mut board).await,
        "the wallboard still streams"
    );
    let r = site.api("GET", "/api/v1/me", &token, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_password_reset_ends_sessions_pages_and_tokens(pool: PgPool) {
    let f = floor(pool).await;
    let token = session::issue_api_token(&f.site.pool, f.agent, "mine")
        .await
        .expect("token");
    let mut page = open_socket(f.addr, "/ws/agent", &f.agent_cookie).await;
    let r = f
        .site
        .post(
            "/api/reset_password",
            Some(&admin_cookie(&f).await),
            &format!("id={}", f.agent),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(closed_within(&mut page).await);
    assert!(!f.session_open().await);
    let r = f.site.api("GET", "/api/v1/me", &token, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
}

async fn admin_cookie(f: &Floor) -> String {
    f.site.user("ops", Role::Admin).await.1
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn api_tokens_expire_are_listed_and_can_be_revoked(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let (admin, _) = site.user("root", Role::Admin).await;
    let api = session::issue_api_token(&pool, admin, "ops")
        .await
        .expect("token");
    let (agent, _) = site.user("amy", Role::Agent).await;
    let old = session::issue_api_token(&pool, agent, "old")
        .await
        .expect("token");
    let spare = session::issue_api_token(&pool, agent, "spare")
        .await
        .expect("token");
    sqlx::query("UPDATE api_tokens SET created_at = now() - interval '2 days', expires_at = now() - interval '1 day' WHERE name = 'old'")
        .execute(&pool)
        .await
        .expect("expire");
    let r = site.api("GET", "/api/v1/me", &old, None).await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "an expired token works: {}",
        r.body
    );
    let r = site.api("GET", "/api/v1/tokens", &api, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let listed: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    let state = |name: &str| {
        listed
            .as_array()
            .expect("rows")
            .iter()
            .find(|t| t["name"] == name)
            .map(|t| t["state"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(state("old").as_deref(), Some("expired"));
    assert_eq!(state("spare").as_deref(), Some("active"));
    let id = listed
        .as_array()
        .expect("rows")
        .iter()
        .find(|t| t["name"] == "spare")
        .and_then(|t| t["id"].as_i64())
        .expect("id");
    let r = site
        .api("DELETE", &format!("/api/v1/tokens/{id}"), &api, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = site.api("GET", "/api/v1/me", &spare, None).await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "a revoked token works: {}",
        r.body
    );
}

#[sqlx::test(migrator = "dialtone_core::db::MIGRATOR")]
async fn a_token_whose_user_must_change_their_password_is_refused_like_a_cookie(pool: PgPool) {
    let site = Site::new(pool.clone()).await;
    let (agent, _) = site.user("amy", Role::Agent).await;
    let token = session::issue_api_token(&pool, agent, "mine")
        .await
        .expect("token");
    sqlx::query("UPDATE users SET must_change_password = true WHERE id = $1")
        .bind(agent)
        .execute(&pool)
        .await
        .expect("must change");
    let r = site.api("GET", "/api/v1/me", &token, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}
