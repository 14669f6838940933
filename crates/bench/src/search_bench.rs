//! search-bench: the core's search (`Rolecall::search`, what every keystroke of the window and
//! the picker calls) over generated catalogues of 10,000 and 100,000 roles, timed per query.
//!
//! Prints, per size: `search: roles=<n> queries=<n> p50_ms=<x> p99_ms=<x>`. Goal: p99 under
//! 2 ms at 10,000 roles, the fuzzy matcher's own cost included.
//!
//! Each of those queries is searched from scratch (pasted, not typed).
//!
//! Then, per size, `search_typed:` for what scripts/bench-search-window types in the window:
//! each prefix of its queries (a query as it grows key by key, each searched within the last
//! one's answer, as the window's typing is), over the simulator's generated organisation
//! (`account-00042`, `Role03`: every role matches most prefixes, the matcher's worst case);
//! and `search_typed_cold:`, the same keys each searched from scratch, in the same run.

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

/// What scripts/bench-search-window types, key by key.
const TYPED: &[&str] = &[
    "account-01",
    "role03",
    "acc 19 r2",
    "1000000015",
    "zz",
    "account-00042 Role04",
];

/// The simulator's generated organisation (`idc-sim --org <n>x5`), as a catalogue.
fn simulated(roles: usize) -> Catalog {
    let org = idc_sim::Organisation::generated(roles / 5, 5);
    Catalog {
        session: "bench".into(),
        start_url: "https://bench.awsapps.com/start".into(),
        accounts: org
            .accounts()
            .map(|a| AccountRoles {
                account: AccountInfo {
                    account_id: a.id.clone(),
                    account_name: a.name.clone(),
                    email: a.email.clone(),
                },
                roles: a.roles.clone(),
            })
            .collect(),
        refreshed_at: SystemTime::now(),
    }
}

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

/// The core over one catalogue, as the app opens it (a favourite and a recent role given).
fn core_over(
    catalog: &Catalog,
    favourite: &str,
    recent: &str,
) -> (Rolecall, Vec<RoleKey>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let dirs = Dirs::under(dir.path());
    let role = catalog.accounts[0].roles[1].clone();
    ConfigFile::in_dir(&dirs.config)
        .update(|c| {
            c.upsert_session(SsoSession {
                name: "bench".into(),
                start_url: "https://bench.awsapps.com/start".into(),
                region: "us-east-1".parse().expect("region"),
                endpoints: Default::default(),
                session_duration_seconds: None,
                use_fips_endpoint: None,
                use_dualstack_endpoint: None,
            });
            c.favourites.push(rolecall_engine::config::Favourite {
                session: "bench".into(),
                account_id: favourite.to_owned(),
                role: role.clone(),
            });
        })
        .expect("config");
    CatalogCache::new(&dirs.cache).save(catalog).expect("cache");
    let core = Rolecall::open(Parts {
        dirs,
        store: Arc::new(MemoryStore::default()),
        connector: Arc::new(rolecall_aws::HttpsConnector::new()),
        clock: Arc::new(SystemClock),
        env: HashMap::new(),
    });
    let recents = vec![RoleKey::new("bench", recent, &catalog.accounts[0].roles[0])];
    let roles: usize = catalog.accounts.iter().map(|a| a.roles.len()).sum();
    assert_eq!(
        core.search("", &recents, usize::MAX).len(),
        roles,
        "the catalogue is loaded"
    );
    (core, recents, dir)
}

/// Each query's time (`runs` queries, taken in turn from `queries`), sorted; and the mean
/// number of results.
/// `cold`: each query from scratch (the last query's answer forgotten, outside the timing).
fn timed(
    core: &Rolecall,
    recents: &[RoleKey],
    queries: &[String],
    runs: usize,
    cold: bool,
) -> (Vec<Duration>, usize) {
    for q in queries.iter().take(5) {
        let _ = core.search(q, recents, 300);
    }
    let mut times = Vec::with_capacity(runs);
    let mut shown = 0usize;
    for i in 0..runs {
        let query = &queries[i % queries.len()];
        if cold {
            core.forget_last_search();
        }
        let started = Instant::now();
        let found = core.search(query, recents, 300);
        times.push(started.elapsed());
        shown += found.len();
    }
    if std::env::var_os("SEARCH_BENCH_PER_QUERY").is_some() {
        for (q, chunk) in queries.iter().zip(0..) {
            let mut t: Vec<Duration> = times
                .iter()
                .skip(chunk)
                .step_by(queries.len())
                .copied()
                .collect();
            t.sort();
            if let Some(m) = t.get(t.len() / 2) {
                eprintln!("  {q:?}: {:.3} ms", m.as_secs_f64() * 1000.0);
            }
        }
    }
    times.sort();
    (times, shown / runs.max(1))
}

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let _guard = runtime.enter();
    let id = |i: u64| format!("{:012}", 100_000_000_000u64 + i);
    for &size in &args.roles {
        let (core, recents, _dir) = core_over(&catalog(size), &id(7919 * 3), &id(7919 * 11));
        let queries: Vec<String> = QUERIES.iter().map(|q| (*q).to_owned()).collect();
        let (times, shown) = timed(&core, &recents, &queries, args.queries, true);
        println!(
            "search: roles={size} queries={} p50_ms={:.3} p99_ms={:.3} (mean results {shown})",
            args.queries,
            percentile(&times, 0.5),
            percentile(&times, 0.99),
        );
    }
    for &size in &args.roles {
        let (core, recents, _dir) = core_over(&simulated(size), &id(3), &id(11));
        // Each query as typed: every prefix, the whole query last.
        let typed: Vec<String> = TYPED
            .iter()
            .flat_map(|q| {
                q.char_indices()
                    .map(|(i, c)| q[..i + c.len_utf8()].to_owned())
            })
            .collect();
        let runs = args.queries.max(typed.len());
        let (times, shown) = timed(&core, &recents, &typed, runs, false);
        let (cold, _) = timed(&core, &recents, &typed, runs, true);
        println!(
            "search_typed: roles={size} keystrokes={runs} p50_ms={:.3} p99_ms={:.3} (mean results {shown})",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
        );
        println!(
            "search_typed_cold: roles={size} keystrokes={runs} p50_ms={:.3} p99_ms={:.3} p99_ratio_typed_to_cold={:.2}",
            percentile(&cold, 0.5),
            percentile(&cold, 0.99),
            percentile(&times, 0.99) / percentile(&cold, 0.99),
        );
    }
}
