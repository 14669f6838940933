//! The agent socket's folder and peer: only this user, on both ends.
//!
//! The folder must be a real folder (not a link) owned by this user with no access for group
//! or others; the agent makes it so when it creates it, and both the agent and the CLI refuse
//! one that is not (another user who made the folder first could otherwise serve the CLI
//! credentials and URLs of their choosing). Each end also asks the kernel who is on the other
//! end of the socket (SO_PEERCRED) and talks only to its own user.

use std::path::Path;

/// This process's effective user id.
#[cfg(unix)]
pub fn my_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Why `dir` cannot hold the agent socket, if it cannot.
#[cfg(unix)]
pub fn check(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(dir)
        .map_err(|e| format!("cannot inspect {}: {e}", dir.display()))?;
    let advice =
        "remove it, or point XDG_RUNTIME_DIR or ROLECALL_AGENT_SOCKET at a folder of your own";
    if meta.file_type().is_symlink() || !meta.is_dir() {
        return Err(format!(
            "{} is not a folder (a link or a file): the agent socket will not be used there; {advice}",
            dir.display()
        ));
    }
    if meta.uid() != my_uid() {
        return Err(format!(
            "{} belongs to uid {}, not to you (uid {}): the agent socket will not be used there; {advice}",
            dir.display(),
            meta.uid(),
            my_uid()
        ));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(format!(
            "{} is open to other users (mode {:o}): the agent socket will not be used there; {advice}",
            dir.display(),
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

/// Makes `dir` (0700) if it is missing, tightens it if it is ours and only readable by others,
/// then [`check`]s it.
#[cfg(unix)]
pub fn prepare(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            if let Ok(meta) = std::fs::symlink_metadata(dir)
                && meta.is_dir()
                && meta.uid() == my_uid()
                && meta.mode() & 0o022 == 0
                && meta.mode() & 0o077 != 0
            {
                // Ours, and nobody else could write in it: only too readable.
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                    .map_err(|e| format!("cannot restrict {}: {e}", dir.display()))?;
            }
        }
        Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
    }
    check(dir)
}

/// Refuses a peer that is not this user.
#[cfg(unix)]
pub fn check_peer(stream: &tokio::net::UnixStream) -> Result<(), String> {
    let cred = stream
        .peer_cred()
        .map_err(|e| format!("cannot tell who is on the other end of the agent socket: {e}"))?;
    if cred.uid() != my_uid() {
        return Err(format!(
            "the other end of the agent socket is uid {}, not you (uid {})",
            cred.uid(),
            my_uid()
        ));
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_folder_open_to_others_or_a_link_is_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("rolecall");
        prepare(&dir).expect("made private");
        let mode = std::fs::metadata(&dir).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);

        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        prepare(&dir).expect("only readable by others: tightened");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let err = prepare(&dir).expect_err("writable by others: refused");
        assert!(err.contains("open to other users"), "{err}");

        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).expect("symlink");
        let err = check(&link).expect_err("a link is refused");
        assert!(err.contains("not a folder"), "{err}");
    }
}
