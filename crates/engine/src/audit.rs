//! The long-term key audit: long-term IAM user access keys (`AKIA...`) are what SEC02-BP02 asks
//! to get rid of. This finds them in `~/.aws/credentials` and `~/.aws/config`, the environment,
//! shell histories (bash, zsh, fish) and, when asked, every text file under a folder (a
//! repository's `.env`, `*.tf`, scripts...), and says where each one is and which profiles use
//! it. It never reports a secret: key ids are shown masked, and secret keys are not kept (a
//! line is only looked at for the key id's pattern).
//!
//! Bounded: a folder walk reads at most [`MAX_FILES`] files of at most [`MAX_FILE`] bytes
//! each, never follows a symbolic link (so never leaves the tree), skips `.git` (the history
//! of a repository is its objects, which are not read) and files that are not text.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The most files one folder walk reads.
pub const MAX_FILES: usize = 20_000;
/// The largest file a folder walk or a history read looks at.
pub const MAX_FILE: u64 = 1 << 20;
/// Shell histories can be long; the most of one that is read.
pub const MAX_HISTORY: u64 = 16 << 20;

/// What kind of place a key was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// `~/.aws/credentials` or `~/.aws/config`.
    AwsFile,
    Environment,
    ShellHistory,
    /// A file under a `--path` folder.
    File,
}

/// Where a long-term key was found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub source: Source,
    /// A file path, or `environment`.
    pub location: String,
    /// The profile in an AWS file (`default`, `legacy`), the variable's name, or empty.
    pub place: String,
    pub line: Option<usize>,
    /// `AKIA…WXYZ`.
    pub key_id: String,
    /// The whole key id, to ask STS which account it is of; never printed or serialised
    /// (a key id is not a secret, but the report shows it masked, as IAM's console does).
    #[serde(skip)]
    pub full_key_id: String,
    /// Whether a secret access key sits beside it (same profile, or the environment).
    pub with_secret: bool,
    /// The profiles whose credentials are this key: its own, and every profile that reaches it
    /// through `source_profile`.
    pub profiles: Vec<String>,
    /// The account it belongs to (STS `GetAccessKeyInfo`), when a session could ask.
    pub account_id: Option<String>,
    /// That account's name in the role catalogue.
    pub account_name: Option<String>,
}

impl Finding {
    fn new(source: Source, location: &str, place: &str, line: Option<usize>, key: &str) -> Self {
        Self {
            source,
            location: location.to_owned(),
            place: place.to_owned(),
            line,
            key_id: mask(key),
            full_key_id: key.to_owned(),
            with_secret: false,
            profiles: Vec::new(),
            account_id: None,
            account_name: None,
        }
    }

    /// `file:line [profile]`, `environment (AWS_ACCESS_KEY_ID)` or `file:line`.
    pub fn where_(&self) -> String {
        match (self.line, self.place.is_empty()) {
            (Some(l), false) => format!("{}:{l} [{}]", self.location, self.place),
            (Some(l), true) => format!("{}:{l}", self.location),
            (None, _) => format!("{} ({})", self.location, self.place),
        }
    }

    pub fn advice(&self) -> String {
        let account = match (&self.account_id, &self.account_name) {
            (Some(id), Some(name)) => format!(", account {name} ({id})"),
            (Some(id), None) => format!(", account {id}"),
            _ => String::new(),
        };
        let used_by = if self.profiles.is_empty() {
            String::new()
        } else {
            format!(", used by profile(s) {}", self.profiles.join(", "))
        };
        let what = match self.source {
            Source::AwsFile if !self.place.is_empty() => format!(
                "Run `rolecall retire {}` to give that profile temporary credentials from IAM Identity Center and remove the key.",
                self.place
            ),
            Source::ShellHistory => {
                "Remove the line from the history; the key was typed in a shell.".to_owned()
            }
            Source::File => "Remove it from the file (and from its git history, if it was committed); use a `credential_process` profile or `rolecall exec` instead.".to_owned(),
            _ => "Use an IAM Identity Center session instead (`rolecall session add` or `rolecall session import`).".to_owned(),
        };
        format!(
            "long-term access key {} in {}{account}{used_by}. {what} Then deactivate the key in IAM.",
            self.key_id,
            self.where_()
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

fn is_key_char(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}

/// A whole value that is a long-term key id.
pub fn is_long_term(value: &str) -> bool {
    let v = value.trim().trim_matches(|c| c == '"' || c == '\'');
    v.len() == 20 && v.starts_with("AKIA") && v.bytes().all(is_key_char)
}

/// Every long-term key id in a line of free text (`AKIA` and 16 more key characters, not part
/// of a longer word).
pub fn key_ids_in(line: &str) -> Vec<&str> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = line[from..].find("AKIA").map(|i| i + from) {
        let end = i + 20;
        let starts_word = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        let ends_word =
            end == bytes.len() || (end < bytes.len() && !bytes[end].is_ascii_alphanumeric());
        if end <= bytes.len()
            && starts_word
            && ends_word
            && bytes[i..end].iter().all(|b| is_key_char(*b))
        {
            out.push(&line[i..end]);
            from = end;
        } else {
            from = i + 4;
        }
    }
    out
}

/// `[profile x]` -> `x`, `[default]` / `[x]` -> itself (a credentials file's sections).
fn profile_of_section(section: &str) -> String {
    section
        .strip_prefix("profile ")
        .map_or(section, str::trim)
        .to_owned()
}

/// Scans the text of an AWS shared config or credentials file.
pub fn scan_file_text(location: &str, text: &str) -> Vec<Finding> {
    let mut findings: Vec<Finding> = Vec::new();
    let mut section = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('[') && line.ends_with(']') {
            section = profile_of_section(line[1..line.len() - 1].trim());
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        if key == "aws_access_key_id" && is_long_term(value) {
            let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
            findings.push(Finding::new(
                Source::AwsFile,
                location,
                &section,
                Some(i + 1),
                value,
            ));
        } else if key == "aws_secret_access_key"
            && let Some(f) = findings.iter_mut().rev().find(|f| f.place == section)
        {
            f.with_secret = true;
        }
    }
    findings
}

/// Free text (a history, a source file): every key id with its line.
pub fn scan_text(source: Source, location: &str, text: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (i, line) in text.lines().enumerate() {
        for key in key_ids_in(line) {
            let mut f = Finding::new(source, location, "", Some(i + 1), key);
            f.with_secret = line.contains("SECRET") || line.contains("secret");
            findings.push(f);
        }
    }
    findings
}

/// `source_profile` edges of an AWS config file: profile -> the profile it takes its
/// credentials from.
pub fn source_profiles(config_text: &str) -> BTreeMap<String, String> {
    let mut edges = BTreeMap::new();
    let mut section = String::new();
    for raw in config_text.lines() {
        let line = raw.trim();
        if line.starts_with('[') && line.ends_with(']') {
            section = profile_of_section(line[1..line.len() - 1].trim());
            continue;
        }
        if let Some((k, v)) = line.split_once('=')
            && k.trim().eq_ignore_ascii_case("source_profile")
        {
            edges.insert(section.clone(), v.trim().to_owned());
        }
    }
    edges
}

/// `profile` and every profile whose `source_profile` chain reaches it.
pub fn users_of(profile: &str, edges: &BTreeMap<String, String>) -> Vec<String> {
    let mut users = vec![profile.to_owned()];
    let mut seen: BTreeSet<String> = users.iter().cloned().collect();
    let mut grew = true;
    while grew {
        grew = false;
        for (from, to) in edges {
            if seen.contains(to) && seen.insert(from.clone()) {
                users.push(from.clone());
                grew = true;
            }
        }
    }
    users
}

/// Reads at most `limit` bytes of a regular file that is not a symbolic link, as text (bytes
/// that are not UTF-8 replaced); None for anything else or a file that looks binary.
fn read_text_prefix(path: &Path, limit: u64) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(
            (rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOFOLLOW).bits() as i32,
        );
    }
    let file = options.open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes).ok()?;
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return None;
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// The shell histories of the person: `HISTFILE`, then bash's, zsh's and fish's usual files.
pub fn history_files(env: impl Fn(&str) -> Option<String>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(h) = env("HISTFILE").filter(|h| !h.is_empty()) {
        out.push(PathBuf::from(h));
    }
    if let Some(home) = env("HOME").filter(|h| !h.is_empty()) {
        let home = PathBuf::from(home);
        out.push(home.join(".bash_history"));
        out.push(home.join(".zsh_history"));
        let data = env("XDG_DATA_HOME")
            .filter(|d| !d.is_empty())
            .map_or_else(|| home.join(".local/share"), PathBuf::from);
        out.push(data.join("fish/fish_history"));
    }
    out.dedup();
    out
}

/// What a folder walk saw.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Walked {
    pub files_read: usize,
    /// Files over [`MAX_FILE`], not read.
    pub too_large: usize,
    /// Whether the walk stopped at [`MAX_FILES`].
    pub stopped_at_limit: bool,
}

/// Every text file under `dir`, bounded; symbolic links are never followed and `.git` is
/// skipped.
pub fn scan_tree(dir: &Path, findings: &mut Vec<Finding>) -> Walked {
    let mut walked = Walked::default();
    let walk = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| !(e.file_type().is_dir() && e.file_name() == ".git"));
    for entry in walk.flatten() {
        if !entry.file_type().is_file() {
            continue;
        }
        if walked.files_read >= MAX_FILES {
            walked.stopped_at_limit = true;
            break;
        }
        if entry.metadata().is_ok_and(|m| m.len() > MAX_FILE) {
            walked.too_large += 1;
            continue;
        }
        walked.files_read += 1;
        if let Some(text) = read_text_prefix(entry.path(), MAX_FILE) {
            findings.extend(scan_text(
                Source::File,
                &entry.path().display().to_string(),
                &text,
            ));
        }
    }
    walked
}

/// Where to look.
#[derive(Debug, Default, Clone)]
pub struct Places {
    pub config: Option<PathBuf>,
    pub credentials: Option<PathBuf>,
    pub env: Vec<(String, String)>,
    pub histories: Vec<PathBuf>,
    pub trees: Vec<PathBuf>,
}

/// What the audit found, and how far its walks went.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub walks: Vec<(String, Walked)>,
    /// Files that could not be read (a FIFO, no permission, not UTF-8 for the AWS files).
    pub unreadable: Vec<String>,
}

/// Scans the two AWS files (missing ones are fine), the environment, the histories and the
/// trees.
pub fn audit_places(places: &Places) -> Report {
    let mut report = Report::default();
    let mut config_text = String::new();
    for (path, is_config) in [(&places.credentials, false), (&places.config, true)] {
        let Some(path) = path else { continue };
        match crate::files::read_regular_text(path, crate::aws_config::MAX_AWS_CONFIG) {
            Ok(Some(text)) => {
                report
                    .findings
                    .extend(scan_file_text(&path.display().to_string(), &text));
                if is_config {
                    config_text = text;
                }
            }
            Ok(None) => {}
            Err(e) => report.unreadable.push(e.to_string()),
        }
    }
    let edges = source_profiles(&config_text);
    for f in &mut report.findings {
        f.profiles = users_of(&f.place, &edges);
    }
    for (name, value) in &places.env {
        if name == "AWS_ACCESS_KEY_ID" && is_long_term(value) {
            let mut f = Finding::new(Source::Environment, "environment", name, None, value.trim());
            f.with_secret = places.env.iter().any(|(n, _)| n == "AWS_SECRET_ACCESS_KEY");
            report.findings.push(f);
        }
    }
    for history in &places.histories {
        if let Some(text) = read_text_prefix(history, MAX_HISTORY) {
            report.findings.extend(scan_text(
                Source::ShellHistory,
                &history.display().to_string(),
                &text,
            ));
        }
    }
    for tree in &places.trees {
        let walked = scan_tree(tree, &mut report.findings);
        report.walks.push((tree.display().to_string(), walked));
    }
    report
}

/// Scans the two AWS files and the environment (what the app checks at start).
pub fn audit(
    config: Option<&Path>,
    credentials: Option<&Path>,
    env: &[(String, String)],
) -> Vec<Finding> {
    audit_places(&Places {
        config: config.map(Path::to_path_buf),
        credentials: credentials.map(Path::to_path_buf),
        env: env.to_vec(),
        ..Places::default()
    })
    .findings
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
        let json = serde_json::to_string(&found[0]).expect("json");
        assert!(
            !json.contains("AKIAIOSFODNN7EXAMPLE") && !json.contains("wJalr"),
            "{json}"
        );

        let env = vec![(
            "AWS_ACCESS_KEY_ID".to_owned(),
            "AKIAIOSFODNN7EXAMPLE".to_owned(),
        )];
        let found = audit(None, None, &env);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].location, "environment");
        assert!(!found[0].with_secret);
    }

    #[test]
    fn key_ids_are_found_in_free_text_and_not_inside_longer_words() {
        assert_eq!(
            key_ids_in("export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE; aws s3 ls"),
            vec!["AKIAIOSFODNN7EXAMPLE"]
        );
        assert_eq!(
            key_ids_in(r#"{"key":"AKIAIOSFODNN7EXAMPLE","k2":"AKIAIOSFODNN7EXAMPL2"}"#),
            vec!["AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPL2"]
        );
        assert!(key_ids_in("XAKIAIOSFODNN7EXAMPLE").is_empty());
        assert!(key_ids_in("AKIAIOSFODNN7EXAMPLEX").is_empty());
        assert!(key_ids_in("AKIAshort AKIA").is_empty());
        assert!(key_ids_in("ASIAIOSFODNN7EXAMPLE").is_empty());
    }

    #[test]
    fn the_profiles_that_use_a_key_through_source_profile_are_named() {
        let config = "[profile legacy]\nregion = eu-west-1\n[profile deploy]\nrole_arn = arn:aws:iam::111111111111:role/Deploy\nsource_profile = legacy\n[profile deeper]\nrole_arn = arn:aws:iam::111111111111:role/X\nsource_profile = deploy\n[profile other]\nsource_profile = default\n";
        let edges = source_profiles(config);
        assert_eq!(
            users_of("legacy", &edges),
            vec!["legacy", "deploy", "deeper"]
        );
        assert_eq!(users_of("default", &edges), vec!["default", "other"]);
    }

    #[test]
    fn histories_and_trees_are_scanned_without_following_links_out() {
        let dir = tempfile::tempdir().expect("tmp");
        let home = dir.path().join("home");
        let repo = home.join("repo");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(repo.join(".git/objects")).expect("dirs");
        std::fs::create_dir_all(&outside).expect("dirs");
        std::fs::write(
            home.join(".bash_history"),
            "ls\nexport AWS_ACCESS_KEY_ID=AKIAHISTORY000000001\n",
        )
        .expect("history");
        std::fs::write(
            repo.join(".env"),
            "A=1\nAWS_ACCESS_KEY_ID=AKIADOTENV0000000001\n",
        )
        .expect("env");
        std::fs::write(
            repo.join("main.tf"),
            "access_key = \"AKIATERRAFORM0000001\"\n",
        )
        .expect("tf");
        std::fs::write(repo.join(".git/objects/x"), "AKIAGITOBJECT0000001").expect("obj");
        std::fs::write(repo.join("big.bin"), [0u8, 1, 2, b'A']).expect("bin");
        std::fs::write(outside.join("secret.txt"), "AKIAOUTSIDE000000001").expect("outside");
        #[cfg(unix)]
        std::os::unix::fs::symlink(&outside, repo.join("link")).expect("link");
        let places = Places {
            histories: history_files(|k| (k == "HOME").then(|| home.display().to_string())),
            trees: vec![repo.clone()],
            ..Places::default()
        };
        let report = audit_places(&places);
        let found: BTreeSet<(Source, String)> = report
            .findings
            .iter()
            .map(|f| (f.source, f.full_key_id.clone()))
            .collect();
        assert_eq!(
            found,
            BTreeSet::from([
                (Source::ShellHistory, "AKIAHISTORY000000001".to_owned()),
                (Source::File, "AKIADOTENV0000000001".to_owned()),
                (Source::File, "AKIATERRAFORM0000001".to_owned()),
            ]),
            "{report:?}"
        );
        let history = report
            .findings
            .iter()
            .find(|f| f.source == Source::ShellHistory)
            .expect("history finding");
        assert_eq!(history.line, Some(2));
        assert_eq!(report.walks[0].1.files_read, 3, "{report:?}");
    }
}
