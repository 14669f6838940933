//! The CLI's side of the agent socket. Every step has a time limit: connecting, sending the
//! request, and each line of the answer (the agent sends a heartbeat while it works), so a
//! stalled or impostor agent is an error in seconds, never a hang.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use super::protocol::{Answer, Line, Request, SignInStep};
use super::{CLIENT_IDLE_TIMEOUT, PING_TIMEOUT};
use crate::error::CoreError;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest line an agent may send (a catalogue of 100,000 roles is about 15 MB).
const MAX_LINE: u64 = 64 * 1024 * 1024;

/// A running agent the CLI may talk to.
#[derive(Debug, Clone)]
pub struct AgentClient {
    path: PathBuf,
}

#[cfg(unix)]
impl AgentClient {
    /// The agent at `path`: `Ok(None)` when none runs there or it does not answer a ping in
    /// time (the CLI then works without it); an error when the folder or the process on the
    /// other end is not this user's (someone else's socket is never believed).
    pub async fn connect(path: &Path) -> Result<Option<Self>, CoreError> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if std::fs::symlink_metadata(dir).is_err() || std::fs::symlink_metadata(path).is_err() {
            return Ok(None);
        }
        super::private_dir::check(dir).map_err(CoreError::AgentRefused)?;
        let client = Self {
            path: path.to_owned(),
        };
        let ping = tokio::time::timeout(PING_TIMEOUT, client.call(&Request::Ping)).await;
        match ping {
            Ok(Ok(Answer::Pong { .. })) => Ok(Some(client)),
            Ok(Err(e @ CoreError::AgentRefused(_))) => Err(e),
            Ok(Err(CoreError::NoAgent)) => Ok(None),
            Ok(other) => {
                tracing::warn!(
                    "the Rolecall agent at {} answered a ping oddly ({other:?}); working without it",
                    path.display()
                );
                Ok(None)
            }
            Err(_) => {
                tracing::warn!(
                    "the Rolecall agent at {} does not answer; working without it",
                    path.display()
                );
                Ok(None)
            }
        }
    }

    pub async fn call(&self, request: &Request) -> Result<Answer, CoreError> {
        self.call_with_steps(request, |_| {}).await
    }

    /// Sends a request; `on_step` sees each sign-in step before the answer.
    pub async fn call_with_steps(
        &self,
        request: &Request,
        mut on_step: impl FnMut(&SignInStep),
    ) -> Result<Answer, CoreError> {
        let stream = match tokio::time::timeout(
            CONNECT_TIMEOUT,
            tokio::net::UnixStream::connect(&self.path),
        )
        .await
        {
            Ok(Ok(s)) => s,
            _ => return Err(CoreError::NoAgent),
        };
        super::private_dir::check_peer(&stream).map_err(CoreError::AgentRefused)?;
        let (read, mut write) = stream.into_split();
        let mut line =
            serde_json::to_string(request).map_err(|e| CoreError::Invalid(e.to_string()))?;
        line.push('\n');
        tokio::time::timeout(SEND_TIMEOUT, write.write_all(line.as_bytes()))
            .await
            .map_err(|_| CoreError::AgentStalled("it does not take a request".into()))?
            .map_err(|e| CoreError::AgentStalled(format!("it hung up: {e}")))?;
        let mut reader = BufReader::new(read.take(MAX_LINE));
        loop {
            let mut text = String::new();
            let read = tokio::time::timeout(CLIENT_IDLE_TIMEOUT, reader.read_line(&mut text))
                .await
                .map_err(|_| {
                    CoreError::AgentStalled(format!(
                        "nothing from it for {} s",
                        CLIENT_IDLE_TIMEOUT.as_secs()
                    ))
                })?
                .map_err(|e| CoreError::AgentStalled(format!("it hung up: {e}")))?;
            if read == 0 {
                return Err(CoreError::AgentStalled(
                    "it closed the connection without an answer".into(),
                ));
            }
            let line: Line = serde_json::from_str(&text)
                .map_err(|e| CoreError::Invalid(format!("bad answer from the agent: {e}")))?;
            match line {
                Line::Alive => {}
                Line::Step(step) => on_step(&step),
                Line::Done(answer) => return Ok(answer),
                Line::Failed(payload) => return Err(payload.into()),
            }
        }
    }
}

#[cfg(not(unix))]
impl AgentClient {
    pub async fn connect(_path: &Path) -> Result<Option<Self>, CoreError> {
        Ok(None)
    }
    pub async fn call(&self, _request: &Request) -> Result<Answer, CoreError> {
        Err(CoreError::NoAgent)
    }
    pub async fn call_with_steps(
        &self,
        _request: &Request,
        _on_step: impl FnMut(&SignInStep),
    ) -> Result<Answer, CoreError> {
        Err(CoreError::NoAgent)
    }
}
