//! A page's WebSocket to the server (browser only): opened at `path` on this site, fed to
//! `on_text`, and opened again after a drop (1 s, then up to 5 s apart) until the page says
//! stop. `on_link` hears "live", "lost" and "stopped", for the page to show.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

/// Stops the socket for good (another tab took over, the page is leaving).
#[derive(Clone)]
pub struct Stop(Rc<Cell<bool>>, Rc<RefCell<Option<web_sys::WebSocket>>>);

impl Stop {
    pub fn stop(&self) {
        self.0.set(true);
        if let Some(socket) = self.1.borrow_mut().take() {
            let _ = socket.close();
        }
    }
}

pub fn open(
    path: &str,
    on_text: impl Fn(String, &Stop) + 'static,
    on_link: impl Fn(&'static str) + 'static,
) -> Stop {
    let stop = Stop(Rc::new(Cell::new(false)), Rc::new(RefCell::new(None)));
    let url = match web_sys::window().map(|w| w.location()) {
        Some(location) => {
            let secure = location.protocol().map(|p| p == "https:").unwrap_or(false);
            let host = location.host().unwrap_or_default();
            format!("{}://{host}{path}", if secure { "wss" } else { "ws" })
        }
        None => return stop,
    };
    connect(
        Rc::new(url),
        Rc::new(on_text),
        Rc::new(on_link),
        stop.clone(),
        0,
    );
    stop
}

type OnText = Rc<dyn Fn(String, &Stop)>;
type OnLink = Rc<dyn Fn(&'static str)>;

fn connect(url: Rc<String>, on_text: OnText, on_link: OnLink, stop: Stop, failures: u32) {
    if stop.0.get() {
        return;
    }
    let Ok(socket) = web_sys::WebSocket::new(&url) else {
        retry(url, on_text, on_link, stop, failures + 1);
        return;
    };
    *stop.1.borrow_mut() = Some(socket.clone());
    let opened = Rc::new(Cell::new(false));
    let on_open = {
        let (on_link, opened) = (on_link.clone(), opened.clone());
        Closure::<dyn FnMut()>::new(move || {
            opened.set(true);
            on_link("live");
        })
    };
    let on_message = {
        let (on_text, stop) = (on_text.clone(), stop.clone());
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            if let Some(text) = event.data().as_string() {
                on_text(text, &stop);
            }
        })
    };
    let on_close = {
        let (url, on_text, on_link, stop) =
            (url.clone(), on_text.clone(), on_link.clone(), stop.clone());
        Closure::<dyn FnMut()>::new(move || {
            if stop.0.get() {
                on_link("stopped");
                return;
            }
            on_link("lost");
            let failures = if opened.get() { 0 } else { failures + 1 };
            retry(
                url.clone(),
                on_text.clone(),
                on_link.clone(),
                stop.clone(),
                failures,
            );
        })
    };
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    // Each socket's handlers live as long as the page; a reconnect makes new ones.
    on_open.forget();
    on_message.forget();
    on_close.forget();
}

fn retry(url: Rc<String>, on_text: OnText, on_link: OnLink, stop: Stop, failures: u32) {
    let delay = Duration::from_millis(1000 * u64::from(failures.clamp(1, 5)));
    set_timeout(
        move || connect(url, on_text, on_link, stop, failures),
        delay,
    );
}
