//! `rolecall audit` and `rolecall retire`: find the long-term access keys on this machine, and
//! move a profile off one (a `credential_process` profile of the same name, the key removed
//! from `~/.aws/credentials`, then made inactive in IAM).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use rolecall_aws::keys::KeyCalls;
use rolecall_core::retire::{self, Target};
use rolecall_core::{CoreError, Resolved, Rolecall};
use rolecall_engine::api::{ApiError, RoleCredentials};
use rolecall_engine::audit::{self, Finding, Places, mask};
use rolecall_engine::aws_config::{self, MAX_AWS_CONFIG};
use rolecall_engine::session::SsoSession;
use rolecall_engine::text::printable;
use rolecall_engine::vault::RoleKey;

use crate::backend::open_core;

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.is_empty())
}

/// `AWS_CONFIG_FILE` or `~/.aws/config`; `AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`.
fn aws_files() -> (Option<PathBuf>, Option<PathBuf>) {
    let home = env("HOME").map(PathBuf::from);
    let config = aws_config::default_path(env);
    let credentials = env("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".aws").join("credentials")));
    (config, credentials)
}

/// IAM's endpoint override (the simulator's in tests), checked to be an http(s) URL.
fn iam_endpoint() -> Result<Option<String>, CoreError> {
    match env("AWS_ENDPOINT_URL_IAM") {
        None => Ok(None),
        Some(raw) => {
            let url = url::Url::parse(&raw)
                .map_err(|e| CoreError::Invalid(format!("AWS_ENDPOINT_URL_IAM: {e}")))?;
            if !matches!(url.scheme(), "https" | "http") {
                return Err(CoreError::Invalid(
                    "AWS_ENDPOINT_URL_IAM must be an http(s) URL".into(),
                ));
            }
            Ok(Some(raw.trim_end_matches('/').to_owned()))
        }
    }
}

fn calls(session: &SsoSession) -> Result<KeyCalls, CoreError> {
    Ok(KeyCalls::new(
        session.sts_endpoint(&session.region),
        iam_endpoint()?,
        session.region.as_str(),
    ))
}

fn api(what: &str, e: ApiError) -> CoreError {
    CoreError::Api(format!("{what}: {e}"))
}

/// Credentials of some role of a signed-in session, for STS `GetAccessKeyInfo` (any caller
/// may ask it): a read-only role when there is one. Never signs in.
async fn any_role(core: &Rolecall, session: &SsoSession) -> Option<RoleCredentials> {
    if !core.signin().status(session).signed_in {
        return None;
    }
    let catalog = core.catalog(&session.name)?;
    let mut keys: Vec<RoleKey> = catalog
        .accounts
        .iter()
        .flat_map(|a| {
            a.roles
                .iter()
                .map(|r| RoleKey::new(&session.name, &a.account.account_id, r))
        })
        .collect();
    keys.sort_by_key(|k| !k.role.contains("ReadOnly"));
    let key = keys.into_iter().next()?;
    let resolved = core.resolve_exact(&key).await.ok()?;
    core.credentials(&resolved).await.ok()
}

/// Fills in each finding's account, and its name from the catalogue, with the first
/// signed-in session that can ask STS. Says so when none could.
async fn name_accounts(findings: &mut [Finding]) {
    let Ok(core) = open_core() else { return };
    for session in core.sessions() {
        let Some(creds) = any_role(&core, &session).await else {
            continue;
        };
        let Ok(calls) = calls(&session) else { continue };
        for f in findings.iter_mut() {
            if let Ok(account) = calls.account_of(&creds, &f.full_key_id).await {
                let name = core
                    .sessions()
                    .iter()
                    .map(|s| core.account_name(&s.name, &account))
                    .find(|n| *n != account);
                f.account_name = name;
                f.account_id = Some(account);
            }
        }
        return;
    }
    eprintln!("rolecall: sign in (`rolecall login`) to see which account each key belongs to");
}

/// `rolecall audit`: exit 1 when any long-term key is found.
pub async fn audit(paths: Vec<PathBuf>, json: bool) -> Result<ExitCode, CoreError> {
    for p in &paths {
        if !p.is_dir() {
            return Err(CoreError::Usage(format!(
                "--path {}: not a folder",
                p.display()
            )));
        }
    }
    let (config, credentials) = aws_files();
    let places = Places {
        config,
        credentials,
        env: std::env::vars().collect(),
        histories: audit::history_files(env),
        trees: paths,
    };
    let mut report = audit::audit_places(&places);
    if !report.findings.is_empty() {
        name_accounts(&mut report.findings).await;
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        for why in &report.unreadable {
            eprintln!("rolecall: could not read {}", printable(why));
        }
        for (dir, walked) in &report.walks {
            let mut line = format!(
                "rolecall: {} files read under {}",
                walked.files_read,
                printable(dir)
            );
            if walked.too_large > 0 {
                line.push_str(&format!(
                    ", {} larger than {} MiB skipped",
                    walked.too_large,
                    audit::MAX_FILE >> 20
                ));
            }
            if walked.stopped_at_limit {
                line.push_str(&format!(
                    ", stopped at {} files: name a smaller folder",
                    audit::MAX_FILES
                ));
            }
            eprintln!("{line}");
        }
        if report.findings.is_empty() {
            println!(
                "No long-term access keys found in the AWS files, the environment, the shell histories{}.",
                if report.walks.is_empty() {
                    ""
                } else {
                    " or the folders"
                }
            );
        }
        for f in &report.findings {
            println!("{}", printable(&f.advice()));
        }
        if !report.findings.is_empty() {
            println!(
                "{} long-term access key(s) found. SEC02-BP02: use temporary credentials.",
                report.findings.len()
            );
        }
    }
    Ok(if report.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What `rolecall retire` was asked.
#[derive(Debug)]
pub struct RetireArgs {
    pub profile: String,
    pub role: Option<String>,
    pub account: Option<String>,
    pub yes: bool,
    pub dry_run: bool,
    pub deactivate: bool,
    pub deactivate_with: Option<String>,
}

fn read(path: &Path) -> Result<String, CoreError> {
    rolecall_engine::files::read_regular_text(path, MAX_AWS_CONFIG)
        .map(Option::unwrap_or_default)
        .map_err(|e| CoreError::Invalid(format!("cannot read {}: {e}", path.display())))
}

fn ask(question: &str) -> Result<String, CoreError> {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CoreError::Invalid(format!("cannot read the answer: {e}")))?;
    Ok(answer.trim().to_owned())
}

/// The role the profile gets: given, the account's only one, or asked on a terminal.
fn pick_role(args: &RetireArgs, account_name: &str, roles: &[String]) -> Result<String, CoreError> {
    if let Some(r) = &args.role {
        return Ok(r.clone());
    }
    if let [only] = roles {
        return Ok(only.clone());
    }
    let listed = roles.join(", ");
    if args.yes || !std::io::stdin().is_terminal() {
        return Err(CoreError::Usage(format!(
            "say which role profile {} gets in {account_name}: --role ROLE (one of {listed})",
            args.profile
        )));
    }
    eprintln!("rolecall: your roles in {account_name}:");
    for (i, r) in roles.iter().enumerate() {
        eprintln!("  {}. {}", i + 1, printable(r));
    }
    let answer = ask("rolecall: which one should the profile get? ")?;
    answer
        .parse::<usize>()
        .ok()
        .and_then(|n| roles.get(n.wrapping_sub(1)))
        .or_else(|| roles.iter().find(|r| **r == answer))
        .cloned()
        .ok_or_else(|| CoreError::Usage(format!("{answer:?} is none of {listed}")))
}

fn today(core: &Rolecall) -> String {
    let now = time::OffsetDateTime::from(core.clock().now());
    format!(
        "{:04}-{:02}-{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    )
}

/// The IAM console page of a user's keys, in the session's partition.
fn iam_page(session: &SsoSession, user: Option<&str>) -> String {
    let host = session.region.partition().console_host(&session.region);
    match user {
        Some(u) => format!(
            "https://{host}/iam/home#/users/details/{}?section=security_credentials",
            url::form_urlencoded::byte_serialize(u.as_bytes()).collect::<String>()
        ),
        None => format!("https://{host}/iam/home#/users"),
    }
}

/// A diff of a credentials file with every secret key and session token's value hidden (the
/// lines that go still show which setting goes).
fn hide_secrets(diff: &str) -> String {
    diff.lines()
        .map(|line| {
            let body = line.get(1..).unwrap_or_default();
            match body.split_once('=') {
                Some((k, _))
                    if !line.starts_with("---")
                        && !line.starts_with("+++")
                        && matches!(
                            k.trim().to_ascii_lowercase().as_str(),
                            "aws_secret_access_key" | "aws_session_token"
                        ) =>
                {
                    format!("{}{}= (hidden)\n", &line[..1], k)
                }
                _ => format!("{line}\n"),
            }
        })
        .collect()
}

/// `rolecall retire PROFILE`.
pub async fn retire(session: Option<&str>, args: RetireArgs) -> Result<ExitCode, CoreError> {
    let (config_path, credentials_path) = aws_files();
    let config_path =
        config_path.ok_or_else(|| CoreError::Invalid("cannot find ~/.aws/config".into()))?;
    let credentials_path = credentials_path
        .ok_or_else(|| CoreError::Invalid("cannot find ~/.aws/credentials".into()))?;
    let config = read(&config_path)?;
    let credentials = read(&credentials_path)?;
    let key =
        retire::static_key(&args.profile, &config, &credentials).map_err(CoreError::Invalid)?;
    let masked = mask(&key.key_id);

    let core: Arc<Rolecall> = open_core()?;
    let s = core.session(session)?;
    // Which account: given, or STS's answer for the key.
    let account = match &args.account {
        Some(a) => a.clone(),
        None => {
            let creds = any_role(&core, &s).await.ok_or_else(|| {
                CoreError::Invalid(format!(
                    "sign in to session {} first (`rolecall login`): retire asks STS which account key {masked} is of",
                    s.name
                ))
            })?;
            calls(&s)?
                .account_of(&creds, &key.key_id)
                .await
                .map_err(|e| {
                    api(
                        &format!(
                            "STS could not say which account key {masked} is of (give --account)"
                        ),
                        e,
                    )
                })?
        }
    };
    let catalog = core.catalog_or_sweep(&s).await?;
    let Some(entry) = catalog
        .accounts
        .iter()
        .find(|a| a.account.account_id == account || a.account.account_name == account)
    else {
        return Err(CoreError::Invalid(format!(
            "key {masked} is of account {account}, where session {} gives you no role: retire it with the session of that account (--session), or ask for a role there",
            s.name
        )));
    };
    let account_id = entry.account.account_id.clone();
    let account_name = entry.account.account_name.clone();
    let role = pick_role(&args, &account_name, &entry.roles)?;
    let resolved: Resolved = core.resolve(Some(&s.name), &account_id, &role).await?;
    let program = std::env::current_exe()
        .ok()
        .and_then(|p| p.to_str().map(str::to_owned))
        .unwrap_or_else(|| "rolecall".into());
    let date = today(&core);
    let plan = retire::plan(
        &args.profile,
        &Target {
            program: &program,
            session: &resolved.session.name,
            account_id: &resolved.key.account_id,
            role: &resolved.key.role,
            date: &date,
        },
        &config,
        &credentials,
    )
    .map_err(CoreError::Invalid)?;

    eprintln!(
        "rolecall: profile {} uses long-term key {masked} of {} ({account_id}); it will get {} from IAM Identity Center instead, through `rolecall credential-process`.",
        printable(&args.profile),
        printable(&account_name),
        printable(&resolved.key.role)
    );
    if !plan.dependents.is_empty() {
        eprintln!(
            "rolecall: profile(s) {} take their credentials from {} (source_profile): they will assume their roles from {}'s credentials, so each of those roles must trust it; check them after this.",
            printable(&plan.dependents.join(", ")),
            printable(&args.profile),
            printable(&resolved.key.role)
        );
    }
    if args.dry_run {
        print!(
            "{}",
            rolecall_core::profiles::diff(&config_path, &config, &plan.config)
        );
        if let Some(c) = &plan.credentials {
            print!(
                "{}",
                hide_secrets(
                    &rolecall_core::profiles::diff(&credentials_path, &credentials, c)
                        .replace(&key.key_id, &masked)
                )
            );
        }
        eprintln!("rolecall: dry run: nothing written");
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(CoreError::Usage(
                "run again with --yes to retire the key (or --dry-run to see the change)".into(),
            ));
        }
        let answer = ask(&format!(
            "rolecall: rewrite profile {} and remove the key from {}? [y/N] ",
            args.profile,
            credentials_path.display()
        ))?;
        if !matches!(answer.as_str(), "y" | "Y" | "yes") {
            return Err(CoreError::Usage("nothing changed".into()));
        }
    }
    // The role must work before the key goes: the person's scripts depend on it.
    let role_creds = core.credentials(&resolved).await?;
    // Nothing is written when either file changed since it was read.
    for (path, was) in [(&config_path, &config), (&credentials_path, &credentials)] {
        if read(path)? != *was {
            return Err(CoreError::Invalid(format!(
                "{} changed while rolecall ran: nothing written; run it again",
                path.display()
            )));
        }
    }
    fn had(text: &str) -> Option<&str> {
        (!text.is_empty()).then_some(text)
    }
    rolecall_core::profiles::write(&config_path, had(&config), &plan.config).map_err(|e| {
        CoreError::Invalid(format!(
            "cannot write {}: {e}; nothing changed",
            config_path.display()
        ))
    })?;
    eprintln!(
        "rolecall: wrote profile {} to {}",
        printable(&args.profile),
        config_path.display()
    );
    if let Some(new) = &plan.credentials {
        let backup = rolecall_core::profiles::write(&credentials_path, had(&credentials), new)
            .map_err(|e| {
                CoreError::Invalid(format!(
                    "cannot write {}: {e}; the profile works through Rolecall already, but the key is still in that file",
                    credentials_path.display()
                ))
            })?;
        eprintln!(
            "rolecall: removed key {masked} from {}{}",
            credentials_path.display(),
            backup
                .map(|b| format!(
                    " (the old file is kept as {}, readable by you alone: delete it once nothing broke)",
                    b.display()
                ))
                .unwrap_or_default()
        );
    }

    if !args.deactivate {
        eprintln!(
            "rolecall: the key is still active in IAM. Make it inactive with `aws iam update-access-key --access-key-id {} --status Inactive --user-name USER`, or on {}",
            key.key_id,
            iam_page(&s, None)
        );
        return Ok(ExitCode::SUCCESS);
    }
    let (admin, admin_role) = match &args.deactivate_with {
        Some(r) => {
            let admin = core.resolve(Some(&s.name), &account_id, r).await?;
            let creds = core.credentials(&admin).await?;
            (creds, admin.key.role)
        }
        None => (role_creds, resolved.key.role.clone()),
    };
    let calls = calls(&s)?;
    let manual = |user: Option<&str>| {
        format!(
            "make it inactive yourself: `aws iam update-access-key --access-key-id {} --status Inactive{}` with a role allowed to, or on {}",
            key.key_id,
            user.map(|u| format!(" --user-name {u}"))
                .unwrap_or_default(),
            iam_page(&s, user)
        )
    };
    let used = match calls.last_used(&admin, &key.key_id).await {
        Ok(u) => u,
        Err(e) => {
            eprintln!(
                "rolecall: {admin_role} may not read key {masked} in IAM ({e}); {}",
                manual(None)
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    let when = used.when.map_or_else(
        || "never used".to_owned(),
        |t| {
            format!(
                "last used {} by {} in {}",
                time::OffsetDateTime::from(t)
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
                used.service,
                used.region
            )
        },
    );
    eprintln!(
        "rolecall: key {masked} of IAM user {}: {when}",
        printable(&used.user_name)
    );
    let user = (!used.user_name.is_empty()).then_some(used.user_name.as_str());
    if let Err(e) = calls.deactivate(&admin, &key.key_id, user).await {
        eprintln!(
            "rolecall: {admin_role} may not make key {masked} inactive ({e}); {}",
            manual(user)
        );
        return Ok(ExitCode::FAILURE);
    }
    eprintln!(
        "rolecall: key {masked} is inactive in IAM now (not deleted: once nothing broke, delete it on {})",
        iam_page(&s, user)
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_dry_runs_diff_never_shows_a_secret_key() {
        let diff = "--- a\n+++ b\n [temp]\n-aws_access_key_id = AKIA…0001\n-aws_secret_access_key = wJalrXUtnFEMI\n aws_session_token = tok\n";
        let hidden = super::hide_secrets(diff);
        assert!(
            !hidden.contains("wJalr") && !hidden.contains("tok"),
            "{hidden}"
        );
        assert!(
            hidden.contains("-aws_secret_access_key = (hidden)\n"),
            "{hidden}"
        );
        assert!(hidden.contains("-aws_access_key_id = AKIA…0001\n"));
    }
}
