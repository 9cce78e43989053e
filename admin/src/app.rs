//! The HTML shell, the routes, and the frame every staff page sits in.

use dialtone_core::vocabulary::Role;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::{path, SsrMode};

use crate::model::Viewer;
use crate::pages;

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    use_csp_nonce();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                // No icon file to fetch (and no 404 in every page's log).
                <link rel="icon" href="data:,"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Gives this request's inline scripts the nonce its Content-Security-Policy allows
/// (`server::headers`), in place of the one Leptos draws for itself and nothing announces.
#[cfg(feature = "ssr")]
fn use_csp_nonce() {
    let nonce = use_context::<http::request::Parts>().and_then(|parts| {
        parts
            .extensions
            .get::<crate::server::headers::CspNonce>()
            .cloned()
    });
    if let Some(nonce) = nonce {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
}

/// Who is signed in, for the frame; `None` on the sign-in page.
#[server(endpoint = "me")]
pub async fn me() -> Result<Option<Viewer>, ServerFnError> {
    Ok(crate::server::viewer().await.ok())
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="admin" href="/pkg/admin.css"/>
        <Title text="Dialtone"/>
        <Router>
            <Routes fallback=|| view! { <Frame><pages::NotFound/></Frame> }>
                <Route ssr=SsrMode::Async path=path!("/signin") view=pages::account::SignIn/>
                <Route ssr=SsrMode::Async path=path!("/account/password") view=pages::account::ChangePassword/>
                <Route ssr=SsrMode::Async path=path!("/") view=|| view! { <Frame><pages::home::Home/></Frame> }/>
                <Route ssr=SsrMode::Async path=path!("/agent") view=|| view! { <Frame><pages::agent::AgentScreen/></Frame> }/>
                <Route ssr=SsrMode::Async path=path!("/wallboard") view=|| view! { <Frame><pages::wallboard::Wallboards/></Frame> }/>
                <Route ssr=SsrMode::Async path=path!("/wallboard/:id") view=|| view! { <Frame><pages::wallboard::WallboardPage/></Frame> }/>
                <Route ssr=SsrMode::Async path=path!("/wallboard/group/:id") view=|| view! { <Frame><pages::wallboard::WallboardPage group=true/></Frame> }/>
                <Route ssr=SsrMode::Async path=path!("/campaigns") view=|| view! { <Frame><pages::campaigns::Campaigns/></Frame> }/>
                <Route ssr=SsrMode::Async path=path!("/campaigns/:id") view=|| view! { <Frame><pages::campaigns::CampaignEdit/></Frame> }/>
                <Route ssr=SsrMode::Async path=path!("/lists") view=|| view! { <Frame><pages::lists::Lists/></Frame> }/>
                <Route ssr=SsrMode::Async path=path!("/lists/:id") view=|| view! { <Frame><pages::lists::ListDetail/></Frame> }/>
                <Route ssr=SsrMode::Async path=path!("/uploads/:id") view=|| view! { <Frame><pages::uploads::UploadPage/></Frame> }/>
                <Route ssr=SsrMode::Async path=path!("/leads") view=|| view! { <Frame><pages::leads::Leads/></Frame> }/>
                <Route ssr=SsrMode::Async path=path!("/leads/:id") view=|| view! { <Frame><pages::leads::LeadPage/></Frame> }/>
                <Route ssr=SsrMode::Async path=path!("/recordings") view=|| view! { <Frame><pages::leads::Recordings/></Frame> }/>
                <Route ssr=SsrMode::Async path=path!("/inbound") view=|| view! { <Frame><pages::inbound::Inbound/></Frame> }/>
                <Route ssr=SsrMode::Async path=path!("/inbound/:id") view=|| view! { <Frame><pages::inbound::InboundEdit/></Frame> }/>
                <Route ssr=SsrMode::Async path=path!("/codes") view=|| view! { <Frame><pages::dispositions::Codes/></Frame> }/>
                <Route ssr=SsrMode::Async path=path!("/calltimes") view=|| view! { <Frame><pages::calltimes::CallTimes/></Frame> }/>
                <Route ssr=SsrMode::Async path=path!("/dnc") view=|| view! { <Frame><pages::dnc::Dnc/></Frame> }/>
                <Route ssr=SsrMode::Async path=path!("/users") view=|| view! { <Frame><pages::users::Users/></Frame> }/>
                <Route ssr=SsrMode::Async path=path!("/reports") view=|| view! { <Frame><pages::reports::Reports/></Frame> }/>
                <Route ssr=SsrMode::Async path=path!("/reports/:name") view=|| view! { <Frame><pages::reports::Reports/></Frame> }/>
                <Route ssr=SsrMode::Async path=path!("/audit") view=|| view! { <Frame><pages::audit::Audit/></Frame> }/>
            </Routes>
        </Router>
    }
}

/// The top bar (links by role, who is signed in, sign-out) around a page.
#[component]
fn Frame(children: Children) -> impl IntoView {
    let viewer = Resource::new(|| (), |_| me());
    view! {
        <header class="bar">
            <a class="brand" href="/">"Dialtone"</a>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let viewer = viewer.await.ok().flatten();
                    let role = viewer.as_ref().map(|v| v.role);
                    let staff = role.is_some_and(Role::is_staff);
                    let admin = role == Some(Role::Admin);
                    view! {
                        <nav>
                            <Show when=move || staff>
                                <A href="/wallboard">"Wallboard"</A>
                                <A href="/campaigns">"Campaigns"</A>
                                <A href="/lists">"Lists"</A>
                                <A href="/leads">"Leads"</A>
                                <A href="/recordings">"Recordings"</A>
                                <A href="/reports">"Reports"</A>
                            </Show>
                            <Show when=move || admin>
                                <A href="/inbound">"Inbound"</A>
                                <A href="/codes">"Dispositions"</A>
                                <A href="/calltimes">"Hours"</A>
                                <A href="/dnc">"Do not call"</A>
                                <A href="/users">"Users"</A>
                                <A href="/audit">"Audit log"</A>
                            </Show>
                            <Show when=move || role == Some(Role::Agent)><A href="/agent">"Agent"</A></Show>
                        </nav>
                        <div class="who">
                            {viewer.map(|v| view! {
                                <span title=v.role.as_str()>{if v.display_name.is_empty() { v.username.clone() } else { v.display_name.clone() }}</span>
                                <a href="/account/password">"Password"</a>
                                <form method="post" action="/signout"><button class="link">"Sign out"</button></form>
                            })}
                        </div>
                    }
                })}
            </Suspense>
        </header>
        <main>{children()}</main>
    }
}
