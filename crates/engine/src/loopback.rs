//! The loopback listener that receives the PKCE redirect (RFC 8252): `127.0.0.1`, a port the
//! OS picks, path `/oauth/callback`. It answers the browser with a short page and hands
//! `code`/`state` (or `error`) to the waiting sign-in, once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use tokio::sync::oneshot;

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
    shutdown: Option<oneshot::Sender<()>>,
}

type Slot = Arc<Mutex<Option<oneshot::Sender<Callback>>>>;

async fn callback(
    State(slot): State<Slot>,
    Query(params): Query<HashMap<String, String>>,
) -> Html<&'static str> {
    let ok = params.contains_key("code");
    if let Some(tx) = slot
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
}

impl LoopbackListener {
    pub async fn bind() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let (tx, rx) = oneshot::channel();
        let slot: Slot = Arc::new(Mutex::new(Some(tx)));
        let app = Router::new()
            .route("/oauth/callback", get(callback))
            .with_state(slot);
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stop_rx.await;
                })
                .await;
        });
        Ok(Self {
            port,
            rx,
            shutdown: Some(stop_tx),
        })
    }

    /// `http://127.0.0.1:<port>/oauth/callback`
    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/oauth/callback", self.port)
    }

    /// Waits for the browser to come back.
    pub async fn wait(mut self) -> Option<Callback> {
        let got = (&mut self.rx).await.ok();
        // Give the browser its page before the server goes away.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        got
    }
}

impl Drop for LoopbackListener {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
