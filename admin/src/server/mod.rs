//! The server half of the admin: state, sign-in and sessions, the request guards, the audit
//! log, CSV uploads and the JSON API. Pages' server functions call in here.

pub mod actor;
pub mod agent;
pub mod api;
pub mod audit;
pub mod calltimes;
pub mod campaigns;
pub mod dispositions;
pub mod dnc;
pub mod guard;
pub mod headers;
pub mod inbound;
pub mod leads;
pub mod listen;
pub mod lists;
pub mod live;
pub mod nul_guard;
pub mod reports;
pub mod search;
pub mod session;
pub mod settings;
pub mod signin;
pub mod uploads;
pub mod users;
pub mod wallboard;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use axum::extract::FromRef;
use axum::routing::{get, post};
use axum::Router;
use leptos::config::LeptosOptions;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use sqlx::PgPool;

use dialtone_core::bus::Bus;

use crate::model::Viewer;

/// Everything a request handler or server function may need.
#[derive(Clone)]
pub struct AppState {
    pub leptos: LeptosOptions,
    pub pool: PgPool,
    pub throttle: Arc<signin::Throttle>,
    pub uploads: Arc<uploads::Uploads>,
    /// Where recording rows' paths start (MixMonitor's directory on this machine).
    pub recordings_dir: PathBuf,
    /// Cookies get `Secure` when the public address is https.
    pub secure_cookies: bool,
    /// The bus to the nodes (call control) and to other web nodes (take-overs, notices).
    pub bus: Bus,
    /// The node whose Asterisk rings the phones of agents who log in here.
    pub node: String,
    pub live: Arc<live::Hub>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`web.trusted_proxies`).
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

/// How the admin is set up by the binary that serves it.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Where the built browser bundle (`pkg/`) lives: `target/site` after scripts/build-admin.
    pub site_root: PathBuf,
    /// Uploaded CSV files and their rejected-rows reports.
    pub upload_dir: PathBuf,
    pub recordings_dir: PathBuf,
    pub secure_cookies: bool,
    /// Largest lead or DNC file accepted, in bytes.
    pub max_upload_bytes: usize,
}

impl AppState {
    pub fn new(pool: PgPool, config: &WebConfig) -> Self {
        let leptos = LeptosOptions::builder()
            .output_name("admin")
            .site_root(config.site_root.to_string_lossy().to_string())
            .site_pkg_dir("pkg")
            .build();
        Self {
            leptos,
            pool: pool.clone(),
            throttle: Arc::new(signin::Throttle::default()),
            uploads: Arc::new(uploads::Uploads::new(
                config.upload_dir.clone(),
                config.max_upload_bytes,
            )),
            recordings_dir: config.recordings_dir.clone(),
            secure_cookies: config.secure_cookies,
            live: Arc::new(live::Hub::new(
                pool.clone(),
                Bus::InProcess(Default::default()),
            )),
            bus: Bus::InProcess(Default::default()),
            node: "local".into(),
            trusted_proxies: Arc::new(Vec::new()),
        }
    }

    /// Believes `X-Forwarded-For` from these peers: the admin is behind them.
    pub fn with_trusted_proxies(mut self, proxies: Vec<ipnet::IpNet>) -> Self {
        self.trusted_proxies = Arc::new(proxies);
        self
    }

    /// Joins the bus the nodes listen on, as the node named `node` (its agents' phones ring on
    /// that node's Asterisk). Without it, the admin has a bus of its own that no node hears.
    pub fn with_bus(mut self, bus: Bus, node: &str) -> Self {
        self.live = Arc::new(live::Hub::new(self.pool.clone(), bus.clone()));
        self.bus = bus;
        self.node = node.to_string();
        self
    }

    /// What the agent screen's and wallboard's actions need.
    pub fn agent_actions(&self) -> agent::AgentActions {
        agent::AgentActions {
            pool: self.pool.clone(),
            bus: self.bus.clone(),
            node: self.node.clone(),
        }
    }
}

/// The app's routes, generated once per process. Generating them sets a process-wide flag
/// under which every Leptos resource created meanwhile, on any thread, waits forever (leptos
/// issue 4773): a second router built while the first serves pages would hang those pages, as
/// a CI run of the router tests did.
fn routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES
        .get_or_init(|| generate_route_list(crate::app::App))
        .clone()
}

/// Largest request body outside the upload routes: forms and server functions' arguments are
/// small, and a body is read whole before it is checked.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The whole web application: pages, server functions, sign-in, uploads, the JSON API.
pub fn router(state: AppState) -> Router {
    let routes = routes();
    let leptos = state.leptos.clone();
    // Only the routes that take a lead or DNC file may receive one; the multipart envelope
    // (boundaries, other fields) comes on top of the file itself.
    let upload_limit =
        axum::extract::DefaultBodyLimit::max(state.uploads.max_bytes().saturating_add(64 * 1024));
    Router::new()
        .route("/signin", post(signin::sign_in))
        .route("/signout", post(signin::sign_out))
        .route("/signout-everywhere", post(signin::sign_out_everywhere))
        .route("/account/password", post(signin::change_password))
        .route(
            "/lists/{id}/upload",
            post(uploads::receive).layer(upload_limit),
        )
        .route("/uploads/{id}/start", post(uploads::start))
        .route("/uploads/{id}/events", get(uploads::events))
        .route("/uploads/{id}/errors.csv", get(uploads::error_report))
        .route("/dnc/upload", post(uploads::dnc_file).layer(upload_limit))
        .route("/recordings/{id}/file", get(recording_file))
        .route("/ws/agent", get(live::agent_socket))
        .route("/ws/wallboard", get(live::wallboard_socket))
        .merge(api::routes(upload_limit))
        .merge(reports::csv::routes())
        .leptos_routes_with_context(
            &state,
            routes,
            {
                let state = state.clone();
                move || provide_context(state.clone())
            },
            move || crate::app::shell(leptos.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            crate::app::shell,
        ))
        .layer(axum::middleware::from_fn(nul_guard::refuse_nul))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .layer(axum::middleware::from_fn(headers::server_fn_status))
        // The routes above that take files set their own, larger limit.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            headers::Policy {
                https: state.secure_cookies,
            },
            headers::security_headers,
        ))
        .with_state(state)
}

/// The state, inside a server function.
pub fn state() -> Result<AppState, ServerFnError> {
    use_context::<AppState>().ok_or_else(|| ServerFnError::new("the admin's state is missing"))
}

/// The signed-in person, inside a server function (the guard has resolved the session).
pub async fn viewer() -> Result<Viewer, ServerFnError> {
    let axum::Extension(session): axum::Extension<session::Session> = leptos_axum::extract()
        .await
        .map_err(|_| ServerFnError::new("sign in first"))?;
    Ok(session.viewer)
}

/// The viewer, when their role is one of `roles`; otherwise an error and a 403.
pub async fn require(roles: &[&str]) -> Result<Viewer, ServerFnError> {
    let viewer = viewer().await?;
    if roles.contains(&viewer.role.as_str()) {
        Ok(viewer)
    } else {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::FORBIDDEN);
        }
        Err(ServerFnError::new("your role may not do this"))
    }
}

/// A database error as a server function's error, logged with its detail, shown without it:
/// a refused value (a CHECK, a unique name) as a sentence naming the field, with 422; anything
/// else as the database not answering, with 503.
pub fn db_error(e: sqlx::Error) -> ServerFnError {
    let response = use_context::<leptos_axum::ResponseOptions>();
    if let Some(refused) = settings::Refusal::of(&e, "name") {
        tracing::warn!(error = %e, "the database refused a value");
        if let Some(response) = response {
            response.set_status(http::StatusCode::UNPROCESSABLE_ENTITY);
        }
        return ServerFnError::new(refused.sentence);
    }
    tracing::error!(error = %e, "database error in the admin");
    if let Some(response) = response {
        response.set_status(http::StatusCode::SERVICE_UNAVAILABLE);
    }
    ServerFnError::new("the database did not answer; try again")
}

/// The client's address, for the audit log and the sign-in throttle.
pub fn client_ip(parts: &http::request::Parts) -> Option<std::net::IpAddr> {
    parts.extensions.get::<guard::ClientIp>().and_then(|c| c.0)
}

/// `GET /recordings/{id}/file`: the audio, for the browser's player or a download. Streamed
/// from disk, with Range requests, so a long call neither sits in memory nor has to be
/// fetched whole before the player can seek.
async fn recording_file(
    axum::extract::State(state): axum::extract::State<AppState>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    axum::Extension(session): axum::Extension<session::Session>,
    axum::Extension(guard::ClientIp(ip)): axum::Extension<guard::ClientIp>,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    use tower::ServiceExt;
    let actor = actor::Actor {
        viewer: &session.viewer,
        ip,
    };
    let (path, format) = match leads::recording_file(&state.pool, &actor, id).await {
        Ok(found) => found,
        Err(actor::OpError::Forbidden) => {
            return (StatusCode::FORBIDDEN, "your role may not do this").into_response()
        }
        Err(actor::OpError::NotFound) => {
            return (StatusCode::NOT_FOUND, "no such recording").into_response()
        }
        Err(actor::OpError::Db(e)) => {
            tracing::error!(error = %e, "recording: database");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the database did not answer",
            )
                .into_response();
        }
    };
    // The row's path is relative and has no '..' (a CHECK); the join stays under the root.
    let file = state.recordings_dir.join(&path);
    let served = tower_http::services::ServeFile::new(&file)
        .oneshot(request)
        .await;
    let mut response = match served {
        Ok(response) if response.status() != StatusCode::NOT_FOUND => {
            response.map(axum::body::Body::new)
        }
        Ok(_) => {
            tracing::warn!(file = %file.display(), "recording file not found");
            return not_on_this_server();
        }
        Err(e) => {
            tracing::warn!(error = %e, file = %file.display(), "recording file not readable");
            return not_on_this_server();
        }
    };
    let kind = match format.as_str() {
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        "opus" => "audio/ogg",
        _ => "application/octet-stream",
    };
    let name = path
        .rsplit('/')
        .next()
        .unwrap_or("recording")
        .replace(['"', '\\'], "");
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static(kind));
    if let Ok(v) = header::HeaderValue::from_str(&format!("inline; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

fn not_on_this_server() -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::NOT_FOUND,
        "The recording's file is not on this server (is recordings_dir the MixMonitor directory?)",
    )
        .into_response()
}
