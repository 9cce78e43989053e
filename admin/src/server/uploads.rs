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
    fn insert(&self, upload: Upload) {
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
        map.insert(upload.id.clone(), Arc::new(upload));
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

/// Streams the multipart file to disk, checking it as it comes.
async fn store(
    max_bytes: usize,
    dir: &std::path::Path,
    multipart: &mut Multipart,
) -> Result<(PathBuf, String, u64, String), UploadError> {
    tokio::fs::create_dir_all(dir).await?;
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
                let result = write_checked(&path, &mut field, max_bytes).await;
                match result {
                    Ok(lines) => stored = Some((path, file_name, lines)),
                    Err(e) => {
                        let _ = tokio::fs::remove_file(&path).await;
                        return Err(match e {
                            WriteError::Multipart(e) => transfer(e),
                            WriteError::Upload(e) => e,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    let (path, name, lines) = stored.ok_or(UploadError::NoFile)?;
    Ok((path, name, lines, duplicates))
}

enum WriteError {
    Multipart(axum::extract::multipart::MultipartError),
    Upload(UploadError),
}

/// Writes the field to `path`; returns its line count. Refuses NUL bytes (binary, UTF-16) and
/// bytes that are not UTF-8, naming the line.
async fn write_checked(
    path: &std::path::Path,
    field: &mut axum::extract::multipart::Field<'_>,
    max_bytes: usize,
) -> Result<u64, WriteError> {
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(|e| WriteError::Upload(e.into()))?;
    let mut lines = 0u64;
    let mut bytes = 0usize;
    let mut last = b'\n';
    // A character split across chunks is carried to the next one.
    let mut carry: Vec<u8> = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(WriteError::Multipart)? {
        bytes += chunk.len();
        if bytes > max_bytes {
            return Err(WriteError::Upload(UploadError::TooLarge(max_bytes)));
        }
        if chunk.contains(&0) {
            return Err(WriteError::Upload(UploadError::NotText));
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
                return Err(WriteError::Upload(UploadError::NotUtf8(line)));
            }
        }
        lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        last = *chunk.last().unwrap_or(&last);
        file.write_all(&chunk)
            .await
            .map_err(|e| WriteError::Upload(e.into()))?;
    }
    file.flush()
        .await
        .map_err(|e| WriteError::Upload(e.into()))?;
    if bytes == 0 {
        return Err(WriteError::Upload(UploadError::Empty));
    }
    if !carry.is_empty() {
        return Err(WriteError::Upload(UploadError::NotUtf8(lines + 1)));
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

/// `POST /lists/{id}/upload`: store and check the file, then show the mapping step.
pub async fn receive(
    State(state): State<AppState>,
    Path(list_id): Path<i64>,
    mut multipart: Multipart,
) -> Response {
    let list: Result<Option<String>, sqlx::Error> =
        sqlx::query_scalar("SELECT name FROM lists WHERE id = $1")
            .bind(list_id)
            .fetch_optional(&state.pool)
            .await;
    let list_name = match list {
        Ok(Some(name)) => name,
        Ok(None) => return (StatusCode::NOT_FOUND, "No such list.").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "upload: database");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "The database is not answering; nothing was imported.",
            )
                .into_response();
        }
    };
    let refused = |e: UploadError| {
        Redirect::to(&format!(
            "/lists/{list_id}?upload_error={}",
            form_urlencoded::byte_serialize(e.to_string().as_bytes()).collect::<String>()
        ))
        .into_response()
    };
    let (path, file_name, total_lines, _duplicates) =
        match store(state.uploads.max_bytes, &state.uploads.dir, &mut multipart).await {
            Ok(stored) => stored,
            Err(e) => return refused(e),
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
            return refused(e);
        }
    };
    let id = uuid::Uuid::new_v4().simple().to_string();
    let report = path.with_extension("errors.csv");
    let (state_tx, _) = watch::channel(UploadState::Mapping);
    state.uploads.insert(Upload {
        id: id.clone(),
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
    Redirect::to(&format!("/uploads/{id}")).into_response()
}

/// `POST /uploads/{id}/start`: the mapping as chosen (`col_N` = field), and what to do with
/// numbers already in the list.
pub async fn start(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(session): Extension<Session>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let Some(upload) = state.uploads.get(&id) else {
        return (StatusCode::NOT_FOUND, "This upload is gone (the server restarted?): upload the file again; rows already imported are not duplicated.").into_response();
    };
    if !matches!(*upload.state.borrow(), UploadState::Mapping) {
        return Redirect::to(&format!("/uploads/{id}")).into_response();
    }
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
    if let Err(e) = import::ColumnMap::new(upload.headers.clone(), &mapping) {
        return Redirect::to(&format!(
            "/uploads/{id}?error={}",
            form_urlencoded::byte_serialize(e.to_string().as_bytes()).collect::<String>()
        ))
        .into_response();
    }
    let duplicates = if form.get("duplicates").map(String::as_str) == Some("update") {
        Duplicates::Update
    } else {
        Duplicates::Skip
    };
    let mut options = ImportOptions::new(upload.list_id, upload.report.clone());
    options.duplicates = duplicates;
    options.mapping = mapping;
    options.created_by = Some(session.viewer.user_id);
    upload.state.send_replace(UploadState::Importing {
        lines_done: 0,
        inserted: 0,
        rejected: 0,
    });
    tokio::spawn(run_import(
        state.pool.clone(),
        upload.clone(),
        options,
        session.viewer.user_id,
    ));
    Redirect::to(&format!("/uploads/{id}")).into_response()
}

async fn run_import(pool: sqlx::PgPool, upload: Arc<Upload>, options: ImportOptions, user_id: i64) {
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
                None,
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
