//! What a crash or a signed-out agent leaves behind: the real `rolecall agent` with a simulator
//! in this process.

mod support;

use std::process::Stdio;
use std::time::Duration;

use idc_sim::Organisation;
use support::{BIN, Machine};

/// With core files allowed (`ulimit -c unlimited`), SIGABRT to an agent holding a sign-in and
/// a role's credentials used to leave an 8 MiB core with every one of them in it. The agent
/// now turns core files off for itself before it holds anything, and makes itself
/// non-dumpable: its limit reads 0 whatever it was started with, and no core is written.
#[tokio::test(flavor = "multi_thread")]
async fn a_crashing_agent_leaves_no_core_file() {
    let m = Machine::new(Organisation::demo(), "coredump").await;
    m.signed_in(&[]).await;
    let cwd = m.path("cwd");
    std::fs::create_dir_all(&cwd).expect("mkdir");
    let mut agent = tokio::process::Command::new("sh")
        .args(["-c", "ulimit -c unlimited && exec \"$0\" agent", BIN])
        .env_clear()
        .envs(m.env())
        .current_dir(&cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("agent");
    let pid = agent.id().expect("running");
    let stdout = agent.stdout.take().expect("stdout");
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    loop {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("the agent started in time")
            .expect("read")
            .expect("the agent runs");
        if line.starts_with("rolecall agent: credential endpoint ") {
            break;
        }
    }
    // The agent now holds the sign-in and, after this, a role's credentials.
    let out = m.ok(&["env", "payments-prod", "ReadOnlyAccess"], &[]).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("AWS_SECRET_ACCESS_KEY"));

    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .expect("a core limit line");
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(
        fields[4..6],
        ["0", "0"],
        "the agent turned core files off: {core}"
    );

    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).expect("pid"),
        rustix::process::Signal::ABORT,
    )
    .expect("abort");
    let status = tokio::time::timeout(Duration::from_secs(30), agent.wait())
        .await
        .expect("the agent ended")
        .expect("status");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(6), "{status:?}");
    assert!(!status.core_dumped(), "the kernel dumped the agent's core");
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    if !pattern.starts_with('|') {
        let cores: Vec<_> = std::fs::read_dir(&cwd)
            .expect("cwd")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(cores.is_empty(), "files left by the crash: {cores:?}");
    }
}

/// `rolecall exec --endpoint` killed with SIGKILL had no time to revoke its grant: the grant
/// stayed alive and listed, its token still good for credentials. The grant is now held by the
/// `exec` process's life (its pid and start time, from the agent socket's peer): the agent
/// ends it once that process is gone.
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_exec_leaves_no_grant_behind() {
    let m = Machine::new(Organisation::demo(), "exec-kill").await;
    m.signed_in(&[]).await;
    let agent = m.agent(&[]).await;
    let seen = m.path("seen");
    let script = format!(
        "printf '%s %s %s' \"$AWS_CONTAINER_CREDENTIALS_FULL_URI\" \"$AWS_CONTAINER_AUTHORIZATION_TOKEN\" $$ > {}.tmp && mv {0}.tmp {0} && exec sleep 120",
        seen.display()
    );
    let mut exec = m.command(
        &[
            "exec",
            "--endpoint",
            "payments-prod",
            "ReadOnlyAccess",
            "--",
            "sh",
            "-c",
            &script,
        ],
        &[],
    );
    exec.stdout(Stdio::null()).stderr(Stdio::null());
    let mut exec = exec.spawn().expect("exec");
    support::wait_for(&seen).await;
    let text = std::fs::read_to_string(&seen).expect("seen");
    let mut parts = text.split(' ');
    let (url, token, command_pid) = (
        parts.next().expect("url"),
        parts.next().expect("token"),
        parts
            .next()
            .and_then(|p| p.parse::<i32>().ok())
            .expect("pid"),
    );
    assert_eq!(
        support::get_credentials(url, token).await.0,
        200,
        "the grant works"
    );
    let listed = m.ok(&["grants"], &[]).await;
    assert!(String::from_utf8_lossy(&listed.stdout).contains("ReadOnlyAccess"));

    exec.kill().await.expect("SIGKILL");
    let listed = m.ok(&["grants"], &[]).await;
    assert!(
        !String::from_utf8_lossy(&listed.stdout).contains("ReadOnlyAccess"),
        "the grant is not listed once exec is gone: {}",
        String::from_utf8_lossy(&listed.stdout)
    );
    assert_eq!(
        support::get_credentials(url, token).await.0,
        401,
        "the grant's token gets nothing once exec is gone"
    );
    // The command exec ran outlives its SIGKILLed parent: ended here.
    if let Some(pid) = rustix::process::Pid::from_raw(command_pid) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
    agent.stop().await;
}

/// Every secret the simulator issued that `pid`'s memory holds, read through
/// `/proc/PID/mem` (the test runs as root, which may read a non-dumpable process).
fn secrets_in_memory(pid: u32, secrets: &[String]) -> Vec<String> {
    use std::os::unix::fs::FileExt;
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("maps");
    let mem = std::fs::File::open(format!("/proc/{pid}/mem")).expect(
        "/proc/PID/mem opens (the tests run as root: see scripts/test and ROLECALL_REQUIRE_SECOND_UID)",
    );
    let mut found = std::collections::BTreeSet::new();
    let mut read = 0usize;
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        let name = fields.nth(3).unwrap_or("");
        if !perms.starts_with('r') || name == "[vvar]" || name == "[vsyscall]" {
            continue;
        }
        let Some((from, to)) = range.split_once('-') else {
            continue;
        };
        let (Ok(from), Ok(to)) = (u64::from_str_radix(from, 16), u64::from_str_radix(to, 16))
        else {
            continue;
        };
        let mut region = vec![0u8; usize::try_from(to - from).expect("size")];
        if mem.read_exact_at(&mut region, from).is_err() {
            continue;
        }
        read += region.len();
        for s in secrets {
            if memchr::memmem::find(&region, s.as_bytes()).is_some() {
                found.insert(format!(
                    "{s:.12}… in {}",
                    if name.is_empty() {
                        "anonymous memory"
                    } else {
                        name
                    }
                ));
            }
        }
    }
    assert!(
        read > 1 << 20,
        "read only {read} bytes of the agent's memory"
    );
    found.into_iter().collect()
}

/// After `rolecall logout` the agent's memory still held the role's secret key and session
/// token (4 copies each) and the SSO access and refresh tokens (2 each): in HTTP buffers, in
/// JSON on its way in and out, in strings made on the way into `Secret`. Every heap block is
/// now wiped when it is freed: the agent's whole memory, read after sign-out, holds no secret
/// the simulator issued.
#[tokio::test(flavor = "multi_thread")]
async fn signing_out_leaves_no_secret_in_the_agents_memory() {
    let m = Machine::new(Organisation::demo(), "memory").await;
    m.session_added(&[]).await;
    let agent = m.agent(&[]).await;
    m.ok(&["login", "--device-code"], &[]).await;
    let out = m.ok(&["env", "payments-prod", "ReadOnlyAccess"], &[]).await;
    let env = String::from_utf8_lossy(&out.stdout).into_owned();
    let secret_key = env
        .lines()
        .find_map(|l| l.strip_prefix("export AWS_SECRET_ACCESS_KEY="))
        .expect("a secret key")
        .trim_matches(['\'', '"'])
        .to_owned();
    let issued = m.sim.issued_secrets();
    assert!(
        issued.contains(&secret_key),
        "the simulator lists what it issued"
    );
    let held = secrets_in_memory(agent.pid(), &issued);
    assert!(
        held.iter()
            .any(|f| secret_key.starts_with(f.split('…').next().unwrap_or("-"))),
        "the scan finds what the agent holds while signed in: {held:?}"
    );

    m.ok(&["logout"], &[]).await;
    let status = m.ok(&["status"], &[]).await;
    assert!(String::from_utf8_lossy(&status.stdout).contains("not signed in"));
    let left = secrets_in_memory(agent.pid(), &m.sim.issued_secrets());
    assert!(
        left.is_empty(),
        "secrets left in the agent after sign-out: {left:#?}"
    );
    agent.stop().await;
}

/// Credentials that expire are wiped from the vault, and with them every copy: once a role's
/// 3-second credentials have expired, the agent (still signed in) holds neither their secret
/// key nor their session token anywhere in its memory.
#[tokio::test(flavor = "multi_thread")]
async fn expired_credentials_leave_no_copy_in_the_agents_memory() {
    let m = Machine::with(Organisation::demo(), "memory-expiry", |o| {
        o.role_credentials_ttl = Duration::from_secs(3);
    })
    .await;
    m.signed_in(&[]).await;
    let agent = m.agent(&[]).await;
    let out = m.ok(&["env", "payments-prod", "ReadOnlyAccess"], &[]).await;
    let env = String::from_utf8_lossy(&out.stdout).into_owned();
    let value = |name: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("export {name}=")))
            .expect(name)
            .trim_matches(['\'', '"'])
            .to_owned()
    };
    let role_secrets = vec![value("AWS_SECRET_ACCESS_KEY"), value("AWS_SESSION_TOKEN")];
    assert_eq!(
        secrets_in_memory(agent.pid(), &role_secrets).len(),
        2,
        "held while they are good"
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    let left = secrets_in_memory(agent.pid(), &role_secrets);
    assert!(
        left.is_empty(),
        "expired credentials left in the agent: {left:#?}"
    );
    agent.stop().await;
}
