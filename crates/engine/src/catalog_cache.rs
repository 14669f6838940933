//! The catalogue of each session on disk (account ids, names, emails, role names: nothing
//! secret), so the app shows it at once on start and refreshes it in the background. Written
//! atomically; an unreadable cache is treated as absent, never as an error that stops the app.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::catalog::Catalog;
use crate::files::write_atomic;

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

    pub fn load(&self, session: &str) -> Option<Catalog> {
        let text = std::fs::read_to_string(self.path(session)).ok()?;
        match serde_json::from_str::<Catalog>(&text) {
            Ok(c) if c.session == session => Some(c),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!("ignoring the unreadable catalogue cache of {session}: {e}");
                None
            }
        }
    }

    pub fn save(&self, catalog: &Catalog) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(catalog).map_err(std::io::Error::other)?;
        write_atomic(&self.path(&catalog.session), &json, true)
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
        assert_eq!(cache.load("corp/prod"), None);
        let catalog = Catalog {
            session: "corp/prod".into(),
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
        assert_eq!(cache.load("corp/prod"), Some(catalog.clone()));
        std::fs::write(cache.path("corp/prod"), "{ not json").expect("corrupt it");
        assert_eq!(cache.load("corp/prod"), None);
    }
}
