//! Each report's table, and its chart where a picture reads better than the numbers.

use leptos::prelude::*;

use super::{AgentRow, Args, CdrRow, Data, DispositionRow, ServiceRow, Summary};
use crate::model::Page;
use crate::pages::charts::{bars, columns, Line, Series};
use crate::pages::Pager;

/// Seconds as h:mm:ss.
pub fn hms(secs: f64) -> String {
    let s = secs.max(0.0).round() as i64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn count(v: f64) -> String {
    format!("{v:.0}")
}

fn percent(v: f64) -> String {
    format!("{v:.1}%")
}

pub fn render(data: Data, args: &Args) -> AnyView {
    match data {
        Data::Summary(s) => summary(s).into_any(),
        Data::Agents(rows) => agents(rows).into_any(),
        Data::Dispositions(rows) => dispositions(rows).into_any(),
        Data::ServiceLevel { secs, rows } => service_level(secs, rows).into_any(),
        Data::Calls(page) => calls(page, args).into_any(),
    }
}

fn nothing(what: &'static str) -> AnyView {
    view! { <p class="notice">{what}</p> }.into_any()
}

fn summary(s: Summary) -> AnyView {
    if s.days
        .iter()
        .all(|d| d.dials == 0 && d.live_30d + d.abandons_30d == 0)
    {
        return nothing("No dials in this range.");
    }
    let labels = s
        .days
        .iter()
        .map(|d| d.day.get(5..).unwrap_or(&d.day).to_string())
        .collect();
    let part =
        |f: fn(&super::DayRow) -> i64| s.days.iter().map(|d| f(d) as f64).collect::<Vec<_>>();
    let series = vec![
        Series::new("Human", part(|d| d.human)),
        Series::new("Machine", part(|d| d.machine)),
        Series::new("No answer", part(|d| d.no_answer)),
        Series::new("Busy", part(|d| d.busy)),
        Series::new("Congestion", part(|d| d.congestion)),
        Series::new("Abandoned", part(|d| d.abandoned)),
        Series::new("Other", part(|d| d.other)),
    ];
    let rates: Vec<f64> = s.days.iter().map(|d| d.rate_30d()).collect();
    let line = Line {
        name: format!("30-day abandon rate (cap {:.1}%)", s.cap_pct),
        max: rates.iter().copied().fold(0.0, f64::max),
        values: rates,
        limit: Some(("Abandon cap".into(), s.cap_pct)),
        unit: "%",
    };
    let total = |f: fn(&super::DayRow) -> i64| s.days.iter().map(f).sum::<i64>();
    let totals = [
        total(|d| d.dials),
        total(|d| d.human),
        total(|d| d.machine),
        total(|d| d.no_answer),
        total(|d| d.busy),
        total(|d| d.congestion),
        total(|d| d.abandoned),
        total(|d| d.other),
    ];
    let cap = s.cap_pct;
    view! {
        {columns("Dials per day by outcome, with the 30-day abandon rate", labels, series, Some(line))}
        <table class="report">
            <thead><tr>
                <th>"Day (UTC)"</th><th class="num">"Dials"</th><th class="num">"Human"</th><th class="num">"Machine"</th>
                <th class="num">"No answer"</th><th class="num">"Busy"</th><th class="num">"Congestion"</th><th class="num">"Abandoned"</th>
                <th class="num">"Other"</th><th class="num" title="abandons / (live answers + abandons), 30 days ending that day">"Abandon rate, 30 days"</th>
            </tr></thead>
            <tbody>
                {s.days.into_iter().map(|d| {
                    let rate = d.rate_30d();
                    let over = rate > cap;
                    view! {
                        <tr>
                            <td>{d.day.clone()}</td><td class="num">{d.dials}</td><td class="num">{d.human}</td><td class="num">{d.machine}</td>
                            <td class="num">{d.no_answer}</td><td class="num">{d.busy}</td><td class="num">{d.congestion}</td>
                            <td class="num">{d.abandoned}</td><td class="num">{d.other}</td>
                            <td class="num" class:over=over title=format!("{} of {}", d.abandons_30d, d.live_30d + d.abandons_30d)>{format!("{rate:.2}%")}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
            <tfoot><tr>
                <th>"Total"</th>
                {totals.map(|t| view! { <th class="num">{t}</th> })}
                <th></th>
            </tr></tfoot>
        </table>
    }
    .into_any()
}

fn agents(rows: Vec<AgentRow>) -> AnyView {
    if rows.is_empty() {
        return nothing("No agent was logged in during this range.");
    }
    let labels = rows.iter().map(|r| r.agent.clone()).collect();
    let part = |f: fn(&AgentRow) -> f64| rows.iter().map(f).collect::<Vec<_>>();
    let series = vec![
        Series::new("Talk", part(|r| r.talk)),
        Series::new("Wait", part(|r| r.wait)),
        Series::new("Pause", part(|r| r.pause)),
        Series::new("Wrap-up", part(|r| r.wrapup)),
    ];
    view! {
        {bars("Each agent's time: talk, wait, pause, wrap-up", labels, series, None, hms)}
        <table class="report">
            <thead><tr>
                <th>"Agent"</th><th class="num">"Logged in"</th><th class="num">"Talk"</th><th class="num">"Wait"</th>
                <th class="num">"Pause"</th><th>"Pause by code"</th><th class="num">"Wrap-up"</th><th class="num">"Calls"</th><th>"Dispositions"</th>
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|r| view! {
                    <tr>
                        <td>{r.agent}</td><td class="num">{hms(r.logged_in)}</td><td class="num">{hms(r.talk)}</td>
                        <td class="num">{hms(r.wait)}</td><td class="num">{hms(r.pause)}</td>
                        <td class="codes">{r.pauses.iter().map(|(c, s)| format!("{c} {}", hms(*s))).collect::<Vec<_>>().join(" · ")}</td>
                        <td class="num">{hms(r.wrapup)}</td><td class="num">{r.calls}</td>
                        <td class="codes">{r.dispositions.iter().map(|(c, n)| format!("{c} {n}")).collect::<Vec<_>>().join(" · ")}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

fn dispositions(rows: Vec<DispositionRow>) -> AnyView {
    if rows.is_empty() {
        return nothing("No call was given a disposition in this range.");
    }
    let labels = rows
        .iter()
        .map(|r| format!("{} · {}", r.code, r.name))
        .collect();
    let series = vec![Series::new(
        "Calls",
        rows.iter().map(|r| r.calls as f64).collect(),
    )];
    view! {
        {bars("Calls by disposition", labels, series, None, count)}
        <table class="report">
            <thead><tr><th>"Code"</th><th>"Name"</th><th class="num">"Calls"</th><th class="num">"Share"</th></tr></thead>
            <tbody>
                {rows.into_iter().map(|r| view! {
                    <tr><td>{r.code}</td><td>{r.name}</td><td class="num">{r.calls}</td><td class="num">{format!("{:.1}%", r.share_pct)}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

fn service_level(secs: i32, rows: Vec<ServiceRow>) -> AnyView {
    if rows.is_empty() {
        return nothing("No inbound group to show.");
    }
    let labels = rows.iter().map(|r| r.group_name.clone()).collect();
    let series = vec![Series::new(
        format!("Answered within {secs} s"),
        rows.iter().map(ServiceRow::service_level_pct).collect(),
    )];
    view! {
        {bars(&format!("Service level per group: answered within {secs} s, of calls offered"), labels, series, Some(100.0), percent)}
        <table class="report">
            <thead><tr>
                <th>"Group"</th><th class="num">"Offered"</th><th class="num">"Answered"</th><th class="num">{format!("Within {secs} s")}</th>
                <th class="num">"Service level"</th><th class="num">"Avg wait (answered)"</th><th class="num">"Abandoned"</th><th class="num">"Abandon rate"</th>
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|r| {
                    let (sl, ab) = (r.service_level_pct(), r.abandon_pct());
                    view! {
                        <tr>
                            <td>{r.group_name}</td><td class="num">{r.offered}</td><td class="num">{r.answered}</td><td class="num">{r.within}</td>
                            <td class="num">{format!("{sl:.1}%")}</td>
                            <td class="num">{r.avg_wait.map(|w| format!("{w:.1} s")).unwrap_or_else(|| "—".into())}</td>
                            <td class="num">{r.abandons}</td><td class="num">{format!("{ab:.1}%")}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

fn calls(page: Page<CdrRow>, args: &Args) -> AnyView {
    if page.rows.is_empty() {
        return nothing("No calls in this range.");
    }
    let (p, pages, total) = (page.page, page.pages(), page.total);
    let base = format!("/reports/calls?{}", args.query());
    let secs = |s: Option<f64>| s.map(|s| format!("{s:.0}")).unwrap_or_default();
    view! {
        <table class="report calls">
            <thead><tr>
                <th>"Started (UTC)"</th><th>"Direction"</th><th>"Campaign / group"</th><th>"Number"</th><th>"Agent"</th>
                <th>"Outcome"</th><th>"Disposition"</th><th>"Answered"</th><th>"Ended"</th><th class="num">"Wait (s)"</th><th class="num">"Talk (s)"</th><th>"Recording"</th>
            </tr></thead>
            <tbody>
                {page.rows.into_iter().map(|c| {
                    let place = match (c.campaign, c.group_name) {
                        (Some(cp), Some(g)) => format!("{cp} / {g}"),
                        (Some(x), None) | (None, Some(x)) => x,
                        (None, None) => String::new(),
                    };
                    let time = |t: Option<String>| t.map(|t| t.get(11..).unwrap_or(&t).to_string()).unwrap_or_default();
                    view! {
                        <tr>
                            <td title=c.id>{c.started}</td><td>{c.direction}</td><td>{place}</td><td>{c.number.unwrap_or_default()}</td>
                            <td>{c.agent.unwrap_or_default()}</td><td>{c.outcome.unwrap_or_default()}</td><td>{c.disposition.unwrap_or_default()}</td>
                            <td>{time(c.answered)}</td><td>{time(c.ended)}</td>
                            <td class="num">{secs(c.wait_secs)}</td><td class="num">{secs(c.talk_secs)}</td>
                            <td>{c.recording_id.map(|id| view! { <a href=format!("/recordings/{id}/file") rel="external" target="_blank">"Listen"</a> })}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        <Pager page=p pages total base open_ended=true/>
    }
    .into_any()
}
