//! The floor under Rolecall's start-up: a Tauri app that opens one window on an empty page and
//! does nothing else. `scripts/bench-desktop` starts it beside Rolecall and reports both, so
//! what WebKitGTK costs on the machine is not counted as Rolecall's.
//!
//! It prints `empty window: page loaded at <ns since the Unix epoch>` when the page has loaded
//! and `empty window: first frame at epoch_ms <ms>` when the first frame after that starts to
//! be drawn (with when its navigation began: WebKit's own start, before any page), then stays
//! open until it is killed.

use tauri::webview::PageLoadEvent;
use tauri::{WebviewUrl, WebviewWindowBuilder};

/// One paragraph, and a script that reports the first frame after the load event.
const PAGE: &[u8] = b"<!doctype html><title>Empty</title><p>Empty</p><script>\
addEventListener('load', () => requestAnimationFrame(() => \
fetch('/frame?' + Math.round(performance.timeOrigin + performance.now()) + '&' + \
Math.round(performance.timeOrigin))));</script>";

fn main() {
    // Served by the app itself, as Tauri serves Rolecall's page (`tauri://`).
    let url = match "empty://localhost/".parse() {
        Ok(url) => WebviewUrl::CustomProtocol(url),
        Err(e) => {
            eprintln!("empty_window: bad page URL: {e}");
            std::process::exit(1);
        }
    };
    let result = tauri::Builder::default()
        .register_uri_scheme_protocol("empty", |_, request| {
            // The page says when its first frame after the load event starts to be drawn
            // (its own clock, ms since the Unix epoch), as Rolecall's page reports its first
            // frame with roles.
            if request.uri().path() == "/frame" {
                // `<frame>&<navigation>`: both ms since the Unix epoch.
                let query = request.uri().query().unwrap_or_default();
                let (at, navigation) = query.split_once('&').unwrap_or((query, ""));
                println!(
                    "empty window: first frame at epoch_ms {at} navigation at epoch_ms {navigation}"
                );
                return tauri::http::Response::builder()
                    .body(Vec::new())
                    .unwrap_or_default();
            }
            tauri::http::Response::builder()
                .header("Content-Type", "text/html")
                .body(PAGE.to_vec())
                .unwrap_or_default()
        })
        .setup(move |app| {
            WebviewWindowBuilder::new(app, "main", url)
                .title("Empty")
                .on_page_load(|_, payload| {
                    if payload.event() == PageLoadEvent::Finished {
                        let ns = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_nanos());
                        println!("empty window: page loaded at {ns}");
                    }
                })
                .build()?;
            Ok(())
        })
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("empty_window: {e}");
        std::process::exit(1);
    }
}
