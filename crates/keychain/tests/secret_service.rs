//! The real OS keychain: Secret Service (gnome-keyring) on the test machine's session bus.
//!
//! `scripts/test` runs the tests inside `dbus-run-session` with an unlocked gnome-keyring, so
//! these tests use the real thing. Without a bus they fail, loudly, rather than pass by skipping.

use std::time::{Duration, UNIX_EPOCH};

use rolecall_engine::api::ClientRegistration;
use rolecall_engine::secret::Secret;
use rolecall_engine::token_store::{StoreError, StoredLogin, TokenStore};
use rolecall_keychain::KeychainStore;

/// The tests that talk to gnome-keyring take turns: the probes' test already runs four
/// clients at once, and one more beside it has been seen (once, on a loaded CI machine) to
/// bring the daemon down ("Message recipient disconnected from message bus") for the rest of
/// the run.
static KEYRING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    let turn = KEYRING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    the_runs_keyring_daemon_is_alive();
    turn
}

/// `scripts/with-session-bus` started one gnome-keyring daemon, unlocked, for the whole run
/// (`ROLECALL_TEST_KEYRING_PID`). If it died, D-Bus would start another, locked one on the next
/// call and the test would fail later with "Cannot create an item in a locked collection": say
/// what happened instead, with the daemon's log.
fn the_runs_keyring_daemon_is_alive() {
    let Ok(pid) = std::env::var("ROLECALL_TEST_KEYRING_PID") else {
        return;
    };
    let owner = std::process::Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply=literal",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.GetConnectionUnixProcessID",
            "string:org.freedesktop.secrets",
        ])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .last()
                .unwrap_or("")
                .to_owned()
        })
        .unwrap_or_default();
    let alive = std::path::Path::new(&format!("/proc/{pid}")).exists();
    assert!(
        alive && owner == pid,
        "the gnome-keyring daemon unlocked for this test run (pid {pid}) died or was replaced \
         (the Secret Service is now served by '{owner}'); its log:\n{}",
        std::env::var("ROLECALL_TEST_KEYRING_LOG")
            .ok()
            .and_then(|log| std::fs::read_to_string(log).ok())
            .unwrap_or_default()
    );
}

fn login(token: &str) -> StoredLogin {
    StoredLogin {
        start_url: "https://d-1234567890.awsapps.com/start".into(),
        region: "eu-west-1".into(),
        registration: ClientRegistration {
            client_id: "cid".into(),
            client_secret: Secret::new("client-secret"),
            expires_at: UNIX_EPOCH + Duration::from_secs(2_000_000_000),
            redirect_uri: Some("http://127.0.0.1/oauth/callback".into()),
        },
        access_token: Secret::new(token),
        expires_at: UNIX_EPOCH + Duration::from_secs(1_900_000_000),
        refresh_token: Some(Secret::new("refresh")),
        signed_in_at: Some(UNIX_EPOCH + Duration::from_secs(1_899_990_000)),
    }
}

#[test]
fn saves_loads_replaces_and_deletes_in_the_keychain() {
    let _turn = turn();
    let store = KeychainStore::with_service("rolecall-test");
    store
        .probe()
        .expect("the test session has an unlocked Secret Service keychain");
    let session = format!("test-{}", std::process::id());
    assert_eq!(store.load(&session).expect("load"), None);
    store.save(&session, &login("first")).expect("save");
    assert_eq!(store.load(&session).expect("load"), Some(login("first")));
    store.save(&session, &login("second")).expect("replace");
    assert_eq!(store.load(&session).expect("load"), Some(login("second")));
    // A second store (another process would see the same) reads it too.
    assert_eq!(
        KeychainStore::with_service("rolecall-test")
            .load(&session)
            .expect("load"),
        Some(login("second"))
    );
    store.delete(&session).expect("delete");
    assert_eq!(store.load(&session).expect("load"), None);
    store.delete(&session).expect("deleting twice is fine");
}

#[test]
fn no_session_bus_is_a_clear_unavailable_error() {
    // Run this same test binary again, in a child with no session bus.
    if std::env::var_os("ROLECALL_KEYCHAIN_CHILD").is_some() {
        let err = KeychainStore::with_service("rolecall-test")
            .load("x")
            .expect_err("no bus, no keychain");
        assert!(
            matches!(err, StoreError::Unavailable(_) | StoreError::Locked(_)),
            "{err:?}"
        );
        println!("CHILD-OK {err}");
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "no_session_bus_is_a_clear_unavailable_error",
            "--nocapture",
        ])
        .env("ROLECALL_KEYCHAIN_CHILD", "1")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/rolecall-bus",
        )
        .output()
        .expect("child runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("CHILD-OK"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Several Rolecall processes start at once (the app, `rolecall agent`, a few CLI calls from a
/// script): each probes the keychain, and no probe may fail because another ran beside it,
/// or that process would quietly keep its sign-in in memory only.
#[test]
fn probes_at_the_same_time_all_find_the_keychain() {
    let _turn = turn();
    let failures: Vec<String> = std::thread::scope(|s| {
        // A few at once, as at a login: more than that has been seen to bring gnome-keyring
        // down, and the one D-Bus starts in its place is locked.
        let workers: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let store = KeychainStore::new();
                    (0..3)
                        .filter_map(|_| store.probe().err().map(|e| e.to_string()))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("probe thread"))
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} probes failed: {failures:?}",
        failures.len()
    );
}
