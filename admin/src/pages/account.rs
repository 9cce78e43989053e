//! Signing in, changing one's password, and an agent's start page. The forms post to plain
//! handlers (`server::signin`), so they work before the page is hydrated or with JS off.

use leptos::prelude::*;
use leptos_meta::Title;

use super::query_param;

fn sign_in_message(code: &str) -> Option<&'static str> {
    match code {
        "bad" => Some("Wrong username or password."),
        "throttled" => Some("Too many attempts: wait a minute and try again."),
        "unavailable" => Some("The database is not answering; try again shortly."),
        "signed_out" => Some("You are signed out."),
        _ => None,
    }
}

#[component]
pub fn SignIn() -> impl IntoView {
    let error = query_param("error");
    let next = query_param("next");
    view! {
        <Title text="Sign in · Dialtone"/>
        <main class="narrow">
            <h1>"Dialtone"</h1>
            {move || sign_in_message(&error()).map(|m| view! { <p class="notice" role="alert">{m}</p> })}
            <form method="post" action="/signin" class="stack">
                <input type="hidden" name="next" value=next/>
                <label>"Username" <input name="username" autocomplete="username" required autofocus/></label>
                <label>"Password" <input name="password" type="password" autocomplete="current-password" required/></label>
                <button type="submit">"Sign in"</button>
            </form>
        </main>
    }
}

fn password_message(code: &str) -> Option<&'static str> {
    match code {
        "current" => Some("The current password is wrong."),
        "short" => Some("The new password must have at least 10 characters."),
        "mismatch" => Some("The two new passwords differ."),
        "same" => Some("Choose a password different from the current one."),
        "throttled" => Some("Too many attempts: wait a minute and try again."),
        "unavailable" => Some("The database is not answering; try again shortly."),
        _ => None,
    }
}

#[component]
pub fn ChangePassword() -> impl IntoView {
    let error = query_param("error");
    let viewer = Resource::new(|| (), |_| crate::app::me());
    view! {
        <Title text="Password · Dialtone"/>
        <main class="narrow">
            <h1>"Change your password"</h1>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let forced = viewer.await.ok().flatten().is_some_and(|v| v.must_change_password);
                    forced.then(|| view! { <p class="notice">"Choose your own password before you go on."</p> })
                })}
            </Suspense>
            {move || password_message(&error()).map(|m| view! { <p class="notice error" role="alert">{m}</p> })}
            <form method="post" action="/account/password" class="stack">
                <label>"Current password" <input name="current" type="password" autocomplete="current-password" required/></label>
                <label>"New password (10 characters or more)" <input name="new" type="password" autocomplete="new-password" minlength="10" required/></label>
                <label>"New password again" <input name="confirm" type="password" autocomplete="new-password" minlength="10" required/></label>
                <button type="submit">"Change password"</button>
            </form>
            <form method="post" action="/signout-everywhere">
                <p>"Signed in somewhere you should not be? " <button class="link">"Sign out on every device"</button></p>
            </form>
        </main>
    }
}

/// An agent's campaigns and their live session, if one is open.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AgentHome {
    pub campaigns: Vec<String>,
    /// (campaign, state, since) of the open session.
    pub session: Option<(String, String, String)>,
}

#[server(endpoint = "agent_overview")]
pub async fn agent_overview() -> Result<AgentHome, ServerFnError> {
    let super::ssr::Ctx { pool, viewer, .. } = super::ssr::context().await?;
    let campaigns: Vec<String> = sqlx::query_scalar(
        "SELECT c.name FROM user_campaigns uc JOIN campaigns c ON c.id = uc.campaign_id WHERE uc.user_id = $1 AND c.active ORDER BY c.name",
    )
    .bind(viewer.user_id)
    .fetch_all(&pool)
    .await
    .map_err(crate::server::db_error)?;
    let session: Option<(String, String, String)> = sqlx::query_as(
        "SELECT c.name, s.state, to_char(s.state_since AT TIME ZONE 'UTC', 'HH24:MI:SS') || ' UTC'
         FROM agent_sessions s JOIN campaigns c ON c.id = s.campaign_id WHERE s.user_id = $1 AND s.logged_out_at IS NULL",
    )
    .bind(viewer.user_id)
    .fetch_optional(&pool)
    .await
    .map_err(crate::server::db_error)?;
    Ok(AgentHome { campaigns, session })
}

#[component]
pub fn AgentStart() -> impl IntoView {
    let overview = Resource::new(|| (), |_| agent_overview());
    view! {
        <Title text="Agent · Dialtone"/>
        <h1>"Your campaigns"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => view! {
                        {match o.session {
                            Some((campaign, state, since)) => view! { <p class="notice ok">{format!("Logged in to {campaign}: {state} since {since}.")}</p> }.into_any(),
                            None => view! { <p>"You have no open agent session."</p> }.into_any(),
                        }}
                        {if o.campaigns.is_empty() {
                            view! { <p>"No active campaign is open to you; ask a supervisor."</p> }.into_any()
                        } else {
                            view! { <ul>{o.campaigns.into_iter().map(|c| view! { <li>{c}</li> }).collect_view()}</ul> }.into_any()
                        }}
                    }.into_any(),
                    Err(e) => view! { <p class="notice error">{super::error_text(&e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
