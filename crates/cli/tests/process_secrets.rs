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
