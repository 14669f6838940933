//! `rolecall exec`: a command run with a role's credentials in its environment (or the local
//! endpoint's two variables), and its exit status passed back.
//!
//! Rolecall stays the command's parent: it forwards the signals sent to it, and with
//! `--endpoint` it revokes the grant it made once the command ends, so the token left in the
//! command's environment is dead from then on.

use std::ffi::OsString;
use std::process::ExitCode;

use rolecall_core::CoreError;
use rolecall_core::agent::protocol::RoleOnWire;
use rolecall_core::agent::{AgentClient, Request, socket_path};
use rolecall_engine::held::{self, Held, Holds};
use rolecall_engine::partition::Region;
use rolecall_engine::secret::Secret;
use rolecall_engine::shell::credential_vars;
use rolecall_engine::text::printable;

use crate::backend::{Backend, marker_vars};

/// What `rolecall exec` was asked.
#[derive(Debug)]
pub struct ExecArgs {
    pub session: Option<String>,
    pub no_agent: bool,
    pub account: String,
    pub role: String,
    pub endpoint: bool,
    /// With `endpoint`: the token in a private file, not in the environment.
    pub token_file: bool,
    pub region: Option<String>,
    pub nest: bool,
    pub command: Vec<OsString>,
}

/// The variables a command gets, besides the ones it inherits minus
/// [`held::AWS_CREDENTIAL_VARS`].
fn region_vars(region: Option<&str>) -> Vec<(&'static str, Secret)> {
    region
        .map(|r| {
            vec![
                ("AWS_REGION", Secret::new(r)),
                ("AWS_DEFAULT_REGION", Secret::new(r)),
            ]
        })
        .unwrap_or_default()
}

/// The region to set: `--region`, else none when the environment already names one, else
/// the session's (the AWS CLI refuses to run without a region).
fn choose_region(
    asked: Option<Region>,
    session_region: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    if let Some(r) = asked {
        return Some(r.as_str().to_owned());
    }
    let has = |k: &str| env(k).is_some_and(|v| !v.is_empty());
    if has("AWS_REGION") || has("AWS_DEFAULT_REGION") {
        return None;
    }
    Region::parse(session_region)
        .ok()
        .map(|r| r.as_str().to_owned())
}

/// Refuses to run inside the environment of another role's `rolecall exec` (or `env`) unless
/// `--nest` says so: commands that expect one role would quietly act as another.
fn check_nesting(held: Option<&Held>, role: &RoleOnWire, nest: bool) -> Result<(), CoreError> {
    match held {
        Some(h) if !nest && !h.is(&role.account_id, &role.role) => Err(CoreError::Usage(format!(
            "this shell already holds the credentials of {} in {} ({}); run `rolecall exec --nest ...` to run {} in {} inside it anyway",
            h.role,
            h.account,
            h.account_id,
            printable(&role.role),
            printable(&role.account_name),
        ))),
        _ => Ok(()),
    }
}

pub async fn run(args: ExecArgs) -> Result<ExitCode, CoreError> {
    let Some((program, program_args)) = args.command.split_first() else {
        return Err(CoreError::Usage(
            "say which command to run, after `--`: rolecall exec ACCOUNT ROLE -- aws s3 ls".into(),
        ));
    };
    let asked_region = args
        .region
        .as_deref()
        .map(|r| Region::parse(r).map_err(CoreError::Invalid))
        .transpose()?;
    let held = Held::read(|k| std::env::var(k).ok());
    let backend = Backend::choose(args.no_agent).await?;
    let session = args.session.as_deref();

    let mut grant_id = None;
    // The token file's folder (0700, in XDG_RUNTIME_DIR when there is one), removed when the
    // command ends; the grant dies with this process either way.
    let mut token_dir: Option<tempfile::TempDir> = None;
    let (mut vars, role, session_region) = if args.endpoint {
        // Held by this process's life: if `exec` is killed (SIGKILL leaves no time to revoke
        // it), the agent ends the grant itself.
        let (grant, region, role) = backend
            .grant(session, &args.account, &args.role, true)
            .await?;
        grant_id = Some(grant.id.clone());
        let mut vars = if args.token_file {
            let dir = std::env::var_os("XDG_RUNTIME_DIR")
                .filter(|d| !d.is_empty() && std::path::Path::new(d).is_dir())
                .map_or_else(std::env::temp_dir, std::path::PathBuf::from);
            let made = tempfile::Builder::new()
                .prefix("rolecall-grant-")
                .tempdir_in(dir)
                .map_err(|e| CoreError::Invalid(format!("cannot make the token file: {e}")))?;
            let vars = grant
                .vars_with_token_file(None, &made.path().join("token"))
                .map_err(|e| CoreError::Invalid(format!("cannot write the token file: {e}")))?;
            token_dir = Some(made);
            vars
        } else {
            grant.vars(None)
        };
        vars.extend(marker_vars(&role, &Holds::Grant(grant.id.clone())));
        (vars, role, region)
    } else {
        let (creds, region, role) = backend
            .credentials(session, &args.account, &args.role)
            .await?;
        let mut vars = credential_vars(&creds, None);
        vars.extend(marker_vars(&role, &Holds::Key(creds.access_key_id.clone())));
        (vars, role, region)
    };
    if let Err(e) = check_nesting(held.as_ref(), &role, args.nest) {
        if let Some(id) = &grant_id {
            revoke(id).await;
        }
        return Err(e);
    }
    let region = choose_region(asked_region, &session_region, |k| std::env::var(k).ok());
    vars.extend(region_vars(region.as_deref()));
    drop(backend);

    let mut command = tokio::process::Command::new(program);
    command.args(program_args);
    for name in held::AWS_CREDENTIAL_VARS {
        command.env_remove(name);
    }
    for (name, value) in &vars {
        command.env(name, value.expose());
    }
    drop(vars);
    let status = match command.spawn() {
        Ok(mut child) => wait_forwarding_signals(&mut child).await,
        Err(e) => {
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            eprintln!(
                "rolecall: cannot run {}: {}",
                printable(&program.to_string_lossy()),
                printable(&e.to_string())
            );
            Err(code)
        }
    };
    if let Some(id) = &grant_id {
        revoke(id).await;
    }
    drop(token_dir);
    Ok(ExitCode::from(match status {
        Ok(code) | Err(code) => code,
    }))
}

/// Revokes the grant made for the command, now that it has ended.
async fn revoke(id: &str) {
    let done = match AgentClient::connect(&socket_path()).await {
        Ok(Some(agent)) => agent
            .call(&Request::Revoke { id: id.to_owned() })
            .await
            .is_ok(),
        _ => false,
    };
    if !done {
        eprintln!(
            "rolecall: could not revoke grant {}: revoke it with `rolecall revoke {}`",
            printable(id),
            printable(id)
        );
    }
}

/// The shell's convention for a status: the exit code, or 128 + the signal that ended it.
fn status_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => (c & 0xff) as u8,
        (None, Some(s)) => (128 + s).clamp(0, 255) as u8,
        (None, None) => 1,
    }
}

/// Waits for the command, forwarding SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2.
///
/// A terminal sends SIGINT and SIGQUIT (Ctrl-C, Ctrl-\) to its whole foreground process group,
/// the command included: while Rolecall is in that group those two are not sent again, so
/// the command sees one Ctrl-C, not two.
async fn wait_forwarding_signals(child: &mut tokio::process::Child) -> Result<u8, u8> {
    use tokio::signal::unix::{SignalKind, signal};
    let kinds = [
        (SignalKind::interrupt(), rustix::process::Signal::INT, true),
        (
            SignalKind::terminate(),
            rustix::process::Signal::TERM,
            false,
        ),
        (SignalKind::hangup(), rustix::process::Signal::HUP, false),
        (SignalKind::quit(), rustix::process::Signal::QUIT, true),
        (
            SignalKind::user_defined1(),
            rustix::process::Signal::USR1,
            false,
        ),
        (
            SignalKind::user_defined2(),
            rustix::process::Signal::USR2,
            false,
        ),
    ];
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for (kind, sig, from_terminal) in kinds {
        let Ok(mut stream) = signal(kind) else {
            continue;
        };
        let tx = tx.clone();
        tasks.push(tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if tx.send((sig, from_terminal)).is_err() {
                    break;
                }
            }
        }));
    }
    drop(tx);
    let pid = child
        .id()
        .and_then(|p| rustix::process::Pid::from_raw(p as i32));
    let result = loop {
        tokio::select! {
            status = child.wait() => {
                break match status {
                    Ok(s) => Ok(status_code(s)),
                    Err(e) => {
                        eprintln!("rolecall: lost the command: {}", printable(&e.to_string()));
                        Err(1)
                    }
                };
            }
            Some((sig, from_terminal)) = rx.recv() => {
                if from_terminal && in_terminal_foreground() {
                    continue;
                }
                if let Some(pid) = pid {
                    let _ = rustix::process::kill_process(pid, sig);
                }
            }
        }
    };
    for t in tasks {
        t.abort();
    }
    result
}

/// Whether this process is in its terminal's foreground process group (so the terminal's
/// Ctrl-C reached the command too).
fn in_terminal_foreground() -> bool {
    let stdin = std::io::stdin();
    match rustix::termios::tcgetpgrp(&stdin) {
        Ok(group) => group == rustix::process::getpgrp(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(account_id: &str, role: &str) -> RoleOnWire {
        RoleOnWire {
            session: "s".into(),
            account_id: account_id.into(),
            account_name: "n".into(),
            role: role.into(),
        }
    }

    fn held(account_id: &str, role: &str) -> Held {
        Held {
            account_id: account_id.into(),
            account: "n".into(),
            role: role.into(),
            holds: Holds::Key("K".into()),
            expires_at: None,
        }
    }

    #[test]
    fn exec_inside_another_roles_exec_is_refused_unless_asked() {
        let h = held("111122223333", "Admin");
        assert!(check_nesting(Some(&h), &role("111122223333", "Admin"), false).is_ok());
        let refused = check_nesting(Some(&h), &role("444455556666", "Admin"), false)
            .expect_err("another account");
        assert!(refused.to_string().contains("--nest"), "{refused}");
        assert!(check_nesting(Some(&h), &role("111122223333", "ReadOnly"), false).is_err());
        assert!(check_nesting(Some(&h), &role("444455556666", "Admin"), true).is_ok());
        assert!(check_nesting(None, &role("444455556666", "Admin"), false).is_ok());
    }

    #[test]
    fn the_region_is_the_one_asked_else_the_environments_else_the_sessions() {
        let none = |_: &str| None;
        let set = |k: &str| (k == "AWS_DEFAULT_REGION").then(|| "eu-west-1".to_owned());
        let asked = Region::parse("ap-south-1").ok();
        assert_eq!(
            choose_region(asked.clone(), "us-east-1", set).as_deref(),
            Some("ap-south-1")
        );
        assert_eq!(choose_region(None, "us-east-1", set), None);
        assert_eq!(
            choose_region(None, "us-east-1", none).as_deref(),
            Some("us-east-1")
        );
    }

    #[test]
    fn a_status_reads_as_a_shell_reads_it() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status_code(std::process::ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(status_code(std::process::ExitStatus::from_raw(15)), 143);
        assert_eq!(status_code(std::process::ExitStatus::from_raw(2)), 130);
    }
}
