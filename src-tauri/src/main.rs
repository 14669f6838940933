// The one unsafe call in Rolecall (the workspace denies unsafe code): setting a variable of
// the process environment, which is only sound while no other thread exists.
#![allow(unsafe_code)]

/// Every heap block of Rust's is wiped when it is freed (as in the CLI): the copies of a secret
/// that pass through buffers leave nothing behind once they are dropped.
#[global_allocator]
static ALLOCATOR: zeroizing_alloc::ZeroAlloc<std::alloc::System> =
    zeroizing_alloc::ZeroAlloc(std::alloc::System);

fn main() {
    // Rolecall's windows are a list and a few forms: WebKit's GPU compositing buys them
    // nothing and costs about 100 MiB per open window, and some start-up time
    // (scripts/bench-desktop). Someone who wants it sets the variable to 0. It must be set
    // before GTK and WebKit start.
    const VAR: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";
    if cfg!(target_os = "linux") && std::env::var_os(VAR).is_none() {
        // SAFETY: the first statement of `main`: no other thread exists yet to read or
        // write the environment.
        unsafe { std::env::set_var(VAR, "1") };
    }
    rolecall_desktop::run()
}
