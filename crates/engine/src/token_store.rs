//! Where an SSO sign-in (the token and its client registration) is kept between runs.
//!
//! The only persistent store allowed is the OS keychain (`rolecall-keychain`); never a plain
//! file. [`MemoryStore`] serves unit tests and runs where the keychain is missing or locked.
//! Role credentials are never stored here or anywhere else.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::api::ClientRegistration;
use crate::secret::Secret;

/// One signed-in SSO session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLogin {
    pub start_url: String,
    pub region: String,
    pub registration: ClientRegistration,
    pub access_token: Secret,
    pub expires_at: SystemTime,
    pub refresh_token: Option<Secret>,
    /// When the person signed in (a refresh keeps it): with the session's duration, when the
    /// sign-in ends. `None` for items kept before Rolecall recorded it.
    pub signed_in_at: Option<SystemTime>,
}

impl StoredLogin {
    /// Whether this sign-in belongs to `session` as configured now (same start URL and
    /// region): a session renamed onto another organisation never inherits it.
    pub fn is_for(&self, session: &crate::session::SsoSession) -> bool {
        self.start_url == session.start_url && session.region == *self.region
    }
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeychainForm {
    version: u32,
    start_url: String,
    region: String,
    client_id: String,
    client_secret: String,
    registration_expires_at: u64,
    redirect_uri: Option<String>,
    access_token: String,
    expires_at: u64,
    refresh_token: Option<String>,
    #[serde(default)]
    signed_in_at: Option<u64>,
}

impl StoredLogin {
    /// The JSON kept in the keychain item. It holds secrets, so it is a [`Secret`].
    pub fn to_keychain_json(&self) -> Secret {
        let value = serde_json::json!({
            "version": 1,
            "startUrl": self.start_url,
            "region": self.region,
            "clientId": self.registration.client_id,
            "clientSecret": self.registration.client_secret.expose(),
            "registrationExpiresAt": secs(self.registration.expires_at),
            "redirectUri": self.registration.redirect_uri,
            "accessToken": self.access_token.expose(),
            "expiresAt": secs(self.expires_at),
            "refreshToken": self.refresh_token.as_ref().map(Secret::expose),
            "signedInAt": self.signed_in_at.map(secs),
        });
        Secret::new(value.to_string())
    }

    pub fn from_keychain_json(text: &str) -> Result<Self, StoreError> {
        let form: KeychainForm = serde_json::from_str(text)
            .map_err(|e| StoreError::Corrupt(format!("keychain item is not valid: {e}")))?;
        if form.version != 1 {
            return Err(StoreError::Corrupt(format!(
                "keychain item has unknown version {}",
                form.version
            )));
        }
        let at = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
        Ok(Self {
            start_url: form.start_url,
            region: form.region,
            registration: ClientRegistration {
                client_id: form.client_id,
                client_secret: Secret::new(form.client_secret),
                expires_at: at(form.registration_expires_at),
                redirect_uri: form.redirect_uri,
            },
            access_token: Secret::new(form.access_token),
            expires_at: at(form.expires_at),
            refresh_token: form.refresh_token.map(Secret::new),
            signed_in_at: form.signed_in_at.map(at),
        })
    }
}

/// Why the store failed. Unavailable means "no keychain here": sign-in still works, in memory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("the OS keychain is not available: {0}")]
    Unavailable(String),
    #[error("the OS keychain is locked: {0}")]
    Locked(String),
    #[error("the stored sign-in is unreadable: {0}")]
    Corrupt(String),
}

pub trait TokenStore: Send + Sync + std::fmt::Debug {
    fn load(&self, session: &str) -> Result<Option<StoredLogin>, StoreError>;
    fn save(&self, session: &str, login: &StoredLogin) -> Result<(), StoreError>;
    fn delete(&self, session: &str) -> Result<(), StoreError>;
}

/// Keeps sign-ins for the life of the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    items: Mutex<HashMap<String, StoredLogin>>,
}

impl MemoryStore {
    fn items(&self) -> std::sync::MutexGuard<'_, HashMap<String, StoredLogin>> {
        self.items
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl TokenStore for MemoryStore {
    fn load(&self, session: &str) -> Result<Option<StoredLogin>, StoreError> {
        Ok(self.items().get(session).cloned())
    }
    fn save(&self, session: &str, login: &StoredLogin) -> Result<(), StoreError> {
        self.items().insert(session.to_owned(), login.clone());
        Ok(())
    }
    fn delete(&self, session: &str) -> Result<(), StoreError> {
        self.items().remove(session);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keychain_json_round_trips() {
        let login = StoredLogin {
            start_url: "https://d-1.awsapps.com/start".into(),
            region: "eu-west-1".into(),
            registration: ClientRegistration {
                client_id: "cid".into(),
                client_secret: Secret::new("csecret"),
                expires_at: UNIX_EPOCH + Duration::from_secs(2_000_000_000),
                redirect_uri: None,
            },
            access_token: Secret::new("at"),
            expires_at: UNIX_EPOCH + Duration::from_secs(1_900_000_000),
            refresh_token: Some(Secret::new("rt")),
            signed_in_at: Some(UNIX_EPOCH + Duration::from_secs(1_899_990_000)),
        };
        let json = login.to_keychain_json();
        assert_eq!(
            StoredLogin::from_keychain_json(json.expose()),
            Ok(login.clone())
        );
        assert!(!format!("{login:?}").contains("csecret"));
        assert!(matches!(
            StoredLogin::from_keychain_json("{}"),
            Err(StoreError::Corrupt(_))
        ));
    }
}
