//! Rolecall's credential engine: the plain Rust that the desktop app, the companion CLI and the
//! local credential endpoint stand on. It knows nothing of Tauri.
//!
//! Time comes in through [`clock::Clock`]; every network call goes through a trait of
//! [`api`], implemented for real by `rolecall-aws` and faked in unit tests.
//!
//! Secret values live in [`secret::Secret`], which has no `Serialize`:
//!
//! ```compile_fail
//! fn needs_serialize<T: serde::Serialize>() {}
//! needs_serialize::<rolecall_engine::secret::Secret>();
//! ```
//!
//! and role credentials, which hold them, cannot be serialised either:
//!
//! ```compile_fail
//! fn needs_serialize<T: serde::Serialize>() {}
//! needs_serialize::<rolecall_engine::api::RoleCredentials>();
//! ```

pub mod api;
pub mod audit;
pub mod aws_config;
pub mod browser;
pub mod catalog;
pub mod catalog_cache;
pub mod clock;
pub mod config;
pub mod console;
pub mod deeplink;
pub mod files;
pub mod gate;
pub mod held;
pub mod local_http;
pub mod loopback;
pub mod pacer;
pub mod partition;
pub mod peer;
pub mod search;
pub mod secret;
pub mod session;
pub mod shell;
pub mod signin;
pub mod single_flight;
pub mod sync;
pub mod text;
pub mod token_store;
pub mod vault;
