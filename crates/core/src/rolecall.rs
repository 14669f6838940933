//! [`Rolecall`]: the application as the desktop shell and the CLI see it. It owns the config,
//! the sign-ins, the catalogues (memory + disk cache) and the credential vault, and answers in
//! the terms a person uses: session names, account names, ids or aliases, role names.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use rolecall_engine::api::{AwsConnector, CallerIdentity, RoleCredentials};
use rolecall_engine::catalog::{AccountRoles, Catalog, SweepEvent, SweepOptions, sweep};
use rolecall_engine::catalog_cache::CatalogCache;
use rolecall_engine::clock::Clock;
use rolecall_engine::config::{Config, ConfigError, ConfigFile, RoleChain};
use rolecall_engine::console::{ConsoleRequest, Destination, console_url};
use rolecall_engine::files::Dirs;
use rolecall_engine::partition::Region;
use rolecall_engine::search::{ChainedRole, RoleEntry, SearchIndex};
use rolecall_engine::secret::Secret;
use rolecall_engine::session::SsoSession;
use rolecall_engine::signin::{SignIn, SignInMethod, SignInOptions};
use rolecall_engine::single_flight::{Abandoned, SingleFlight};
use rolecall_engine::sync::lock;
use rolecall_engine::token_store::{MemoryStore, StoreError, TokenStore};
use rolecall_engine::vault::{CredentialVault, RoleKey, VaultOptions};
use tokio::sync::mpsc;

use crate::console::{ConsoleAsk, ConsoleOpening, Jars};
use crate::error::CoreError;

/// The OS keychain when it answers, else memory for this run, with the keychain's reason for
/// the caller to show in its own words.
pub fn keychain_or_memory() -> (Arc<dyn TokenStore>, Option<StoreError>) {
    let keychain = rolecall_keychain::KeychainStore::new();
    match keychain.probe() {
        Ok(()) => (Arc::new(keychain), None),
        Err(e) => (Arc::new(MemoryStore::default()), Some(e)),
    }
}

/// What [`Rolecall::open`] needs; everything that touches the outside world comes in here.
#[derive(Debug, Clone)]
pub struct Parts {
    pub dirs: Dirs,
    pub store: Arc<dyn TokenStore>,
    pub connector: Arc<dyn AwsConnector>,
    pub clock: Arc<dyn Clock>,
    /// The environment, for endpoint overrides (`AWS_ENDPOINT_URL_*`, `ROLECALL_FEDERATION_URL`).
    pub env: HashMap<String, String>,
}

/// A role of a session's account, resolved from what a person typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub session: SsoSession,
    pub key: RoleKey,
    pub account_name: String,
}

/// How often a sweep's accounts so far replace the catalogue in memory.
pub const STREAM_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

#[derive(Debug)]
pub struct Rolecall {
    pub(crate) parts: Parts,
    config_file: ConfigFile,
    /// The config as last read: a shared snapshot, replaced whole on every change (readers
    /// never copy it).
    config: RwLock<Arc<Config>>,
    /// What is wrong with the config file now, if anything: until it is fixed, the config in
    /// memory stays as it was and no write touches the file.
    config_problem: RwLock<Option<ConfigError>>,
    /// The config file's modification time and length when last read.
    config_stamp: Mutex<Option<(SystemTime, u64)>>,
    signin: Arc<SignIn>,
    vault: CredentialVault,
    cache: CatalogCache,
    /// Each session's catalogue once read (from a sweep or the disk cache); `None` remembers
    /// that the disk had none, so the hot paths (search on every keystroke, the window's view)
    /// neither read the disk again nor copy the catalogue.
    catalogs: Mutex<HashMap<String, Option<Arc<Catalog>>>>,
    /// Bumped by every change of the config taken (the search index depends on it).
    config_generation: std::sync::atomic::AtomicU64,
    /// The search index and what it was built from; rebuilt when that changes.
    index: Mutex<Option<CachedIndex>>,
    /// The sweep under way of each session (one at a time).
    sweeps: SingleFlight<String, Result<Arc<Catalog>, CoreError>>,
    /// The console identities signed in per browser.
    jars: Jars,
}

/// What a search index was built from: the config's generation and each session's catalogue
/// (by identity: a sweep makes a new `Arc`).
#[derive(Debug, Clone)]
struct IndexStamp {
    generation: u64,
    /// The catalogues the index was built from, held: compared by identity, and kept alive
    /// so that no later catalogue can take one's address and pass for it.
    catalogs: Vec<(String, Option<Arc<Catalog>>)>,
}

impl PartialEq for IndexStamp {
    fn eq(&self, other: &Self) -> bool {
        self.generation == other.generation
            && self.catalogs.len() == other.catalogs.len()
            && self
                .catalogs
                .iter()
                .zip(&other.catalogs)
                .all(|((a, x), (b, y))| {
                    a == b
                        && match (x, y) {
                            (Some(x), Some(y)) => Arc::ptr_eq(x, y),
                            (None, None) => true,
                            _ => false,
                        }
                })
    }
}

#[derive(Debug)]
struct CachedIndex {
    stamp: IndexStamp,
    index: Arc<SearchIndex>,
}

impl Rolecall {
    /// Opens the app. A config file that does not parse does not stop it: it starts with
    /// defaults and [`Rolecall::config_problem`] says what is wrong.
    pub fn open(parts: Parts) -> Self {
        let config_file = ConfigFile::in_dir(&parts.dirs.config);
        let (config, config_problem) = config_file.load_or_default();
        let signin = Arc::new(SignIn::new(
            parts.connector.clone(),
            parts.store.clone(),
            parts.clock.clone(),
            SignInOptions::default(),
        ));
        let vault = CredentialVault::new(
            signin.clone(),
            parts.connector.clone(),
            parts.clock.clone(),
            vault_options(&config),
        );
        let cache = CatalogCache::new(&parts.dirs.cache);
        Self {
            parts,
            config_file,
            config: RwLock::new(Arc::new(config)),
            config_problem: RwLock::new(config_problem),
            config_stamp: Mutex::new(None),
            signin,
            vault,
            cache,
            catalogs: Mutex::new(HashMap::new()),
            config_generation: std::sync::atomic::AtomicU64::new(0),
            index: Mutex::new(None),
            sweeps: SingleFlight::default(),
            jars: Jars::default(),
        }
    }

    /// Watches the signed-in sessions and says, with [`SignInEvent::EndingSoon`], when one's
    /// sign-in is about to end (the app and the agent, which live long enough to say it).
    ///
    /// [`SignInEvent::EndingSoon`]: rolecall_engine::signin::SignInEvent::EndingSoon
    /// Runs until dropped: spawn it on the runtime at hand.
    pub fn watch_session_endings(
        self: &Arc<Self>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let me = Arc::downgrade(self);
        self.signin.clone().warn_before_endings(move || {
            let Some(me) = me.upgrade() else {
                return (Vec::new(), Duration::ZERO);
            };
            me.reload_config_if_changed();
            let lead = me.config().preferences.session_warning_seconds;
            (me.sessions(), Duration::from_secs(lead))
        })
    }

    pub fn signin(&self) -> &Arc<SignIn> {
        &self.signin
    }

    pub fn vault(&self) -> &CredentialVault {
        &self.vault
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.parts.clock
    }

    /// The config as last read (a shared snapshot: cheap, and it never changes under the
    /// caller).
    pub fn config(&self) -> Arc<Config> {
        Arc::clone(
            &self
                .config
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    pub fn config_path(&self) -> &std::path::Path {
        self.config_file.path()
    }

    /// What is wrong with the config file, if anything (at start, or at the last reload or
    /// write).
    pub fn config_problem(&self) -> Option<ConfigError> {
        self.config_problem
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_problem(&self, problem: Option<ConfigError>) {
        *self
            .config_problem
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = problem;
    }

    /// Reads the config file again (another process, such as the CLI, may have changed it).
    /// A file with a problem leaves the current config in place and the problem is recorded.
    pub fn reload_config(&self) {
        match self.config_file.load() {
            Ok(fresh) => {
                self.set_problem(None);
                self.apply_config(fresh);
            }
            Err(e) => self.set_problem(Some(e)),
        }
    }

    /// [`Rolecall::reload_config`] when the file changed since it was last read (its
    /// modification time or length): cheap enough for every view of the window.
    pub fn reload_config_if_changed(&self) {
        let stamp = std::fs::metadata(self.config_file.path())
            .ok()
            .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()));
        let changed = {
            let mut last = lock(&self.config_stamp);
            let changed = *last != stamp;
            *last = stamp;
            changed
        };
        if changed {
            self.reload_config();
        }
    }

    /// Changes the config file (read again, changed, written keeping the person's own text;
    /// refused while the file has a problem) and takes the result as the config.
    pub fn update_config<T>(&self, change: impl FnOnce(&mut Config) -> T) -> Result<T, CoreError> {
        match self.config_file.update(change) {
            Ok((next, out)) => {
                self.set_problem(None);
                self.apply_config(next);
                Ok(out)
            }
            Err(e) => {
                if !matches!(e, ConfigError::Invalid { .. }) {
                    self.set_problem(Some(e.clone()));
                }
                Err(e.into())
            }
        }
    }

    /// Takes `next` as the config. A session whose start URL, region or endpoints changed (or
    /// that is gone) is another organisation now: its sign-in, catalogue and credentials are
    /// dropped, so nothing of the old one is served under its name.
    fn apply_config(&self, next: Config) {
        let stale: Vec<String> = {
            let mut config = self
                .config
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let stale = config
                .sessions
                .iter()
                .filter(|old| next.session(&old.name) != Some(*old))
                .map(|old| old.name.clone())
                .collect();
            *config = Arc::new(next);
            self.config_generation
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            stale
        };
        for name in stale {
            tracing::info!(
                "session {name} changed or was removed: its sign-in, catalogue and credentials are dropped"
            );
            self.vault.forget_session(&name);
            self.signin.forget_memory(&name);
            lock(&self.catalogs).remove(&name);
            self.cache.remove(&name);
        }
    }

    /// The session named `name`, or the only one when `name` is `None`; endpoints completed
    /// from the environment.
    pub fn session(&self, name: Option<&str>) -> Result<SsoSession, CoreError> {
        let config = self.config();
        let session = match name {
            Some(n) => config
                .session(n)
                .cloned()
                .ok_or_else(|| CoreError::UnknownSession(n.to_owned()))?,
            None => match config.sessions.as_slice() {
                [] => return Err(CoreError::NoSession),
                [only] => only.clone(),
                many => {
                    return Err(CoreError::WhichSession(
                        many.iter().map(|s| s.name.clone()).collect(),
                    ));
                }
            },
        };
        Ok(self.with_env(session))
    }

    fn with_env(&self, session: SsoSession) -> SsoSession {
        let env = &self.parts.env;
        session.with_env(|k| env.get(k).cloned())
    }

    pub fn sessions(&self) -> Vec<SsoSession> {
        self.config()
            .sessions
            .iter()
            .map(|s| self.with_env(s.clone()))
            .collect()
    }

    pub async fn sign_in(
        &self,
        session: &SsoSession,
        method: SignInMethod,
    ) -> Result<SystemTime, CoreError> {
        Ok(self.signin.sign_in(session, method).await?)
    }

    /// Portal logout, keychain item removed, and every credential of the session wiped.
    pub async fn sign_out(&self, session: &SsoSession) {
        self.vault.forget_session(&session.name);
        self.signin.sign_out(session).await;
    }

    /// The catalogue in memory, else from the disk cache (read once per session).
    pub fn catalog(&self, session: &str) -> Option<Arc<Catalog>> {
        if let Some(c) = lock(&self.catalogs).get(session) {
            return c.clone();
        }
        let start_url = self.config().session(session)?.start_url.clone();
        let cached = self.cache.load(session, &start_url).map(Arc::new);
        lock(&self.catalogs)
            .entry(session.to_owned())
            .or_insert(cached)
            .clone()
    }

    /// Signs a session out and removes it, with its catalogue (in memory and on disk).
    pub async fn remove_session(&self, name: &str) -> Result<(), CoreError> {
        // A write: refused (with the file's problem) before anything is signed out.
        if let Some(problem) = self.config_problem() {
            return Err(problem.into());
        }
        let session = self.session(Some(name))?;
        self.sign_out(&session).await;
        self.update_config(|c| c.sessions.retain(|s| s.name != name))?;
        Ok(())
    }

    /// Sweeps the portal and replaces the catalogue (vanished accounts and roles disappear).
    /// The favourites' accounts are swept first.
    pub async fn refresh_catalog(
        &self,
        session: &SsoSession,
        events: Option<mpsc::UnboundedSender<SweepEvent>>,
    ) -> Result<Arc<Catalog>, CoreError> {
        self.refresh_catalog_first(session, events, Vec::new())
            .await
    }

    /// [`Rolecall::refresh_catalog`], sweeping the accounts of `first` (recent roles), then of
    /// the favourites, before any other. While it sweeps, the catalogue is updated in place as
    /// accounts come in (at most every [`STREAM_EVERY`]): what is cached stays usable, and on a
    /// first sweep accounts are searchable and usable as they arrive.
    ///
    /// One sweep per session at a time: a refresh asked for while one runs (the window's
    /// Refresh, the background refresh, the CLI) waits for it and gets its result (its events
    /// go to the caller that started it). Two sweeps side by side would fight over the
    /// throttle, and the older one's accounts could land over the newer one's.
    pub async fn refresh_catalog_first(
        &self,
        session: &SsoSession,
        events: Option<mpsc::UnboundedSender<SweepEvent>>,
        first: Vec<String>,
    ) -> Result<Arc<Catalog>, CoreError> {
        self.sweeps
            .run(&session.name, |_| self.sweep_now(session, events, first))
            .await
            .unwrap_or_else(|Abandoned| {
                Err(CoreError::Api(format!(
                    "the refresh of session {} was stopped before it ended; refresh again",
                    session.name
                )))
            })
    }

    async fn sweep_now(
        &self,
        session: &SsoSession,
        events: Option<mpsc::UnboundedSender<SweepEvent>>,
        first: Vec<String>,
    ) -> Result<Arc<Catalog>, CoreError> {
        let token = self.signin.access_token(session).await?;
        let config = self.config();
        let rps = std::num::NonZeroU32::new(config.preferences.portal_rps.max(1))
            .unwrap_or(std::num::NonZeroU32::MIN);
        let current = self.catalog(&session.name);
        let mut first = first;
        first.extend(
            config
                .favourites
                .iter()
                .filter(|f| f.session == session.name)
                .map(|f| f.account_id.clone()),
        );
        let options = SweepOptions {
            requests_per_second: rps,
            // Shared with the credential requests of this session, which go first.
            pacer: Some(self.vault.pacers().start(&session.name, rps)),
            first,
            known: current
                .iter()
                .flat_map(|c| c.accounts.iter().map(|a| a.account.clone()))
                .collect(),
            ..SweepOptions::default()
        };
        let portal = self.parts.connector.portal(session);
        let (tx, mut rx) = mpsc::unbounded_channel();
        let swept = sweep(
            &session.name,
            portal,
            token,
            options,
            Some(tx),
            self.parts.clock.now(),
        );
        // Accounts as they come: merged into the catalogue now and then.
        let stream = async {
            let mut fresh: Vec<AccountRoles> = Vec::new();
            let mut published: Option<std::time::Instant> = None;
            while let Some(event) = rx.recv().await {
                if let SweepEvent::Account(a) = &event {
                    fresh.push(a.clone());
                }
                if !fresh.is_empty() && published.is_none_or(|t| t.elapsed() >= STREAM_EVERY) {
                    self.publish_partial(session, &fresh);
                    published = Some(std::time::Instant::now());
                    fresh.clear();
                }
                if let Some(events) = &events {
                    let _ = events.send(event);
                }
            }
            // What came since the last batch (a sweep that fails keeps it).
            if !fresh.is_empty() {
                self.publish_partial(session, &fresh);
            }
        };
        let (result, ()) = tokio::join!(swept, stream);
        let (mut catalog, stats) = match result {
            Err(rolecall_engine::catalog::SweepError::SignInRequired) => {
                self.signin.token_rejected(session);
                return Err(CoreError::SignIn(
                    rolecall_engine::signin::SignInError::SignInRequired(session.name.clone()),
                ));
            }
            other => other?,
        };
        tracing::info!(
            "catalogue of {}: {} accounts, {} roles, {} requests ({} retried) in {:?}",
            session.name,
            catalog.accounts.len(),
            catalog.role_count(),
            stats.requests,
            stats.retries,
            stats.elapsed
        );
        catalog.start_url = session.start_url.clone();
        if let Err(e) = self.cache.save(&catalog) {
            tracing::warn!("cannot cache the catalogue of {}: {e}", session.name);
        }
        let catalog = Arc::new(catalog);
        lock(&self.catalogs).insert(session.name.clone(), Some(catalog.clone()));
        Ok(catalog)
    }

    /// Accounts a sweep has just listed, merged into the session's catalogue as it is now: an
    /// account listed again is replaced in place, a new one is added at the end, and no other
    /// account is touched. Not cached: only a whole sweep is written to disk. A sweep that
    /// fails leaves what it published: every account in it is one the portal listed.
    fn publish_partial(&self, session: &SsoSession, fresh: &[AccountRoles]) {
        let mut catalogs = lock(&self.catalogs);
        let mut accounts: Vec<AccountRoles> = catalogs
            .get(&session.name)
            .and_then(|c| c.as_ref())
            .map(|c| c.accounts.clone())
            .unwrap_or_default();
        let mut at: HashMap<String, usize> = accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.account.account_id.clone(), i))
            .collect();
        for a in fresh {
            match at.get(&a.account.account_id) {
                Some(&i) => accounts[i] = a.clone(),
                None => {
                    at.insert(a.account.account_id.clone(), accounts.len());
                    accounts.push(a.clone());
                }
            }
        }
        let catalog = Catalog {
            session: session.name.clone(),
            start_url: session.start_url.clone(),
            accounts,
            refreshed_at: self.parts.clock.now(),
        };
        catalogs.insert(session.name.clone(), Some(Arc::new(catalog)));
    }

    /// The catalogue, sweeping first if there is none yet.
    pub async fn catalog_or_sweep(&self, session: &SsoSession) -> Result<Arc<Catalog>, CoreError> {
        match self.catalog(&session.name) {
            Some(c) => Ok(c),
            None => self.refresh_catalog(session, None).await,
        }
    }

    /// Every role of every session's catalogue, and every chain from one, as search entries.
    fn build_entries(&self) -> Vec<RoleEntry> {
        let config = self.config();
        let mut out = Vec::new();
        for session in &config.sessions {
            let Some(catalog) = self.catalog(&session.name) else {
                continue;
            };
            for a in &catalog.accounts {
                for role in &a.roles {
                    out.push(RoleEntry {
                        session: session.name.clone(),
                        account_id: a.account.account_id.clone(),
                        account_name: a.account.account_name.clone(),
                        email: a.account.email.clone(),
                        role: role.clone(),
                        alias: config.aliases.get(&a.account.account_id).cloned(),
                        favourite: config.is_favourite(&session.name, &a.account.account_id, role),
                        recent: None,
                        chain: None,
                    });
                }
            }
            // Roles chained from a role of this session, under the account they start from.
            for c in config.chains.iter().filter(|c| c.session == session.name) {
                let Some(a) = catalog
                    .accounts
                    .iter()
                    .find(|a| a.account.account_id == c.account_id && a.roles.contains(&c.role))
                else {
                    continue;
                };
                out.push(RoleEntry {
                    session: session.name.clone(),
                    account_id: c.account_id.clone(),
                    account_name: a.account.account_name.clone(),
                    email: a.account.email.clone(),
                    role: c.role.clone(),
                    alias: config.aliases.get(&c.account_id).cloned(),
                    favourite: false,
                    recent: None,
                    chain: Some(ChainedRole {
                        name: c.name.clone(),
                        role_arn: c.role_arn.clone(),
                    }),
                });
            }
        }
        out
    }

    /// The search index of the catalogues and config as they are now (built again only when
    /// one of them changed).
    fn index(&self) -> Arc<SearchIndex> {
        let config = self.config();
        let stamp = IndexStamp {
            generation: self
                .config_generation
                .load(std::sync::atomic::Ordering::SeqCst),
            catalogs: config
                .sessions
                .iter()
                .map(|s| (s.name.clone(), self.catalog(&s.name)))
                .collect(),
        };
        let mut cached = lock(&self.index);
        if let Some(c) = cached.as_ref()
            && c.stamp == stamp
        {
            return c.index.clone();
        }
        let index = Arc::new(SearchIndex::new(self.build_entries()));
        *cached = Some(CachedIndex {
            stamp,
            index: index.clone(),
        });
        index
    }

    /// Every role of every session's catalogue, as search entries, `recent` set from
    /// `recents` (0: the last used).
    pub fn entries(&self, recents: &[RoleKey]) -> Vec<RoleEntry> {
        self.index()
            .entries()
            .iter()
            .map(|e| {
                let mut e = e.clone();
                e.recent = recent_place(&e, recents);
                e
            })
            .collect()
    }

    /// The next search matches every role, not only the last query's matches (benchmarks
    /// time both).
    pub fn forget_last_search(&self) {
        self.index().forget_last();
    }

    /// Searches every catalogue: the best `limit` matches, best first.
    pub fn search(&self, query: &str, recents: &[RoleKey], limit: usize) -> Vec<RoleEntry> {
        self.search_counted(query, recents, limit).0
    }

    /// Like [`Rolecall::search`], with how many roles matched in all (the window says when it
    /// shows fewer).
    pub fn search_counted(
        &self,
        query: &str,
        recents: &[RoleKey],
        limit: usize,
    ) -> (Vec<RoleEntry>, usize) {
        let index = self.index();
        let (hits, total) = index.search(query, |e| recent_place(e, recents), limit);
        let found = hits
            .into_iter()
            .map(|i| {
                let mut e = index.entries()[i].clone();
                e.recent = recent_place(&e, recents);
                e
            })
            .collect();
        (found, total)
    }

    /// Finds `account` (id, alias or name) and `role` in a session's catalogue.
    pub async fn resolve(
        &self,
        session: Option<&str>,
        account: &str,
        role: &str,
    ) -> Result<Resolved, CoreError> {
        let session = self.session(session)?;
        let catalog = self.catalog_or_sweep(&session).await?;
        let config = self.config();
        let wanted = account.trim();
        let account_roles =
            pick_account(&catalog.accounts, &config.aliases, wanted).map_err(|candidates| {
                if candidates.is_empty() {
                    let hints: Vec<String> = self
                        .search(wanted, &[], 3)
                        .into_iter()
                        .filter(|e| e.session == session.name)
                        .map(|e| format!("{} ({})", e.account_name, e.account_id))
                        .collect();
                    CoreError::UnknownAccount {
                        account: wanted.to_owned(),
                        session: session.name.clone(),
                        hints,
                    }
                } else {
                    CoreError::AmbiguousAccount {
                        account: wanted.to_owned(),
                        candidates,
                    }
                }
            })?;
        let account_id = account_roles.account.account_id.clone();
        let wanted_role = role.trim();
        // A role of the account, most exact first; then a chain from it, by name.
        let chains: Vec<&RoleChain> = config
            .chains
            .iter()
            .filter(|c| {
                c.session == session.name
                    && c.account_id == account_id
                    && account_roles.roles.contains(&c.role)
            })
            .collect();
        let key = if let Some(exact) = account_roles.roles.iter().find(|r| *r == wanted_role) {
            RoleKey::new(&session.name, &account_id, exact)
        } else if let Some(c) = chains.iter().find(|c| c.name == wanted_role) {
            RoleKey::new(&session.name, &account_id, &c.role).chained(&c.role_arn)
        } else if let Some(r) = pick_role(&account_roles.roles, wanted_role) {
            RoleKey::new(&session.name, &account_id, r)
        } else if let [c] = chains
            .iter()
            .filter(|c| c.name.eq_ignore_ascii_case(wanted_role))
            .collect::<Vec<_>>()
            .as_slice()
        {
            RoleKey::new(&session.name, &account_id, &c.role).chained(&c.role_arn)
        } else {
            return Err(CoreError::UnknownRole {
                role: role.to_owned(),
                account: account_roles.account.account_name.clone(),
                roles: account_roles
                    .roles
                    .iter()
                    .cloned()
                    .chain(chains.iter().map(|c| format!("{} (chained)", c.name)))
                    .collect(),
            });
        };
        Ok(Resolved {
            key,
            account_name: account_roles.account.account_name.clone(),
            session,
        })
    }

    /// Exactly the role `key` names (account id and role name as they are, no matching):
    /// what the app and the tray act on, so a click never lands on a look-alike.
    pub async fn resolve_exact(&self, key: &RoleKey) -> Result<Resolved, CoreError> {
        let session = self.session(Some(&key.session))?;
        let catalog = self.catalog_or_sweep(&session).await?;
        let account = catalog
            .accounts
            .iter()
            .find(|a| a.account.account_id == key.account_id)
            .ok_or_else(|| CoreError::UnknownAccount {
                account: key.account_id.clone(),
                session: session.name.clone(),
                hints: vec![],
            })?;
        if !account.roles.contains(&key.role) {
            return Err(CoreError::UnknownRole {
                role: key.role.clone(),
                account: account.account.account_name.clone(),
                roles: account.roles.clone(),
            });
        }
        let mut exact = RoleKey::new(&session.name, &key.account_id, &key.role);
        if let Some(arn) = &key.chain {
            // Only a chain the config still has, from this very role.
            let configured = self.config().chains.iter().any(|c| {
                c.session == session.name
                    && c.account_id == key.account_id
                    && c.role == key.role
                    && c.role_arn == *arn
            });
            if !configured {
                return Err(CoreError::UnknownRole {
                    role: arn.clone(),
                    account: account.account.account_name.clone(),
                    roles: account.roles.clone(),
                });
            }
            exact = exact.chained(arn);
        }
        Ok(Resolved {
            key: exact,
            account_name: account.account.account_name.clone(),
            session,
        })
    }

    /// The account's name from the catalogue, or its id when the catalogue does not have it.
    pub fn account_name(&self, session: &str, account_id: &str) -> String {
        self.catalog(session)
            .and_then(|c| {
                c.accounts
                    .iter()
                    .find(|a| a.account.account_id == account_id)
                    .map(|a| a.account.account_name.clone())
            })
            .unwrap_or_else(|| account_id.to_owned())
    }

    /// The role as the person knows it: a chained role by its chain's name (or its ARN when
    /// the chain is gone from the config), any other by its own.
    pub fn role_label(&self, key: &RoleKey) -> String {
        match &key.chain {
            None => key.role.clone(),
            Some(arn) => self.chain_name(key).unwrap_or_else(|| arn.clone()),
        }
    }

    /// The config's name of the chain `key` stands for, if it is a chained role.
    pub fn chain_name(&self, key: &RoleKey) -> Option<String> {
        let arn = key.chain.as_ref()?;
        self.config()
            .chains
            .iter()
            .find(|c| {
                c.session == key.session
                    && c.account_id == key.account_id
                    && c.role == key.role
                    && c.role_arn == *arn
            })
            .map(|c| c.name.clone())
    }

    pub async fn credentials(&self, resolved: &Resolved) -> Result<RoleCredentials, CoreError> {
        Ok(self.vault.get(&resolved.session, &resolved.key).await?)
    }

    pub async fn whoami(&self, resolved: &Resolved) -> Result<CallerIdentity, CoreError> {
        Ok(self.vault.verify(&resolved.session, &resolved.key).await?)
    }

    /// A console for a role, as the person asked (`ask`) and set it up: the mode, the browser
    /// and profile or container, the destination, region and session length (the role's own
    /// defaults first). The sign-in URL is a secret: it opens a console session.
    pub async fn console(
        &self,
        resolved: &Resolved,
        ask: &ConsoleAsk,
    ) -> Result<ConsoleOpening, CoreError> {
        let config = self.config();
        let key = &resolved.key;
        let label = self.role_label(key);
        let defaults = config.role_defaults(&resolved.session.name, &key.account_id, &label);
        let choice = config.console_choice(&resolved.session.name, &key.account_id);
        let mode = ask.mode.or(choice.mode).unwrap_or_default();
        let path_var = self
            .parts
            .env
            .get("PATH")
            .map(std::ffi::OsString::from)
            .or_else(|| std::env::var_os("PATH"));
        let account_label = config
            .aliases
            .get(&key.account_id)
            .cloned()
            .unwrap_or_else(|| resolved.account_name.clone());
        let open_in = crate::console::open_in(
            mode,
            &choice,
            &key.account_id,
            &account_label,
            config.environments.get(&key.account_id).map(String::as_str),
            path_var.as_deref(),
        )?;
        let jar = open_in.jar();
        self.jars.check(&jar, key, mode, ask.force)?;

        let region = ask
            .region
            .as_deref()
            .or(defaults.and_then(|d| d.region.as_deref()))
            .or(config.preferences.console_region.as_deref());
        let region = match region {
            Some(r) => Region::parse(r).map_err(CoreError::Invalid)?,
            None => resolved.session.region.clone(),
        };
        let mut request = ConsoleRequest::new(region);
        match (&ask.path, &ask.service) {
            (Some(path), _) => request.path = Some(path.clone()),
            (None, Some(service)) => request.service = Some(service.clone()),
            (None, None) => match defaults
                .and_then(|d| d.destination.as_deref())
                .map(Destination::parse)
            {
                Some(Destination::Path(p)) => request.path = Some(p),
                Some(Destination::Service(s)) => request.service = Some(s),
                None => {}
            },
        }
        if let Some(seconds) = ask
            .session_seconds
            .or(defaults.and_then(|d| d.session_seconds))
        {
            request.session_duration = std::time::Duration::from_secs(seconds);
        }
        request.issuer = resolved.session.start_url.clone();
        request.chained = key.chain.is_some();
        request.federation_url = resolved.session.federation_url();
        request.logout_first = mode.signs_out_first();
        let creds = self.credentials(resolved).await?;
        let url = console_url(self.parts.connector.federation().as_ref(), &creds, &request)
            .await
            .map_err(CoreError::from_api)?;
        let identities = self.jars.record(&jar, key, mode);
        Ok(ConsoleOpening {
            url,
            open_in,
            mode,
            identities,
        })
    }

    /// A console sign-in URL for a role, as set up for it (see [`Rolecall::console`]).
    pub async fn console_url(
        &self,
        resolved: &Resolved,
        service: Option<&str>,
        region: Option<&str>,
    ) -> Result<Secret, CoreError> {
        let ask = ConsoleAsk {
            service: service.map(str::to_owned),
            region: region.map(str::to_owned),
            ..ConsoleAsk::default()
        };
        Ok(self.console(resolved, &ask).await?.url)
    }
}

/// Where `e` is among the recently used roles (0: the last one).
fn recent_place(e: &RoleEntry, recents: &[RoleKey]) -> Option<usize> {
    recents.iter().position(|r| {
        r.account_id == e.account_id
            && r.role == e.role
            && r.session == e.session
            && r.chain.as_deref() == e.chain.as_ref().map(|c| c.role_arn.as_str())
    })
}

/// The account a person means by `wanted`, most exact first: the account id itself; an alias
/// (exact, then ignoring case); the account name (exact, then ignoring case). A name that looks
/// like an account id never answers for that id, whether the account is in the catalogue or
/// not (an id is matched by ids and the person's aliases only). Several matches at the first level that
/// has any: `Err` with the candidates; none: `Err` with none.
fn pick_account<'a>(
    accounts: &'a [AccountRoles],
    aliases: &std::collections::BTreeMap<String, String>,
    wanted: &str,
) -> Result<&'a AccountRoles, Vec<String>> {
    type Level<'l> = Box<dyn Fn(&AccountRoles) -> bool + 'l>;
    let levels: [Level<'_>; 4] = [
        Box::new(|a| {
            aliases
                .get(&a.account.account_id)
                .is_some_and(|x| x == wanted)
        }),
        Box::new(|a| {
            aliases
                .get(&a.account.account_id)
                .is_some_and(|x| x.eq_ignore_ascii_case(wanted))
        }),
        Box::new(|a| a.account.account_name == wanted),
        Box::new(|a| a.account.account_name.eq_ignore_ascii_case(wanted)),
    ];
    let exact: Vec<&AccountRoles> = accounts
        .iter()
        .filter(|a| a.account.account_id == wanted)
        .collect();
    match exact.as_slice() {
        [] => {}
        [one] => return Ok(one),
        many => {
            return Err(many
                .iter()
                .map(|a| format!("{} ({})", a.account.account_name, a.account.account_id))
                .collect());
        }
    }
    // An account id that is not in the catalogue is looked for among the person's aliases
    // only: a name from the portal that reads like the id never answers for it.
    let levels = if rolecall_engine::partition::is_account_id(wanted) {
        &levels[..2]
    } else {
        &levels[..]
    };
    for matches in levels {
        let found: Vec<&AccountRoles> = accounts.iter().filter(|a| matches(a)).collect();
        match found.as_slice() {
            [] => continue,
            [one] => return Ok(one),
            many => {
                return Err(many
                    .iter()
                    .map(|a| format!("{} ({})", a.account.account_name, a.account.account_id))
                    .collect());
            }
        }
    }
    Err(vec![])
}

/// The role named `wanted`: the exact name, else the one name equal ignoring case (none when
/// two are).
fn pick_role<'a>(roles: &'a [String], wanted: &str) -> Option<&'a str> {
    if let Some(exact) = roles.iter().find(|r| *r == wanted) {
        return Some(exact);
    }
    let folded: Vec<&String> = roles
        .iter()
        .filter(|r| r.eq_ignore_ascii_case(wanted))
        .collect();
    match folded.as_slice() {
        [one] => Some(one.as_str()),
        _ => None,
    }
}

fn vault_options(config: &Config) -> VaultOptions {
    VaultOptions {
        warnings: config.preferences.warnings(),
        auto_renew: config.preferences.auto_renew,
        ..VaultOptions::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rolecall_engine::api::AccountInfo;

    fn account(id: &str, name: &str, roles: &[&str]) -> AccountRoles {
        AccountRoles {
            account: AccountInfo {
                account_id: id.into(),
                account_name: name.into(),
                email: String::new(),
            },
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    #[test]
    fn an_exact_account_id_beats_a_name_that_looks_like_one() {
        let accounts = vec![
            account("111111111111", "payments-prod", &["Admin"]),
            // A hostile (or unlucky) account named after the other's id.
            account("222222222222", "111111111111", &["Admin"]),
        ];
        let aliases = std::collections::BTreeMap::new();
        let found = pick_account(&accounts, &aliases, "111111111111").expect("found");
        assert_eq!(found.account.account_id, "111111111111");
        let by_name = pick_account(&accounts, &aliases, "payments-prod").expect("found");
        assert_eq!(by_name.account.account_id, "111111111111");
        let folded = pick_account(&accounts, &aliases, "PAYMENTS-PROD").expect("found");
        assert_eq!(folded.account.account_id, "111111111111");
    }

    /// An account id names one account. While that account is not in the catalogue (access
    /// removed, or a sweep that has not reached it yet), an account *named* like the id must
    /// not answer for it: `credential_process` profiles and links name accounts by id.
    #[test]
    fn a_missing_account_id_never_resolves_to_an_account_named_like_it() {
        let accounts = vec![
            account("222222222222", "111111111111", &["Admin"]),
            account("333333333333", "payments-prod", &["Admin"]),
        ];
        let aliases = std::collections::BTreeMap::new();
        assert!(pick_account(&accounts, &aliases, "111111111111").is_err());
        // The person's own alias is theirs to give, whatever it looks like.
        let aliases = std::collections::BTreeMap::from([(
            "333333333333".to_owned(),
            "444444444444".to_owned(),
        )]);
        assert_eq!(
            pick_account(&accounts, &aliases, "444444444444")
                .expect("the alias")
                .account
                .account_id,
            "333333333333"
        );
    }

    #[test]
    fn an_exact_name_beats_names_equal_ignoring_case() {
        let accounts = vec![
            account("111111111111", "Prod", &["Admin", "admin"]),
            account("222222222222", "prod", &["ReadOnly"]),
        ];
        let aliases = std::collections::BTreeMap::new();
        assert_eq!(
            pick_account(&accounts, &aliases, "prod")
                .expect("exact")
                .account
                .account_id,
            "222222222222"
        );
        assert!(
            pick_account(&accounts, &aliases, "PROD").is_err(),
            "two names equal ignoring case: ambiguous, not the first one"
        );
        let roles = &accounts[0].roles;
        assert_eq!(pick_role(roles, "admin"), Some("admin"));
        assert_eq!(pick_role(roles, "Admin"), Some("Admin"));
        assert_eq!(
            pick_role(roles, "ADMIN"),
            None,
            "two candidates: none chosen"
        );
        assert_eq!(pick_role(&accounts[1].roles, "readonly"), Some("ReadOnly"));
    }

    /// A sweep replaces the catalogue many times (each batch of accounts as it arrives). The
    /// search must always see the catalogue as it is now, even when a new catalogue lands at
    /// the address of the one it replaced.
    #[test]
    fn search_sees_every_catalogue_a_sweep_publishes() {
        let home = tempfile::tempdir().expect("tempdir");
        let (core, session) = core_with_session(home.path());
        let mut accounts = Vec::new();
        for i in 0..200 {
            accounts.push(account(
                &format!("{:012}", 100_000_000_000u64 + i),
                &format!("account-{i:05}"),
                &["Admin"],
            ));
            core.publish_partial(&session, &accounts);
            // Several catalogues come and go between two searches (the window searches when
            // it redraws, not at each batch).
            if i % 2 == 1 {
                let (_, total) = core.search_counted("", &[], 300);
                assert_eq!(total, accounts.len(), "after {} accounts", accounts.len());
            }
        }
    }

    fn core_in(home: &std::path::Path) -> Rolecall {
        Rolecall::open(Parts {
            dirs: Dirs::under(home),
            store: Arc::new(rolecall_engine::token_store::MemoryStore::default()),
            connector: Arc::new(rolecall_aws::HttpsConnector::new()),
            clock: Arc::new(rolecall_engine::clock::SystemClock),
            env: HashMap::new(),
        })
    }

    /// A core with one session `s` in its config (no network behind it: for tests that
    /// publish catalogues themselves).
    fn core_with_session(home: &std::path::Path) -> (Rolecall, SsoSession) {
        let core = core_in(home);
        let session = SsoSession {
            name: "s".into(),
            start_url: "https://d-1234567890.awsapps.com/start".into(),
            region: "eu-west-1".parse().expect("region"),
            endpoints: Default::default(),
            session_duration_seconds: None,
            use_fips_endpoint: None,
            use_dualstack_endpoint: None,
        };
        core.update_config(|c| c.upsert_session(session.clone()))
            .expect("session");
        (core, session)
    }

    /// A core signed in to a simulator of `org` (portal throttled at 20 requests/s).
    async fn signed_in(
        home: &std::path::Path,
        org: idc_sim::Organisation,
    ) -> (idc_sim::Simulator, Rolecall, SsoSession) {
        let mut options = idc_sim::SimOptions::new(org);
        options.auto_approve_after = Some(0);
        options.device_interval = std::time::Duration::from_secs(1);
        options.portal_rps = std::num::NonZeroU32::new(20);
        let sim = idc_sim::Simulator::start(options).await.expect("simulator");
        let e = sim.endpoints().clone();
        let session = SsoSession {
            name: "sim".into(),
            start_url: e.start_url.clone(),
            region: "us-east-1".parse().expect("region"),
            endpoints: rolecall_engine::session::Endpoints {
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
        let core = core_in(home);
        core.update_config(|c| c.upsert_session(session.clone()))
            .expect("session");
        core.sign_in(&session, SignInMethod::DeviceCode)
            .await
            .expect("signed in");
        (sim, core, session)
    }

    /// Refresh clicked while the background refresh runs: one sweep, whose result both get.
    /// Two side by side fought over the throttle, and the one that started first published
    /// its older accounts over the newer catalogue (a role vanished from the window).
    #[tokio::test]
    async fn a_refresh_asked_for_while_a_sweep_runs_joins_it() {
        let home = tempfile::tempdir().expect("tempdir");
        let (sim, core, session) =
            signed_in(home.path(), idc_sim::Organisation::generated(60, 2)).await;
        let (a, b) = tokio::join!(
            core.refresh_catalog(&session, None),
            core.refresh_catalog(&session, None)
        );
        let (a, b) = (a.expect("first refresh"), b.expect("second refresh"));
        assert!(Arc::ptr_eq(&a, &b), "both got the one sweep's catalogue");
        assert_eq!(a.role_count(), 120);
        assert_eq!(sim.stats().operations.get("ListAccounts"), Some(&1));
        // Once it ended, a refresh sweeps again.
        core.refresh_catalog(&session, None).await.expect("again");
        assert_eq!(sim.stats().operations.get("ListAccounts"), Some(&2));
    }

    /// Multi-session adds an identity to the browser; every other mode signs the browser out
    /// of the console first (a second identity without that is refused by the console). A
    /// role's own destination, region and session length are used when the person asks for
    /// none, and what the person asks for wins.
    #[tokio::test]
    async fn console_modes_and_a_roles_defaults_shape_the_sign_in_url() {
        let home = tempfile::tempdir().expect("tempdir");
        let (_sim, core, _session) =
            signed_in(home.path(), idc_sim::Organisation::generated(3, 2)).await;
        let resolved = core
            .resolve(Some("sim"), "100000000001", "Role01")
            .await
            .expect("resolved");
        let url = |ask: ConsoleAsk| {
            let (core, resolved) = (&core, &resolved);
            async move {
                let opening = core.console(resolved, &ask).await.expect("console");
                let url = url::Url::parse(opening.url.expose()).expect("url");
                let pairs: HashMap<String, String> = url.query_pairs().into_owned().collect();
                (url.path().to_owned(), pairs)
            }
        };
        let (path, q) = url(ConsoleAsk {
            mode: Some(rolecall_engine::browser::ConsoleMode::MultiSession),
            ..ConsoleAsk::default()
        })
        .await;
        assert_eq!(
            (path.as_str(), q["Action"].as_str()),
            ("/federation", "login")
        );
        let (path, q) = url(ConsoleAsk::default()).await;
        assert_eq!(
            (path.as_str(), q["Action"].as_str()),
            ("/oauth", "logout"),
            "switch is the default"
        );
        let login = url::Url::parse(&q["redirect_uri"]).expect("login url");
        let login: HashMap<String, String> = login.query_pairs().into_owned().collect();
        assert_eq!(login["Action"], "login");

        core.update_config(|c| {
            c.roles.push(rolecall_engine::config::RoleDefaults {
                session: "sim".into(),
                account_id: "100000000001".into(),
                role: "Role01".into(),
                destination: Some("/s3/buckets".into()),
                region: Some("eu-west-2".into()),
                session_seconds: Some(3600),
            })
        })
        .expect("defaults");
        let multi = || ConsoleAsk {
            mode: Some(rolecall_engine::browser::ConsoleMode::MultiSession),
            ..ConsoleAsk::default()
        };
        let (_, q) = url(multi()).await;
        assert_eq!(
            q["Destination"],
            "https://eu-west-2.console.aws.amazon.com/s3/buckets?region=eu-west-2"
        );
        let (_, q) = url(ConsoleAsk {
            service: Some("ec2".into()),
            region: Some("us-west-2".into()),
            ..multi()
        })
        .await;
        assert_eq!(
            q["Destination"],
            "https://us-west-2.console.aws.amazon.com/ec2/home?region=us-west-2"
        );
    }

    /// The accounts a sweep streams in are merged into the catalogue as it is then, never a
    /// copy taken when the sweep started: a newer catalogue loses nothing to them.
    #[test]
    fn accounts_streamed_in_never_drop_the_rest_of_the_catalogue() {
        let home = tempfile::tempdir().expect("tempdir");
        let (core, session) = core_with_session(home.path());
        let whole: Vec<AccountRoles> = (0..34)
            .map(|i| {
                account(
                    &format!("{:012}", 100_000_000_000u64 + i),
                    &format!("account-{i:05}"),
                    &["Admin", "ReadOnly"],
                )
            })
            .collect();
        core.publish_partial(&session, &whole);
        assert_eq!(core.search_counted("", &[], 300).1, 68);
        // One account listed again, with a role more; one new account.
        let again = account(
            "100000000007",
            "account-00007",
            &["Admin", "Billing", "ReadOnly"],
        );
        let new = account("100000000099", "account-00099", &["Admin"]);
        core.publish_partial(&session, &[again.clone(), new]);
        let catalog = core.catalog("s").expect("catalogue");
        assert_eq!(catalog.accounts.len(), 35);
        assert_eq!(catalog.accounts[7], again, "replaced in place");
        assert_eq!(core.search_counted("", &[], 300).1, 70);
    }

    #[test]
    fn an_alias_resolves_before_account_names() {
        let accounts = vec![
            account("111111111111", "pay", &["Admin"]),
            account("222222222222", "other", &["Admin"]),
        ];
        let aliases = [("222222222222".to_owned(), "pay".to_owned())].into();
        assert_eq!(
            pick_account(&accounts, &aliases, "pay")
                .expect("alias")
                .account
                .account_id,
            "222222222222"
        );
    }
}
