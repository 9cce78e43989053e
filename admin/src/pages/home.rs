//! The start page of admins and supervisors: each visible campaign's day at a glance.

use leptos::prelude::*;
use leptos_meta::Title;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct CampaignDay {
    pub id: i64,
    pub name: String,
    pub active: bool,
    pub dial_method: dialtone_core::vocabulary::DialMethod,
    pub agents: i64,
    pub dials_today: i64,
    pub abandon_rate_30d: f64,
    pub cap_pct: f64,
}

#[server(endpoint = "overview")]
pub async fn overview() -> Result<Vec<CampaignDay>, ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    crate::server::campaigns::overview(&ctx.pool, &ctx.actor())
        .await
        .map_err(op_error)
}

#[component]
pub fn Home() -> impl IntoView {
    let days = Resource::new(|| (), |_| overview());
    let changed = super::query_param("changed");
    view! {
        <Title text="Overview · Dialtone"/>
        <h1>"Overview"</h1>
        {move || (changed() == "1").then(|| view! { <p class="notice ok">"Your password is changed; other sessions were signed out."</p> })}
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match days.await {
                    Ok(days) if days.is_empty() => view! { <p>"No campaigns yet. " <a href="/campaigns">"Create one"</a></p> }.into_any(),
                    Ok(days) => view! {
                        <table>
                            <thead><tr><th>"Campaign"</th><th>"State"</th><th>"Method"</th><th class="num">"Agents"</th><th class="num">"Dials today"</th><th class="num">"Abandons (30 days)"</th></tr></thead>
                            <tbody>
                                {days.into_iter().map(|d| {
                                    let over = d.abandon_rate_30d > d.cap_pct;
                                    view! {
                                        <tr>
                                            <td><a href=format!("/campaigns/{}", d.id)>{d.name}</a></td>
                                            <td>{if d.active { "active" } else { "inactive" }}</td>
                                            <td>{d.dial_method.as_str()}</td>
                                            <td class="num">{d.agents}</td>
                                            <td class="num">{d.dials_today}</td>
                                            <td class="num" class:over=over>{format!("{:.2}% of {:.1}%", d.abandon_rate_30d, d.cap_pct)}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(e) => view! { <p class="notice error">{super::error_text(&e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
