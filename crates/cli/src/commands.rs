//! What each subcommand does.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use rolecall_core::agent::{AgentServer, Answer, Request, socket_path};
use rolecall_core::console::ConsoleAsk;
use rolecall_core::endpoint::CredentialEndpoint;
use rolecall_core::handoff::Handoff;
use rolecall_core::profiles::{self, ProfileSpec};
use rolecall_core::{CoreError, Rolecall};
use rolecall_engine::aws_config::{self, Found};
use rolecall_engine::browser::ConsoleMode;
use rolecall_engine::clock::SystemClock;
use rolecall_engine::config::{Config, ConfigFile};
use rolecall_engine::held::Holds;
use rolecall_engine::partition::Region;
use rolecall_engine::secret::Secret;
use rolecall_engine::session::{SsoSession, guess_region, validate_start_url};
use rolecall_engine::shell::{self, ShellFormat};
use rolecall_engine::text::printable;

use crate::backend::{Backend, marker_vars, open_core};
use crate::{Cli, Command, EcrCommand, EksCommand, RoleArgs, SessionCommand};

/// Exit code for an error (see `--help`).
pub fn exit_code(e: &CoreError) -> u8 {
    match e.code().as_str() {
        "sign_in_required" => 3,
        "unknown_session" | "unknown_account" | "unknown_role" | "ambiguous_account"
        | "no_session" | "which_session" => 4,
        c if c.starts_with("config") => 5,
        "usage" => 2,
        _ => 1,
    }
}

/// Opens a page (a sign-in page, a console handoff) with `ROLECALL_OPENER` or the browser;
/// a URL that is not a page that may be opened is refused with a sentence.
pub fn open_page(url: &str) {
    if url.is_empty() {
        return;
    }
    if let Err(e) = rolecall_core::opener::open_url(url) {
        eprintln!("rolecall: {}", printable(&e));
    }
}

pub(crate) fn print_secret(s: &Secret) -> Result<(), CoreError> {
    let mut out = std::io::stdout().lock();
    out.write_all(s.expose().as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| CoreError::Invalid(format!("cannot write: {e}")))
}

/// The config file as it is now: any problem stops the command with exit code 5 before
/// anything is done (and before anything could be written).
fn config_now() -> Result<Config, CoreError> {
    Ok(ConfigFile::in_dir(&crate::backend::dirs().config).load()?)
}

pub async fn run(cli: Cli) -> Result<ExitCode, CoreError> {
    let session = cli.session.as_deref();
    let config = match &cli.command {
        // The prompt runs at every prompt: it reads the environment only.
        Command::Prompt { format } => return Ok(crate::status::prompt(Some(format))),
        Command::Completions { shell } => return completions(shell),
        Command::Man { dir } => {
            use clap::CommandFactory;
            let n = crate::complete::write_man_pages(Cli::command(), dir).map_err(|e| {
                CoreError::Invalid(format!("cannot write into {}: {e}", dir.display()))
            })?;
            eprintln!("rolecall: {n} manual pages written to {}", dir.display());
            return Ok(ExitCode::SUCCESS);
        }
        Command::Audit { .. } => None,
        _ => Some(config_now()?),
    };
    let config = config.unwrap_or_default();
    match cli.command {
        Command::Ls { json, refresh } => {
            let backend = Backend::choose(cli.no_agent).await?;
            let accounts = backend.list(session, refresh).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&accounts).unwrap_or_default()
                );
            } else {
                let mut out = std::io::stdout().lock();
                for a in &accounts {
                    let alias = config
                        .aliases
                        .get(&a.account.account_id)
                        .map(|x| format!(" ({})", printable(x)))
                        .unwrap_or_default();
                    let chains = config.chains.iter().filter(|c| {
                        c.account_id == a.account.account_id && a.roles.contains(&c.role)
                    });
                    let roles: Vec<String> = a
                        .roles
                        .iter()
                        .map(|r| printable(r).into_owned())
                        .chain(chains.map(|c| {
                            format!(
                                "{} (chained from {})",
                                printable(&c.name),
                                printable(&c.role)
                            )
                        }))
                        .collect();
                    let _ = writeln!(
                        out,
                        "{}  {}{}  {}",
                        printable(&a.account.account_id),
                        printable(&a.account.account_name),
                        alias,
                        roles.join(", ")
                    );
                }
                eprintln!(
                    "{} accounts, {} roles",
                    accounts.len(),
                    accounts.iter().map(|a| a.roles.len()).sum::<usize>()
                );
            }
        }
        Command::Env {
            target: RoleArgs { account, role },
            format,
            region,
            endpoint,
            token_file,
        } => {
            let aws_cli = format.as_deref().and_then(shell::AwsCliFormat::parse);
            if let Some(aws_cli) = aws_cli {
                if endpoint {
                    return Err(CoreError::Invalid(format!(
                        "--format {} prints keys, as `aws configure export-credentials` does; with --endpoint use sh, fish, pwsh, cmd or dotenv",
                        aws_cli.name()
                    )));
                }
                let backend = Backend::choose(cli.no_agent).await?;
                let (creds, _, _) = backend.credentials(session, &account, &role).await?;
                let text = aws_cli
                    .render(&creds)
                    .map_err(|e| CoreError::Invalid(e.to_string()))?;
                print_secret(&text)?;
                return Ok(ExitCode::SUCCESS);
            }
            let format = match format {
                Some(f) => ShellFormat::parse(&f).ok_or_else(|| {
                    CoreError::Invalid(format!(
                        "unknown format {:?}: use sh, fish, pwsh, cmd or dotenv, or one of the AWS CLI's: process, env, env-no-export, powershell, windows-cmd",
                        printable(&f)
                    ))
                })?,
                None => config.preferences.shell,
            };
            let format = if format == ShellFormat::CredentialProcess {
                ShellFormat::Sh
            } else {
                format
            };
            let region = region
                .map(|r| Region::parse(&r).map_err(CoreError::Invalid))
                .transpose()?;
            let region = region.as_ref().map(Region::as_str);
            let backend = Backend::choose(cli.no_agent).await?;
            if endpoint {
                let (grant, _, role) = backend.grant(session, &account, &role, false).await?;
                let id = grant.id.clone();
                let mut vars = match &token_file {
                    None => grant.vars(region),
                    Some(path) => grant.vars_with_token_file(region, path).map_err(|e| {
                        CoreError::Invalid(format!(
                            "cannot write the token file {}: {e}",
                            path.display()
                        ))
                    })?,
                };
                vars.extend(marker_vars(&role, &Holds::Grant(id.clone())));
                let text = shell::render_secrets(format, &vars)
                    .map_err(|e| CoreError::Invalid(e.to_string()))?;
                print_secret(&text)?;
                eprintln!("rolecall: grant {id} made; revoke it with `rolecall revoke {id}`");
            } else {
                let (creds, _, role) = backend.credentials(session, &account, &role).await?;
                let mut vars = shell::credential_vars(&creds, region);
                vars.extend(marker_vars(&role, &Holds::Key(creds.access_key_id.clone())));
                let text = shell::render_secrets(format, &vars)
                    .map_err(|e| CoreError::Invalid(e.to_string()))?;
                print_secret(&text)?;
            }
        }
        Command::Exec {
            target: RoleArgs { account, role },
            endpoint,
            token_file,
            region,
            nest,
            command,
        } => {
            return crate::exec::run(crate::exec::ExecArgs {
                session: cli.session,
                no_agent: cli.no_agent,
                account,
                role,
                endpoint,
                token_file,
                region,
                nest,
                command,
            })
            .await;
        }
        Command::Prompt { .. } | Command::Completions { .. } | Command::Man { .. } => {
            unreachable!("answered before the config is read")
        }
        Command::Status { json } => return crate::status::status(cli.no_agent, json).await,
        Command::Ecr(EcrCommand::Login {
            target: RoleArgs { account, role },
            region,
            registry,
            docker_config,
        }) => {
            return crate::ecr::login(crate::ecr::LoginArgs {
                session: cli.session,
                no_agent: cli.no_agent,
                account,
                role,
                region,
                registry,
                docker_config,
            })
            .await;
        }
        Command::DockerCredential { op } => {
            return crate::ecr::helper(&op, session, cli.no_agent).await;
        }
        Command::Eks(EksCommand::Token {
            cluster,
            target: RoleArgs { account, role },
            region,
        }) => {
            return crate::kube::token(
                crate::kube::TokenArgs {
                    session: cli.session,
                    no_agent: cli.no_agent,
                    cluster,
                    account,
                    role,
                    region,
                },
                &config,
            )
            .await;
        }
        Command::Kubeconfig {
            cluster,
            server,
            certificate_authority_data,
            target: RoleArgs { account, role },
            region,
            context,
            file,
        } => {
            return crate::kube::kubeconfig(crate::kube::KubeconfigArgs {
                session: cli.session,
                cluster,
                server,
                ca_data: certificate_authority_data,
                account,
                role,
                region,
                context,
                file,
            })
            .await;
        }
        Command::CredentialProcess {
            target: RoleArgs { account, role },
        } => {
            let backend = Backend::choose(cli.no_agent).await?;
            let (creds, _, _) = backend.credentials(session, &account, &role).await?;
            print_secret(&shell::credential_process_json(&creds))?;
        }
        Command::Console {
            target: RoleArgs { account, role },
            service,
            path,
            region,
            mode,
            session_seconds,
            force,
            print,
        } => {
            let ask = ConsoleAsk {
                mode: mode.map(|m| m.0),
                service,
                path,
                region,
                session_seconds,
                force,
            };
            open_console(cli.no_agent, session, &account, &role, &ask, print).await?;
        }
        Command::Open { link, yes } => {
            let link =
                rolecall_engine::deeplink::ConsoleLink::parse(&link).map_err(CoreError::Usage)?;
            let session = link.session.as_deref().or(session);
            if !yes {
                // Resolved first, so the question names the account's id and its session: two
                // organisations can each have a `payments-prod`.
                let resolved = crate::backend::open_core()?
                    .resolve(session, &link.account, &link.role)
                    .await?;
                confirm_link(&link.describe_resolved(
                    &resolved.key.role,
                    &resolved.account_name,
                    &resolved.key.account_id,
                    &resolved.session.name,
                ))?;
            }
            let ask = ConsoleAsk {
                path: link.path.clone(),
                service: link.service.clone(),
                region: link.region.clone(),
                ..ConsoleAsk::default()
            };
            open_console(
                cli.no_agent,
                session,
                &link.account,
                &link.role,
                &ask,
                false,
            )
            .await?;
        }
        Command::Whoami {
            target: RoleArgs { account, role },
        } => {
            let backend = Backend::choose(cli.no_agent).await?;
            let who = backend.whoami(session, &account, &role).await?;
            println!("{}", serde_json::to_string_pretty(&who).unwrap_or_default());
        }
        Command::Login {
            session: named,
            device_code,
        } => {
            let backend = Backend::choose(cli.no_agent).await?;
            let (name, until) = backend
                .login(named.as_deref().or(session), device_code)
                .await?;
            eprintln!(
                "rolecall: signed in to {} (until {})",
                printable(&name),
                printable(&until)
            );
        }
        Command::Logout { session: named } => {
            let backend = Backend::choose(cli.no_agent).await?;
            let name = backend.logout(named.as_deref().or(session)).await?;
            eprintln!("rolecall: signed out of {}", printable(&name));
        }
        Command::Session(cmd) => session_command(cmd).await?,
        Command::Profiles {
            all,
            roles,
            region,
            dry_run,
            file,
        } => {
            return write_profiles(session, all, roles, region, dry_run, file).await;
        }
        Command::Grants => {
            let backend = Backend::choose(false).await?;
            let Answer::Grants { grants } = backend.agent()?.call(&Request::Grants).await? else {
                return Err(CoreError::Invalid("the agent listed no grants".into()));
            };
            for g in grants {
                println!(
                    "{}  {} ({})  {}  uses={}",
                    printable(&g.id),
                    printable(&g.account_name),
                    printable(&g.account_id),
                    printable(&g.role),
                    g.uses
                );
            }
        }
        Command::Revoke { id } => {
            let backend = Backend::choose(false).await?;
            let answer = backend
                .agent()?
                .call(&Request::Revoke { id: id.clone() })
                .await?;
            if answer == (Answer::Revoked { revoked: true }) {
                eprintln!("rolecall: grant {} revoked", printable(&id));
            } else {
                return Err(CoreError::Invalid(format!("no grant {}", printable(&id))));
            }
        }
        Command::Audit { paths, json } => return crate::keys::audit(paths, json).await,
        Command::Retire {
            profile,
            role,
            account,
            yes,
            dry_run,
            deactivate,
            deactivate_with,
        } => {
            return crate::keys::retire(
                session,
                crate::keys::RetireArgs {
                    profile,
                    role,
                    account,
                    yes,
                    dry_run,
                    deactivate,
                    deactivate_with,
                },
            )
            .await;
        }
        Command::Agent => return run_agent().await,
    }
    Ok(ExitCode::SUCCESS)
}

/// The registration script for `shell`: it asks `rolecall` itself for each completion.
fn completions(shell: &str) -> Result<ExitCode, CoreError> {
    let shells = clap_complete::env::Shells::builtins();
    let completer = shells
        .completer(shell)
        .ok_or_else(|| CoreError::Usage(format!("no completions for {}", printable(shell))))?;
    let mut out = std::io::stdout().lock();
    completer
        .write_registration("COMPLETE", "rolecall", "rolecall", "rolecall", &mut out)
        .and_then(|_| out.flush())
        .map_err(|e| CoreError::Invalid(format!("cannot write: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

async fn session_command(cmd: SessionCommand) -> Result<(), CoreError> {
    let core = open_core()?;
    match cmd {
        SessionCommand::Add {
            name,
            start_url,
            region,
        } => {
            let start_url = validate_start_url(&start_url).map_err(CoreError::Invalid)?;
            let region = match region.or_else(|| guess_region(&start_url)) {
                Some(r) => Region::parse(&r).map_err(CoreError::Invalid)?,
                None => {
                    return Err(CoreError::Invalid(
                        "the region cannot be guessed from this start URL: give --region".into(),
                    ));
                }
            };
            let session = SsoSession {
                name: name.clone(),
                start_url,
                region,
                endpoints: Default::default(),
                session_duration_seconds: None,
                use_fips_endpoint: None,
                use_dualstack_endpoint: None,
            };
            core.update_config(|c| c.upsert_session(session))?;
            let name = printable(&name);
            eprintln!(
                "rolecall: session {name} saved in {}; sign in with `rolecall login {name}`",
                core.config_path().display()
            );
        }
        SessionCommand::Ls => {
            for s in core.sessions() {
                let status = core.signin().status(&s);
                let state = match (status.signed_in, status.expires_at) {
                    (true, Some(t)) => format!("signed in, token until {}", shell::rfc3339(t)),
                    (true, None) => "signed in".into(),
                    _ => "not signed in".into(),
                };
                println!(
                    "{}  {}  {}  {state}",
                    printable(&s.name),
                    printable(&s.start_url),
                    s.region
                );
            }
        }
        SessionCommand::Show { name } => {
            let s = core.session(Some(&name))?;
            let on = |v: Option<bool>| if v.unwrap_or(false) { "yes" } else { "no" };
            let duration = s.session_duration().as_secs();
            println!("session            {}", printable(&s.name));
            println!("start URL          {}", printable(&s.start_url));
            println!("region             {}", s.region);
            println!(
                "sign-in lasts      {}{}",
                rolecall_engine::held::short_duration(std::time::Duration::from_secs(duration)),
                if s.session_duration_seconds.is_none() {
                    " (IAM Identity Center's default; set session_duration_seconds if yours differs)"
                } else {
                    ""
                }
            );
            println!("FIPS endpoints     {}", on(s.use_fips_endpoint));
            println!("dual-stack         {}", on(s.use_dualstack_endpoint));
            println!("OIDC endpoint      {}", printable(&s.oidc_url()));
            println!("portal endpoint    {}", printable(&s.portal_url()));
            println!(
                "STS endpoint       {}",
                printable(&s.sts_endpoint(&s.region))
            );
        }
        SessionCommand::Rm { name } => {
            core.remove_session(&name).await?;
            eprintln!("rolecall: session {} removed", printable(&name));
        }
        SessionCommand::Import { file } => {
            let path = file
                .or_else(|| aws_config::default_path(|k| std::env::var(k).ok()))
                .ok_or_else(|| CoreError::Invalid("cannot find ~/.aws/config".into()))?;
            let found = aws_config::read_sso_sessions(&path).map_err(CoreError::Invalid)?;
            let existing = &core.config().sessions;
            let mut added = Vec::new();
            for f in found {
                match f {
                    Found::Session(s) => {
                        if existing.iter().any(|e| {
                            e.name == s.name || (e.start_url == s.start_url && e.region == s.region)
                        }) {
                            eprintln!("rolecall: {} is already configured", printable(&s.name));
                        } else {
                            added.push(s);
                        }
                    }
                    Found::Skipped { section, reason } => {
                        eprintln!(
                            "rolecall: skipped [{}]: {}",
                            printable(&section),
                            printable(&reason)
                        )
                    }
                }
            }
            let names: Vec<String> = added.iter().map(|s| s.name.clone()).collect();
            core.update_config(|c| c.sessions.extend(added))?;
            eprintln!(
                "rolecall: imported {} session(s) from {}{}",
                names.len(),
                path.display(),
                if names.is_empty() {
                    String::new()
                } else {
                    format!(": {}", printable(&names.join(", ")))
                }
            );
        }
    }
    Ok(())
}

async fn write_profiles(
    session: Option<&str>,
    all: bool,
    roles: Vec<String>,
    region: Option<String>,
    dry_run: bool,
    file: Option<std::path::PathBuf>,
) -> Result<ExitCode, CoreError> {
    if !all && roles.is_empty() {
        return Err(CoreError::Invalid(
            "say which profiles: --all, or --role ACCOUNT/ROLE (repeatable)".into(),
        ));
    }
    let core = open_core()?;
    let mut specs: Vec<ProfileSpec> = Vec::new();
    let sessions = match session {
        Some(name) => vec![core.session(Some(name))?],
        None => core.sessions(),
    };
    if all {
        for s in &sessions {
            let catalog = core.catalog_or_sweep(s).await?;
            for a in &catalog.accounts {
                for role in &a.roles {
                    specs.push(ProfileSpec {
                        name: profiles::profile_name(&a.account.account_name, role),
                        session: s.name.clone(),
                        account_id: a.account.account_id.clone(),
                        role: role.clone(),
                        region: region.clone().or(Some(s.region.to_string())),
                    });
                }
                for c in core.config().chains.iter().filter(|c| {
                    c.session == s.name
                        && c.account_id == a.account.account_id
                        && a.roles.contains(&c.role)
                }) {
                    specs.push(ProfileSpec {
                        name: profiles::profile_name(&a.account.account_name, &c.name),
                        session: s.name.clone(),
                        account_id: a.account.account_id.clone(),
                        role: c.name.clone(),
                        region: region.clone().or(Some(s.region.to_string())),
                    });
                }
            }
        }
    }
    for pair in roles {
        let (account, role) = pair
            .rsplit_once('/')
            .ok_or_else(|| CoreError::Invalid(format!("{pair:?}: write a role as ACCOUNT/ROLE")))?;
        let resolved = core.resolve(session, account, role).await?;
        // A chained role is named by its chain, which `credential-process` resolves.
        let name = core
            .chain_name(&resolved.key)
            .unwrap_or_else(|| resolved.key.role.clone());
        specs.push(ProfileSpec {
            name: profiles::profile_name(&resolved.account_name, &name),
            session: resolved.session.name.clone(),
            account_id: resolved.key.account_id.clone(),
            role: name,
            region: region.clone().or(Some(resolved.session.region.to_string())),
        });
    }
    let path = file
        .or_else(|| aws_config::default_path(|k| std::env::var(k).ok()))
        .ok_or_else(|| CoreError::Invalid("cannot find ~/.aws/config".into()))?;
    // A regular file only (a FIFO would hang us), through a symbolic link if it is one.
    let old = rolecall_engine::files::read_regular_text(&path, aws_config::MAX_AWS_CONFIG)
        .map_err(|e| CoreError::Invalid(format!("cannot read {}: {e}", path.display())))?;
    let old_text = old.clone().unwrap_or_default();
    let foreign = profiles::foreign_profiles(&old_text);
    // Profiles that `rolecall retire` moved off a long-term key stay as they are.
    let retired = rolecall_core::retire::retired_sections(&old_text);
    specs.retain(|s| {
        let why = if foreign.contains(&s.name) {
            "already exists outside Rolecall's block: left alone"
        } else if retired.contains_key(&s.name) {
            "is a retired long-term key's profile: left as it is"
        } else {
            return true;
        };
        eprintln!("rolecall: profile {} {why}", s.name);
        false
    });
    let (specs, renamed) = profiles::assign_names(specs).map_err(CoreError::Invalid)?;
    for r in &renamed {
        eprintln!(
            "rolecall: {} would also be another role's profile: {}/{}/{} is profile {}",
            printable(&r.wanted),
            printable(&r.session),
            r.account_id,
            printable(&r.role),
            printable(&r.given)
        );
    }
    let program = std::env::current_exe()
        .ok()
        .and_then(|p| p.to_str().map(str::to_owned))
        .unwrap_or_else(|| "rolecall".into());
    let kept: Vec<String> = retired.into_values().collect();
    let block = profiles::render_block_with(&specs, &kept, &program).map_err(CoreError::Invalid)?;
    let new_text = profiles::apply(&old_text, &block).map_err(CoreError::Invalid)?;
    if dry_run {
        print!("{}", profiles::diff(&path, &old_text, &new_text));
        eprintln!(
            "rolecall: dry run: {} profile(s), nothing written",
            specs.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if new_text == old_text {
        eprintln!("rolecall: {} is up to date", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let backup = profiles::write(&path, old.as_deref(), &new_text)
        .map_err(|e| CoreError::Invalid(format!("cannot write {}: {e}", path.display())))?;
    eprintln!(
        "rolecall: wrote {} profile(s) to {}{}",
        specs.len(),
        path.display(),
        backup
            .map(|b| format!(" (backup: {})", b.display()))
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

async fn run_agent() -> Result<ExitCode, CoreError> {
    let core: Arc<Rolecall> = open_core()?;
    let handoff = Arc::new(
        Handoff::start(core.clock().clone())
            .await
            .map_err(|e| CoreError::Invalid(format!("cannot start the console handoff: {e}")))?,
    );
    let endpoint =
        Arc::new(CredentialEndpoint::start(&core).await.map_err(|e| {
            CoreError::Invalid(format!("cannot start the credential endpoint: {e}"))
        })?);
    let path = socket_path();
    let _server = AgentServer::start(core.clone(), endpoint.clone(), handoff, &path)
        .await
        .map_err(|e| {
            CoreError::Invalid(format!(
                "cannot serve the agent socket {}: {e}",
                path.display()
            ))
        })?;
    println!("rolecall agent: socket {}", path.display());
    println!("rolecall agent: credential endpoint {}", endpoint.url());
    let _ = std::io::stdout().flush();
    wait_for_stop().await;
    Ok(ExitCode::SUCCESS)
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

/// Opens (or with `print`, prints) a console for a role.
async fn open_console(
    no_agent: bool,
    session: Option<&str>,
    account: &str,
    role: &str,
    ask: &ConsoleAsk,
    print: bool,
) -> Result<(), CoreError> {
    let backend = Backend::choose(no_agent).await?;
    let link = backend.console(session, account, role, ask, !print).await?;
    if print {
        return print_secret(&Secret::new(format!("{}\n", link.url.expose())));
    }
    rolecall_core::console::launch(&link.open_in, link.url.expose()).map_err(CoreError::Invalid)?;
    if let Some((_handoff, offer)) = link.served_here {
        eprintln!("rolecall: waiting for the browser to open the console...");
        if !offer.taken(&SystemClock).await {
            return Err(CoreError::Invalid(format!(
                "the browser did not open the console link within {} s",
                rolecall_core::handoff::TTL.as_secs()
            )));
        }
    }
    let shared = if link.mode == ConsoleMode::MultiSession {
        format!(
            " ({} of {} identities in this browser)",
            link.identities,
            rolecall_core::console::MULTI_SESSION_LIMIT
        )
    } else {
        String::new()
    };
    eprintln!(
        "rolecall: opened the console for {} in {} ({}){shared}",
        printable(role),
        printable(account),
        link.mode
    );
    Ok(())
}

/// A link can come from anywhere (a chat, a web page): say what it opens and ask, on a
/// terminal; elsewhere, refuse without --yes.
fn confirm_link(what: &str) -> Result<(), CoreError> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Err(CoreError::Usage(format!(
            "this link opens {what}; run again with --yes to open it"
        )));
    }
    let answer = crate::prompt::ask(&format!("rolecall: open {what}? [y/N] "))?;
    if matches!(answer.as_str(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(CoreError::Usage("not opened".into()))
    }
}
