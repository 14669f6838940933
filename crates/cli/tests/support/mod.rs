//! A person's machine in a folder, for the CLI's end-to-end tests: the real `rolecall` binary,
//! a simulator in this process, and (where a test needs one) a second local user.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use idc_sim::{Organisation, SimOptions, Simulator};

pub const BIN: &str = env!("CARGO_BIN_EXE_rolecall");

/// The uid tests use for "another local user".
pub const OTHER_UID: u32 = 65534;

pub struct Machine {
    pub dir: tempfile::TempDir,
    pub sim: Simulator,
    pub session: String,
}

impl Machine {
    /// A fresh home with a simulator whose sign-ins are approved at once. `session` names the
    /// SSO session (tests share the keychain, so each uses its own name).
    pub async fn new(org: Organisation, session: &str) -> Self {
        Self::with(org, session, |_| {}).await
    }

    /// [`Machine::new`] with the simulator's options changed by `tweak`.
    pub async fn with(
        org: Organisation,
        session: &str,
        tweak: impl FnOnce(&mut SimOptions),
    ) -> Self {
        let mut options = SimOptions::new(org);
        options.auto_approve_after = Some(0);
        options.device_interval = Duration::from_secs(1);
        tweak(&mut options);
        let sim = Simulator::start(options).await.expect("simulator");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("home/.aws")).expect("home");
        Self {
            dir,
            sim,
            session: session.to_owned(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn socket(&self) -> PathBuf {
        self.path("agent/agent.sock")
    }

    /// The environment of every `rolecall` the test runs.
    pub fn env(&self) -> Vec<(String, String)> {
        let e = self.sim.endpoints();
        let mut env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| !k.starts_with("AWS_") && !k.starts_with("ROLECALL_") && k != "TMPDIR")
            .collect();
        env.extend([
            ("HOME".into(), self.path("home").display().to_string()),
            (
                "ROLECALL_HOME".into(),
                self.path("rolecall").display().to_string(),
            ),
            (
                "ROLECALL_AGENT_SOCKET".into(),
                self.socket().display().to_string(),
            ),
            ("ROLECALL_OPENER".into(), "true".into()),
            ("ROLECALL_SESSION".into(), self.session.clone()),
            (
                "AWS_CONFIG_FILE".into(),
                self.path("home/.aws/config").display().to_string(),
            ),
            ("AWS_ENDPOINT_URL_SSO_OIDC".into(), e.oidc.clone()),
            ("AWS_ENDPOINT_URL_SSO".into(), e.portal.clone()),
            ("AWS_ENDPOINT_URL_STS".into(), e.sts.clone()),
            ("ROLECALL_FEDERATION_URL".into(), e.federation.clone()),
        ]);
        env
    }

    pub fn command(&self, args: &[&str], extra: &[(&str, &str)]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.args(args).env_clear().envs(self.env());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.kill_on_drop(true);
        cmd
    }

    /// Runs `rolecall` to the end.
    pub async fn run(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        tokio::time::timeout(Duration::from_secs(120), self.command(args, extra).output())
            .await
            .expect("rolecall finished in time")
            .expect("rolecall ran")
    }

    /// Runs `rolecall` and insists it succeeded.
    pub async fn ok(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let out = self.run(args, extra).await;
        assert!(
            out.status.success(),
            "rolecall {args:?} failed ({:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// The session added (`rolecall session add`), not signed in.
    pub async fn session_added(&self, extra: &[(&str, &str)]) {
        let start = self.sim.endpoints().start_url.clone();
        self.ok(
            &[
                "session",
                "add",
                &self.session,
                "--start-url",
                &start,
                "--region",
                "us-east-1",
            ],
            extra,
        )
        .await;
    }

    /// The session added and signed in (device code, approved by the simulator).
    pub async fn signed_in(&self, extra: &[(&str, &str)]) {
        self.session_added(extra).await;
        self.ok(&["--no-agent", "login", "--device-code"], extra)
            .await;
    }

    /// `rolecall agent` in the background; returns once it serves.
    pub async fn agent(&self, extra: &[(&str, &str)]) -> Agent {
        let log = self.path(&format!("agent-{}.log", rand_suffix()));
        let mut cmd = self.command(&["agent"], extra);
        cmd.stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"));
        let mut child = cmd.spawn().expect("agent");
        let stdout = child.stdout.take().expect("stdout");
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let mut endpoint = String::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while endpoint.is_empty() {
            let line = tokio::time::timeout_at(deadline, lines.next_line())
                .await
                .expect("the agent started in time")
                .expect("read")
                .unwrap_or_else(|| {
                    panic!(
                        "the agent stopped: {}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    )
                });
            if let Some(url) = line.strip_prefix("rolecall agent: credential endpoint ") {
                endpoint = url.to_owned();
            }
        }
        Agent {
            child,
            endpoint,
            log,
        }
    }
}

pub struct Agent {
    pub child: tokio::process::Child,
    pub endpoint: String,
    pub log: PathBuf,
}

impl Agent {
    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// Stops the agent (SIGTERM) and returns its log.
    pub async fn stop(mut self) -> String {
        if let Some(pid) = self.child.id() {
            let _ = rustix::process::kill_process(
                rustix::process::Pid::from_raw(pid as i32).expect("pid"),
                rustix::process::Signal::TERM,
            );
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64)
}

/// `rolecall env ACCOUNT ROLE --endpoint` through the running agent: the grant's URL and token.
pub async fn endpoint_grant(m: &Machine, account: &str, role: &str) -> (String, String) {
    let out = m.ok(&["env", account, role, "--endpoint"], &[]).await;
    let exports = String::from_utf8_lossy(&out.stdout).into_owned();
    let var = |name: &str| {
        exports
            .lines()
            .find_map(|l| l.strip_prefix(&format!("export {name}='")))
            .map(|v| v.trim_end_matches('\'').to_owned())
            .unwrap_or_else(|| panic!("{name} in {exports}"))
    };
    (
        var("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
        var("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
    )
}

/// A GET on the local credential endpoint with `token`; the status and the body.
pub async fn get_credentials(url: &str, token: &str) -> (u16, String) {
    let url = url::Url::parse(url).expect("url");
    let addr = format!(
        "{}:{}",
        url.host_str().expect("host"),
        url.port().expect("port")
    );
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(
            format!(
                "GET {} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {token}\r\nConnection: close\r\n\r\n",
                url.path()
            )
            .as_bytes(),
        )
        .await
        .expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    let status = answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, body)
}

/// How a test runs a program as [`OTHER_UID`]: as root directly, else through `sudo -n`.
/// `None` when neither is possible; with `ROLECALL_REQUIRE_SECOND_UID=1` (scripts/test sets
/// it) that is a failure, not a skip.
pub fn second_user() -> Option<SecondUser> {
    if rustix::process::geteuid().is_root() {
        return Some(SecondUser::Root);
    }
    let sudo = std::process::Command::new("sudo")
        .args(["-n", "-u", "#65534", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if sudo {
        return Some(SecondUser::Sudo);
    }
    assert!(
        std::env::var("ROLECALL_REQUIRE_SECOND_UID").as_deref() != Ok("1"),
        "this test needs a second local user: run it as root, or allow `sudo -n -u '#65534'`"
    );
    eprintln!("skipped: no way to act as a second local user here");
    None
}

#[derive(Debug, Clone, Copy)]
pub enum SecondUser {
    Root,
    Sudo,
}

impl SecondUser {
    /// `program args...` run as [`OTHER_UID`].
    pub fn command(self, program: &str, args: &[&str]) -> tokio::process::Command {
        let mut cmd = match self {
            Self::Root => {
                let mut c = tokio::process::Command::new(program);
                c.args(args).uid(OTHER_UID).gid(OTHER_UID);
                c
            }
            Self::Sudo => {
                let mut c = tokio::process::Command::new("sudo");
                c.args(["-n", "-u", "#65534", program]).args(args);
                c
            }
        };
        cmd.kill_on_drop(true);
        cmd
    }
}

/// A folder every user may write to, like /tmp (sticky, 1777), inside `root` (a test's own
/// temporary folder, which is opened for passage to others: 0711).
pub fn shared_folder(root: &Path, name: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o711)).expect("chmod");
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    dir
}

/// Waits until `path` exists.
pub async fn wait_for(path: &Path) {
    for _ in 0..200 {
        if path.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} never appeared", path.display());
}

/// CPU time (user + system) a process used so far.
pub fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let after_name = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    Duration::from_millis(ticks * 10)
}
