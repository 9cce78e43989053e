//! Inbound groups (queues) with their routes and hours, and the numbers (DIDs) that ring them.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::settings::settings_fields;
use super::{FieldError, Notice};
use crate::model::{DidRow, InboundRow, Saved};
use crate::schema::{SettingsForm, INBOUND_SETTINGS};

#[server(endpoint = "list_inbound")]
pub async fn list_inbound() -> Result<(Vec<InboundRow>, Vec<DidRow>), ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    let groups = crate::server::inbound::inbound_groups(pool, &actor)
        .await
        .map_err(op_error)?;
    let dids = crate::server::inbound::dids(pool, &actor)
        .await
        .map_err(op_error)?;
    Ok((groups, dids))
}

#[server(endpoint = "create_inbound")]
pub async fn create_inbound(name: String) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::inbound::create_inbound_group(pool, &actor, &name)
        .await
        .map_err(op_error)
}

#[server(endpoint = "get_inbound")]
pub async fn get_inbound(id: i64) -> Result<SettingsForm, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::inbound::inbound_group(pool, &actor, id)
        .await
        .map_err(op_error)
}

#[server(endpoint = "save_inbound")]
pub async fn save_inbound(
    id: i64,
    version: String,
    values: HashMap<String, String>,
) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::inbound::save_inbound_group(pool, &actor, id, &version, &values)
        .await
        .map_err(op_error)
}

#[server(endpoint = "set_inbound_active")]
pub async fn set_inbound_active(id: i64, active: bool) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::inbound::set_inbound_active(pool, &actor, id, active)
        .await
        .map_err(op_error)
}

#[server(endpoint = "add_did")]
pub async fn add_did(
    number: String,
    description: String,
    group_id: String,
) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::inbound::add_did(
        pool,
        &actor,
        &number,
        &description,
        group_id.trim().parse().ok(),
    )
    .await
    .map_err(op_error)
}

#[server(endpoint = "remove_did")]
pub async fn remove_did(id: i64) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::inbound::remove_did(pool, &actor, id)
        .await
        .map_err(op_error)
}

#[component]
pub fn Inbound() -> impl IntoView {
    let create = ServerAction::<CreateInbound>::new();
    let add = ServerAction::<AddDid>::new();
    let remove = ServerAction::<RemoveDid>::new();
    let created: Signal<Option<Result<Saved, ServerFnError>>> = create.value().into();
    let added: Signal<Option<Result<Saved, ServerFnError>>> = add.value().into();
    let removed: Signal<Option<Result<Saved, ServerFnError>>> = remove.value().into();
    let data = Resource::new(
        move || {
            (
                create.version().get(),
                add.version().get(),
                remove.version().get(),
            )
        },
        |_| list_inbound(),
    );
    view! {
        <Title text="Inbound · Dialtone"/>
        <h1>"Inbound groups"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok((groups, dids)) => {
                        let choices: Vec<(i64, String)> = groups.iter().map(|g| (g.id, g.name.clone())).collect();
                        view! {
                            <table>
                                <thead><tr><th>"Group"</th><th>"State"</th><th>"Campaign"</th><th>"Numbers"</th><th class="num">"Service level (s)"</th><th class="num">"Longest wait (s)"</th><th class="num">"Agents allowed"</th></tr></thead>
                                <tbody>
                                    {groups.into_iter().map(|g| view! {
                                        <tr>
                                            <td><a href=format!("/inbound/{}", g.id)>{g.name}</a></td>
                                            <td>{if g.active { "open" } else { "closed" }}</td>
                                            <td>{g.campaign.unwrap_or_else(|| "—".into())}</td>
                                            <td>{g.dids.join(", ")}</td>
                                            <td class="num">{g.service_level_secs}</td>
                                            <td class="num">{g.max_wait_secs}</td>
                                            <td class="num">{g.agents}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <h2>"Numbers (DIDs)"</h2>
                            <Notice result=removed/>
                            <table>
                                <thead><tr><th>"Number"</th><th>"Rings"</th><th>"Description"</th><th></th></tr></thead>
                                <tbody>
                                    {dids.into_iter().map(|d| view! {
                                        <tr>
                                            <td>{d.number}</td><td>{d.group_name}</td><td>{d.description}</td>
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
                            <section class="card">
                                <h2>"Add a number"</h2>
                                <Notice result=added/>
                                <ActionForm action=add>
                                    <div class="row">
                                        <label>"Number" <input name="number" required/> <FieldError result=added key="number"/></label>
                                        <label>"Group"
                                            <select name="group_id">
                                                {choices.into_iter().map(|(id, name)| view! { <option value=id.to_string()>{name}</option> }).collect_view()}
                                            </select>
                                            <FieldError result=added key="group_id"/>
                                        </label>
                                        <label>"Description" <input name="description" maxlength="200"/> <FieldError result=added key="description"/></label>
                                        <button type="submit">"Add"</button>
                                    </div>
                                </ActionForm>
                            </section>
                        }.into_any()
                    }
                    Err(e) => view! { <p class="notice error">{super::error_text(&e)}</p> }.into_any(),
                }
            })}
        </Suspense>
        <section class="card">
            <h2>"New group"</h2>
            <Notice result=created/>
            <ActionForm action=create>
                <div class="row">
                    <label>"Name" <input name="name" required maxlength="80"/> <FieldError result=created key="name"/></label>
                    <button type="submit">"Create"</button>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn InboundEdit() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let save = ServerAction::<SaveInbound>::new();
    let toggle = ServerAction::<SetInboundActive>::new();
    let saved: Signal<Option<Result<Saved, ServerFnError>>> = save.value().into();
    let toggled: Signal<Option<Result<Saved, ServerFnError>>> = toggle.value().into();
    let form = Resource::new(
        move || {
            (
                id(),
                toggle.version().get(),
                matches!(save.value().get(), Some(Ok(Saved::Ok { .. }))),
            )
        },
        |(id, _, _)| get_inbound(id),
    );
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match form.await {
                    Ok(g) => {
                        let (gid, active) = (g.id, g.active);
                        view! {
                            <Title text=format!("{} · Dialtone", g.name)/>
                            <h1>{g.name.clone()} " " <span class="badge">{if active { "open" } else { "closed" }}</span></h1>
                            <ActionForm action=toggle>
                                <input type="hidden" name="id" value=gid.to_string()/>
                                <input type="hidden" name="active" value=(!active).to_string()/>
                                <button type="submit">{if active { "Close the group" } else { "Open the group" }}</button>
                            </ActionForm>
                            <Notice result=toggled/>
                            <ActionForm action=save>
                                <input type="hidden" name="id" value=gid.to_string()/>
                                <input type="hidden" name="version" value=g.version.clone()/>
                                {settings_fields(&g, INBOUND_SETTINGS, saved)}
                                <Notice result=saved/>
                                <button type="submit" class="primary">"Save group"</button>
                            </ActionForm>
                        }.into_any()
                    }
                    Err(e) => view! { <h1>"Inbound group"</h1><p class="notice error">{super::error_text(&e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
