//! `idc-sim`: serves the IAM Identity Center simulator and prints the shell lines that point AWS
//! tools and Rolecall at it.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use idc_sim::{Organisation, SimOptions, Simulator};

/// An IAM Identity Center simulator (SSO OIDC, access portal, STS, console federation).
///
/// Prints `export ...` lines for AWS_ENDPOINT_URL_SSO_OIDC, AWS_ENDPOINT_URL_SSO, ROLECALL_EKS_SERVER,
/// AWS_ENDPOINT_URL_STS, ROLECALL_FEDERATION_URL and ROLECALL_START_URL on standard output,
/// then logs every request (method, path, status, latency; never a secret) on standard error.
#[derive(Debug, Parser)]
#[command(name = "idc-sim", version)]
struct Args {
    /// Organisation: `demo`, a TOML fixture file, or `<accounts>x<roles>` (e.g. `1000x3`).
    #[arg(long, default_value = "demo")]
    org: String,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Milliseconds added to every API request.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Portal requests per second past which the portal answers 429 TooManyRequestsException.
    #[arg(long)]
    portal_rps: Option<NonZeroU32>,
    /// Portal requests that may arrive at once before the rate applies.
    #[arg(long)]
    portal_burst: Option<NonZeroU32>,
    /// Approve device sign-ins by themselves after this many pending polls (0: at once), and
    /// PKCE sign-ins without showing the page.
    #[arg(long)]
    auto_approve_after: Option<u32>,
    /// Polling interval handed out with device codes.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    device_interval: Duration,
    /// Lifetime of a device code.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    device_code_ttl: Duration,
    /// Lifetime of an access token (refreshable sign-ins).
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    access_token_ttl: Duration,
    /// Lifetime of a sign-in session, i.e. of the refresh token (and of legacy tokens).
    #[arg(long, alias = "refresh-token-ttl", default_value = "8h", value_parser = humantime::parse_duration)]
    session_ttl: Duration,
    /// Lifetime of role credentials from GetRoleCredentials.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    role_credentials_ttl: Duration,
    /// Lifetime of a client registration.
    #[arg(long, default_value = "90days", value_parser = humantime::parse_duration)]
    client_registration_ttl: Duration,
    /// Fraction (0 to 1) of API requests answered with a 5xx.
    #[arg(long, default_value_t = 0.0)]
    fail_rate: f64,
    /// Key that signs client secrets (registrations survive restarts of simulators sharing it).
    #[arg(
        long,
        default_value = "rolecall-idc-sim",
        env = "IDC_SIM_REGISTRATION_KEY",
        hide_env_values = true
    )]
    registration_key: String,
    /// Serve `GET /_sim/issued-secrets` (JSON: every secret handed out), for tests that look
    /// for them in another process's logs and files.
    #[arg(long)]
    expose_issued_secrets: bool,
    /// botocore's `data` folder: every request and answer is checked against AWS's service
    /// models (found in the repository's .venv, or IDC_SIM_MODELS, when not given).
    #[arg(long)]
    models: Option<std::path::PathBuf>,
}

fn main() -> ExitCode {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = std::env::var("IDC_SIM_LOG")
        .ok()
        .and_then(|v| v.parse::<tracing_subscriber::filter::Targets>().ok())
        .unwrap_or_else(|| {
            tracing_subscriber::filter::Targets::new().with_default(tracing::Level::INFO)
        });
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_filter(filter),
        )
        .init();
    let args = Args::parse();
    if !(0.0..=1.0).contains(&args.fail_rate) {
        eprintln!("idc-sim: --fail-rate must be between 0 and 1");
        return ExitCode::from(2);
    }
    let org = match Organisation::from_spec(&args.org) {
        Ok(org) => org,
        Err(e) => {
            eprintln!("idc-sim: {e}");
            return ExitCode::from(2);
        }
    };
    let mut options = SimOptions::new(org);
    options.addr = args.addr;
    options.latency = Duration::from_millis(args.latency_ms);
    options.portal_rps = args.portal_rps;
    options.portal_burst = args.portal_burst;
    options.auto_approve_after = args.auto_approve_after;
    options.device_interval = args.device_interval;
    options.device_code_ttl = args.device_code_ttl;
    options.access_token_ttl = args.access_token_ttl;
    options.session_ttl = args.session_ttl;
    options.role_credentials_ttl = args.role_credentials_ttl;
    options.client_registration_ttl = args.client_registration_ttl;
    options.fail_rate = args.fail_rate;
    options.registration_key = args.registration_key;
    options.expose_issued_secrets = args.expose_issued_secrets;
    options.models = args.models;

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("idc-sim: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let sim = match Simulator::start(options).await {
            Ok(sim) => sim,
            Err(e) => {
                eprintln!("idc-sim: cannot listen on {}: {e}", args.addr);
                return ExitCode::FAILURE;
            }
        };
        let org = sim.organisation();
        println!(
            "# Rolecall IAM Identity Center simulator: organisation {:?}, {} accounts, {} roles; any region (e.g. us-east-1)",
            org.name,
            org.accounts().count(),
            org.role_count()
        );
        print!("{}", sim.endpoints().shell_exports());
        println!("# verification page: {}/oidc/device", sim.endpoints().base);
        use std::io::Write;
        let _ = std::io::stdout().flush();
        wait_for_stop().await;
        sim.stop().await;
        ExitCode::SUCCESS
    })
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
