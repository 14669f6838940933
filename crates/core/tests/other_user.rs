//! The console handoff against another local user (uid 65534, played by a Python client): the
//! one-time link is taken by this user's browser only, whichever address family a connection
//! arrives on. Needs root or `sudo -n -u '#65534'`; CI requires it (`ROLECALL_REQUIRE_SECOND_UID`).

use std::sync::Arc;
use std::time::Duration;

use rolecall_core::handoff::Handoff;
use rolecall_engine::clock::SystemClock;
use rolecall_engine::secret::Secret;

const OTHER_UID: u32 = 65534;

/// A GET of `url` without following redirects, as [`OTHER_UID`]: `None` when no second user
/// can be had here (and CI does not require one), else the status (0: no HTTP answer).
async fn get_as_other_user(url: &str) -> Option<u16> {
    let script = r#"
import sys, urllib.request, urllib.error
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k): return None
opener = urllib.request.build_opener(NoRedirect)
try:
    print(opener.open(sys.argv[1], timeout=10).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception as e:
    print(0)
"#;
    let mut cmd = if rustix::process::geteuid().is_root() {
        let mut c = tokio::process::Command::new("python3");
        c.uid(OTHER_UID).gid(OTHER_UID);
        c
    } else if std::process::Command::new("sudo")
        .args(["-n", "-u", "#65534", "true"])
        .status()
        .is_ok_and(|s| s.success())
    {
        let mut c = tokio::process::Command::new("sudo");
        c.args(["-n", "-u", "#65534", "python3"]);
        c
    } else {
        assert!(
            std::env::var("ROLECALL_REQUIRE_SECOND_UID").as_deref() != Ok("1"),
            "this test needs a second local user: run it as root, or allow `sudo -n -u '#65534'`"
        );
        eprintln!("skipped: no second local user");
        return None;
    };
    cmd.args(["-c", script, url]).current_dir("/");
    let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
        .await
        .expect("the client finished")
        .expect("python3 ran");
    let text = String::from_utf8_lossy(&out.stdout);
    Some(
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{text}{}", String::from_utf8_lossy(&out.stderr))),
    )
}

/// The attack of the round-3 review: another user read the one-time link from the browser's
/// arguments and fetched it through `[::ffff:127.0.0.1]`, which the socket-table check did not
/// look up, and got the 303 to the federation sign-in. Now it is refused on every address, and
/// the person's browser still gets the link afterwards.
#[tokio::test(flavor = "multi_thread")]
async fn another_user_never_takes_a_console_link_through_any_address_family() {
    let handoff = Handoff::start(Arc::new(SystemClock))
        .await
        .expect("handoff");
    let offer = handoff.offer(Secret::new(
        "https://signin.aws.amazon.com/federation?Action=login&SigninToken=the-token",
    ));
    let url = offer.url.expose().to_owned();
    let mapped = url.replace("127.0.0.1", "[::ffff:127.0.0.1]");
    for attempt in [&mapped, &url] {
        let Some(status) = get_as_other_user(attempt).await else {
            return;
        };
        assert_eq!(status, 403, "another user fetching {attempt} got {status}");
    }
    let mine = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(&url)
        .send()
        .await
        .expect("this user's browser reaches it");
    assert_eq!(
        mine.status().as_u16(),
        303,
        "the link is still there for its user"
    );
    assert!(offer.taken(&SystemClock).await);
}
