//! Campaigns: the table (paged, sorted, filtered on the server), creating, cloning,
//! activating, and the form with every setting. Supervisors change their own campaigns'
//! settings and turn them on or off; only admins create and copy.

use dialtone_core::vocabulary::DialMethod;
use std::collections::HashMap;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

use super::settings::settings_fields;
use super::{page_param, query_param, FieldError, Notice, Pager};
use crate::model::{CampaignRow, Page, Saved};
use crate::schema::{SettingsForm, CAMPAIGN_SETTINGS};

#[server(endpoint = "list_campaigns")]
pub async fn list_campaigns(
    q: String,
    sort: String,
    page: u32,
) -> Result<Page<CampaignRow>, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::campaigns::campaigns(pool, &actor, &q, &sort, page)
        .await
        .map_err(op_error)
}

#[server(endpoint = "get_campaign")]
pub async fn get_campaign(id: i64) -> Result<SettingsForm, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::campaigns::campaign(pool, &actor, id)
        .await
        .map_err(op_error)
}

#[server(endpoint = "save_campaign")]
pub async fn save_campaign(
    id: i64,
    version: String,
    values: HashMap<String, String>,
) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::campaigns::save_campaign(pool, &actor, id, &version, &values)
        .await
        .map_err(op_error)
}

#[server(endpoint = "create_campaign")]
pub async fn create_campaign(name: String, dial_method: String) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::campaigns::create_campaign(pool, &actor, &name, &dial_method)
        .await
        .map_err(op_error)
}

#[server(endpoint = "clone_campaign")]
pub async fn clone_campaign(id: i64, name: String) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::campaigns::clone_campaign(pool, &actor, id, &name)
        .await
        .map_err(op_error)
}

#[server(endpoint = "set_campaign_active")]
pub async fn set_campaign_active(id: i64, active: bool) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::campaigns::set_campaign_active(pool, &actor, id, active)
        .await
        .map_err(op_error)
}

/// Goes to the saved object's page once a create or clone succeeds.
fn open_when_saved(result: Signal<Option<Result<Saved, ServerFnError>>>, path: &'static str) {
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(Saved::Ok { id, .. })) = result.get() {
            navigate(&format!("{path}/{id}"), Default::default());
        }
    });
}

/// Whether the signed-in person is an admin, for the forms only admins may use (the server
/// refuses the others anyway).
fn viewer_is_admin() -> Signal<bool> {
    let me = Resource::new(|| (), |_| crate::app::me());
    Signal::derive(move || {
        me.get()
            .and_then(Result::ok)
            .flatten()
            .is_some_and(|v| v.is_admin())
    })
}

/// A column header's link: sorts by `key`, or reverses it when it already sorts so.
pub(crate) fn sort_link(path: &str, current: &str, key: &str, q: &str) -> String {
    sort_href(&format!("{path}?q={}", urlencoding(q)), current, key)
}

/// The same for a table with other filters: `base` is the path with its query (no sort, no
/// page: a new order starts at the first page).
pub(crate) fn sort_href(base: &str, current: &str, key: &str) -> String {
    let next = if current == key {
        format!("-{key}")
    } else {
        key.to_string()
    };
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}sort={next}")
}

pub(crate) fn urlencoding(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[component]
pub fn Campaigns() -> impl IntoView {
    let q = query_param("q");
    let sort = query_param("sort");
    let page = page_param();
    let create = ServerAction::<CreateCampaign>::new();
    let created: Signal<Option<Result<Saved, ServerFnError>>> = create.value().into();
    open_when_saved(created, "/campaigns");
    let (q2, sort2, page2) = (q.clone(), sort.clone(), page.clone());
    let rows = Resource::new(
        move || (q2(), sort2(), page2()),
        |(q, sort, page)| list_campaigns(q, sort, page),
    );
    let admin = viewer_is_admin();
    view! {
        <Title text="Campaigns · Dialtone"/>
        <h1>"Campaigns"</h1>
        <form method="get" action="/campaigns" class="filters">
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
                            let base = format!("/campaigns?q={}&sort={}", urlencoding(&q), urlencoding(&sort));
                            let (page, pages, total) = (p.page, p.pages(), p.total);
                            view! {
                                <table>
                                    <thead><tr>
                                        <th><a href=sort_link("/campaigns", &sort, "name", &q)>"Name"</a></th>
                                        <th><a href=sort_link("/campaigns", &sort, "active", &q)>"State"</a></th>
                                        <th><a href=sort_link("/campaigns", &sort, "method", &q)>"Dial method"</a></th>
                                        <th class="num">"Lists"</th>
                                        <th class="num">"Agents logged in"</th>
                                        <th><a href=sort_link("/campaigns", &sort, "updated", &q)>"Changed (UTC)"</a></th>
                                    </tr></thead>
                                    <tbody>
                                        {p.rows.into_iter().map(|c| view! {
                                            <tr>
                                                <td><a href=format!("/campaigns/{}", c.id)>{c.name}</a></td>
                                                <td>{if c.active { "active" } else { "inactive" }}</td>
                                                <td>{c.dial_method.as_str()}</td>
                                                <td class="num">{c.lists}</td>
                                                <td class="num">{c.agents_logged_in}</td>
                                                <td>{c.updated_at}</td>
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
        <Suspense fallback=|| ()>
        <Show when=move || admin.get()>
        <section class="card">
            <h2>"New campaign"</h2>
            <Notice result=created/>
            <ActionForm action=create>
                <div class="row">
                    <label>"Name" <input name="name" required maxlength="80"/> <FieldError result=created key="name"/></label>
                    <label>"Dial method"
                        <select name="dial_method">
                            // The dialer's own methods first: a new campaign is progressive unless chosen.
                            {[DialMethod::Progressive, DialMethod::Predictive, DialMethod::Ratio, DialMethod::Preview, DialMethod::Manual]
                                .map(|m| view! { <option value=m.as_str()>{m.as_str()}</option> })
                                .collect_view()}
                        </select>
                        <FieldError result=created key="dial_method"/>
                    </label>
                    <button type="submit">"Create"</button>
                </div>
            </ActionForm>
        </section>
        </Show>
        </Suspense>
    }
}

#[component]
pub fn CampaignEdit() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let save = ServerAction::<SaveCampaign>::new();
    let toggle = ServerAction::<SetCampaignActive>::new();
    let copy = ServerAction::<CloneCampaign>::new();
    let saved: Signal<Option<Result<Saved, ServerFnError>>> = save.value().into();
    let toggled: Signal<Option<Result<Saved, ServerFnError>>> = toggle.value().into();
    let copied: Signal<Option<Result<Saved, ServerFnError>>> = copy.value().into();
    open_when_saved(copied, "/campaigns");
    let admin = viewer_is_admin();
    // Reload after a save or a toggle so the version (and the active flag) are current; a
    // refused save keeps what was typed, since the form is not re-rendered.
    let form = Resource::new(
        move || {
            (
                id(),
                toggle.version().get(),
                matches!(save.value().get(), Some(Ok(Saved::Ok { .. }))),
            )
        },
        |(id, _, _)| get_campaign(id),
    );
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match form.await {
                    Ok(c) => {
                        let title = format!("{} · Dialtone", c.name);
                        let (cid, active) = (c.id, c.active);
                        view! {
                            <Title text=title/>
                            <h1>{c.name.clone()} " " <span class="badge">{if active { "active" } else { "inactive" }}</span></h1>
                            <div class="row">
                                <ActionForm action=toggle>
                                    <input type="hidden" name="id" value=cid.to_string()/>
                                    <input type="hidden" name="active" value=(!active).to_string()/>
                                    <button type="submit">{if active { "Deactivate" } else { "Activate" }}</button>
                                </ActionForm>
                                <Show when=move || admin.get()>
                                    <ActionForm action=copy>
                                        <input type="hidden" name="id" value=cid.to_string()/>
                                        <input name="name" placeholder="Name of the copy" required maxlength="80"/>
                                        <button type="submit">"Copy campaign"</button>
                                        <FieldError result=copied key="name"/>
                                    </ActionForm>
                                </Show>
                            </div>
                            <Notice result=toggled/>
                            <Notice result=copied/>
                            <ActionForm action=save>
                                <input type="hidden" name="id" value=cid.to_string()/>
                                <input type="hidden" name="version" value=c.version.clone()/>
                                {settings_fields(&c, CAMPAIGN_SETTINGS, saved)}
                                <Notice result=saved/>
                                <button type="submit" class="primary">"Save settings"</button>
                            </ActionForm>
                            <super::dispositions::CampaignCodesForm campaign=cid/>
                        }.into_any()
                    }
                    Err(e) => view! { <h1>"Campaign"</h1><p class="notice error">{super::error_text(&e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
