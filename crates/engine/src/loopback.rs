//! The loopback listener that receives the PKCE redirect (RFC 8252): `127.0.0.1`, a port the
//! OS picks, path `/oauth/callback`.
//!
//! Any local process can reach it, so only the callback carrying the sign-in's own `state`
//! ends the wait: a request with another (or no) `state` is answered "not this sign-in" and
//! the listener keeps waiting for the real browser. It serves behind the engine's
//! [`crate::gate::Gate`], so idle connections cannot crowd it out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::gate::{Gate, bound};
use crate::secret::Secret;

/// What came back on the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub params: HashMap<String, String>,
}

/// A bound listener waiting for one callback.
#[derive(Debug)]
pub struct LoopbackListener {
    port: u16,
    rx: oneshot::Receiver<Callback>,
    stop: CancellationToken,
}

#[derive(Debug)]
struct Waiting {
    state_digest: [u8; 32],
    slot: Mutex<Option<oneshot::Sender<Callback>>>,
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

async fn callback(
    State(waiting): State<Arc<Waiting>>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    // Digests of equal length, compared whole: how long this takes says nothing of the state.
    let presented = digest(params.get("state").map_or("", String::as_str));
    let matches = presented
        .iter()
        .zip(waiting.state_digest.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0;
    if !matches {
        tracing::warn!(
            "sign-in callback with another state ignored; still waiting for the browser"
        );
        return (
            StatusCode::BAD_REQUEST,
            Html(
                "<!doctype html><title>Rolecall</title><h1>Not this sign-in</h1><p>This answer does not belong to the sign-in Rolecall is waiting for.</p>",
            ),
        )
            .into_response();
    }
    let ok = params.contains_key("code");
    if let Some(tx) = waiting
        .slot
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
    {
        let _ = tx.send(Callback { params });
    }
    Html(if ok {
        "<!doctype html><title>Rolecall</title><h1>Signed in</h1><p>You can close this tab and return to Rolecall.</p>"
    } else {
        "<!doctype html><title>Rolecall</title><h1>Sign-in did not complete</h1><p>Return to Rolecall to try again.</p>"
    })
    .into_response()
}

impl LoopbackListener {
    /// Listens for the callback of the sign-in whose `state` is `state`.
    pub async fn bind(state: &Secret) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let (tx, rx) = oneshot::channel();
        let waiting = Arc::new(Waiting {
            state_digest: digest(state.expose()),
            slot: Mutex::new(Some(tx)),
        });
        let app = Router::new()
            .route("/oauth/callback", get(callback))
            .with_state(waiting);
        let stop = CancellationToken::new();
        crate::local_http::spawn(
            "sign-in callback",
            listener,
            app,
            Gate::new(bound(32)),
            stop.clone(),
        );
        Ok(Self { port, rx, stop })
    }

    /// `http://127.0.0.1:<port>/oauth/callback`
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/oauth/callback", self.port)
    }

    /// Waits for the browser to come back with the sign-in's own state.
    pub async fn wait(mut self) -> Option<Callback> {
        let got = (&mut self.rx).await.ok();
        // Give the browser its page before the server goes away.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        got
    }
}

impl Drop for LoopbackListener {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(url: &str) -> (u16, String) {
        let url = url::Url::parse(url).expect("url");
        let mut stream = tokio::net::TcpStream::connect((
            url.host_str().expect("host"),
            url.port().expect("port"),
        ))
        .await
        .expect("connect");
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let target = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        stream
            .write_all(
                format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await
            .expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.expect("read");
        let status = answer[9..12].parse().expect("status");
        (status, answer)
    }

    #[tokio::test]
    async fn a_callback_with_another_state_is_ignored_and_the_wait_goes_on() {
        let state = Secret::new("the-real-state");
        let listener = LoopbackListener::bind(&state).await.expect("bind");
        let uri = listener.redirect_uri();
        let waiting = tokio::spawn(listener.wait());

        let (status, page) = get(&format!("{uri}?code=evil&state=guess")).await;
        assert_eq!(status, 400);
        assert!(page.contains("Not this sign-in"));
        let (status, _) = get(&format!("{uri}?code=evil")).await;
        assert_eq!(status, 400, "no state at all");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(!waiting.is_finished(), "still waiting for the browser");

        let (status, page) = get(&format!("{uri}?code=good&state=the-real-state")).await;
        assert_eq!(status, 200);
        assert!(page.contains("Signed in"));
        let callback = waiting.await.expect("joined").expect("callback");
        assert_eq!(callback.params["code"], "good");
    }
}
