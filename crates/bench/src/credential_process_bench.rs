//! credential-process-bench: `rolecall credential-process` as the AWS CLI and SDKs run it from a
//! `credential_process` profile, once per client start, timed from spawn to exit. Through a
//! running `rolecall agent` (the role's credentials already held), and without one (the sign-in
//! read from the keychain, the credentials fetched from the portal of an in-process simulator).
//!
//! Run inside `scripts/with-session-bus` (the direct runs read the keychain). Prints
//! `credential_process: runs=<n> agent_p50_ms=<x> agent_p99_ms=<x> direct_p50_ms=<x>`.
//! Goal: agent p99 within 10 ms.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use idc_sim::{Organisation, SimOptions, Simulator};

#[derive(Debug, Parser)]
struct Args {
    /// The `rolecall` binary (build it with `cargo build --release -p rolecall-cli`).
    #[arg(long, default_value = "target/release/rolecall")]
    bin: PathBuf,
    #[arg(long, default_value_t = 300)]
    runs: usize,
    /// Runs without an agent (each one a portal request).
    #[arg(long, default_value_t = 30)]
    direct_runs: usize,
}

fn run(bin: &std::path::Path, args: &[&str], env: &[(String, String)]) -> std::process::Output {
    let out = Command::new(bin)
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .output()
        .expect("rolecall runs");
    assert!(
        out.status.success(),
        "rolecall {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn timed(
    bin: &std::path::Path,
    args: &[&str],
    env: &[(String, String)],
    runs: usize,
) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let out = run(bin, args, env);
            let elapsed = start.elapsed();
            assert!(String::from_utf8_lossy(&out.stdout).contains("\"SecretAccessKey\""));
            elapsed
        })
        .collect();
    times.sort();
    times
}

fn ms_at(times: &[Duration], q: f64) -> f64 {
    times[((times.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let bin = std::fs::canonicalize(&args.bin).expect("the rolecall binary (see --bin)");
    let mut options = SimOptions::new(Organisation::demo());
    options.auto_approve_after = Some(0);
    let sim = Simulator::start(options).await.expect("simulator");
    let dir = tempfile::tempdir().expect("tempdir");
    let e = sim.endpoints().clone();
    let path = |p: &str| dir.path().join(p).display().to_string();
    std::fs::create_dir_all(dir.path().join("home")).expect("home");
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| !k.starts_with("AWS_") && !k.starts_with("ROLECALL_"))
        .collect();
    env.extend([
        ("HOME".into(), path("home")),
        ("ROLECALL_HOME".into(), path("rolecall")),
        ("ROLECALL_AGENT_SOCKET".into(), path("agent/agent.sock")),
        ("ROLECALL_OPENER".into(), "true".into()),
        ("AWS_ENDPOINT_URL_SSO_OIDC".into(), e.oidc.clone()),
        ("AWS_ENDPOINT_URL_SSO".into(), e.portal.clone()),
        ("AWS_ENDPOINT_URL_STS".into(), e.sts.clone()),
    ]);
    let session = format!("bench-{}", std::process::id());
    let start_url = e.start_url.clone();
    let setup = [
        vec![
            "session",
            "add",
            session.as_str(),
            "--start-url",
            start_url.as_str(),
            "--region",
            "us-east-1",
        ],
        vec![
            "--no-agent",
            "--session",
            session.as_str(),
            "login",
            "--device-code",
        ],
    ];
    for step in &setup {
        // The simulator answers on this runtime: run the CLI beside it.
        let (bin, env, step) = (
            bin.clone(),
            env.clone(),
            step.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        );
        tokio::task::spawn_blocking(move || {
            let step: Vec<&str> = step.iter().map(String::as_str).collect();
            run(&bin, &step, &env)
        })
        .await
        .expect("joined");
    }
    let account = sim
        .organisation()
        .accounts()
        .find(|a| a.name == "payments-prod")
        .expect("payments-prod")
        .id
        .clone();
    let cp = vec![
        "credential-process".to_owned(),
        "--session".into(),
        session.clone(),
        account,
        "ReadOnlyAccess".into(),
    ];

    let direct = {
        let (bin, env, cp) = (bin.clone(), env.clone(), cp.clone());
        let no_agent: Vec<String> = std::iter::once("--no-agent".to_owned()).chain(cp).collect();
        tokio::task::spawn_blocking(move || {
            let a: Vec<&str> = no_agent.iter().map(String::as_str).collect();
            timed(&bin, &a, &env, args.direct_runs)
        })
        .await
        .expect("joined")
    };

    let mut agent = tokio::process::Command::new(&bin)
        .arg("agent")
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("agent");
    {
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(agent.stdout.take().expect("stdout")).lines();
        while let Some(line) = lines.next_line().await.expect("agent output") {
            if line.starts_with("rolecall agent: credential endpoint ") {
                break;
            }
        }
    }
    let through_agent = {
        let (bin, env, cp) = (bin.clone(), env.clone(), cp.clone());
        tokio::task::spawn_blocking(move || {
            let a: Vec<&str> = cp.iter().map(String::as_str).collect();
            // The first run has the agent fetch and hold the role; the rest are what a
            // client start costs.
            run(&bin, &a, &env);
            timed(&bin, &a, &env, args.runs)
        })
        .await
        .expect("joined")
    };
    let _ = agent.kill().await;
    println!(
        "credential_process: runs={} agent_p50_ms={:.2} agent_p99_ms={:.2} direct_p50_ms={:.2}",
        through_agent.len(),
        ms_at(&through_agent, 0.5),
        ms_at(&through_agent, 0.99),
        ms_at(&direct, 0.5)
    );
}
