//! Shell completions (bash, zsh, fish) and manual pages, both from the same clap definitions.
//!
//! Completions are dynamic: the shell asks `rolecall` itself (`COMPLETE=<shell> rolecall --
//! <words>`), so session, account and role names come from the config and the cached
//! catalogue as they are now. Completing never signs in, never calls AWS, never writes.

use std::collections::BTreeSet;
use std::ffi::OsStr;

use clap_complete::engine::CompletionCandidate;
use rolecall_engine::catalog_cache::CatalogCache;
use rolecall_engine::config::{Config, ConfigFile};
use rolecall_engine::files::Dirs;

/// What completion reads: the config (as it is; a broken one completes nothing) and the
/// cached catalogues of its sessions.
fn known() -> Option<(Config, Vec<rolecall_engine::catalog::Catalog>)> {
    let dirs = Dirs::from_env();
    let config = ConfigFile::in_dir(&dirs.config).load().ok()?;
    let cache = CatalogCache::new(&dirs.cache);
    let catalogs = config
        .sessions
        .iter()
        .filter_map(|s| cache.load(&s.name, &s.start_url))
        .collect();
    Some((config, catalogs))
}

/// Only names a shell can take as one word without surprises are offered.
fn offerable(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._+=,@:-".contains(c))
}

fn candidates(current: &OsStr, names: BTreeSet<String>) -> Vec<CompletionCandidate> {
    let prefix = current.to_string_lossy().to_lowercase();
    names
        .into_iter()
        .filter(|n| offerable(n) && n.to_lowercase().starts_with(&prefix))
        .map(CompletionCandidate::new)
        .collect()
}

pub fn sessions(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some((config, _)) = known() else {
        return Vec::new();
    };
    candidates(
        current,
        config.sessions.into_iter().map(|s| s.name).collect(),
    )
}

pub fn accounts(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some((config, catalogs)) = known() else {
        return Vec::new();
    };
    let mut names: BTreeSet<String> = catalogs
        .iter()
        .flat_map(|c| c.accounts.iter().map(|a| a.account.account_name.clone()))
        .collect();
    names.extend(config.aliases.values().cloned());
    // Ids only once something is typed that can start one.
    if current
        .to_string_lossy()
        .starts_with(|c: char| c.is_ascii_digit())
    {
        names.extend(
            catalogs
                .iter()
                .flat_map(|c| c.accounts.iter().map(|a| a.account.account_id.clone())),
        );
    }
    candidates(current, names)
}

/// The roles of the account already on the command line (by name, id or alias), or of
/// every account when none is.
pub fn roles(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some((config, catalogs)) = known() else {
        return Vec::new();
    };
    let words: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let named = |id: &str, name: &str| {
        words.iter().any(|w| {
            w == id
                || w.eq_ignore_ascii_case(name)
                || config.aliases.get(id).is_some_and(|a| a == w)
        })
    };
    let accounts: Vec<_> = catalogs.iter().flat_map(|c| c.accounts.iter()).collect();
    let chosen: Vec<_> = accounts
        .iter()
        .filter(|a| named(&a.account.account_id, &a.account.account_name))
        .collect();
    let from = if chosen.is_empty() {
        accounts.iter().collect()
    } else {
        chosen
    };
    let mut names: BTreeSet<String> = BTreeSet::new();
    for a in from {
        names.extend(a.roles.iter().cloned());
        names.extend(
            config
                .chains
                .iter()
                .filter(|c| c.account_id == a.account.account_id && a.roles.contains(&c.role))
                .map(|c| c.name.clone()),
        );
    }
    candidates(current, names)
}

/// Writes a manual page for `rolecall` and one for each subcommand into `dir`.
pub fn write_man_pages(command: clap::Command, dir: &std::path::Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let mut written = 0;
    let mut pages = vec![(command.get_name().to_owned(), command.clone())];
    for sub in command.get_subcommands() {
        if sub.is_hide_set() {
            continue;
        }
        // clap names are `&'static str`: this command runs once and exits.
        let name: &'static str =
            Box::leak(format!("{}-{}", command.get_name(), sub.get_name()).into_boxed_str());
        pages.push((name.to_owned(), sub.clone().name(name)));
    }
    for (name, cmd) in pages {
        let mut text = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut text)?;
        std::fs::write(dir.join(format!("{name}.1")), text)?;
        written += 1;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_offers_only_names_a_shell_takes_as_one_word() {
        let names: BTreeSet<String> = [
            "payments-prod",
            "payments prod",
            "pay$(reboot)",
            "pay\u{1b}[2J",
            "payments.dev",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        let got: Vec<String> = candidates(OsStr::new("Pay"), names)
            .into_iter()
            .map(|c| c.get_value().to_string_lossy().into_owned())
            .collect();
        assert_eq!(got, ["payments-prod", "payments.dev"]);
    }
}
