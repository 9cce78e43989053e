//! The server half of the admin: state, sign-in and sessions, the request guards, the audit
//! log, CSV uploads and the JSON API. Pages' server functions call in here.

pub mod api;
pub mod audit;
pub mod board;
pub mod desk;
pub mod guard;
pub mod leads;
pub mod live;
pub mod nul_guard;
pub mod ops;
pub mod reference;
pub mod reports;
pub mod session;
pub mod settings;
pub mod signin;
pub mod uploads;

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
        }
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
    pub fn desk(&self) -> desk::DeskContext {
        desk::DeskContext {
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

/// The whole web application: pages, server functions, sign-in, uploads, the JSON API.
pub fn router(state: AppState) -> Router {
    let routes = routes();
    let leptos = state.leptos.clone();
    Router::new()
        .route("/signin", post(signin::sign_in))
        .route("/signout", post(signin::sign_out))
        .route("/signout-everywhere", post(signin::sign_out_everywhere))
        .route("/account/password", post(signin::change_password))
        .route("/lists/{id}/upload", post(uploads::receive))
        .route("/uploads/{id}/start", post(uploads::start))
        .route("/uploads/{id}/events", get(uploads::events))
        .route("/uploads/{id}/errors.csv", get(uploads::error_report))
        .route("/dnc/upload", post(uploads::dnc_file))
        .route("/recordings/{id}/file", get(recording_file))
        .route("/ws/agent", get(live::agent_socket))
        .route("/ws/board", get(live::board_socket))
        .merge(api::routes())
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
        // The multipart envelope (boundaries, other fields) on top of the file itself.
        .layer(axum::extract::DefaultBodyLimit::max(
            state.uploads.max_bytes().saturating_add(64 * 1024),
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

/// Admins see every campaign; supervisors and agents those granted to them.
pub async fn may_see_campaign(
    pool: &PgPool,
    viewer: &Viewer,
    campaign_id: i64,
) -> Result<bool, sqlx::Error> {
    if viewer.is_admin() {
        return Ok(true);
    }
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM user_campaigns WHERE user_id = $1 AND campaign_id = $2)",
    )
    .bind(viewer.user_id)
    .bind(campaign_id)
    .fetch_one(pool)
    .await
}

/// A database error as a server function's error, logged with its detail, shown without it.
pub fn db_error(e: sqlx::Error) -> ServerFnError {
    tracing::error!(error = %e, "database error in the admin");
    ServerFnError::new("the database did not answer; try again")
}

/// The client's address, for the audit log and the sign-in throttle.
pub fn client_ip(parts: &http::request::Parts) -> Option<std::net::IpAddr> {
    parts.extensions.get::<guard::ClientIp>().and_then(|c| c.0)
}

/// `GET /recordings/{id}/file`: the audio, for the browser's player or a download.
async fn recording_file(
    axum::extract::State(state): axum::extract::State<AppState>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    axum::Extension(session): axum::Extension<session::Session>,
    axum::Extension(guard::ClientIp(ip)): axum::Extension<guard::ClientIp>,
) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    let actor = ops::Actor {
        viewer: &session.viewer,
        ip,
    };
    let (path, format) = match leads::recording_file(&state.pool, &actor, id).await {
        Ok(found) => found,
        Err(ops::OpError::Forbidden) => {
            return (StatusCode::FORBIDDEN, "your role may not do this").into_response()
        }
        Err(ops::OpError::NotFound) => {
            return (StatusCode::NOT_FOUND, "no such recording").into_response()
        }
        Err(ops::OpError::Db(e)) => {
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
    match tokio::fs::read(&file).await {
        Ok(bytes) => {
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
            let mut response = axum::response::Response::new(axum::body::Body::from(bytes));
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, header::HeaderValue::from_static(kind));
            if let Ok(v) = header::HeaderValue::from_str(&format!("inline; filename=\"{name}\"")) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_DISPOSITION, v);
            }
            response
        }
        Err(e) => {
            tracing::warn!(error = %e, file = %file.display(), "recording file not readable");
            (StatusCode::NOT_FOUND, "The recording's file is not on this server (is recordings_dir the MixMonitor directory?)").into_response()
        }
    }
}
