//! `credential_process` profiles in `~/.aws/config`, so every AWS tool can use a role through
//! Rolecall with no credentials file.
//!
//! Rolecall writes only between its two marker lines and never touches the rest of the file.
//! A dry run shows the diff; a real run keeps a backup (`config.rolecall-backup`) and writes
//! atomically. A profile name already used outside the block is left alone and reported.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rolecall_engine::files::{Mode, write_atomic};
use rolecall_engine::partition::{Region, is_account_id, is_role_name};
use rolecall_engine::text::{has_hidden, printable};

pub const BEGIN: &str =
    "# >>> rolecall managed profiles: edit with `rolecall profiles`, not by hand >>>";
pub const END: &str = "# <<< rolecall managed profiles <<<";

/// One profile to write.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ProfileSpec {
    pub name: String,
    pub session: String,
    pub account_id: String,
    pub role: String,
    pub region: Option<String>,
}

/// A profile that got another name than its account and role give, because another role
/// gives that name too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renamed {
    pub wanted: String,
    pub given: String,
    pub session: String,
    pub account_id: String,
    pub role: String,
}

fn clean(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.@+".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if out.is_empty() { "-".into() } else { out }
}

/// `payments-prod.AdministratorAccess`: what AWS config accepts in a profile name. Every
/// character outside `A-Za-z0-9-_.@+` becomes `-`, so no name can open a section or a line.
pub fn profile_name(account_name: &str, role: &str) -> String {
    format!("{}.{}", clean(account_name), clean(role))
}

/// Gives every spec a name of its own. Identical specs are one profile. When several roles
/// would get the same name, each of them gets `.<account id>` added, then `.<session>` if
/// still shared: deterministic, whatever order the roles came in, and returned for the caller
/// to report. Two specs for one role that differ only in region are an error.
pub fn assign_names(specs: Vec<ProfileSpec>) -> Result<(Vec<ProfileSpec>, Vec<Renamed>), String> {
    let mut specs = specs;
    specs.sort();
    specs.dedup();
    let wanted: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    for round in 0..3 {
        let mut count: BTreeMap<String, usize> = BTreeMap::new();
        for s in &specs {
            *count.entry(s.name.clone()).or_default() += 1;
        }
        let shared: Vec<usize> = (0..specs.len())
            .filter(|i| count[&specs[*i].name] > 1)
            .collect();
        if shared.is_empty() {
            break;
        }
        for i in shared {
            let s = &mut specs[i];
            s.name = match round {
                0 => format!("{}.{}", s.name, s.account_id),
                1 => format!("{}.{}", s.name, clean(&s.session)),
                _ => {
                    return Err(format!(
                        "two profiles for {}/{}/{} differ only in region; ask for one",
                        printable(&s.session),
                        s.account_id,
                        s.role
                    ));
                }
            };
        }
    }
    let renamed = specs
        .iter()
        .zip(&wanted)
        .filter(|(s, w)| s.name != **w)
        .map(|(s, w)| Renamed {
            wanted: w.clone(),
            given: s.name.clone(),
            session: s.session.clone(),
            account_id: s.account_id.clone(),
            role: s.role.clone(),
        })
        .collect();
    specs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((specs, renamed))
}

/// POSIX shell quoting (botocore splits `credential_process` with shlex).
fn quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./@+:=".contains(c))
    {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// The `credential_process` command for a role: each argument checked (a 12-digit account
/// id, an IAM role name, a session name and a program path with no control or bidi
/// character) and quoted, so the line is one line and runs exactly this command.
pub fn credential_process_command(
    program: &str,
    session: &str,
    account_id: &str,
    role: &str,
) -> Result<String, String> {
    if !is_account_id(account_id) {
        return Err(format!(
            "{:?} is not a 12-digit account id",
            printable(account_id)
        ));
    }
    if !is_role_name(role) {
        return Err(format!("{:?} is not an IAM role name", printable(role)));
    }
    for (what, value) in [("session name", session), ("program path", program)] {
        if value.is_empty() || has_hidden(value) {
            return Err(format!(
                "the {what} {:?} is empty or holds a control or bidi character",
                printable(value)
            ));
        }
    }
    Ok(format!(
        "{} credential-process --session {} {} {}",
        quote(program),
        quote(session),
        quote(account_id),
        quote(role)
    ))
}

/// `credential_process = ...` for one role (the app's "Profile line").
pub fn credential_process_line(
    program: &str,
    session: &str,
    account_id: &str,
    role: &str,
) -> Result<String, String> {
    Ok(format!(
        "credential_process = {}",
        credential_process_command(program, session, account_id, role)?
    ))
}

/// The block, markers included. Fails on a spec that cannot be written safely.
pub fn render_block(profiles: &[ProfileSpec], program: &str) -> Result<String, String> {
    render_block_with(profiles, &[], program)
}

/// The block with `kept` sections (retired profiles, see [`crate::retire`]) after the
/// generated ones, as they were.
pub fn render_block_with(
    profiles: &[ProfileSpec],
    kept: &[String],
    program: &str,
) -> Result<String, String> {
    let mut out = format!("{BEGIN}\n");
    for p in profiles {
        if p.name != clean(&p.name) || p.name.is_empty() {
            return Err(format!(
                "{:?} is not a profile name Rolecall writes",
                printable(&p.name)
            ));
        }
        out.push_str(&format!("[profile {}]\n", p.name));
        out.push_str(&format!(
            "credential_process = {}\n",
            credential_process_command(program, &p.session, &p.account_id, &p.role)?
        ));
        if let Some(region) = &p.region {
            let region = Region::parse(region)?;
            out.push_str(&format!("region = {region}\n"));
        }
        out.push('\n');
    }
    for section in kept {
        out.push_str(section);
    }
    out.push_str(END);
    out.push('\n');
    Ok(out)
}

/// Profile names defined outside Rolecall's block.
pub fn foreign_profiles(text: &str) -> Vec<String> {
    let (before, after) = split(text).map(|(b, _, a)| (b, a)).unwrap_or((text, ""));
    [before, after]
        .iter()
        .flat_map(|part| part.lines())
        .filter_map(|l| {
            l.trim()
                .strip_prefix("[profile ")
                .and_then(|r| r.strip_suffix(']'))
        })
        .map(|n| n.trim().to_owned())
        .collect()
}

/// (before the block, the block, after it).
fn split(text: &str) -> Option<(&str, &str, &str)> {
    let start = text.find(BEGIN)?;
    let end_rel = text[start..].find(END)?;
    let mut end = start + end_rel + END.len();
    if text[end..].starts_with('\n') {
        end += 1;
    }
    Some((&text[..start], &text[start..end], &text[end..]))
}

/// The new file text: the block replaced, or appended when there is none yet.
pub fn apply(existing: &str, block: &str) -> Result<String, String> {
    if let Some((before, _, after)) = split(existing) {
        return Ok(format!("{before}{block}{after}"));
    }
    if existing.contains(BEGIN) || existing.contains(END) {
        return Err(
            "the AWS config file has only one of Rolecall's marker lines; fix it by hand first"
                .into(),
        );
    }
    let mut out = existing.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(block);
    Ok(out)
}

/// A unified diff for a dry run.
pub fn diff(path: &Path, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(2)
        .header(
            &path.display().to_string(),
            &format!("{} (after)", path.display()),
        )
        .to_string()
}

/// Writes the new text atomically, keeping a backup of the old file (if any). Returns the
/// backup's path.
pub fn write(path: &Path, old: Option<&str>, new: &str) -> std::io::Result<Option<PathBuf>> {
    let backup = match old {
        Some(old_text) => {
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push(".rolecall-backup");
            let backup = path.with_file_name(name);
            write_atomic(&backup, old_text.as_bytes(), Mode::Private)?;
            Some(backup)
        }
        None => None,
    };
    // Through a symbolic link (dotfile managers), keeping the file's mode.
    write_atomic(path, new.as_bytes(), Mode::KeepOrPrivate)?;
    Ok(backup)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> ProfileSpec {
        ProfileSpec {
            name: name.into(),
            session: "corp".into(),
            account_id: "111111111111".into(),
            role: "Admin".into(),
            region: Some("eu-west-1".into()),
        }
    }

    #[test]
    fn block_replaces_only_itself() {
        let original = "[default]\nregion = us-east-1\n\n[profile mine]\naws_access_key_id = x\n";
        let first = apply(
            original,
            &render_block(&[spec("a.Admin")], "/usr/bin/rolecall").expect("block"),
        )
        .expect("apply");
        assert!(first.starts_with(original));
        assert!(first.contains("credential_process = /usr/bin/rolecall credential-process --session corp 111111111111 Admin\n"));
        let with_tail = format!("{first}\n[profile after]\nregion = x\n");
        let second = apply(
            &with_tail,
            &render_block(&[spec("b.Admin")], "/opt/my tools/rolecall").expect("block"),
        )
        .expect("apply");
        assert!(second.starts_with(original));
        assert!(second.ends_with("\n[profile after]\nregion = x\n"));
        assert!(!second.contains("a.Admin"));
        assert!(
            second.contains("credential_process = '/opt/my tools/rolecall' credential-process")
        );
        assert_eq!(foreign_profiles(&second), vec!["mine", "after"]);
        assert!(
            apply(&format!("{BEGIN}\n[profile x]\n"), "block").is_err(),
            "a lone marker is not guessed at"
        );
        let d = diff(Path::new("config"), original, &first);
        assert!(d.contains("+[profile a.Admin]"));
    }

    #[test]
    fn a_name_with_a_newline_cannot_inject_a_profile() {
        let hostile = "Admin\n[profile default]\ncredential_process = sh -c 'touch /tmp/pwned'";
        assert!(!profile_name("acct\n[profile default]", hostile).contains('\n'));
        let mut bad = spec("a.Admin");
        bad.role = hostile.into();
        assert!(
            render_block(&[bad], "/usr/bin/rolecall").is_err(),
            "refused"
        );
        let mut bad = spec("a.Admin");
        bad.session = "corp\n[profile default]".into();
        assert!(
            render_block(&[bad], "/usr/bin/rolecall").is_err(),
            "refused"
        );
        assert!(credential_process_line("rolecall", "x", "111111111111", "a b").is_err());
    }

    #[test]
    fn a_session_name_with_a_space_is_quoted() {
        assert_eq!(
            credential_process_line("rolecall", "my corp", "111111111111", "Admin").expect("line"),
            "credential_process = rolecall credential-process --session 'my corp' 111111111111 Admin"
        );
        assert_eq!(
            credential_process_line("rolecall", "it's", "111111111111", "Admin").expect("line"),
            "credential_process = rolecall credential-process --session 'it'\\''s' 111111111111 Admin"
        );
    }

    #[test]
    fn roles_that_map_to_one_profile_name_get_reported_suffixes() {
        let role = |account: &str, id: &str, role: &str| ProfileSpec {
            name: profile_name(account, role),
            session: "corp".into(),
            account_id: id.into(),
            role: role.into(),
            region: None,
        };
        let specs = vec![
            role("R&D", "222222222222", "Admin"),
            role("R-D", "111111111111", "Admin"),
            role("R D", "333333333333", "Admin"),
            role("ops", "444444444444", "Admin"),
            role("ops", "444444444444", "Admin"),
        ];
        let mut reversed = specs.clone();
        reversed.reverse();
        let (named, renamed) = assign_names(specs).expect("named");
        assert_eq!(
            (named.clone(), renamed.clone()),
            assign_names(reversed).expect("named"),
            "the same whatever the order"
        );
        let names: Vec<&str> = named.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "R-D.Admin.111111111111",
                "R-D.Admin.222222222222",
                "R-D.Admin.333333333333",
                "ops.Admin"
            ]
        );
        assert_eq!(renamed.len(), 3, "every renamed profile is reported");
        assert!(renamed.iter().all(|r| r.wanted == "R-D.Admin"));
    }

    #[test]
    fn names() {
        assert_eq!(
            profile_name("payments prod", "Admin/Role"),
            "payments-prod.Admin-Role"
        );
    }
}
