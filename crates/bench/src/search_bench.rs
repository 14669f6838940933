//! search-bench: the core's search (`Rolecall::search`, what every keystroke of the window and
//! the picker calls) over generated catalogues of 10,000 and 100,000 roles, timed per query.
//!
//! Prints, per size: `search: roles=<n> queries=<n> p50_ms=<x> p99_ms=<x>`. Goal: p99 under
//! 2 ms at 10,000 roles, the fuzzy matcher's own cost included.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use clap::Parser;
use rolecall_core::{Parts, Rolecall};
use rolecall_engine::api::AccountInfo;
use rolecall_engine::catalog::{AccountRoles, Catalog};
use rolecall_engine::catalog_cache::CatalogCache;
use rolecall_engine::clock::SystemClock;
use rolecall_engine::config::ConfigFile;
use rolecall_engine::files::Dirs;
use rolecall_engine::session::SsoSession;
use rolecall_engine::token_store::MemoryStore;
use rolecall_engine::vault::RoleKey;

#[derive(Debug, Parser)]
struct Args {
    /// Catalogue sizes, in roles (five roles an account).
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    roles: Vec<usize>,
    /// Timed queries per size.
    #[arg(long, default_value_t = 400)]
    queries: usize,
}

const TEAMS: &[&str] = &[
    "payments",
    "checkout",
    "identity",
    "search",
    "data-platform",
    "mobile-api",
    "web-frontend",
    "ml-training",
    "billing",
    "ledger",
    "fraud",
    "ads",
    "maps",
    "media",
    "notifications",
];
const ENVS: &[&str] = &["prod", "staging", "dev", "test", "sandbox"];
const ROLES: &[&str] = &[
    "AdministratorAccess",
    "ReadOnlyAccess",
    "PowerUserAccess",
    "DeveloperAccess",
    "Billing",
];
const QUERIES: &[&str] = &[
    "pay",
    "payments prod",
    "prod admin",
    "read only",
    "checkout-staging",
    "search dev dev",
    "ml",
    "billing 12",
    "4567",
    "ledger-prod-3 power",
    "fraud test read",
    "x",
    "zzzz",
    "data platform",
    "admin",
    "web front",
    "notif sandbox",
    "ads-prod-17",
    "identity",
    "maps dev",
];

fn catalog(roles: usize) -> Catalog {
    let accounts = roles / ROLES.len();
    Catalog {
        session: "bench".into(),
        start_url: "https://bench.awsapps.com/start".into(),
        accounts: (0..accounts)
            .map(|i| {
                let name = format!(
                    "{}-{}-{}",
                    TEAMS[i % TEAMS.len()],
                    ENVS[(i / TEAMS.len()) % ENVS.len()],
                    i / (TEAMS.len() * ENVS.len())
                );
                AccountRoles {
                    account: AccountInfo {
                        account_id: format!("{:012}", 100_000_000_000u64 + i as u64 * 7919),
                        email: format!("aws+{name}@example.com"),
                        account_name: name,
                    },
                    roles: ROLES.iter().map(|r| (*r).to_owned()).collect(),
                }
            })
            .collect(),
        refreshed_at: SystemTime::now(),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let _guard = runtime.enter();
    for &size in &args.roles {
        let dir = tempfile::tempdir().expect("tempdir");
        let dirs = Dirs::under(dir.path());
        ConfigFile::in_dir(&dirs.config)
            .update(|c| {
                c.upsert_session(SsoSession {
                    name: "bench".into(),
                    start_url: "https://bench.awsapps.com/start".into(),
                    region: "us-east-1".parse().expect("region"),
                    endpoints: Default::default(),
                });
                c.favourites.push(rolecall_engine::config::Favourite {
                    session: "bench".into(),
                    account_id: format!("{:012}", 100_000_000_000u64 + 7919 * 3),
                    role: "ReadOnlyAccess".into(),
                });
            })
            .expect("config");
        CatalogCache::new(&dirs.cache)
            .save(&catalog(size))
            .expect("cache");
        let core = Rolecall::open(Parts {
            dirs,
            store: Arc::new(MemoryStore::default()),
            connector: Arc::new(rolecall_aws::HttpsConnector::new()),
            clock: Arc::new(SystemClock),
            env: HashMap::new(),
        });
        let recents = vec![RoleKey::new(
            "bench",
            &format!("{:012}", 100_000_000_000u64 + 7919 * 11),
            "AdministratorAccess",
        )];
        let total = core.search("", &recents, usize::MAX).len();
        assert_eq!(
            total,
            size / ROLES.len() * ROLES.len(),
            "the catalogue is loaded"
        );
        for q in QUERIES.iter().take(5) {
            let _ = core.search(q, &recents, 300);
        }
        let mut times = Vec::with_capacity(args.queries);
        let mut shown = 0usize;
        for i in 0..args.queries {
            let query = QUERIES[i % QUERIES.len()];
            let started = Instant::now();
            let found = core.search(query, &recents, 300);
            times.push(started.elapsed());
            shown += found.len();
        }
        if std::env::var_os("SEARCH_BENCH_PER_QUERY").is_some() {
            for (q, chunk) in QUERIES.iter().zip(0..) {
                let mut t: Vec<Duration> = times
                    .iter()
                    .skip(chunk)
                    .step_by(QUERIES.len())
                    .copied()
                    .collect();
                t.sort();
                if let Some(m) = t.get(t.len() / 2) {
                    eprintln!("  {q:?}: {:.3} ms", m.as_secs_f64() * 1000.0);
                }
            }
        }
        times.sort();
        println!(
            "search: roles={size} queries={} p50_ms={:.3} p99_ms={:.3} (mean results {})",
            args.queries,
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            shown / args.queries
        );
    }
}
