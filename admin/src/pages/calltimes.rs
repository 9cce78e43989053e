//! When calls may be placed: call times (weekly windows in the callee's local time), holidays,
//! and the legal calling rules per country and state, which no campaign can widen.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_meta::Title;

use super::{FieldError, Notice};
use crate::model::{CallTimeRow, HolidayRow, RuleRow, Saved, WEEKDAYS};

#[server(endpoint = "list_calltimes")]
pub async fn list_calltimes(
) -> Result<(Vec<CallTimeRow>, Vec<HolidayRow>, Vec<RuleRow>), ServerFnError> {
    use super::ssr::{context, op_error};
    use crate::server::calltimes;
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    let times = calltimes::call_times(pool, &actor)
        .await
        .map_err(op_error)?;
    let holidays = calltimes::holidays(pool, &actor).await.map_err(op_error)?;
    let rules = calltimes::rules(pool, &actor).await.map_err(op_error)?;
    Ok((times, holidays, rules))
}

#[server(endpoint = "save_call_time")]
pub async fn save_call_time(
    name: String,
    description: String,
    hours: Option<HashMap<String, String>>,
) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::calltimes::save_call_time(
        pool,
        &actor,
        &name,
        &description,
        &hours.unwrap_or_default(),
    )
    .await
    .map_err(op_error)
}

#[server(endpoint = "add_holiday")]
pub async fn add_holiday(
    name: String,
    day: String,
    state: String,
    call_time: String,
) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::calltimes::add_holiday(
        pool,
        &actor,
        &name,
        &day,
        &state,
        call_time.trim().parse().ok(),
    )
    .await
    .map_err(op_error)
}

#[server(endpoint = "remove_holiday")]
pub async fn remove_holiday(id: i64) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::calltimes::remove_holiday(pool, &actor, id)
        .await
        .map_err(op_error)
}

#[server(endpoint = "save_rule")]
pub async fn save_rule(
    country: String,
    state: String,
    opens: String,
    closes: String,
    max_attempts_24h: String,
    citation: String,
) -> Result<Saved, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    crate::server::calltimes::save_rule(
        pool,
        &actor,
        &country,
        &state,
        &opens,
        &closes,
        &max_attempts_24h,
        &citation,
    )
    .await
    .map_err(op_error)
}

/// The week's grid of one call time (or an empty one for a new call time).
fn week(action: ServerAction<SaveCallTime>, ct: Option<CallTimeRow>) -> impl IntoView {
    let saved: Signal<Option<Result<Saved, ServerFnError>>> = action.value().into();
    let existing = ct.is_some();
    let ct = ct.unwrap_or(CallTimeRow {
        id: 0,
        name: String::new(),
        description: String::new(),
        windows: Vec::new(),
        campaigns: 0,
    });
    let days: Vec<(i16, String, String)> = (1..=7i16)
        .map(|day| {
            let (open, close) = ct
                .windows
                .iter()
                .find(|w| w.0 == day)
                .map(|w| (w.1.clone(), w.2.clone()))
                .unwrap_or_default();
            (day, open, close)
        })
        .collect();
    view! {
        <ActionForm action=action>
            <div class="row">
                {if existing {
                    view! { <input type="hidden" name="name" value=ct.name.clone()/><strong>{ct.name.clone()}</strong> <small>{format!("used by {} campaigns", ct.campaigns)}</small> }.into_any()
                } else {
                    view! { <label>"Name" <input name="name" maxlength="80" required/> <FieldError result=saved key="name"/></label> }.into_any()
                }}
                <label>"Description" <input name="description" value=ct.description.clone() size="40"/></label>
            </div>
            <table class="week">
                <thead><tr>{WEEKDAYS.iter().map(|d| view! { <th>{*d}</th> }).collect_view()}</tr></thead>
                <tbody><tr>
                    {days.into_iter().map(|(day, open, close)| {
                        view! {
                            <td>
                                <input name=format!("hours[open:{day}]") value=open size="5" placeholder="closed" aria-label=format!("{} opens", WEEKDAYS[day as usize - 1])/>
                                "–"
                                <input name=format!("hours[close:{day}]") value=close size="5" aria-label=format!("{} closes", WEEKDAYS[day as usize - 1])/>
                                <FieldError result=saved key=format!("day:{day}")/>
                            </td>
                        }
                    }).collect_view()}
                </tr></tbody>
            </table>
            <button type="submit">{if existing { "Save hours" } else { "Add call time" }}</button>
        </ActionForm>
    }
}

#[component]
pub fn CallTimes() -> impl IntoView {
    let save = ServerAction::<SaveCallTime>::new();
    let add_holiday = ServerAction::<AddHoliday>::new();
    let remove_holiday = ServerAction::<RemoveHoliday>::new();
    let save_rule = ServerAction::<SaveRule>::new();
    let saved: Signal<Option<Result<Saved, ServerFnError>>> = save.value().into();
    let holiday_added: Signal<Option<Result<Saved, ServerFnError>>> = add_holiday.value().into();
    let holiday_removed: Signal<Option<Result<Saved, ServerFnError>>> =
        remove_holiday.value().into();
    let rule_saved: Signal<Option<Result<Saved, ServerFnError>>> = save_rule.value().into();
    let data = Resource::new(
        move || {
            (
                save.version().get(),
                add_holiday.version().get(),
                remove_holiday.version().get(),
                save_rule.version().get(),
            )
        },
        |_| list_calltimes(),
    );
    view! {
        <Title text="Calling hours · Dialtone"/>
        <h1>"Calling hours"</h1>
        <p>"Times are the callee's local time. The legal rules below narrow every campaign's hours; a campaign cannot widen them."</p>
        <Notice result=saved/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok((times, holidays, rules)) => {
                        let choices: Vec<(i64, String)> = times.iter().map(|t| (t.id, t.name.clone())).collect();
                        view! {
                            <h2>"Call times"</h2>
                            {times.into_iter().map(|t| view! { <section class="card">{week(save, Some(t))}</section> }).collect_view()}
                            <section class="card"><h2>"New call time"</h2>{week(save, None)}</section>
                            <h2>"Holidays"</h2>
                            <Notice result=holiday_removed/>
                            <table>
                                <thead><tr><th>"Day"</th><th>"Name"</th><th>"Where"</th><th>"Call time"</th><th></th></tr></thead>
                                <tbody>
                                    {holidays.into_iter().map(|h| view! {
                                        <tr>
                                            <td>{h.day}</td><td>{h.name}</td>
                                            <td>{format!("{}{}", h.country, h.state.map(|s| format!(" {s}")).unwrap_or_default())}</td>
                                            <td>{h.call_time.unwrap_or_else(|| "every call time".into())}</td>
                                            <td><ActionForm action=remove_holiday><input type="hidden" name="id" value=h.id.to_string()/><button type="submit" class="link">"Remove"</button></ActionForm></td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <section class="card">
                                <h2>"Add a holiday"</h2>
                                <Notice result=holiday_added/>
                                <ActionForm action=add_holiday>
                                    <div class="row">
                                        <label>"Name" <input name="name" required maxlength="80"/> <FieldError result=holiday_added key="name"/></label>
                                        <label>"Day" <input type="date" name="day" required/> <FieldError result=holiday_added key="day"/></label>
                                        <label>"State (empty: whole country)" <input name="state" size="3" maxlength="2"/> <FieldError result=holiday_added key="state"/></label>
                                        <label>"Call time"
                                            <select name="call_time">
                                                <option value="">"every call time"</option>
                                                {choices.into_iter().map(|(id, n)| view! { <option value=id.to_string()>{n}</option> }).collect_view()}
                                            </select>
                                        </label>
                                        <button type="submit">"Add"</button>
                                    </div>
                                </ActionForm>
                            </section>
                            <h2>"Legal calling rules"</h2>
                            <Notice result=rule_saved/>
                            <table>
                                <thead><tr><th>"Where"</th><th>"Window"</th><th>"Closed days"</th><th class="num">"Calls per number in 24 h"</th><th>"Source"</th></tr></thead>
                                <tbody>
                                    {rules.into_iter().map(|r| view! {
                                        <tr>
                                            <td>{format!("{}{}", r.country, r.state.map(|s| format!(" {s}")).unwrap_or_else(|| " (all)".into()))}</td>
                                            <td>{format!("{}–{}", r.opens, r.closes)}{(!r.active).then_some(" (inactive)")}</td>
                                            <td>{r.closed_weekdays.iter().filter_map(|d| WEEKDAYS.get((*d as usize).wrapping_sub(1))).copied().collect::<Vec<_>>().join(", ")}</td>
                                            <td class="num">{r.max_attempts_24h.map(|n| n.to_string()).unwrap_or_else(|| "—".into())}</td>
                                            <td>{r.citation}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <section class="card">
                                <h2>"Set a rule"</h2>
                                <ActionForm action=save_rule>
                                    <div class="row">
                                        <label>"Country" <input name="country" value="US" size="3" maxlength="2"/> <FieldError result=rule_saved key="country"/></label>
                                        <label>"State (empty: whole country)" <input name="state" size="3" maxlength="2"/> <FieldError result=rule_saved key="state"/></label>
                                        <label>"Opens" <input name="opens" placeholder="08:00" size="5"/> <FieldError result=rule_saved key="opens"/></label>
                                        <label>"Closes" <input name="closes" placeholder="21:00" size="5"/> <FieldError result=rule_saved key="closes"/></label>
                                        <label>"Calls per number in 24 h" <input name="max_attempts_24h" size="4"/> <FieldError result=rule_saved key="max_attempts_24h"/></label>
                                        <label>"Source (statute)" <input name="citation" size="24"/></label>
                                        <button type="submit">"Save rule"</button>
                                    </div>
                                </ActionForm>
                            </section>
                        }.into_any()
                    }
                    Err(e) => view! { <p class="notice error">{super::error_text(&e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
