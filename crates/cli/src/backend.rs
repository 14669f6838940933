//! Where the CLI's answers come from: a running agent (the app), or the engine in this process.

use std::collections::HashMap;
use std::sync::Arc;

use rolecall_aws::HttpsConnector;
use rolecall_core::agent::protocol::{ActiveOnWire, RoleOnWire, SessionInfo};
use rolecall_core::agent::{
    AgentClient, Answer, Request, SignInStep, role_on_wire, session_infos, socket_path,
};
use rolecall_core::endpoint::IssuedGrant;
use rolecall_core::handoff::Handoff;
use rolecall_core::{CoreError, Parts, Rolecall, keychain_or_memory};
use rolecall_engine::api::{CallerIdentity, RoleCredentials};
use rolecall_engine::catalog::AccountRoles;
use rolecall_engine::clock::SystemClock;
use rolecall_engine::files::Dirs;
use rolecall_engine::held::Holds;
use rolecall_engine::secret::Secret;
use rolecall_engine::shell::rfc3339;
use rolecall_engine::text::printable;

pub fn dirs() -> Dirs {
    Dirs::from_env()
}

/// The engine in this process, with the sign-in in the OS keychain (or in memory, with a
/// warning, when there is no keychain). A config file with a problem is an error (exit 5).
pub fn open_core() -> Result<Arc<Rolecall>, CoreError> {
    let (store, keychain_problem) = keychain_or_memory();
    if let Some(e) = keychain_problem {
        eprintln!(
            "rolecall: warning: {}; sign-ins last only while this process runs (start the Rolecall app to keep them)",
            printable(&e.to_string())
        );
    }
    let env: HashMap<String, String> = std::env::vars().collect();
    let core = Rolecall::open(Parts {
        dirs: dirs(),
        store,
        connector: Arc::new(HttpsConnector::new()),
        clock: Arc::new(SystemClock),
        env,
    });
    if let Some(problem) = core.config_problem() {
        return Err(problem.into());
    }
    Ok(Arc::new(core))
}

#[derive(Debug)]
pub enum Backend {
    Agent(AgentClient),
    Direct(Arc<Rolecall>),
}

/// What the agent answered that the request did not ask for.
fn unexpected(answer: Answer) -> CoreError {
    CoreError::Invalid(format!("the agent answered something else: {answer:?}"))
}

/// A console URL ready to open: the handoff serving it (in this process) when there is one.
#[derive(Debug)]
pub struct ConsoleLink {
    pub url: Secret,
    pub served_here: Option<(Handoff, rolecall_core::handoff::Offer)>,
    pub open_in: rolecall_engine::browser::OpenIn,
    pub mode: rolecall_engine::browser::ConsoleMode,
    pub identities: usize,
}

impl Backend {
    pub async fn choose(no_agent: bool) -> Result<Self, CoreError> {
        if !no_agent && let Some(client) = AgentClient::connect(&socket_path()).await? {
            return Ok(Self::Agent(client));
        }
        Ok(Self::Direct(open_core()?))
    }

    /// Credentials, the session's region, and which role they are for.
    pub async fn credentials(
        &self,
        session: Option<&str>,
        account: &str,
        role: &str,
    ) -> Result<(RoleCredentials, String, RoleOnWire), CoreError> {
        match self {
            Self::Direct(core) => {
                let resolved = core.resolve(session, account, role).await?;
                let creds = core.credentials(&resolved).await?;
                Ok((
                    creds,
                    resolved.session.region.to_string(),
                    role_on_wire(core, &resolved),
                ))
            }
            Self::Agent(agent) => match agent
                .call(&Request::Credentials {
                    session: session.map(str::to_owned),
                    account: account.into(),
                    role: role.into(),
                })
                .await?
            {
                Answer::Credentials {
                    credentials,
                    region,
                    role,
                } => Ok((
                    credentials.into_credentials().map_err(CoreError::Invalid)?,
                    region,
                    role,
                )),
                other => Err(unexpected(other)),
            },
        }
    }

    /// Sessions and held roles: from the agent, or (without one) the sessions of this
    /// process's engine, which holds no role yet.
    pub async fn status(&self) -> Result<(Vec<SessionInfo>, Vec<ActiveOnWire>), CoreError> {
        match self {
            Self::Direct(core) => Ok((session_infos(core), Vec::new())),
            Self::Agent(agent) => match agent.call(&Request::Status).await? {
                Answer::Status { sessions, active } => Ok((sessions, active)),
                other => Err(unexpected(other)),
            },
        }
    }

    /// A console sign-in: with `for_browser`, a one-time loopback URL (served by the agent, or
    /// by this process until the browser takes it); otherwise the federation URL itself.
    pub async fn console(
        &self,
        session: Option<&str>,
        account: &str,
        role: &str,
        ask: &rolecall_core::console::ConsoleAsk,
        for_browser: bool,
    ) -> Result<ConsoleLink, CoreError> {
        match self {
            Self::Direct(core) => {
                let resolved = core.resolve(session, account, role).await?;
                let opening = core.console(&resolved, ask).await?;
                let mut link = ConsoleLink {
                    url: opening.url,
                    served_here: None,
                    open_in: opening.open_in,
                    mode: opening.mode,
                    identities: opening.identities,
                };
                if !for_browser {
                    return Ok(link);
                }
                let handoff = Handoff::start(core.clock().clone()).await.map_err(|e| {
                    CoreError::Invalid(format!("cannot listen on 127.0.0.1 for the browser: {e}"))
                })?;
                let offer = handoff.offer(link.url);
                link.url = offer.url.clone();
                link.served_here = Some((handoff, offer));
                Ok(link)
            }
            Self::Agent(agent) => match agent
                .call(&Request::Console {
                    session: session.map(str::to_owned),
                    account: account.into(),
                    role: role.into(),
                    ask: ask.clone(),
                    handoff: for_browser,
                })
                .await?
            {
                Answer::Console {
                    url,
                    open_in,
                    mode,
                    identities,
                } => Ok(ConsoleLink {
                    url: url.0,
                    served_here: None,
                    open_in,
                    mode,
                    identities,
                }),
                other => Err(unexpected(other)),
            },
        }
    }

    pub async fn whoami(
        &self,
        session: Option<&str>,
        account: &str,
        role: &str,
    ) -> Result<CallerIdentity, CoreError> {
        match self {
            Self::Direct(core) => {
                let resolved = core.resolve(session, account, role).await?;
                core.whoami(&resolved).await
            }
            Self::Agent(agent) => match agent
                .call(&Request::Whoami {
                    session: session.map(str::to_owned),
                    account: account.into(),
                    role: role.into(),
                })
                .await?
            {
                Answer::Whoami { identity } => Ok(identity),
                other => Err(unexpected(other)),
            },
        }
    }

    pub async fn list(
        &self,
        session: Option<&str>,
        refresh: bool,
    ) -> Result<Vec<AccountRoles>, CoreError> {
        match self {
            Self::Direct(core) => {
                let s = core.session(session)?;
                let catalog = if refresh {
                    core.refresh_catalog(&s, None).await?
                } else {
                    core.catalog_or_sweep(&s).await?
                };
                Ok(catalog.accounts.clone())
            }
            Self::Agent(agent) => match agent
                .call(&Request::List {
                    session: session.map(str::to_owned),
                    refresh,
                })
                .await?
            {
                Answer::Catalog { accounts } => Ok(accounts),
                other => Err(unexpected(other)),
            },
        }
    }

    /// Signs in, showing the person what to do on standard error. Returns the session's name
    /// and when the sign-in's current token ends.
    pub async fn login(
        &self,
        session: Option<&str>,
        device_code: bool,
    ) -> Result<(String, String), CoreError> {
        match self {
            Self::Direct(core) => {
                let s = core.session(session)?;
                let expires = core
                    .sign_in_with_steps(&s, device_code, |step| show_step(&step))
                    .await?;
                Ok((s.name, rfc3339(expires)))
            }
            Self::Agent(agent) => match agent
                .call_with_steps(
                    &Request::Login {
                        session: session.map(str::to_owned),
                        device_code,
                    },
                    show_step,
                )
                .await?
            {
                Answer::SignedIn {
                    session,
                    expires_at,
                } => Ok((session, expires_at)),
                other => Err(unexpected(other)),
            },
        }
    }

    pub async fn logout(&self, session: Option<&str>) -> Result<String, CoreError> {
        match self {
            Self::Direct(core) => {
                let s = core.session(session)?;
                core.sign_out(&s).await;
                Ok(s.name)
            }
            Self::Agent(agent) => match agent
                .call(&Request::Logout {
                    session: session.map(str::to_owned),
                })
                .await?
            {
                Answer::SignedOut { session } => Ok(session),
                other => Err(unexpected(other)),
            },
        }
    }

    pub fn agent(&self) -> Result<&AgentClient, CoreError> {
        match self {
            Self::Agent(a) => Ok(a),
            Self::Direct(_) => Err(CoreError::NoAgent),
        }
    }

    /// A grant of the running agent's credential endpoint for a role (`--endpoint`): the
    /// grant, the session's region and the role.
    /// With `while_i_live`, the grant ends when this process ends, however it ends.
    pub async fn grant(
        &self,
        session: Option<&str>,
        account: &str,
        role: &str,
        while_i_live: bool,
    ) -> Result<(IssuedGrant, String, RoleOnWire), CoreError> {
        let answer = self
            .agent()?
            .call(&Request::Grant {
                session: session.map(str::to_owned),
                account: account.to_owned(),
                role: role.to_owned(),
                while_i_live,
            })
            .await?;
        let Answer::Grant {
            id,
            url,
            token,
            region,
            role,
        } = answer
        else {
            return Err(CoreError::Invalid("the agent made no grant".into()));
        };
        Ok((
            IssuedGrant {
                id,
                url,
                token: token.0,
            },
            region,
            role,
        ))
    }
}

/// The variables that say which role a shell or command holds (see `held.rs`).
pub fn marker_vars(role: &RoleOnWire, holds: &Holds) -> Vec<(&'static str, Secret)> {
    rolecall_engine::held::marker_vars(&role.account_id, &role.account_name, &role.role, holds)
}

/// Shows a sign-in step (every value from the service made printable) and opens the page
/// where there is one.
fn show_step(step: &SignInStep) {
    match step {
        SignInStep::DeviceCode {
            user_code,
            url,
            expires_at,
            ..
        } => {
            eprintln!(
                "To sign in, open {}\nand enter the code:\n\n    {}\n\nWaiting for approval (the code expires at {})...",
                printable(url),
                printable(user_code),
                printable(expires_at)
            );
            crate::commands::open_page(url);
        }
        SignInStep::OpenBrowser { url, .. } => {
            eprintln!(
                "Opening the browser to sign in. If it did not open, visit:\n{}\nWaiting for the browser...",
                printable(url)
            );
            crate::commands::open_page(url);
        }
        SignInStep::KeychainUnavailable { message } => {
            eprintln!("rolecall: warning: {}", printable(message));
        }
    }
}
