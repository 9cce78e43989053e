//! Signing in, changing one's password, and an agent's start page. The forms post to plain
//! handlers (`server::signin`), so they work before the page is hydrated or with JS off.

use leptos::prelude::*;
use leptos_meta::Title;

use super::query_param;

fn sign_in_message(code: &str) -> Option<&'static str> {
    match code {
        "bad" => Some("Wrong username or password."),
        "throttled" => Some("Too many attempts: wait a minute and try again."),
        "too_long" => Some("That username or password is too long: usernames have at most 150 characters, passwords at most 1024."),
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
                <label>"Username" <input name="username" autocomplete="username" maxlength="150" required autofocus/></label>
                <label>"Password" <input name="password" type="password" autocomplete="current-password" maxlength="1024" required/></label>
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
        "long" => Some("Passwords have at most 1024 characters."),
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
                <label>"Current password" <input name="current" type="password" autocomplete="current-password" maxlength="1024" required/></label>
                <label>"New password (10 characters or more)" <input name="new" type="password" autocomplete="new-password" minlength="10" maxlength="1024" required/></label>
                <label>"New password again" <input name="confirm" type="password" autocomplete="new-password" minlength="10" maxlength="1024" required/></label>
                <button type="submit">"Change password"</button>
            </form>
            <form method="post" action="/signout-everywhere">
                <p>"Signed in somewhere you should not be? " <button class="link">"Sign out on every device"</button></p>
            </form>
        </main>
    }
}
