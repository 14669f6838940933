//! The organisation the simulator serves: accounts, the permission sets (roles) in each, the
//! IAM roles that can be reached from them by role chaining, and the one person who signs in.
//!
//! Three sources: a TOML fixture, the built-in `demo` company, and a generator for `N x M`
//! organisations used by benchmarks. This module only describes an organisation; it never
//! issues anything.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The person who signs in to the simulated access portal.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct User {
    /// Display name, shown on the approval page.
    pub name: String,
    /// The user name that ends assumed-role ARNs (`.../AWSReservedSSO_<role>_<hash>/<username>`).
    pub username: String,
}

impl Default for User {
    fn default() -> Self {
        Self {
            name: "Ada Lovelace".into(),
            username: "ada@example.com".into(),
        }
    }
}

/// One AWS account of the organisation.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Account {
    /// Twelve digits.
    pub id: String,
    pub name: String,
    pub email: String,
    /// Permission sets the user is assigned in this account, as the portal lists them.
    #[serde(default)]
    pub roles: Vec<String>,
    /// IAM role names in this account that any SSO role of the organisation may assume
    /// (role chaining through STS AssumeRole).
    #[serde(default)]
    pub chain_roles: Vec<String>,
    /// IAM users of this account; the operator route `POST /_sim/iam-keys` gives them
    /// long-term access keys (the kind Rolecall helps retire).
    #[serde(default)]
    pub iam_users: Vec<String>,
}

/// A whole organisation, as the simulator serves it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Organisation {
    #[serde(default = "default_org_name")]
    pub name: String,
    #[serde(default)]
    pub user: User,
    #[serde(default, rename = "accounts")]
    accounts: Vec<Account>,
    #[serde(skip)]
    index: HashMap<String, usize>,
}

fn default_org_name() -> String {
    "fixture".into()
}

/// Why an organisation could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    #[error("cannot read organisation file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("organisation file {path} is not valid TOML: {message}")]
    Parse { path: String, message: String },
    #[error("organisation is invalid: {0}")]
    Invalid(String),
    #[error(
        "unknown organisation {0:?}: expected `demo`, a TOML file, or `<accounts>x<roles>` such as `1000x3`"
    )]
    UnknownSpec(String),
}

impl Organisation {
    /// Builds an organisation from accounts, checking ids and names.
    pub fn new(
        name: impl Into<String>,
        user: User,
        accounts: Vec<Account>,
    ) -> Result<Self, OrgError> {
        let mut org = Self {
            name: name.into(),
            user,
            accounts,
            index: HashMap::new(),
        };
        org.reindex()?;
        Ok(org)
    }

    fn reindex(&mut self) -> Result<(), OrgError> {
        self.index.clear();
        for (i, account) in self.accounts.iter().enumerate() {
            if account.id.len() != 12 || !account.id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(OrgError::Invalid(format!(
                    "account id {:?} must be twelve digits",
                    account.id
                )));
            }
            if self.index.insert(account.id.clone(), i).is_some() {
                return Err(OrgError::Invalid(format!(
                    "account id {} appears twice",
                    account.id
                )));
            }
        }
        Ok(())
    }

    /// Parses a TOML fixture (see `fixtures/example-org.toml`).
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, OrgError> {
        let mut org: Organisation = toml::from_str(text).map_err(|e| OrgError::Parse {
            path: origin.to_owned(),
            message: e.to_string(),
        })?;
        org.reindex()?;
        Ok(org)
    }

    /// Loads `demo`, `<N>x<M>` or a path to a TOML file.
    pub fn from_spec(spec: &str) -> Result<Self, OrgError> {
        if spec == "demo" {
            return Ok(Self::demo());
        }
        if let Some((n, m)) = spec.split_once('x')
            && let (Ok(n), Ok(m)) = (n.parse::<usize>(), m.parse::<usize>())
        {
            return Ok(Self::generated(n, m));
        }
        let path = Path::new(spec);
        if path.extension().is_some_and(|e| e == "toml") || path.exists() {
            let text = std::fs::read_to_string(path).map_err(|source| OrgError::Read {
                path: spec.to_owned(),
                source,
            })?;
            return Self::from_toml(&text, spec);
        }
        Err(OrgError::UnknownSpec(spec.to_owned()))
    }

    /// Accounts in which the user has at least one role, in listing order.
    pub fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.accounts.iter().filter(|a| !a.roles.is_empty())
    }

    /// Every account, assigned or not (chain targets may live in unassigned accounts).
    pub fn all_accounts(&self) -> &[Account] {
        &self.accounts
    }

    pub fn account(&self, id: &str) -> Option<&Account> {
        self.index.get(id).map(|&i| &self.accounts[i])
    }

    /// Whether the user may get credentials for `role` in `account_id`.
    pub fn is_assigned(&self, account_id: &str, role: &str) -> bool {
        self.account(account_id)
            .is_some_and(|a| a.roles.iter().any(|r| r == role))
    }

    pub fn role_count(&self) -> usize {
        self.accounts().map(|a| a.roles.len()).sum()
    }

    /// An organisation of `n` accounts with `m` roles each, for benchmarks.
    pub fn generated(n: usize, m: usize) -> Self {
        let accounts = (0..n)
            .map(|i| Account {
                id: format!("{:012}", 100_000_000_000u64 + i as u64),
                name: format!("account-{i:05}"),
                email: format!("aws+account-{i:05}@example.com"),
                roles: (0..m).map(|j| format!("Role{j:02}")).collect(),
                chain_roles: vec!["OrganizationAccountAccessRole".into()],
                iam_users: Vec::new(),
            })
            .collect();
        Self::new(format!("{n}x{m}"), User::default(), accounts)
            .expect("generated account ids are unique twelve-digit numbers")
    }

    /// A company that looks real: a management account, shared services, product teams in
    /// prod/staging/dev, and personal sandboxes.
    pub fn demo() -> Self {
        let mut accounts = Vec::new();
        let mut add = |name: String, roles: &[&str], chain: &[&str]| {
            let id = demo_account_id(&name);
            // The IAM users a company that started before IAM Identity Center still has.
            let iam_users: &[&str] = match name.as_str() {
                "acme-management" => &["legacy-ci", "ada"],
                "payments-prod" => &["deploy-bot"],
                n if n.starts_with("sandbox-") => &["laptop"],
                _ => &[],
            };
            accounts.push(Account {
                email: format!("aws+{name}@acme-rockets.example"),
                id,
                name,
                roles: roles.iter().map(|s| (*s).to_owned()).collect(),
                chain_roles: chain.iter().map(|s| (*s).to_owned()).collect(),
                iam_users: iam_users.iter().map(|s| (*s).to_owned()).collect(),
            });
        };
        add(
            "acme-management".into(),
            &["AdministratorAccess", "Billing", "ReadOnlyAccess"],
            &["OrganizationAccountAccessRole"],
        );
        for shared in [
            "security-audit",
            "log-archive",
            "network-hub",
            "shared-services",
        ] {
            add(
                shared.into(),
                &["AdministratorAccess", "SecurityAudit", "ReadOnlyAccess"],
                &["OrganizationAccountAccessRole", "BreakGlass"],
            );
        }
        let teams = [
            "payments",
            "checkout",
            "identity",
            "search",
            "data-platform",
            "mobile-api",
            "web-frontend",
            "ml-training",
        ];
        for team in teams {
            for env in ["prod", "staging", "dev"] {
                let roles: &[&str] = match env {
                    "prod" => &["ReadOnlyAccess", "PowerUserAccess", "AdministratorAccess"],
                    "staging" => &["ReadOnlyAccess", "PowerUserAccess", "DeveloperAccess"],
                    _ => &["DeveloperAccess", "AdministratorAccess", "ReadOnlyAccess"],
                };
                add(
                    format!("{team}-{env}"),
                    roles,
                    &["OrganizationAccountAccessRole", "Deployer"],
                );
            }
        }
        for person in ["ada", "grace", "linus", "margaret", "ken"] {
            add(format!("sandbox-{person}"), &["AdministratorAccess"], &[]);
        }
        // An account the user has no assignment in: it must never be listed.
        add(
            "acme-legal-hold".into(),
            &[],
            &["OrganizationAccountAccessRole"],
        );
        Self::new("demo", User::default(), accounts).expect("demo account ids are unique")
    }
}

/// A stable twelve-digit id derived from an account name, so the demo is the same every run.
fn demo_account_id(name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    let mut n = u64::from_be_bytes(digest[..8].try_into().expect("eight bytes"));
    n %= 900_000_000_000;
    format!("{:012}", n + 100_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_looks_like_a_company() {
        let org = Organisation::demo();
        let listed: Vec<_> = org.accounts().collect();
        assert!(
            listed.len() >= 30,
            "a few dozen accounts, got {}",
            listed.len()
        );
        assert!(listed.iter().any(|a| a.name.ends_with("-prod")));
        assert!(listed.iter().any(|a| a.name.starts_with("sandbox-")));
        assert!(org.account(&demo_account_id("acme-legal-hold")).is_some());
        assert!(listed.iter().all(|a| a.name != "acme-legal-hold"));
        assert_eq!(Organisation::demo(), org, "the demo is deterministic");
    }

    #[test]
    fn generated_has_n_by_m() {
        let org = Organisation::generated(1000, 3);
        assert_eq!(org.accounts().count(), 1000);
        assert_eq!(org.role_count(), 3000);
        assert!(org.is_assigned("100000000999", "Role02"));
        assert!(!org.is_assigned("100000000999", "Role03"));
    }

    #[test]
    fn fixture_parses_and_rejects_bad_ids() {
        let org = Organisation::from_toml(
            r#"
            name = "tiny"
            [user]
            name = "Grace Hopper"
            username = "grace@example.com"
            [[accounts]]
            id = "123456789012"
            name = "prod"
            email = "prod@example.com"
            roles = ["Admin"]
            "#,
            "inline",
        )
        .expect("valid fixture");
        assert_eq!(org.user.username, "grace@example.com");
        assert!(org.is_assigned("123456789012", "Admin"));

        let bad = Organisation::from_toml(
            "[[accounts]]\nid = \"12\"\nname = \"x\"\nemail = \"x@e\"\n",
            "inline",
        );
        assert!(matches!(bad, Err(OrgError::Invalid(_))));
        assert!(matches!(
            Organisation::from_spec("nonsense"),
            Err(OrgError::UnknownSpec(_))
        ));
        assert_eq!(
            Organisation::from_spec("4x2").expect("spec").role_count(),
            8
        );
    }
}

#[cfg(test)]
mod fixture_file_tests {
    #[test]
    fn the_shipped_example_fixture_loads() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/example-org.toml");
        let org = super::Organisation::from_spec(path).expect("example fixture");
        assert_eq!(
            org.accounts().count(),
            2,
            "the account without roles is not listed"
        );
        assert_eq!(org.all_accounts().len(), 3);
    }
}
