//! Container registries (ECR): `rolecall ecr login` maps a registry to a role (in Rolecall's
//! config) and to the `rolecall` credential helper (in Docker's `config.json`), and
//! `docker-credential-rolecall` (the same binary, or `rolecall docker-credential`) answers the
//! Docker credential helper protocol with a password ECR makes for that role. Rolecall keeps
//! no password: `store` and `erase` change nothing, `get` asks ECR each time.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rolecall_core::CoreError;
use rolecall_engine::config::{ConfigFile, Registry, ecr_registry_region};
use rolecall_engine::files::{self, Mode};
use rolecall_engine::partition::Region;
use rolecall_engine::secret::Secret;
use rolecall_engine::text::printable;

use crate::backend::Backend;

/// What the Docker CLI reads as "no credentials here" (then it goes on without).
pub const NOT_FOUND: &str = "credentials not found in native keychain";
const MAX_INPUT: u64 = 64 * 1024;
const MAX_DOCKER_CONFIG: u64 = 4 * 1024 * 1024;

/// `https://host/path` or `host` -> `host`, lower-cased.
pub fn registry_host(server_url: &str) -> String {
    let s = server_url.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    s.split('/').next().unwrap_or_default().to_ascii_lowercase()
}

fn read_stdin() -> Result<Secret, CoreError> {
    let mut text = String::new();
    std::io::stdin()
        .take(MAX_INPUT)
        .read_to_string(&mut text)
        .map_err(|e| CoreError::Invalid(format!("cannot read the request: {e}")))?;
    Ok(Secret::new(text))
}

/// `docker-credential-rolecall <get|list|store|erase>`.
pub async fn helper(
    op: &str,
    session: Option<&str>,
    no_agent: bool,
) -> Result<ExitCode, CoreError> {
    let dirs = crate::backend::dirs();
    let config = ConfigFile::in_dir(&dirs.config).load()?;
    match op {
        "get" => {
            let input = read_stdin()?;
            let server_url = input.expose().trim().to_owned();
            let host = registry_host(&server_url);
            let Some(registry) = config.registries.iter().find(|r| r.host == host) else {
                println!("{NOT_FOUND}");
                return Ok(ExitCode::FAILURE);
            };
            let region = ecr_registry_region(&registry.host).unwrap_or("us-east-1");
            let backend = Backend::choose(no_agent).await?;
            let (creds, _, _) = backend
                .credentials(
                    Some(session.unwrap_or(&registry.session)),
                    &registry.account_id,
                    &registry.role,
                )
                .await?;
            let endpoint = ecr_endpoint()?;
            let login = rolecall_aws::ecr::docker_login(&creds, region, endpoint.as_deref())
                .await
                .map_err(CoreError::Api)?;
            let answer = serde_json::json!({
                "ServerURL": server_url,
                "Username": login.username,
                "Secret": login.password.expose(),
            });
            crate::commands::print_secret(&Secret::new(format!("{answer}\n")))?;
            Ok(ExitCode::SUCCESS)
        }
        "list" => {
            let map: serde_json::Map<String, serde_json::Value> = config
                .registries
                .iter()
                .map(|r| (r.host.clone(), "AWS".into()))
                .collect();
            println!("{}", serde_json::Value::Object(map));
            Ok(ExitCode::SUCCESS)
        }
        // `docker login` hands the helper what it typed: Rolecall derives passwords from the
        // role, so there is nothing to keep (and nothing is written anywhere).
        "store" | "erase" => {
            drop(read_stdin()?);
            Ok(ExitCode::SUCCESS)
        }
        other => Err(CoreError::Usage(format!(
            "unknown credential helper action {}: get, list, store or erase",
            printable(other)
        ))),
    }
}

/// Docker's config file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn docker_config_path(
    dir: Option<&Path>,
    env: impl Fn(&str) -> Option<String>,
) -> Option<PathBuf> {
    if let Some(d) = dir {
        return Some(d.join("config.json"));
    }
    if let Some(d) = env("DOCKER_CONFIG").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(d).join("config.json"));
    }
    env("HOME").map(|h| Path::new(&h).join(".docker").join("config.json"))
}

/// `old` (empty for none) with `credHelpers[host] = "rolecall"`; every other key kept. Also
/// the helper it names in place of another (the person's `ecr-login`, say), to be reported.
pub fn with_helper(old: &str, host: &str) -> Result<(String, Option<String>), String> {
    let mut doc: serde_json::Map<String, serde_json::Value> = if old.trim().is_empty() {
        serde_json::Map::new()
    } else {
        match serde_json::from_str(old) {
            Ok(serde_json::Value::Object(m)) => m,
            Ok(_) => return Err("it is not a JSON object: not changed".into()),
            Err(e) => return Err(format!("it is not valid JSON ({e}): not changed")),
        }
    };
    let helpers = doc
        .entry("credHelpers")
        .or_insert_with(|| serde_json::Value::Object(Default::default()));
    let helpers = helpers
        .as_object_mut()
        .ok_or("its credHelpers is not an object: not changed")?;
    let replaced = helpers
        .insert(host.to_owned(), "rolecall".into())
        .filter(|was| was != "rolecall")
        .map(|was| match was {
            serde_json::Value::String(name) => name,
            other => other.to_string(),
        });
    serde_json::to_string_pretty(&serde_json::Value::Object(doc))
        .map(|t| (t + "\n", replaced))
        .map_err(|e| e.to_string())
}

pub struct LoginArgs {
    pub session: Option<String>,
    pub no_agent: bool,
    pub account: String,
    pub role: String,
    pub region: Option<String>,
    pub registry: Option<String>,
    pub docker_config: Option<PathBuf>,
}

pub async fn login(args: LoginArgs) -> Result<ExitCode, CoreError> {
    let core = crate::backend::open_core()?;
    let resolved = core
        .resolve(args.session.as_deref(), &args.account, &args.role)
        .await?;
    let role = core.role_label(&resolved.key);
    let host = match &args.registry {
        Some(r) => registry_host(r),
        None => {
            let region = match &args.region {
                Some(r) => Region::parse(r).map_err(CoreError::Invalid)?,
                None => resolved.session.region.clone(),
            };
            format!(
                "{}.dkr.ecr.{}.{}",
                resolved.key.account_id,
                region.as_str(),
                region.partition().dns_suffix()
            )
        }
    };
    if ecr_registry_region(&host).is_none() {
        return Err(CoreError::Usage(format!(
            "{} is not an ECR registry (ACCOUNT.dkr.ecr.REGION.amazonaws.com)",
            printable(&host)
        )));
    }
    let registry = Registry {
        host: host.clone(),
        session: resolved.session.name.clone(),
        account_id: resolved.key.account_id.clone(),
        role: role.clone(),
    };
    let path = docker_config_path(args.docker_config.as_deref(), |k| std::env::var(k).ok())
        .ok_or_else(|| CoreError::Invalid("cannot find ~/.docker: give --docker-config".into()))?;
    let old = files::read_regular_text(&path, MAX_DOCKER_CONFIG)
        .map_err(|e| CoreError::Invalid(format!("cannot read {}: {e}", path.display())))?
        .unwrap_or_default();
    let (new, replaced) = with_helper(&old, &host)
        .map_err(|e| CoreError::Invalid(format!("{}: {e}", path.display())))?;
    // Rolecall's side first: a helper entry without a mapping would answer "not found".
    core.update_config(|c| {
        c.registries.retain(|r| r.host != registry.host);
        c.registries.push(registry);
    })?;
    if new != old {
        files::write_atomic(&path, new.as_bytes(), Mode::KeepOrPrivate)
            .map_err(|e| CoreError::Invalid(format!("cannot write {}: {e}", path.display())))?;
    }
    eprintln!(
        "rolecall: {} uses {} in {} for its Docker password; {} names the rolecall helper{}",
        printable(&host),
        printable(&role),
        printable(&resolved.account_name),
        path.display(),
        replaced
            .map(|was| format!(" for it, in place of {}", printable(&was)))
            .unwrap_or_default()
    );
    // Now, rather than at the first `docker pull`: does the role get a password?
    let _ = std::io::stderr().flush();
    let backend = Backend::choose(args.no_agent).await?;
    let (creds, _, _) = backend
        .credentials(
            Some(&resolved.session.name),
            &resolved.key.account_id,
            &role,
        )
        .await?;
    let endpoint = ecr_endpoint()?;
    let region = ecr_registry_region(&host).unwrap_or("us-east-1");
    match rolecall_aws::ecr::docker_login(&creds, region, endpoint.as_deref()).await {
        Ok(_) => eprintln!("rolecall: ECR gives {} a password: ready", printable(&role)),
        Err(e) => eprintln!("rolecall: warning: {}", printable(&e)),
    }
    if !on_path("docker-credential-rolecall") {
        eprintln!(
            "rolecall: warning: docker-credential-rolecall is not on PATH; Docker needs it: ln -s \"$(command -v rolecall)\" ~/.local/bin/docker-credential-rolecall"
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// `AWS_ENDPOINT_URL_ECR` when set (the simulator's in tests): a value that is not an endpoint
/// is an error, never silently the real ECR instead.
fn ecr_endpoint() -> Result<Option<String>, CoreError> {
    std::env::var("AWS_ENDPOINT_URL_ECR")
        .ok()
        .filter(|v| !v.is_empty())
        .map(|v| {
            rolecall_engine::session::check_endpoint(&v)
                .map(|_| v)
                .map_err(|e| CoreError::Invalid(format!("AWS_ENDPOINT_URL_ECR: {e}")))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_hosts_from_what_docker_sends() {
        assert_eq!(
            registry_host("https://111122223333.dkr.ecr.eu-west-1.amazonaws.com/v2/"),
            "111122223333.dkr.ecr.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            registry_host(" 111122223333.DKR.ecr.eu-west-1.amazonaws.com\n"),
            "111122223333.dkr.ecr.eu-west-1.amazonaws.com"
        );
    }

    #[test]
    fn docker_config_keeps_every_other_key() {
        let old = r#"{"auths":{"ghcr.io":{"auth":"eA=="}},"credHelpers":{"gcr.io":"gcloud"},"psFormat":"x"}"#;
        let (new, replaced) =
            with_helper(old, "111122223333.dkr.ecr.eu-west-1.amazonaws.com").expect("merged");
        assert_eq!(replaced, None);
        let v: serde_json::Value = serde_json::from_str(&new).expect("json");
        assert_eq!(v["auths"]["ghcr.io"]["auth"], "eA==");
        assert_eq!(v["psFormat"], "x");
        assert_eq!(v["credHelpers"]["gcr.io"], "gcloud");
        assert_eq!(
            v["credHelpers"]["111122223333.dkr.ecr.eu-west-1.amazonaws.com"],
            "rolecall"
        );
        for bad in ["[1]", "{", r#"{"credHelpers": 3}"#] {
            assert!(with_helper(bad, "h").is_err(), "{bad}");
        }
    }

    /// A registry the person had given another helper (`ecr-login`) is taken over, as asked;
    /// the helper it had is named, so the person knows what to put back.
    #[test]
    fn a_helper_of_the_persons_is_named_when_replaced() {
        let host = "111122223333.dkr.ecr.eu-west-1.amazonaws.com";
        let old = format!(r#"{{"credHelpers":{{"{host}":"ecr-login"}}}}"#);
        let (new, replaced) = with_helper(&old, host).expect("merged");
        assert_eq!(replaced.as_deref(), Some("ecr-login"));
        let (_, again) = with_helper(&new, host).expect("merged");
        assert_eq!(again, None, "its own entry is not reported");
    }
}
