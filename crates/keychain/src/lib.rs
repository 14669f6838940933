//! The SSO sign-in of each session (token + client registration) as one item in the OS
//! keychain: Secret Service on Linux (gnome-keyring, KWallet), the macOS Keychain, the Windows
//! Credential Manager. Service `rolecall`, account `sso-session:<name>`.
//!
//! This is the only place Rolecall persists a secret, and only the SSO sign-in: role
//! credentials never come here. A missing or locked keychain is reported as
//! [`StoreError::Unavailable`] / [`StoreError::Locked`], which the engine turns into a warning
//! while sign-in goes on in memory.

use std::time::Duration;

use rolecall_engine::token_store::{StoreError, StoredLogin, TokenStore};

const SERVICE: &str = "rolecall";

/// How long one keychain call may take. A Secret Service waiting on a password prompt that
/// nobody can see (no display; a keyring daemon that restarted locked) never answers, and the
/// sign-in would wait with it forever: past this, the call is an error that says so.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// One keychain call at a time in this process. Each call is a D-Bus connection of its own
/// with a Secret Service session (`OpenSession`); gnome-keyring has been seen to abort on a
/// burst of them arriving at once (its client record missing for a new caller's first
/// request), and a daemon that restarts comes back locked. Calls take milliseconds, so a turn
/// costs nothing a person notices; a call stuck past [`TURN_WAIT`] (a prompt nobody answers)
/// does not hold the others back: they go ahead without their turn.
#[derive(Debug)]
struct Turns {
    busy: std::sync::Mutex<bool>,
    freed: std::sync::Condvar,
}

/// How long a call waits for its turn before it goes ahead anyway.
const TURN_WAIT: Duration = Duration::from_secs(1);

static TURNS: Turns = Turns::new();

/// A turn held (or not, when the wait ran out); the next call may go when it is dropped.
struct Turn(Option<&'static Turns>);

impl Turns {
    const fn new() -> Self {
        Self {
            busy: std::sync::Mutex::new(false),
            freed: std::sync::Condvar::new(),
        }
    }

    fn take(&'static self, wait: Duration) -> Turn {
        let busy = self
            .busy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (mut busy, _) = self
            .freed
            .wait_timeout_while(busy, wait, |b| *b)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *busy {
            return Turn(None);
        }
        *busy = true;
        Turn(Some(self))
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(turns) = self.0 {
            *turns
                .busy
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = false;
            turns.freed.notify_one();
        }
    }
}

/// Runs `call` on a thread of its own, in its turn, and waits for it at most `limit`.
fn bounded<T: Send + 'static>(
    what: &'static str,
    limit: Duration,
    call: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    bounded_in(&TURNS, what, limit, call)
}

fn bounded_in<T: Send + 'static>(
    turns: &'static Turns,
    what: &'static str,
    limit: Duration,
    call: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("keychain".into())
        .spawn(move || {
            let _turn = turns.take(TURN_WAIT.min(limit / 2));
            let _ = tx.send(call());
        })
        .map_err(|e| StoreError::Unavailable(format!("cannot call the keychain: {e}")))?;
    rx.recv_timeout(limit).unwrap_or_else(|_| {
        Err(StoreError::Locked(format!(
            "the keychain did not answer ({what}) within {} s: it may be waiting for a password prompt; unlock it and try again",
            limit.as_secs_f32()
        )))
    })
}

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

    /// Checks that the keychain can be written and read, without keeping anything.
    pub fn probe(&self) -> Result<(), StoreError> {
        // An item of its own for each probe: two processes (or threads) probing one shared
        // item race, one deleting it while the other writes, and the loser would fall back to
        // memory for its whole run.
        static PROBES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (service, name) = (
            self.service.clone(),
            format!("__probe__.{}.{n}", std::process::id()),
        );
        bounded("probe", TIMEOUT, move || {
            let entry = entry(&service, &name)?;
            entry.set_password("probe").map_err(map_err)?;
            let _ = entry.delete_credential();
            Ok(())
        })
    }
}

fn entry(service: &str, session: &str) -> Result<keyring::Entry, StoreError> {
    keyring::Entry::new(service, &format!("sso-session:{session}")).map_err(map_err)
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
        let (service, session) = (self.service.clone(), session.to_owned());
        bounded("reading the sign-in", TIMEOUT, move || {
            match entry(&service, &session)?.get_password() {
                Ok(text) => StoredLogin::from_keychain_json(&text).map(Some),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(map_err(e)),
            }
        })
    }

    fn save(&self, session: &str, login: &StoredLogin) -> Result<(), StoreError> {
        let (service, session) = (self.service.clone(), session.to_owned());
        let json = login.to_keychain_json();
        bounded("saving the sign-in", TIMEOUT, move || {
            entry(&service, &session)?
                .set_password(json.expose())
                .map_err(map_err)
        })
    }

    fn delete(&self, session: &str) -> Result<(), StoreError> {
        let (service, session) = (self.service.clone(), session.to_owned());
        bounded("deleting the sign-in", TIMEOUT, move || {
            match entry(&service, &session)?.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(map_err(e)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A keychain that never answers (a prompt nobody can see) is an error that says so, in
    /// bounded time, never a sign-in that waits forever.
    #[test]
    fn a_keychain_that_never_answers_is_an_error_not_a_hang() {
        let started = std::time::Instant::now();
        let err = bounded("probe", Duration::from_millis(50), || {
            std::thread::sleep(Duration::from_secs(3600));
            Ok(())
        })
        .expect_err("no answer");
        assert!(matches!(err, StoreError::Locked(_)), "{err:?}");
        assert!(err.to_string().contains("did not answer"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(60));
        assert_eq!(
            bounded("probe", TIMEOUT, || Ok(7)),
            Ok(7),
            "a call stuck in its turn does not hold the next one back"
        );
    }

    /// Calls from many threads take turns: never two at the Secret Service at once.
    #[test]
    fn keychain_calls_in_one_process_take_turns() {
        static OWN: Turns = Turns::new();
        static AT_ONCE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        static MOST: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        use std::sync::atomic::Ordering::SeqCst;
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    bounded_in(&OWN, "probe", TIMEOUT, || {
                        let now = AT_ONCE.fetch_add(1, SeqCst) + 1;
                        MOST.fetch_max(now, SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        AT_ONCE.fetch_sub(1, SeqCst);
                        Ok(())
                    })
                    .expect("answered");
                });
            }
        });
        assert_eq!(MOST.load(SeqCst), 1, "calls overlapped");
    }
}
