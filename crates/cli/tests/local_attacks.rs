//! The CLI, its agent and the local credential endpoint against another local user: the real
//! `rolecall` binary, a simulator in this process, and a second uid (65534) played by Python
//! scripts (`support/impostor.py`, `support/flood.py`).

mod support;

use std::time::{Duration, Instant};

use idc_sim::Organisation;
use support::{
    Machine, OTHER_UID, cpu_time, endpoint_grant, get_credentials, second_user, shared_folder,
    wait_for,
};

const IMPOSTOR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/impostor.py");
const FLOOD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/flood.py");

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// With XDG_RUNTIME_DIR unset the socket's folder is in the shared temporary folder. Another
/// user who makes that folder first (open to all, or closed and theirs) is never believed:
/// neither the CLI nor `rolecall agent` uses it, and the message says whose it is.
#[tokio::test(flavor = "multi_thread")]
async fn a_squatted_agent_folder_is_refused_and_its_socket_never_believed() {
    let Some(other) = second_user() else { return };
    let m = Machine::new(Organisation::demo(), "squat").await;
    m.signed_in(&[]).await;
    let tmp = shared_folder(m.dir.path(), "tmp");
    let my_uid = rustix::process::geteuid().as_raw();
    for folder_mode in ["777", "700"] {
        let folder = tmp.join(format!("rolecall-{my_uid}"));
        let _ = std::fs::remove_dir_all(&folder);
        let ready = tmp.join(format!("ready-{folder_mode}"));
        let mut impostor = other
            .command(
                "python3",
                &[
                    IMPOSTOR,
                    "squat",
                    &folder.display().to_string(),
                    folder_mode,
                    &ready.display().to_string(),
                ],
            )
            .spawn()
            .expect("impostor");
        wait_for(&ready).await;
        // The victim's environment: no XDG_RUNTIME_DIR, no socket override, TMPDIR shared.
        let tmpdir = tmp.display().to_string();
        let mut env_cmd = m.command(
            &["env", "payments-prod", "ReadOnlyAccess"],
            &[("TMPDIR", &tmpdir)],
        );
        env_cmd
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("ROLECALL_AGENT_SOCKET");
        let out = env_cmd.output().await.expect("ran");
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(!out.status.success(), "refused ({folder_mode}): {stderr}");
        assert!(
            !stdout.contains("FORGED"),
            "forged credentials believed: {stdout}"
        );
        assert!(
            stderr.contains(&format!("belongs to uid {OTHER_UID}")),
            "the message says whose folder it is: {stderr}"
        );
        let mut agent = m.command(&["agent"], &[("TMPDIR", &tmpdir)]);
        agent
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("ROLECALL_AGENT_SOCKET");
        let out = tokio::time::timeout(Duration::from_secs(30), agent.output())
            .await
            .expect("the agent gave up at once")
            .expect("ran");
        assert!(!out.status.success(), "the agent does not serve from it");
        assert!(
            text(&out.stderr).contains(&format!("belongs to uid {OTHER_UID}")),
            "{}",
            text(&out.stderr)
        );
        let _ = impostor.kill().await;
    }
}

/// Both ends check who is on the other end of the socket (SO_PEERCRED): the CLI refuses a
/// socket served by another uid even in its own folder, and the agent refuses a connection
/// from another uid even if the folder was opened up by hand.
#[tokio::test(flavor = "multi_thread")]
async fn each_end_of_the_agent_socket_checks_the_others_uid() {
    let Some(other) = second_user() else { return };
    if !matches!(other, support::SecondUser::Root) {
        eprintln!("skipped: the impostor must bind as root then become another user");
        return;
    }
    let m = Machine::new(Organisation::demo(), "peer").await;
    m.signed_in(&[]).await;

    // The CLI's side: a socket in the CLI's own private folder, bound by root, served by 65534.
    let folder = m.path("agent");
    std::fs::create_dir_all(&folder).expect("mkdir");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    }
    let ready = shared_folder(m.dir.path(), "shared").join("ready");
    let mut impostor = tokio::process::Command::new("python3")
        .args([
            IMPOSTOR,
            "drop",
            &m.socket().display().to_string(),
            &ready.display().to_string(),
            &OTHER_UID.to_string(),
        ])
        .kill_on_drop(true)
        .spawn()
        .expect("impostor");
    wait_for(&ready).await;
    let out = m
        .run(&["env", "payments-prod", "ReadOnlyAccess"], &[])
        .await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        !out.status.success() && !stdout.contains("FORGED"),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!("is uid {OTHER_UID}, not you")),
        "{stderr}"
    );
    let _ = impostor.kill().await;
    let _ = std::fs::remove_file(m.socket());

    // The agent's side: its folder and socket opened up by hand; a client of another uid is
    // turned away without an answer.
    let agent = m.agent(&[]).await;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::set_permissions(m.socket(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
    }
    let script = format!(
        "import socket\n\
         s = socket.socket(socket.AF_UNIX)\n\
         s.settimeout(5)\n\
         s.connect({:?})\n\
         try:\n    \
             s.sendall(b'{{\"op\":\"credentials\",\"session\":null,\"account\":\"payments-prod\",\"role\":\"ReadOnlyAccess\"}}\\n')\n    \
             data = s.recv(65536)\n\
         except (BrokenPipeError, ConnectionResetError):\n    \
             data = b''\n\
         print(repr(data))\n",
        m.socket().display().to_string()
    );
    let out = other
        .command("python3", &["-c", &script])
        .output()
        .await
        .expect("client");
    assert_eq!(
        text(&out.stdout).trim(),
        "b''",
        "no answer: {}",
        text(&out.stderr)
    );
    let log = agent.stop().await;
    assert!(
        log.contains(&format!(
            "connection refused: the other end of the agent socket is uid {OTHER_UID}"
        )),
        "{log}"
    );
}

/// Hundreds of idle and byte-at-a-time connections, held by another process (another user
/// when the test can be one), do not stall the endpoint or the agent: a real request is still
/// answered within a second, and the idle ones are closed by the server.
#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_do_not_stall_the_endpoint_or_the_agent() {
    let m = Machine::new(Organisation::demo(), "flood").await;
    m.signed_in(&[]).await;
    let agent = m.agent(&[]).await;
    let (url, token) = endpoint_grant(&m, "payments-prod", "ReadOnlyAccess").await;
    assert_eq!(get_credentials(&url, &token).await.0, 200, "warm");

    let parsed = url::Url::parse(&url).expect("url");
    let port = parsed.port().expect("port").to_string();
    let tmp = shared_folder(m.dir.path(), "flood");
    let tcp_report = tmp.join("tcp.json");
    let unix_report = tmp.join("unix.json");
    let tcp_args = [
        FLOOD,
        &tcp_report.display().to_string(),
        "9",
        "tcp",
        "127.0.0.1",
        &port,
        "400",
        "40",
    ];
    // The endpoint is TCP: another user can reach it. The socket is not (its folder is the
    // user's own), so the same user floods that.
    let mut tcp_flood = match second_user() {
        Some(other) => other.command("python3", &tcp_args),
        None => {
            let mut c = tokio::process::Command::new("python3");
            c.args(tcp_args).kill_on_drop(true);
            c
        }
    }
    .spawn()
    .expect("flood");
    let mut unix_flood = tokio::process::Command::new("python3")
        .args([
            FLOOD,
            &unix_report.display().to_string(),
            "9",
            "unix",
            &m.socket().display().to_string(),
            "300",
        ])
        .kill_on_drop(true)
        .spawn()
        .expect("flood");
    wait_for(&tmp.join("tcp.json.ready")).await;
    wait_for(&tmp.join("unix.json.ready")).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = Instant::now();
    let (status, body) = get_credentials(&url, &token).await;
    let endpoint_took = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("SecretAccessKey"));
    assert!(
        endpoint_took < Duration::from_secs(1),
        "the endpoint answered in {endpoint_took:?} under the flood"
    );
    let client = rolecall_core::agent::AgentClient::connect(&m.socket())
        .await
        .expect("our own agent")
        .expect("it answers a ping under the flood");
    let started = Instant::now();
    let answer = client
        .call(&rolecall_core::agent::Request::Sessions)
        .await
        .expect("answered");
    let agent_took = started.elapsed();
    assert!(matches!(
        answer,
        rolecall_core::agent::Answer::Sessions { .. }
    ));
    assert!(
        agent_took < Duration::from_secs(1),
        "the agent answered in {agent_took:?} under the flood"
    );

    let _ = tcp_flood.wait().await;
    let _ = unix_flood.wait().await;
    for report in [tcp_report, unix_report] {
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
        let (opened, closed) = (
            r["opened"].as_u64().unwrap_or(0),
            r["closed_by_server"].as_u64().unwrap_or(0),
        );
        assert!(opened >= 300, "{report:?}: {r}");
        assert!(
            closed * 10 >= opened * 9,
            "{report:?}: the server closed only {closed} of {opened} idle connections in 9 s"
        );
    }
    agent.stop().await;
}

/// With the file limit reached anyway (40 files; the endpoint and the agent socket flooded at
/// once), a failing `accept` pauses instead of spinning a core.
#[tokio::test(flavor = "multi_thread")]
async fn a_failing_accept_pauses_instead_of_spinning() {
    let m = Machine::new(Organisation::demo(), "fdlimit").await;
    m.signed_in(&[]).await;
    // The agent under a file limit so low that a flood exhausts it.
    let script = format!("ulimit -n 40 && exec {} agent", support::BIN);
    let log = m.path("agent.log");
    let mut cmd = tokio::process::Command::new("sh");
    cmd.args(["-c", &script])
        .env_clear()
        .envs(m.env())
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log"))
        .kill_on_drop(true);
    let mut agent = cmd.spawn().expect("agent");
    let stdout = agent.stdout.take().expect("stdout");
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let mut port = String::new();
    while port.is_empty() {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("started")
            .expect("read")
            .unwrap_or_else(|| {
                panic!(
                    "agent stopped: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            });
        if let Some(url) = line.strip_prefix("rolecall agent: credential endpoint ") {
            port = url::Url::parse(url)
                .expect("url")
                .port()
                .expect("port")
                .to_string();
        }
    }
    let pid = agent.id().expect("pid");
    let tmp = shared_folder(m.dir.path(), "fd");
    let report = tmp.join("report.json");
    let mut flood = tokio::process::Command::new("python3")
        .args([
            FLOOD,
            &report.display().to_string(),
            "4",
            "tcp",
            "127.0.0.1",
            &port,
            "300",
            "0",
            "unix",
            &m.socket().display().to_string(),
            "300",
        ])
        .kill_on_drop(true)
        .spawn()
        .expect("flood");
    wait_for(&tmp.join("report.json.ready")).await;
    let before = cpu_time(pid);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = cpu_time(pid) - before;
    let _ = flood.wait().await;
    assert!(
        used < Duration::from_millis(600),
        "the agent used {used:?} of CPU in 2 s with its file limit reached"
    );
    let _ = rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).expect("pid"),
        rustix::process::Signal::TERM,
    );
    let _ = agent.wait().await;
}

/// An agent that accepts and never answers (stalled, or an impostor of this user): the CLI
/// gives up on it within seconds and works without it, saying so.
#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_agent_is_given_up_on_in_seconds() {
    let m = Machine::new(Organisation::demo(), "stalled").await;
    m.signed_in(&[]).await;
    let folder = m.path("agent");
    std::fs::create_dir_all(&folder).expect("mkdir");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    }
    let listener = tokio::net::UnixListener::bind(m.socket()).expect("bind");
    let held = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let started = Instant::now();
    let out = m.ok(&["ls"], &[]).await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    assert!(text(&out.stdout).contains("payments-prod"));
    assert!(
        text(&out.stderr).contains("does not answer; working without it"),
        "{}",
        text(&out.stderr)
    );
    held.abort();
}
