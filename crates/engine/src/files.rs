//! Where Rolecall keeps its (non-secret) files, and how it writes them: atomically, through a
//! temporary file in the same folder that replaces the target in one rename, so a crash or a
//! full disk never leaves a half-written file.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The platform folders for config and cache (`~/.config/rolecall`, `~/.cache/rolecall` on
/// Linux, honouring `XDG_CONFIG_HOME` / `XDG_CACHE_HOME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirs {
    pub config: PathBuf,
    pub cache: PathBuf,
}

impl Dirs {
    pub fn platform() -> Option<Self> {
        let dirs = directories::ProjectDirs::from("", "", "rolecall")?;
        Some(Self {
            config: dirs.config_dir().to_path_buf(),
            cache: dirs.cache_dir().to_path_buf(),
        })
    }

    /// `ROLECALL_HOME` (config and cache under one folder), else the platform folders, else a
    /// folder in the temporary directory.
    pub fn from_env() -> Self {
        if let Some(home) = std::env::var_os("ROLECALL_HOME").filter(|h| !h.is_empty()) {
            return Self::under(Path::new(&home));
        }
        Self::platform().unwrap_or_else(|| Self::under(&std::env::temp_dir().join("rolecall")))
    }

    /// Both under one folder (tests, portable runs).
    pub fn under(root: &Path) -> Self {
        Self {
            config: root.join("config"),
            cache: root.join("cache"),
        }
    }
}

/// Writes `bytes` to `path` atomically, creating the folder if needed. With `private`, the file
/// is readable by its owner only (0600 on Unix).
pub fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".rolecall-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if private {
            0o600
        } else {
            // Keep the mode of the file we replace, or the usual 0644.
            std::fs::metadata(path)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0o644)
        };
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = private;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_whole_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/file.txt");
        write_atomic(&path, b"first", false).expect("write");
        write_atomic(&path, b"second", true).expect("write");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "second");
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
            .expect("ls")
            .collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
                0o600
            );
        }
    }
}
