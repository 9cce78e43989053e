//! An uploaded lead file: map its columns, then watch the import's progress bar fill as the
//! server pushes each committed batch (server-sent events from `/uploads/{id}/events`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::query_param;
use crate::model::{UploadState, UploadView, LEAD_FIELDS};

#[server(endpoint = "get_upload")]
pub async fn get_upload(id: String) -> Result<UploadView, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let state = crate::server::state()?;
    crate::server::uploads::view(&state, &ctx.actor(), &id).map_err(op_error)
}

#[component]
pub fn UploadPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let error = query_param("error");
    let upload = Resource::new(id, get_upload);
    view! {
        <Title text="Upload · Dialtone"/>
        {move || { let e = error(); (!e.is_empty()).then(|| view! { <p class="notice error" role="alert">{e}</p> }) }}
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match upload.await {
                    Ok(u) => {
                        let heading = view! {
                            <h1>{format!("{} → {}", u.file_name, u.list_name)}</h1>
                            <p>{format!("{} lines (the first is the header).", u.total_lines)}</p>
                        };
                        let body = if matches!(u.state, UploadState::Mapping) { mapping(u).into_any() } else { view! { <Progress upload=u/> }.into_any() };
                        view! { {heading} {body} }.into_any()
                    }
                    Err(e) => view! {
                        <h1>"Upload"</h1>
                        <p class="notice error">{super::error_text(&e)} ". If the server restarted, upload the file again: rows already imported are not duplicated."</p>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The mapping step: a field for each column, defaulted from its header, and a sample.
fn mapping(u: UploadView) -> impl IntoView {
    let action = format!("/uploads/{}/start", u.upload_id);
    let columns = u.columns.clone();
    view! {
        <form method="post" action=action class="stack">
            <table class="mapping">
                <thead>
                    <tr>{columns.iter().map(|(h, _)| view! { <th>{h.clone()}</th> }).collect_view()}</tr>
                    <tr>
                        {columns.iter().enumerate().map(|(i, (_, field))| {
                            let field = field.clone();
                            view! {
                                <th>
                                    <select name=format!("col_{i}") aria-label=format!("column {}", i + 1)>
                                        {LEAD_FIELDS.iter().map(|f| view! { <option value=*f selected=*f == field>{*f}</option> }).collect_view()}
                                    </select>
                                </th>
                            }
                        }).collect_view()}
                    </tr>
                </thead>
                <tbody>
                    {u.sample.into_iter().map(|row| view! { <tr>{row.into_iter().map(|cell| view! { <td>{cell}</td> }).collect_view()}</tr> }).collect_view()}
                </tbody>
            </table>
            <label>"Numbers already in the list"
                <select name="duplicates">
                    <option value="skip">"keep the lead that is there"</option>
                    <option value="update">"update its fields from the file"</option>
                </select>
            </label>
            <button type="submit" class="primary">"Import"</button>
        </form>
    }
}

fn percent(done: u64, total: u64) -> u64 {
    // The header line is not a row.
    let rows = total.saturating_sub(1).max(1);
    (done.saturating_sub(1).min(rows) * 100) / rows
}

/// The progress bar and the counts, kept current by the server's events.
#[component]
fn Progress(upload: UploadView) -> impl IntoView {
    let state = RwSignal::new(upload.state.clone());
    let total = upload.total_lines;
    let report = format!("/uploads/{}/errors.csv", upload.upload_id);
    #[cfg(feature = "hydrate")]
    {
        let url = format!("/uploads/{}/events", upload.upload_id);
        Effect::new(move |_| listen(&url, state));
    }
    let list = format!("/lists/{}", upload.list_id);
    view! {
        {move || {
            let s = state.get();
            let (done, label) = match &s {
                UploadState::Mapping => (0, "Waiting".to_string()),
                UploadState::Importing { lines_done, inserted, rejected } => (percent(*lines_done, total), format!("Importing: {inserted} new, {rejected} rejected so far")),
                UploadState::Done { .. } => (100, "Done".to_string()),
                UploadState::Failed { error, .. } => (0, format!("Stopped: {error}")),
            };
            view! {
                <div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=done.to_string() data-state=match &s { UploadState::Done { .. } => "done", UploadState::Failed { .. } => "failed", _ => "running" }>
                    <div class="fill" style=format!("width: {done}%")></div>
                </div>
                <p class="progress-label">{format!("{done}% · {label}")}</p>
                {match s {
                    UploadState::Done { inserted, updated, duplicate, dnc, rejected, has_report } => view! {
                        <table class="totals">
                            <tr><th>"New leads"</th><td class="num">{inserted}</td></tr>
                            <tr><th>"Updated"</th><td class="num">{updated}</td></tr>
                            <tr><th>"Duplicates skipped"</th><td class="num">{duplicate}</td></tr>
                            <tr><th>"On a do-not-call list"</th><td class="num">{dnc}</td></tr>
                            <tr><th>"Rejected"</th><td class="num">{rejected}</td></tr>
                        </table>
                        {has_report.then(|| view! { <p><a href=report.clone() download>"Download the rejected rows with their reasons"</a></p> })}
                    }.into_any(),
                    UploadState::Failed { .. } => view! { <p>"Rows committed before the stop are kept; uploading the same file again resumes after them."</p> }.into_any(),
                    _ => ().into_any(),
                }}
            }
        }}
        <p><a href=list>"Back to the list"</a></p>
    }
}

/// Opens the event stream and feeds `state` until the import ends.
#[cfg(feature = "hydrate")]
fn listen(url: &str, state: RwSignal<UploadState>) {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    let Ok(source) = web_sys::EventSource::new(url) else {
        return;
    };
    let closer = source.clone();
    let on_progress =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let Some(text) = event.data().as_string() else {
                return;
            };
            if let Ok(next) = serde_json::from_str::<UploadState>(&text) {
                let ended = matches!(next, UploadState::Done { .. } | UploadState::Failed { .. });
                state.set(next);
                if ended {
                    closer.close();
                }
            }
        });
    let _ =
        source.add_event_listener_with_callback("progress", on_progress.as_ref().unchecked_ref());
    // The page owns the source for its lifetime; the callback must outlive this function.
    on_progress.forget();
    let source = send_wrapper::SendWrapper::new(source);
    on_cleanup(move || source.close());
}
