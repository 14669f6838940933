//! The long-term key audit: long-term IAM user access keys (`AKIA...`) are what SEC02-BP02 asks
//! to get rid of. This finds them in `~/.aws/credentials`, `~/.aws/config` and the environment,
//! says where each one is and what to do instead. It never prints a secret: key ids are shown
//! masked and secret keys are not read into the report at all.

use std::path::Path;

/// Where a long-term key was found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// A file path, or `environment`.
    pub location: String,
    /// The profile (section) in a file, or the variable name.
    pub place: String,
    pub line: Option<usize>,
    /// `AKIA…WXYZ`.
    pub key_id: String,
    /// Whether a secret access key sits beside it.
    pub with_secret: bool,
}

impl Finding {
    pub fn advice(&self) -> String {
        let at = match self.line {
            Some(l) => format!("{}:{l} [{}]", self.location, self.place),
            None => format!("{} ({})", self.location, self.place),
        };
        format!(
            "long-term access key {} in {at}. Use an IAM Identity Center session instead (`rolecall session add` or `rolecall session import`), then deactivate and delete this key in IAM.",
            self.key_id
        )
    }
}

/// `AKIAIOSFODNN7EXAMPLE` -> `AKIA…MPLE`.
pub fn mask(key_id: &str) -> String {
    let chars: Vec<char> = key_id.chars().collect();
    if chars.len() <= 8 {
        return "AKIA…".into();
    }
    format!(
        "{}…{}",
        chars[..4].iter().collect::<String>(),
        chars[chars.len() - 4..].iter().collect::<String>()
    )
}

fn is_long_term(value: &str) -> bool {
    let v = value.trim();
    v.len() >= 16
        && v.starts_with("AKIA")
        && v.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Scans the text of an AWS shared config or credentials file.
pub fn scan_file_text(location: &str, text: &str) -> Vec<Finding> {
    let mut findings: Vec<Finding> = Vec::new();
    let mut section = String::from("(top)");
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('[') && line.ends_with(']') {
            section = line[1..line.len() - 1].trim().to_owned();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        if key == "aws_access_key_id" && is_long_term(value) {
            findings.push(Finding {
                location: location.to_owned(),
                place: section.clone(),
                line: Some(i + 1),
                key_id: mask(value.trim()),
                with_secret: false,
            });
        } else if key == "aws_secret_access_key"
            && let Some(f) = findings.iter_mut().rev().find(|f| f.place == section)
        {
            f.with_secret = true;
        }
    }
    findings
}

/// Scans the two AWS files (missing ones are fine) and the environment.
pub fn audit(
    config: Option<&Path>,
    credentials: Option<&Path>,
    env: &[(String, String)],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for path in [credentials, config].into_iter().flatten() {
        if let Ok(Some(text)) =
            crate::files::read_regular_text(path, crate::aws_config::MAX_AWS_CONFIG)
        {
            findings.extend(scan_file_text(&path.display().to_string(), &text));
        }
    }
    for (name, value) in env {
        if name == "AWS_ACCESS_KEY_ID" && is_long_term(value) {
            findings.push(Finding {
                location: "environment".into(),
                place: name.clone(),
                line: None,
                key_id: mask(value),
                with_secret: env.iter().any(|(n, _)| n == "AWS_SECRET_ACCESS_KEY"),
            });
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_long_term_keys_and_never_the_secret() {
        let text = "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n\n[temp]\naws_access_key_id = ASIAIOSFODNN7EXAMPLE\n";
        let found = scan_file_text("/home/a/.aws/credentials", text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].key_id, "AKIA…MPLE");
        assert_eq!(found[0].line, Some(2));
        assert!(found[0].with_secret);
        let advice = found[0].advice();
        assert!(advice.contains("/home/a/.aws/credentials:2 [default]"));
        assert!(!advice.contains("wJalr") && !advice.contains("AKIAIOSFODNN7EXAMPLE"));

        let env = vec![(
            "AWS_ACCESS_KEY_ID".to_owned(),
            "AKIAIOSFODNN7EXAMPLE".to_owned(),
        )];
        let found = audit(None, None, &env);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].location, "environment");
        assert!(!found[0].with_secret);
    }
}
