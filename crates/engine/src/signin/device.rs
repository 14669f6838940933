//! The device code flow (RFC 8628): the user code is shown, the service's verification page
//! opened only if it is IAM Identity Center's, and the token polled for at the service's pace.

use std::time::Duration;

use super::{SignIn, SignInError, SignInEvent};
use crate::api::{ApiError, ClientRegistration, Grant, TokenGrant};
use crate::session::SsoSession;
use tokio_util::sync::CancellationToken;

/// The longest a device code is waited on, whatever the service says it lasts (AWS's last 10
/// minutes).
pub const DEVICE_CODE_MAX: Duration = Duration::from_secs(15 * 60);
/// The longest first wait between polls, whatever the service asks (AWS asks 1 to 5 s; each
/// `slow_down` still adds 5 s).
pub const POLL_INTERVAL_MAX: Duration = Duration::from_secs(30);

impl SignIn {
    pub(super) async fn device_flow(
        &self,
        session: &SsoSession,
        registration: &ClientRegistration,
        cancel: &CancellationToken,
    ) -> Result<TokenGrant, SignInError> {
        let oidc = self.connector.oidc(session);
        let auth = oidc
            .start_device_authorization(registration, &session.start_url)
            .await
            .map_err(|e| match e {
                ApiError::InvalidRequest(message) => SignInError::StartUrlRejected {
                    start_url: session.start_url.clone(),
                    region: session.region.to_string(),
                    message,
                },
                e => SignInError::from_api(&session.name, e),
            })?;
        for page in std::iter::once(&auth.verification_uri).chain(&auth.verification_uri_complete) {
            let fits = url::Url::parse(page).is_ok_and(|u| session.is_sign_in_page(&u));
            if !fits {
                return Err(SignInError::Refused(format!(
                    "the service named a sign-in page that is not IAM Identity Center's ({:?}); it was not opened",
                    crate::text::printable(page)
                )));
            }
        }
        // What the service states is believed within bounds: AWS's device codes last 10
        // minutes and are asked after every few seconds.
        let deadline = self.clock.now() + auth.expires_in.min(DEVICE_CODE_MAX);
        self.emit(SignInEvent::DeviceCode {
            session: session.name.clone(),
            user_code: auth.user_code.clone(),
            verification_uri: auth.verification_uri.clone(),
            verification_uri_complete: auth.verification_uri_complete.clone(),
            expires_at: deadline,
        });
        let mut interval = auth
            .interval
            .clamp(Duration::from_secs(1), POLL_INTERVAL_MAX);
        let grant = Grant::DeviceCode(auth.device_code.clone());
        let mut network_failures = 0;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return Err(SignInError::Cancelled),
                _ = self.clock.sleep(interval) => {}
            }
            if self.clock.now() >= deadline {
                return Err(SignInError::Expired);
            }
            match oidc.create_token(registration, &grant).await {
                Ok(token) => return Ok(token),
                Err(ApiError::AuthorizationPending) => network_failures = 0,
                Err(ApiError::SlowDown) => interval += Duration::from_secs(5),
                Err(ApiError::Expired(_)) => return Err(SignInError::Expired),
                Err(ApiError::AccessDenied) => return Err(SignInError::Denied),
                Err(e) if e.is_transient() => {
                    network_failures += 1;
                    tracing::warn!("device sign-in poll failed ({network_failures}): {e}");
                    if network_failures >= 5 {
                        return Err(SignInError::from_api(&session.name, e));
                    }
                }
                Err(e) => return Err(SignInError::from_api(&session.name, e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fakes::*;
    use super::super::*;
    use crate::api::ApiError;

    /// The service states how long its device code lasts and how often to ask. AWS's last
    /// 10 minutes and ask every few seconds; a service that states a year for both (hostile
    /// or broken) must not leave the sign-in waiting a year before its first poll, or polling
    /// for ever while it answers "pending".
    #[tokio::test]
    async fn a_device_code_is_waited_on_for_minutes_not_for_what_the_service_says() {
        let (clock, oidc, signin) = rig(vec![]);
        let year = Duration::from_secs(365 * 86_400);
        *lock(&oidc.device_timing) = (year, year);
        let start = clock.now();
        let s = signin.clone();
        let task =
            tokio::spawn(async move { s.sign_in(&session(), SignInMethod::DeviceCode).await });
        let outcome = run_on_fake_clock(&clock, task).await;
        assert!(matches!(outcome, Err(SignInError::Expired)), "{outcome:?}");
        let waited = clock.now().duration_since(start).expect("after");
        assert!(
            waited <= Duration::from_secs(20 * 60),
            "still waiting after {waited:?}"
        );
        let polls = lock(&oidc.polls).clone();
        assert!(polls.len() >= 10, "asked {} times", polls.len());
        let first = polls[0].duration_since(start).expect("after");
        assert!(
            first <= Duration::from_secs(60),
            "first poll after {first:?}"
        );
    }

    #[tokio::test]
    async fn slow_down_adds_five_seconds_for_good() {
        let (clock, oidc, signin) = rig(vec![
            Err(ApiError::AuthorizationPending),
            Err(ApiError::SlowDown),
            Err(ApiError::AuthorizationPending),
            Err(ApiError::AuthorizationPending),
            Ok(grant()),
        ]);
        let start = clock.now();
        let s = signin.clone();
        let task =
            tokio::spawn(async move { s.sign_in(&session(), SignInMethod::DeviceCode).await });
        let expires = run_on_fake_clock(&clock, task).await.expect("signed in");
        let offsets: Vec<u64> = lock(&oidc.polls)
            .iter()
            .map(|t| t.duration_since(start).expect("after").as_secs())
            .collect();
        // Polls at the 5 s interval, then every 10 s after the slow_down.
        assert_eq!(offsets, [5, 10, 20, 30, 40]);
        assert_eq!(expires, start + Duration::from_secs(40 + 3600));
        assert!(signin.status(&session()).signed_in);
    }

    #[tokio::test]
    async fn expiry_and_denial_end_the_polling() {
        let (clock, oidc, signin) = rig(vec![]);
        let s = signin.clone();
        let task =
            tokio::spawn(async move { s.sign_in(&session(), SignInMethod::DeviceCode).await });
        assert_eq!(
            run_on_fake_clock(&clock, task).await,
            Err(SignInError::Expired)
        );
        assert_eq!(
            lock(&oidc.polls).len(),
            119,
            "polled every 5 s until the 600 s code expired"
        );

        let (clock, _, signin) = rig(vec![Err(ApiError::AccessDenied)]);
        let task =
            tokio::spawn(async move { signin.sign_in(&session(), SignInMethod::DeviceCode).await });
        assert_eq!(
            run_on_fake_clock(&clock, task).await,
            Err(SignInError::Denied)
        );
    }

    #[tokio::test]
    async fn a_verification_page_off_aws_is_refused_not_opened() {
        for hostile in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "smb://evil/share",
            "https://evil.example/device",
            "http://127.0.0.1:9/device",
        ] {
            let (clock, oidc, signin) = rig(vec![Ok(grant())]);
            *lock(&oidc.page) = hostile.into();
            let mut events = signin.subscribe();
            let task =
                tokio::spawn(
                    async move { signin.sign_in(&session(), SignInMethod::DeviceCode).await },
                );
            let err = run_on_fake_clock(&clock, task).await.expect_err(hostile);
            assert_eq!(err.code(), "refused", "{hostile}");
            assert!(err.to_string().contains("not opened"), "{err}");
            while let Ok(e) = events.try_recv() {
                assert!(
                    !matches!(e, SignInEvent::DeviceCode { .. }),
                    "{hostile} never reaches the person"
                );
            }
        }
    }

    #[tokio::test]
    async fn transient_errors_are_retried_a_bounded_number_of_times() {
        let network = || Err(ApiError::Network("connection refused".into()));
        let (clock, oidc, signin) =
            rig(vec![network(), network(), network(), network(), network()]);
        let task =
            tokio::spawn(async move { signin.sign_in(&session(), SignInMethod::DeviceCode).await });
        let err = run_on_fake_clock(&clock, task).await.expect_err("gives up");
        assert_eq!(err.code(), "network");
        assert_eq!(lock(&oidc.polls).len(), 5);
    }
}
