//! The session bus on Linux, over libdbus (the library the keychain already speaks Secret
//! Service with): one Rolecall per login, and desktop notifications.
//!
//! These replace Tauri's single-instance and notification plugins on Linux, which brought a
//! second D-Bus implementation (zbus, with its own async executor) into the app for one name
//! and one method call (README, Benchmarks: sizes).
//!
//! The session bus is this login's own: another local user cannot call Rolecall on it, and
//! what a second launch hands over is read as untrusted anyway (only `rolecall://` links, each
//! checked as any link is).

use std::time::Duration;

use dbus::Message;
use dbus::arg::PropMap;
use dbus::blocking::Connection;
use dbus::blocking::stdintf::org_freedesktop_dbus::RequestNameReply;
use dbus::channel::{MatchingReceiver, Sender};
use dbus::message::MatchRule;
use dbus::strings::ErrorName;

/// The bus name the running Rolecall owns (its Tauri identifier with the bus's rules).
pub const NAME: &str = "dev.rolecall.desktop.Rolecall";
const PATH: &str = "/dev/rolecall/desktop/Rolecall";
const INTERFACE: &str = "dev.rolecall.desktop.Rolecall";
/// The one method: a later launch's arguments (`as`), for the running one to act on.
const ACTIVATE: &str = "Activate";
/// A running Rolecall answers at once; one that does not within this time is stuck.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// At most this many arguments, each at most this long, are handed over or read.
const MAX_ARGS: usize = 16;
const MAX_ARG_LEN: usize = 4096;

/// What a launch is, once it has asked the bus.
#[derive(Debug)]
pub enum Claim {
    /// The first Rolecall of this login: it owns the name and serves later launches
    /// ([`Owner::serve`]).
    First(Owner),
    /// Another Rolecall runs and took this launch's arguments: this process exits.
    HandedOver,
    /// No session bus (or it refused the name): this Rolecall runs on its own.
    Alone(String),
}

/// The connection that owns [`NAME`].
pub struct Owner(Connection);

impl std::fmt::Debug for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Owner(")?;
        f.write_str(NAME)?;
        f.write_str(")")
    }
}

/// Owns the name, or hands `args` over to the Rolecall that does. `Err`: another Rolecall
/// owns the name but did not take them (stuck, or gone while asked): the message says so.
pub fn claim(args: &[String]) -> Result<Claim, String> {
    claim_as(NAME, args, CALL_TIMEOUT)
}

fn claim_as(name: &str, args: &[String], timeout: Duration) -> Result<Claim, String> {
    let conn = match Connection::new_session() {
        Ok(c) => c,
        Err(e) => return Ok(Claim::Alone(format!("no session bus: {e}"))),
    };
    match conn.request_name(name, false, false, true) {
        Ok(RequestNameReply::PrimaryOwner | RequestNameReply::AlreadyOwner) => {
            Ok(Claim::First(Owner(conn)))
        }
        Ok(RequestNameReply::Exists | RequestNameReply::InQueue) => {
            let handed: Vec<&str> = args
                .iter()
                .take(MAX_ARGS)
                .filter(|a| a.len() <= MAX_ARG_LEN)
                .map(String::as_str)
                .collect();
            conn.with_proxy(name, PATH, timeout)
                .method_call::<(), _, _, _>(INTERFACE, ACTIVATE, (handed,))
                .map(|()| Claim::HandedOver)
                .map_err(|e| {
                    format!(
                        "another Rolecall is running but did not answer ({}); quit it (or end \
                         its process) and start Rolecall again",
                        e.message().unwrap_or("no answer")
                    )
                })
        }
        Err(e) => Ok(Claim::Alone(format!(
            "the session bus refused the name {name}: {e}"
        ))),
    }
}

impl Owner {
    /// Serves later launches on a thread of its own: `on_launch` gets each one's arguments
    /// (at most [`MAX_ARGS`], each at most [`MAX_ARG_LEN`] bytes).
    pub fn serve(self, on_launch: impl Fn(Vec<String>) + Send + 'static) {
        let conn = self.0;
        let spawned = std::thread::Builder::new()
            .name("rolecall-bus".into())
            .spawn(move || {
                conn.start_receive(
                    MatchRule::new_method_call(),
                    Box::new(move |call, conn| {
                        let reply = answer(&call, &on_launch);
                        if let Some(reply) = reply {
                            let _ = conn.send(reply);
                        }
                        true
                    }),
                );
                loop {
                    if let Err(e) = conn.process(Duration::from_secs(3600)) {
                        tracing::warn!("session bus: {e}; later launches open their own window");
                        return;
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("session bus: no thread to serve later launches: {e}");
        }
    }
}

/// The reply to a method call on the bus (`None`: the call asked for none).
fn answer(call: &Message, on_launch: &impl Fn(Vec<String>)) -> Option<Message> {
    let ours = call.path().is_some_and(|p| &*p == PATH)
        && call.interface().is_some_and(|i| &*i == INTERFACE)
        && call.member().is_some_and(|m| &*m == ACTIVATE);
    let reply = if !ours {
        error(
            call,
            "org.freedesktop.DBus.Error.UnknownMethod",
            "no such method",
        )
    } else {
        match call.read1::<Vec<String>>() {
            Ok(args) if args.len() <= MAX_ARGS && args.iter().all(|a| a.len() <= MAX_ARG_LEN) => {
                on_launch(args);
                call.method_return()
            }
            Ok(_) => error(
                call,
                "org.freedesktop.DBus.Error.LimitsExceeded",
                "too many or too long arguments",
            ),
            Err(_) => error(
                call,
                "org.freedesktop.DBus.Error.InvalidArgs",
                "expected the launch's arguments (as)",
            ),
        }
    };
    (!call.get_no_reply()).then_some(reply)
}

fn error(call: &Message, name: &'static str, text: &'static str) -> Message {
    let text = std::ffi::CString::new(text).unwrap_or_default();
    call.error(&ErrorName::from(name), &text)
}

/// Shows a desktop notification (org.freedesktop.Notifications) from a thread of its own, so
/// no caller waits for the notification server. Failures are logged: with no server, a
/// notification is simply not shown.
pub fn notify(summary: &str, body: &str) {
    let (summary, body) = (summary.to_owned(), body.to_owned());
    let spawned = std::thread::Builder::new()
        .name("rolecall-notify".into())
        .spawn(move || {
            if let Err(e) = send_notification(&summary, &body) {
                tracing::debug!("notification not shown: {e}");
            }
        });
    if let Err(e) = spawned {
        tracing::debug!("notification not shown: {e}");
    }
}

fn send_notification(summary: &str, body: &str) -> Result<u32, dbus::Error> {
    let conn = Connection::new_session()?;
    let mut hints = PropMap::new();
    hints.insert(
        "desktop-entry".into(),
        dbus::arg::Variant(Box::new("rolecall-desktop".to_owned())),
    );
    let (id,): (u32,) = conn
        .with_proxy(
            "org.freedesktop.Notifications",
            "/org/freedesktop/Notifications",
            CALL_TIMEOUT,
        )
        .method_call(
            "org.freedesktop.Notifications",
            "Notify",
            (
                "Rolecall",
                0u32,
                "rolecall-desktop",
                summary,
                body,
                Vec::<String>::new(),
                hints,
                -1i32,
            ),
        )?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    //! Against the session bus the tests run on (`scripts/with-session-bus`), each under a
    //! name of its own.
    use std::sync::mpsc;

    use super::*;

    fn owner(name: &str) -> Owner {
        let Ok(Claim::First(owner)) = claim_as(name, &[], CALL_TIMEOUT) else {
            panic!("the first claim of {name} must own it (is a session bus running?)");
        };
        owner
    }

    /// Owns `name` and serves it: each later launch's arguments arrive on the receiver.
    fn serving(name: &str) -> mpsc::Receiver<Vec<String>> {
        let (tx, rx) = mpsc::channel();
        owner(name).serve(move |a| tx.send(a).expect("the test listens"));
        rx
    }

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_second_launch_hands_its_link_to_the_first_and_exits() {
        let name = "dev.rolecall.test.HandOver";
        let rx = serving(name);
        let link = args(&[
            "rolecall-desktop",
            "rolecall://open?account=123456789012&role=Admin",
        ]);
        assert!(matches!(
            claim_as(name, &link, CALL_TIMEOUT),
            Ok(Claim::HandedOver)
        ));
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5))
                .expect("the launch arrives"),
            link
        );
        // And again: the first one keeps serving.
        assert!(matches!(
            claim_as(name, &args(&["x"]), CALL_TIMEOUT),
            Ok(Claim::HandedOver)
        ));
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5))
                .expect("the launch arrives"),
            args(&["x"])
        );
    }

    #[test]
    fn a_stuck_first_launch_is_reported_not_waited_for_forever() {
        let name = "dev.rolecall.test.Stuck";
        let _never_serves = owner(name);
        let started = std::time::Instant::now();
        let Err(message) = claim_as(name, &args(&["x"]), Duration::from_millis(300)) else {
            panic!("a launch that nobody answers must not count as handed over");
        };
        assert!(
            message.contains("another Rolecall is running but did not answer"),
            "{message}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_launch_hands_over_only_a_bounded_list_of_arguments() {
        let name = "dev.rolecall.test.Bounded";
        let rx = serving(name);
        let mut many: Vec<String> = (0..40).map(|i| format!("arg{i}")).collect();
        many.insert(1, "x".repeat(MAX_ARG_LEN + 1));
        assert!(matches!(
            claim_as(name, &many, CALL_TIMEOUT),
            Ok(Claim::HandedOver)
        ));
        let got = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the launch arrives");
        assert_eq!(
            got.len(),
            MAX_ARGS - 1,
            "the over-long one left out, the rest cut"
        );
        assert!(got.iter().all(|a| a.len() <= MAX_ARG_LEN));
    }

    /// A caller on the bus (the same user, but any program) that sends more than a launch
    /// would, or calls another method, gets an error and Rolecall acts on nothing.
    #[test]
    fn only_a_well_formed_activate_call_is_acted_on() {
        let name = "dev.rolecall.test.WellFormed";
        let rx = serving(name);
        let caller = Connection::new_session().expect("a session bus");
        let proxy = caller.with_proxy(name, PATH, CALL_TIMEOUT);
        let too_many: Vec<String> = (0..=MAX_ARGS).map(|i| i.to_string()).collect();
        let e = proxy
            .method_call::<(), _, _, _>(INTERFACE, ACTIVATE, (too_many,))
            .expect_err("refused");
        assert_eq!(e.name(), Some("org.freedesktop.DBus.Error.LimitsExceeded"));
        let e = proxy
            .method_call::<(), _, _, _>(INTERFACE, ACTIVATE, (7u32,))
            .expect_err("refused");
        assert_eq!(e.name(), Some("org.freedesktop.DBus.Error.InvalidArgs"));
        let e = proxy
            .method_call::<(), _, _, _>(INTERFACE, "Quit", ())
            .expect_err("refused");
        assert_eq!(e.name(), Some("org.freedesktop.DBus.Error.UnknownMethod"));
        let e = caller
            .with_proxy(name, "/elsewhere", CALL_TIMEOUT)
            .method_call::<(), _, _, _>(INTERFACE, ACTIVATE, (args(&["x"]),))
            .expect_err("refused");
        assert_eq!(e.name(), Some("org.freedesktop.DBus.Error.UnknownMethod"));
        assert!(
            rx.recv_timeout(Duration::from_millis(300)).is_err(),
            "nothing acted on"
        );
    }

    /// A notification reaches org.freedesktop.Notifications as the specification has it, its
    /// body as given (made safe for markup by the caller, `notification_text`).
    #[test]
    fn a_notification_reaches_the_notification_server() {
        let server = Connection::new_session().expect("a session bus");
        // The bus the tests run on has no notification server of its own; this one stands in.
        if !matches!(
            server.request_name("org.freedesktop.Notifications", false, false, true),
            Ok(RequestNameReply::PrimaryOwner)
        ) {
            panic!("another notification server owns the name on the test bus");
        }
        let (tx, rx) = mpsc::channel();
        server.start_receive(
            MatchRule::new_method_call(),
            Box::new(move |call: Message, conn: &Connection| {
                if call.member().is_some_and(|m| &*m == "Notify") {
                    let (app, id, icon, summary, body): (String, u32, String, String, String) =
                        call.read5().expect("Notify's arguments");
                    tx.send((app, id, icon, summary, body))
                        .expect("the test listens");
                    let _ = conn.send(call.method_return().append1(42u32));
                }
                true
            }),
        );
        let serving = std::thread::spawn(move || {
            for _ in 0..50 {
                server.process(Duration::from_millis(100)).expect("the bus");
            }
        });
        let id =
            send_notification("Rolecall", "prod &lt;admin&gt; / Admin expired").expect("shown");
        assert_eq!(id, 42);
        let (app, replaces, icon, summary, body) = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the notification arrives");
        assert_eq!(
            (
                app.as_str(),
                replaces,
                icon.as_str(),
                summary.as_str(),
                body.as_str()
            ),
            (
                "Rolecall",
                0,
                "rolecall-desktop",
                "Rolecall",
                "prod &lt;admin&gt; / Admin expired"
            )
        );
        serving.join().expect("the server ends");
    }
}
