//! The catalogue of each session on disk (account ids, names, emails, role names: nothing
//! secret), so the app shows it at once on start and refreshes it in the background. Written
//! atomically; an unreadable cache is treated as absent, never as an error that stops the app.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::catalog::Catalog;
use crate::files::{Mode, read_regular_text, write_atomic};

/// 100,000 roles take about 15 MB; a cache larger than this is not ours.
const MAX_CATALOG: u64 = 256 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct CatalogCache {
    dir: PathBuf,
}

impl CatalogCache {
    pub fn new(cache_dir: &Path) -> Self {
        Self {
            dir: cache_dir.join("catalog"),
        }
    }

    fn path(&self, session: &str) -> PathBuf {
        let safe: String = session
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(40)
            .collect();
        let hash = hex::encode(&Sha256::digest(session.as_bytes())[..6]);
        self.dir.join(format!("{safe}-{hash}.json"))
    }

    /// The cached catalogue of `session` swept from `start_url` (a cache of another
    /// organisation that had the same session name is not used).
    pub fn load(&self, session: &str, start_url: &str) -> Option<Catalog> {
        let text = match read_regular_text(&self.path(session), MAX_CATALOG) {
            Ok(text) => text?,
            Err(e) => {
                tracing::warn!("ignoring the catalogue cache of {session}: {e}");
                return None;
            }
        };
        match serde_json::from_str::<Catalog>(&text) {
            Ok(c) if c.session == session && c.start_url == start_url => Some(c),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!("ignoring the unreadable catalogue cache of {session}: {e}");
                None
            }
        }
    }

    pub fn save(&self, catalog: &Catalog) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(catalog).map_err(std::io::Error::other)?;
        write_atomic(&self.path(&catalog.session), &json, Mode::Private)
    }

    pub fn remove(&self, session: &str) {
        let _ = std::fs::remove_file(self.path(session));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::AccountInfo;
    use crate::catalog::AccountRoles;

    #[test]
    fn round_trip_and_corruption() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = CatalogCache::new(dir.path());
        let url = "https://corp.awsapps.com/start";
        assert_eq!(cache.load("corp/prod", url), None);
        let catalog = Catalog {
            session: "corp/prod".into(),
            start_url: "https://corp.awsapps.com/start".into(),
            accounts: vec![AccountRoles {
                account: AccountInfo {
                    account_id: "111111111111".into(),
                    account_name: "a".into(),
                    email: "e".into(),
                },
                roles: vec!["Admin".into()],
            }],
            refreshed_at: std::time::SystemTime::UNIX_EPOCH,
        };
        cache.save(&catalog).expect("save");
        assert_eq!(cache.load("corp/prod", url), Some(catalog.clone()));
        assert_eq!(
            cache.load("corp/prod", "https://other.awsapps.com/start"),
            None,
            "another organisation's cache under the same name is not used"
        );
        std::fs::write(cache.path("corp/prod"), "{ not json").expect("corrupt it");
        let url = "https://corp.awsapps.com/start";
        assert_eq!(cache.load("corp/prod", url), None);
    }
}
