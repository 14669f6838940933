//! `sweep-bench`: sweeps a generated organisation served by the simulator at a throttled portal
//! rate and compares the time with the floor set by the rate limit:
//!
//! floor = (ListAccounts pages + accounts) / rate
//!
//! and prints `sweep: accounts=<n> roles=<n> lost=<n> seconds=<s> floor_seconds=<s> ratio=<s/floor>`.
//! Only the sweep is timed (not the sign-in before it).
//!
//! It also times what the person waits for, from the start of the sweep: the favourite (an
//! account on the last page, given as the config's favourites are) reported with its roles,
//! any first account, and the total known:
//! `stream: first_account_ms=<x> favourite_ms=<x> total_known_ms=<x>`.

use std::num::NonZeroU32;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::Parser;
use idc_sim::{Organisation, SimOptions, Simulator};
use rolecall_aws::HttpsConnector;
use rolecall_engine::api::AwsConnector;
use rolecall_engine::catalog::{SweepOptions, sweep};
use rolecall_engine::clock::SystemClock;
use rolecall_engine::session::{Endpoints, SsoSession};
use rolecall_engine::signin::{SignIn, SignInMethod, SignInOptions};
use rolecall_engine::token_store::MemoryStore;

#[derive(Debug, Parser)]
#[command(
    name = "sweep-bench",
    about = "Benchmarks the role catalogue sweep against a throttled simulator"
)]
struct Args {
    #[arg(long, default_value_t = 1000)]
    accounts: usize,
    #[arg(long, default_value_t = 3)]
    roles: usize,
    /// The portal's rate limit (the simulator answers 429 past it) and the sweep's pace.
    #[arg(long, default_value_t = 20)]
    rps: u32,
    /// Latency the simulator adds to every request.
    #[arg(long, default_value_t = 40)]
    latency_ms: u64,
    /// Requests the simulated portal lets through at once before its rate applies.
    #[arg(long, default_value_t = 1)]
    burst: u32,
    /// The favourite's account, by its index in the organisation (default: the last one).
    #[arg(long)]
    favourite: Option<usize>,
    /// Sweep as a refresh does: the accounts are known from the cached catalogue, so the
    /// favourite is reported as soon as its roles are in, before its page.
    #[arg(long)]
    refresh: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let Some(rps) = NonZeroU32::new(args.rps) else {
        eprintln!("sweep-bench: --rps must be at least 1");
        return ExitCode::from(2);
    };
    let mut options = SimOptions::new(Organisation::generated(args.accounts, args.roles));
    options.portal_rps = Some(rps);
    options.portal_burst = NonZeroU32::new(args.burst);
    options.latency = Duration::from_millis(args.latency_ms);
    options.auto_approve_after = Some(0);
    options.device_interval = Duration::from_secs(1);
    let sim = match Simulator::start(options).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("sweep-bench: cannot start the simulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    let e = sim.endpoints();
    let session = SsoSession {
        name: "bench".into(),
        start_url: e.start_url.clone(),
        region: "us-east-1".parse().expect("region"),
        endpoints: Endpoints {
            oidc: Some(e.oidc.clone()),
            portal: Some(e.portal.clone()),
            sts: Some(e.sts.clone()),
            federation: Some(e.federation.clone()),
            iam: Some(e.iam.clone()),
        },
        session_duration_seconds: None,
        use_fips_endpoint: None,
        use_dualstack_endpoint: None,
    };
    let connector = Arc::new(HttpsConnector::new());
    let signin = SignIn::new(
        connector.clone(),
        Arc::new(MemoryStore::default()),
        Arc::new(SystemClock),
        SignInOptions::default(),
    );
    if let Err(e) = signin.sign_in(&session, SignInMethod::DeviceCode).await {
        eprintln!("sweep-bench: sign-in failed: {e}");
        return ExitCode::FAILURE;
    }
    let token = match signin.access_token(&session).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("sweep-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let before = sim.stats();
    let favourite_index = args
        .favourite
        .unwrap_or(args.accounts.saturating_sub(1))
        .min(args.accounts.saturating_sub(1));
    let favourite = format!("{:012}", 100_000_000_000u64 + favourite_index as u64);
    let sweep_options = SweepOptions {
        requests_per_second: rps,
        first: vec![favourite.clone()],
        known: if args.refresh {
            (0..args.accounts)
                .map(|i| rolecall_engine::api::AccountInfo {
                    account_id: format!("{:012}", 100_000_000_000u64 + i as u64),
                    account_name: format!("account-{i:05}"),
                    email: format!("aws+account-{i:05}@example.com"),
                })
                .collect()
        } else {
            Vec::new()
        },
        ..SweepOptions::default()
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let started = std::time::Instant::now();
    let watcher = tokio::spawn(async move {
        let (mut first, mut fav, mut total) = (None, None, None);
        while let Some(event) = rx.recv().await {
            let at = started.elapsed();
            match event {
                rolecall_engine::catalog::SweepEvent::Account(a) => {
                    first.get_or_insert(at);
                    if a.account.account_id == favourite {
                        fav.get_or_insert(at);
                    }
                }
                rolecall_engine::catalog::SweepEvent::Progress {
                    total_known: true, ..
                } => {
                    total.get_or_insert(at);
                }
                _ => {}
            }
        }
        (first, fav, total)
    });
    let result = sweep(
        "bench",
        connector.portal(&session),
        token,
        sweep_options,
        Some(tx),
        SystemTime::now(),
    )
    .await;
    let (first, fav, total) = watcher.await.unwrap_or_default();
    let (catalog, stats) = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sweep-bench: the sweep failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let after = sim.stats();
    let pages = args.accounts.div_ceil(100).max(1);
    let floor = (pages + args.accounts) as f64 / f64::from(args.rps);
    let seconds = stats.elapsed.as_secs_f64();
    let lost = args.accounts.saturating_sub(catalog.accounts.len());
    let roles_lost = (args.accounts * args.roles).saturating_sub(catalog.role_count());
    eprintln!(
        "sweep-bench: {} requests, {} retries, {} throttled by the portal, {} roles missing",
        stats.requests,
        stats.retries,
        after.throttled - before.throttled,
        roles_lost
    );
    println!(
        "sweep: accounts={} roles={} lost={} seconds={seconds:.2} floor_seconds={floor:.2} ratio={:.3}",
        catalog.accounts.len(),
        catalog.role_count(),
        lost,
        seconds / floor
    );
    let ms = |d: Option<Duration>| d.map_or("none".into(), |d| d.as_millis().to_string());
    println!(
        "stream: first_account_ms={} favourite_ms={} total_known_ms={}",
        ms(first),
        ms(fav),
        ms(total)
    );
    if lost > 0 || roles_lost > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
