//! The Rust SDK for Stampede scenarios: a thin, idiomatic layer over the
//! `stampede:scenario` WIT bindings.
//!
//! ```ignore
//! use stampede_sdk::{http, check, Result, Task, User, Wait};
//!
//! struct Shopper { token: String }
//!
//! impl User for Shopper {
//!     const TASKS: &'static [Task<Self>] = &[Task::new("browse", 3, Self::browse)];
//!     fn wait() -> Wait { Wait::between_ms(1000, 3000) }
//!     fn on_start() -> Result<Self> {
//!         let r = http::post("/api/v1/auth/login").json(&serde_json::json!({"email": "a", "password": "b"})).read_body().send()?;
//!         Ok(Shopper { token: r.error_for_status()?.json::<Login>()?.access_token })
//!     }
//! }
//! impl Shopper {
//!     fn browse(&mut self) -> Result<()> {
//!         let r = http::get("/api/v1/products").bearer(&self.token).send()?;
//!         check("products 200", r.status() == 200);
//!         Ok(())
//!     }
//! }
//! stampede_sdk::user!(Shopper);
//! ```

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "scenario",
        pub_export_macro: true,
        default_bindings_module: "stampede_sdk::bindings",
        // Requests are passed borrowed: no copy of the URL or header fields per call.
        ownership: Borrowing {
            duplicate_if_necessary: false
        },
    });
}

pub mod data;
pub mod http;
pub mod random;
mod user;

use std::fmt;
use std::time::Duration;

use bindings::stampede::scenario as host;

#[doc(hidden)]
pub use user::__private;
pub use user::{Task, User, Wait};

/// A scenario failure with a message: returned from a task, it marks the task failed
/// and the message is counted in the run's summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl Error {
    pub fn msg(m: impl Into<String>) -> Self {
        Error(m.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Error {
    fn from(s: String) -> Self {
        Error(s)
    }
}

impl From<&str> for Error {
    fn from(s: &str) -> Self {
        Error(s.to_string())
    }
}

impl From<std::fmt::Error> for Error {
    fn from(e: std::fmt::Error) -> Self {
        Error(e.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error(format!("invalid JSON: {e}"))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Fails the current task with a formatted message: `fail!("got {}", status)`.
#[macro_export]
macro_rules! fail {
    ($($arg:tt)*) => { return Err($crate::Error(format!($($arg)*))) };
}

/// Records a named pass/fail check; returns `ok` so it can guard further steps.
pub fn check(name: &str, ok: bool) -> bool {
    host::checks::check(name, ok);
    ok
}

/// Suspends this virtual user only.
pub fn sleep(d: Duration) {
    host::timing::sleep_ms(d.as_millis().min(u32::MAX as u128) as u32);
}

/// Monotonic time since the run started.
pub fn now() -> Duration {
    Duration::from_micros(host::timing::now_us())
}

/// A value passed with `--env KEY=VALUE`.
pub fn env(key: &str) -> Option<String> {
    host::vu::env(key)
}

/// A value passed with `--env`, or `default`.
pub fn env_or(key: &str, default: &str) -> String {
    env(key).unwrap_or_else(|| default.to_string())
}

/// This VU's id, unique in the run, from 1.
pub fn vu_id() -> u32 {
    host::vu::id()
}

/// The iteration this VU is running, from 0.
pub fn iteration() -> u64 {
    host::vu::iteration()
}

/// Logging, rate-limited by the host.
pub mod log {
    use super::bindings::stampede::scenario::log::{Level, log};
    pub fn debug(msg: &str) {
        log(Level::Debug, msg)
    }
    pub fn info(msg: &str) {
        log(Level::Info, msg)
    }
    pub fn warn(msg: &str) {
        log(Level::Warn, msg)
    }
    pub fn error(msg: &str) {
        log(Level::Error, msg)
    }
}

/// Custom metrics, aggregated with the built-in ones.
pub mod metrics {
    use super::bindings::stampede::scenario::metrics as m;
    pub fn counter(name: &str, value: f64) {
        m::counter_add(name, value)
    }
    pub fn trend(name: &str, value: f64) {
        m::trend_add(name, value)
    }
    pub fn rate(name: &str, ok: bool) {
        m::rate_add(name, ok)
    }
    pub fn gauge(name: &str, value: f64) {
        m::gauge_set(name, value)
    }
    /// Tags this VU's next requests carry (until set again or the task returns), for
    /// thresholds that filter by them: `http_req_duration{type:API}`. An empty slice
    /// clears them. `Err` says why the host refused them (a key of its own, such as
    /// `status`; more than 256 bytes in all).
    pub fn set_tags(tags: &[(&str, &str)]) -> Result<(), String> {
        m::set_tags(tags)
    }
}
