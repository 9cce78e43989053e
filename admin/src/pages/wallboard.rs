//! The supervisor's wallboard: a campaign's floor, pushed by the server over a WebSocket
//! (`/ws/wallboard`), with listen, whisper and barge, force pause and log out on each agent.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::clock;
#[cfg(feature = "hydrate")]
use crate::model::wallboard::BoardPush;
use crate::model::wallboard::{Board, BoardScope};

/// The campaigns and inbound groups the viewer may watch: (id, name, agents logged in).
#[server(endpoint = "board_list")]
pub async fn board_list(
) -> Result<(Vec<(i64, String, i64)>, Vec<(i64, String, i64)>), ServerFnError> {
    use super::ssr::{context, op_error};
    let ctx = context().await?;
    crate::server::wallboard::boards(&ctx.pool, &ctx.actor())
        .await
        .map_err(op_error)
}

/// A board as it is now (`group`: an inbound group's, else a campaign's). Plain arguments, so
/// the call encodes as a simple form.
#[server(endpoint = "board_get")]
pub async fn board_get(group: bool, id: i64) -> Result<Board, ServerFnError> {
    use crate::server::actor::OpError;
    let scope = if group {
        BoardScope::Group(id)
    } else {
        BoardScope::Campaign(id)
    };
    let super::ssr::Ctx { pool, viewer, .. } = super::ssr::context().await?;
    if !crate::server::wallboard::may_watch(&pool, &viewer, scope)
        .await
        .map_err(crate::server::db_error)?
    {
        return Err(super::ssr::op_error(OpError::Forbidden));
    }
    crate::server::wallboard::board_of(&pool, scope)
        .await
        .map_err(crate::server::db_error)?
        .ok_or_else(|| super::ssr::op_error(OpError::NotFound))
}

/// Listen, whisper, barge, pause or log out an agent's session.
#[server(endpoint = "board_act")]
pub async fn board_act(session: i64, what: String) -> Result<String, ServerFnError> {
    use dialtone_core::remote::Monitor;
    let ctx = super::ssr::context().await?;
    let desk = crate::server::state()?.agent_actions();
    let actor = ctx.actor();
    let result = match what.as_str() {
        "listen" => crate::server::wallboard::monitor(&desk, &actor, session, Monitor::Listen)
            .await
            .map(|_| "Your phone is ringing: you will hear the call."),
        "whisper" => crate::server::wallboard::monitor(&desk, &actor, session, Monitor::Whisper)
            .await
            .map(|_| "Your phone is ringing: only the agent will hear you."),
        "barge" => crate::server::wallboard::monitor(&desk, &actor, session, Monitor::Barge)
            .await
            .map(|_| "Your phone is ringing: you will join the call."),
        "pause" => crate::server::wallboard::force_pause(&desk, &actor, session)
            .await
            .map(|_| "Agent paused."),
        "logout" => crate::server::wallboard::force_logout(&desk, &actor, session)
            .await
            .map(|_| "Agent logged out."),
        _ => return Err(ServerFnError::new("unknown action")),
    };
    result
        .map(str::to_string)
        .map_err(|e| ServerFnError::new(e.message()))
}

#[component]
pub fn Wallboards() -> impl IntoView {
    let list = Resource::new(|| (), |_| board_list());
    let items = |rows: Vec<(i64, String, i64)>, scope: fn(i64) -> BoardScope| {
        rows.into_iter()
            .map(|(id, name, agents)| view! { <li><a href=scope(id).page()>{name}</a>{format!(" · {agents} agent(s) logged in")}</li> })
            .collect_view()
    };
    view! {
        <Title text="Wallboard · Dialtone"/>
        <h1>"Wallboard"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok((campaigns, groups)) if campaigns.is_empty() && groups.is_empty() => view! { <p>"No campaign or inbound group is yours to watch."</p> }.into_any(),
                    Ok((campaigns, groups)) => view! {
                        <h2>"Campaigns"</h2>
                        <ul class="boards">{items(campaigns, BoardScope::Campaign)}</ul>
                        <h2>"Inbound groups"</h2>
                        <ul class="boards">{items(groups, BoardScope::Group)}</ul>
                    }.into_any(),
                    Err(e) => view! { <p class="notice error">{super::error_text(&e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/wallboard/:id` (a campaign) and `/wallboard/group/:id`.
#[component]
pub fn WallboardPage(#[prop(optional)] group: bool) -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let board = Resource::new(id, move |id| board_get(group, id));
    view! {
        <Title text="Wallboard · Dialtone"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match board.await {
                    Ok(b) => view! { <Live board=b/> }.into_any(),
                    Err(e) => view! { <h1>"Wallboard"</h1><p class="notice error">{super::error_text(&e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Live(board: Board) -> impl IntoView {
    let board = RwSignal::new(board);
    let link = RwSignal::new("connecting");
    let act = ServerAction::<BoardAct>::new();
    #[cfg(feature = "hydrate")]
    {
        let path = board.get_untracked().scope.socket();
        let stop = super::socket::open(
            &path,
            move |text, _| {
                if let Ok(BoardPush::Board { board: b }) = serde_json::from_str::<BoardPush>(&text)
                {
                    board.set(b);
                }
            },
            move |l| link.set(l),
        );
        let stop = send_wrapper::SendWrapper::new(stop);
        on_cleanup(move || stop.stop());
    }
    view! {
        <h1>{move || board.with(|b| format!("{} · wallboard", b.campaign))} <small class="link">{move || if link.get() == "live" { " ● live" } else { " ○ reconnecting…" }}</small></h1>
        {move || act.value().get().map(|r| match r {
            Ok(m) => view! { <p class="notice ok" role="status">{m}</p> }.into_any(),
            Err(e) => view! { <p class="notice error" role="alert">{super::error_text(&e)}</p> }.into_any(),
        })}
        {move || {
            let b = board.get();
            let inbound = matches!(b.scope, BoardScope::Group(_));
            let over = !inbound && b.abandon_pct_30d > b.cap_pct;
            view! {
                <div class="tiles">
                    <div class="tile"><span>"Agents"</span><strong>{b.agents.len()}</strong></div>
                    {(!inbound).then(|| view! { <div class="tile"><span>"Ringing"</span><strong>{b.ringing}</strong></div> })}
                    <div class="tile"><span>"Waiting"</span><strong>{b.waiting}</strong></div>
                    <div class="tile"><span>"Answers today"</span><strong>{b.answers_today}</strong></div>
                    <div class="tile"><span>"Abandons today"</span><strong>{b.abandons_today}</strong></div>
                    <div class="tile" class:alarm=over>
                        <span>{if inbound { "Abandoned in queue, 30 days" } else { "Abandon rate, 30 days" }}</span>
                        <strong>{format!("{:.2}%", b.abandon_pct_30d)}</strong>
                        {(!inbound).then(|| view! { <small>{format!("cap {:.1}%", b.cap_pct)}</small> })}
                    </div>
                    <div class="tile"><span>"Last hour"</span><strong>{format!("{:.2}%", b.abandon_pct_hour)}</strong><small>{b.hourly_cap_pct.map(|c| format!("cap {c:.1}%")).unwrap_or_else(|| if inbound { String::new() } else { "no hourly cap".into() })}</small></div>
                    {(!inbound).then(|| view! { <div class="tile"><span>"Dial level"</span><strong>{format!("{:.2}", b.dial_level)}</strong><small>"lines per ready agent"</small></div> })}
                </div>
                <p class="pacer">{b.pacer.clone()}</p>
                <DayChart hours=b.hours.clone() cap=if inbound { None } else { Some(b.cap_pct) }/>
                <table class="agents">
                    <thead><tr><th>"Agent"</th><th>"State"</th><th>"For"</th><th>"Call"</th><th class="num">"Calls"</th><th></th></tr></thead>
                    <tbody>
                        {b.agents.into_iter().map(|a| {
                            let s = a.session_id;
                            view! {
                                <tr data-agent=a.user_id.to_string() data-state=a.state.as_str() class:lost=a.page_lost>
                                    <td>{a.name}</td>
                                    <td>{match a.pause_code { Some(code) => format!("{} ({code})", a.state.label()), None => a.state.label().to_string() }}{a.page_lost.then_some(" · page lost: no calls")}</td>
                                    <td>{clock(a.state_ms_ago)}</td>
                                    <td>{a.call.unwrap_or_default()}</td>
                                    <td class="num">{a.calls_today}</td>
                                    <td class="row-actions">
                                        {["listen", "whisper", "barge", "pause", "logout"].into_iter().map(|what| view! {
                                            <ActionForm action=act attr:class="inline-form">
                                                <input type="hidden" name="session" value=s.to_string()/>
                                                <input type="hidden" name="what" value=what/>
                                                <button type="submit" class="small">{what}</button>
                                            </ActionForm>
                                        }).collect_view()}
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            }
        }}
    }
}

/// Today's abandon rate (bars, against the cap) and occupancy (line) by hour.
#[component]
fn DayChart(hours: Vec<crate::model::wallboard::BoardHour>, cap: Option<f64>) -> impl IntoView {
    let (w, h) = (480.0_f64, 120.0_f64);
    let step = w / 24.0;
    // Abandon rates on a 0-6% scale, so the 3% cap sits mid-height; occupancy on 0-100%.
    let y_ab = move |p: f64| h - (p.min(6.0) / 6.0) * h;
    let y_occ = move |p: f64| h - (p.clamp(0.0, 100.0) / 100.0) * h;
    let line: String = hours
        .iter()
        .map(|x| {
            format!(
                "{:.1},{:.1}",
                f64::from(x.hour) * step + step / 2.0,
                y_occ(x.occupancy_pct)
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    view! {
        <figure class="day-chart">
            <svg viewBox=format!("0 0 {w} {}", h + 14.0) width="480" height="134" role="img" aria-label="abandon rate and occupancy by hour today">
                {hours.iter().map(|x| {
                    let top = y_ab(x.abandon_pct);
                    view! { <rect x=format!("{:.1}", f64::from(x.hour) * step + 2.0) y=format!("{top:.1}") width=format!("{:.1}", step - 4.0) height=format!("{:.1}", h - top) class="bar"><title>{format!("{}:00 abandon {:.2}%", x.hour, x.abandon_pct)}</title></rect> }
                }).collect_view()}
                {cap.map(|cap| view! { <line x1="0" x2=w.to_string() y1=format!("{:.1}", y_ab(cap)) y2=format!("{:.1}", y_ab(cap)) class="cap"/> })}
                <polyline points=line class="occupancy" fill="none"/>
                {(0..24).step_by(3).map(|hr| view! { <text x=format!("{:.1}", f64::from(hr) * step) y=format!("{}", h + 12.0) class="axis">{format!("{hr}h")}</text> }).collect_view()}
            </svg>
            <figcaption>"Bars: abandon rate by hour (line: the cap). Curve: occupancy."</figcaption>
        </figure>
    }
}
