//! Reading `~/.aws/config`: the `sso-session` sections (and legacy profiles that carry
//! `sso_start_url` themselves) become Rolecall sessions. This module only reads; writing
//! profiles is the companion CLI's job, inside a marked block.

use std::path::{Path, PathBuf};

use crate::partition::Region;
use crate::session::{Endpoints, SsoSession, validate_start_url};

/// `AWS_CONFIG_FILE`, else `~/.aws/config`.
pub fn default_path(env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(p) = env("AWS_CONFIG_FILE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    directories::BaseDirs::new().map(|d| d.home_dir().join(".aws").join("config"))
}

/// An sso-session found in the file, or why one was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Session(SsoSession),
    Skipped { section: String, reason: String },
}

/// Whether `text` parses as the INI the AWS tools read (`what` names it in the sentence).
pub fn check_parses(what: &str, text: &str) -> Result<(), String> {
    ini::Ini::load_from_str(text)
        .map(|_| ())
        .map_err(|e| format!("{what} does not parse ({e}): fix it first"))
}

/// Parses the text of an AWS config file.
pub fn sso_sessions(text: &str) -> Result<Vec<Found>, String> {
    let ini = ini::Ini::load_from_str(text)
        .map_err(|e| format!("the AWS config file does not parse: {e}"))?;
    let mut found = Vec::new();
    let mut seen_urls = std::collections::HashSet::new();
    for (section, props) in ini.iter() {
        let Some(section) = section else { continue };
        let name = if let Some(n) = section.strip_prefix("sso-session ") {
            n.trim().to_owned()
        } else if let Some(p) = section.strip_prefix("profile ") {
            // Legacy form: the profile holds the start URL itself.
            if props.get("sso_session").is_some() || props.get("sso_start_url").is_none() {
                continue;
            }
            p.trim().to_owned()
        } else if section == "default"
            && props.get("sso_start_url").is_some()
            && props.get("sso_session").is_none()
        {
            "default".to_owned()
        } else {
            continue;
        };
        let (Some(url), Some(region)) = (props.get("sso_start_url"), props.get("sso_region"))
        else {
            found.push(Found::Skipped {
                section: section.to_owned(),
                reason: "needs sso_start_url and sso_region".into(),
            });
            continue;
        };
        // FIPS and dual-stack: set on the section itself, or on a profile that uses the
        // sso-session (where the AWS CLI reads them).
        let setting = |key: &str| -> Option<bool> {
            let own = props.get(key);
            let from_profile = || {
                ini.iter()
                    .filter(|(_, p)| p.get("sso_session").map(str::trim) == Some(name.as_str()))
                    .find_map(|(_, p)| p.get(key))
            };
            match own
                .or_else(from_profile)?
                .trim()
                .to_ascii_lowercase()
                .as_str()
            {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            }
        };
        match validate_start_url(url).and_then(|u| Ok((u, Region::parse(region.trim())?))) {
            Ok((start_url, region)) => {
                if seen_urls.insert((start_url.clone(), region.to_string())) {
                    found.push(Found::Session(SsoSession {
                        start_url,
                        region,
                        endpoints: Endpoints::default(),
                        session_duration_seconds: None,
                        use_fips_endpoint: setting("use_fips_endpoint"),
                        use_dualstack_endpoint: setting("use_dualstack_endpoint"),
                        name,
                    }));
                }
            }
            Err(reason) => found.push(Found::Skipped {
                section: section.to_owned(),
                reason,
            }),
        }
    }
    Ok(found)
}

/// The AWS config and credentials files are small; a larger one is not read.
pub const MAX_AWS_CONFIG: u64 = 4 * 1024 * 1024;

/// Reads and parses a file (a regular file only); a missing file finds nothing.
pub fn read_sso_sessions(path: &Path) -> Result<Vec<Found>, String> {
    match crate::files::read_regular_text(path, MAX_AWS_CONFIG) {
        Ok(Some(text)) => sso_sessions(&text),
        Ok(None) => Ok(Vec::new()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fips_and_dual_stack_come_from_the_section_or_its_profiles() {
        let text = "
[sso-session gov]
sso_start_url = https://start.us-gov-home.awsapps.com/directory/d-1
sso_region = us-gov-west-1
use_dualstack_endpoint = true

[profile gov-admin]
sso_session = gov
use_fips_endpoint = true
";
        let found = sso_sessions(text).expect("parses");
        let Some(Found::Session(s)) = found.first() else {
            panic!("{found:?}");
        };
        assert_eq!(s.use_fips_endpoint, Some(true));
        assert_eq!(s.use_dualstack_endpoint, Some(true));
    }

    #[test]
    fn finds_sso_sessions_and_legacy_profiles() {
        let text = "
[default]
region = eu-west-1

[sso-session corp]
sso_start_url = https://d-1234567890.awsapps.com/start
sso_region = eu-west-1
sso_registration_scopes = sso:account:access

[profile dev]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Developer

[profile old]
sso_start_url = https://d-9999999999.awsapps.com/start#/
sso_region = us-east-1
sso_account_id = 1
sso_role_name = R

[sso-session broken]
sso_start_url = not a url
sso_region = eu-west-1

[sso-session half]
sso_region = eu-west-1
";
        let found = sso_sessions(text).expect("parses");
        let sessions: Vec<_> = found
            .iter()
            .filter_map(|f| {
                if let Found::Session(s) = f {
                    Some(s)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(sessions.len(), 2);
        assert_eq!(sessions[0].name, "corp");
        assert_eq!(sessions[1].name, "old");
        assert_eq!(
            sessions[1].start_url,
            "https://d-9999999999.awsapps.com/start"
        );
        assert_eq!(
            found
                .iter()
                .filter(|f| matches!(f, Found::Skipped { .. }))
                .count(),
            2
        );
    }
}
