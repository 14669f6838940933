//! The SSO sign-in of each session (token + client registration) as one item in the OS
//! keychain: Secret Service on Linux (gnome-keyring, KWallet), the macOS Keychain, the Windows
//! Credential Manager. Service `rolecall`, account `sso-session:<name>`.
//!
//! This is the only place Rolecall persists a secret, and only the SSO sign-in: role
//! credentials never come here. A missing or locked keychain is reported as
//! [`StoreError::Unavailable`] / [`StoreError::Locked`], which the engine turns into a warning
//! while sign-in goes on in memory.

use rolecall_engine::token_store::{StoreError, StoredLogin, TokenStore};

const SERVICE: &str = "rolecall";

#[derive(Debug, Clone)]
pub struct KeychainStore {
    service: String,
}

impl Default for KeychainStore {
    fn default() -> Self {
        Self {
            service: SERVICE.into(),
        }
    }
}

impl KeychainStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store under another service name (tests keep their items apart with it).
    pub fn with_service(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
        }
    }

    fn entry(&self, session: &str) -> Result<keyring::Entry, StoreError> {
        keyring::Entry::new(&self.service, &format!("sso-session:{session}")).map_err(map_err)
    }

    /// Checks that the keychain can be written and read, without keeping anything.
    pub fn probe(&self) -> Result<(), StoreError> {
        // An item of its own for each probe: two processes (or threads) probing one shared
        // item race, one deleting it while the other writes, and the loser would fall back to
        // memory for its whole run.
        static PROBES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let entry = self.entry(&format!("__probe__.{}.{n}", std::process::id()))?;
        entry.set_password("probe").map_err(map_err)?;
        let _ = entry.delete_credential();
        Ok(())
    }
}

fn map_err(e: keyring::Error) -> StoreError {
    match e {
        keyring::Error::NoStorageAccess(inner) => StoreError::Locked(format!(
            "no access to the keychain ({inner}); unlock it and try again"
        )),
        keyring::Error::PlatformFailure(inner) => {
            StoreError::Unavailable(format!("no keychain service answered ({inner})"))
        }
        keyring::Error::BadEncoding(_) => {
            StoreError::Corrupt("the keychain item is not UTF-8".into())
        }
        other => StoreError::Unavailable(other.to_string()),
    }
}

impl TokenStore for KeychainStore {
    fn load(&self, session: &str) -> Result<Option<StoredLogin>, StoreError> {
        match self.entry(session)?.get_password() {
            Ok(text) => StoredLogin::from_keychain_json(&text).map(Some),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_err(e)),
        }
    }

    fn save(&self, session: &str, login: &StoredLogin) -> Result<(), StoreError> {
        self.entry(session)?
            .set_password(login.to_keychain_json().expose())
            .map_err(map_err)
    }

    fn delete(&self, session: &str) -> Result<(), StoreError> {
        match self.entry(session)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_err(e)),
        }
    }
}
