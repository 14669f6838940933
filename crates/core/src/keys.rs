//! Long-term access keys, for the CLI (`rolecall audit`, `rolecall retire`) and the app's
//! "Long-term keys" panel alike: finding them (with the account each belongs to), and retiring
//! a profile's key: its profile moved onto `credential_process`, the key removed from
//! `~/.aws/credentials` (a backup kept), then made inactive in IAM.

use std::path::{Path, PathBuf};

use rolecall_engine::api::{KeyLastUse, RoleCredentials};
use rolecall_engine::audit::{self, Finding, Places, Report, mask};
use rolecall_engine::aws_config::{self, MAX_AWS_CONFIG};
use rolecall_engine::session::SsoSession;
use rolecall_engine::vault::RoleKey;

use crate::retire::{self, Plan, StaticKey, Target};
use crate::{CoreError, Resolved, Rolecall};

/// `AWS_CONFIG_FILE` or `~/.aws/config`; `AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`.
pub fn aws_files(env: impl Fn(&str) -> Option<String>) -> (Option<PathBuf>, Option<PathBuf>) {
    let get = |k: &str| env(k).filter(|v| !v.is_empty());
    let home = get("HOME").map(PathBuf::from);
    let config = aws_config::default_path(get);
    let credentials = get("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".aws").join("credentials")));
    (config, credentials)
}

/// Where the app and a plain `rolecall audit` look: the AWS files, the environment, and the
/// shell histories.
pub fn default_places(env: &[(String, String)]) -> Places {
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let (config, credentials) = aws_files(get);
    Places {
        config,
        credentials,
        env: env.to_vec(),
        histories: audit::history_files(get),
        trees: Vec::new(),
    }
}

fn read(path: &Path) -> Result<String, CoreError> {
    rolecall_engine::files::read_regular_text(path, MAX_AWS_CONFIG)
        .map(Option::unwrap_or_default)
        .map_err(|e| CoreError::Invalid(format!("cannot read {}: {e}", path.display())))
}

/// A retire worked out and not yet written.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub profile: String,
    pub key: StaticKey,
    pub session: SsoSession,
    pub account_id: String,
    pub account_name: String,
    /// The roles the person has in that account.
    pub roles: Vec<String>,
    pub config_path: PathBuf,
    pub credentials_path: PathBuf,
    config: String,
    credentials: String,
}

impl Prepared {
    pub fn masked_key(&self) -> String {
        mask(&self.key.key_id)
    }
    pub fn config_text(&self) -> &str {
        &self.config
    }
    pub fn credentials_text(&self) -> &str {
        &self.credentials
    }
}

/// What a retire did.
#[derive(Debug, Clone)]
pub struct Retired {
    pub profile: String,
    pub masked_key: String,
    pub account_name: String,
    pub role: String,
    pub credentials_backup: Option<PathBuf>,
    pub dependents: Vec<String>,
}

/// How deactivating went.
#[derive(Debug, Clone)]
pub enum Deactivation {
    Done(KeyLastUse),
    /// The role may not (or IAM could not be asked): what to do by hand.
    Refused {
        why: String,
        by_hand: String,
    },
}

impl Rolecall {
    /// Credentials of some role of a signed-in session (a read-only one when there is one),
    /// for STS `GetAccessKeyInfo`, which any caller may ask. Never signs in.
    pub async fn any_role_credentials(&self, session: &SsoSession) -> Option<RoleCredentials> {
        if !self.signin().status(session).signed_in {
            return None;
        }
        let catalog = self.catalog(&session.name)?;
        let mut keys: Vec<RoleKey> = catalog
            .accounts
            .iter()
            .flat_map(|a| {
                a.roles
                    .iter()
                    .map(|r| RoleKey::new(&session.name, &a.account.account_id, r))
            })
            .collect();
        keys.sort_by_key(|k| !k.role.contains("ReadOnly"));
        let key = keys.into_iter().next()?;
        let resolved = self.resolve_exact(&key).await.ok()?;
        self.credentials(&resolved).await.ok()
    }

    /// The first session whose catalogue holds `account_id`, and the person's roles there.
    pub fn session_with_account(&self, account_id: &str) -> Option<(SsoSession, Vec<String>)> {
        self.sessions().into_iter().find_map(|s| {
            let catalog = self.catalog(&s.name)?;
            let roles = catalog
                .accounts
                .iter()
                .find(|a| a.account.account_id == account_id)?
                .roles
                .clone();
            Some((s, roles))
        })
    }

    /// A key's last use, asked with a role of its account (a read-only one when there is
    /// one); None when no signed-in session has a role there or IAM would not say.
    pub async fn key_last_used(&self, account_id: &str, key_id: &str) -> Option<KeyLastUse> {
        let (session, mut roles) = self.session_with_account(account_id)?;
        if !self.signin().status(&session).signed_in {
            return None;
        }
        roles.sort_by_key(|r| !r.contains("ReadOnly"));
        let resolved = self
            .resolve_exact(&RoleKey::new(&session.name, account_id, roles.first()?))
            .await
            .ok()?;
        let creds = self.credentials(&resolved).await.ok()?;
        self.parts
            .connector
            .keys(&session)
            .last_used(&creds, key_id)
            .await
            .ok()
    }

    /// Fills in each finding's account (and its name from the catalogue) with the first
    /// signed-in session that can ask STS. False when no session could.
    pub async fn name_key_accounts(&self, findings: &mut [Finding]) -> bool {
        for session in self.sessions() {
            let Some(creds) = self.any_role_credentials(&session).await else {
                continue;
            };
            let keys = self.parts.connector.keys(&session);
            for f in findings.iter_mut() {
                if let Ok(account) = keys.account_of(&creds, &f.full_key_id).await {
                    f.account_name = self
                        .sessions()
                        .iter()
                        .map(|s| self.account_name(&s.name, &account))
                        .find(|n| *n != account);
                    f.account_id = Some(account);
                }
            }
            return true;
        }
        false
    }

    /// The audit of `places`, accounts named when a session is signed in.
    pub async fn long_term_keys(&self, places: &Places) -> (Report, bool) {
        let mut report = audit::audit_places(places);
        let named =
            report.findings.is_empty() || self.name_key_accounts(&mut report.findings).await;
        (report, named)
    }

    /// Reads the AWS files, finds `profile`'s long-term key and the account it is of (given,
    /// or STS's answer), with the person's roles there.
    pub async fn prepare_retire(
        &self,
        session: Option<&str>,
        profile: &str,
        account: Option<&str>,
    ) -> Result<Prepared, CoreError> {
        let (config_path, credentials_path) = aws_files(|k| std::env::var(k).ok());
        let config_path =
            config_path.ok_or_else(|| CoreError::Invalid("cannot find ~/.aws/config".into()))?;
        let credentials_path = credentials_path
            .ok_or_else(|| CoreError::Invalid("cannot find ~/.aws/credentials".into()))?;
        let config = read(&config_path)?;
        let credentials = read(&credentials_path)?;
        let key = retire::static_key(profile, &config, &credentials).map_err(CoreError::Invalid)?;
        let masked = mask(&key.key_id);
        let s = self.session(session)?;
        let account = match account {
            Some(a) => a.to_owned(),
            None => {
                let creds = self.any_role_credentials(&s).await.ok_or_else(|| {
                    CoreError::Invalid(format!(
                        "sign in to session {} first: retiring asks STS which account key {masked} is of",
                        s.name
                    ))
                })?;
                self.parts
                    .connector
                    .keys(&s)
                    .account_of(&creds, &key.key_id)
                    .await
                    .map_err(|e| {
                        CoreError::Api(format!(
                            "STS could not say which account key {masked} is of (name the account): {e}"
                        ))
                    })?
            }
        };
        let catalog = self.catalog_or_sweep(&s).await?;
        let entry = catalog
            .accounts
            .iter()
            .find(|a| a.account.account_id == account || a.account.account_name == account)
            .ok_or_else(|| {
                CoreError::Invalid(format!(
                    "key {masked} is of account {account}, where session {} gives you no role: retire it with the session of that account, or ask for a role there",
                    s.name
                ))
            })?;
        Ok(Prepared {
            profile: profile.to_owned(),
            key,
            account_id: entry.account.account_id.clone(),
            account_name: entry.account.account_name.clone(),
            roles: entry.roles.clone(),
            session: s,
            config_path,
            credentials_path,
            config,
            credentials,
        })
    }

    /// The role `role` of the prepared account, and the plan for it; `program` is the
    /// `rolecall` CLI the profile runs.
    pub async fn plan_retire(
        &self,
        prepared: &Prepared,
        role: &str,
        program: &str,
    ) -> Result<(Resolved, Plan), CoreError> {
        let resolved = self
            .resolve(Some(&prepared.session.name), &prepared.account_id, role)
            .await?;
        let now = time::OffsetDateTime::from(self.clock().now());
        let date = format!(
            "{:04}-{:02}-{:02}",
            now.year(),
            u8::from(now.month()),
            now.day()
        );
        let plan = retire::plan(
            &prepared.profile,
            &Target {
                program,
                session: &resolved.session.name,
                account_id: &resolved.key.account_id,
                role: &resolved.key.role,
                date: &date,
            },
            &prepared.config,
            &prepared.credentials,
        )
        .map_err(CoreError::Invalid)?;
        Ok((resolved, plan))
    }

    /// Writes the plan: only after the role gave credentials, and only when neither file
    /// changed since it was read. The config first: if the credentials file then cannot be
    /// written, the profile still works (its key still wins in every AWS tool).
    pub async fn apply_retire(
        &self,
        prepared: &Prepared,
        resolved: &Resolved,
        plan: &Plan,
    ) -> Result<Retired, CoreError> {
        self.credentials(resolved).await?;
        for (path, was) in [
            (&prepared.config_path, &prepared.config),
            (&prepared.credentials_path, &prepared.credentials),
        ] {
            if read(path)? != *was {
                return Err(CoreError::Invalid(format!(
                    "{} changed while Rolecall was retiring the key: nothing written; try again",
                    path.display()
                )));
            }
        }
        fn had(text: &str) -> Option<&str> {
            (!text.is_empty()).then_some(text)
        }
        crate::profiles::write(&prepared.config_path, had(&prepared.config), &plan.config)
            .map_err(|e| {
                CoreError::Invalid(format!(
                    "cannot write {}: {e}; nothing changed",
                    prepared.config_path.display()
                ))
            })?;
        let credentials_backup = match &plan.credentials {
            Some(new) => crate::profiles::write(
                &prepared.credentials_path,
                had(&prepared.credentials),
                new,
            )
            .map_err(|e| {
                CoreError::Invalid(format!(
                    "cannot write {}: {e}; the profile works through Rolecall already, but the key is still in that file",
                    prepared.credentials_path.display()
                ))
            })?,
            None => None,
        };
        Ok(Retired {
            profile: prepared.profile.clone(),
            masked_key: prepared.masked_key(),
            account_name: prepared.account_name.clone(),
            role: resolved.key.role.clone(),
            credentials_backup,
            dependents: plan.dependents.clone(),
        })
    }

    /// The IAM console page of a user's keys, in the session's partition.
    pub fn iam_page(session: &SsoSession, user: Option<&str>) -> String {
        let host = session.region.partition().console_host(&session.region);
        match user {
            Some(u) => format!(
                "https://{host}/iam/home#/users/details/{}?section=security_credentials",
                url::form_urlencoded::byte_serialize(u.as_bytes()).collect::<String>()
            ),
            None => format!("https://{host}/iam/home#/users"),
        }
    }

    /// Shows the key's last use and makes it inactive, with `with` (a role of the key's
    /// account allowed to change IAM keys).
    pub async fn deactivate_key(&self, prepared: &Prepared, with: &Resolved) -> Deactivation {
        let key_id = &prepared.key.key_id;
        let by_hand = |user: Option<&str>| {
            format!(
                "`aws iam update-access-key --access-key-id {key_id} --status Inactive{}` with a role allowed to, or on {}",
                user.map(|u| format!(" --user-name {u}"))
                    .unwrap_or_default(),
                Self::iam_page(&prepared.session, user)
            )
        };
        let creds = match self.credentials(with).await {
            Ok(c) => c,
            Err(e) => {
                return Deactivation::Refused {
                    why: e.to_string(),
                    by_hand: by_hand(None),
                };
            }
        };
        let keys = self.parts.connector.keys(&prepared.session);
        let used = match keys.last_used(&creds, key_id).await {
            Ok(u) => u,
            Err(e) => {
                return Deactivation::Refused {
                    why: format!("{} may not read the key in IAM: {e}", with.key.role),
                    by_hand: by_hand(None),
                };
            }
        };
        let user = (!used.user_name.is_empty()).then_some(used.user_name.as_str());
        match keys.deactivate(&creds, key_id, user).await {
            Ok(()) => Deactivation::Done(used),
            Err(e) => Deactivation::Refused {
                why: format!("{} may not make the key inactive: {e}", with.key.role),
                by_hand: by_hand(user),
            },
        }
    }
}
