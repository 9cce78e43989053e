//! Lead files uploaded through the admin: received and checked, shown for column mapping,
//! imported by `dialtone_core::import` with its progress pushed to the page (server-sent
//! events), and the rejected-rows report offered for download.
//!
//! Nothing reaches the list until the person confirms the mapping; a file that is not CSV,
//! too large or not UTF-8 is refused with a message and leaves nothing behind.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use dialtone_core::import::{self, Duplicates, Field, ImportOptions};
use futures::Stream;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

use super::actor::{Actor, OpError};
use super::guard::ClientIp;
use super::session::Session;
use super::{audit, AppState};
use crate::model::{UploadState, UploadView};

/// Largest file accepted by default (`web.max_upload_mb`); a bigger one is refused while it
/// streams in, before it is all on disk.
pub const MAX_UPLOAD_BYTES: usize = 200 * 1024 * 1024;
/// Rows shown on the mapping step.
const SAMPLE_ROWS: usize = 5;

/// One uploaded file, from mapping to the end of its import.
pub struct Upload {
    pub id: String,
    pub list_id: i64,
    pub list_name: String,
    pub file_name: String,
    pub path: PathBuf,
    pub report: PathBuf,
    pub total_lines: u64,
    pub headers: Vec<String>,
    pub sample: Vec<Vec<String>>,
    pub state: watch::Sender<UploadState>,
    /// When it was received; uploads older than [`KEEP_UPLOADS`] are forgotten.
    pub received: std::time::Instant,
}

/// How long an upload, its file and its report are kept (mapping not confirmed, or the report
/// not downloaded yet). A confirmed import's rows are in the database long before.
pub const KEEP_UPLOADS: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

impl Upload {
    pub fn view(&self) -> UploadView {
        UploadView {
            upload_id: self.id.clone(),
            list_id: self.list_id,
            list_name: self.list_name.clone(),
            file_name: self.file_name.clone(),
            total_lines: self.total_lines,
            columns: self
                .headers
                .iter()
                .map(|h| (h.clone(), field_name(import::columns::recognise(h))))
                .collect(),
            sample: self.sample.clone(),
            state: self.state.borrow().clone(),
        }
    }
}

fn field_name(field: Field) -> String {
    serde_json::to_value(field)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "custom".into())
}

fn field_from(name: &str) -> Option<Field> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
}

/// Uploads of this process. An import outlives a restart in the database (it resumes when the
/// same file is imported again); only the live progress is kept here.
pub struct Uploads {
    dir: PathBuf,
    max_bytes: usize,
    by_id: Mutex<HashMap<String, Arc<Upload>>>,
}

impl Uploads {
    pub fn new(dir: PathBuf, max_bytes: usize) -> Self {
        Self {
            dir,
            max_bytes,
            by_id: Mutex::new(HashMap::new()),
        }
    }

    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    pub fn get(&self, id: &str) -> Option<Arc<Upload>> {
        self.by_id.lock().ok()?.get(id).cloned()
    }

    /// Keeps a new upload and forgets (with their files) the expired ones that are not running.
    fn insert(&self, upload: Arc<Upload>) {
        let Ok(mut map) = self.by_id.lock() else {
            return;
        };
        let expired: Vec<String> = map
            .iter()
            .filter(|(_, u)| {
                u.received.elapsed() > KEEP_UPLOADS
                    && !matches!(*u.state.borrow(), UploadState::Importing { .. })
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            if let Some(old) = map.remove(&id) {
                let _ = std::fs::remove_file(&old.path);
                let _ = std::fs::remove_file(&old.report);
            }
        }
        map.insert(upload.id.clone(), upload);
    }
}

/// Why an upload was refused, in the words the list page shows.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("no file was chosen")]
    NoFile,
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than the {} KiB this server accepts", .0 / 1024)]
    TooLarge(usize),
    #[error(
        "this is not a CSV text file (it holds binary data or UTF-16); save it as \"CSV UTF-8\""
    )]
    NotText,
    #[error("the file is not UTF-8 text (line {0}); save it as \"CSV UTF-8\"")]
    NotUtf8(u64),
    #[error("the first line must be a header naming the columns: {0}")]
    Header(String),
    #[error("the upload broke off: {0}")]
    Transfer(String),
    #[error("cannot store the file: {0}")]
    Store(#[from] std::io::Error),
}

/// The uploads' folder, made if missing, readable by this service's user only: the files in
/// it are people's names and numbers.
async fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    tokio::fs::create_dir_all(dir).await?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tokio::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).await?;
    }
    Ok(())
}

/// A new file only this service's user may read (0600 whatever the umask).
async fn private_file(path: &std::path::Path) -> std::io::Result<tokio::fs::File> {
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path).await
}

/// Streams the multipart file to disk, checking it as it comes.
async fn store(
    max_bytes: usize,
    dir: &std::path::Path,
    multipart: &mut Multipart,
) -> Result<(PathBuf, String, u64, String), UploadError> {
    private_dir(dir).await?;
    let transfer = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            UploadError::TooLarge(max_bytes)
        } else {
            UploadError::Transfer(e.body_text())
        }
    };
    let mut duplicates = "skip".to_string();
    let mut stored: Option<(PathBuf, String, u64)> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(transfer)? {
        match field.name() {
            Some("duplicates") => duplicates = field.text().await.map_err(transfer)?,
            Some("file") => {
                let file_name = field
                    .file_name()
                    .unwrap_or("leads.csv")
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect::<String>();
                let path = dir.join(format!("{}.csv", uuid::Uuid::new_v4()));
                let chunks = futures::stream::unfold(&mut field, |field| async move {
                    field.chunk().await.transpose().map(|chunk| (chunk, field))
                });
                match write_checked(&path, chunks, max_bytes, transfer).await {
                    Ok(lines) => stored = Some((path, file_name, lines)),
                    Err(e) => {
                        let _ = tokio::fs::remove_file(&path).await;
                        return Err(e);
                    }
                }
            }
            _ => {}
        }
    }
    let (path, name, lines) = stored.ok_or(UploadError::NoFile)?;
    Ok((path, name, lines, duplicates))
}

/// Stores a request body that is the CSV file itself (the API's `text/csv` upload).
async fn store_body(
    max_bytes: usize,
    dir: &std::path::Path,
    body: Body,
) -> Result<(PathBuf, u64), UploadError> {
    private_dir(dir).await?;
    let path = dir.join(format!("{}.csv", uuid::Uuid::new_v4()));
    let chunks = body.into_data_stream();
    let transfer = |e: axum::Error| UploadError::Transfer(e.to_string());
    match write_checked(&path, chunks, max_bytes, transfer).await {
        Ok(lines) => Ok((path, lines)),
        Err(e) => {
            let _ = tokio::fs::remove_file(&path).await;
            Err(e)
        }
    }
}

/// Writes the chunks to `path`; returns the line count. Refuses NUL bytes (binary, UTF-16) and
/// bytes that are not UTF-8, naming the line. `transfer` reads the source's own errors.
async fn write_checked<S, E>(
    path: &std::path::Path,
    chunks: S,
    max_bytes: usize,
    transfer: impl Fn(E) -> UploadError,
) -> Result<u64, UploadError>
where
    S: Stream<Item = Result<axum::body::Bytes, E>>,
{
    use futures::StreamExt;
    let mut chunks = std::pin::pin!(chunks);
    let mut file = private_file(path).await?;
    let mut lines = 0u64;
    let mut bytes = 0usize;
    let mut last = b'\n';
    // A character split across chunks is carried to the next one.
    let mut carry: Vec<u8> = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(&transfer)?;
        bytes += chunk.len();
        if bytes > max_bytes {
            return Err(UploadError::TooLarge(max_bytes));
        }
        if chunk.contains(&0) {
            return Err(UploadError::NotText);
        }
        carry.extend_from_slice(&chunk);
        match std::str::from_utf8(&carry) {
            Ok(_) => carry.clear(),
            Err(e) if e.error_len().is_none() => carry.drain(..e.valid_up_to()).for_each(drop),
            Err(e) => {
                // Carried bytes are part of one unfinished character, never a newline.
                let line = lines
                    + 1
                    + carry[..e.valid_up_to()]
                        .iter()
                        .filter(|&&b| b == b'\n')
                        .count() as u64;
                return Err(UploadError::NotUtf8(line));
            }
        }
        lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        last = *chunk.last().unwrap_or(&last);
        file.write_all(&chunk).await?;
    }
    file.flush().await?;
    if bytes == 0 {
        return Err(UploadError::Empty);
    }
    if !carry.is_empty() {
        return Err(UploadError::NotUtf8(lines + 1));
    }
    Ok(lines + u64::from(last != b'\n'))
}

/// Reads the header and the first rows of a stored file.
fn preview(path: &std::path::Path) -> Result<(Vec<String>, Vec<Vec<String>>), UploadError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| UploadError::Header(e.to_string()))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| UploadError::Header(e.to_string()))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if headers.iter().all(String::is_empty) {
        return Err(UploadError::Header("it is empty".into()));
    }
    if let Err(e) = import::ColumnMap::new(headers.clone(), &HashMap::new()) {
        return Err(UploadError::Header(e.to_string()));
    }
    let sample = reader
        .records()
        .take(SAMPLE_ROWS)
        .filter_map(Result::ok)
        .map(|r| r.iter().map(str::to_string).collect())
        .collect();
    Ok((headers, sample))
}

/// Why a file was not taken or an import not started: the operation's refusal (role, no such
/// list), or what is wrong with the file or the mapping.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error(transparent)]
    Op(#[from] OpError),
    #[error(transparent)]
    File(#[from] UploadError),
    /// The column mapping, with the message naming the column.
    #[error("{0}")]
    Mapping(String),
    #[error("this upload has already been started")]
    Started,
}

/// The list a file goes into, for an admin: its name.
pub async fn target_list(
    pool: &sqlx::PgPool,
    actor: &Actor<'_>,
    list_id: i64,
) -> Result<String, OpError> {
    actor.admin()?;
    let name: Option<String> = sqlx::query_scalar("SELECT name FROM lists WHERE id = $1")
        .bind(list_id)
        .fetch_optional(pool)
        .await?;
    name.ok_or(OpError::NotFound)
}

/// Where a file comes from: a multipart form (the list page) or the request body (the API).
pub enum Source<'a> {
    Form(&'a mut Multipart),
    Body { body: Body, file_name: String },
}

/// Takes a lead file for the list: stored, checked and read for the mapping step. Nothing is
/// imported until [`begin`].
pub async fn accept(
    state: &AppState,
    actor: &Actor<'_>,
    list_id: i64,
    source: Source<'_>,
) -> Result<Arc<Upload>, Refused> {
    let list_name = target_list(&state.pool, actor, list_id).await?;
    let (path, file_name, total_lines) = match source {
        Source::Form(multipart) => {
            let (path, name, lines, _duplicates) =
                store(state.uploads.max_bytes, &state.uploads.dir, multipart).await?;
            (path, name, lines)
        }
        Source::Body { body, file_name } => {
            let (path, lines) =
                store_body(state.uploads.max_bytes, &state.uploads.dir, body).await?;
            let name = file_name
                .chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect();
            (path, name, lines)
        }
    };
    let checked = tokio::task::spawn_blocking({
        let path = path.clone();
        move || preview(&path)
    })
    .await
    .unwrap_or_else(|e| Err(UploadError::Header(e.to_string())));
    let (headers, sample) = match checked {
        Ok(preview) => preview,
        Err(e) => {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(e.into());
        }
    };
    let id = uuid::Uuid::new_v4().simple().to_string();
    let report = path.with_extension("errors.csv");
    let (state_tx, _) = watch::channel(UploadState::Mapping);
    let upload = Arc::new(Upload {
        id,
        list_id,
        list_name,
        file_name,
        path,
        report,
        total_lines,
        headers,
        sample,
        state: state_tx,
        received: std::time::Instant::now(),
    });
    state.uploads.insert(upload.clone());
    Ok(upload)
}

/// An upload as its page or the API shows it, to an admin.
pub fn view(state: &AppState, actor: &Actor<'_>, id: &str) -> Result<UploadView, OpError> {
    actor.admin()?;
    state
        .uploads
        .get(id)
        .map(|u| u.view())
        .ok_or(OpError::NotFound)
}

/// The field a mapping names (`phone`, `first_name`, `custom`...), if it is one.
pub fn field_named(name: &str) -> Option<Field> {
    field_from(name)
}

/// Starts the import with `mapping` (header -> field; headers not named keep the field their
/// name suggests) in the background; its progress is the upload's state.
pub async fn begin(
    state: &AppState,
    actor: &Actor<'_>,
    id: &str,
    mapping: HashMap<String, Field>,
    duplicates: Duplicates,
) -> Result<Arc<Upload>, Refused> {
    actor.admin()?;
    let upload = state.uploads.get(id).ok_or(OpError::NotFound)?;
    if !matches!(*upload.state.borrow(), UploadState::Mapping) {
        return Err(Refused::Started);
    }
    if let Err(e) = import::ColumnMap::new(upload.headers.clone(), &mapping) {
        return Err(Refused::Mapping(e.to_string()));
    }
    let mut options = ImportOptions::new(upload.list_id, upload.report.clone());
    options.duplicates = duplicates;
    options.mapping = mapping;
    options.created_by = Some(actor.viewer.user_id);
    // Two starts at once: only the one that leaves the mapping state runs the import.
    let mut first = false;
    upload.state.send_if_modified(|s| {
        first = matches!(s, UploadState::Mapping);
        if first {
            *s = UploadState::Importing {
                lines_done: 0,
                inserted: 0,
                rejected: 0,
            };
        }
        first
    });
    if !first {
        return Err(Refused::Started);
    }
    tokio::spawn(run_import(
        state.pool.clone(),
        upload.clone(),
        options,
        actor.viewer.user_id,
        actor.ip,
    ));
    Ok(upload)
}

/// `POST /lists/{id}/upload`: store and check the file, then show the mapping step.
pub async fn receive(
    State(state): State<AppState>,
    Path(list_id): Path<i64>,
    Extension(session): Extension<Session>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    mut multipart: Multipart,
) -> Response {
    let actor = Actor {
        viewer: &session.viewer,
        ip,
    };
    match accept(&state, &actor, list_id, Source::Form(&mut multipart)).await {
        Ok(upload) => Redirect::to(&format!("/uploads/{}", upload.id)).into_response(),
        Err(Refused::Op(OpError::NotFound)) => {
            (StatusCode::NOT_FOUND, "No such list.").into_response()
        }
        Err(Refused::Op(OpError::Forbidden)) => {
            (StatusCode::FORBIDDEN, "your role may not do this").into_response()
        }
        Err(Refused::Op(OpError::Db(e))) => {
            tracing::error!(error = %e, "upload: database");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The database is not answering; nothing was imported.",
            )
                .into_response()
        }
        Err(e) => Redirect::to(&format!(
            "/lists/{list_id}?upload_error={}",
            form_urlencoded::byte_serialize(e.to_string().as_bytes()).collect::<String>()
        ))
        .into_response(),
    }
}

/// `POST /uploads/{id}/start`: the mapping as chosen (`col_N` = field), and what to do with
/// numbers already in the list.
pub async fn start(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(session): Extension<Session>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let actor = Actor {
        viewer: &session.viewer,
        ip,
    };
    let Some(upload) = state.uploads.get(&id) else {
        return (StatusCode::NOT_FOUND, "This upload is gone (the server restarted?): upload the file again; rows already imported are not duplicated.").into_response();
    };
    let mut mapping = HashMap::new();
    for (i, header) in upload.headers.iter().enumerate() {
        if let Some(choice) = form.get(&format!("col_{i}")) {
            match field_from(choice) {
                Some(field) => {
                    mapping.insert(header.clone(), field);
                }
                None => {
                    return (
                        StatusCode::UNPROCESSABLE_ENTITY,
                        format!("Column '{header}': unknown field '{choice}'."),
                    )
                        .into_response()
                }
            }
        }
    }
    let duplicates = if form.get("duplicates").map(String::as_str) == Some("update") {
        Duplicates::Update
    } else {
        Duplicates::Skip
    };
    match begin(&state, &actor, &id, mapping, duplicates).await {
        Ok(_) | Err(Refused::Started) => Redirect::to(&format!("/uploads/{id}")).into_response(),
        Err(Refused::Mapping(message)) => Redirect::to(&format!(
            "/uploads/{id}?error={}",
            form_urlencoded::byte_serialize(message.as_bytes()).collect::<String>()
        ))
        .into_response(),
        Err(Refused::Op(OpError::Forbidden)) => {
            (StatusCode::FORBIDDEN, "your role may not do this").into_response()
        }
        Err(e) => (StatusCode::NOT_FOUND, e.to_string()).into_response(),
    }
}

async fn run_import(
    pool: sqlx::PgPool,
    upload: Arc<Upload>,
    options: ImportOptions,
    user_id: i64,
    ip: Option<std::net::IpAddr>,
) {
    let (tx, mut rx) = watch::channel(import::Progress::default());
    let job = {
        let pool = pool.clone();
        let path = upload.path.clone();
        let options = options.clone();
        tokio::spawn(async move { import::import_csv(&pool, &path, &options, Some(tx)).await })
    };
    while rx.changed().await.is_ok() {
        let p = rx.borrow_and_update().clone();
        upload.state.send_replace(UploadState::Importing {
            lines_done: p.lines_committed,
            inserted: p.inserted,
            rejected: p.rejected,
        });
    }
    let final_state = match job.await {
        Ok(Ok(report)) => {
            let t = &report.totals;
            let after = serde_json::json!({
                "file": upload.file_name, "job": report.job_id, "inserted": t.inserted, "updated": t.updated,
                "duplicate": t.duplicate, "dnc": t.dnc, "rejected": t.rejected,
            });
            audit::record(
                &pool,
                Some(user_id),
                ip,
                "import",
                "list",
                Some(upload.list_id.to_string()),
                None,
                Some(after),
            )
            .await;
            UploadState::Done {
                inserted: t.inserted,
                updated: t.updated,
                duplicate: t.duplicate,
                dnc: t.dnc,
                rejected: t.rejected,
                has_report: report.error_report.is_some(),
            }
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, upload = %upload.id, "import failed");
            let lines_done = match &*upload.state.borrow() {
                UploadState::Importing { lines_done, .. } => *lines_done,
                _ => 0,
            };
            UploadState::Failed {
                error: e.to_string(),
                lines_done,
            }
        }
        Err(e) => UploadState::Failed {
            error: format!("the import stopped: {e}"),
            lines_done: 0,
        },
    };
    // The rows are in the database now; only the report is still needed.
    if matches!(final_state, UploadState::Done { .. }) {
        let _ = tokio::fs::remove_file(&upload.path).await;
    }
    upload.state.send_replace(final_state);
}

/// `GET /uploads/{id}/events`: the upload's state each time it changes, until it ends.
pub async fn events(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(upload) = state.uploads.get(&id) else {
        return (StatusCode::NOT_FOUND, "no such upload").into_response();
    };
    Sse::new(progress_stream(upload.state.subscribe()))
        .keep_alive(KeepAlive::default())
        .into_response()
}

fn progress_stream(
    rx: watch::Receiver<UploadState>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold(Some((rx, true)), |next| async move {
        let (mut rx, first) = next?;
        if !first && rx.changed().await.is_err() {
            return None;
        }
        let current = rx.borrow_and_update().clone();
        let ended = matches!(
            current,
            UploadState::Done { .. } | UploadState::Failed { .. }
        );
        let event = Event::default()
            .event("progress")
            .json_data(&current)
            .unwrap_or_else(|_| Event::default().comment("unserialisable"));
        Some((Ok(event), (!ended).then_some((rx, false))))
    })
}

/// `GET /uploads/{id}/errors.csv`: the rejected rows with their line numbers and reasons.
pub async fn error_report(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(upload) = state.uploads.get(&id) else {
        return (StatusCode::NOT_FOUND, "no such upload").into_response();
    };
    match tokio::fs::read(&upload.report).await {
        Ok(bytes) => {
            let name = format!(
                "attachment; filename=\"{}-errors.csv\"",
                upload
                    .file_name
                    .trim_end_matches(".csv")
                    .replace(['"', '\\'], "")
            );
            let mut response = Response::new(Body::from(bytes));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            if let Ok(value) = header::HeaderValue::from_str(&name) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
        Err(_) => (StatusCode::NOT_FOUND, "no rows were rejected").into_response(),
    }
}

/// `POST /dnc/upload`: a registry file (one number per line) into the system-wide list.
pub async fn dnc_file(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    mut multipart: Multipart,
) -> Response {
    use dialtone_core::dnc::{self, Scope, Source};
    let back = |message: String| {
        Redirect::to(&format!(
            "/dnc?loaded={}",
            form_urlencoded::byte_serialize(message.as_bytes()).collect::<String>()
        ))
        .into_response()
    };
    let mut bytes = Vec::new();
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => match field.bytes().await {
                Ok(b) => bytes = b.to_vec(),
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    return back(UploadError::TooLarge(state.uploads.max_bytes).to_string())
                }
                Err(e) => return back(format!("The upload broke off: {}", e.body_text())),
            },
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => return back(format!("The upload broke off: {}", e.body_text())),
        }
    }
    if bytes.is_empty() {
        return back("No numbers were loaded: the file is empty.".into());
    }
    if bytes.contains(&0) {
        return back(format!("No numbers were loaded: {}", UploadError::NotText));
    }
    match dnc::load_registry(
        &state.pool,
        Scope::System,
        std::io::Cursor::new(bytes),
        Source::Registry,
    )
    .await
    {
        Ok(load) => {
            let after = serde_json::json!({"lines": load.lines, "added": load.added, "already_listed": load.already_listed, "rejected": load.rejected_count});
            audit::record(
                &state.pool,
                Some(session.viewer.user_id),
                None,
                "import",
                "dnc",
                None,
                None,
                Some(after),
            )
            .await;
            back(format!(
                "{} lines read: {} numbers added, {} already listed, {} rejected.",
                load.lines, load.added, load.already_listed, load.rejected_count
            ))
        }
        Err(e) => back(format!("No numbers were loaded: {e}")),
    }
}
