//! The config file on disk: read as a regular file only (never a FIFO or a device), changed
//! only through [`ConfigFile::update`], which reads the file again under a lock, refuses while
//! it has any problem, and writes only the keys that changed.

use std::path::{Path, PathBuf};

use super::{Config, ConfigError, edit};
use crate::files::{Mode, read_regular, write_atomic};

/// A config file is small; anything larger is not one.
const MAX_CONFIG: u64 = 1024 * 1024;

const HEADER: &str = "# Rolecall configuration. Secrets are never stored here.\n";

/// The config file on disk.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: PathBuf,
}

impl ConfigFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// `config.toml` in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self::new(dir.join("config.toml"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn io(&self, e: impl std::fmt::Display) -> ConfigError {
        ConfigError::Io {
            path: self.name(),
            message: e.to_string(),
        }
    }

    /// The file's text, `None` when there is none yet. A FIFO, a device, an oversized file or
    /// a byte that is not UTF-8 is an error naming where.
    fn read_text(&self) -> Result<Option<String>, ConfigError> {
        let Some(bytes) = read_regular(&self.path, MAX_CONFIG).map_err(|e| self.io(e))? else {
            return Ok(None);
        };
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Some(text)),
            Err(e) => {
                let offset = e.utf8_error().valid_up_to();
                let bytes = e.as_bytes();
                let valid = String::from_utf8_lossy(&bytes[..offset]);
                let (line, column) = super::line_col(&valid, valid.len());
                Err(ConfigError::Parse {
                    path: self.name(),
                    line,
                    column,
                    message: format!(
                        "byte 0x{:02x} is not UTF-8 (save the file as UTF-8)",
                        bytes[offset]
                    ),
                })
            }
        }
    }

    /// The config; defaults when there is no file yet.
    pub fn load(&self) -> Result<Config, ConfigError> {
        match self.read_text()? {
            Some(text) => Config::parse(&text, &self.name()),
            None => Ok(Config::default()),
        }
    }

    /// The config, or defaults and the reason when the file is unusable: the app starts either way.
    pub fn load_or_default(&self) -> (Config, Option<ConfigError>) {
        match self.load() {
            Ok(c) => (c, None),
            Err(e) => {
                tracing::warn!("{e}");
                (Config::default(), Some(e))
            }
        }
    }

    /// Changes the config on disk: reads the file again (another process may have changed it),
    /// applies `change`, validates, and writes only what changed, keeping the person's
    /// comments, order and unknown keys. While the file has any problem nothing is written and
    /// the problem is the error. Two processes updating at once take turns (a lock file).
    /// Returns the new config and what `change` returned.
    pub fn update<T>(
        &self,
        change: impl FnOnce(&mut Config) -> T,
    ) -> Result<(Config, T), ConfigError> {
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| self.io(e))?;
        let lock_path = dir.join(".config.toml.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| self.io(format!("{}: {e}", lock_path.display())))?;
        lock.lock().map_err(|e| self.io(e))?;

        let text = self.read_text()?;
        let base = match &text {
            Some(t) => Config::parse(t, &self.name())?,
            None => Config::default(),
        };
        let mut next = base.clone();
        let out = change(&mut next);
        if next.needed_version() > next.version.unwrap_or(1) {
            next.version = Some(next.needed_version());
        }
        next.validate().map_err(|message| ConfigError::Invalid {
            path: self.name(),
            message,
        })?;
        if next == base && text.is_some() {
            return Ok((next, out));
        }
        let new_text = match &text {
            Some(t) => edit::merge(t, &base, &next).map_err(|e| self.io(e))?,
            None => format!("{HEADER}{}", next.to_toml()),
        };
        match Config::parse(&new_text, &self.name()) {
            Ok(read_back) if read_back == next => {}
            _ => {
                return Err(self.io(
                    "the edited file would not read back as intended, so it was not written (a bug in Rolecall: please report it)",
                ));
            }
        }
        write_atomic(&self.path, new_text.as_bytes(), Mode::Keep).map_err(|e| self.io(e))?;
        Ok((next, out))
    }
}
