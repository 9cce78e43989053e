//! Reports: campaign summary, agent performance, dispositions, inbound service level and call
//! detail, each for a date range (UTC days), each as a table, a chart where one helps, and a
//! CSV file. The filter lives in the address (a GET form), so a report can be bookmarked and
//! its CSV link carries the same query.

mod rows;
mod tables;

pub use rows::*;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::{page_param, query_param};

/// One report. `Ok(Err(message))` is a filter to correct (an unreadable date, a range too long).
#[server(endpoint = "run_report")]
pub async fn run_report(
    report: String,
    from: String,
    to: String,
    campaign: String,
    group: String,
    secs: String,
    page: u32,
) -> Result<Result<Report, String>, ServerFnError> {
    use super::ssr::{context, op_error};
    use crate::server::reports::{self as r, Filter, ReportError};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    // Role first: an agent learns nothing about the filter.
    actor.staff().map_err(op_error)?;
    let Some(kind) = Kind::from_slug(&report) else {
        return Err(op_error(crate::server::actor::OpError::NotFound));
    };
    let args = Args {
        from,
        to,
        campaign,
        group,
        secs,
        page,
    };
    let filter = match Filter::parse(&args, chrono::Utc::now().date_naive()) {
        Ok(f) => f,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let data = match kind {
        Kind::Summary => r::summary(pool, &actor, &filter).await.map(Data::Summary),
        Kind::Agents => r::agents(pool, &actor, &filter).await.map(Data::Agents),
        Kind::Dispositions => r::dispositions(pool, &actor, &filter)
            .await
            .map(Data::Dispositions),
        Kind::ServiceLevel => {
            r::service_level(pool, &actor, &filter)
                .await
                .map(|rows| Data::ServiceLevel {
                    secs: filter.secs,
                    rows,
                })
        }
        Kind::Calls => r::calls(pool, &actor, &filter).await.map(Data::Calls),
    };
    match data {
        Ok(data) => Ok(Ok(Report {
            args: filter.args(),
            data,
        })),
        Err(ReportError::Filter(e)) => Ok(Err(e.to_string())),
        Err(ReportError::Op(e)) => Err(op_error(e)),
        Err(refused) => {
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(http::StatusCode::FORBIDDEN);
            }
            Err(ServerFnError::new(refused.to_string()))
        }
    }
}

/// The campaigns and inbound groups the viewer may report on: (id, name) each.
#[server(endpoint = "report_choices")]
pub async fn report_choices() -> Result<(Vec<(i64, String)>, Vec<(i64, String)>), ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    let (pool, actor) = (&ctx.pool, ctx.actor());
    let campaigns = crate::server::campaigns::campaign_choices(pool, &actor)
        .await
        .map_err(op_error)?;
    let groups = crate::server::reports::group_choices(pool, &actor)
        .await
        .map_err(op_error)?;
    Ok((campaigns, groups))
}

/// `/reports` and `/reports/{report}`: the tabs, the filter form and the chosen report.
#[component]
pub fn Reports() -> impl IntoView {
    let params = use_params_map();
    let slug = move || {
        params
            .read()
            .get("name")
            .unwrap_or_else(|| Kind::Summary.slug().to_string())
    };
    let raw = {
        let (from, to, campaign, group, secs, page) = (
            query_param("from"),
            query_param("to"),
            query_param("campaign"),
            query_param("group"),
            query_param("secs"),
            page_param(),
        );
        move || Args {
            from: from(),
            to: to(),
            campaign: campaign(),
            group: group(),
            secs: secs(),
            page: page(),
        }
    };
    let raw2 = raw.clone();
    let report = Resource::new(
        move || (slug(), raw2()),
        |(slug, a)| run_report(slug, a.from, a.to, a.campaign, a.group, a.secs, a.page),
    );
    let choices = Resource::new(|| (), |_| report_choices());
    move || {
        let Some(kind) = Kind::from_slug(&slug()) else {
            return view! { <super::NotFound/> }.into_any();
        };
        let raw = raw.clone();
        let query = raw().query();
        view! {
            <Title text=format!("{} · Reports · Dialtone", kind.title())/>
            <h1>"Reports"</h1>
            <nav class="tabs">
                {Kind::ALL.map(|k| view! {
                    <a href=format!("/reports/{}?{query}", k.slug()) aria-current=(k == kind).then_some("page")>{k.title()}</a>
                })}
            </nav>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || {
                    let raw = raw();
                    Suspend::new(async move {
                        let (campaigns, groups) = choices.await.unwrap_or_default();
                        match report.await {
                            Ok(Ok(r)) => {
                                let csv = format!("/reports/{}.csv?{}", kind.slug(), r.args.query());
                                view! {
                                    {filters(kind, &r.args, campaigns, groups)}
                                    <p class="actions"><a href=csv download rel="external">"Download CSV"</a></p>
                                    {tables::render(r.data, &r.args)}
                                }
                                .into_any()
                            }
                            Ok(Err(message)) => view! {
                                {filters(kind, &raw, campaigns, groups)}
                                <p class="notice error" role="alert">{message}</p>
                            }
                            .into_any(),
                            Err(e) => view! {
                                {filters(kind, &raw, campaigns, groups)}
                                <p class="notice error" role="alert">{super::error_text(&e)}</p>
                            }
                            .into_any(),
                        }
                    })
                }}
            </Suspense>
        }
        .into_any()
    }
}

/// The GET form of a report: the range, and the campaign, group or threshold it reads.
fn filters(
    kind: Kind,
    args: &Args,
    campaigns: Vec<(i64, String)>,
    groups: Vec<(i64, String)>,
) -> impl IntoView {
    let (by_campaign, by_group, by_secs) = kind.filters();
    let options = |choices: Vec<(i64, String)>, current: String| {
        choices
            .into_iter()
            .map(|(id, name)| {
                let id = id.to_string();
                let selected = id == current;
                view! { <option value=id selected=selected>{name}</option> }
            })
            .collect_view()
    };
    view! {
        <form method="get" action=format!("/reports/{}", kind.slug()) class="filters">
            <label>"From " <input type="date" name="from" value=args.from.clone()/></label>
            <label>"to " <input type="date" name="to" value=args.to.clone()/></label>
            {by_campaign.then(|| view! {
                <select name="campaign" aria-label="campaign">
                    <option value="">"every campaign"</option>
                    {options(campaigns, args.campaign.clone())}
                </select>
            })}
            {by_group.then(|| view! {
                <select name="group" aria-label="inbound group">
                    <option value="">{if by_campaign { "every inbound group" } else { "every group" }}</option>
                    {options(groups, args.group.clone())}
                </select>
            })}
            {by_secs.then(|| view! {
                <label>"answered within " <input type="number" name="secs" min="1" max="3600" value=args.secs.clone() size="4"/> " s"</label>
            })}
            <button type="submit">"Show"</button>
            {(by_campaign && by_group).then(|| view! { <small>"A campaign, a group, or both: the calls of those chosen."</small> })}
        </form>
    }
}
