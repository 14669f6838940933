//! Valid access tokens: handed out while they have time left, refreshed with the refresh token
//! shortly before they expire (one refresh at a time), dropped when the portal refuses them.

use std::time::SystemTime;

use super::{SignIn, SignInError};
use crate::api::Grant;
use crate::secret::Secret;
use crate::session::SsoSession;
use crate::sync::lock;
use crate::token_store::StoredLogin;

impl SignIn {
    /// A valid access token for `session`, refreshed first when it is close to expiry.
    pub async fn access_token(&self, session: &SsoSession) -> Result<Secret, SignInError> {
        let login = self
            .current(session)
            .ok_or_else(|| SignInError::SignInRequired(session.name.clone()))?;
        let now = self.clock.now();
        if login.expires_at > now + self.options.refresh_before {
            return Ok(login.access_token);
        }
        let _one_refresh_at_a_time = self.refreshing.lock().await;
        // Someone else may have refreshed while we waited.
        let login = self
            .current(session)
            .ok_or_else(|| SignInError::SignInRequired(session.name.clone()))?;
        let now = self.clock.now();
        if login.expires_at > now + self.options.refresh_before {
            return Ok(login.access_token);
        }
        let still_valid = login.expires_at > now;
        let (Some(refresh), true) = (
            login.refresh_token.clone(),
            login.registration.expires_at > now,
        ) else {
            return if still_valid {
                Ok(login.access_token)
            } else {
                self.ended(&session.name);
                Err(SignInError::SignInRequired(session.name.clone()))
            };
        };
        let answer = self
            .connector
            .oidc(session)
            .create_token(&login.registration, &Grant::RefreshToken(refresh.clone()))
            .await;
        // A new sign-in may have taken over while the refresh was on its way: it wins, whatever
        // the service said about the old one. A sign-out on the way wins too.
        match self.current(session) {
            None => return Err(SignInError::SignInRequired(session.name.clone())),
            Some(newer) if newer.access_token != login.access_token => {
                return Ok(newer.access_token);
            }
            Some(_) => {}
        }
        match answer {
            Ok(grant) => {
                let expires_at = now + grant.expires_in;
                let token = grant.access_token.clone();
                self.remember(
                    &session.name,
                    StoredLogin {
                        access_token: grant.access_token,
                        expires_at,
                        refresh_token: grant.refresh_token.or(Some(refresh)),
                        ..login
                    },
                );
                Ok(token)
            }
            Err(e) if e.is_transient() && still_valid => {
                tracing::warn!("token refresh failed, using the current token: {e}");
                Ok(login.access_token)
            }
            Err(e) if e.is_transient() => Err(SignInError::from_api(&session.name, e)),
            Err(e) => {
                tracing::info!(
                    "refresh refused ({e}); session {} must sign in again",
                    session.name
                );
                self.ended(&session.name);
                Err(SignInError::SignInRequired(session.name.clone()))
            }
        }
    }

    /// The sign-in of `session` is over: dropped, and said so once.
    fn ended(&self, session: &str) {
        self.forget(session);
        self.emit(super::SignInEvent::Ended {
            session: session.to_owned(),
        });
    }

    /// The portal refused the token (401): drop the access token so the next request refreshes,
    /// and if there is nothing to refresh with, the session must sign in again.
    pub fn token_rejected(&self, session: &SsoSession) {
        let mut memory = lock(&self.memory);
        if let Some(login) = memory.get_mut(&session.name) {
            login.expires_at = SystemTime::UNIX_EPOCH;
        }
    }
}
