//! Stampede: load tests whose virtual users are WebAssembly components.
//!
//! Data flows one way: scenario `.wasm` → [`engine`] (compile, cache) → [`executor`]
//! (one unit per load model) → [`vu`] (store + instance + host imports, [`client`]
//! for HTTP) → per-VU [`metrics::Recorder`] → [`metrics::Aggregator`] (a
//! [`metrics::Summary`]) → [`gate`] (thresholds, baseline: a [`gate::Judged`] summary
//! and its verdict) → [`report`], with [`run`] driving a run. The CLI (`stampede-cli`) is on top of all of it,
//! and the demo shop (`stampede-demo`) apart.

pub mod bindings;
pub mod client;
pub mod engine;
pub mod executor;
pub mod exit;
pub mod gate;
pub mod metrics;
pub mod parse;
pub mod report;
pub mod run;
pub mod timeout;
pub mod vu;
