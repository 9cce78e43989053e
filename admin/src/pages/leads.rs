//! Lead search, a lead's page (edit, call history, recordings), and the recordings search.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::campaigns::{sort_href, urlencoding};
use super::lists::campaign_choices;
use super::{page_param, query_param, FieldError, Notice, Pager};
use crate::model::{LeadDetail, LeadRow, Page, RecordingRow, Saved};

/// `Err` carries a message about the query itself (say, a name without a list).
#[server(endpoint = "search_leads")]
pub async fn search_leads(
    q: String,
    list: String,
    sort: Option<String>,
    page: u32,
) -> Result<Result<Page<LeadRow>, String>, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    let sort = sort.unwrap_or_default();
    crate::server::leads::search(pool, &actor, &q, list.trim().parse().ok(), &sort, page)
        .await
        .map_err(op_error)
}

#[server(endpoint = "get_lead")]
pub async fn get_lead(id: i64) -> Result<LeadDetail, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::leads::detail(pool, &actor, id)
        .await
        .map_err(op_error)
}

#[server(endpoint = "save_lead")]
pub async fn save_lead(
    id: i64,
    version: String,
    status: String,
    fields: Option<HashMap<String, String>>,
    custom_key: Option<Vec<String>>,
    custom_value: Option<Vec<String>>,
) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::leads::save(
        pool,
        &actor,
        id,
        &version,
        &fields.unwrap_or_default(),
        &super::custom_pairs(custom_key, custom_value)
            .into_iter()
            .collect(),
        &status,
    )
    .await
    .map_err(op_error)
}

#[server(endpoint = "search_recordings")]
pub async fn search_recordings(
    day: String,
    campaign: String,
    agent: String,
    phone: String,
    sort: Option<String>,
    page: u32,
) -> Result<Page<RecordingRow>, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::leads::recordings(
        pool,
        &actor,
        &day,
        campaign.trim().parse().ok(),
        &agent,
        &phone,
        sort.as_deref().unwrap_or(""),
        page,
    )
    .await
    .map_err(op_error)
}

#[component]
pub fn Leads() -> impl IntoView {
    let q = query_param("q");
    let list = query_param("list");
    let sort = query_param("sort");
    let page = page_param();
    let (q2, l2, s2, p2) = (q.clone(), list.clone(), sort.clone(), page.clone());
    let found = Resource::new(
        move || (q2(), l2(), s2(), p2()),
        |(q, l, s, p)| search_leads(q, l, Some(s), p),
    );
    view! {
        <Title text="Leads · Dialtone"/>
        <h1>"Leads"</h1>
        <form method="get" action="/leads" class="filters">
            <input type="search" name="q" placeholder="Phone number, #lead id, or last name (first last)" value=q.clone() size="32"/>
            <input name="list" placeholder="list id (for names)" value=list.clone() size="12" inputmode="numeric"/>
            <input type="hidden" name="sort" value=sort.clone()/>
            <button type="submit">"Search"</button>
        </form>
        <Suspense fallback=|| view! { <p>"Searching…"</p> }>
            {move || {
                let (q, list, sort) = (q(), list(), sort());
                Suspend::new(async move {
                    match found.await {
                        Ok(Err(message)) => view! { <p class="notice">{message}</p> }.into_any(),
                        Ok(Ok(p)) if p.rows.is_empty() => view! { <p>"No lead matches."</p> }.into_any(),
                        Ok(Ok(p)) => {
                            let (page, pages, total) = (p.page, p.pages(), p.total);
                            let filtered = format!("/leads?q={}&list={}", urlencoding(&q), urlencoding(&list));
                            let base = format!("{filtered}&sort={}", urlencoding(&sort));
                            let head = |key: &str| sort_href(&filtered, &sort, key);
                            view! {
                                <table>
                                    <thead><tr>
                                        <th><a href=head("id")>"Lead"</a></th>
                                        <th><a href=head("phone")>"Number"</a></th>
                                        <th><a href=head("name")>"Name"</a></th>
                                        <th><a href=head("list")>"List"</a></th>
                                        <th><a href=head("status")>"Status"</a></th>
                                        <th><a href=head("zone")>"Time zone"</a></th>
                                        <th class="num"><a href=head("attempts")>"Attempts"</a></th>
                                    </tr></thead>
                                    <tbody>
                                        {p.rows.into_iter().map(|l| view! {
                                            <tr>
                                                <td><a href=format!("/leads/{}", l.id)>{format!("#{}", l.id)}</a></td>
                                                <td>{l.phone}</td>
                                                <td>{l.name}</td>
                                                <td><a href=format!("/lists/{}", l.list_id)>{l.list_name}</a></td>
                                                <td>{l.status}</td>
                                                <td>{l.time_zone}</td>
                                                <td class="num">{l.attempts}</td>
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

/// `sorted` has the search's address without its order, and the current order, when the
/// headers sort (the recordings search); a lead's own recordings are not sorted.
fn recordings_table(rows: Vec<RecordingRow>, sorted: Option<(String, String)>) -> impl IntoView {
    let head = move |key: &'static str, label: &'static str| match &sorted {
        Some((base, current)) => {
            view! { <a href=sort_href(base, current, key)>{label}</a> }.into_any()
        }
        None => label.into_any(),
    };
    view! {
        <table>
            <thead><tr>
                <th>{head("started", "Started (UTC)")}</th>
                <th>{head("campaign", "Campaign")}</th>
                <th>{head("agent", "Agent")}</th>
                <th>{head("number", "Number")}</th>
                <th class="num">{head("seconds", "Seconds")}</th>
                <th>"Listen"</th>
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|r| {
                    let file = format!("/recordings/{}/file", r.id);
                    view! {
                        <tr>
                            <td>{r.started_at}</td>
                            <td>{r.campaign.unwrap_or_default()}</td>
                            <td>{r.agent.unwrap_or_default()}</td>
                            <td>{match r.lead_id {
                                Some(id) => view! { <a href=format!("/leads/{id}")>{r.phone.unwrap_or_default()}</a> }.into_any(),
                                None => r.phone.unwrap_or_default().into_any(),
                            }}</td>
                            <td class="num">{r.duration_secs.map(|d| format!("{d:.0}")).unwrap_or_default()}</td>
                            <td><audio controls preload="none" src=file.clone()></audio> " " <a href=file download>"Download"</a></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn LeadPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let save = ServerAction::<SaveLead>::new();
    let saved: Signal<Option<Result<Saved, ServerFnError>>> = save.value().into();
    let lead = Resource::new(
        move || {
            (
                id(),
                matches!(save.value().get(), Some(Ok(Saved::Ok { .. }))),
            )
        },
        |(id, _)| get_lead(id),
    );
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match lead.await {
                    Ok(l) => {
                        let status = l.status.clone();
                        view! {
                            <Title text=format!("Lead #{} · Dialtone", l.id)/>
                            <h1>{format!("Lead #{} · {}", l.id, l.phone)}</h1>
                            <p>
                                "List " <a href=format!("/lists/{}", l.list_id)>{l.list_name.clone()}</a>
                                {format!(" · time zone {} · state {} · {} attempts", l.time_zone, if l.state.is_empty() { "—" } else { &l.state }, l.attempts)}
                                {(!l.alt_phone.is_empty()).then(|| format!(" · other number {}", l.alt_phone))}
                                {(!l.next_attempt_at.is_empty()).then(|| format!(" · next attempt {}", l.next_attempt_at))}
                            </p>
                            <ActionForm action=save>
                                <input type="hidden" name="id" value=l.id.to_string()/>
                                <input type="hidden" name="version" value=l.version.clone()/>
                                <fieldset>
                                    <legend>"Lead"</legend>
                                    <label class="setting"><span class="label">"Status"</span>
                                        <select name="status">
                                            {l.statuses.iter().map(|(code, name)| view! { <option value=code.clone() selected=*code == status>{format!("{code} · {name}")}</option> }).collect_view()}
                                        </select>
                                        <FieldError result=saved key="status"/>
                                    </label>
                                    {l.fields.iter().map(|(key, label, value)| view! {
                                        <label class="setting"><span class="label">{label.clone()}</span>
                                            <input name=format!("fields[{key}]") value=value.clone()/>
                                            <FieldError result=saved key=key.clone()/>
                                        </label>
                                    }).collect_view()}
                                </fieldset>
                                {(!l.custom.is_empty()).then(|| view! {
                                    <fieldset>
                                        <legend>"Custom fields"</legend>
                                        {l.custom.iter().enumerate().map(|(i, (key, value))| {
                                            let (key_input, value_input) = super::custom_inputs(i);
                                            view! {
                                                <input type="hidden" name=key_input value=key.clone()/>
                                                <label class="setting"><span class="label">{key.clone()}</span><input name=value_input value=value.clone()/></label>
                                            }
                                        }).collect_view()}
                                        <FieldError result=saved key="custom"/>
                                    </fieldset>
                                })}
                                <Notice result=saved/>
                                <button type="submit" class="primary">"Save lead"</button>
                            </ActionForm>
                            <h2>"Calls"</h2>
                            {if l.calls.is_empty() {
                                view! { <p>"Not called yet."</p> }.into_any()
                            } else {
                                view! {
                                    <table>
                                        <thead><tr><th>"When (UTC)"</th><th>"Campaign"</th><th>"Direction"</th><th>"Outcome"</th><th>"Disposition"</th><th>"Agent"</th><th class="num">"Talk (s)"</th></tr></thead>
                                        <tbody>
                                            {l.calls.into_iter().map(|c| view! {
                                                <tr>
                                                    <td>{c.at}</td><td>{c.campaign.unwrap_or_default()}</td><td>{c.direction}</td>
                                                    <td>{c.outcome.unwrap_or_default()}</td><td>{c.disposition.unwrap_or_default()}</td>
                                                    <td>{c.agent.unwrap_or_default()}</td>
                                                    <td class="num">{c.talk_secs.map(|t| format!("{t:.0}")).unwrap_or_default()}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any()
                            }}
                            <h2>"Recordings"</h2>
                            {if l.recordings.is_empty() { view! { <p>"None."</p> }.into_any() } else { recordings_table(l.recordings, None).into_any() }}
                        }.into_any()
                    }
                    Err(e) => view! { <h1>"Lead"</h1><p class="notice error">{super::error_text(&e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn Recordings() -> impl IntoView {
    let day = query_param("day");
    let campaign = query_param("campaign");
    let agent = query_param("agent");
    let phone = query_param("phone");
    let sort = query_param("sort");
    let page = page_param();
    let (d2, c2, a2, ph2, s2, p2) = (
        day.clone(),
        campaign.clone(),
        agent.clone(),
        phone.clone(),
        sort.clone(),
        page.clone(),
    );
    let rows = Resource::new(
        move || (d2(), c2(), a2(), ph2(), s2(), p2()),
        |(d, c, a, ph, s, p)| search_recordings(d, c, a, ph, Some(s), p),
    );
    let choices = Resource::new(|| (), |_| campaign_choices());
    let chosen = campaign.clone();
    view! {
        <Title text="Recordings · Dialtone"/>
        <h1>"Recordings"</h1>
        <form method="get" action="/recordings" class="filters">
            <input type="date" name="day" value=day.clone() aria-label="day (UTC)"/>
            <select name="campaign" aria-label="campaign">
                <option value="">"every campaign"</option>
                <Suspense fallback=|| ()>
                    {move || { let current = chosen(); Suspend::new(async move {
                        choices.await.unwrap_or_default().into_iter().map(|(id, name)| view! { <option value=id.to_string() selected=id.to_string() == current>{name}</option> }).collect_view()
                    })}}
                </Suspense>
            </select>
            <input name="agent" placeholder="agent username" value=agent.clone()/>
            <input name="phone" placeholder="number" value=phone.clone()/>
            <input type="hidden" name="sort" value=sort.clone()/>
            <button type="submit">"Search"</button>
        </form>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let filtered = format!("/recordings?day={}&campaign={}&agent={}&phone={}", urlencoding(&day()), urlencoding(&campaign()), urlencoding(&agent()), urlencoding(&phone()));
                let sort = sort();
                let base = format!("{filtered}&sort={}", urlencoding(&sort));
                Suspend::new(async move {
                    match rows.await {
                        Ok(p) if p.rows.is_empty() => view! { <p>"No recordings that day (UTC) with these filters."</p> }.into_any(),
                        Ok(p) => {
                            let (page, pages, total) = (p.page, p.pages(), p.total);
                            view! { {recordings_table(p.rows, Some((filtered, sort)))} <Pager page pages total base/> }.into_any()
                        }
                        Err(e) => view! { <p class="notice error">{super::error_text(&e)}</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}
