//! Do-not-call lists: search by leading digits, add a number or an area code, remove, and
//! load a file of numbers (one per line, as registries publish them).

use leptos::prelude::*;
use leptos_meta::Title;

use super::campaigns::{sort_href, urlencoding};
use super::lists::campaign_choices;
use super::{page_param, query_param, FieldError, Notice, Pager};
use crate::model::{DncRow, Page, Saved};

#[server(endpoint = "search_dnc")]
pub async fn search_dnc(
    q: String,
    sort: Option<String>,
    page: u32,
) -> Result<Page<DncRow>, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::dnc::dnc_search(pool, &actor, &q, sort.as_deref().unwrap_or(""), page)
        .await
        .map_err(op_error)
}

#[server(endpoint = "add_dnc")]
pub async fn add_dnc(
    number: String,
    country: String,
    campaign_id: String,
    note: String,
) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::dnc::dnc_add(
        pool,
        &actor,
        &number,
        &country,
        campaign_id.trim().parse().ok(),
        &note,
    )
    .await
    .map_err(op_error)
}

#[server(endpoint = "remove_dnc")]
pub async fn remove_dnc(id: i64) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::dnc::dnc_remove(pool, &actor, id)
        .await
        .map_err(op_error)
}

#[component]
pub fn Dnc() -> impl IntoView {
    let q = query_param("q");
    let sort = query_param("sort");
    let page = page_param();
    let loaded = query_param("loaded");
    let add = ServerAction::<AddDnc>::new();
    let remove = ServerAction::<RemoveDnc>::new();
    let added: Signal<Option<Result<Saved, ServerFnError>>> = add.value().into();
    let removed: Signal<Option<Result<Saved, ServerFnError>>> = remove.value().into();
    let (q2, sort2, page2) = (q.clone(), sort.clone(), page.clone());
    let rows = Resource::new(
        move || {
            (
                q2(),
                sort2(),
                page2(),
                add.version().get(),
                remove.version().get(),
            )
        },
        |(q, sort, page, _, _)| search_dnc(q, Some(sort), page),
    );
    let choices = Resource::new(|| (), |_| campaign_choices());
    view! {
        <Title text="Do not call · Dialtone"/>
        <h1>"Do not call"</h1>
        {move || { let l = loaded(); (!l.is_empty()).then(|| view! { <p class="notice ok">{l}</p> }) }}
        <section class="card">
            <h2>"Add"</h2>
            <Notice result=added/>
            <ActionForm action=add>
                <div class="row">
                    <label>"Number, or area:1201" <input name="number" required/> <FieldError result=added key="number"/></label>
                    <label>"Country" <input name="country" value="US" size="3" maxlength="2"/> <FieldError result=added key="country"/></label>
                    <label>"List"
                        <select name="campaign_id">
                            <option value="">"system-wide"</option>
                            <Suspense fallback=|| ()>
                                {move || Suspend::new(async move {
                                    choices.await.unwrap_or_default().into_iter().map(|(id, name)| view! { <option value=id.to_string()>{name}</option> }).collect_view()
                                })}
                            </Suspense>
                        </select>
                    </label>
                    <label>"Note" <input name="note" maxlength="200"/></label>
                    <button type="submit">"Add"</button>
                </div>
            </ActionForm>
            <form method="post" action="/dnc/upload" enctype="multipart/form-data" class="row">
                <label>"A registry file: one US number per line" <input type="file" name="file" accept=".txt,.csv,text/plain,text/csv" required/></label>
                <button type="submit">"Load into the system-wide list"</button>
            </form>
        </section>
        <form method="get" action="/dnc" class="filters">
            <input type="search" name="q" placeholder="Leading digits, e.g. 1201555" value=q.clone()/>
            <input type="hidden" name="sort" value=sort.clone()/>
            <button type="submit">"Search"</button>
        </form>
        <Notice result=removed/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let (q, sort) = (q(), sort());
                Suspend::new(async move {
                    match rows.await {
                        Ok(p) => {
                            let (page, pages, total) = (p.page, p.pages(), p.total);
                            let filtered = format!("/dnc?q={}", urlencoding(&q));
                            let base = format!("{filtered}&sort={}", urlencoding(&sort));
                            let head = |key: &str| sort_href(&filtered, &sort, key);
                            view! {
                                <table>
                                    <thead><tr>
                                        <th><a href=head("value")>"Number or area"</a></th>
                                        <th><a href=head("list")>"List"</a></th>
                                        <th><a href=head("source")>"Source"</a></th>
                                        <th>"Note"</th>
                                        <th><a href=head("added")>"Added (UTC)"</a></th>
                                        <th></th>
                                    </tr></thead>
                                    <tbody>
                                        {p.rows.into_iter().map(|d| view! {
                                            <tr>
                                                <td>{d.value}</td>
                                                <td>{d.scope}</td>
                                                <td>{d.source}</td>
                                                <td>{d.note}</td>
                                                <td>{d.added_at}</td>
                                                <td>
                                                    <ActionForm action=remove>
                                                        <input type="hidden" name="id" value=d.id.to_string()/>
                                                        <button type="submit" class="link">"Remove"</button>
                                                    </ActionForm>
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
