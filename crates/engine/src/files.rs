//! Where Rolecall keeps its (non-secret) files, and how it reads and writes them like a careful
//! Unix program:
//!
//! - **Reads** open without blocking and look at what was opened: anything but a regular file
//!   (a FIFO, a device, a folder) is refused with a sentence, so a stray `mkfifo` never hangs
//!   `rolecall ls`; a file larger than the caller's bound is refused too.
//! - **Writes** are atomic: a temporary file in the same folder replaces the target in one
//!   rename, so a crash or a full disk never leaves a half-written file. A target that is a
//!   symbolic link (dotfile managers) is written *through*: the link stays and its target is
//!   replaced, keeping the target's mode.

use std::io::{Read, Write};
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

/// Reads a regular file of at most `limit` bytes. `Ok(None)` when there is no file.
///
/// The file is opened with `O_NONBLOCK`, so opening a FIFO returns at once, and checked on the
/// opened descriptor (no race between a check and the open): a FIFO, a device or a folder is an
/// error of kind `InvalidInput` whose text says what it is.
pub fn read_regular(path: &Path, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is {}, not a regular file", path.display(), kind(&meta)),
        ));
    }
    if meta.len() > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{} is {} bytes, more than the {limit} a file of this kind may have",
                path.display(),
                meta.len()
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{} grew past {limit} bytes while being read",
                path.display()
            ),
        ));
    }
    Ok(Some(bytes))
}

/// [`read_regular`] as UTF-8 text; a file that is not UTF-8 is an `InvalidData` error naming the
/// byte offset of the first bad byte.
pub fn read_regular_text(path: &Path, limit: u64) -> std::io::Result<Option<String>> {
    let Some(bytes) = read_regular(path, limit)? else {
        return Ok(None);
    };
    String::from_utf8(bytes).map(Some).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} is not UTF-8 text (a bad byte at offset {})",
                path.display(),
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

fn kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
    }
    if meta.is_dir() {
        "a folder"
    } else {
        "a special file"
    }
}

/// How [`write_atomic`] sets the mode of the file it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Readable by its owner only (0600), whatever it was.
    Private,
    /// The mode of the file replaced; 0644 for a new file.
    Keep,
    /// The mode of the file replaced; 0600 for a new file.
    KeepOrPrivate,
}

/// Where a write to `path` must land: the final target of a symbolic link (relative links are
/// resolved against the link's folder), else `path` itself.
pub fn write_target(path: &Path) -> std::io::Result<PathBuf> {
    let mut target = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&target) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&target)?;
                target = match target.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(target),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("{} is a loop of symbolic links", path.display()),
    ))
}

/// Writes `bytes` to `path` atomically, creating the folder if needed. A symbolic link is
/// written through (see the module's notes); anything else that is not a regular file is
/// refused rather than replaced.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: Mode) -> std::io::Result<()> {
    let target = write_target(path)?;
    let existing = match std::fs::metadata(&target) {
        Ok(m) if !m.is_file() => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "{} is {}, not a regular file: not replaced",
                    target.display(),
                    kind(&m)
                ),
            ));
        }
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let dir = target
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
        let kept = existing.as_ref().map(|m| m.permissions().mode() & 0o7777);
        let bits = match mode {
            Mode::Private => 0o600,
            Mode::Keep => kept.unwrap_or(0o644),
            Mode::KeepOrPrivate => kept.unwrap_or(0o600),
        };
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(bits))?;
    }
    #[cfg(not(unix))]
    let _ = (mode, &existing);
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(&target).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode_of(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).expect("meta").permissions().mode() & 0o777
    }

    #[test]
    fn writes_replace_whole_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/file.txt");
        write_atomic(&path, b"first", Mode::Keep).expect("write");
        write_atomic(&path, b"second", Mode::Private).expect("write");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "second");
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
            .expect("ls")
            .collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
        #[cfg(unix)]
        assert_eq!(mode_of(&path), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_file_is_written_through_keeping_the_targets_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let dotfiles = dir.path().join("dotfiles");
        std::fs::create_dir(&dotfiles).expect("mkdir");
        let real = dotfiles.join("aws-config");
        std::fs::write(&real, "old").expect("write");
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let aws = dir.path().join(".aws");
        std::fs::create_dir(&aws).expect("mkdir");
        let link = aws.join("config");
        std::os::unix::fs::symlink("../dotfiles/aws-config", &link).expect("symlink");

        write_atomic(&link, b"new", Mode::KeepOrPrivate).expect("write through");
        assert!(
            std::fs::symlink_metadata(&link)
                .expect("lstat")
                .file_type()
                .is_symlink(),
            "the link is still a link"
        );
        assert_eq!(std::fs::read_to_string(&real).expect("read"), "new");
        assert_eq!(mode_of(&real), 0o640, "the target keeps its mode");
        let stray: Vec<_> = std::fs::read_dir(&aws).expect("ls").collect();
        assert_eq!(stray.len(), 1, "nothing written beside the link");
    }

    #[cfg(unix)]
    #[test]
    fn fifos_and_folders_are_refused_without_blocking() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("config.toml");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from(0o600))
            .expect("mkfifo");
        let err = read_regular(&fifo, 1024).expect_err("a FIFO is refused");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("FIFO"), "{err}");
        let err = write_atomic(&fifo, b"x", Mode::Keep).expect_err("not replaced");
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let err = read_regular(dir.path(), 1024).expect_err("a folder is refused");
        assert!(err.to_string().contains("folder"), "{err}");
        let null = read_regular(Path::new("/dev/null"), 1024).expect_err("a device");
        assert!(null.to_string().contains("device"), "{null}");
        assert_eq!(
            read_regular(&dir.path().join("absent"), 10).expect("absent"),
            None
        );
    }

    #[test]
    fn size_and_encoding_are_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; 100]).expect("write");
        assert!(read_regular(&big, 99).is_err());
        assert_eq!(
            read_regular(&big, 100).expect("fits").map(|b| b.len()),
            Some(100)
        );
        let latin1 = dir.path().join("latin1");
        std::fs::write(&latin1, b"name = \"caf\xe9\"\n").expect("write");
        let err = read_regular_text(&latin1, 1024).expect_err("not UTF-8");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("offset 11"), "{err}");
    }
}
