//! `credential_process` profiles in `~/.aws/config`, so every AWS tool can use a role through
//! Rolecall with no credentials file.
//!
//! Rolecall writes only between its two marker lines and never touches the rest of the file.
//! A dry run shows the diff; a real run keeps a backup (`config.rolecall-backup`) and writes
//! atomically. A profile name already used outside the block is left alone and reported.

use std::path::{Path, PathBuf};

use rolecall_engine::files::write_atomic;

pub const BEGIN: &str =
    "# >>> rolecall managed profiles: edit with `rolecall profiles`, not by hand >>>";
pub const END: &str = "# <<< rolecall managed profiles <<<";

/// One profile to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileSpec {
    pub name: String,
    pub session: String,
    pub account_id: String,
    pub role: String,
    pub region: Option<String>,
}

/// `payments-prod.AdministratorAccess`: what AWS config accepts in a profile name.
pub fn profile_name(account_name: &str, role: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.@+".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    format!("{}.{}", clean(account_name), clean(role))
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

/// The block, markers included.
pub fn render_block(profiles: &[ProfileSpec], program: &str) -> String {
    let mut out = format!("{BEGIN}\n");
    for p in profiles {
        out.push_str(&format!("[profile {}]\n", p.name));
        out.push_str(&format!(
            "credential_process = {} credential-process --session {} {} {}\n",
            quote(program),
            quote(&p.session),
            quote(&p.account_id),
            quote(&p.role)
        ));
        if let Some(region) = &p.region {
            out.push_str(&format!("region = {region}\n"));
        }
        out.push('\n');
    }
    out.push_str(END);
    out.push('\n');
    out
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
            write_atomic(&backup, old_text.as_bytes(), true)?;
            Some(backup)
        }
        None => None,
    };
    write_atomic(path, new.as_bytes(), true)?;
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
            &render_block(&[spec("a.Admin")], "/usr/bin/rolecall"),
        )
        .expect("apply");
        assert!(first.starts_with(original));
        assert!(first.contains("credential_process = /usr/bin/rolecall credential-process --session corp 111111111111 Admin\n"));
        let with_tail = format!("{first}\n[profile after]\nregion = x\n");
        let second = apply(
            &with_tail,
            &render_block(&[spec("b.Admin")], "/opt/my tools/rolecall"),
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
    fn names() {
        assert_eq!(
            profile_name("payments prod", "Admin/Role"),
            "payments-prod.Admin-Role"
        );
    }
}
