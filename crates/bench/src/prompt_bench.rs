//! prompt-bench: `rolecall prompt` as a shell prompt runs it, once per prompt, in a shell that
//! holds a role's keys and markers (what `eval "$(rolecall env ...)"` leaves). Timed from
//! spawn to exit, so the process's own start is in it.
//!
//! Prints `prompt: runs=<n> p50_ms=<x> p99_ms=<x> max_ms=<x>` and, for scale, the same for
//! `/bin/true` (the floor of any command a prompt runs). Goal: well under 10 ms.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use clap::Parser;
use rolecall_engine::held::{Holds, marker_vars};
use rolecall_engine::shell::rfc3339;

#[derive(Debug, Parser)]
struct Args {
    /// The `rolecall` binary (build it with `cargo build --release -p rolecall-cli`).
    #[arg(long, default_value = "target/release/rolecall")]
    bin: PathBuf,
    #[arg(long, default_value_t = 300)]
    runs: usize,
}

fn time(
    program: &std::path::Path,
    args: &[&str],
    env: &[(String, String)],
    runs: usize,
) -> Vec<Duration> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let out = Command::new(program)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .expect("runs");
        times.push(start.elapsed());
        assert!(out.status.success(), "{} failed", program.display());
    }
    times.sort();
    times
}

fn report(name: &str, times: &[Duration]) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{name}: runs={} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        times.len(),
        ms(at(0.5)),
        ms(at(0.99)),
        ms(times[times.len() - 1])
    );
}

fn main() {
    let args = Args::parse();
    let key = "ASIABENCHEXAMPLE0001";
    let mut env: Vec<(String, String)> = marker_vars(
        "111122223333",
        "payments-prod",
        "AdministratorAccess",
        &Holds::Key(key.into()),
    )
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.expose().to_owned()))
    .collect();
    env.push(("AWS_ACCESS_KEY_ID".into(), key.into()));
    env.push((
        "AWS_CREDENTIAL_EXPIRATION".into(),
        rfc3339(SystemTime::now() + Duration::from_secs(3000)),
    ));
    let probe = Command::new(&args.bin)
        .arg("prompt")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("rolecall prompt runs");
    let line = String::from_utf8_lossy(&probe.stdout);
    assert!(
        line.starts_with("payments-prod/AdministratorAccess "),
        "unexpected prompt: {line:?}"
    );
    report("prompt", &time(&args.bin, &["prompt"], &env, args.runs));
    report(
        "floor_true",
        &time(std::path::Path::new("/bin/true"), &[], &env, args.runs),
    );
}
