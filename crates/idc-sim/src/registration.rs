//! Client registrations that survive a restart of the simulator.
//!
//! Real clients cache a registration for about 90 days, so a simulator that forgets its
//! clients on restart breaks them with `InvalidClientException`. Instead of a file, the client
//! secret carries the registration itself, signed with the simulator's registration key:
//! `sim1.<base64url(JSON)>.<base64url(HMAC-SHA256)>`. Any simulator with the same key accepts it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// What a client registered with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub client_id: String,
    pub client_name: String,
    pub scopes: Vec<String>,
    pub grant_types: Vec<String>,
    pub redirect_uris: Vec<String>,
    /// Epoch seconds.
    pub issued_at: i64,
    /// Epoch seconds.
    pub expires_at: i64,
}

impl Registration {
    /// Whether tokens issued to this client come with a refresh token.
    pub fn refreshable(&self) -> bool {
        self.scopes.iter().any(|s| s == "sso:account:access")
    }
}

const PREFIX: &str = "sim1";

fn mac(key: &str) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any length")
}

/// Makes the client secret for a registration.
pub fn seal(key: &str, registration: &Registration) -> String {
    let payload = serde_json::to_vec(registration).expect("a registration serialises");
    let body = URL_SAFE_NO_PAD.encode(payload);
    let mut m = mac(key);
    m.update(PREFIX.as_bytes());
    m.update(b".");
    m.update(body.as_bytes());
    let tag = URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
    format!("{PREFIX}.{body}.{tag}")
}

/// Reads back a client secret; `None` if it was not made with `key` or was altered.
pub fn open(key: &str, secret: &str) -> Option<Registration> {
    let mut parts = secret.split('.');
    let (prefix, body, tag) = (parts.next()?, parts.next()?, parts.next()?);
    if prefix != PREFIX || parts.next().is_some() {
        return None;
    }
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    let mut m = mac(key);
    m.update(PREFIX.as_bytes());
    m.update(b".");
    m.update(body.as_bytes());
    m.verify_slice(&tag).ok()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg() -> Registration {
        Registration {
            client_id: "cid".into(),
            client_name: "rolecall".into(),
            scopes: vec!["sso:account:access".into()],
            grant_types: vec![],
            redirect_uris: vec![],
            issued_at: 1,
            expires_at: 2,
        }
    }

    #[test]
    fn round_trips_and_rejects_tampering() {
        let secret = seal("k", &reg());
        assert_eq!(open("k", &secret), Some(reg()));
        assert_eq!(open("other key", &secret), None);
        let mut tampered = secret.clone();
        tampered.insert(8, 'A');
        assert_eq!(open("k", &tampered), None);
        assert_eq!(open("k", "garbage"), None);
    }
}
