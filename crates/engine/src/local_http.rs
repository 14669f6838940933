//! Serving an axum router on a loopback listener behind a [`Gate`]: the credential endpoint and
//! the console handoff. `axum::serve` has no bound on connections and no header timeout, so a
//! few hundred idle connections from another local user would stall it; here each connection
//! gets [`REQUEST_READ_TIMEOUT`] to send a request head (also between keep-alive requests, so
//! that is the idle timeout too) and a lifetime bound, and the gate decides who may stay open.
//!
//! Every connection is identified at its first request ([`crate::peer::identify`], whichever address family
//! it came through): one from another user, or one that cannot be identified, is answered 403
//! to every request and never reaches the server's routes.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::gate::{ACCEPT_PAUSE, Gate, REQUEST_READ_TIMEOUT, Working};
use crate::peer::Peer;

/// The answer to every request of a connection from another user (or from nobody known).
fn not_yours() -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::FORBIDDEN,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        "This Rolecall server answers the user who runs it only.\n",
    )
        .into_response()
}

/// No connection to a local server lives longer than this, whatever it does.
pub const MAX_CONNECTION_LIFE: Duration = Duration::from_secs(120);

/// Serves `app` on `listener` until `stop` is cancelled.
pub fn spawn(
    name: &'static str,
    listener: tokio::net::TcpListener,
    app: Router,
    gate: std::sync::Arc<Gate>,
    stop: CancellationToken,
) {
    let local = listener.local_addr().ok();
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = stop.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("{name}: accept failed ({e}); pausing");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            };
            let Some(ticket) = gate.admit() else {
                tracing::debug!("{name}: every connection is busy; one more was closed");
                continue;
            };
            // Identified at its first request, once: a connection that never sends one (a
            // flood of idle ones) costs no read of the kernel's tables.
            let who: Arc<OnceLock<bool>> = Arc::default();
            let busy = ticket.busy_counter();
            let app = app.clone();
            let service =
                hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                    let working = Working::new(busy.clone());
                    request.extensions_mut().insert(ConnectInfo(peer));
                    let app = app.clone();
                    let allowed = *who.get_or_init(|| {
                        let who = local.map_or(Peer::Unknown, |l| crate::peer::identify(peer, l));
                        if !who.may_enter() {
                            tracing::warn!(
                                "{name}: refused a connection from another user ({who:?})"
                            );
                        }
                        who.may_enter()
                    });
                    async move {
                        let response = if allowed {
                            app.oneshot(request).await
                        } else {
                            Ok(not_yours())
                        };
                        drop(working);
                        response
                    }
                });
            let stop = stop.clone();
            tokio::spawn(async move {
                let connection = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(REQUEST_READ_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service);
                tokio::select! {
                    _ = connection => {}
                    _ = ticket.closed() => tracing::debug!("{name}: an idle connection was closed to make room"),
                    _ = tokio::time::sleep(MAX_CONNECTION_LIFE) => {}
                    _ = stop.cancelled() => {}
                }
            });
        }
    });
}
