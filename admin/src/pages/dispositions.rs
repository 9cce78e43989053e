//! Dispositions (statuses) and pause codes, and which of them a campaign offers its agents.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_meta::Title;

use super::{FieldError, Notice};
use dialtone_core::vocabulary::{STATUS_CATEGORIES, STATUS_FLAGS};

use crate::model::{CampaignCodes, PauseRow, Saved, StatusRow};

#[server(endpoint = "list_codes")]
pub async fn list_codes() -> Result<(Vec<StatusRow>, Vec<PauseRow>), ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    let statuses = crate::server::dispositions::statuses(pool, &actor)
        .await
        .map_err(op_error)?;
    let pauses = crate::server::dispositions::pause_codes(pool, &actor)
        .await
        .map_err(op_error)?;
    Ok((statuses, pauses))
}

/// `flags` holds `flag -> "on"` for each ticked box.
#[server(endpoint = "save_status")]
pub async fn save_status(
    code: String,
    name: String,
    category: String,
    flags: Option<HashMap<String, String>>,
) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    let set: Vec<String> = flags.unwrap_or_default().into_keys().collect();
    crate::server::dispositions::save_status(pool, &actor, &code, &name, &category, &set)
        .await
        .map_err(op_error)
}

#[server(endpoint = "save_pause_code")]
pub async fn save_pause_code(
    code: String,
    name: String,
    billable: Option<String>,
) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::dispositions::save_pause_code(pool, &actor, &code, &name, billable.is_some())
        .await
        .map_err(op_error)
}

#[server(endpoint = "get_campaign_codes")]
pub async fn get_campaign_codes(campaign: i64) -> Result<CampaignCodes, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::dispositions::campaign_codes(pool, &actor, campaign)
        .await
        .map_err(op_error)
}

#[server(endpoint = "set_campaign_codes")]
pub async fn set_campaign_codes(
    campaign: i64,
    offer: Option<HashMap<String, String>>,
) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::dispositions::set_campaign_codes(
        pool,
        &actor,
        campaign,
        &offer.unwrap_or_default(),
    )
    .await
    .map_err(op_error)
}

fn status_form(action: ServerAction<SaveStatus>, status: Option<StatusRow>) -> impl IntoView {
    let saved: Signal<Option<Result<Saved, ServerFnError>>> = action.value().into();
    let s = status.unwrap_or(StatusRow {
        code: String::new(),
        name: String::new(),
        category: "contact".into(),
        system: false,
        flags: vec!["selectable".into(), "human_answered".into()],
    });
    let existing = !s.code.is_empty();
    let category = s.category.clone();
    view! {
        <ActionForm action=action>
            <div class="row">
                {if existing {
                    view! { <input type="hidden" name="code" value=s.code.clone()/><strong>{s.code.clone()}</strong> }.into_any()
                } else {
                    view! { <label>"Code" <input name="code" size="8" maxlength="12" required/> <FieldError result=saved key="code"/></label> }.into_any()
                }}
                <label>"Name" <input name="name" value=s.name.clone() maxlength="60" required/> <FieldError result=saved key="name"/></label>
                <label>"Category"
                    <select name="category">
                        {STATUS_CATEGORIES.iter().map(|c| view! { <option value=*c selected=*c == category>{*c}</option> }).collect_view()}
                    </select>
                </label>
                <div class="access">
                    {STATUS_FLAGS.iter().map(|(flag, meaning)| view! {
                        <label title=*meaning><input type="checkbox" name=format!("flags[{flag}]") value="on" checked=s.flags.iter().any(|f| f == flag)/> {flag.replace('_', " ")}</label>
                    }).collect_view()}
                </div>
                <button type="submit">{if existing { "Save" } else { "Add status" }}</button>
            </div>
        </ActionForm>
    }
}

#[component]
pub fn Codes() -> impl IntoView {
    let save_status = ServerAction::<SaveStatus>::new();
    let save_pause = ServerAction::<SavePauseCode>::new();
    let status_saved: Signal<Option<Result<Saved, ServerFnError>>> = save_status.value().into();
    let pause_saved: Signal<Option<Result<Saved, ServerFnError>>> = save_pause.value().into();
    let data = Resource::new(
        move || (save_status.version().get(), save_pause.version().get()),
        |_| list_codes(),
    );
    view! {
        <Title text="Dispositions · Dialtone"/>
        <h1>"Dispositions and pause codes"</h1>
        <p>"The dialer's own statuses are shown for reference and cannot be changed. Each campaign chooses which dispositions and pause codes its agents see, on its page."</p>
        <Notice result=status_saved/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok((statuses, pauses)) => view! {
                        <h2>"Dispositions"</h2>
                        <table>
                            <thead><tr><th>"Status"</th></tr></thead>
                            <tbody>
                                {statuses.into_iter().map(|s| {
                                    if s.system {
                                        view! { <tr><td><strong>{s.code}</strong> " " {s.name} " · " <small>{format!("{} · set by the dialer · {}", s.category, s.flags.join(", "))}</small></td></tr> }.into_any()
                                    } else {
                                        view! { <tr><td>{status_form(save_status, Some(s))}</td></tr> }.into_any()
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <section class="card"><h2>"New disposition"</h2>{status_form(save_status, None)}</section>
                        <h2>"Pause codes"</h2>
                        <Notice result=pause_saved/>
                        <table>
                            <thead><tr><th>"Code"</th><th>"Name and billing"</th></tr></thead>
                            <tbody>
                                {pauses.into_iter().map(|p| {
                                    if p.system {
                                        view! { <tr><td>{p.code}</td><td>{p.name} " · set by the system"</td></tr> }.into_any()
                                    } else {
                                        view! {
                                            <tr><td>{p.code.clone()}</td><td>
                                                <ActionForm action=save_pause>
                                                    <input type="hidden" name="code" value=p.code.clone()/>
                                                    <input name="name" value=p.name.clone() maxlength="60" required/>
                                                    <label><input type="checkbox" name="billable" value="on" checked=p.billable/> " billable"</label>
                                                    <button type="submit">"Save"</button>
                                                </ActionForm>
                                            </td></tr>
                                        }.into_any()
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <section class="card">
                            <h2>"New pause code"</h2>
                            <ActionForm action=save_pause>
                                <div class="row">
                                    <label>"Code" <input name="code" size="8" maxlength="12" required/> <FieldError result=pause_saved key="code"/></label>
                                    <label>"Name" <input name="name" maxlength="60" required/> <FieldError result=pause_saved key="name"/></label>
                                    <label><input type="checkbox" name="billable" value="on"/> " billable"</label>
                                    <button type="submit">"Add pause code"</button>
                                </div>
                            </ActionForm>
                        </section>
                    }.into_any(),
                    Err(e) => view! { <p class="notice error">{super::error_text(&e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The campaign page's section: dispositions (with hotkeys) and pause codes its agents see.
#[component]
pub fn CampaignCodesForm(campaign: i64) -> impl IntoView {
    let save = ServerAction::<SetCampaignCodes>::new();
    let saved: Signal<Option<Result<Saved, ServerFnError>>> = save.value().into();
    let codes = Resource::new(
        move || save.version().get(),
        move |_| get_campaign_codes(campaign),
    );
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                codes.await.ok().map(|c| view! {
                    <section class="card">
                        <h2>"Dispositions and pause codes in use"</h2>
                        <ActionForm action=save>
                            <input type="hidden" name="campaign" value=campaign.to_string()/>
                            <div class="access">
                                {c.dispositions.into_iter().map(|(code, name, on, hotkey)| view! {
                                    <label title=name.clone()>
                                        <input type="checkbox" name=format!("offer[disposition:{code}]") value="on" checked=on/>
                                        {format!(" {code} ")}
                                        <input name=format!("offer[hotkey:{code}]") value=hotkey.map(|h| h.to_string()).unwrap_or_default() size="1" maxlength="1" placeholder="key" aria-label=format!("hotkey for {code}")/>
                                    </label>
                                }).collect_view()}
                            </div>
                            <FieldError result=saved key="dispositions"/>
                            <FieldError result=saved key="hotkeys"/>
                            <div class="access">
                                {c.pause_codes.into_iter().map(|(code, name, on)| view! {
                                    <label title=name><input type="checkbox" name=format!("offer[pause:{code}]") value="on" checked=on/> {format!(" pause {code}")}</label>
                                }).collect_view()}
                            </div>
                            <Notice result=saved/>
                            <button type="submit">"Save dispositions and pause codes"</button>
                        </ActionForm>
                    </section>
                })
            })}
        </Suspense>
    }
}
