//! Credentials as text for a shell or a tool: POSIX sh (bash, zsh, dash), fish, PowerShell,
//! cmd.exe, dotenv, and `credential_process` JSON (version 1).
//!
//! Quoting must round-trip any value exactly (tests evaluate the output in real bash, zsh, dash
//! and fish and compare bytes). Where a format cannot carry a value faithfully (cmd.exe has no
//! quoting for `"`, `%`, `!` or line breaks) the value is refused, never mangled.
//!
//! The output holds secrets, so it is returned as a [`Secret`]: it goes to the clipboard or
//! to standard output, never to a log.

use std::fmt::Write as _;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::api::RoleCredentials;
use crate::secret::Secret;

/// A text format for credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ShellFormat {
    /// `export NAME='value'` (bash, zsh, dash, ksh).
    #[default]
    Sh,
    /// `set -gx NAME 'value'`.
    Fish,
    /// `$Env:NAME = 'value'`.
    Pwsh,
    /// `set "NAME=value"`.
    Cmd,
    /// `NAME='value'` lines for `.env` files.
    Dotenv,
    /// The JSON a `credential_process` prints.
    CredentialProcess,
}

impl ShellFormat {
    pub const ALL: [ShellFormat; 6] = [
        Self::Sh,
        Self::Fish,
        Self::Pwsh,
        Self::Cmd,
        Self::Dotenv,
        Self::CredentialProcess,
    ];

    /// The name used on the command line and in the config file.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sh => "sh",
            Self::Fish => "fish",
            Self::Pwsh => "pwsh",
            Self::Cmd => "cmd",
            Self::Dotenv => "dotenv",
            Self::CredentialProcess => "credential-process",
        }
    }

    /// Parses a name; accepts the common aliases (`bash`, `zsh`, `powershell`, `env`, `json`).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "sh" | "bash" | "zsh" | "posix" | "ksh" | "dash" => Self::Sh,
            "fish" => Self::Fish,
            "pwsh" | "powershell" | "ps" => Self::Pwsh,
            "cmd" | "cmd.exe" | "bat" => Self::Cmd,
            "dotenv" | ".env" => Self::Dotenv,
            "credential-process" | "credential_process" | "json" => Self::CredentialProcess,
            _ => return None,
        })
    }
}

/// A value that a format cannot carry faithfully.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShellError {
    #[error("{name} contains a NUL byte, which no environment variable can hold")]
    Nul { name: String },
    #[error(
        "{name} cannot be written for cmd.exe: it contains {what}, which cmd has no way to quote"
    )]
    Cmd { name: String, what: &'static str },
    #[error(
        "{name} cannot be written as dotenv: it contains {what}, which dotenv readers and shells read differently"
    )]
    Dotenv { name: String, what: &'static str },
    #[error(
        "{name} cannot be written in the AWS CLI's unquoted format: it contains {0:?}; use --format sh",
        .character
    )]
    Unquoted { name: String, character: char },
}

/// The formats of `aws configure export-credentials --format`, in that command's own output
/// shapes, so that whatever reads its output reads Rolecall's: `process` (the
/// `credential_process` JSON, indented), `env` (`export NAME=value`), `env-no-export`,
/// `powershell` (`$Env:NAME="value"`) and `windows-cmd` (`set NAME=value`). Values are written
/// unquoted, as the AWS CLI writes them; one that would need quoting is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsCliFormat {
    Process,
    Env,
    EnvNoExport,
    Powershell,
    WindowsCmd,
}

impl AwsCliFormat {
    pub const ALL: [Self; 5] = [
        Self::Process,
        Self::Env,
        Self::EnvNoExport,
        Self::Powershell,
        Self::WindowsCmd,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Process => "process",
            Self::Env => "env",
            Self::EnvNoExport => "env-no-export",
            Self::Powershell => "powershell",
            Self::WindowsCmd => "windows-cmd",
        }
    }

    /// The AWS CLI's names, exactly.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// `creds` as `aws configure export-credentials --format <self>` prints credentials: the
    /// key id, the secret key, the session token and the expiration (ISO 8601 with `+00:00`).
    pub fn render(self, creds: &RoleCredentials) -> Result<Secret, ShellError> {
        let expiration = iso8601_utc(creds.expiration);
        let vars = [
            ("AWS_ACCESS_KEY_ID", creds.access_key_id.as_str()),
            ("AWS_SECRET_ACCESS_KEY", creds.secret_access_key.expose()),
            ("AWS_SESSION_TOKEN", creds.session_token.expose()),
            ("AWS_CREDENTIAL_EXPIRATION", expiration.as_str()),
        ];
        if self == Self::Process {
            let quoted = |s: &str| serde_json::Value::from(s).to_string();
            return Ok(Secret::new(format!(
                "{{\n  \"Version\": 1,\n  \"AccessKeyId\": {},\n  \"SecretAccessKey\": {},\n  \"SessionToken\": {},\n  \"Expiration\": {}\n}}\n",
                quoted(vars[0].1),
                quoted(vars[1].1),
                quoted(vars[2].1),
                quoted(vars[3].1),
            )));
        }
        let mut out = String::new();
        for (name, value) in vars {
            if let Some(character) = value
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || "+/=:._-".contains(*c)))
            {
                return Err(ShellError::Unquoted {
                    name: name.to_owned(),
                    character,
                });
            }
            let line = match self {
                Self::Env => format!("export {name}={value}"),
                Self::EnvNoExport => format!("{name}={value}"),
                Self::Powershell => format!("$Env:{name}=\"{value}\""),
                Self::WindowsCmd => format!("set {name}={value}"),
                Self::Process => unreachable!("written above"),
            };
            out.push_str(&line);
            out.push('\n');
        }
        Ok(Secret::new(out))
    }
}

/// ISO 8601 in UTC with `+00:00`, as Python's `isoformat()` (and so the AWS CLI) writes it:
/// microseconds only when there are any.
pub fn iso8601_utc(t: SystemTime) -> String {
    let t = OffsetDateTime::from(t);
    let whole =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]+00:00");
    let micro = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]+00:00"
    );
    let format = if t.microsecond() == 0 { whole } else { micro };
    t.format(format)
        .unwrap_or_else(|_| "1970-01-01T00:00:00+00:00".into())
}

/// RFC 3339 in UTC with a `Z`, as the AWS tools write expirations.
pub fn rfc3339(t: SystemTime) -> String {
    OffsetDateTime::from(t)
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

/// The environment variables for a set of credentials, in a stable order.
pub fn credential_vars(
    creds: &RoleCredentials,
    region: Option<&str>,
) -> Vec<(&'static str, Secret)> {
    let mut vars = vec![
        (
            "AWS_ACCESS_KEY_ID",
            Secret::new(creds.access_key_id.clone()),
        ),
        ("AWS_SECRET_ACCESS_KEY", creds.secret_access_key.clone()),
        ("AWS_SESSION_TOKEN", creds.session_token.clone()),
        (
            "AWS_CREDENTIAL_EXPIRATION",
            Secret::new(rfc3339(creds.expiration)),
        ),
    ];
    if let Some(region) = region.filter(|r| !r.is_empty()) {
        vars.push(("AWS_REGION", Secret::new(region)));
        vars.push(("AWS_DEFAULT_REGION", Secret::new(region)));
    }
    vars
}

/// Renders credentials in `format`.
pub fn render(
    format: ShellFormat,
    creds: &RoleCredentials,
    region: Option<&str>,
) -> Result<Secret, ShellError> {
    if format == ShellFormat::CredentialProcess {
        return Ok(credential_process_json(creds));
    }
    render_secrets(format, &credential_vars(creds, region))
}

/// Renders variables whose values are secrets (credentials, endpoint tokens).
pub fn render_secrets(format: ShellFormat, vars: &[(&str, Secret)]) -> Result<Secret, ShellError> {
    let pairs: Vec<(&str, &str)> = vars.iter().map(|(n, v)| (*n, v.expose())).collect();
    render_vars(format, &pairs)
}

/// Renders arbitrary variables (names must be valid identifiers) in a shell format.
pub fn render_vars(format: ShellFormat, vars: &[(&str, &str)]) -> Result<Secret, ShellError> {
    let mut out = String::new();
    for (name, value) in vars {
        if value.contains('\0') {
            return Err(ShellError::Nul {
                name: (*name).to_owned(),
            });
        }
        let line = match format {
            ShellFormat::Sh => format!("export {name}={}", quote_sh(value)),
            ShellFormat::Fish => format!("set -gx {name} {}", quote_fish(value)),
            ShellFormat::Pwsh => format!("$Env:{name} = {}", quote_pwsh(value)),
            ShellFormat::Cmd => format!("set \"{name}={}\"", check_cmd(name, value)?),
            ShellFormat::Dotenv => format!("{name}='{}'", check_dotenv(name, value)?),
            ShellFormat::CredentialProcess => {
                let _ = writeln!(out, "{}", serde_json::json!({ *name: value }));
                continue;
            }
        };
        let newline = if format == ShellFormat::Cmd {
            "\r\n"
        } else {
            "\n"
        };
        out.push_str(&line);
        out.push_str(newline);
    }
    Ok(Secret::new(out))
}

/// Single quotes; a `'` becomes `'\''`. Everything else, newlines included, is literal.
fn quote_sh(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// Fish single quotes: only `\` and `'` are special inside them.
fn quote_fish(value: &str) -> String {
    format!("'{}'", value.replace('\\', r"\\").replace('\'', r"\'"))
}

/// PowerShell single quotes: a quote is doubled. PowerShell also takes the Unicode single
/// quotation marks U+2018..U+201B as quotes, so they are doubled too.
fn quote_pwsh(value: &str) -> String {
    let mut out = String::from("'");
    for c in value.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

fn check_cmd<'a>(name: &str, value: &'a str) -> Result<&'a str, ShellError> {
    let what = if value.contains(['\r', '\n']) {
        "a line break"
    } else if value.contains('"') {
        "a double quote"
    } else if value.contains('%') {
        "a percent sign"
    } else if value.contains('!') {
        "an exclamation mark"
    } else {
        return Ok(value);
    };
    Err(ShellError::Cmd {
        name: name.to_owned(),
        what,
    })
}

/// Single quotes: literal in bash and dash when the file is sourced, and in every dotenv
/// reader (python-dotenv, dotenvy, docker compose). A value with a single quote or a line
/// break has no spelling that all of them read the same (double quotes run `$(...)` and
/// backticks in a sourced file, and escapes differ between readers), so it is refused.
fn check_dotenv<'a>(name: &str, value: &'a str) -> Result<&'a str, ShellError> {
    let what = if value.contains(['\r', '\n']) {
        "a line break"
    } else if value.contains('\'') {
        "a single quote"
    } else {
        return Ok(value);
    };
    Err(ShellError::Dotenv {
        name: name.to_owned(),
        what,
    })
}

/// `{"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}`.
pub fn credential_process_json(creds: &RoleCredentials) -> Secret {
    let json = serde_json::json!({
        "Version": 1,
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key.expose(),
        "SessionToken": creds.session_token.expose(),
        "Expiration": rfc3339(creds.expiration),
    });
    Secret::new(format!("{json}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn creds() -> RoleCredentials {
        RoleCredentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Secret::new("se/cr+et="),
            session_token: Secret::new("tok"),
            expiration: SystemTime::UNIX_EPOCH + Duration::from_secs(1_893_456_000),
        }
    }

    #[test]
    fn the_aws_clis_export_formats_have_its_exact_shapes() {
        let c = creds();
        let text = |f: AwsCliFormat| f.render(&c).expect("renders").expose().to_owned();
        assert_eq!(
            text(AwsCliFormat::Env),
            "export AWS_ACCESS_KEY_ID=ASIAEXAMPLE\nexport AWS_SECRET_ACCESS_KEY=se/cr+et=\nexport AWS_SESSION_TOKEN=tok\nexport AWS_CREDENTIAL_EXPIRATION=2030-01-01T00:00:00+00:00\n"
        );
        assert!(text(AwsCliFormat::EnvNoExport).starts_with("AWS_ACCESS_KEY_ID=ASIAEXAMPLE\n"));
        assert!(
            text(AwsCliFormat::Powershell).starts_with("$Env:AWS_ACCESS_KEY_ID=\"ASIAEXAMPLE\"\n")
        );
        assert!(text(AwsCliFormat::WindowsCmd).starts_with("set AWS_ACCESS_KEY_ID=ASIAEXAMPLE\n"));
        assert_eq!(
            text(AwsCliFormat::Process),
            "{\n  \"Version\": 1,\n  \"AccessKeyId\": \"ASIAEXAMPLE\",\n  \"SecretAccessKey\": \"se/cr+et=\",\n  \"SessionToken\": \"tok\",\n  \"Expiration\": \"2030-01-01T00:00:00+00:00\"\n}\n"
        );
        for f in AwsCliFormat::ALL {
            assert_eq!(AwsCliFormat::parse(f.name()), Some(f));
        }
        let odd = RoleCredentials {
            session_token: Secret::new("a b"),
            ..creds()
        };
        assert!(matches!(
            AwsCliFormat::Env.render(&odd),
            Err(ShellError::Unquoted { .. })
        ));
        assert!(
            AwsCliFormat::Process.render(&odd).is_ok(),
            "JSON quotes anything"
        );
        assert_eq!(
            iso8601_utc(SystemTime::UNIX_EPOCH + Duration::from_millis(1_893_456_000_056)),
            "2030-01-01T00:00:00.056000+00:00",
            "as Python's isoformat() writes milliseconds"
        );
    }

    #[test]
    fn sh_with_region() {
        let out = render(ShellFormat::Sh, &creds(), Some("eu-west-1")).expect("renders");
        assert_eq!(
            out.expose(),
            "export AWS_ACCESS_KEY_ID='ASIAEXAMPLE'\nexport AWS_SECRET_ACCESS_KEY='se/cr+et='\n\
export AWS_SESSION_TOKEN='tok'\nexport AWS_CREDENTIAL_EXPIRATION='2030-01-01T00:00:00Z'\n\
export AWS_REGION='eu-west-1'\nexport AWS_DEFAULT_REGION='eu-west-1'\n"
        );
        assert_eq!(format!("{out:?}"), "<redacted>");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_sh("it's"), r"'it'\''s'");
        assert_eq!(quote_fish(r"a\b'c"), r"'a\\b\'c'");
        assert_eq!(quote_pwsh("it’s 'x'"), "'it’’s ''x'''");
    }

    /// A dotenv file is sourced by shells (`set -a; . .env`): backticks, `$(...)` and `$x`
    /// in a value stay text, and what no quoting can keep text is refused.
    #[test]
    fn a_sourced_dotenv_file_runs_nothing_from_a_value() {
        assert_eq!(
            render_vars(ShellFormat::Dotenv, &[("X", "plain $x `id` $(id)")])
                .expect("dotenv")
                .expose(),
            "X='plain $x `id` $(id)'\n",
            "single quotes: nothing runs when the file is sourced"
        );
        for refused in ["a'b", "a\nb", "a\rb", "it's `touch pwned`"] {
            assert!(render_vars(ShellFormat::Dotenv, &[("X", refused)]).is_err());
        }
    }

    #[test]
    fn cmd_refuses_what_it_cannot_quote() {
        let ok = render(ShellFormat::Cmd, &creds(), None).expect("plain values");
        assert!(
            ok.expose()
                .starts_with("set \"AWS_ACCESS_KEY_ID=ASIAEXAMPLE\"\r\n")
        );
        let err = render_vars(ShellFormat::Cmd, &[("X", "50%")]).expect_err("percent");
        assert!(err.to_string().contains("percent"));
        assert!(render_vars(ShellFormat::Sh, &[("X", "a\0b")]).is_err());
    }

    #[test]
    fn credential_process_is_version_1() {
        let out =
            render(ShellFormat::CredentialProcess, &creds(), Some("eu-west-1")).expect("json");
        let v: serde_json::Value = serde_json::from_str(out.expose()).expect("valid json");
        assert_eq!(v["Version"], 1);
        assert_eq!(v["SecretAccessKey"], "se/cr+et=");
        assert_eq!(v["Expiration"], "2030-01-01T00:00:00Z");
    }

    #[test]
    fn names_parse() {
        for f in ShellFormat::ALL {
            assert_eq!(ShellFormat::parse(f.name()), Some(f));
        }
        assert_eq!(ShellFormat::parse("zsh"), Some(ShellFormat::Sh));
        assert_eq!(ShellFormat::parse("tcsh"), None);
    }
}
