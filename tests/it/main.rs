//! Every end-to-end test in one binary (one link of wasmtime, not one per file), a
//! module per feature. Tests talk only to servers they start on 127.0.0.1.

mod arrival;
mod cli;
mod data;
mod demo_target;
mod engine;
mod gate;
mod go_sdk;
mod history;
mod honest;
mod http1_wire;
mod integrations;
mod journeys;
mod js_sdk;
mod k6;
mod kit;
mod live;
mod locust;
mod py_sdk;
mod report;
mod sandbox;
mod scaffold;
mod schema;
mod segments;
mod source;
mod trace;
mod workload;
