//! The app's "Long-term keys" banner and panel: the same look and the same retire flow as
//! `rolecall audit` and `rolecall retire` (both are `rolecall-core::keys`), shown in the
//! window. Key ids are masked; a secret key is never read into a view.

use std::sync::atomic::Ordering;

use rolecall_core::CoreError;
use rolecall_core::keys::{Deactivation, default_places};
use rolecall_engine::audit::Source;

use crate::desktop::Desktop;
use crate::view::{LongTermKeyView, LongTermKeysView, RetiredView};

impl Desktop {
    /// Looks again (the AWS files, the environment, the shell histories) and keeps the count
    /// for the banner. Cheap: no network.
    pub fn count_long_term_keys(&self) -> u32 {
        let env: Vec<(String, String)> = std::env::vars().collect();
        let found = rolecall_engine::audit::audit_places(&default_places(&env))
            .findings
            .len();
        let n = u32::try_from(found).unwrap_or(u32::MAX);
        self.long_term_keys.store(n, Ordering::Relaxed);
        n
    }

    /// The panel: each key with its account's name (STS) and last use (IAM), when a session
    /// is signed in.
    pub async fn long_term_keys_view(&self) -> LongTermKeysView {
        let env: Vec<(String, String)> = std::env::vars().collect();
        let (report, accounts_named) = self.core.long_term_keys(&default_places(&env)).await;
        self.long_term_keys.store(
            u32::try_from(report.findings.len()).unwrap_or(u32::MAX),
            Ordering::Relaxed,
        );
        let mut keys = Vec::new();
        let mut asked: std::collections::HashMap<String, Option<String>> = Default::default();
        for f in report.findings {
            let there = f
                .account_id
                .as_deref()
                .and_then(|a| self.core.session_with_account(a));
            // A key found in several places (the credentials file, the environment, a
            // history) is asked about once.
            let last_used = match (&f.account_id, asked.get(&f.full_key_id)) {
                (_, Some(known)) => known.clone(),
                (Some(a), None) => {
                    let used = self
                        .core
                        .key_last_used(a, &f.full_key_id)
                        .await
                        .map(|u| u.describe());
                    asked.insert(f.full_key_id.clone(), used.clone());
                    used
                }
                (None, None) => None,
            };
            keys.push(LongTermKeyView {
                found_in: f.where_(),
                source: serde_json::to_value(f.source)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                profile: (f.source == Source::AwsFile && !f.place.is_empty())
                    .then(|| f.place.clone()),
                used_by: f.profiles,
                key_id: f.key_id,
                account_id: f.account_id,
                account_name: f.account_name,
                session: there.as_ref().map(|(s, _)| s.name.clone()),
                roles: there.map(|(_, r)| r).unwrap_or_default(),
                last_used,
            });
        }
        LongTermKeysView {
            keys,
            accounts_named,
        }
    }

    /// Retire's button: `profile` gets `role` of `session` through `credential_process`, its key
    /// leaves `~/.aws/credentials` (a backup kept); `deactivate` then makes it inactive in IAM.
    pub async fn retire_key(
        &self,
        session: &str,
        profile: &str,
        role: &str,
        deactivate: bool,
    ) -> Result<RetiredView, CoreError> {
        let prepared = self
            .core
            .prepare_retire(Some(session), profile, None)
            .await?;
        // The CLI installed beside the app (`/usr/bin/rolecall` from the .deb), else the
        // one on PATH.
        let program = std::env::current_exe()
            .ok()
            .map(|p| p.with_file_name("rolecall"))
            .filter(|p| p.is_file())
            .and_then(|p| p.to_str().map(str::to_owned))
            .unwrap_or_else(|| "rolecall".into());
        let (resolved, plan) = self.core.plan_retire(&prepared, role, &program).await?;
        let retired = self.core.apply_retire(&prepared, &resolved, &plan).await?;
        self.count_long_term_keys();
        let mut message = format!(
            "Profile {} now gets {} in {} from IAM Identity Center; key {} is gone from {}",
            retired.profile,
            retired.role,
            retired.account_name,
            retired.masked_key,
            prepared.credentials_path.display()
        );
        if let Some(b) = &retired.credentials_backup {
            message.push_str(&format!(
                " (backup: {}, delete it once nothing broke)",
                b.display()
            ));
        }
        if !retired.dependents.is_empty() {
            message.push_str(&format!(
                ". Profiles {} take their credentials from it: their roles must trust {}",
                retired.dependents.join(", "),
                retired.role
            ));
        }
        let still_active = if deactivate {
            match self.core.deactivate_key(&prepared, &resolved).await {
                Deactivation::Done(used) => {
                    message.push_str(&format!(
                        ". The key ({}) is inactive in IAM now, not deleted",
                        used.describe()
                    ));
                    None
                }
                Deactivation::Refused { why, by_hand } => Some(format!(
                    "The key is still active: {why}. Make it inactive: {by_hand}"
                )),
            }
        } else {
            Some(format!(
                "The key is still active in IAM: make it inactive on {}",
                rolecall_core::Rolecall::iam_page(&prepared.session, None)
            ))
        };
        message.push('.');
        Ok(RetiredView {
            message,
            still_active,
        })
    }
}
