//! The console handoff: how a console sign-in URL reaches the browser without sitting in a
//! process's arguments, where every local user can read it (`/proc/<pid>/cmdline`).
//!
//! The sign-in URL (it carries a `SigninToken`, or the whole login behind a logout) stays in
//! Rolecall's memory. The browser is handed `http://127.0.0.1:<port>/open/<id>` instead: a
//! random id, good for one request and [`TTL`], answered with a redirect to the real URL. On
//! Linux the connection must also come from this user, through either address family (the
//! kernel's socket tables say whose it is: `rolecall_engine::peer`, checked by the door every
//! local server shares), so another user who reads the short URL from the browser's arguments
//! cannot take it first.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use rolecall_engine::clock::Clock;
use rolecall_engine::secret::Secret;
use rolecall_engine::sync::lock;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use rolecall_engine::gate::{Gate, bound};

/// How long an offered URL can be taken.
pub const TTL: Duration = Duration::from_secs(30);

#[derive(Debug)]
struct Waiting {
    target: Secret,
    expires: SystemTime,
    taken: watch::Sender<bool>,
}

#[derive(Debug)]
struct Shared {
    offers: Mutex<HashMap<String, Waiting>>,
    clock: Arc<dyn Clock>,
    addr: SocketAddr,
}

/// A running handoff server. Dropping it stops it.
#[derive(Debug)]
pub struct Handoff {
    shared: Arc<Shared>,
    stop: CancellationToken,
}

/// A URL offered to the browser.
#[derive(Debug)]
pub struct Offer {
    /// The one-time loopback URL to open (a secret until it is taken).
    pub url: Secret,
    taken: watch::Receiver<bool>,
}

impl Offer {
    /// Waits until the browser took the URL (`true`) or it expired (`false`).
    pub async fn taken(mut self, clock: &dyn Clock) -> bool {
        let check = self.taken.clone();
        tokio::select! {
            changed = self.taken.wait_for(|t| *t) => changed.is_ok(),
            _ = clock.sleep(TTL) => *check.borrow(),
        }
    }
}

impl Handoff {
    /// Listens on 127.0.0.1 (a port the OS picks).
    pub async fn start(clock: Arc<dyn Clock>) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            offers: Mutex::new(HashMap::new()),
            clock,
            addr,
        });
        let app = Router::new()
            .route("/open/{id}", get(take))
            .with_state(shared.clone());
        let stop = CancellationToken::new();
        rolecall_engine::local_http::spawn(
            "console handoff",
            listener,
            app,
            Gate::new(bound(64)),
            stop.clone(),
        );
        Ok(Self { shared, stop })
    }

    /// Offers `target` once, for [`TTL`].
    pub fn offer(&self, target: Secret) -> Offer {
        let mut bytes = [0u8; 32];
        rand::rng().fill(&mut bytes);
        let id = URL_SAFE_NO_PAD.encode(bytes);
        let (tx, rx) = watch::channel(false);
        let now = self.shared.clock.now();
        let mut offers = lock(&self.shared.offers);
        offers.retain(|_, w| w.expires > now);
        offers.insert(
            id.clone(),
            Waiting {
                target,
                expires: now + TTL,
                taken: tx,
            },
        );
        Offer {
            url: Secret::new(format!("http://{}/open/{id}", self.shared.addr)),
            taken: rx,
        }
    }
}

impl Drop for Handoff {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        Html(format!(
            "<!doctype html><title>Rolecall</title><h1>{title}</h1><p>{text}</p>"
        )),
    )
        .into_response()
}

/// Another user's connection never gets here: the door (`local_http`) answers it 403.
async fn take(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let now = shared.clock.now();
    let waiting = lock(&shared.offers).remove(&id);
    match waiting {
        Some(w) if w.expires > now => {
            w.taken.send_replace(true);
            tracing::info!("console handoff: taken");
            (
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, w.target.expose().to_owned()),
                    (header::CACHE_CONTROL, "no-store".to_owned()),
                    (header::REFERRER_POLICY, "no-referrer".to_owned()),
                ],
            )
                .into_response()
        }
        _ => page(
            StatusCode::GONE,
            "This link was used or has expired",
            "Open the console from Rolecall again.",
        ),
    }
}
