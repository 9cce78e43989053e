//! The audit log: every change made through the admin or the API, newest first.

use leptos::prelude::*;
use leptos_meta::Title;

use super::campaigns::{sort_href, urlencoding};
use super::{page_param, query_param, Pager};
use crate::model::{AuditRow, Page};

/// `after` and `before` are the key-set cursors of the time order (see `server::audit`).
#[server(endpoint = "audit_page")]
pub async fn audit_page(
    entity: String,
    user: String,
    sort: Option<String>,
    after: Option<i64>,
    before: Option<i64>,
    page: u32,
) -> Result<Page<AuditRow>, ServerFnError> {
    use super::ssr::{context, op_error};
    let super::ssr::Ctx { pool, viewer, .. } = context().await?;
    if !viewer.is_admin() {
        return Err(op_error(crate::server::actor::OpError::Forbidden));
    }
    let query = crate::server::audit::AuditQuery {
        entity: entity.trim().to_string(),
        user: user.trim().to_string(),
        sort: sort.unwrap_or_default(),
        page: page.max(1),
        after,
        before,
    };
    let (rows, total) = crate::server::audit::page(&pool, &query, crate::model::PER_PAGE)
        .await
        .map_err(crate::server::db_error)?;
    Ok(Page {
        rows,
        total,
        page: page.max(1),
        per_page: crate::model::PER_PAGE,
    })
}

/// Whether `sort` keeps the log in time order, which pages by key (cursors on the links).
fn by_time(sort: &str) -> bool {
    matches!(sort, "" | "at" | "-at")
}

#[component]
pub fn Audit() -> impl IntoView {
    let entity = query_param("entity");
    let user = query_param("user");
    let sort = query_param("sort");
    let after = query_param("after");
    let before = query_param("before");
    let page = page_param();
    let (e2, u2, s2, p2) = (entity.clone(), user.clone(), sort.clone(), page.clone());
    let rows = Resource::new(
        move || {
            (
                e2(),
                u2(),
                s2(),
                after().parse().ok(),
                before().parse().ok(),
                p2(),
            )
        },
        |(e, u, s, a, b, p)| audit_page(e, u, Some(s), a, b, p),
    );
    view! {
        <Title text="Audit log · Dialtone"/>
        <h1>"Audit log"</h1>
        <form method="get" action="/audit" class="filters">
            <select name="entity" aria-label="what changed">
                {let entity = entity.clone(); move || {
                    let current = entity();
                    ["", "campaign", "list", "user", "user_password", "api_token", "dnc", "session"]
                        .into_iter()
                        .map(|e| view! { <option value=e selected=e == current>{if e.is_empty() { "everything" } else { e }}</option> })
                        .collect_view()
                }}
            </select>
            <input type="search" name="user" placeholder="by username" value=user.clone()/>
            <input type="hidden" name="sort" value=sort.clone()/>
            <button type="submit">"Filter"</button>
        </form>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let (entity, user, sort) = (entity(), user(), sort());
                Suspend::new(async move {
                    match rows.await {
                        Ok(p) => {
                            let (page, pages, total) = (p.page, p.pages(), p.total);
                            let filtered = format!("/audit?entity={}&user={}", urlencoding(&entity), urlencoding(&user));
                            let base = format!("{filtered}&sort={}", urlencoding(&sort));
                            let head = |key: &str| sort_href(&filtered, &sort, key);
                            // Time order pages by key: the links carry the ids at the page's ends.
                            let (prev_query, next_query) = match (by_time(&sort), p.rows.first(), p.rows.last()) {
                                (true, Some(first), Some(last)) => (format!("&before={}", first.id), format!("&after={}", last.id)),
                                _ => (String::new(), String::new()),
                            };
                            view! {
                                <table class="audit">
                                    <thead><tr>
                                        <th><a href=head("at")>"When"</a></th>
                                        <th><a href=head("user")>"Who"</a></th>
                                        <th><a href=head("action")>"Did"</a></th>
                                        <th><a href=head("entity")>"To"</a></th>
                                        <th>"Changes"</th>
                                    </tr></thead>
                                    <tbody>
                                        {p.rows.into_iter().map(|a| view! {
                                            <tr>
                                                <td>{a.at}</td>
                                                <td>{a.user.unwrap_or_else(|| "—".into())}</td>
                                                <td>{a.action}</td>
                                                <td>{format!("{} {}", a.entity, a.entity_id.unwrap_or_default())}</td>
                                                <td>
                                                    <ul class="changes">
                                                        {a.changes.into_iter().map(|(field, before, after)| view! {
                                                            <li><code>{field}</code> ": " <del>{before}</del> " → " <ins>{after}</ins></li>
                                                        }).collect_view()}
                                                    </ul>
                                                </td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                <Pager page pages total base open_ended=true prev_query next_query/>
                            }.into_any()
                        }
                        Err(e) => view! { <p class="notice error">{super::error_text(&e)}</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}
