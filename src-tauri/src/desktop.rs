//! The desktop app's state: the application core, the local credential endpoint, the agent
//! socket for the CLI, and what only a window needs (sign-in prompts, sweep progress, recents).
//! Commands, the tray and the quick picker all call into [`Desktop`].
//!
//! Secrets stay here: the webview gets views without secrets; copying to the clipboard happens
//! in Rust, and the clipboard is cleared after a while if it still holds what we put there.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rolecall_aws::HttpsConnector;
use rolecall_core::agent::{AgentServer, socket_path};
use rolecall_core::endpoint::CredentialEndpoint;
use rolecall_core::handoff::Handoff;
use rolecall_core::{CoreError, Parts, Resolved, Rolecall, keychain_or_memory};
use rolecall_engine::api::ApiError;
use rolecall_engine::catalog::SweepEvent;
use rolecall_engine::clock::SystemClock;
use rolecall_engine::files::Dirs;
use rolecall_engine::held::{self, Holds};
use rolecall_engine::partition::Region;
use rolecall_engine::secret::Secret;
use rolecall_engine::session::{Endpoints, SsoSession, validate_start_url};
use rolecall_engine::shell::{self, ShellFormat};
use rolecall_engine::signin::{SignInEvent, SignInMethod};
use rolecall_engine::sync::lock;
use rolecall_engine::token_store::{MemoryStore, TokenStore};
use rolecall_engine::vault::RoleKey;

use rolecall_engine::text::printable;

use crate::view::{
    AccountSettingsView, ActiveView, AppView, ChainView, ConsoleMenuView, ConsoleTarget, ErrorView,
    FirstView, GrantView, ImportView, PendingLinkView, PreferencesView, RoleRef, RoleView,
    SearchView, ServiceView, SessionErrorView, SessionSettingsView, SessionView, SettingsView,
    SignInView, SweepView,
};

/// How the app was started.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// Serve the built-in demo organisation (the simulator, in this process) and use a
    /// throw-away config: nothing of the person's own is touched.
    pub demo: bool,
    /// Do not serve the agent socket (tests running several apps).
    pub no_agent: bool,
    /// Config and cache under this folder, with the sign-in in memory (tests).
    pub home: Option<std::path::PathBuf>,
}

/// Set when the global shortcut could not be registered.
pub static SHORTCUT_FAILED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Why the quick picker's global shortcut cannot work in this session, if it cannot: Tauri
/// grabs keys through X11 only, so in a Wayland session it sees keys only while an X11 window
/// has the focus; or registering it failed. The person binds `rolecall-desktop --picker` in
/// the desktop's own keyboard settings instead.
pub fn shortcut_unavailable(
    env: impl Fn(&str) -> Option<String>,
    registration_failed: bool,
) -> Option<String> {
    let wayland = env("XDG_SESSION_TYPE").is_some_and(|t| t.eq_ignore_ascii_case("wayland"))
        || env("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty());
    let bind = "bind the command rolecall-desktop --picker to a key in your desktop's keyboard settings (README: GNOME, KDE, Sway)";
    if wayland {
        Some(format!(
            "This desktop runs Wayland, where Rolecall cannot grab a global shortcut: {bind}."
        ))
    } else if registration_failed {
        Some(format!(
            "The quick picker's shortcut could not be registered (another program may hold it): {bind}."
        ))
    } else {
        None
    }
}

pub fn ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Hands a URL to `ROLECALL_OPENER` when set (tests record and follow URLs with it), else to
/// the default browser.
pub fn open_url(url: &str) {
    if let Err(e) = rolecall_core::opener::open_url(url) {
        tracing::warn!("{}", printable(&e));
    }
}

/// The services the console menu offers (console service name, what people call it).
pub const COMMON_SERVICES: [(&str, &str); 10] = [
    ("ec2", "EC2"),
    ("s3", "S3"),
    ("iam", "IAM"),
    ("cloudwatch", "CloudWatch"),
    ("lambda", "Lambda"),
    ("cloudformation", "CloudFormation"),
    ("rds", "RDS"),
    ("eks", "EKS"),
    ("vpc", "VPC"),
    ("billing", "Billing"),
];

/// A link for a role used lately opens without a question at most once in this window; the
/// rest of a burst (a page or a script opening the same link sixty times) waits for the person.
pub const LINK_BURST_WINDOW: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Debug)]
struct PendingLink {
    view: PendingLinkView,
    role: RoleRef,
    target: ConsoleTarget,
}

/// The built-in demo organisation (the simulator, in this process), when this build has it.
#[cfg(feature = "demo")]
type DemoOrganisation = idc_sim::Simulator;
#[cfg(not(feature = "demo"))]
type DemoOrganisation = ();

/// Starts the demo organisation and points a `demo` session at it.
#[cfg(feature = "demo")]
async fn start_demo(core: &Rolecall) -> Option<DemoOrganisation> {
    use idc_sim::{Organisation, SimOptions, Simulator};
    match Simulator::start(SimOptions::new(Organisation::demo())).await {
        Ok(sim) => {
            let e = sim.endpoints().clone();
            let session = SsoSession {
                name: "demo".into(),
                start_url: e.start_url.clone(),
                region: "us-east-1".parse().expect("region"),
                endpoints: Endpoints {
                    oidc: Some(e.oidc),
                    portal: Some(e.portal),
                    sts: Some(e.sts),
                    federation: Some(e.federation),
                    iam: Some(e.iam),
                },
                session_duration_seconds: None,
                use_fips_endpoint: None,
                use_dualstack_endpoint: None,
            };
            if let Err(err) = core.update_config(|c| c.upsert_session(session)) {
                tracing::error!("demo session: {err}");
            }
            tracing::info!("demo organisation served at {}", e.base);
            Some(sim)
        }
        Err(e) => {
            tracing::error!("cannot start the demo organisation: {e}");
            None
        }
    }
}

#[cfg(not(feature = "demo"))]
async fn start_demo(_core: &Rolecall) -> Option<DemoOrganisation> {
    tracing::error!(
        "this build has no demo organisation (it was built without the `demo` feature)"
    );
    None
}

#[derive(Debug)]
pub struct Desktop {
    pub core: Arc<Rolecall>,
    pub endpoint: Arc<CredentialEndpoint>,
    /// Console sign-in URLs reach the browser through it (never a process's arguments).
    pub handoff: Arc<Handoff>,
    _agent: Option<AgentServer>,
    _demo: Option<DemoOrganisation>,
    /// The demo's throw-away config and cache (removed when the app ends).
    _demo_home: Option<tempfile::TempDir>,
    demo: bool,
    prompts: Mutex<HashMap<String, SignInView>>,
    errors: Mutex<HashMap<String, SessionErrorView>>,
    /// How each session last signed in (device code or not), so Retry signs in the same way.
    device_code: Mutex<HashMap<String, bool>>,
    sweeps: Mutex<HashMap<String, SweepView>>,
    recents: Mutex<Vec<RoleKey>>,
    /// The console pages each role was opened at lately (newest first).
    destinations: Mutex<HashMap<RoleKey, Vec<String>>>,
    /// A `rolecall://` link waiting for the person's answer.
    pending_link: Mutex<Option<PendingLink>>,
    /// When a link last opened a console without asking ([`LINK_BURST_WINDOW`]).
    opened_unasked: Mutex<Option<std::time::Instant>>,
    /// The number of the next link to wait for an answer.
    links: AtomicU32,
    keychain_warning: Mutex<Option<String>>,
    clipboard_seq: AtomicU64,
    /// How many long-term keys the last look found (`keys.rs`).
    pub(crate) long_term_keys: AtomicU32,
}

/// Where the config and cache live; for `--demo`, a folder made new for this run (0700, a
/// name nobody can guess, so no other local user can have made it first and put links in it),
/// kept as long as the app runs.
fn dirs(launch: &Launch) -> Result<(Dirs, Option<tempfile::TempDir>), String> {
    if let Some(home) = &launch.home {
        return Ok((Dirs::under(home), None));
    }
    if launch.demo {
        let mut made = tempfile::Builder::new();
        made.prefix("rolecall-demo-");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            made.permissions(std::fs::Permissions::from_mode(0o700));
        }
        let home = made.tempdir().map_err(|e| {
            format!(
                "cannot make a folder for the demo in {}: {e}",
                std::env::temp_dir().display()
            )
        })?;
        return Ok((Dirs::under(home.path()), Some(home)));
    }
    Ok((Dirs::from_env(), None))
}

impl Desktop {
    /// Opens Rolecall's core for the app. Fails only when the local credential endpoint cannot
    /// listen on 127.0.0.1; the message says so.
    pub async fn open(launch: Launch) -> Result<Self, String> {
        let mut keychain_warning = None;
        let store: Arc<dyn TokenStore> = if launch.demo || launch.home.is_some() {
            Arc::new(MemoryStore::default())
        } else {
            let (store, problem) = keychain_or_memory();
            keychain_warning = problem.map(|e| {
                format!(
                    "{e}. You stay signed in while Rolecall runs, but will sign in again next time."
                )
            });
            store
        };
        let env: HashMap<String, String> = if launch.demo {
            HashMap::new()
        } else {
            std::env::vars().collect()
        };
        let (dirs, demo_home) = dirs(&launch)?;
        let core = Arc::new(Rolecall::open(Parts {
            dirs,
            store,
            connector: Arc::new(HttpsConnector::new()),
            clock: Arc::new(SystemClock),
            env,
        }));
        let demo_sim = if launch.demo {
            start_demo(&core).await
        } else {
            None
        };
        let endpoint = match CredentialEndpoint::start(&core).await {
            Ok(e) => Arc::new(e),
            Err(e) => {
                return Err(format!(
                    "cannot listen on 127.0.0.1 for the local credential endpoint: {e}"
                ));
            }
        };
        let handoff = match Handoff::start(core.clock().clone()).await {
            Ok(h) => Arc::new(h),
            Err(e) => {
                return Err(format!(
                    "cannot listen on 127.0.0.1 for the console handoff: {e}"
                ));
            }
        };
        let agent = if launch.demo || launch.no_agent {
            None
        } else {
            match AgentServer::start(
                core.clone(),
                endpoint.clone(),
                handoff.clone(),
                &socket_path(),
            )
            .await
            {
                Ok(a) => Some(a),
                Err(e) => {
                    tracing::warn!("the CLI cannot reach this app: {e}");
                    None
                }
            }
        };
        // What the window's first view needs, read now (this runs while WebKit starts): each
        // session's sign-in from the keychain and its catalogue from the disk cache.
        for session in core.sessions() {
            let _ = core.signin().status(&session);
            let _ = core.catalog(&session.name);
        }
        Ok(Self {
            core,
            endpoint,
            handoff,
            _agent: agent,
            _demo: demo_sim,
            _demo_home: demo_home,
            demo: launch.demo,
            prompts: Mutex::new(HashMap::new()),
            errors: Mutex::new(HashMap::new()),
            device_code: Mutex::new(HashMap::new()),
            sweeps: Mutex::new(HashMap::new()),
            recents: Mutex::new(Vec::new()),
            destinations: Mutex::new(HashMap::new()),
            pending_link: Mutex::new(None),
            opened_unasked: Mutex::new(None),
            links: AtomicU32::new(1),
            keychain_warning: Mutex::new(keychain_warning),
            clipboard_seq: AtomicU64::new(0),
            long_term_keys: AtomicU32::new(0),
        })
    }

    pub fn view(&self) -> AppView {
        // The CLI (or the person) may have changed the file: take it, or show its problem.
        self.core.reload_config_if_changed();
        let config = self.core.config();
        let active = self.active();
        let sessions = self
            .core
            .sessions()
            .into_iter()
            .map(|s| {
                let status = self.core.signin().status(&s);
                let catalog = self.core.catalog(&s.name);
                let prompt = lock(&self.prompts).get(&s.name).cloned();
                let error = lock(&self.errors).get(&s.name).cloned();
                // One word, decided once: a sign-in the portal refused is over, whatever the
                // token's own clock says.
                let ended = error.as_ref().is_some_and(|e| e.code == "sign_in_required");
                let signed_in = status.signed_in && !ended;
                let lead = s.ending_lead(Duration::from_secs(
                    config.preferences.session_warning_seconds,
                ));
                let now = self.core.clock().now();
                let ending_soon = signed_in
                    && status
                        .session_ends_at
                        .is_some_and(|end| now + lead >= end && now < end);
                let state = if prompt.is_some() {
                    "signing_in"
                } else if signed_in {
                    "signed_in"
                } else {
                    "signed_out"
                };
                SessionView {
                    signed_in,
                    state: state.into(),
                    expires_at_ms: status.expires_at.map(ms),
                    session_ends_at_ms: status.session_ends_at.map(ms),
                    ending_soon,
                    signed_in_with_code: lock(&self.device_code)
                        .get(&s.name)
                        .copied()
                        .unwrap_or(false),
                    refreshed_at_ms: catalog.as_ref().map(|c| ms(c.refreshed_at)),
                    accounts: catalog.as_ref().map_or(0, |c| c.accounts.len() as u32),
                    roles: catalog.as_ref().map_or(0, |c| c.role_count() as u32),
                    sign_in: prompt,
                    sweep: lock(&self.sweeps).get(&s.name).cloned(),
                    error,
                    name: s.name,
                    start_url: s.start_url,
                    region: s.region.to_string(),
                }
            })
            .collect();
        let grants = self
            .endpoint
            .list()
            .into_iter()
            .map(|g| GrantView {
                id: g.id,
                session: g.session,
                account_id: g.account_id,
                account_name: g.account_name,
                role: g.role,
                created_ms: g.created * 1000,
                uses: g.uses,
            })
            .collect();
        AppView {
            sessions,
            active,
            grants,
            shell: config.preferences.shell.name().into(),
            shells: ShellFormat::ALL
                .iter()
                .filter(|f| **f != ShellFormat::CredentialProcess)
                .map(|f| f.name().to_owned())
                .collect(),
            warning_seconds: config
                .preferences
                .warnings_seconds
                .iter()
                .copied()
                .max()
                .unwrap_or(600),
            demo: self.demo,
            config_problem: self.core.config_problem().map(|e| ErrorView {
                code: e.code().into(),
                message: e.to_string(),
            }),
            keychain_warning: lock(&self.keychain_warning).clone(),
            shortcut: config.preferences.shortcut.clone(),
            autostart: config.preferences.autostart,
            pending_link: self.pending_link(),
            long_term_keys: self.long_term_keys.load(Ordering::Relaxed),
        }
    }

    /// The account's name from the catalogue, or its id.
    pub fn account_name(&self, session: &str, account_id: &str) -> String {
        self.core
            .catalog(session)
            .and_then(|c| {
                c.accounts
                    .iter()
                    .find(|a| a.account.account_id == account_id)
                    .map(|a| a.account.account_name.clone())
            })
            .unwrap_or_else(|| account_id.to_owned())
    }

    pub fn active(&self) -> Vec<ActiveView> {
        let config = self.core.config();
        self.core
            .vault()
            .active()
            .into_iter()
            .map(|a| ActiveView {
                account_name: self.account_name(&a.key.session, &a.key.account_id),
                alias: config.aliases.get(&a.key.account_id).cloned(),
                chain: a.key.chain.as_ref().map(|arn| self.chain_name(&a.key, arn)),
                chain_arn: a.key.chain.clone(),
                session: a.key.session,
                account_id: a.key.account_id,
                role: a.key.role,
                expires_at_ms: ms(a.expires_at),
            })
            .collect()
    }

    /// The config's name of the chain from `key`'s role to `arn` (the ARN when it is gone).
    pub fn chain_name(&self, key: &RoleKey, arn: &str) -> String {
        self.core
            .chain_name(&key.chained(arn))
            .unwrap_or_else(|| arn.to_owned())
    }

    pub fn recents(&self) -> Vec<RoleKey> {
        lock(&self.recents).clone()
    }

    fn used(&self, key: &RoleKey) {
        let mut recents = lock(&self.recents);
        recents.retain(|k| k != key);
        recents.insert(0, key.clone());
        recents.truncate(10);
    }

    /// A page's first frame: its state and its first `rows` for the empty query (`grouped`:
    /// in the main list's order), what its first two commands would answer.
    pub fn first_view(&self, rows: usize, grouped: bool) -> FirstView {
        let (roles, total) = self.search_counted("", rows, grouped);
        FirstView {
            state: self.view(),
            results: SearchView {
                roles,
                total: u32::try_from(total).unwrap_or(u32::MAX),
            },
        }
    }

    pub fn search(&self, query: &str, limit: usize) -> Vec<RoleView> {
        self.search_counted(query, limit, false).0
    }

    /// The best `limit` roles for `query`, and how many matched in all. `grouped`: the best
    /// [`SEARCH_ROWS`] put in the list's order first ([`grouped_by_account`]) and then cut, so
    /// a short answer is exactly the top of the long one; only the rows sent become views.
    pub fn search_counted(
        &self,
        query: &str,
        limit: usize,
        grouped: bool,
    ) -> (Vec<RoleView>, usize) {
        // A change to the file (the CLI, the person) shows in the next search.
        self.core.reload_config_if_changed();
        let recents = self.recents();
        let active: HashMap<RoleKey, u64> = self
            .core
            .vault()
            .active()
            .into_iter()
            .map(|a| (a.key, ms(a.expires_at)))
            .collect();
        let config = self.core.config();
        let (found, total) = if grouped {
            let (found, total) = self.core.search_counted(query, &recents, SEARCH_ROWS);
            let mut found =
                grouped_by_account(found, |e| (e.session.clone(), e.account_id.clone()));
            found.truncate(limit);
            (found, total)
        } else {
            self.core.search_counted(query, &recents, limit)
        };
        let roles = found
            .into_iter()
            .map(|e| {
                let mut key = RoleKey::new(&e.session, &e.account_id, &e.role);
                if let Some(c) = &e.chain {
                    key = key.chained(&c.role_arn);
                }
                RoleView {
                    expires_at_ms: active.get(&key).copied(),
                    chain: e.chain.as_ref().map(|c| c.name.clone()),
                    chain_arn: e.chain.as_ref().map(|c| c.role_arn.clone()),
                    colour: config.colours.get(&e.account_id).cloned(),
                    environment: config.environments.get(&e.account_id).cloned(),
                    recent: e.recent.is_some(),
                    session: e.session,
                    account_id: e.account_id,
                    account_name: e.account_name,
                    email: e.email,
                    role: e.role,
                    alias: e.alias,
                    favourite: e.favourite,
                }
            })
            .collect();
        (roles, total)
    }

    /// A role from the catalogue, as the core resolves it.
    /// Exactly the role the window, the picker or the tray showed: no name matching, so a
    /// click never lands on a look-alike.
    pub async fn resolve(&self, role: &RoleRef) -> Result<Resolved, CoreError> {
        self.core.resolve_exact(&role.key()).await
    }

    pub fn add_session(&self, name: &str, start_url: &str, region: &str) -> Result<(), CoreError> {
        let start_url = validate_start_url(start_url).map_err(CoreError::Invalid)?;
        let name = name.trim();
        if name.is_empty() {
            return Err(CoreError::Invalid("give the session a name".into()));
        }
        let region = Region::parse(region.trim()).map_err(CoreError::Invalid)?;
        let session = SsoSession {
            name: name.into(),
            start_url,
            region,
            endpoints: Endpoints::default(),
            session_duration_seconds: None,
            use_fips_endpoint: None,
            use_dualstack_endpoint: None,
        };
        self.core.update_config(|c| c.upsert_session(session))
    }

    pub async fn remove_session(&self, name: &str) -> Result<(), CoreError> {
        self.endpoint.revoke_session(name);
        lock(&self.prompts).remove(name);
        self.core.remove_session(name).await
    }

    pub async fn sign_out(&self, session: &SsoSession) {
        self.endpoint.revoke_session(&session.name);
        self.core.sign_out(session).await;
        lock(&self.prompts).remove(&session.name);
    }

    /// Records what a sign-in event means for the window; returns a URL to open, if any.
    pub fn on_sign_in_event(&self, event: &SignInEvent) -> Option<String> {
        match event {
            SignInEvent::DeviceCode {
                session,
                user_code,
                verification_uri,
                verification_uri_complete,
                expires_at,
            } => {
                let url = verification_uri_complete
                    .clone()
                    .unwrap_or_else(|| verification_uri.clone());
                lock(&self.errors).remove(session);
                lock(&self.prompts).insert(
                    session.clone(),
                    SignInView {
                        kind: "device_code".into(),
                        user_code: Some(user_code.clone()),
                        url: url.clone(),
                        expires_at_ms: ms(*expires_at),
                    },
                );
                Some(url)
            }
            SignInEvent::OpenBrowser {
                session,
                url,
                expires_at,
            } => {
                lock(&self.errors).remove(session);
                lock(&self.prompts).insert(
                    session.clone(),
                    SignInView {
                        kind: "browser".into(),
                        user_code: None,
                        url: url.clone(),
                        expires_at_ms: ms(*expires_at),
                    },
                );
                Some(url.clone())
            }
            SignInEvent::SignedIn { session, .. } | SignInEvent::SignedOut { session } => {
                lock(&self.prompts).remove(session);
                lock(&self.errors).remove(session);
                None
            }
            SignInEvent::Failed { session, error } => {
                lock(&self.prompts).remove(session);
                let view = self.error_view(session, error.code(), &error.to_string(), None);
                lock(&self.errors).insert(session.clone(), view);
                None
            }
            SignInEvent::KeychainUnavailable { message } => {
                *lock(&self.keychain_warning) = Some(message.clone());
                None
            }
            // The window reads the time left from the session's status; the notification is
            // the shell's.
            SignInEvent::EndingSoon { .. } => None,
            SignInEvent::Ended { session } => {
                let error = rolecall_engine::signin::SignInError::SignInRequired(session.clone());
                let view = self.error_view(session, error.code(), &error.to_string(), None);
                lock(&self.errors).insert(session.clone(), view);
                None
            }
        }
    }

    /// Records how a session signs in, so that Retry signs in the same way.
    pub fn signing_in(&self, session: &str, device_code: bool) {
        lock(&self.device_code).insert(session.to_owned(), device_code);
        lock(&self.errors).remove(session);
    }

    /// What failed for a session as the window shows it: in the window's words (no advice to
    /// run a command in a terminal) and with what Retry does. `refresh`: the failure was a
    /// catalogue sweep's.
    fn error_view(
        &self,
        session: &str,
        code: &str,
        message: &str,
        refresh: Option<()>,
    ) -> SessionErrorView {
        let sign_in = if lock(&self.device_code)
            .get(session)
            .copied()
            .unwrap_or(false)
        {
            "sign_in_code"
        } else {
            "sign_in"
        };
        let (message, retry) = match code {
            "sign_in_required" => (
                format!("The sign-in to {session} has ended: sign in again."),
                sign_in,
            ),
            _ if refresh.is_some() => (message.to_owned(), "refresh"),
            _ => (message.to_owned(), sign_in),
        };
        SessionErrorView {
            code: code.to_owned(),
            message,
            retry: retry.into(),
        }
    }

    /// A catalogue sweep failed (`Some`) or started (`None`).
    pub fn sweep_error(&self, session: &str, error: Option<&CoreError>) {
        match error {
            Some(e) => {
                let view = self.error_view(session, &e.code(), &e.to_string(), Some(()));
                lock(&self.errors).insert(session.to_owned(), view);
            }
            None => {
                lock(&self.errors).remove(session);
            }
        }
    }

    pub fn on_sweep_event(&self, session: &str, event: &SweepEvent) -> bool {
        let mut sweeps = lock(&self.sweeps);
        match event {
            SweepEvent::Progress {
                done,
                total,
                total_known,
            } => {
                // A request got through: whatever was being retried is behind us.
                sweeps.insert(
                    session.to_owned(),
                    SweepView {
                        done: *done as u32,
                        total: *total as u32,
                        total_known: *total_known,
                        retrying: None,
                        retry_at_ms: None,
                    },
                );
                true
            }
            // Throttling is the sweep's normal pace, not news.
            SweepEvent::Retrying { error, after } if !matches!(error, ApiError::Throttled) => {
                let view = sweeps.entry(session.to_owned()).or_insert(SweepView {
                    done: 0,
                    total: 0,
                    total_known: false,
                    retrying: None,
                    retry_at_ms: None,
                });
                let what = match error {
                    ApiError::Network(_) => "Can't reach AWS".to_owned(),
                    ApiError::Server(m) => format!("AWS answered with an error ({m})"),
                    other => format!("The request failed ({other})"),
                };
                view.retrying = Some(what);
                view.retry_at_ms = Some(ms(self.core.clock().now() + *after));
                true
            }
            _ => false,
        }
    }

    /// The page the sign-in under way waits on (to open it again), if one is.
    pub fn sign_in_page(&self, session: &str) -> Option<String> {
        lock(&self.prompts).get(session).map(|p| p.url.clone())
    }

    pub fn sweep_finished(&self, session: &str) {
        lock(&self.sweeps).remove(session);
    }

    /// Opens the console for a role where its settings say (mode, browser, profile or
    /// container), at `target`'s page or the role's default. The browser gets a one-time
    /// loopback URL (the sign-in URL itself stays here until the browser asks for it).
    pub async fn open_console(
        &self,
        role: &RoleRef,
        target: &ConsoleTarget,
    ) -> Result<(), CoreError> {
        let resolved = self.resolve(role).await?;
        let ask = target.ask()?;
        let opening = self.core.console(&resolved, &ask).await?;
        let url = self.handoff.offer(opening.url).url;
        rolecall_core::console::launch(&opening.open_in, url.expose())
            .map_err(CoreError::Invalid)?;
        self.used(&resolved.key);
        if let Some(place) = target.place() {
            let mut places = lock(&self.destinations);
            let list = places.entry(resolved.key.clone()).or_default();
            list.retain(|p| *p != place);
            list.insert(0, place);
            list.truncate(5);
        }
        Ok(())
    }

    /// The console menu of a role: its mode, destinations, and the common services.
    pub fn console_menu(&self, role: &RoleRef) -> ConsoleMenuView {
        let config = self.core.config();
        let key = role.key();
        let label = self.core.role_label(&key);
        let defaults = config.role_defaults(&role.session, &role.account_id, &label);
        let mode = config
            .console_choice(&role.session, &role.account_id)
            .mode
            .unwrap_or_default();
        ConsoleMenuView {
            mode: mode.as_str().into(),
            account_mode: config
                .console
                .accounts
                .get(&role.account_id)
                .and_then(|c| c.mode)
                .map(|m| m.as_str().to_owned()),
            modes: rolecall_engine::browser::ConsoleMode::ALL
                .iter()
                .map(|m| m.as_str().to_owned())
                .collect(),
            default_destination: defaults.and_then(|d| d.destination.clone()),
            recent: lock(&self.destinations)
                .get(&key)
                .cloned()
                .unwrap_or_default(),
            services: COMMON_SERVICES
                .iter()
                .map(|(id, name)| ServiceView {
                    id: (*id).into(),
                    name: (*name).into(),
                })
                .collect(),
            chained: key.chain.is_some(),
        }
    }

    /// How consoles of an account open (`None`: as its session's or the default).
    pub fn set_console_mode(&self, account_id: &str, mode: Option<&str>) -> Result<(), CoreError> {
        let mode = mode
            .map(rolecall_engine::browser::ConsoleMode::from_name)
            .transpose()
            .map_err(CoreError::Invalid)?;
        self.core.update_config(|c| {
            let entry = c.console.accounts.entry(account_id.to_owned()).or_default();
            entry.mode = mode;
            if *entry == rolecall_engine::config::ConsoleChoice::default() {
                c.console.accounts.remove(account_id);
            }
        })?;
        Ok(())
    }

    /// A `rolecall://` link to a role's console at `target` (no secret in it).
    pub fn console_link(
        &self,
        role: &RoleRef,
        target: &ConsoleTarget,
    ) -> Result<String, CoreError> {
        if role.chain.is_some() {
            return Err(CoreError::Invalid(
                "links name SSO roles; a chained role has none".into(),
            ));
        }
        let link = rolecall_engine::deeplink::ConsoleLink {
            account: role.account_id.clone(),
            role: role.role.clone(),
            session: Some(role.session.clone()),
            path: target.path.clone(),
            service: target.service.clone(),
            region: target.region.clone(),
        };
        // What it says must parse back the same.
        rolecall_engine::deeplink::ConsoleLink::parse(&link.to_link())
            .map_err(CoreError::Invalid)?;
        Ok(link.to_link())
    }

    /// A `rolecall://` link that arrived (a second launch, or the first one's arguments).
    /// A role the person used lately opens at once, once per [`LINK_BURST_WINDOW`]; any other
    /// link waits for the person's answer in the window. Returns whether it is waiting.
    pub async fn link_arrived(&self, text: &str) -> Result<bool, CoreError> {
        let link =
            rolecall_engine::deeplink::ConsoleLink::parse(text).map_err(CoreError::Invalid)?;
        let resolved = self
            .core
            .resolve(link.session.as_deref(), &link.account, &link.role)
            .await?;
        let known = self.recents().contains(&resolved.key) && {
            let mut last = lock(&self.opened_unasked);
            let now = std::time::Instant::now();
            let free = last.is_none_or(|t| now.duration_since(t) >= LINK_BURST_WINDOW);
            if free {
                *last = Some(now);
            }
            free
        };
        let role = RoleRef {
            session: resolved.session.name.clone(),
            account_id: resolved.key.account_id.clone(),
            role: resolved.key.role.clone(),
            chain: None,
        };
        let target = ConsoleTarget {
            service: link.service.clone(),
            path: link.path.clone(),
            region: link.region.clone(),
            ..ConsoleTarget::default()
        };
        if known {
            self.open_console(&role, &target).await?;
            return Ok(false);
        }
        let id = self.links.fetch_add(1, Ordering::Relaxed);
        *lock(&self.pending_link) = Some(PendingLink {
            view: PendingLinkView {
                id,
                description: link.describe_resolved(
                    &resolved.key.role,
                    &resolved.account_name,
                    &resolved.key.account_id,
                    &resolved.session.name,
                ),
            },
            role,
            target,
        });
        Ok(true)
    }

    /// The person's answer to the link `id` they were shown: open it or drop it. An answer to
    /// a link that another has replaced since is refused, and the newer one keeps waiting.
    pub async fn answer_link(&self, id: u32, open: bool) -> Result<(), CoreError> {
        let pending = {
            let mut waiting = lock(&self.pending_link);
            match waiting.take() {
                None => return Ok(()),
                Some(other) if other.view.id != id => {
                    *waiting = Some(other);
                    return Err(CoreError::LinkChanged);
                }
                Some(this) => this,
            }
        };
        if open {
            self.open_console(&pending.role, &pending.target).await?;
        }
        Ok(())
    }

    pub fn pending_link(&self) -> Option<PendingLinkView> {
        lock(&self.pending_link).as_ref().map(|p| p.view.clone())
    }

    /// The shell format the person chose (`None`: the default), remembered as the new default
    /// when it differs; a name Rolecall does not know is an error, never a silent fallback.
    fn shell_format(&self, shell: Option<&str>) -> Result<ShellFormat, CoreError> {
        let Some(name) = shell else {
            return Ok(self.core.config().preferences.shell);
        };
        let f = ShellFormat::parse(name)
            .filter(|f| *f != ShellFormat::CredentialProcess)
            .ok_or_else(|| {
                CoreError::Invalid(format!(
                    "unknown shell format {:?}",
                    rolecall_engine::text::printable(name)
                ))
            })?;
        if f != self.core.config().preferences.shell {
            self.core.update_config(|c| c.preferences.shell = f)?;
        }
        Ok(f)
    }

    /// The text for Copy env, in `shell` (remembered as the default).
    pub async fn env_text(&self, role: &RoleRef, shell: Option<&str>) -> Result<Secret, CoreError> {
        let format = self.shell_format(shell)?;
        let resolved = self.resolve(role).await?;
        let creds = self.core.credentials(&resolved).await?;
        self.used(&resolved.key);
        let mut vars = shell::credential_vars(&creds, Some(resolved.session.region.as_str()));
        vars.extend(held::marker_vars(
            &resolved.key.account_id,
            &resolved.account_name,
            &self.core.role_label(&resolved.key),
            &Holds::Key(creds.access_key_id.clone()),
        ));
        shell::render_secrets(format, &vars).map_err(|e| CoreError::Invalid(e.to_string()))
    }

    /// A terminal session: a new grant of the local credential endpoint for one role, as the
    /// two variables SDKs read (plus the region), in the chosen shell format (remembered as
    /// Copy env remembers it). No key is in it: the SDK fetches and refreshes credentials from
    /// Rolecall.
    pub async fn terminal_session(
        &self,
        role: &RoleRef,
        shell: Option<&str>,
    ) -> Result<Secret, CoreError> {
        let format = self.shell_format(shell)?;
        let resolved = self.resolve(role).await?;
        let grant = self.endpoint.grant(&resolved);
        self.used(&resolved.key);
        let mut vars = grant.vars(Some(resolved.session.region.as_str()));
        vars.extend(held::marker_vars(
            &resolved.key.account_id,
            &resolved.account_name,
            &self.core.role_label(&resolved.key),
            &Holds::Grant(grant.id.clone()),
        ));
        shell::render_secrets(format, &vars).map_err(|e| CoreError::Invalid(e.to_string()))
    }

    /// The `credential_process` line for ~/.aws/config (no secret in it), with every argument
    /// checked and quoted.
    pub fn credential_process_line(&self, role: &RoleRef) -> Result<String, CoreError> {
        // A chained role is named by its chain's name, which the CLI resolves.
        let name = match &role.chain {
            Some(arn) => self.chain_name(&role.key(), arn),
            None => role.role.clone(),
        };
        rolecall_core::profiles::credential_process_line(
            "rolecall",
            &role.session,
            &role.account_id,
            &name,
        )
        .map_err(CoreError::Invalid)
    }

    pub fn forget(&self, role: &RoleRef) {
        self.core.vault().forget(&role.key());
    }

    pub fn toggle_favourite(&self, role: &RoleRef) -> Result<bool, CoreError> {
        if role.chain.is_some() {
            return Err(CoreError::Invalid(
                "a chained role cannot be a favourite yet: make its SSO role one".into(),
            ));
        }
        let fav = rolecall_engine::config::Favourite {
            session: role.session.clone(),
            account_id: role.account_id.clone(),
            role: role.role.clone(),
        };
        self.core.update_config(|c| c.toggle_favourite(fav))
    }

    /// Everything the Settings window edits.
    pub fn settings(&self) -> SettingsView {
        self.core.reload_config_if_changed();
        let config = self.core.config();
        let p = &config.preferences;
        let mut accounts = Vec::new();
        for session in &config.sessions {
            if let Some(catalog) = self.core.catalog(&session.name) {
                for a in &catalog.accounts {
                    let id = &a.account.account_id;
                    accounts.push(AccountSettingsView {
                        session: session.name.clone(),
                        account_id: id.clone(),
                        account_name: a.account.account_name.clone(),
                        roles: a.roles.clone(),
                        alias: config.aliases.get(id).cloned(),
                        colour: config.colours.get(id).cloned(),
                        environment: config.environments.get(id).cloned(),
                    });
                }
            }
        }
        accounts.sort_by(|a, b| a.account_name.cmp(&b.account_name));
        SettingsView {
            shortcut_unavailable: shortcut_unavailable(
                |k| std::env::var(k).ok(),
                SHORTCUT_FAILED.load(std::sync::atomic::Ordering::SeqCst),
            ),
            preferences: PreferencesView {
                warnings_seconds: p.warnings_seconds.clone(),
                auto_renew: p.auto_renew,
                shell: p.shell.name().into(),
                console_region: p.console_region.clone(),
                sign_in_method: match p.sign_in_method {
                    SignInMethod::Pkce => "pkce".into(),
                    SignInMethod::DeviceCode => "device-code".into(),
                },
                clipboard_clear_seconds: p.clipboard_clear_seconds,
                shortcut: p.shortcut.clone(),
                portal_rps: p.portal_rps,
                autostart: p.autostart,
                keep_window_loaded: p.keep_window_loaded,
                console_mode: config.console.mode.unwrap_or_default().as_str().into(),
                console_browser: config
                    .console
                    .browser
                    .map(|b| b.as_str().to_owned())
                    .unwrap_or_default(),
            },
            console_modes: rolecall_engine::browser::ConsoleMode::ALL
                .iter()
                .map(|m| m.as_str().to_owned())
                .collect(),
            browsers: rolecall_engine::browser::detect(std::env::var_os("PATH").as_deref())
                .into_iter()
                .map(|b| b.kind.as_str().to_owned())
                .collect(),
            shells: ShellFormat::ALL
                .iter()
                .filter(|f| **f != ShellFormat::CredentialProcess)
                .map(|f| f.name().to_owned())
                .collect(),
            sessions: config
                .sessions
                .iter()
                .map(|s| SessionSettingsView {
                    name: s.name.clone(),
                    start_url: s.start_url.clone(),
                    region: s.region.to_string(),
                })
                .collect(),
            accounts,
            chains: config
                .chains
                .iter()
                .map(|c| ChainView {
                    name: c.name.clone(),
                    session: c.session.clone(),
                    account_id: c.account_id.clone(),
                    role: c.role.clone(),
                    role_arn: c.role_arn.clone(),
                })
                .collect(),
            config_path: self.core.config_path().display().to_string(),
            config_problem: self.core.config_problem().map(|e| ErrorView {
                code: e.code().into(),
                message: e.to_string(),
            }),
        }
    }

    /// Saves every preference at once (checked first: nothing is written if one is wrong).
    /// Returns the preferences before, for the shell to apply what changed (the shortcut, start
    /// at login).
    pub fn save_preferences(
        &self,
        wanted: &PreferencesView,
    ) -> Result<rolecall_engine::config::Preferences, CoreError> {
        let shell = ShellFormat::parse(&wanted.shell)
            .filter(|f| *f != ShellFormat::CredentialProcess)
            .ok_or_else(|| CoreError::Invalid(format!("unknown shell {:?}", wanted.shell)))?;
        let sign_in_method = match wanted.sign_in_method.as_str() {
            "pkce" => SignInMethod::Pkce,
            "device-code" => SignInMethod::DeviceCode,
            other => {
                return Err(CoreError::Invalid(format!(
                    "unknown sign-in method {other:?}: pkce or device-code"
                )));
            }
        };
        let console_region = match wanted.console_region.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(r) => Some(Region::parse(r).map_err(CoreError::Invalid)?.to_string()),
        };
        if wanted.shortcut.trim().is_empty() {
            return Err(CoreError::Invalid(
                "the quick picker needs a shortcut".into(),
            ));
        }
        if wanted.portal_rps == 0 || wanted.portal_rps > 100 {
            return Err(CoreError::Invalid(
                "portal requests per second: 1 to 100".into(),
            ));
        }
        let console_mode = rolecall_engine::browser::ConsoleMode::from_name(&wanted.console_mode)
            .map_err(CoreError::Invalid)?;
        let console_browser = match wanted.console_browser.trim() {
            "" => None,
            b => Some(
                rolecall_engine::browser::BrowserKind::parse(b).ok_or_else(|| {
                    CoreError::Invalid(format!("unknown browser {:?}", printable(b)))
                })?,
            ),
        };
        if console_mode == rolecall_engine::browser::ConsoleMode::Container
            && console_browser.is_some_and(|b| !b.is_firefox())
        {
            return Err(CoreError::Invalid(
                "containers are Firefox's: choose Firefox, or another mode".into(),
            ));
        }
        let before = self.core.config().preferences.clone();
        self.core.update_config(|c| {
            // The default (switch) is not written out: the file says only what was chosen.
            c.console.mode = (console_mode != rolecall_engine::browser::ConsoleMode::default()
                || c.console.mode.is_some())
            .then_some(console_mode);
            c.console.browser = console_browser;
            let p = &mut c.preferences;
            p.warnings_seconds = wanted.warnings_seconds.clone();
            p.auto_renew = wanted.auto_renew;
            p.shell = shell;
            p.console_region = console_region;
            p.sign_in_method = sign_in_method;
            p.clipboard_clear_seconds = wanted.clipboard_clear_seconds;
            p.shortcut = wanted.shortcut.trim().to_owned();
            p.portal_rps = wanted.portal_rps;
            p.autostart = wanted.autostart;
            p.keep_window_loaded = wanted.keep_window_loaded;
        })?;
        Ok(before)
    }

    /// An account's alias, colour and environment (`None` or empty: none).
    pub fn set_account(
        &self,
        account_id: &str,
        alias: Option<&str>,
        colour: Option<&str>,
        environment: Option<&str>,
    ) -> Result<(), CoreError> {
        let clean = |v: Option<&str>| {
            v.map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let (alias, colour, environment) = (clean(alias), clean(colour), clean(environment));
        self.core.update_config(|c| {
            let set = |map: &mut std::collections::BTreeMap<String, String>, v: Option<String>| {
                match v {
                    Some(v) => map.insert(account_id.to_owned(), v),
                    None => map.remove(account_id),
                };
            };
            set(&mut c.aliases, alias);
            set(&mut c.colours, colour);
            set(&mut c.environments, environment);
        })
    }

    /// Adds a chained role (or replaces the one of that name from that account).
    pub fn save_chain(&self, chain: &ChainView) -> Result<(), CoreError> {
        let chain = rolecall_engine::config::RoleChain {
            name: chain.name.trim().to_owned(),
            session: chain.session.clone(),
            account_id: chain.account_id.clone(),
            role: chain.role.clone(),
            role_arn: chain.role_arn.trim().to_owned(),
        };
        self.core.update_config(|c| {
            c.chains.retain(|x| {
                !(x.session == chain.session
                    && x.account_id == chain.account_id
                    && x.name == chain.name)
            });
            c.chains.push(chain);
        })
    }

    pub fn remove_chain(
        &self,
        session: &str,
        account_id: &str,
        name: &str,
    ) -> Result<(), CoreError> {
        self.core.update_config(|c| {
            c.chains
                .retain(|x| !(x.session == session && x.account_id == account_id && x.name == name))
        })
    }

    /// A session's start URL and region changed (another organisation, for Rolecall: its
    /// sign-in, catalogue and credentials are dropped).
    pub fn edit_session(&self, name: &str, start_url: &str, region: &str) -> Result<(), CoreError> {
        let start_url = validate_start_url(start_url).map_err(CoreError::Invalid)?;
        let region = Region::parse(region.trim()).map_err(CoreError::Invalid)?;
        if self.core.config().session(name).is_none() {
            return Err(CoreError::UnknownSession(name.to_owned()));
        }
        self.endpoint.revoke_session(name);
        self.core.update_config(|c| {
            if let Some(s) = c.sessions.iter_mut().find(|s| s.name == name) {
                s.start_url = start_url;
                s.region = region;
            }
        })
    }

    /// The `sso-session` sections of ~/.aws/config (or `AWS_CONFIG_FILE`) Rolecall does not
    /// have yet, added.
    pub fn import_sessions(&self) -> Result<ImportView, CoreError> {
        use rolecall_engine::aws_config::{self, Found};
        let path = aws_config::default_path(|k| std::env::var(k).ok())
            .ok_or_else(|| CoreError::Invalid("cannot find ~/.aws/config".into()))?;
        let found = aws_config::read_sso_sessions(&path).map_err(CoreError::Invalid)?;
        let existing = &self.core.config().sessions;
        let mut added = Vec::new();
        let mut skipped = Vec::new();
        for f in found {
            match f {
                Found::Session(s) => {
                    if existing.iter().any(|e| {
                        e.name == s.name || (e.start_url == s.start_url && e.region == s.region)
                    }) {
                        skipped.push(format!("{}: already here", s.name));
                    } else {
                        added.push(s);
                    }
                }
                Found::Skipped { section, reason } => {
                    skipped.push(format!("[{section}]: {reason}"))
                }
            }
        }
        let imported: Vec<String> = added.iter().map(|s| s.name.clone()).collect();
        if !added.is_empty() {
            self.core.update_config(|c| c.sessions.extend(added))?;
        }
        Ok(ImportView { imported, skipped })
    }

    /// A new clipboard generation: a later copy cancels the clearing of an earlier one.
    pub fn next_clipboard(&self) -> u64 {
        self.clipboard_seq.fetch_add(1, Ordering::SeqCst) + 1
    }

    pub fn clipboard_current(&self, generation: u64) -> bool {
        self.clipboard_seq.load(Ordering::SeqCst) == generation
    }

    pub fn clipboard_clear_after(&self) -> Option<Duration> {
        let secs = self.core.config().preferences.clipboard_clear_seconds;
        (secs > 0).then(|| Duration::from_secs(secs))
    }
}

/// The most roles one search answers with (the window says how many more match).
pub const SEARCH_ROWS: usize = 300;

/// The roles the quick picker shows: `ROWS` in `ui/src/components/Picker.svelte`.
pub const PICKER_ROWS: usize = 8;

/// The rows that fit in a window `height` px high, as its first frame draws them:
/// `rowsOnScreen` in `ui/src/lib/frame.ts` (a row is at least 24 px high).
pub fn rows_on_screen(height: f64) -> usize {
    if height < 240.0 {
        return 40;
    }
    ((height / 24.0).ceil() as usize).min(40)
}

/// Search hits in the window list's order: each under its account, accounts in the order of
/// their best-ranked hit, hits in their own order within an account (what the window's
/// `groupByAccount` draws, so it draws them in this order).
pub fn grouped_by_account<T>(hits: Vec<T>, account: impl Fn(&T) -> (String, String)) -> Vec<T> {
    let mut first_seen: HashMap<(String, String), usize> = HashMap::new();
    let mut ranked: Vec<(usize, T)> = hits
        .into_iter()
        .map(|h| {
            let next = first_seen.len();
            (*first_seen.entry(account(&h)).or_insert(next), h)
        })
        .collect();
    // Stable: hits keep their own order within an account.
    ranked.sort_by_key(|(rank, _)| *rank);
    ranked.into_iter().map(|(_, h)| h).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_shortcut_is_said_to_be_unavailable_on_wayland_or_when_it_failed() {
        use super::shortcut_unavailable;
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(
            shortcut_unavailable(env(&[("XDG_SESSION_TYPE", "x11")]), false),
            None
        );
        let wayland = shortcut_unavailable(env(&[("XDG_SESSION_TYPE", "wayland")]), false);
        assert!(wayland.is_some_and(|t| t.contains("rolecall-desktop --picker")));
        assert!(shortcut_unavailable(env(&[("WAYLAND_DISPLAY", "wayland-0")]), false).is_some());
        let failed = shortcut_unavailable(env(&[]), true).expect("said");
        assert!(failed.contains("could not be registered"), "{failed}");
    }
    use super::*;

    /// The window draws a short answer and then the rest below it: a short answer must be the
    /// top of the long one in the order drawn, or rows would move under the person.
    #[test]
    fn roles_come_under_their_account_in_the_order_of_its_best_match() {
        let ranked = vec![
            ("111111111111", "Admin"),
            ("222222222222", "Admin"),
            ("111111111111", "ReadOnly"),
            ("333333333333", "Admin"),
            ("222222222222", "ReadOnly"),
        ];
        let want = vec![
            ("111111111111", "Admin"),
            ("111111111111", "ReadOnly"),
            ("222222222222", "Admin"),
            ("222222222222", "ReadOnly"),
            ("333333333333", "Admin"),
        ];
        assert_eq!(
            grouped_by_account(ranked, |(account, _)| ("corp".into(), (*account).into())),
            want
        );
    }
}
