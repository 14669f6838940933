//! The client registration: RegisterClient for the flow at hand (device code, or PKCE with a
//! loopback redirect), reused while it fits the flow and has more than a day left.

use super::{DEVICE_GRANT, SCOPE_ACCESS, SignIn, SignInError, SignInMethod};
use crate::api::{ClientRegistration, RegisterRequest};
use crate::session::SsoSession;
use crate::token_store::StoredLogin;

impl SignIn {
    /// Reuses the previous registration when it fits the method and has time left.
    pub(super) async fn registration(
        &self,
        session: &SsoSession,
        method: SignInMethod,
        previous: Option<&StoredLogin>,
    ) -> Result<ClientRegistration, SignInError> {
        if let Some(prev) = previous {
            let fits = prev.registration.redirect_uri.is_some() == (method == SignInMethod::Pkce);
            let fresh =
                prev.registration.expires_at > self.clock.now() + self.options.registration_margin;
            if fits && fresh {
                return Ok(prev.registration.clone());
            }
        }
        self.register(session, method).await
    }

    pub(super) async fn register(
        &self,
        session: &SsoSession,
        method: SignInMethod,
    ) -> Result<ClientRegistration, SignInError> {
        let request = match method {
            SignInMethod::DeviceCode => RegisterRequest {
                client_name: self.options.client_name.clone(),
                scopes: vec![SCOPE_ACCESS.into()],
                grant_types: vec![DEVICE_GRANT.into(), "refresh_token".into()],
                redirect_uris: vec![],
                issuer_url: None,
            },
            SignInMethod::Pkce => RegisterRequest {
                client_name: self.options.client_name.clone(),
                scopes: vec![SCOPE_ACCESS.into()],
                grant_types: vec!["authorization_code".into(), "refresh_token".into()],
                redirect_uris: vec!["http://127.0.0.1/oauth/callback".into()],
                issuer_url: Some(session.start_url.clone()),
            },
        };
        self.connector
            .oidc(session)
            .register_client(&request)
            .await
            .map_err(|e| SignInError::from_api(&session.name, e))
    }
}
