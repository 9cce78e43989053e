//! Lead lists: the table, creating one, and a list's page (counts by status, its imports,
//! uploading a CSV, moving, resetting, deleting).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::campaigns::{sort_link, urlencoding};
use super::{page_param, query_param, FieldError, Notice, Pager};
use crate::model::{ImportRow, ListRow, Page, Saved};

#[server(endpoint = "list_lists")]
pub async fn list_lists(
    q: String,
    sort: Option<String>,
    page: u32,
) -> Result<Page<ListRow>, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::lists::lists(pool, &actor, &q, sort.as_deref().unwrap_or(""), page)
        .await
        .map_err(op_error)
}

/// Campaigns to assign a list to: (id, name).
#[server(endpoint = "campaign_choices")]
pub async fn campaign_choices() -> Result<Vec<(i64, String)>, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::campaigns::campaign_choices(pool, &actor)
        .await
        .map_err(op_error)
}

/// An empty choice is "no campaign".
#[cfg(feature = "ssr")]
fn campaign_arg(raw: &str) -> Option<i64> {
    raw.trim().parse().ok()
}

#[server(endpoint = "create_list")]
pub async fn create_list(
    name: String,
    campaign_id: String,
    country: String,
) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::lists::create_list(pool, &actor, &name, campaign_arg(&campaign_id), &country)
        .await
        .map_err(op_error)
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ListDetailData {
    pub id: i64,
    pub name: String,
    pub campaign_id: Option<i64>,
    pub active: bool,
    pub default_country: String,
    pub leads: i64,
    /// Counted on demand (`?counts=1`).
    pub dialable: Option<i64>,
    pub by_status: Option<Vec<(String, i64)>>,
    pub imports: Vec<ImportRow>,
    pub campaigns: Vec<(i64, String)>,
}

#[server(endpoint = "get_list")]
/// `counts`: also count the leads by status, which reads every lead of the list (on demand).
pub async fn get_list(id: i64, counts: bool) -> Result<ListDetailData, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    crate::server::lists::list_detail(&ctx.pool, &ctx.actor(), id, counts)
        .await
        .map_err(op_error)
}

#[server(endpoint = "update_list")]
pub async fn update_list(
    id: i64,
    campaign_id: String,
    active: Option<String>,
) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::lists::update_list(
        pool,
        &actor,
        id,
        campaign_arg(&campaign_id),
        active.is_some(),
    )
    .await
    .map_err(op_error)
}

#[server(endpoint = "reset_list")]
pub async fn reset_list(id: i64) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::lists::reset_list(pool, &actor, id)
        .await
        .map_err(op_error)
}

#[server(endpoint = "delete_list")]
pub async fn delete_list(id: i64) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::lists::delete_list(pool, &actor, id)
        .await
        .map_err(op_error)
}

#[component]
pub fn Lists() -> impl IntoView {
    let q = query_param("q");
    let sort = query_param("sort");
    let page = page_param();
    let create = ServerAction::<CreateList>::new();
    let created: Signal<Option<Result<Saved, ServerFnError>>> = create.value().into();
    let (q2, sort2, page2) = (q.clone(), sort.clone(), page.clone());
    let rows = Resource::new(
        move || (q2(), sort2(), page2(), create.version().get()),
        |(q, sort, page, _)| list_lists(q, Some(sort), page),
    );
    let choices = Resource::new(|| (), |_| campaign_choices());
    view! {
        <Title text="Lists · Dialtone"/>
        <h1>"Lead lists"</h1>
        <form method="get" action="/lists" class="filters">
            <input type="search" name="q" placeholder="Name contains…" value=q.clone()/>
            <input type="hidden" name="sort" value=sort.clone()/>
            <button type="submit">"Filter"</button>
        </form>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let (q, sort) = (q(), sort());
                Suspend::new(async move {
                    match rows.await {
                        Ok(p) => {
                            let (page, pages, total) = (p.page, p.pages(), p.total);
                            let base = format!("/lists?q={}&sort={}", urlencoding(&q), urlencoding(&sort));
                            let link = |key: &str| sort_link("/lists", &sort, key, &q);
                            view! {
                                <table>
                                    <thead><tr>
                                        <th><a href=link("name")>"List"</a></th>
                                        <th><a href=link("campaign")>"Campaign"</a></th>
                                        <th><a href=link("active")>"State"</a></th>
                                        <th>"Country"</th>
                                        <th class="num"><a href=link("leads")>"Leads"</a></th>
                                    </tr></thead>
                                    <tbody>
                                        {p.rows.into_iter().map(|l| view! {
                                            <tr>
                                                <td><a href=format!("/lists/{}", l.id)>{l.name}</a></td>
                                                <td>{l.campaign.unwrap_or_else(|| "—".into())}</td>
                                                <td>{if l.active { "active" } else { "inactive" }}</td>
                                                <td>{l.default_country}</td>
                                                <td class="num">{l.leads}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                <Pager page pages total base/>
                            }.into_any()
                        }
                        Err(e) => view! { <p class="notice error">{super::error_text(&e)}</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
        <section class="card">
            <h2>"New list"</h2>
            <Notice result=created/>
            <ActionForm action=create>
                <div class="row">
                    <label>"Name" <input name="name" required maxlength="80"/> <FieldError result=created key="name"/></label>
                    <label>"Campaign"
                        <select name="campaign_id">
                            <option value="">"(none)"</option>
                            <Suspense fallback=|| ()>
                                {move || Suspend::new(async move {
                                    choices.await.unwrap_or_default().into_iter().map(|(id, name)| view! { <option value=id.to_string()>{name}</option> }).collect_view()
                                })}
                            </Suspense>
                        </select>
                        <FieldError result=created key="campaign_id"/>
                    </label>
                    <label>"Country of numbers without a code" <input name="country" value="US" size="3" maxlength="2"/> <FieldError result=created key="country"/></label>
                    <button type="submit">"Create"</button>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn ListDetail() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let upload_error = query_param("upload_error");
    let update = ServerAction::<UpdateList>::new();
    let reset = ServerAction::<ResetList>::new();
    let delete = ServerAction::<DeleteList>::new();
    let updated: Signal<Option<Result<Saved, ServerFnError>>> = update.value().into();
    let was_reset: Signal<Option<Result<Saved, ServerFnError>>> = reset.value().into();
    let deleted: Signal<Option<Result<Saved, ServerFnError>>> = delete.value().into();
    let want_counts = query_param("counts");
    let list = Resource::new(
        move || {
            (
                id(),
                update.version().get(),
                reset.version().get(),
                want_counts() == "1",
            )
        },
        |(id, _, _, counts)| get_list(id, counts),
    );
    view! {
        {move || {
            let message = upload_error();
            (!message.is_empty()).then(|| view! { <p class="notice error" role="alert">"The file was not imported: " {message}</p> })
        }}
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(l) => {
                        let lid = l.id;
                        let current = l.campaign_id;
                        view! {
                            <Title text=format!("{} · Dialtone", l.name)/>
                            <h1>{l.name.clone()}</h1>
                            <p>{format!("{} leads · numbers without a country code are read as {}", l.leads, l.default_country)}</p>
                            <section class="card">
                                <h2>"Upload leads (CSV)"</h2>
                                <form method="post" action=format!("/lists/{lid}/upload") enctype="multipart/form-data" class="row">
                                    <input type="file" name="file" accept=".csv,text/csv" required/>
                                    <button type="submit">"Upload"</button>
                                </form>
                                <small>"The next step shows the columns to map. The first line must name the columns."</small>
                            </section>
                            <div class="columns">
                                <section>
                                    <h2>"Leads by status"</h2>
                                    {match (l.by_status, l.dialable) {
                                        (Some(by_status), Some(dialable)) => view! {
                                            <p>{format!("{dialable} may be dialed when their time comes.")}</p>
                                            <table>
                                                <thead><tr><th>"Status"</th><th class="num">"Leads"</th></tr></thead>
                                                <tbody>{by_status.into_iter().map(|(s, n)| view! { <tr><td>{s}</td><td class="num">{n}</td></tr> }).collect_view()}</tbody>
                                            </table>
                                        }.into_any(),
                                        _ => view! { <p><a href=format!("/lists/{lid}?counts=1")>"Count the leads by status"</a> " (reads every lead of the list)"</p> }.into_any(),
                                    }}
                                </section>
                                <section>
                                    <h2>"Settings"</h2>
                                    <Notice result=updated/>
                                    <ActionForm action=update>
                                        <input type="hidden" name="id" value=lid.to_string()/>
                                        <label>"Campaign"
                                            <select name="campaign_id">
                                                <option value="" selected=current.is_none()>"(none)"</option>
                                                {l.campaigns.into_iter().map(|(id, name)| view! { <option value=id.to_string() selected=current == Some(id)>{name}</option> }).collect_view()}
                                            </select>
                                        </label>
                                        <label><input type="checkbox" name="active" value="on" checked=l.active/> "Active (its leads are dialed)"</label>
                                        <button type="submit">"Save"</button>
                                    </ActionForm>
                                    <Notice result=was_reset/>
                                    <ActionForm action=reset>
                                        <input type="hidden" name="id" value=lid.to_string()/>
                                        <button type="submit">"Reset: dial unfinished leads again"</button>
                                    </ActionForm>
                                    <Notice result=deleted/>
                                    <ActionForm action=delete>
                                        <input type="hidden" name="id" value=lid.to_string()/>
                                        <button type="submit" class="danger">"Delete the list and its leads"</button>
                                    </ActionForm>
                                </section>
                            </div>
                            <h2>"Imports"</h2>
                            <table>
                                <thead><tr><th>"Started (UTC)"</th><th>"File"</th><th>"State"</th><th class="num">"New"</th><th class="num">"Updated"</th><th class="num">"Duplicates"</th><th class="num">"DNC"</th><th class="num">"Rejected"</th></tr></thead>
                                <tbody>
                                    {l.imports.into_iter().map(|i| view! {
                                        <tr>
                                            <td>{i.started_at}</td>
                                            <td>{i.file_name}</td>
                                            <td title=i.error.unwrap_or_default()>{i.status}</td>
                                            <td class="num">{i.inserted}</td>
                                            <td class="num">{i.updated}</td>
                                            <td class="num">{i.duplicate}</td>
                                            <td class="num">{i.dnc}</td>
                                            <td class="num">{i.rejected}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any()
                    }
                    Err(e) => view! { <h1>"List"</h1><p class="notice error">{super::error_text(&e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
