//! The CLI against hostile input from the service, the config file, the terminal and its own
//! log level: the real `rolecall` binary and a simulator in this process.

mod support;

use std::path::Path;
use std::time::Duration;

use idc_sim::Organisation;
use support::{Machine, endpoint_grant, get_credentials};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => files_under(&path, out),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
}

/// A whole session at `ROLECALL_LOG=trace`, in the CLI alone and through the agent: sign-in,
/// sweep, credentials in every form, console URLs, whoami, a terminal grant used by an SDK's
/// request. Then every secret the simulator issued, and the grant's token, is looked for in
/// every log and every file under the home: zero hits.
#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_a_log_or_a_file_at_trace_level() {
    let m = Machine::new(Organisation::demo(), "trace-logs").await;
    let trace = [("ROLECALL_LOG", "trace")];
    let mut logs = String::new();
    let start = m.sim.endpoints().start_url.clone();
    for args in [
        vec![
            "session",
            "add",
            "trace-logs",
            "--start-url",
            &start,
            "--region",
            "us-east-1",
        ],
        vec!["--no-agent", "login", "--device-code"],
        vec!["--no-agent", "ls", "--refresh"],
        vec!["--no-agent", "env", "payments-prod", "ReadOnlyAccess"],
        vec![
            "--no-agent",
            "credential-process",
            "payments-prod",
            "ReadOnlyAccess",
        ],
        vec![
            "--no-agent",
            "console",
            "payments-prod",
            "ReadOnlyAccess",
            "--print",
        ],
        vec!["--no-agent", "whoami", "payments-prod", "ReadOnlyAccess"],
    ] {
        logs.push_str(&text(&m.ok(&args, &trace).await.stderr));
    }
    let agent = m.agent(&trace).await;
    let out = m
        .ok(
            &["env", "payments-prod", "AdministratorAccess", "--endpoint"],
            &trace,
        )
        .await;
    logs.push_str(&text(&out.stderr));
    let exports = text(&out.stdout);
    let var = |name: &str| {
        exports
            .lines()
            .find_map(|l| l.strip_prefix(&format!("export {name}='")))
            .map(|v| v.trim_end_matches('\'').to_owned())
            .expect(name)
    };
    let grant_token = var("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    let (status, _) =
        get_credentials(&var("AWS_CONTAINER_CREDENTIALS_FULL_URI"), &grant_token).await;
    assert_eq!(status, 200);
    for args in [
        vec!["login", "--device-code"],
        vec!["credential-process", "payments-prod", "PowerUserAccess"],
        vec!["console", "payments-prod", "PowerUserAccess", "--print"],
        vec!["console", "search-dev", "DeveloperAccess"],
        vec!["whoami", "search-dev", "DeveloperAccess"],
    ] {
        logs.push_str(&text(&m.ok(&args, &trace).await.stderr));
    }
    logs.push_str(&agent.stop().await);
    assert!(logs.contains("INFO"), "the logs are at work: {logs}");

    let mut secrets = m.sim.issued_secrets();
    secrets.push(grant_token);
    assert!(
        secrets.len() >= 10,
        "secrets of every kind were issued: {}",
        secrets.len()
    );
    let mut files = Vec::new();
    files_under(m.dir.path(), &mut files);
    let files: Vec<(String, String)> = files
        .into_iter()
        .filter(|p| p.extension().is_none_or(|e| e != "log"))
        .map(|p| {
            (
                p.display().to_string(),
                text(&std::fs::read(&p).unwrap_or_default()),
            )
        })
        .collect();
    assert!(
        files.iter().any(|(p, _)| p.contains("catalog")),
        "the cache is among them"
    );
    for secret in &secrets {
        assert!(!secret.is_empty());
        assert!(!logs.contains(secret.as_str()), "a secret in the logs");
        for (path, content) in &files {
            assert!(!content.contains(secret.as_str()), "a secret in {path}");
        }
    }
}

/// Account names with terminal escapes, BEL and a right-to-left override are shown as
/// escapes in `ls`, never sent raw to the terminal.
#[tokio::test(flavor = "multi_thread")]
async fn names_from_the_portal_cannot_drive_the_terminal() {
    let org = Organisation::from_toml(
        r#"
name = "hostile"
[user]
name = "Ada"
username = "ada@example.com"
[[accounts]]
id = "111111111111"
name = "payments-prod"
email = "a@example.com"
roles = ["ReadOnlyAccess"]
[[accounts]]
id = "222222222222"
name = "evil\u001b]0;pwned\u0007\u001b[2J"
email = "b@example.com"
roles = ["Admin"]
[[accounts]]
id = "333333333333"
name = "dorp-stnemyap\u202e"
email = "c@example.com"
roles = ["Admin"]
"#,
        "hostile",
    )
    .expect("org");
    let m = Machine::new(org, "hostile-names").await;
    m.signed_in(&[]).await;
    let out = m.ok(&["--no-agent", "ls"], &[]).await;
    let listing = text(&out.stdout);
    for raw in ['\u{1b}', '\u{7}', '\u{202e}'] {
        assert!(
            !listing.contains(raw),
            "{raw:?} reached the terminal: {listing:?}"
        );
    }
    assert!(
        listing.contains("evil\\u{1b}]0;pwned\\u{7}\\u{1b}[2J"),
        "{listing}"
    );
    assert!(listing.contains("dorp-stnemyap\\u{202e}"), "{listing}");
    // At every log level: the log goes to the same terminal.
    for level in ["info", "debug", "trace"] {
        let logged = m
            .ok(
                &["--no-agent", "ls", "--refresh"],
                &[("ROLECALL_LOG", level)],
            )
            .await;
        let log = text(&logged.stderr);
        assert!(
            !log.chars()
                .any(|c| c != '\n' && rolecall_engine::text::is_hidden(c)),
            "a hidden character reached the terminal in the {level} log: {log:?}"
        );
    }
    let err = m
        .run(&["--no-agent", "env", "evil\u{1b}[2J", "Admin"], &[])
        .await;
    assert_eq!(err.status.code(), Some(4));
    assert!(
        !text(&err.stderr).contains('\u{1b}'),
        "errors too: {:?}",
        text(&err.stderr)
    );
}

/// A config file with any problem stops every command with exit code 5 and the place of the
/// problem, and no command writes it (`session add` included).
#[tokio::test(flavor = "multi_thread")]
async fn a_config_with_a_problem_stops_the_cli_and_is_never_written() {
    let m = Machine::new(Organisation::demo(), "broken-config").await;
    m.signed_in(&[]).await;
    let config = m.path("rolecall/config/config.toml");
    let good = std::fs::read(&config).expect("config");
    let broken: [&[u8]; 4] = [
        b"[preferences]\nshel = \"fish\"\n",
        b"[preferences]\nshell = \"tcsh\"\n",
        b"[preferences]\nautostart = \"yes\"\n",
        b"[preferences]\nshell = \"caf\xe9\"\n",
    ];
    for bytes in broken {
        let with_sessions = [&good[..], b"\n", bytes].concat();
        std::fs::write(&config, &with_sessions).expect("write");
        let start = m.sim.endpoints().start_url.clone();
        for args in [
            vec!["ls"],
            vec![
                "session",
                "add",
                "another",
                "--start-url",
                &start,
                "--region",
                "eu-west-1",
            ],
            vec!["session", "rm", "broken-config"],
            vec!["env", "payments-prod", "ReadOnlyAccess"],
            vec!["agent"],
        ] {
            let out = m.run(&args, &[]).await;
            assert_eq!(
                out.status.code(),
                Some(5),
                "{args:?}: {}",
                text(&out.stderr)
            );
            assert!(
                text(&out.stderr).contains("config.toml:"),
                "names the file and the place: {}",
                text(&out.stderr)
            );
            assert_eq!(
                std::fs::read(&config).expect("read"),
                with_sessions,
                "{args:?} wrote it"
            );
        }
    }
    std::fs::write(&config, &good).expect("fixed");
    m.ok(&["ls"], &[]).await;
}

/// `session add` pointing a session at another organisation, while the agent runs: the agent
/// stops serving the old organisation's catalogue, credentials and grants under that name.
#[tokio::test(flavor = "multi_thread")]
async fn a_running_agent_drops_a_session_whose_start_url_changed() {
    let m = Machine::new(Organisation::demo(), "org-swap").await;
    m.signed_in(&[]).await;
    let agent = m.agent(&[]).await;
    let listed = m.ok(&["ls"], &[]).await;
    assert!(text(&listed.stdout).contains("payments-prod"));
    let (url, token) = endpoint_grant(&m, "payments-prod", "ReadOnlyAccess").await;
    assert_eq!(get_credentials(&url, &token).await.0, 200);

    let other_org = format!("{}/other-directory", m.sim.endpoints().base);
    m.ok(
        &[
            "session",
            "add",
            "org-swap",
            "--start-url",
            &other_org,
            "--region",
            "us-east-1",
        ],
        &[],
    )
    .await;
    let ls = m.run(&["ls"], &[]).await;
    assert_eq!(
        ls.status.code(),
        Some(3),
        "sign in again: {}",
        text(&ls.stderr)
    );
    assert!(
        !text(&ls.stdout).contains("payments-prod"),
        "the old organisation's catalogue"
    );
    let creds = m
        .run(
            &["credential-process", "payments-prod", "ReadOnlyAccess"],
            &[],
        )
        .await;
    assert_ne!(
        creds.status.code(),
        Some(0),
        "no credentials of the old organisation"
    );
    assert_eq!(
        get_credentials(&url, &token).await.0,
        401,
        "the old grant is gone"
    );
    agent.stop().await;
}

/// `--region` cannot choose where the federation request (which carries the secret key and
/// the session token) goes: a region outside the partition's grammar is refused with a
/// sentence (no panic), and a listener at the host it names hears nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_region_cannot_choose_where_the_secret_goes() {
    let m = Machine::new(Organisation::demo(), "region-input").await;
    m.signed_in(&[]).await;
    let trap = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let port = trap.local_addr().expect("addr").port();
    let heard = tokio::spawn(async move { trap.accept().await.is_ok() });
    // Without the federation override, the partition table decides the host.
    let no_override = [("ROLECALL_FEDERATION_URL", "")];
    for region in [
        "a b".to_owned(),
        format!("localhost:{port}/#"),
        "eu-west-1.evil.example".into(),
    ] {
        let out = m
            .run(
                &[
                    "--no-agent",
                    "console",
                    "payments-prod",
                    "ReadOnlyAccess",
                    "--region",
                    &region,
                    "--print",
                ],
                &no_override,
            )
            .await;
        assert_eq!(
            out.status.code(),
            Some(1),
            "{region}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains("is not an AWS region"),
            "{}",
            text(&out.stderr)
        );
        assert!(!text(&out.stderr).contains("panicked"));
        assert!(out.stdout.is_empty());
    }
    let out = m
        .run(
            &[
                "--no-agent",
                "console",
                "payments-prod",
                "ReadOnlyAccess",
                "--service",
                "ec2/../x",
                "--print",
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !heard.is_finished(),
        "nothing connected to the host the region named"
    );
    heard.abort();
}

/// `~/.aws/config` kept by a dotfile manager as a symbolic link stays a link: profiles are
/// written to its target, whose mode is kept.
#[tokio::test(flavor = "multi_thread")]
async fn profiles_write_through_a_symlinked_aws_config() {
    use std::os::unix::fs::PermissionsExt;
    let m = Machine::new(Organisation::demo(), "symlinked").await;
    m.signed_in(&[]).await;
    let target = m.path("dotfiles/aws-config");
    std::fs::create_dir_all(target.parent().expect("dir")).expect("mkdir");
    std::fs::write(&target, "[default]\nregion = eu-west-1\n").expect("write");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let link = m.path("home/.aws/config");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    m.ok(
        &[
            "--no-agent",
            "profiles",
            "--role",
            "payments-prod/ReadOnlyAccess",
        ],
        &[],
    )
    .await;
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("lstat")
            .file_type()
            .is_symlink()
    );
    let written = std::fs::read_to_string(&target).expect("read");
    assert!(written.starts_with("[default]\nregion = eu-west-1\n"));
    assert!(written.contains("[profile payments-prod.ReadOnlyAccess]"));
    let mode = std::fs::metadata(&target)
        .expect("meta")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o640);
}

/// A FIFO in place of the catalogue cache or the config never hangs the CLI: the cache is
/// ignored (the portal is swept instead), the config is a problem named with exit code 5.
#[tokio::test(flavor = "multi_thread")]
async fn a_fifo_in_place_of_a_file_never_hangs_the_cli() {
    let m = Machine::new(Organisation::demo(), "fifo").await;
    m.signed_in(&[]).await;
    m.ok(&["--no-agent", "ls", "--refresh"], &[]).await;
    let catalog_dir = m.path("rolecall/cache/catalog");
    let cache = std::fs::read_dir(&catalog_dir)
        .expect("cache dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .expect("a cached catalogue");
    std::fs::remove_file(&cache).expect("rm");
    rustix::fs::mkfifoat(rustix::fs::CWD, &cache, rustix::fs::Mode::from(0o600)).expect("mkfifo");
    let out = m.ok(&["--no-agent", "ls"], &[]).await;
    assert!(text(&out.stdout).contains("payments-prod"));

    let config = m.path("rolecall/config/config.toml");
    std::fs::remove_file(&config).expect("rm");
    rustix::fs::mkfifoat(rustix::fs::CWD, &config, rustix::fs::Mode::from(0o600)).expect("mkfifo");
    let out = m.run(&["--no-agent", "ls"], &[]).await;
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("FIFO"), "{}", text(&out.stderr));
}

/// The agent signs in the way the config prefers (device code here), as the CLI alone does:
/// one sign-in loop for both.
#[tokio::test(flavor = "multi_thread")]
async fn the_agent_signs_in_the_way_the_config_prefers() {
    let m = Machine::new(Organisation::demo(), "prefers-device").await;
    m.session_added(&[]).await;
    let config = m.path("rolecall/config/config.toml");
    let text_now = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        text_now.replace(
            "sign_in_method = \"pkce\"",
            "sign_in_method = \"device-code\"",
        ),
    )
    .expect("write");
    let agent = m.agent(&[]).await;
    let out = m.ok(&["login"], &[]).await;
    assert!(
        text(&out.stderr).contains("enter the code"),
        "{}",
        text(&out.stderr)
    );
    agent.stop().await;
}

/// A proxy in the environment (as behind a corporate proxy) is for AWS: calls to a loopback
/// endpoint (here the simulator, over plain http) never go through it, so it never sees the
/// portal's bearer token, credentials in a federation query, or a signed STS request.
#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_in_the_environment_never_sees_a_loopback_call() {
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    proxy.set_nonblocking(true).expect("nonblocking");
    let address = format!("http://{}", proxy.local_addr().expect("addr"));
    let env = [
        ("HTTP_PROXY", address.as_str()),
        ("HTTPS_PROXY", address.as_str()),
        ("ALL_PROXY", address.as_str()),
        ("http_proxy", address.as_str()),
        ("https_proxy", address.as_str()),
        ("NO_PROXY", ""),
        ("no_proxy", ""),
    ];
    let m = Machine::new(Organisation::demo(), "behind-a-proxy").await;
    m.signed_in(&env).await;
    for args in [
        vec!["--no-agent", "ls", "--refresh"],
        vec!["--no-agent", "env", "payments-prod", "ReadOnlyAccess"],
        vec!["--no-agent", "whoami", "payments-prod", "ReadOnlyAccess"],
        vec![
            "--no-agent",
            "console",
            "payments-prod",
            "ReadOnlyAccess",
            "--print",
        ],
    ] {
        m.ok(&args, &env).await;
    }
    assert!(
        proxy.accept().is_err(),
        "a loopback call went through the proxy"
    );
}

/// The other half: a call to AWS itself goes through the environment's proxy, as the AWS CLI's
/// do (a machine behind a corporate proxy reaches AWS no other way). The SDK makes the call and
/// Rolecall's HTTPS client carries it, so the proxy is asked to tunnel to the session's own SSO
/// OIDC host, and a proxy that refuses gives a clear error, soon.
#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_in_the_environment_carries_the_sdks_calls_to_aws() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = format!("http://{}", proxy.local_addr().expect("addr"));
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = asked.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = proxy.accept().await {
            let mut head = vec![0_u8; 4096];
            let n = socket.read(&mut head).await.unwrap_or(0);
            let line = String::from_utf8_lossy(&head[..n])
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned();
            log.lock().expect("log").push(line);
            let _ = socket
                .write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    let m = Machine::new(Organisation::demo(), "through-a-proxy").await;
    m.session_added(&[]).await;
    let mut login = m.command(
        &["--no-agent", "login", "--device-code"],
        &[("HTTPS_PROXY", &address), ("NO_PROXY", "")],
    );
    login.env_remove("AWS_ENDPOINT_URL_SSO_OIDC");
    let out = tokio::time::timeout(Duration::from_secs(60), login.output())
        .await
        .expect("rolecall gave up in time")
        .expect("rolecall ran");
    let said = text(&out.stderr);
    assert!(!out.status.success(), "{said}");
    assert!(!said.contains("panicked"), "{said}");
    let asked = asked.lock().expect("log").clone();
    assert!(
        asked
            .iter()
            .any(|l| l.starts_with("CONNECT oidc.us-east-1.amazonaws.com:443 ")),
        "the proxy was asked {asked:?}; rolecall said {said}"
    );
}

/// Two organisations can each have a `payments-prod`: the question `rolecall open` asks names
/// the account's id and the session, never the account's name alone.
#[tokio::test(flavor = "multi_thread")]
async fn a_links_question_names_the_account_id_and_the_session() {
    let m = Machine::new(Organisation::demo(), "linkq").await;
    m.signed_in(&[]).await;
    let ls = m.ok(&["--no-agent", "ls", "--json"], &[]).await;
    let listed: serde_json::Value = serde_json::from_slice(&ls.stdout).expect("json");
    let id = listed
        .as_array()
        .expect("accounts")
        .iter()
        .find(|a| a["account"]["account_name"] == "payments-prod")
        .and_then(|a| a["account"]["account_id"].as_str())
        .unwrap_or_else(|| panic!("payments-prod in {listed}"))
        .to_owned();
    let out = m
        .run(
            &[
                "--no-agent",
                "open",
                "rolecall://console?account=payments-prod&role=ReadOnlyAccess",
            ],
            &[],
        )
        .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "ReadOnlyAccess in payments-prod ({id}) of session linkq"
        )),
        "{stderr}"
    );
}

/// A grant kept getting credentials after `rolecall session rm` removed its session, and the
/// old organisation's after the session was pointed at another one, until some other command
/// reached the agent. The endpoint now reads a changed config before it answers: the grant
/// ends at its very next request.
#[tokio::test(flavor = "multi_thread")]
async fn a_grant_ends_at_once_when_its_session_is_removed_or_repointed() {
    for repoint in [true, false] {
        let m = Machine::new(Organisation::demo(), "grant-cfg").await;
        m.signed_in(&[]).await;
        let agent = m.agent(&[]).await;
        let (url, token) = endpoint_grant(&m, "payments-prod", "ReadOnlyAccess").await;
        assert_eq!(get_credentials(&url, &token).await.0, 200);
        if repoint {
            let other_org = format!("{}/other-directory", m.sim.endpoints().base);
            m.ok(
                &[
                    "--no-agent",
                    "session",
                    "add",
                    "grant-cfg",
                    "--start-url",
                    &other_org,
                    "--region",
                    "us-east-1",
                ],
                &[],
            )
            .await;
        } else {
            m.ok(&["--no-agent", "session", "rm", "grant-cfg"], &[])
                .await;
        }
        assert_eq!(
            get_credentials(&url, &token).await.0,
            401,
            "the grant ended at once (session {})",
            if repoint { "repointed" } else { "removed" }
        );
        agent.stop().await;
    }
}
