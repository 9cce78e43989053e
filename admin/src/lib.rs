//! Dialtone's web admin: Leptos pages rendered on the server (`ssr`) and hydrated in the
//! browser (`hydrate`, built for wasm32 by `scripts/build-admin`).
//!
//! - [`model`]: the rows and answers both halves exchange; `model::agent` and
//!   `model::wallboard`, what those two live pages are made of.
//! - [`schema`]: the campaign and inbound group settings, and how each is checked.
//! - [`app`]: the shell, the routes and the frame.
//! - [`pages`]: one module per page with the server functions it calls.
//! - `server` (ssr only): sessions, the request guard, the operations, uploads, the JSON API.

// The agent screen's call panel nests deep view types (Leptos builds one type per view tree).
#![recursion_limit = "256"]

pub mod app;
pub mod model;
pub mod pages;
pub mod schema;
#[cfg(feature = "ssr")]
pub mod server;

/// The browser's entry point: attaches the page's behaviour to the server-rendered HTML.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // Lets browser tests (and people debugging) see that the page is live.
    if let Some(body) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
