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
    let sts = match config.sessions.iter().find(|s| s.name == role.session) {
        Some(s) => s
            .clone()
            .with_env(|k| std::env::var(k).ok())
            .sts_endpoint(&region),
        None => rolecall_aws::sts_endpoint(None, region.as_str(), region.partition().dns_suffix()),
    };
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
    /// The person named the context (`--context`): it replaces whatever has that name. A
    /// context Rolecall named replaces only a context for this very access.
    pub context_chosen: bool,
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

/// A role's access to an EKS cluster, as `rolecall kubeconfig` names it.
#[derive(Debug, Clone)]
pub struct Access<'a> {
    pub cluster: &'a str,
    pub account_id: &'a str,
    pub account_name: &'a str,
    /// The role's label (a chained role's name).
    pub role: &'a str,
    pub session: &'a str,
    /// The region the token is signed for.
    pub region: &'a str,
    /// Whether the person gave `--region` (else the session's region is used, and the token
    /// command is left to find it the same way).
    pub region_given: bool,
}

/// `:` and `%` written as escapes, so a name holding them cannot run into the next one.
fn part(s: &str) -> String {
    s.replace('%', "%25").replace(':', "%3A")
}

impl Access<'_> {
    /// The kubeconfig entry for `access` to the cluster at `server`, run by `command`. The
    /// cluster and user entries are named by everything that tells them apart (account id,
    /// region, cluster; then role and session), so two accounts, regions or roles never share
    /// one and none takes the name of an entry of the person's own; the context gets a name a
    /// person reads (or the one they chose).
    pub fn entry(
        &self,
        server: &str,
        ca_data: Option<String>,
        command: String,
        context: Option<String>,
    ) -> Entry {
        let cluster = format!(
            "rolecall:{}:{}:{}",
            self.account_id, self.region, self.cluster
        );
        let user = format!("{cluster}:{}:{}", part(self.role), part(self.session));
        let safe = |s: &str| rolecall_engine::held::safe(s).replace([' ', '/', ':'], "-");
        let readable = format!(
            "rolecall-{}-{}-{}",
            self.cluster,
            safe(self.account_name),
            safe(self.role)
        );
        let mut args = vec![
            "eks".to_owned(),
            "token".into(),
            "--cluster".into(),
            self.cluster.to_owned(),
            "--session".into(),
            self.session.to_owned(),
        ];
        if self.region_given {
            args.extend(["--region".to_owned(), self.region.to_owned()]);
        }
        args.extend([self.account_id.to_owned(), self.role.to_owned()]);
        Entry {
            cluster,
            server: server.trim_end_matches('/').to_owned(),
            ca_data,
            user,
            context_chosen: context.is_some(),
            context: context.unwrap_or(readable),
            command,
            args,
        }
    }
}

/// The exec arguments of the user entry named `name` in `doc`, if it has them.
fn exec_args(doc: &Mapping, name: &str) -> Option<Vec<String>> {
    doc.get("users")?
        .as_sequence()?
        .iter()
        .find(|u| u.get("name").and_then(Value::as_str) == Some(name))?
        .get("user")?
        .get("exec")?
        .get("args")?
        .as_sequence()?
        .iter()
        .map(|a| a.as_str().map(str::to_owned))
        .collect()
}

/// Refuses to replace a context named like `entry`'s that is for another access (another
/// account or role, or an entry of the person's own), unless the person chose the name.
fn check_context(doc: &Mapping, entry: &Entry) -> Result<(), String> {
    if entry.context_chosen {
        return Ok(());
    }
    let Some(existing) = doc
        .get("contexts")
        .and_then(Value::as_sequence)
        .and_then(|l| {
            l.iter()
                .find(|c| c.get("name").and_then(Value::as_str) == Some(entry.context.as_str()))
        })
    else {
        return Ok(());
    };
    let user = existing
        .get("context")
        .and_then(|c| c.get("user"))
        .and_then(Value::as_str);
    // The same access: this user, or one an earlier Rolecall named otherwise that runs the
    // same token command.
    let same =
        user.is_some_and(|u| u == entry.user || exec_args(doc, u).is_some_and(|a| a == entry.args));
    if same {
        Ok(())
    } else {
        Err(format!(
            "a context named {} is already there for other credentials (another account or role of that name, or one of your own): not changed; name this one with --context",
            printable(&entry.context)
        ))
    }
}

/// The kubeconfig `old` (empty for none) with `entry`'s cluster, user and context added or
/// replaced by name and made current; every other key and entry kept as it was. A context of
/// that name for other credentials is never replaced unless the person chose the name.
pub fn merge(old: &str, entry: &Entry) -> Result<String, String> {
    let mut doc = if old.trim().is_empty() {
        let mut m = Mapping::new();
        m.insert("apiVersion".into(), "v1".into());
        m.insert("kind".into(), "Config".into());
        m.insert("preferences".into(), Value::Mapping(Mapping::new()));
        m
    } else {
        match crate::kube_yaml::parse(old)? {
            Value::Mapping(m) => m,
            _ => return Err("the kubeconfig is not a YAML mapping: not changed".into()),
        }
    };
    check_context(&doc, entry)?;
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
    crate::kube_yaml::write(&Value::Mapping(doc))
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
    let region = args
        .region
        .clone()
        .unwrap_or_else(|| resolved.session.region.as_str().to_owned());
    let program = std::env::current_exe()
        .ok()
        .and_then(|p| p.to_str().map(str::to_owned))
        .unwrap_or_else(|| "rolecall".into());
    let access = Access {
        cluster: &args.cluster,
        account_id: &resolved.key.account_id,
        account_name: &resolved.account_name,
        role: &role,
        session: &resolved.session.name,
        region: &region,
        region_given: args.region.is_some(),
    };
    let entry = access.entry(
        server.as_str(),
        args.ca_data.clone(),
        program,
        args.context.clone(),
    );
    let context = entry.context.clone();
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
            context_chosen: false,
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

    fn access<'a>(account_id: &'a str, account_name: &'a str, role: &'a str) -> Access<'a> {
        Access {
            cluster: "demo",
            account_id,
            account_name,
            role,
            session: "corp",
            region: "eu-west-1",
            region_given: false,
        }
    }

    fn entry_for(access: &Access<'_>, context: Option<&str>) -> Entry {
        access.entry(
            "https://ABC.gr7.eu-west-1.eks.amazonaws.com/",
            Some("LS0t".into()),
            "/usr/bin/rolecall".into(),
            context.map(str::to_owned),
        )
    }

    fn named<'a>(doc: &'a Value, list: &str, name: &str) -> &'a Value {
        doc[list]
            .as_sequence()
            .expect("list")
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no {list} entry {name}"))
    }

    /// A cluster named like an entry of the person's own (`demo`, `prod`: names clusters
    /// share) must leave that entry alone: their contexts that use it would otherwise talk to
    /// this cluster.
    #[test]
    fn a_cluster_entry_of_the_persons_own_is_never_replaced() {
        let old = "clusters:\n- name: demo\n  cluster:\n    server: https://mine.example\ncontexts:\n- name: mine\n  context:\n    cluster: demo\n    user: me\nusers:\n- name: me\n  user:\n    token: abc\n";
        let entry = entry_for(&access("111111111111", "payments-prod", "Admin"), None);
        let doc: Value = serde_yaml::from_str(&merge(old, &entry).expect("merged")).expect("yaml");
        assert_eq!(
            named(&doc, "clusters", "demo")["cluster"]["server"],
            "https://mine.example"
        );
        assert_eq!(
            named(&doc, "contexts", "mine")["context"]["cluster"],
            "demo"
        );
        let ours = named(&doc, "contexts", &entry.context);
        assert_eq!(
            ours["context"]["cluster"],
            "rolecall:111111111111:eu-west-1:demo"
        );
        assert_eq!(
            named(&doc, "clusters", "rolecall:111111111111:eu-west-1:demo")["cluster"]["server"],
            "https://ABC.gr7.eu-west-1.eks.amazonaws.com"
        );
    }

    /// Two accounts of one name (two organisations' `prod`) read alike in a context's name;
    /// the second must not take over the first's context, or `kubectl --context` would act in
    /// the other account.
    #[test]
    fn two_accounts_named_alike_never_share_a_context() {
        let a = entry_for(&access("111111111111", "prod", "Admin"), None);
        let b = entry_for(&access("222222222222", "prod", "Admin"), None);
        assert_eq!(a.context, b.context, "their readable names are alike");
        assert_ne!((&a.cluster, &a.user), (&b.cluster, &b.user));
        let first = merge("", &a).expect("a");
        let refused = merge(&first, &b).expect_err("b would take a's context");
        assert!(refused.contains("--context"), "{refused}");

        let b = entry_for(&access("222222222222", "prod", "Admin"), Some("prod-b"));
        let doc: Value = serde_yaml::from_str(&merge(&first, &b).expect("named")).expect("yaml");
        let user_of = |context: &str| {
            let user = named(&doc, "contexts", context)["context"]["user"]
                .as_str()
                .expect("user")
                .to_owned();
            named(&doc, "users", &user)["user"]["exec"]["args"].clone()
        };
        assert!(
            user_of(&a.context)
                .as_sequence()
                .expect("args")
                .contains(&"111111111111".into())
        );
        assert!(
            user_of("prod-b")
                .as_sequence()
                .expect("args")
                .contains(&"222222222222".into())
        );
        assert_eq!(doc["current-context"], "prod-b");
    }

    /// Running the same command again, or after an earlier Rolecall named the entries
    /// otherwise, replaces its context: it is for the very same access.
    #[test]
    fn the_same_access_replaces_its_own_context() {
        let a = entry_for(&access("111111111111", "payments-prod", "Admin"), None);
        let once = merge("", &a).expect("once");
        assert_eq!(merge(&once, &a).expect("again"), once);
        let earlier = Entry {
            cluster: "demo".into(),
            user: a.context.clone(),
            ..a.clone()
        };
        let old = merge("", &earlier).expect("an earlier Rolecall's");
        merge(&old, &a).expect("the same token command: replaced");
    }

    #[test]
    fn names_that_hold_separators_never_run_together() {
        let x = Access {
            session: "a:b",
            ..access("111111111111", "p", "R")
        };
        let y = Access {
            session: "b",
            ..access("111111111111", "p", "R:a")
        };
        assert_ne!(entry_for(&x, None).user, entry_for(&y, None).user);
    }

    /// kubectl refused the whole file after a merge: the person's quoted `"no"` and `"on"` were
    /// written bare, which kubectl's YAML 1.1 reads as booleans.
    #[test]
    fn a_merge_keeps_the_persons_quoted_values_quoted() {
        let old = "contexts:\n- name: other\n  context:\n    cluster: other\n    user: me\n    namespace: \"no\"\nusers:\n- name: me\n  user:\n    exec:\n      command: x\n      env:\n      - name: FLAG\n        value: \"on\"\n";
        let new = merge(old, &entry()).expect("merged");
        assert!(new.contains("namespace: \"no\""), "{new}");
        assert!(new.contains("value: \"on\""), "{new}");
    }

    /// A 97 KB kubeconfig of nested `[ ]` kept `rolecall kubeconfig` reading for over 10 s.
    #[test]
    fn a_deeply_nested_kubeconfig_is_refused_at_once_and_never_written() {
        let deep = format!("x: {}{}\n", "[".repeat(48_000), "]".repeat(48_000));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(merge(&deep, &entry()));
        });
        // A liveness bound, not a speed measure.
        let answer = rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("answered, not stuck reading the file");
        assert!(answer.expect_err("refused").contains("not changed"));
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
