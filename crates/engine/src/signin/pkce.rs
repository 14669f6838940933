//! Authorization code with PKCE (S256) through a loopback redirect: the browser signs in, the
//! loopback listener takes only the callback carrying this sign-in's `state`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::{SCOPE_ACCESS, SignIn, SignInError, SignInEvent, random_token};
use crate::api::{ClientRegistration, Grant, TokenGrant};
use crate::loopback::LoopbackListener;
use crate::secret::Secret;
use crate::session::SsoSession;

impl SignIn {
    pub(super) async fn pkce_flow(
        &self,
        session: &SsoSession,
        registration: &ClientRegistration,
        cancel: &CancellationToken,
    ) -> Result<TokenGrant, SignInError> {
        let verifier = random_token(48);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.expose().as_bytes()));
        let state = random_token(24);
        let listener = LoopbackListener::bind(&state)
            .await
            .map_err(|e| SignInError::Loopback(e.to_string()))?;
        let redirect_uri = listener.redirect_uri();
        let mut url = url::Url::parse(&format!(
            "{}/authorize",
            session.oidc_url().trim_end_matches('/')
        ))
        .map_err(|e| SignInError::Refused(format!("the OIDC endpoint is not a URL: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &registration.client_id)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("state", state.expose())
            .append_pair("code_challenge_method", "S256")
            .append_pair("scopes", SCOPE_ACCESS)
            .append_pair("code_challenge", &challenge);
        let timeout = self.options.browser_timeout;
        self.emit(SignInEvent::OpenBrowser {
            session: session.name.clone(),
            url: url.to_string(),
            expires_at: self.clock.now() + timeout,
        });
        let callback = tokio::select! {
            _ = cancel.cancelled() => return Err(SignInError::Cancelled),
            _ = self.clock.sleep(timeout) => return Err(SignInError::TimedOut(timeout)),
            got = listener.wait() => got.ok_or(SignInError::Cancelled)?,
        };
        let param = |k: &str| callback.params.get(k).map(String::as_str);
        if param("state") != Some(state.expose()) {
            return Err(SignInError::StateMismatch);
        }
        if let Some(error) = param("error") {
            return Err(if error == "access_denied" {
                SignInError::Denied
            } else {
                SignInError::Refused(error.to_owned())
            });
        }
        let code = param("code")
            .ok_or_else(|| SignInError::Refused("the browser came back without a code".into()))?;
        self.connector
            .oidc(session)
            .create_token(
                registration,
                &Grant::AuthorizationCode {
                    code: Secret::new(code),
                    redirect_uri,
                    code_verifier: verifier,
                },
            )
            .await
            .map_err(|e| SignInError::from_api(&session.name, e))
    }
}
