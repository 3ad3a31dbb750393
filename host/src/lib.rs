//! Stampede: load tests whose virtual users are WebAssembly components.
//!
//! Data flows one way: scenario `.wasm` → [`engine`] (compile, cache) → [`executor`]
//! (one unit per load model) → [`vu`] (store + instance + host imports, [`client`]
//! for HTTP) → per-VU [`metrics::Recorder`] → [`metrics::Aggregator`] (a
//! [`metrics::Summary`]) → [`gate`] (thresholds, baseline: a [`gate::Judged`] summary
//! and its verdict) → [`report`], with [`run`] driving a run and [`cli`] on top.

pub mod bindings;
pub mod cli;
pub mod client;
pub mod config;
pub mod demo;
pub mod engine;
pub mod executor;
pub mod exit;
pub mod gate;
pub mod metrics;
pub mod parse;
pub mod report;
pub mod run;
pub mod scaffold;
pub mod timeout;
pub mod vu;
