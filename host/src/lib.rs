//! Stampede: load tests whose virtual users are WebAssembly components.
//!
//! Data flows one way: scenario `.wasm` → [`engine`] (compile, cache) → [`executor`]
//! plan → [`vu`] (store + instance + host imports, [`client`] for HTTP) → per-VU
//! [`metrics::Recorder`] → [`metrics::Aggregator`] → [`report`].

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
