//! `rolecall audit` and `rolecall retire`: find the long-term access keys on this machine, and
//! move a profile off one (a `credential_process` profile of the same name, the key removed
//! from `~/.aws/credentials`, then made inactive in IAM). The work is `rolecall-core::keys`'s;
//! this is what the terminal shows and asks.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use rolecall_core::keys::{Deactivation, default_places};
use rolecall_core::{CoreError, Rolecall};
use rolecall_engine::audit;
use rolecall_engine::text::printable;

use crate::backend::open_core;
use crate::prompt::ask;

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
    let env: Vec<(String, String)> = std::env::vars().collect();
    let mut places = default_places(&env);
    places.trees = paths;
    let report = match open_core() {
        Ok(core) => {
            let (report, named) = core.long_term_keys(&places).await;
            if !named {
                eprintln!(
                    "rolecall: sign in (`rolecall login`) to see which account each key belongs to"
                );
            }
            report
        }
        Err(_) => audit::audit_places(&places),
    };
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
    let core: Arc<Rolecall> = open_core()?;
    let prepared = core
        .prepare_retire(session, &args.profile, args.account.as_deref())
        .await?;
    let masked = prepared.masked_key();
    let role = pick_role(&args, &prepared.account_name, &prepared.roles)?;
    let program = std::env::current_exe()
        .ok()
        .and_then(|p| p.to_str().map(str::to_owned))
        .unwrap_or_else(|| "rolecall".into());
    let (resolved, plan) = core.plan_retire(&prepared, &role, &program).await?;
    eprintln!(
        "rolecall: profile {} uses long-term key {masked} of {} ({}); it will get {} from IAM Identity Center instead, through `rolecall credential-process`.",
        printable(&args.profile),
        printable(&prepared.account_name),
        prepared.account_id,
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
            rolecall_core::profiles::diff(
                &prepared.config_path,
                prepared.config_text(),
                &plan.config
            )
        );
        if let Some(c) = &plan.credentials {
            print!(
                "{}",
                hide_secrets(
                    &rolecall_core::profiles::diff(
                        &prepared.credentials_path,
                        prepared.credentials_text(),
                        c
                    )
                    .replace(&prepared.key.key_id, &masked)
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
            prepared.credentials_path.display()
        ))?;
        if !matches!(answer.as_str(), "y" | "Y" | "yes") {
            return Err(CoreError::Usage("nothing changed".into()));
        }
    }
    let retired = core.apply_retire(&prepared, &resolved, &plan).await?;
    eprintln!(
        "rolecall: wrote profile {} to {}",
        printable(&args.profile),
        prepared.config_path.display()
    );
    if plan.credentials.is_some() {
        eprintln!(
            "rolecall: removed key {masked} from {}{}",
            prepared.credentials_path.display(),
            retired
                .credentials_backup
                .map(|b| format!(
                    " (the old file is kept as {}, readable by you alone: delete it once nothing broke)",
                    b.display()
                ))
                .unwrap_or_default()
        );
    }
    if !args.deactivate {
        eprintln!(
            "rolecall: the key is still active in IAM. Make it inactive with `aws iam update-access-key --access-key-id {} --status Inactive --user-name USER`, or on {} (or run this with --deactivate next time)",
            prepared.key.key_id,
            Rolecall::iam_page(&prepared.session, None)
        );
        return Ok(ExitCode::SUCCESS);
    }
    let admin = match &args.deactivate_with {
        Some(r) => {
            core.resolve(Some(&prepared.session.name), &prepared.account_id, r)
                .await?
        }
        None => resolved,
    };
    match core.deactivate_key(&prepared, &admin).await {
        Deactivation::Done(used) => {
            let when = used.describe();
            let user = (!used.user_name.is_empty()).then_some(used.user_name.as_str());
            eprintln!(
                "rolecall: key {masked} of IAM user {} was {when}; it is inactive in IAM now (not deleted: once nothing broke, delete it on {})",
                printable(&used.user_name),
                Rolecall::iam_page(&prepared.session, user)
            );
            Ok(ExitCode::SUCCESS)
        }
        Deactivation::Refused { why, by_hand } => {
            eprintln!(
                "rolecall: key {masked} is still active: {}. Make it inactive yourself: {by_hand}",
                printable(&why)
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_dry_runs_diff_never_shows_a_secret_key() {
        let diff = "--- a\n+++ b\n [temp]\n-aws_access_key_id = AKIA…0001\n-aws_secret_access_key = wJalrXUtnFEMI\n aws_session_token = tok\n";
        let hidden = super::hide_secrets(diff);
        assert!(
            !hidden.contains("wJalr") && !hidden.contains("= tok"),
            "{hidden}"
        );
        assert!(
            hidden.contains("-aws_secret_access_key = (hidden)\n"),
            "{hidden}"
        );
        assert!(hidden.contains("-aws_access_key_id = AKIA…0001\n"));
    }
}
