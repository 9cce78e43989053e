//! The audit log: every change made through the admin or the API, newest first.

use leptos::prelude::*;
use leptos_meta::Title;

use super::campaigns::urlencoding;
use super::{page_param, query_param, Pager};
use crate::model::{AuditRow, Page};

#[server(endpoint = "audit_page")]
pub async fn audit_page(
    entity: String,
    user: String,
    page: u32,
) -> Result<Page<AuditRow>, ServerFnError> {
    use super::ssr::{context, op_error};
    let super::ssr::Ctx { pool, viewer, .. } = context().await?;
    if !viewer.is_admin() {
        return Err(op_error(crate::server::ops::OpError::Forbidden));
    }
    let (rows, total) = crate::server::audit::page(
        &pool,
        entity.trim(),
        user.trim(),
        page.max(1),
        crate::model::PER_PAGE,
    )
    .await
    .map_err(crate::server::db_error)?;
    Ok(Page {
        rows,
        total,
        page: page.max(1),
        per_page: crate::model::PER_PAGE,
    })
}

#[component]
pub fn Audit() -> impl IntoView {
    let entity = query_param("entity");
    let user = query_param("user");
    let page = page_param();
    let (e2, u2, p2) = (entity.clone(), user.clone(), page.clone());
    let rows = Resource::new(move || (e2(), u2(), p2()), |(e, u, p)| audit_page(e, u, p));
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
            <button type="submit">"Filter"</button>
        </form>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let (entity, user) = (entity(), user());
                Suspend::new(async move {
                    match rows.await {
                        Ok(p) => {
                            let (page, pages, total) = (p.page, p.pages(), p.total);
                            let base = format!("/audit?entity={}&user={}", urlencoding(&entity), urlencoding(&user));
                            view! {
                                <table class="audit">
                                    <thead><tr><th>"When"</th><th>"Who"</th><th>"Did"</th><th>"To"</th><th>"Changes"</th></tr></thead>
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
                                <Pager page pages total base open_ended=true/>
                            }.into_any()
                        }
                        Err(e) => view! { <p class="notice error">{super::error_text(&e)}</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}
