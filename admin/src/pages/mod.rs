//! One module per page, each with the server functions it calls. Server function bodies run
//! only on the server and go through `crate::server::ops`, which checks roles.

pub mod account;
pub mod agent;
pub mod audit;
pub mod calltimes;
pub mod campaigns;
pub mod charts;
pub mod dispositions;
pub mod dnc;
pub mod home;
pub mod inbound;
pub mod leads;
pub mod lists;
pub mod reports;
pub mod settings;
#[cfg(feature = "hydrate")]
pub mod socket;
pub mod uploads;
pub mod users;
pub mod wallboard;

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::model::Saved;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <h1>"Not found"</h1>
        <p>"There is no page at this address. " <a href="/">"Start page"</a></p>
    }
}

/// The names of a custom field's two form inputs: a hidden one carrying its name and the one
/// carrying its value. The name travels as a value, so any header text survives the form,
/// where `custom[name]` breaks on a name that starts with a digit or holds a bracket.
pub fn custom_inputs(i: usize) -> (String, String) {
    (format!("custom_key[{i}]"), format!("custom_value[{i}]"))
}

/// The custom fields a form posted through [`custom_inputs`], as (name, value).
pub fn custom_pairs(
    keys: Option<Vec<String>>,
    values: Option<Vec<String>>,
) -> Vec<(String, String)> {
    keys.unwrap_or_default()
        .into_iter()
        .zip(values.unwrap_or_default())
        .collect()
}

/// A duration as the floor's timers show it: `m:ss`, or `h:mm:ss` from an hour on.
pub fn clock(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// A query parameter of the current address, or "".
pub fn query_param(key: &'static str) -> impl Fn() -> String + Clone + Send + Sync + 'static {
    let query = use_query_map();
    move || query.read().get(key).unwrap_or_default()
}

/// The current page number from `?page=`.
pub fn page_param() -> impl Fn() -> u32 + Clone + Send + Sync + 'static {
    let raw = query_param("page");
    move || raw().parse().unwrap_or(1).max(1)
}

/// Previous / next links that keep the other query parameters. `open_ended` tables (leads,
/// audit log) know only whether a next page exists, not the total. Tables paged by key add
/// their cursors: `prev_query` and `next_query` (such as `&before=41`) go on those links.
#[component]
pub fn Pager(
    page: u32,
    pages: u32,
    total: i64,
    #[prop(into)] base: String,
    #[prop(optional)] open_ended: bool,
    #[prop(optional, into)] prev_query: String,
    #[prop(optional, into)] next_query: String,
) -> impl IntoView {
    let link = move |p: u32, extra: &str| {
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}page={p}{extra}")
    };
    view! {
        <p class="pager">
            {(page > 1).then(|| view! { <a href=link(page - 1, &prev_query) rel="prev">"← Previous"</a> })}
            <span>{if open_ended { format!("Page {page}") } else { format!("Page {page} of {pages} · {total} in all") }}</span>
            {(page < pages).then(|| view! { <a href=link(page + 1, &next_query) rel="next">"Next →"</a> })}
        </p>
    }
}

/// The message of a form's last answer: saved, refused, or failed.
#[component]
pub fn Notice(result: Signal<Option<Result<Saved, ServerFnError>>>) -> impl IntoView {
    move || match result.get() {
        None => ().into_any(),
        Some(Ok(Saved::Ok { message, .. })) => {
            view! { <p class="notice ok" role="status">{message}</p> }.into_any()
        }
        Some(Ok(Saved::Invalid { form, fields })) => {
            let text = form.unwrap_or_else(|| {
                format!("Nothing was saved: {} field(s) to correct.", fields.len())
            });
            view! { <p class="notice error" role="alert">{text}</p> }.into_any()
        }
        Some(Err(e)) => {
            view! { <p class="notice error" role="alert">{error_text(&e)}</p> }.into_any()
        }
    }
}

/// A server function's error without the framework's prefix.
pub fn error_text(e: &ServerFnError) -> String {
    let text = e.to_string();
    text.split_once(": ")
        .filter(|(head, _)| head.contains("error"))
        .map(|(_, rest)| rest.to_string())
        .unwrap_or(text)
}

/// The message for one field, beside it.
#[component]
pub fn FieldError(
    result: Signal<Option<Result<Saved, ServerFnError>>>,
    #[prop(into)] key: String,
) -> impl IntoView {
    move || {
        let key = key.clone();
        result
            .get()
            .and_then(|r| r.ok())
            .and_then(|saved| saved.field(&key))
            .map(|message| view! { <span class="field-error" data-field=key>{message}</span> })
    }
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use leptos::prelude::*;

    use crate::model::Viewer;
    use crate::server::actor::OpError;

    /// What a server function needs to act: the pool, who is asking, and from where.
    pub struct Ctx {
        pub pool: sqlx::PgPool,
        pub viewer: Viewer,
        pub ip: Option<std::net::IpAddr>,
    }

    impl Ctx {
        pub fn actor(&self) -> crate::server::actor::Actor<'_> {
            crate::server::actor::Actor {
                viewer: &self.viewer,
                ip: self.ip,
            }
        }
    }

    pub async fn context() -> Result<Ctx, ServerFnError> {
        let state = crate::server::state()?;
        let viewer = crate::server::viewer().await?;
        let ip = use_context::<http::request::Parts>()
            .as_ref()
            .and_then(crate::server::client_ip);
        Ok(Ctx {
            pool: state.pool,
            viewer,
            ip,
        })
    }

    /// An operation's refusal as the server function's error, with the matching status.
    pub fn op_error(e: OpError) -> ServerFnError {
        let (status, refusal) = match e {
            // Its status depends on what the database said.
            OpError::Db(e) => return crate::server::db_error(e),
            other @ OpError::Forbidden => (http::StatusCode::FORBIDDEN, other),
            other @ OpError::NotFound => (http::StatusCode::NOT_FOUND, other),
        };
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(status);
        }
        ServerFnError::new(refusal.to_string())
    }
}
