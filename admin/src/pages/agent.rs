//! The agent screen: log in to a campaign with the phone an admin assigned, go ready or pause, take the call that
//! pops up with its lead and script, set a disposition (and a callback), and everything between:
//! hang up, hold, transfer, keypad, recording, manual dial, the agent's callbacks and day.
//!
//! The page is rendered whole on the server, then kept current by the server's pushes over a
//! WebSocket (`/ws/agent`); the socket is also the agent's liveness, so a closed page stops
//! getting calls. Actions are server functions that check everything again on the server.

use dialtone_core::vocabulary::AgentState;
use leptos::prelude::*;
use leptos_meta::Title;

use super::clock;
#[cfg(feature = "hydrate")]
use crate::model::agent::AgentPush;
use crate::model::agent::{Screen, ScreenCall, ScreenSession};

/// The whole screen as it is now.
#[server(endpoint = "agent_desk")]
pub async fn get_desk() -> Result<Screen, ServerFnError> {
    let viewer = crate::server::viewer().await?;
    let state = crate::server::state()?;
    crate::server::agent::screen(&state.pool, viewer.user_id)
        .await
        .map_err(crate::server::db_error)
}

#[cfg(feature = "ssr")]
mod act {
    use leptos::prelude::*;

    use crate::server::agent::{AgentActions, AgentError};

    /// The signed-in user and what their actions need.
    pub async fn ctx() -> Result<(i64, AgentActions), ServerFnError> {
        let viewer = crate::server::viewer().await?;
        Ok((viewer.user_id, crate::server::state()?.agent_actions()))
    }

    pub fn done(result: Result<(), AgentError>, message: &str) -> Result<String, ServerFnError> {
        result
            .map(|_| message.to_string())
            .map_err(|e| ServerFnError::new(e.message()))
    }
}

#[server(endpoint = "agent_login")]
pub async fn agent_login(campaign: i64, groups: Option<Vec<i64>>) -> Result<String, ServerFnError> {
    let (user, ctx) = act::ctx().await?;
    act::done(
        ctx.log_in(user, campaign, &groups.unwrap_or_default())
            .await
            .map(|_| ()),
        "Your phone is ringing: answer it to start.",
    )
}

#[server(endpoint = "agent_ready")]
pub async fn agent_ready() -> Result<String, ServerFnError> {
    let (user, ctx) = act::ctx().await?;
    act::done(ctx.ready(user).await, "Ready for calls.")
}

#[server(endpoint = "agent_pause")]
pub async fn agent_pause(code: String) -> Result<String, ServerFnError> {
    let (user, ctx) = act::ctx().await?;
    act::done(ctx.pause(user, &code).await, "Paused.")
}

#[server(endpoint = "agent_logout")]
pub async fn agent_logout() -> Result<String, ServerFnError> {
    let (user, ctx) = act::ctx().await?;
    act::done(ctx.log_out(user).await, "Logged out.")
}

#[server(endpoint = "agent_hangup")]
pub async fn agent_hangup() -> Result<String, ServerFnError> {
    let (user, ctx) = act::ctx().await?;
    act::done(ctx.hang_up(user).await, "Hung up.")
}

/// Hold (`on` = 1), park (`on` = park) or resume (`on` = 0): resume takes the caller back
/// from either.
#[server(endpoint = "agent_hold")]
pub async fn agent_hold(on: String) -> Result<String, ServerFnError> {
    let (user, ctx) = act::ctx().await?;
    match on.as_str() {
        "park" => ctx
            .park(user)
            .await
            .map(|space| {
                format!(
                    "The caller is parked in space {space}: Resume brings them back, or any phone dialing {space} takes them."
                )
            })
            .map_err(|e| ServerFnError::new(e.message())),
        "1" => act::done(ctx.hold(user, true).await, "The caller is on hold."),
        _ => act::done(ctx.hold(user, false).await, "The caller is back."),
    }
}

#[server(endpoint = "agent_dtmf")]
pub async fn agent_dtmf(digits: String) -> Result<String, ServerFnError> {
    let (user, ctx) = act::ctx().await?;
    act::done(ctx.dtmf(user, &digits).await, "Keys sent.")
}

#[server(endpoint = "agent_transfer")]
pub async fn agent_transfer(
    to: String,
    group: String,
    mode: String,
) -> Result<String, ServerFnError> {
    let (user, ctx) = act::ctx().await?;
    let group: Option<i64> = group.trim().parse().ok();
    let result = match (mode.as_str(), group) {
        ("blind", _) | (_, Some(_)) => ctx.transfer(user, &to, group).await,
        ("warm", None) => ctx.consult(user, &to, true).await,
        ("three_way", None) => ctx.consult(user, &to, false).await,
        _ => Err(crate::server::agent::AgentError::Invalid(
            "choose blind, warm or three-way".into(),
        )),
    };
    act::done(result, "Transfer placed.")
}

#[server(endpoint = "agent_consult_end")]
pub async fn agent_consult_end(complete: String) -> Result<String, ServerFnError> {
    let (user, ctx) = act::ctx().await?;
    let complete = complete == "1";
    act::done(
        ctx.finish_consult(user, complete).await,
        if complete {
            "Transferred."
        } else {
            "Third party dropped."
        },
    )
}

#[server(endpoint = "agent_record")]
pub async fn agent_record(start: String) -> Result<String, ServerFnError> {
    let (user, ctx) = act::ctx().await?;
    let start = start == "1";
    act::done(
        ctx.record(user, start).await,
        if start {
            "Recording."
        } else {
            "Recording stopped."
        },
    )
}

#[server(endpoint = "agent_dial")]
pub async fn agent_dial(lead: String, number: String) -> Result<String, ServerFnError> {
    use dialtone_core::manual::Target;
    let (user, ctx) = act::ctx().await?;
    let target = match lead.trim().parse::<i64>() {
        Ok(id) => Target::Lead(id),
        Err(_) if !number.trim().is_empty() => Target::Number(number.trim().to_string()),
        Err(_) => return Err(ServerFnError::new("give a lead or a number to dial")),
    };
    act::done(ctx.dial(user, target).await, "Dialing.")
}

#[server(endpoint = "agent_preview")]
pub async fn agent_preview(skip: String) -> Result<String, ServerFnError> {
    let (user, ctx) = act::ctx().await?;
    if skip == "1" {
        act::done(
            ctx.preview_skip(user).await,
            "Skipped: offered again in an hour.",
        )
    } else {
        act::done(ctx.preview_next(user).await, "Here is your next lead.")
    }
}

#[server(endpoint = "agent_dispose")]
pub async fn agent_dispose(
    status: String,
    callback_at: Option<String>,
    only_me: Option<String>,
    comments: Option<String>,
    pause: Option<String>,
) -> Result<String, ServerFnError> {
    use dialtone_core::dispositions::CallbackRequest;
    let (user, ctx) = act::ctx().await?;
    let callback = match callback_at.filter(|c| !c.trim().is_empty()) {
        Some(at) => {
            let due_at = ctx
                .callback_due(user, &at)
                .await
                .map_err(|e| ServerFnError::new(e.message()))?;
            Some(CallbackRequest {
                due_at,
                only_me: only_me.is_some(),
                comments: comments.unwrap_or_default(),
            })
        }
        None => None,
    };
    act::done(
        ctx.dispose(user, status.trim(), callback, pause.is_some())
            .await,
        "Disposition saved.",
    )
}

/// The lead form's fields, one argument each, as a server function takes a form.
#[allow(clippy::too_many_arguments)]
#[server(endpoint = "agent_save_lead")]
pub async fn agent_save_lead(
    lead_id: i64,
    first_name: String,
    last_name: String,
    email: String,
    address1: String,
    city: String,
    comments: String,
    custom_key: Option<Vec<String>>,
    custom_value: Option<Vec<String>>,
) -> Result<String, ServerFnError> {
    use crate::server::agent::LeadFields;
    let (user, ctx) = act::ctx().await?;
    let fields = LeadFields {
        first_name,
        last_name,
        email,
        address1,
        city,
        comments,
        custom: super::custom_pairs(custom_key, custom_value),
    };
    act::done(ctx.save_lead(user, lead_id, &fields).await, "Lead saved.")
}

/// The agent's state in their words: the floor's, with the pause's code, and their own phone.
fn state_label(state: AgentState, pause: Option<&str>) -> String {
    match (state, pause) {
        (AgentState::Paused, Some(code)) => format!("Paused ({code})"),
        (AgentState::Connecting, _) => "Ringing your phone".into(),
        (other, _) => other.label().into(),
    }
}

/// The milliseconds since the page heard from the server, for timers that run between pushes.
fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys_now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

#[cfg(feature = "hydrate")]
fn js_sys_now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

#[component]
pub fn AgentScreen() -> impl IntoView {
    let initial = Resource::new(|| (), |_| get_desk());
    view! {
        <Title text="Agent · Dialtone"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match initial.await {
                    Ok(desk) => view! { <LiveScreen desk/> }.into_any(),
                    Err(e) => view! { <p class="notice error">{super::error_text(&e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Every action the screen offers, made once so keys and buttons share them.
#[derive(Clone, Copy)]
struct Actions {
    login: ServerAction<AgentLogin>,
    ready: ServerAction<AgentReady>,
    pause: ServerAction<AgentPause>,
    logout: ServerAction<AgentLogout>,
    hangup: ServerAction<AgentHangup>,
    hold: ServerAction<AgentHold>,
    dtmf: ServerAction<AgentDtmf>,
    transfer: ServerAction<AgentTransfer>,
    consult_end: ServerAction<AgentConsultEnd>,
    record: ServerAction<AgentRecord>,
    dial: ServerAction<AgentDial>,
    preview: ServerAction<AgentPreview>,
    dispose: ServerAction<AgentDispose>,
    save_lead: ServerAction<AgentSaveLead>,
}

impl Actions {
    fn new() -> Self {
        Self {
            login: ServerAction::new(),
            ready: ServerAction::new(),
            pause: ServerAction::new(),
            logout: ServerAction::new(),
            hangup: ServerAction::new(),
            hold: ServerAction::new(),
            dtmf: ServerAction::new(),
            transfer: ServerAction::new(),
            consult_end: ServerAction::new(),
            record: ServerAction::new(),
            dial: ServerAction::new(),
            preview: ServerAction::new(),
            dispose: ServerAction::new(),
            save_lead: ServerAction::new(),
        }
    }

    /// Sets `message` to each action's answer as it comes, so the agent sees the latest.
    fn report_to(&self, message: RwSignal<Option<Result<String, String>>>) {
        fn watch<A>(action: ServerAction<A>, message: RwSignal<Option<Result<String, String>>>)
        where
            A: leptos::server_fn::ServerFn<Output = String, Error = ServerFnError>
                + Clone
                + Send
                + Sync
                + 'static,
            A::Output: Send + Sync + 'static,
        {
            Effect::new(move |_| {
                if let Some(answer) = action.value().get() {
                    message.set(Some(answer.map_err(|e| super::error_text(&e))));
                }
            });
        }
        watch(self.login, message);
        watch(self.ready, message);
        watch(self.pause, message);
        watch(self.logout, message);
        watch(self.hangup, message);
        watch(self.hold, message);
        watch(self.dtmf, message);
        watch(self.transfer, message);
        watch(self.consult_end, message);
        watch(self.record, message);
        watch(self.dial, message);
        watch(self.preview, message);
        watch(self.dispose, message);
        watch(self.save_lead, message);
    }
}

#[component]
fn LiveScreen(desk: Screen) -> impl IntoView {
    let desk = RwSignal::new(desk);
    // When the last push arrived (page clock), and the clock that moves the timers.
    let base = RwSignal::new(now_ms());
    let now = RwSignal::new(now_ms());
    let link = RwSignal::new("connecting");
    let notice = RwSignal::new(None::<String>);
    let actions = Actions::new();
    let message = RwSignal::new(None::<Result<String, String>>);
    actions.report_to(message);
    let pause_choice = RwSignal::new(String::new());

    #[cfg(feature = "hydrate")]
    {
        use leptos::ev;
        let stop = super::socket::open(
            "/ws/agent",
            move |text, stop| match serde_json::from_str::<AgentPush>(&text) {
                Ok(AgentPush::Screen { desk: d }) => {
                    // A new call (or none) starts with a clean slate of messages.
                    let call = |d: &Screen| {
                        d.session
                            .as_ref()
                            .and_then(|s| s.call.as_ref().map(|c| c.call_id.clone()))
                    };
                    if desk.with_untracked(call) != call(&d) {
                        message.set(None);
                    }
                    desk.set(d);
                    base.set(js_sys_now());
                }
                Ok(AgentPush::State {
                    state,
                    pause_code,
                    state_ms_ago,
                }) => {
                    desk.update(|d| {
                        if let Some(s) = d.session.as_mut() {
                            s.state = state;
                            s.pause_code = pause_code;
                            s.state_ms_ago = state_ms_ago;
                        }
                    });
                    base.set(js_sys_now());
                }
                Ok(AgentPush::TakenOver) => {
                    stop.stop();
                    link.set("taken over");
                }
                Ok(AgentPush::Notice { text, .. }) => notice.set(Some(text)),
                Err(_) => {}
            },
            move |l| {
                if link.get_untracked() != "taken over" {
                    link.set(l)
                }
            },
        );
        let ticker = set_interval_with_handle(
            move || now.set(js_sys_now()),
            std::time::Duration::from_millis(500),
        )
        .ok();
        let keys = window_event_listener(ev::keydown, move |e| {
            on_key(&e, desk, actions, pause_choice)
        });
        let stop = send_wrapper::SendWrapper::new(stop);
        on_cleanup(move || {
            stop.stop();
            if let Some(t) = ticker {
                t.clear();
            }
            keys.remove();
        });
    }

    let elapsed = move |ms_ago: i64| ms_ago + (now.get() - base.get()).max(0.0) as i64;
    view! {
        <div class="desk" data-link=move || link.get()>
            <header class="desk-bar">
                <strong>{move || desk.with(|d| d.name.clone())}</strong>
                {move || desk.with(|d| d.session.as_ref().map(|s| s.campaign.clone())).map(|c| view! { <span class="campaign">{c}</span> })}
                <span class="state" data-state=move || desk.with(|d| d.session.as_ref().map(|s| s.state.as_str()).unwrap_or_default())>
                    {move || desk.with(|d| d.session.as_ref().map(|s| state_label(s.state, s.pause_code.as_deref())).unwrap_or_else(|| "Not logged in".into()))}
                </span>
                <span class="timer">{move || desk.with(|d| d.session.as_ref().map(|s| s.state_ms_ago)).map(|ms| clock(elapsed(ms)))}</span>
                <span class="link" title="The live link to the server">{move || match link.get() {
                    "live" => "● live",
                    "lost" => "○ reconnecting…",
                    "taken over" => "This agent screen was opened in another tab; this one has stopped.",
                    _ => "○ connecting…",
                }}</span>
            </header>
            {move || notice.get().map(|n| view! { <p class="notice" role="status">{n}</p> })}
            {move || message.get().map(|r| match r {
                Ok(m) => view! { <p class="notice ok" role="status">{m}</p> }.into_any(),
                Err(e) => view! { <p class="notice error" role="alert">{e}</p> }.into_any(),
            })}
            {move || match desk.get().session {
                None => view! { <LoginForm desk=desk.get() actions/> }.into_any(),
                Some(s) => view! { <Working session=s actions pause_choice elapsed=Callback::new(elapsed)/> }.into_any(),
            }}
        </div>
    }
}

/// Keys: Alt+R ready, Alt+P pause (with the chosen code), Alt+H hang up, 1-9 the disposition
/// with that hotkey (when the call awaits one and no field has the focus).
#[cfg(feature = "hydrate")]
fn on_key(
    e: &web_sys::KeyboardEvent,
    desk: RwSignal<Screen>,
    actions: Actions,
    pause_choice: RwSignal<String>,
) {
    use wasm_bindgen::JsCast;
    let typing = e
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .map(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"))
        .unwrap_or(false);
    let Some(session) = desk.get_untracked().session else {
        return;
    };
    let key = e.key();
    if e.alt_key() {
        match key.to_ascii_lowercase().as_str() {
            "r" => {
                actions.ready.dispatch(AgentReady {});
            }
            "p" => {
                // The code chosen in the form; none where the campaign lets agents pause
                // without one (a forced campaign then says to choose).
                actions.pause.dispatch(AgentPause {
                    code: pause_choice.get_untracked(),
                });
            }
            "h" => {
                actions.hangup.dispatch(AgentHangup {});
            }
            _ => return,
        }
        e.prevent_default();
        return;
    }
    if typing {
        return;
    }
    let Some(call) = session.call.as_ref().filter(|c| c.disposition.is_none()) else {
        return;
    };
    let _ = call;
    if let Ok(n) = key.parse::<i16>() {
        if let Some(choice) = session
            .dispositions
            .iter()
            .find(|d| d.hotkey == Some(n) && !d.callback)
        {
            actions.dispose.dispatch(AgentDispose {
                status: choice.code.clone(),
                callback_at: None,
                only_me: None,
                comments: None,
                pause: None,
            });
            e.prevent_default();
        }
    }
}

#[component]
fn LoginForm(desk: Screen, actions: Actions) -> impl IntoView {
    if desk.campaigns.is_empty() {
        return view! { <p>"No active campaign is open to you; ask a supervisor."</p> }.into_any();
    }
    view! {
        <h1>"Start working"</h1>
        <ActionForm action=actions.login attr:class="stack narrow-form">
            <label>"Campaign"
                <select name="campaign" required>
                    {desk.campaigns.into_iter().map(|(id, name)| view! { <option value=id.to_string()>{name}</option> }).collect_view()}
                </select>
            </label>
            {(!desk.groups.is_empty()).then(|| view! {
                <fieldset><legend>"Also take calls of"</legend>
                    {desk.groups.into_iter().enumerate().map(|(i, (id, name))| view! {
                        <label class="inline"><input type="checkbox" name=format!("groups[{i}]") value=id.to_string()/>{name}</label>
                    }).collect_view()}
                </fieldset>
            })}
            {if desk.phone_on_file.is_empty() {
                view! { <p class="notice error">"No phone is assigned to you yet: ask an admin to set yours on the Users page."</p> }.into_any()
            } else {
                view! { <p>"Your phone " <strong class="phone">{desk.phone_on_file.clone()}</strong> " rings when you log in."</p> }.into_any()
            }}
            <button type="submit" class="primary" disabled=desk.phone_on_file.is_empty()>"Log in and ring my phone"</button>
        </ActionForm>
    }
    .into_any()
}

#[component]
fn Working(
    session: ScreenSession,
    actions: Actions,
    pause_choice: RwSignal<String>,
    elapsed: Callback<i64, i64>,
) -> impl IntoView {
    let state = session.state;
    let can_ready = matches!(state, AgentState::Paused | AgentState::Wrapup);
    let can_pause = matches!(
        state,
        AgentState::Ready | AgentState::Wrapup | AgentState::Paused
    );
    let idle = state.is_idle();
    let codes = session.pause_codes.clone();
    let codes_mode = session.pause_codes_mode.clone();
    view! {
        <section class="desk-controls">
            <ActionForm action=actions.ready attr:class="inline-form">
                <button type="submit" class="primary" disabled=!can_ready title="Alt+R">"Ready"</button>
            </ActionForm>
            <ActionForm action=actions.pause attr:class="inline-form">
                {if codes_mode == "off" {
                    view! { <input type="hidden" name="code" value=""/> }.into_any()
                } else {
                    // Forced: nothing is chosen until the agent chooses. Optional: no reason
                    // is a choice of its own.
                    let first = if codes_mode == "forced" { "Pause reason…" } else { "No reason" };
                    view! {
                        <select name="code" aria-label="pause code" prop:value=move || pause_choice.get() on:change=move |ev| pause_choice.set(event_target_value(&ev))>
                            <option value="" selected=true>{first}</option>
                            {codes.into_iter().map(|(code, name)| view! { <option value=code.clone()>{name}</option> }).collect_view()}
                        </select>
                    }.into_any()
                }}
                <button type="submit" disabled=!can_pause title="Alt+P">"Pause"</button>
            </ActionForm>
            <ActionForm action=actions.logout attr:class="inline-form">
                <button type="submit" class="link" disabled=!idle>"Log out"</button>
            </ActionForm>
        </section>
        {match session.call.clone() {
            Some(call) => view! { <CallPanel call session=session.clone() actions elapsed/> }.into_any(),
            None if session.preview_mode => view! { <Preview lead=session.preview.clone() idle actions/> }.into_any(),
            None => view! { <p class="waiting">{if state == AgentState::Ready { "Waiting for a call…" } else { "" }}</p> }.into_any(),
        }}
        <div class="desk-side">
            {(session.manual_dial && idle).then(|| view! {
                <section>
                    <h2>"Dial"</h2>
                    <ActionForm action=actions.dial attr:class="stack">
                        <label>"Lead #" <input name="lead" inputmode="numeric" autocomplete="off"/></label>
                        <label>"or number" <input name="number" type="tel" autocomplete="off"/></label>
                        <button type="submit">"Dial"</button>
                    </ActionForm>
                </section>
            })}
            <section>
                <h2>"My callbacks"</h2>
                {if session.callbacks.is_empty() {
                    view! { <p class="muted">"None scheduled."</p> }.into_any()
                } else {
                    view! {
                        <table class="callbacks">
                            <thead><tr><th>"Due (their time)"</th><th>"Who"</th><th></th></tr></thead>
                            <tbody>
                                {session.callbacks.into_iter().map(|cb| {
                                    let lead = cb.lead_id.to_string();
                                    view! {
                                        <tr class:due=cb.due_now>
                                            <td title=cb.due_utc>{cb.due_local}</td>
                                            <td>{if cb.name.is_empty() { cb.phone.clone() } else { format!("{} · {}", cb.name, cb.phone) }}<br/><small>{cb.comments}</small></td>
                                            <td>{idle.then(|| view! {
                                                <ActionForm action=actions.dial>
                                                    <input type="hidden" name="lead" value=lead.clone()/>
                                                    <input type="hidden" name="number" value=""/>
                                                    <button type="submit">"Call"</button>
                                                </ActionForm>
                                            })}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
            </section>
            <section class="stats">
                <h2>"Today"</h2>
                <dl>
                    <dt>"Calls"</dt><dd>{session.stats.calls}</dd>
                    <dt>"Talk"</dt><dd>{clock(session.stats.talk_secs * 1000)}</dd>
                    <dt>"Waiting"</dt><dd>{clock(session.stats.wait_secs * 1000)}</dd>
                    <dt>"Paused"</dt><dd>{clock(session.stats.pause_secs * 1000)}</dd>
                    <dt>"Sales"</dt><dd>{session.stats.sales}</dd>
                </dl>
            </section>
        </div>
    }
}

#[component]
fn CallPanel(
    call: ScreenCall,
    session: ScreenSession,
    actions: Actions,
    elapsed: Callback<i64, i64>,
) -> impl IntoView {
    let live = !call.ended;
    let talk = call.talk_ms_ago;
    let lead = call.lead.clone();
    let zone = lead
        .as_ref()
        .map(|l| format!("{} · their time {}", l.time_zone, l.local_time))
        .unwrap_or_default();
    let lead_attr = lead.as_ref().map(|l| l.id.to_string()).unwrap_or_default();
    let groups = session.transfer_groups.clone();
    let record_on_demand = session.record_on_demand;
    let recording = call.recording;
    view! {
        <section class="call" data-call=call.call_id.clone() data-lead=lead_attr>
            <h2>
                {if live { "On the line: " } else { "Call ended: " }}
                <span class="phone">{call.phone.clone()}</span>
                {talk.filter(|_| live).map(|ms| view! { <span class="timer">{move || clock(elapsed.run(ms))}</span> })}
                {call.recording.then(|| view! { <span class="rec">"● REC"</span> })}
            </h2>
            <p class="muted">{zone}</p>
            {call.parked_space.clone().filter(|_| live).map(|space| view! {
                <p class="parked" role="status">"Parked in space " {space.clone()} ": Resume brings the caller back, or dial " {space} " from any phone."</p>
            })}
            {live.then(|| view! {
                <div class="call-controls">
                    <ActionForm action=actions.hangup attr:class="inline-form"><button type="submit" class="danger" title="Alt+H">"Hang up"</button></ActionForm>
                    <ActionForm action=actions.hold attr:class="inline-form"><input type="hidden" name="on" value="1"/><button type="submit">"Hold"</button></ActionForm>
                    <ActionForm action=actions.hold attr:class="inline-form"><input type="hidden" name="on" value="park"/><button type="submit" title="Any phone can take the caller from the parking lot">"Park"</button></ActionForm>
                    <ActionForm action=actions.hold attr:class="inline-form"><input type="hidden" name="on" value="0"/><button type="submit">"Resume"</button></ActionForm>
                    {record_on_demand.then(|| view! {
                        <ActionForm action=actions.record attr:class="inline-form">
                            <input type="hidden" name="start" value=if recording { "0" } else { "1" }/>
                            <button type="submit">{if recording { "Stop recording" } else { "Record" }}</button>
                        </ActionForm>
                    })}
                    <ActionForm action=actions.dtmf attr:class="inline-form">
                        <input name="digits" size="6" pattern="[0-9*#A-D]{1,32}" aria-label="keys to send" placeholder="keys"/>
                        <button type="submit">"Send keys"</button>
                    </ActionForm>
                </div>
                <details class="keypad">
                    <summary>"Keypad"</summary>
                    <div class="keys">
                        {["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"].into_iter().map(|key| view! {
                            <ActionForm action=actions.dtmf attr:class="inline-form">
                                <input type="hidden" name="digits" value=key/>
                                <button type="submit" aria-label=format!("key {key}")>{key}</button>
                            </ActionForm>
                        }).collect_view()}
                    </div>
                </details>
                <details class="transfer">
                    <summary>"Transfer"</summary>
                    <ActionForm action=actions.transfer attr:class="stack">
                        <label>"To number" <input name="to" type="tel" autocomplete="off"/></label>
                        <label>"or inbound group"
                            <select name="group">
                                <option value="">"—"</option>
                                {groups.iter().map(|(id, name)| view! { <option value=id.to_string()>{name.clone()}</option> }).collect_view()}
                            </select>
                        </label>
                        <label>"How"
                            <select name="mode">
                                <option value="blind">"Blind"</option>
                                <option value="warm">"Warm (caller on hold while you talk)"</option>
                                <option value="three_way">"Three-way"</option>
                            </select>
                        </label>
                        <button type="submit">"Transfer"</button>
                    </ActionForm>
                    <ActionForm action=actions.consult_end attr:class="inline-form"><input type="hidden" name="complete" value="1"/><button type="submit">"Complete transfer"</button></ActionForm>
                    <ActionForm action=actions.consult_end attr:class="inline-form"><input type="hidden" name="complete" value="0"/><button type="submit">"Drop third party"</button></ActionForm>
                </details>
            })}
            <div class="call-body">
                {lead.clone().map(|l| view! { <LeadForm lead=l actions/> })}
                <div>
                    {(!call.script.is_empty()).then(|| view! { <h3>"Script"</h3><pre class="script">{call.script.clone()}</pre> })}
                    <Dispose call=call.clone() session=session.clone() actions/>
                    {lead.map(|l| (!l.history.is_empty()).then(|| view! {
                        <h3>"Earlier calls"</h3>
                        <table class="history"><tbody>
                            {l.history.into_iter().map(|(at, outcome, dispo, agent)| view! { <tr><td>{at}</td><td>{outcome}</td><td>{dispo}</td><td>{agent}</td></tr> }).collect_view()}
                        </tbody></table>
                    }))}
                </div>
            </div>
        </section>
    }
}

/// Preview dialing: the next lead, to dial or skip.
#[component]
fn Preview(
    lead: Option<crate::model::agent::ScreenLead>,
    idle: bool,
    actions: Actions,
) -> impl IntoView {
    let Some(lead) = lead else {
        return view! {
            <section class="preview">
                <ActionForm action=actions.preview attr:class="inline-form">
                    <input type="hidden" name="skip" value="0"/>
                    <button type="submit" class="primary" disabled=!idle>"Next lead"</button>
                </ActionForm>
            </section>
        }
        .into_any();
    };
    let id = lead.id.to_string();
    let attr = id.clone();
    view! {
        <section class="preview call" data-preview=attr>
            <h2>{format!("{} {}", lead.first_name, lead.last_name)} " " <span class="phone">{lead.phone.clone()}</span></h2>
            <p class="muted">{format!("Lead #{} · {} · {} · their time {}", lead.id, lead.status, lead.time_zone, lead.local_time)}</p>
            {(!lead.custom.is_empty()).then(|| view! {
                <dl class="custom">{lead.custom.iter().map(|(k, v)| view! { <dt>{k.clone()}</dt><dd>{v.clone()}</dd> }).collect_view()}</dl>
            })}
            {(!lead.comments.is_empty()).then(|| view! { <p>{lead.comments.clone()}</p> })}
            <div class="call-controls">
                <ActionForm action=actions.dial attr:class="inline-form">
                    <input type="hidden" name="lead" value=id/>
                    <input type="hidden" name="number" value=""/>
                    <button type="submit" class="primary">"Dial"</button>
                </ActionForm>
                <ActionForm action=actions.preview attr:class="inline-form">
                    <input type="hidden" name="skip" value="1"/>
                    <button type="submit">"Skip"</button>
                </ActionForm>
            </div>
            {(!lead.history.is_empty()).then(|| view! {
                <table class="history"><tbody>
                    {lead.history.into_iter().map(|(at, outcome, dispo, agent)| view! { <tr><td>{at}</td><td>{outcome}</td><td>{dispo}</td><td>{agent}</td></tr> }).collect_view()}
                </tbody></table>
            })}
        </section>
    }
    .into_any()
}

#[component]
fn LeadForm(lead: crate::model::agent::ScreenLead, actions: Actions) -> impl IntoView {
    view! {
        <ActionForm action=actions.save_lead attr:class="stack lead-form">
            <h3>"Lead #" {lead.id} <small>{format!(" · {}", lead.status)}</small></h3>
            <input type="hidden" name="lead_id" value=lead.id.to_string()/>
            <label>"First name" <input name="first_name" value=lead.first_name/></label>
            <label>"Last name" <input name="last_name" value=lead.last_name/></label>
            <label>"Email" <input name="email" type="email" value=lead.email/></label>
            <label>"Address" <input name="address1" value=lead.address1/></label>
            <label>"City" <input name="city" value=lead.city/></label>
            <p class="muted">{format!("{} {} · {}", lead.state, lead.postal_code, lead.phone)}</p>
            {lead.custom.into_iter().enumerate().map(|(i, (k, v))| {
                let (key_input, value_input) = super::custom_inputs(i);
                view! {
                    <input type="hidden" name=key_input value=k.clone()/>
                    <label>{k} <input name=value_input value=v/></label>
                }
            }).collect_view()}
            <label>"Comments" <textarea name="comments" rows="3">{lead.comments}</textarea></label>
            <button type="submit">"Save lead"</button>
        </ActionForm>
    }
}

#[component]
fn Dispose(call: ScreenCall, session: ScreenSession, actions: Actions) -> impl IntoView {
    if let Some(done) = call.disposition {
        return view! { <p class="notice ok">{format!("Disposition: {done}")}</p> }.into_any();
    }
    if !session.state.has_call() {
        return view! { <p class="muted">"The disposition, once the call is answered."</p> }
            .into_any();
    }
    let wrapup = session.state == AgentState::Wrapup;
    view! {
        <h3>"Disposition" {wrapup.then(|| format!(" (wrap-up: {} s)", session.wrapup_secs))}</h3>
        <ActionForm action=actions.dispose attr:class="stack dispose">
            <div class="choices">
                {session.dispositions.iter().map(|d| view! {
                    <label class="choice">
                        <input type="radio" name="status" value=d.code.clone() required/>
                        {d.hotkey.map(|k| view! { <kbd>{k}</kbd> })}
                        {d.name.clone()}
                        {d.callback.then_some(" (callback)")}
                    </label>
                }).collect_view()}
            </div>
            <fieldset>
                <legend>"Callback (for the statuses marked callback), in the callee's own time"</legend>
                <input type="datetime-local" name="callback_at" aria-label="callback time"/>
                <label class="inline"><input type="checkbox" name="only_me" value="1"/>"Only I call back"</label>
                <input name="comments" placeholder="note for the callback" aria-label="callback note"/>
            </fieldset>
            <label class="inline"><input type="checkbox" name="pause" value="1"/>"Pause after this call"</label>
            <button type="submit" class="primary">"Save disposition"</button>
        </ActionForm>
    }
    .into_any()
}
