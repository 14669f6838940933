//! Kubernetes (EKS): `rolecall eks token` (the ExecCredential kubectl reads from an exec
//! plugin) and `rolecall kubeconfig` (a cluster, user and context in `~/.kube/config` that call
//! it, keeping everything else in the file).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use rolecall_aws::eks;
use rolecall_core::CoreError;
use rolecall_engine::files::{self, Mode};
use rolecall_engine::partition::Region;
use rolecall_engine::text::printable;
use serde_yaml::{Mapping, Value};

use crate::backend::Backend;

/// Kubeconfig files larger than this are refused rather than read.
const MAX_KUBECONFIG: u64 = 16 * 1024 * 1024;

/// Cluster names as EKS allows them (and nothing a shell or YAML could misread).
fn check_cluster(name: &str) -> Result<(), CoreError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(CoreError::Usage(format!(
            "{} is not an EKS cluster name (letters, digits, - and _, starting with a letter or digit)",
            printable(name)
        )))
    }
}

pub struct TokenArgs {
    pub session: Option<String>,
    pub no_agent: bool,
    pub cluster: String,
    pub account: String,
    pub role: String,
    pub region: Option<String>,
}

/// Prints the ExecCredential for `cluster`, signed with the role's credentials. `config` is
/// the config already read for this command (kubectl runs it often: one read).
pub async fn token(
    args: TokenArgs,
    config: &rolecall_engine::config::Config,
) -> Result<ExitCode, CoreError> {
    check_cluster(&args.cluster)?;
    let asked = args
        .region
        .as_deref()
        .map(|r| Region::parse(r).map_err(CoreError::Invalid))
        .transpose()?;
    let backend = Backend::choose(args.no_agent).await?;
    let (creds, session_region, role) = backend
        .credentials(args.session.as_deref(), &args.account, &args.role)
        .await?;
    let region = match asked {
        Some(r) => r,
        None => Region::parse(&session_region).map_err(CoreError::Invalid)?,
    };
    // The session's STS endpoint (config, or AWS_ENDPOINT_URL_STS), else the partition's.
    let sts_override = config
        .sessions
        .iter()
        .find(|s| s.name == role.session)
        .and_then(|s| {
            let mut s = s.clone();
            s.endpoints = s.endpoints.with_env(|k| std::env::var(k).ok());
            s.sts_url()
        });
    let sts = rolecall_aws::sts_endpoint(
        sts_override.as_deref(),
        region.as_str(),
        region.partition().dns_suffix(),
    );
    let (token, expires) = eks::token(
        &creds,
        &sts,
        region.as_str(),
        &args.cluster,
        SystemTime::now(),
    )
    .map_err(CoreError::Invalid)?;
    crate::commands::print_secret(&eks::exec_credential(&token, expires))?;
    Ok(ExitCode::SUCCESS)
}

/// What `rolecall kubeconfig` writes.
#[derive(Debug, Clone)]
pub struct Entry {
    pub cluster: String,
    pub server: String,
    pub ca_data: Option<String>,
    pub user: String,
    pub context: String,
    /// The exec plugin's command and arguments.
    pub command: String,
    pub args: Vec<String>,
}

fn named(list: &mut Vec<Value>, name: &str, key: &str, body: Value) {
    let mut entry = Mapping::new();
    entry.insert("name".into(), name.into());
    entry.insert(key.into(), body);
    let entry = Value::Mapping(entry);
    match list
        .iter_mut()
        .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
    {
        Some(old) => *old = entry,
        None => list.push(entry),
    }
}

fn list<'a>(doc: &'a mut Mapping, key: &str) -> Result<&'a mut Vec<Value>, String> {
    let slot = doc
        .entry(key.into())
        .or_insert_with(|| Value::Sequence(Vec::new()));
    if slot.is_null() {
        *slot = Value::Sequence(Vec::new());
    }
    slot.as_sequence_mut()
        .ok_or_else(|| format!("`{key}` in the kubeconfig is not a list: not changed"))
}

/// The kubeconfig `old` (empty for none) with `entry`'s cluster, user and context added or
/// replaced by name and made current; every other key and entry kept as it was.
pub fn merge(old: &str, entry: &Entry) -> Result<String, String> {
    let mut doc = if old.trim().is_empty() {
        let mut m = Mapping::new();
        m.insert("apiVersion".into(), "v1".into());
        m.insert("kind".into(), "Config".into());
        m.insert("preferences".into(), Value::Mapping(Mapping::new()));
        m
    } else {
        match serde_yaml::from_str::<Value>(old) {
            Ok(Value::Mapping(m)) => m,
            Ok(_) => return Err("the kubeconfig is not a YAML mapping: not changed".into()),
            Err(e) => {
                return Err(format!(
                    "the kubeconfig is not valid YAML ({e}): not changed"
                ));
            }
        }
    };
    let mut cluster = Mapping::new();
    cluster.insert("server".into(), entry.server.clone().into());
    if let Some(ca) = &entry.ca_data {
        cluster.insert("certificate-authority-data".into(), ca.clone().into());
    }
    named(
        list(&mut doc, "clusters")?,
        &entry.cluster,
        "cluster",
        Value::Mapping(cluster),
    );

    let mut exec = Mapping::new();
    exec.insert(
        "apiVersion".into(),
        "client.authentication.k8s.io/v1beta1".into(),
    );
    exec.insert("command".into(), entry.command.clone().into());
    exec.insert(
        "args".into(),
        Value::Sequence(entry.args.iter().cloned().map(Value::from).collect()),
    );
    exec.insert("interactiveMode".into(), "IfAvailable".into());
    exec.insert("provideClusterInfo".into(), false.into());
    let mut user = Mapping::new();
    user.insert("exec".into(), Value::Mapping(exec));
    named(
        list(&mut doc, "users")?,
        &entry.user,
        "user",
        Value::Mapping(user),
    );

    let mut context = Mapping::new();
    context.insert("cluster".into(), entry.cluster.clone().into());
    context.insert("user".into(), entry.user.clone().into());
    named(
        list(&mut doc, "contexts")?,
        &entry.context,
        "context",
        Value::Mapping(context),
    );
    doc.insert("current-context".into(), entry.context.clone().into());
    serde_yaml::to_string(&Value::Mapping(doc)).map_err(|e| e.to_string())
}

/// The kubeconfig kubectl writes to: the first file of `KUBECONFIG`, else `~/.kube/config`.
pub fn kubeconfig_path(env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(list) = env("KUBECONFIG").filter(|v| !v.is_empty())
        && let Some(first) = std::env::split_paths(&list).find(|p| !p.as_os_str().is_empty())
    {
        return Some(first);
    }
    env("HOME").map(|h| Path::new(&h).join(".kube").join("config"))
}

pub struct KubeconfigArgs {
    pub session: Option<String>,
    pub cluster: String,
    pub server: String,
    pub ca_data: Option<String>,
    pub account: String,
    pub role: String,
    pub region: Option<String>,
    pub context: Option<String>,
    pub file: Option<PathBuf>,
}

pub async fn kubeconfig(args: KubeconfigArgs) -> Result<ExitCode, CoreError> {
    check_cluster(&args.cluster)?;
    let server = rolecall_engine::session::check_endpoint(&args.server)
        .map_err(|e| CoreError::Usage(format!("--server: {e}")))?;
    if let Some(r) = &args.region {
        Region::parse(r).map_err(CoreError::Invalid)?;
    }
    // The role must exist now, so a typo fails here and not at kubectl's first call.
    let core = crate::backend::open_core()?;
    let resolved = core
        .resolve(args.session.as_deref(), &args.account, &args.role)
        .await?;
    let role = core.role_label(&resolved.key);
    let safe = |s: &str| rolecall_engine::held::safe(s).replace([' ', '/', ':'], "-");
    let user = format!(
        "rolecall-{}-{}-{}",
        args.cluster,
        safe(&resolved.account_name),
        safe(&role)
    );
    let context = args.context.clone().unwrap_or_else(|| user.clone());
    let program = std::env::current_exe()
        .ok()
        .and_then(|p| p.to_str().map(str::to_owned))
        .unwrap_or_else(|| "rolecall".into());
    let mut exec_args = vec![
        "eks".to_owned(),
        "token".into(),
        "--cluster".into(),
        args.cluster.clone(),
        "--session".into(),
        resolved.session.name.clone(),
    ];
    if let Some(r) = &args.region {
        exec_args.extend(["--region".to_owned(), r.clone()]);
    }
    exec_args.extend([resolved.key.account_id.clone(), role.clone()]);
    let entry = Entry {
        cluster: args.cluster.clone(),
        server: server.as_str().trim_end_matches('/').to_owned(),
        ca_data: args.ca_data.clone(),
        user,
        context: context.clone(),
        command: program,
        args: exec_args,
    };
    let path = args
        .file
        .clone()
        .or_else(|| kubeconfig_path(|k| std::env::var(k).ok()))
        .ok_or_else(|| CoreError::Invalid("cannot find ~/.kube/config: give --file".into()))?;
    let old = files::read_regular_text(&path, MAX_KUBECONFIG)
        .map_err(|e| CoreError::Invalid(format!("cannot read {}: {e}", path.display())))?
        .unwrap_or_default();
    let new =
        merge(&old, &entry).map_err(|e| CoreError::Invalid(format!("{}: {e}", path.display())))?;
    files::write_atomic(&path, new.as_bytes(), Mode::KeepOrPrivate)
        .map_err(|e| CoreError::Invalid(format!("cannot write {}: {e}", path.display())))?;
    eprintln!(
        "rolecall: context {} in {} uses {} in {} for cluster {}; it is the current context",
        printable(&context),
        path.display(),
        printable(&role),
        printable(&resolved.account_name),
        printable(&args.cluster)
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            cluster: "demo".into(),
            server: "https://ABC.gr7.eu-west-1.eks.amazonaws.com".into(),
            ca_data: Some("LS0t".into()),
            user: "rolecall-demo-payments-prod-Admin".into(),
            context: "rolecall-demo-payments-prod-Admin".into(),
            command: "/usr/bin/rolecall".into(),
            args: vec![
                "eks".into(),
                "token".into(),
                "--cluster".into(),
                "demo".into(),
            ],
        }
    }

    #[test]
    fn kubeconfig_merge_keeps_every_other_entry_and_key() {
        let old = "apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster:\n    server: https://other.example\ncontexts:\n- name: other\n  context:\n    cluster: other\n    user: me\nusers:\n- name: me\n  user:\n    token: abc\ncurrent-context: other\nx-custom: kept\n";
        let new = merge(old, &entry()).expect("merged");
        let doc: Value = serde_yaml::from_str(&new).expect("yaml");
        assert_eq!(doc["current-context"], "rolecall-demo-payments-prod-Admin");
        assert_eq!(doc["x-custom"], "kept");
        assert_eq!(doc["clusters"].as_sequence().expect("list").len(), 2);
        assert_eq!(doc["users"][0]["user"]["token"], "abc");
        assert_eq!(
            doc["users"][1]["user"]["exec"]["command"],
            "/usr/bin/rolecall"
        );
        assert_eq!(doc["contexts"][1]["context"]["cluster"], "demo");
        // Again: replaced by name, not added twice.
        let again = merge(&new, &entry()).expect("merged");
        let doc: Value = serde_yaml::from_str(&again).expect("yaml");
        assert_eq!(doc["users"].as_sequence().expect("list").len(), 2);
        assert_eq!(again, new);
    }

    #[test]
    fn a_kubeconfig_that_cannot_be_read_as_one_is_never_written() {
        for bad in ["- a\n- b\n", "clusters: 3\n", "a: [\n"] {
            assert!(merge(bad, &entry()).is_err(), "{bad:?}");
        }
        let fresh = merge("", &entry()).expect("new file");
        assert!(fresh.contains("apiVersion: v1") && fresh.contains("kind: Config"));
    }

    #[test]
    fn kubeconfig_is_the_first_file_of_kubeconfig_else_the_home_one() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            kubeconfig_path(env(&[("KUBECONFIG", "/a/one:/b/two"), ("HOME", "/h")])),
            Some(PathBuf::from("/a/one"))
        );
        assert_eq!(
            kubeconfig_path(env(&[("HOME", "/h")])),
            Some(PathBuf::from("/h/.kube/config"))
        );
    }

    #[test]
    fn cluster_names_are_checked() {
        assert!(check_cluster("demo-1_x").is_ok());
        for bad in ["", "-x", "a b", "a\nb", "$(x)", &"a".repeat(101)] {
            assert!(check_cluster(bad).is_err(), "{bad:?}");
        }
    }
}
