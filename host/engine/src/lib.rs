//! Stampede: load tests whose virtual users are WebAssembly components.
//!
//! Data flows one way: scenario `.wasm` → [`engine`] (compile, cache) → [`executor`]
//! (one unit per load model) → [`vu`] (store + instance + host imports, [`client`]
//! for HTTP) → per-VU [`metrics::Recorder`] → [`metrics::Aggregator`] (a
//! [`metrics::Summary`]) → [`gate`] (thresholds, baseline: a [`gate::Judged`] summary
//! and its verdict) → [`report`], with [`run`] driving one run through these stages.
//! The CLI (`stampede-cli`) is on top of all of it; the demo shop (`stampede-demo`)
//! stands apart.

// The stages, in the order data flows through them.
pub mod engine;
pub mod executor;
pub mod vu;

pub mod client;

pub mod metrics;

pub mod gate;

pub mod report;
// What a run shows while it goes (Prometheus), read from the aggregator's figures.
pub mod live;

// One run through the stages.
pub mod run;

// Leaves every stage may use.
pub mod bindings;
pub mod data;
pub mod exit;
pub mod parse;
pub mod timeout;
