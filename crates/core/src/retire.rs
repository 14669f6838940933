//! Retiring a long-term access key from a profile, as text edits of the person's AWS files:
//! the profile of the same name becomes a `credential_process` profile in Rolecall's block of
//! `~/.aws/config` (so `aws --profile NAME` and every SDK keep working), and the key's lines go
//! from `~/.aws/credentials`. Every other line, comment and profile of both files stays as it
//! was. A plan is computed first and written only as a whole (see `rolecall retire`).

use std::collections::BTreeMap;

use crate::profiles::{BEGIN, END, credential_process_command};
use rolecall_engine::audit::{is_long_term, mask, source_profiles, users_of};

/// Settings that give a profile its credentials: a profile holding one of these besides a
/// static key is not retired automatically (which of them a tool uses depends on the tool).
const CREDENTIAL_SOURCES: [&str; 8] = [
    "credential_process",
    "role_arn",
    "source_profile",
    "credential_source",
    "sso_session",
    "sso_start_url",
    "web_identity_token_file",
    "login_session",
];
/// The static key's own settings, which are removed.
const STATIC_KEY: [&str; 3] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
];

/// The comment that marks a retired profile's section in Rolecall's block; `rolecall profiles`
/// keeps such sections when it rewrites the block.
pub const RETIRED_MARK: &str = "# retired long-term key ";

/// One `[...]` section of an INI-style text: header line index, the lines up to the next
/// header (exclusive), and the profile it names.
#[derive(Debug, Clone)]
struct Section {
    header: usize,
    end: usize,
    profile: String,
}

fn setting(line: &str) -> Option<(String, String)> {
    let line = line.trim();
    if line.starts_with('#') || line.starts_with(';') {
        return None;
    }
    let (k, v) = line.split_once('=')?;
    Some((k.trim().to_ascii_lowercase(), v.trim().to_owned()))
}

/// The sections of `lines`, `in_config` naming `[profile x]` as `x` (a credentials file's
/// `[x]` is `x` too).
fn sections(lines: &[&str], range: std::ops::Range<usize>) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    for i in range.clone() {
        let t = lines[i].trim();
        if t.starts_with('[') && t.ends_with(']') {
            if let Some(last) = out.last_mut() {
                last.end = i;
            }
            let inner = t[1..t.len() - 1].trim();
            let profile = inner
                .strip_prefix("profile ")
                .map_or(inner, str::trim)
                .to_owned();
            out.push(Section {
                header: i,
                end: range.end,
                profile,
            });
        }
    }
    out
}

/// The line range of Rolecall's block (markers included), if the text has one.
fn block_range(lines: &[&str]) -> Option<(usize, usize)> {
    let start = lines.iter().position(|l| l.trim_end() == BEGIN)?;
    let end = start + lines[start..].iter().position(|l| l.trim_end() == END)?;
    Some((start, end))
}

/// Where a profile's static key was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticKey {
    /// The whole key id (`AKIA...`), for STS and IAM; shown masked.
    pub key_id: String,
    /// In the credentials file (else in the config file).
    pub in_credentials: bool,
}

/// What retiring a profile changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub key: StaticKey,
    pub config: String,
    /// None when the credentials file does not change.
    pub credentials: Option<String>,
    /// Other profiles that take their credentials from this one (`source_profile`): they keep
    /// working, now from the role's temporary credentials, if their roles trust that role.
    pub dependents: Vec<String>,
    /// Settings carried from the profile's old section into its new one (`region`, `output`).
    pub carried: Vec<String>,
}

/// The role the retired profile gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target<'a> {
    pub program: &'a str,
    pub session: &'a str,
    pub account_id: &'a str,
    pub role: &'a str,
    /// `YYYY-MM-DD`, written into the marker comment.
    pub date: &'a str,
}

/// The long-term key `profile` uses: the credentials file's `[profile]` first (it wins in every
/// AWS tool), then the config file's `[profile profile]`.
pub fn static_key(profile: &str, config: &str, credentials: &str) -> Result<StaticKey, String> {
    let lookup = |text: &str, in_credentials: bool| -> Result<Option<StaticKey>, String> {
        let lines: Vec<&str> = text.lines().collect();
        let outside = block_range(&lines);
        for s in sections(&lines, 0..lines.len()) {
            if s.profile != profile || outside.is_some_and(|(a, b)| s.header > a && s.header < b) {
                continue;
            }
            for line in &lines[s.header + 1..s.end] {
                if let Some((k, v)) = setting(line)
                    && k == "aws_access_key_id"
                {
                    let v = v.trim_matches(|c| c == '"' || c == '\'').to_owned();
                    if !is_long_term(&v) {
                        return Err(format!(
                            "profile {profile}'s access key {} is not a long-term key (AKIA...): nothing to retire",
                            mask(&v)
                        ));
                    }
                    return Ok(Some(StaticKey {
                        key_id: v,
                        in_credentials,
                    }));
                }
            }
        }
        Ok(None)
    };
    if let Some(k) = lookup(credentials, true)? {
        return Ok(k);
    }
    if let Some(k) = lookup(config, false)? {
        return Ok(k);
    }
    Err(format!(
        "profile {profile} has no long-term access key in the AWS credentials or config file"
    ))
}

/// The credentials text without `profile`'s key lines; its header goes too when nothing but
/// comments would be left under it.
fn without_key(text: &str, profile: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut drop = vec![false; lines.len()];
    for s in sections(&lines, 0..lines.len()) {
        if s.profile != profile {
            continue;
        }
        let mut kept_settings = 0;
        for (line, dropped) in lines[s.header + 1..s.end]
            .iter()
            .zip(&mut drop[s.header + 1..s.end])
        {
            match setting(line) {
                Some((k, _)) if STATIC_KEY.contains(&k.as_str()) => *dropped = true,
                Some(_) => kept_settings += 1,
                None => {}
            }
        }
        if kept_settings == 0 {
            drop[s.header] = true;
        }
    }
    let mut out: String = lines
        .iter()
        .zip(&drop)
        .filter(|(_, d)| !**d)
        .map(|(l, _)| format!("{l}\n"))
        .collect();
    if !text.ends_with('\n') && out.ends_with('\n') && !text.is_empty() {
        out.pop();
    }
    out
}

/// The plan for `profile`: its new section in Rolecall's block (any section of that name
/// outside the block moved into it, its settings but the key kept), the key's lines gone.
pub fn plan(
    profile: &str,
    target: &Target<'_>,
    config: &str,
    credentials: &str,
) -> Result<Plan, String> {
    if profile.is_empty() || profile.contains([']', '[', '\n', '\r']) || profile.trim() != profile {
        return Err(format!("{profile:?} is not a profile name Rolecall writes"));
    }
    rolecall_engine::aws_config::check_parses("the AWS config file", config)?;
    rolecall_engine::aws_config::check_parses("the AWS credentials file", credentials)?;
    let key = static_key(profile, config, credentials)?;
    let lines: Vec<&str> = config.lines().collect();
    let block = block_range(&lines);
    let in_block = |i: usize| block.is_some_and(|(a, b)| i >= a && i <= b);
    let mut drop = vec![false; lines.len()];
    let mut carried: Vec<String> = Vec::new();
    for s in sections(&lines, 0..lines.len()) {
        if s.profile != profile || in_block(s.header) {
            continue;
        }
        for (i, line) in lines.iter().enumerate().take(s.end).skip(s.header + 1) {
            if in_block(i) {
                break;
            }
            if let Some((k, _)) = setting(line)
                && CREDENTIAL_SOURCES.contains(&k.as_str())
            {
                return Err(format!(
                    "profile {profile} also sets {k} in the AWS config file, so its credentials do not come from its key alone: change it by hand"
                ));
            }
        }
        // The section moves: its header and lines, up to the next section or the block.
        let mut last = s.end;
        while last > s.header + 1 && lines[last - 1].trim().is_empty() {
            last -= 1;
        }
        // Blank lines after it go with it, so none pile up where it was.
        let mut gone = s.end;
        while gone > last && in_block(gone - 1) {
            gone -= 1;
        }
        drop[last..gone].fill(true);
        for i in s.header..last {
            if in_block(i) {
                break;
            }
            drop[i] = true;
            if i == s.header {
                continue;
            }
            match setting(lines[i]) {
                Some((k, _)) if STATIC_KEY.contains(&k.as_str()) => {}
                Some(_) => carried.push(lines[i].trim().to_owned()),
                None if lines[i].trim().is_empty() => {}
                None => carried.push(lines[i].trim().to_owned()),
            }
        }
    }
    let command = credential_process_command(
        target.program,
        target.session,
        target.account_id,
        target.role,
    )?;
    let header = if profile == "default" {
        "[default]".to_owned()
    } else {
        format!("[profile {profile}]")
    };
    let mut section = format!(
        "{RETIRED_MARK}{} on {} (`rolecall retire`): temporary credentials from IAM Identity Center now\n{header}\ncredential_process = {command}\n",
        mask(&key.key_id),
        target.date
    );
    for line in &carried {
        section.push_str(line);
        section.push('\n');
    }
    section.push('\n');

    // The config without the moved section; then the block rebuilt with the new section (a
    // section of the same name already in the block is replaced).
    let kept: Vec<&str> = lines
        .iter()
        .zip(&drop)
        .filter(|(_, d)| !**d)
        .map(|(l, _)| *l)
        .collect();
    let mut text: String = kept.iter().map(|l| format!("{l}\n")).collect();
    let mut sections_in_block = block_sections(&text);
    sections_in_block.retain(|(name, _)| name != profile);
    sections_in_block.push((profile.to_owned(), section));
    let inner: String = sections_in_block.into_iter().map(|(_, s)| s).collect();
    let new_block = format!("{BEGIN}\n{inner}{END}\n");
    text = crate::profiles::apply(&text, &new_block)?;

    let edges = source_profiles(config);
    let dependents: Vec<String> = users_of(profile, &edges)
        .into_iter()
        .filter(|p| p != profile)
        .collect();
    let new_credentials = key
        .in_credentials
        .then(|| without_key(credentials, profile))
        .filter(|c| c != credentials);
    Ok(Plan {
        key,
        config: text,
        credentials: new_credentials,
        dependents,
        carried,
    })
}

/// The sections inside Rolecall's block, each with its text (a retired section with its marker
/// comment), in order.
pub fn block_sections(text: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let Some((start, end)) = block_range(&lines) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = Vec::new();
    let mut i = start + 1;
    while i < end {
        let t = lines[i].trim();
        let starts =
            t.starts_with(RETIRED_MARK.trim_end()) || (t.starts_with('[') && t.ends_with(']'));
        if !starts {
            i += 1;
            continue;
        }
        let first = i;
        let mut j = i + 1;
        if t.starts_with('#') {
            // The marker, then its header.
            j += 1;
        }
        while j < end {
            let n = lines[j].trim();
            if n.starts_with(RETIRED_MARK.trim_end()) || (n.starts_with('[') && n.ends_with(']')) {
                break;
            }
            j += 1;
        }
        let body: String = lines[first..j].iter().map(|l| format!("{l}\n")).collect();
        let header = lines[first..j]
            .iter()
            .map(|l| l.trim())
            .find(|l| l.starts_with('['))
            .unwrap_or_default();
        let inner = header.trim_start_matches('[').trim_end_matches(']').trim();
        let name = inner
            .strip_prefix("profile ")
            .map_or(inner, str::trim)
            .to_owned();
        let mut body = body.trim_end().to_owned();
        body.push_str("\n\n");
        out.push((name, body));
        i = j;
    }
    out
}

/// The retired sections of the block (kept by `rolecall profiles` when it rewrites the block),
/// by profile name.
pub fn retired_sections(text: &str) -> BTreeMap<String, String> {
    block_sections(text)
        .into_iter()
        .filter(|(_, s)| s.starts_with(RETIRED_MARK.trim_end()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROGRAM: &str = "/usr/bin/rolecall";

    fn target() -> Target<'static> {
        Target {
            program: PROGRAM,
            session: "corp",
            account_id: "111111111111",
            role: "ReadOnlyAccess",
            date: "2026-12-07",
        }
    }

    const CREDENTIALS: &str = "# my keys\n[default]\naws_access_key_id = AKIADEFAULT000000001\naws_secret_access_key = s1\n\n[legacy]\n# the CI user\naws_access_key_id = AKIALEGACY0000000001\naws_secret_access_key = s2\n\n[temp]\naws_access_key_id = ASIATEMP000000000001\naws_secret_access_key = s3\naws_session_token = t\n";

    const CONFIG: &str = "[default]\nregion = us-east-1\n\n[profile legacy]\nregion = eu-west-1\noutput = json\n\n[profile deploy]\nrole_arn = arn:aws:iam::111111111111:role/Deploy\nsource_profile = legacy\n";

    #[test]
    fn retiring_keeps_every_other_line_and_moves_the_profile_into_the_block() {
        let plan = plan("legacy", &target(), CONFIG, CREDENTIALS).expect("plan");
        assert_eq!(plan.key.key_id, "AKIALEGACY0000000001");
        let credentials = plan.credentials.expect("credentials change");
        assert_eq!(
            credentials,
            "# my keys\n[default]\naws_access_key_id = AKIADEFAULT000000001\naws_secret_access_key = s1\n\n[legacy]\n# the CI user\n\n[temp]\naws_access_key_id = ASIATEMP000000000001\naws_secret_access_key = s3\naws_session_token = t\n"
                .replace("[legacy]\n# the CI user\n", "# the CI user\n")
        );
        assert!(
            plan.config
                .starts_with("[default]\nregion = us-east-1\n\n[profile deploy]\nrole_arn"),
            "{}",
            plan.config
        );
        assert!(plan.config.contains(&format!(
            "{RETIRED_MARK}AKIA…0001 on 2026-12-07 (`rolecall retire`): temporary credentials from IAM Identity Center now\n[profile legacy]\ncredential_process = /usr/bin/rolecall credential-process --session corp 111111111111 ReadOnlyAccess\nregion = eu-west-1\noutput = json\n"
        )), "{}", plan.config);
        assert_eq!(plan.config.matches("[profile legacy]").count(), 1);
        assert_eq!(plan.carried, vec!["region = eu-west-1", "output = json"]);
        assert_eq!(plan.dependents, vec!["deploy"]);
    }

    #[test]
    fn a_retired_profile_survives_a_rewrite_of_the_block_and_a_second_retire() {
        let first = plan("legacy", &target(), CONFIG, CREDENTIALS).expect("plan");
        let retired = retired_sections(&first.config);
        assert_eq!(retired.keys().collect::<Vec<_>>(), vec!["legacy"]);
        let second = plan(
            "default",
            &target(),
            &first.config,
            first.credentials.as_deref().unwrap_or(CREDENTIALS),
        )
        .expect("plan default");
        let names: Vec<String> = block_sections(&second.config)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(names, vec!["legacy", "default"]);
        assert!(second.config.contains("[default]\ncredential_process"));
        assert!(!second.credentials.expect("changed").contains("AKIA"));
    }

    #[test]
    fn what_cannot_be_retired_says_why() {
        let no_key = plan("nobody", &target(), CONFIG, CREDENTIALS).expect_err("refused");
        assert!(no_key.contains("no long-term access key"), "{no_key}");
        let temp = plan("temp", &target(), CONFIG, CREDENTIALS).expect_err("refused");
        assert!(temp.contains("not a long-term key"), "{temp}");
        let mixed_config = format!("{CONFIG}\n[profile legacy2]\nsso_session = corp\n");
        let mixed_creds =
            format!("{CREDENTIALS}\n[legacy2]\naws_access_key_id = AKIALEGACY0000000002\n");
        let mixed = plan("legacy2", &target(), &mixed_config, &mixed_creds).expect_err("refused");
        assert!(mixed.contains("sso_session"), "{mixed}");
        let bad_role = Target {
            role: "not a role",
            ..target()
        };
        assert!(plan("legacy", &bad_role, CONFIG, CREDENTIALS).is_err());
    }

    #[test]
    fn a_key_in_the_config_file_goes_with_its_section() {
        let config = "[profile cfgkey]\naws_access_key_id = AKIACONFIG0000000001\naws_secret_access_key = s\nregion = eu-north-1\n";
        let plan = plan("cfgkey", &target(), config, "").expect("plan");
        assert!(!plan.key.in_credentials);
        assert_eq!(plan.credentials, None);
        assert!(
            !plan.config.contains("AKIACONFIG0000000001"),
            "{}",
            plan.config
        );
        assert!(plan.config.contains("region = eu-north-1"));
    }
}
