//! Where the CLI's answers come from: a running agent (the app), or the engine in this process.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use rolecall_aws::SdkConnector;
use rolecall_core::agent::{AgentClient, Request, event_json, socket_path};
use rolecall_core::{CoreError, Parts, Rolecall, keychain_or_memory};
use rolecall_engine::api::RoleCredentials;
use rolecall_engine::catalog::AccountRoles;
use rolecall_engine::clock::SystemClock;
use rolecall_engine::files::Dirs;
use rolecall_engine::secret::Secret;
use rolecall_engine::signin::SignInMethod;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub fn dirs() -> Dirs {
    Dirs::from_env()
}

/// The engine in this process, with the sign-in in the OS keychain (or in memory, with a
/// warning, when there is no keychain).
pub fn open_core() -> Arc<Rolecall> {
    let (store, keychain_problem) = keychain_or_memory();
    if let Some(e) = keychain_problem {
        eprintln!(
            "rolecall: warning: {e}; sign-ins last only while this process runs (start the Rolecall app to keep them)"
        );
    }
    let env: HashMap<String, String> = std::env::vars().collect();
    let core = Rolecall::open(Parts {
        dirs: dirs(),
        store,
        connector: Arc::new(SdkConnector::new()),
        clock: Arc::new(SystemClock),
        env,
    });
    if let Some(problem) = core.config_problem() {
        eprintln!("rolecall: warning: {problem}");
    }
    Arc::new(core)
}

#[derive(Debug)]
pub enum Backend {
    Agent(AgentClient),
    Direct(Arc<Rolecall>),
}

impl Backend {
    pub async fn choose(no_agent: bool) -> Self {
        if !no_agent && let Some(client) = AgentClient::connect(&socket_path()).await {
            return Self::Agent(client);
        }
        Self::Direct(open_core())
    }

    pub async fn credentials(
        &self,
        session: Option<&str>,
        account: &str,
        role: &str,
    ) -> Result<(RoleCredentials, Option<String>), CoreError> {
        match self {
            Self::Direct(core) => {
                let resolved = core.resolve(session, account, role).await?;
                let region = Some(resolved.session.region.to_string());
                Ok((core.credentials(&resolved).await?, region))
            }
            Self::Agent(agent) => {
                let v = agent
                    .call(&Request::Credentials {
                        session: session.map(str::to_owned),
                        account: account.into(),
                        role: role.into(),
                    })
                    .await?;
                Ok((credentials_from_json(&v)?, None))
            }
        }
    }

    pub async fn console_url(
        &self,
        session: Option<&str>,
        account: &str,
        role: &str,
        service: Option<&str>,
        region: Option<&str>,
    ) -> Result<Secret, CoreError> {
        match self {
            Self::Direct(core) => {
                let resolved = core.resolve(session, account, role).await?;
                core.console_url(&resolved, service, region).await
            }
            Self::Agent(agent) => {
                let v = agent
                    .call(&Request::Console {
                        session: session.map(str::to_owned),
                        account: account.into(),
                        role: role.into(),
                        service: service.map(str::to_owned),
                        region: region.map(str::to_owned),
                    })
                    .await?;
                v.get("url")
                    .and_then(Value::as_str)
                    .map(Secret::new)
                    .ok_or_else(|| CoreError::Invalid("no URL in the agent's answer".into()))
            }
        }
    }

    pub async fn whoami(
        &self,
        session: Option<&str>,
        account: &str,
        role: &str,
    ) -> Result<Value, CoreError> {
        match self {
            Self::Direct(core) => {
                let resolved = core.resolve(session, account, role).await?;
                serde_json::to_value(core.whoami(&resolved).await?)
                    .map_err(|e| CoreError::Invalid(e.to_string()))
            }
            Self::Agent(agent) => {
                agent
                    .call(&Request::Whoami {
                        session: session.map(str::to_owned),
                        account: account.into(),
                        role: role.into(),
                    })
                    .await
            }
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
            Self::Agent(agent) => {
                let v = agent
                    .call(&Request::List {
                        session: session.map(str::to_owned),
                        refresh,
                    })
                    .await?;
                serde_json::from_value(v)
                    .map_err(|e| CoreError::Invalid(format!("bad catalogue from the agent: {e}")))
            }
        }
    }

    /// Signs in, showing the person what to do on standard error.
    pub async fn login(
        &self,
        session: Option<&str>,
        device_code: bool,
    ) -> Result<Value, CoreError> {
        match self {
            Self::Direct(core) => {
                let s = core.session(session)?;
                let method = if device_code {
                    SignInMethod::DeviceCode
                } else {
                    SignInMethod::Pkce
                };
                let mut events = core.signin().subscribe();
                let c = core.clone();
                let s2 = s.clone();
                let mut task = tokio::spawn(async move { c.sign_in(&s2, method).await });
                let expires = loop {
                    tokio::select! {
                        done = &mut task => break done.map_err(|e| CoreError::Invalid(e.to_string()))??,
                        event = events.recv() => {
                            if let Ok(e) = event && let Some(v) = event_json(&e) {
                                show_event(&v);
                            }
                        }
                    }
                };
                Ok(serde_json::json!({ "session": s.name, "expires_at": rfc3339(expires) }))
            }
            Self::Agent(agent) => {
                agent
                    .call_with_events(
                        &Request::Login {
                            session: session.map(str::to_owned),
                            device_code,
                        },
                        show_event,
                    )
                    .await
            }
        }
    }

    pub async fn logout(&self, session: Option<&str>) -> Result<Value, CoreError> {
        match self {
            Self::Direct(core) => {
                let s = core.session(session)?;
                core.sign_out(&s).await;
                Ok(serde_json::json!({ "session": s.name }))
            }
            Self::Agent(agent) => {
                agent
                    .call(&Request::Logout {
                        session: session.map(str::to_owned),
                    })
                    .await
            }
        }
    }

    pub fn agent(&self) -> Result<&AgentClient, CoreError> {
        match self {
            Self::Agent(a) => Ok(a),
            Self::Direct(_) => Err(CoreError::NoAgent),
        }
    }
}

fn rfc3339(t: SystemTime) -> String {
    rolecall_engine::shell::rfc3339(t)
}

fn credentials_from_json(v: &Value) -> Result<RoleCredentials, CoreError> {
    let field = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| CoreError::Invalid(format!("no {k} in the agent's answer")))
    };
    let expiration = OffsetDateTime::parse(field("Expiration")?, &Rfc3339)
        .map_err(|e| CoreError::Invalid(format!("bad expiration from the agent: {e}")))?;
    Ok(RoleCredentials {
        access_key_id: field("AccessKeyId")?.to_owned(),
        secret_access_key: Secret::new(field("SecretAccessKey")?),
        session_token: Secret::new(field("SessionToken")?),
        expiration: expiration.into(),
    })
}

/// Shows a sign-in step and opens the browser where there is a URL to open.
fn show_event(v: &Value) {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
    match s("kind") {
        "device_code" => {
            let url = if s("verification_uri_complete").is_empty() {
                s("verification_uri")
            } else {
                s("verification_uri_complete")
            };
            eprintln!(
                "To sign in, open {url}\nand enter the code:\n\n    {}\n\nWaiting for approval (the code expires at {})...",
                s("user_code"),
                s("expires_at")
            );
            crate::commands::open_url(url);
        }
        "open_browser" => {
            eprintln!(
                "Opening the browser to sign in. If it did not open, visit:\n{}\nWaiting for the browser...",
                s("url")
            );
            crate::commands::open_url(s("url"));
        }
        "keychain_unavailable" => eprintln!("rolecall: warning: {}", s("message")),
        _ => {}
    }
}
