//! The role catalogue: every account and role a session can use, found by sweeping the portal.
//!
//! A sweep lists accounts 100 a page and, as each page arrives, lists the roles of its accounts
//! concurrently. Every portal request, first tries and retries alike, waits its turn at one
//! [`Pacer`] (one rate limiter, default 20 requests/s, shared with the session's credential
//! requests, which go first), so the sweep runs at the throttle and never past it. Turns go by
//! priority: the accounts the person uses first ([`SweepOptions::first`], listed before their
//! page even arrives, under their cached name or their id), then the account pages (so the
//! total is known early; two turns in three while listings wait), then the rest in page order. 429 and 5xx answers and network errors are retried
//! with jittered exponential backoff, a bounded number of times: no account is lost silently.
//! A 401 stops the whole sweep: the session must sign in again. Progress (done/total) and each
//! account's roles are streamed as they come, so the first accounts can be used long before the
//! sweep ends.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use backon::{ExponentialBuilder, Retryable};
use serde::{Deserialize, Serialize};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::api::{AccountInfo, ApiError, PortalApi};
use crate::pacer::{Pacer, Priority};
use crate::partition::{is_account_id, is_role_name};
use crate::secret::Secret;
use crate::text::printable;

/// A portal that hands out page tokens forever is not followed forever: 500,000 accounts, and
/// 5,000 roles per account, are far past any organisation.
const MAX_ACCOUNT_PAGES: u64 = 5_000;
const MAX_ROLE_PAGES: u32 = 50;

/// One account and the roles the person has in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRoles {
    pub account: AccountInfo,
    pub roles: Vec<String>,
}

/// A session's catalogue: no secrets, safe to cache on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    pub session: String,
    /// The start URL it was swept from: a cache of another organisation under the same session
    /// name is not used.
    #[serde(default)]
    pub start_url: String,
    pub accounts: Vec<AccountRoles>,
    /// When the sweep that produced it ended.
    pub refreshed_at: SystemTime,
}

impl Catalog {
    pub fn role_count(&self) -> usize {
        self.accounts.iter().map(|a| a.roles.len()).sum()
    }
}

/// What a sweep reports as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SweepEvent {
    /// `total` grows while account pages arrive; `total_known` once the last page is in.
    Progress {
        done: usize,
        total: usize,
        total_known: bool,
    },
    Account(AccountRoles),
    /// A request failed in a way worth another try (network, 5xx, 429), which comes after
    /// `after`: the person sees at once what is happening instead of a silent wait.
    Retrying {
        error: ApiError,
        after: Duration,
    },
}

#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Portal requests per second, for first tries and retries together.
    pub requests_per_second: NonZeroU32,
    /// Role listings in flight at once.
    pub concurrency: usize,
    /// Tries per request (the first included) on 429, 5xx and network errors.
    pub max_attempts: usize,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// Accounts whose roles are listed before any other's (favourites, recent roles), as soon
    /// as the sweep starts.
    pub first: Vec<String>,
    /// What is already known of accounts (the cached catalogue): an account of `first` is
    /// reported as soon as its roles are in, under this name (else its id until its page
    /// names it).
    pub known: Vec<AccountInfo>,
    /// The session's pacer, shared with its other portal requests (see
    /// [`crate::pacer::Pacers`]); the sweep starts its own at `requests_per_second` if none.
    pub pacer: Option<Arc<Pacer>>,
}

impl Default for SweepOptions {
    fn default() -> Self {
        Self {
            requests_per_second: NonZeroU32::new(20).expect("20 is not zero"),
            concurrency: 16,
            max_attempts: 8,
            min_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            first: Vec::new(),
            known: Vec::new(),
            pacer: None,
        }
    }
}

/// Counters of one sweep.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SweepStats {
    pub requests: u64,
    pub retries: u64,
    pub list_account_pages: u64,
    pub elapsed: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SweepError {
    #[error("the portal refused the sign-in during the sweep: sign in again")]
    SignInRequired,
    #[error("listing {what} failed after {attempts} tries: {error}")]
    Failed {
        what: String,
        attempts: usize,
        error: ApiError,
    },
}

impl SweepError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::SignInRequired => "sign_in_required",
            Self::Failed {
                error: ApiError::Network(_),
                ..
            } => "network",
            Self::Failed {
                error: ApiError::Throttled,
                ..
            } => "throttled",
            Self::Failed { .. } => "sweep_failed",
        }
    }
}

struct Sweeper {
    portal: Arc<dyn PortalApi>,
    token: Secret,
    pacer: Arc<Pacer>,
    /// Requests in flight at once.
    permits: Semaphore,
    options: SweepOptions,
    requests: AtomicU64,
    retries: AtomicU64,
    events: Option<mpsc::UnboundedSender<SweepEvent>>,
}

impl Sweeper {
    /// One portal request: paced, retried on transient errors, 401 mapped to sign-in.
    async fn call<T, F, Fut>(&self, what: &str, priority: Priority, op: F) -> Result<T, SweepError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, ApiError>>,
    {
        let attempt = || async {
            self.pacer.turn(priority).await;
            let _permit = self
                .permits
                .acquire()
                .await
                .expect("the semaphore is never closed");
            self.requests.fetch_add(1, Ordering::Relaxed);
            op().await
        };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.options.min_backoff)
            .with_max_delay(self.options.max_backoff)
            .with_max_times(self.options.max_attempts.saturating_sub(1))
            .with_jitter();
        attempt
            .retry(backoff)
            .when(ApiError::is_transient)
            .notify(|e, pause| {
                self.retries.fetch_add(1, Ordering::Relaxed);
                tracing::debug!("retrying {what} in {pause:?}: {e}");
                if let Some(tx) = &self.events {
                    let _ = tx.send(SweepEvent::Retrying {
                        error: e.clone(),
                        after: pause,
                    });
                }
            })
            .await
            .map_err(|error| match error {
                ApiError::Unauthorized(_) => SweepError::SignInRequired,
                error => SweepError::Failed {
                    what: what.to_owned(),
                    attempts: self.options.max_attempts,
                    error,
                },
            })
    }

    async fn roles_of(
        &self,
        account_id: &str,
        priority: Priority,
    ) -> Result<Vec<String>, SweepError> {
        let mut roles = Vec::new();
        let mut next: Option<String> = None;
        let mut pages = 0;
        loop {
            let what = format!("the roles of account {account_id}");
            let page = self
                .call(&what, priority, || {
                    self.portal
                        .list_account_roles(&self.token, account_id, next.as_deref(), 100)
                })
                .await?;
            for role in page.items {
                if is_role_name(&role) {
                    roles.push(role);
                } else {
                    tracing::warn!(
                        "ignoring a role of account {account_id} whose name is not an IAM role name: {:?}",
                        printable(&role)
                    );
                }
            }
            pages += 1;
            match page.next_token {
                Some(t) if !t.is_empty() && Some(&t) != next.as_ref() && pages < MAX_ROLE_PAGES => {
                    next = Some(t)
                }
                _ => break,
            }
        }
        roles.sort();
        roles.dedup();
        Ok(roles)
    }
}

type Listing = (String, bool, Result<Vec<String>, SweepError>);

/// Sweeps the portal with `token`. Events go to `events` when given (a closed receiver does not
/// stop the sweep).
pub async fn sweep(
    session: &str,
    portal: Arc<dyn PortalApi>,
    token: Secret,
    options: SweepOptions,
    events: Option<mpsc::UnboundedSender<SweepEvent>>,
    now: SystemTime,
) -> Result<(Catalog, SweepStats), SweepError> {
    use std::collections::{HashMap, HashSet};

    let started = Instant::now();
    let pacer = options
        .pacer
        .clone()
        .unwrap_or_else(|| Pacer::start(options.requests_per_second));
    let first: Vec<String> = {
        let mut seen = HashSet::new();
        options
            .first
            .iter()
            .filter(|id| is_account_id(id) && seen.insert(id.as_str()))
            .cloned()
            .collect()
    };
    let known: HashMap<String, AccountInfo> = options
        .known
        .iter()
        .map(|a| (a.account_id.clone(), a.clone()))
        .collect();
    let sweeper = Arc::new(Sweeper {
        portal,
        token,
        pacer,
        permits: Semaphore::new(options.concurrency.max(1)),
        options,
        requests: AtomicU64::new(0),
        retries: AtomicU64::new(0),
        events: events.clone(),
    });
    let send = |e: SweepEvent| {
        if let Some(tx) = &events {
            let _ = tx.send(e);
        }
    };
    let mut tasks: JoinSet<Listing> = JoinSet::new();
    let spawn = |tasks: &mut JoinSet<Listing>, id: String, priority: Priority, early: bool| {
        let sweeper = sweeper.clone();
        tasks.spawn(async move {
            let roles = sweeper.roles_of(&id, priority).await;
            (id, early, roles)
        });
    };
    // The accounts the person uses: listed at once, before any page says they exist.
    let first_set: HashSet<String> = first.iter().cloned().collect();
    let mut in_flight: HashSet<String> = HashSet::new();
    for id in &first {
        spawn(&mut tasks, id.clone(), Priority::First, true);
        in_flight.insert(id.clone());
    }

    let mut order: Vec<String> = Vec::new();
    let mut infos: HashMap<String, AccountInfo> = HashMap::new();
    let mut roles: HashMap<String, Vec<String>> = HashMap::new();
    let mut total_known;
    let mut pages = 0u64;
    let mut next: Option<String> = None;
    let mut failure: Option<SweepError> = None;
    let done = std::sync::atomic::AtomicUsize::new(0);

    // What a finished listing changes; `Err` ends the sweep.
    let finish = |joined: Result<Listing, tokio::task::JoinError>,
                  tasks: &mut JoinSet<Listing>,
                  in_flight: &mut HashSet<String>,
                  infos: &HashMap<String, AccountInfo>,
                  roles: &mut HashMap<String, Vec<String>>,
                  total: usize,
                  total_known: bool|
     -> Result<(), SweepError> {
        let (id, early, listed) = joined.map_err(|e| SweepError::Failed {
            what: "a role listing".into(),
            attempts: 1,
            error: ApiError::Other {
                code: "TaskFailed".into(),
                message: e.to_string(),
            },
        })?;
        in_flight.remove(&id);
        let listed = match listed {
            Ok(r) => r,
            Err(SweepError::SignInRequired) => return Err(SweepError::SignInRequired),
            // An account listed early may be gone (a favourite of an account no longer
            // assigned): only its page says whether it must be listed, so it is listed again
            // if its page names it.
            Err(e) if early => {
                tracing::debug!("early listing of {id} failed: {e}");
                if infos.contains_key(&id) {
                    spawn(tasks, id.clone(), Priority::First, false);
                    in_flight.insert(id);
                }
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        // An account the person uses, listed before its page: by the name the cache knows,
        // else by its id until its page names it (its roles are usable at once, and the
        // row is replaced in place when the page comes).
        let info = infos.get(&id).cloned().or_else(|| {
            first_set.contains(&id).then(|| {
                known.get(&id).cloned().unwrap_or_else(|| AccountInfo {
                    account_id: id.clone(),
                    account_name: id.clone(),
                    email: String::new(),
                })
            })
        });
        roles.insert(id.clone(), listed.clone());
        if let Some(account) = info {
            send(SweepEvent::Account(AccountRoles {
                account,
                roles: listed,
            }));
        }
        if infos.contains_key(&id) {
            done.fetch_add(1, Ordering::Relaxed);
            send(SweepEvent::Progress {
                done: done.load(Ordering::Relaxed),
                total,
                total_known,
            });
        }
        Ok(())
    };

    'pages: loop {
        let page = sweeper
            .call("the accounts", Priority::Page, || {
                sweeper
                    .portal
                    .list_accounts(&sweeper.token, next.as_deref(), 100)
            })
            .await;
        let page = match page {
            Ok(p) => p,
            Err(e) => {
                failure = Some(e);
                break 'pages;
            }
        };
        pages += 1;
        for account in page.items {
            if !is_account_id(&account.account_id) {
                tracing::warn!(
                    "ignoring an account whose id is not 12 digits: {:?}",
                    printable(&account.account_id)
                );
                continue;
            }
            let id = account.account_id.clone();
            if infos.contains_key(&id) {
                continue;
            }
            order.push(id.clone());
            infos.insert(id.clone(), account.clone());
            if let Some(listed) = roles.get(&id) {
                // Listed early: now it has its page's name, and it counts.
                send(SweepEvent::Account(AccountRoles {
                    account,
                    roles: listed.clone(),
                }));
                done.fetch_add(1, Ordering::Relaxed);
            } else if !in_flight.contains(&id) {
                spawn(&mut tasks, id.clone(), Priority::Rest, false);
                in_flight.insert(id);
            }
        }
        next = page
            .next_token
            .filter(|t| !t.is_empty() && Some(t) != next.as_ref() && pages < MAX_ACCOUNT_PAGES);
        total_known = next.is_none();
        send(SweepEvent::Progress {
            done: done.load(Ordering::Relaxed),
            total: order.len(),
            total_known,
        });
        // Report finished accounts while more pages are fetched.
        while let Some(joined) = tasks.try_join_next() {
            if let Err(e) = finish(
                joined,
                &mut tasks,
                &mut in_flight,
                &infos,
                &mut roles,
                order.len(),
                total_known,
            ) {
                failure = Some(e);
                break 'pages;
            }
        }
        if total_known {
            break;
        }
    }
    if failure.is_none() {
        while let Some(joined) = tasks.join_next().await {
            if let Err(e) = finish(
                joined,
                &mut tasks,
                &mut in_flight,
                &infos,
                &mut roles,
                order.len(),
                true,
            ) {
                failure = Some(e);
                break;
            }
        }
    }
    if let Some(e) = failure {
        tasks.abort_all();
        return Err(e);
    }
    let stats = SweepStats {
        requests: sweeper.requests.load(Ordering::Relaxed),
        retries: sweeper.retries.load(Ordering::Relaxed),
        list_account_pages: pages,
        elapsed: started.elapsed(),
    };
    let accounts = order
        .into_iter()
        .filter_map(|id| {
            let roles = roles.remove(&id)?;
            let account = infos.remove(&id)?;
            Some(AccountRoles { account, roles })
        })
        .collect();
    Ok((
        Catalog {
            session: session.to_owned(),
            start_url: String::new(),
            accounts,
            refreshed_at: now,
        },
        stats,
    ))
}
