//! What a process holding secrets asks of the kernel before it holds any, as ssh-agent and
//! gpg-agent do: no core file (a crash would write every token and key in memory to disk), and
//! not dumpable, which on Linux also means that other processes of the same user cannot attach
//! to it with ptrace or read its memory through `/proc/<pid>/mem` (only root can). Children it
//! starts (a browser, `exec`'s command) are dumpable again: the flag is reset on `execve`.
//!
//! Swap is left to the system: locking all memory (`mlockall`) is bounded by `RLIMIT_MEMLOCK`
//! (8 MiB by default), which the desktop app's WebKit alone exceeds, and failing there would
//! fail the app. A system that must keep secrets off disk encrypts its swap or has none.

/// Makes this process keep its secrets: core files off (`RLIMIT_CORE` 0, soft and hard) and,
/// on Linux, not dumpable. Call it first in `main`. Each step that fails is logged, never fatal:
/// a system without one of these is no worse off than before.
pub fn keep_secrets_in_this_process() {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, setrlimit};
        let none = Rlimit {
            current: Some(0),
            maximum: Some(0),
        };
        if let Err(e) = setrlimit(Resource::Core, none) {
            tracing::warn!("could not turn core files off ({e})");
        }
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::process::{DumpableBehavior, set_dumpable_behavior};
        if let Err(e) = set_dumpable_behavior(DumpableBehavior::NotDumpable) {
            tracing::warn!("could not make this process non-dumpable ({e})");
        }
    }
}

/// Whether this process is dumpable now (Linux): what the test checks.
#[cfg(all(test, target_os = "linux"))]
fn is_dumpable() -> bool {
    !matches!(
        rustix::process::dumpable_behavior(),
        Ok(rustix::process::DumpableBehavior::NotDumpable)
    )
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// In a child of this test binary (the flag is the whole process's, and stays).
    #[test]
    fn a_process_that_keeps_its_secrets_has_no_core_and_is_not_dumpable() {
        if std::env::var_os("ROLECALL_HARDEN_CHILD").is_some() {
            keep_secrets_in_this_process();
            let core = rustix::process::getrlimit(rustix::process::Resource::Core);
            assert_eq!((core.current, core.maximum), (Some(0), Some(0)));
            assert!(!is_dumpable());
            println!("CHILD-OK");
            return;
        }
        let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "hardening::tests::a_process_that_keeps_its_secrets_has_no_core_and_is_not_dumpable",
                "--nocapture",
            ])
            .env("ROLECALL_HARDEN_CHILD", "1")
            .output()
            .expect("child runs");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("CHILD-OK"),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
