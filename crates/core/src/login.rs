//! Signing in with the steps shown to the person: one loop for the CLI (in its own process)
//! and the agent (for a CLI that asked it), so both honour the same preference and show the
//! same steps.

use std::time::SystemTime;

use rolecall_engine::session::SsoSession;
use rolecall_engine::signin::SignInMethod;
use tokio::sync::broadcast::error::RecvError;

use crate::agent::SignInStep;
use crate::error::CoreError;
use crate::rolecall::Rolecall;

impl Rolecall {
    /// The device code when asked for, else the config's `sign_in_method` (PKCE by default).
    pub fn sign_in_method(&self, device_code: bool) -> SignInMethod {
        if device_code {
            SignInMethod::DeviceCode
        } else {
            self.config().preferences.sign_in_method
        }
    }

    /// Signs `session` in, handing each step for this session (a code to type, a page to open,
    /// a keychain warning) to `on_step` as it comes. The sign-in runs on a task of its own, so
    /// it finishes (and is kept) even if the caller goes away.
    pub async fn sign_in_with_steps(
        &self,
        session: &SsoSession,
        device_code: bool,
        mut on_step: impl FnMut(SignInStep),
    ) -> Result<SystemTime, CoreError> {
        let method = self.sign_in_method(device_code);
        let mut events = self.signin().subscribe();
        let signin = self.signin().clone();
        let s = session.clone();
        let mut task = tokio::spawn(async move { signin.sign_in(&s, method).await });
        let joined = loop {
            tokio::select! {
                done = &mut task => break done,
                event = events.recv() => match event {
                    Ok(event) => {
                        if let Some(step) = SignInStep::from_event(&event)
                            && step.session().is_none_or(|name| name == session.name)
                        {
                            on_step(step);
                        }
                    }
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break (&mut task).await,
                },
            }
        };
        Ok(joined.map_err(|e| CoreError::Invalid(format!("the sign-in stopped: {e}")))??)
    }
}
