//! The role catalogue: every account and role a session can use, found by sweeping the portal.
//!
//! A sweep lists accounts 100 a page and, as each page arrives, lists the roles of its accounts
//! concurrently. Every portal request, first tries and retries alike, passes one rate limiter
//! (default 20 requests/s), so the sweep runs at the throttle and never past it. 429 and 5xx
//! answers and network errors are retried with jittered exponential backoff, a bounded number
//! of times: no account is lost silently. A 401 stops the whole sweep: the session must sign in
//! again. Progress (done/total) and each account's roles are streamed as they come, so the
//! first accounts can be shown long before the sweep ends.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use backon::{ExponentialBuilder, Retryable};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::api::{AccountInfo, ApiError, PortalApi};
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
}

impl Default for SweepOptions {
    fn default() -> Self {
        Self {
            requests_per_second: NonZeroU32::new(20).expect("20 is not zero"),
            concurrency: 16,
            max_attempts: 8,
            min_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
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
    limiter: DefaultDirectRateLimiter,
    options: SweepOptions,
    requests: AtomicU64,
    retries: AtomicU64,
    events: Option<mpsc::UnboundedSender<SweepEvent>>,
}

impl Sweeper {
    /// One portal request: paced, retried on transient errors, 401 mapped to sign-in.
    async fn call<T, F, Fut>(&self, what: &str, op: F) -> Result<T, SweepError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, ApiError>>,
    {
        let attempt = || async {
            self.limiter.until_ready().await;
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

    async fn roles_of(&self, account_id: &str) -> Result<Vec<String>, SweepError> {
        let mut roles = Vec::new();
        let mut next: Option<String> = None;
        let mut pages = 0;
        loop {
            let what = format!("the roles of account {account_id}");
            let page = self
                .call(&what, || {
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
    let started = Instant::now();
    let limiter = RateLimiter::direct(
        Quota::per_second(options.requests_per_second).allow_burst(NonZeroU32::MIN),
    );
    let concurrency = options.concurrency.max(1);
    let sweeper = Arc::new(Sweeper {
        portal,
        token,
        limiter,
        options,
        requests: AtomicU64::new(0),
        retries: AtomicU64::new(0),
        events: events.clone(),
    });
    let permits = Arc::new(Semaphore::new(concurrency));
    let done = Arc::new(AtomicUsize::new(0));
    let send = |e: SweepEvent| {
        if let Some(tx) = &events {
            let _ = tx.send(e);
        }
    };
    let mut tasks: JoinSet<Result<(usize, AccountRoles), SweepError>> = JoinSet::new();
    let mut total = 0usize;
    let mut pages = 0u64;
    let mut next: Option<String> = None;
    let mut results: Vec<Option<AccountRoles>> = Vec::new();
    let mut failure: Option<SweepError> = None;

    'pages: loop {
        let page = sweeper
            .call("the accounts", || {
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
            let index = total;
            total += 1;
            results.push(None);
            let sweeper = sweeper.clone();
            let permits = permits.clone();
            tasks.spawn(async move {
                let _permit = permits
                    .acquire_owned()
                    .await
                    .expect("the semaphore is never closed");
                let roles = sweeper.roles_of(&account.account_id).await?;
                Ok((index, AccountRoles { account, roles }))
            });
        }
        next = page
            .next_token
            .filter(|t| !t.is_empty() && Some(t) != next.as_ref() && pages < MAX_ACCOUNT_PAGES);
        let last = next.is_none();
        send(SweepEvent::Progress {
            done: done.load(Ordering::Relaxed),
            total,
            total_known: last,
        });
        // Report finished accounts while more pages are fetched.
        while let Some(joined) = tasks.try_join_next() {
            if let Err(e) = collect(joined, &mut results, &done, total, last, &send) {
                failure = Some(e);
                break 'pages;
            }
        }
        if last {
            break;
        }
    }
    if failure.is_none() {
        while let Some(joined) = tasks.join_next().await {
            if let Err(e) = collect(joined, &mut results, &done, total, true, &send) {
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
    let accounts = results.into_iter().flatten().collect();
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

fn collect(
    joined: Result<Result<(usize, AccountRoles), SweepError>, tokio::task::JoinError>,
    results: &mut [Option<AccountRoles>],
    done: &AtomicUsize,
    total: usize,
    total_known: bool,
    send: &impl Fn(SweepEvent),
) -> Result<(), SweepError> {
    let (index, account) = joined.map_err(|e| SweepError::Failed {
        what: "a role listing".into(),
        attempts: 1,
        error: ApiError::Other {
            code: "TaskFailed".into(),
            message: e.to_string(),
        },
    })??;
    send(SweepEvent::Account(account.clone()));
    results[index] = Some(account);
    let done = done.fetch_add(1, Ordering::Relaxed) + 1;
    send(SweepEvent::Progress {
        done,
        total,
        total_known,
    });
    Ok(())
}
